"""`dsbench train`, `compare` and `report` on tiny synthetic data, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_BLOCKS
from typer.testing import CliRunner

from dsbench.cli import app

TINY = [
    "--dataset",
    "synthetic",
    "--train-size",
    "600",
    "--test-size",
    "200",
    "--batch-size",
    "32",
    "--blocks",
    TINY_BLOCKS,
    "--no-progress",
]


def run(args: list[str]) -> object:
    result = CliRunner().invoke(app, args)
    return result


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """One small `compare` run shared by the tests that only read its output."""
    out = tmp_path_factory.mktemp("runs") / "cmp"
    result = run(["compare", *TINY, "--epochs", "3", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def test_compare_prints_the_side_by_side_table(compared: tuple[Path, object]) -> None:
    _, result = compared
    text = result.output
    for label in (
        "parameters",
        "MACs / image",
        "first epoch s",
        "steady-state s/epoch",
        "train ms/step",
        "train images/s",
        "est. train GFLOP/s",
        "best val acc",
        "overfit",
        "inference latency, batch 1",
        "inference images/s",
        ".keras file size",
        "separable / normal",
    ):
        assert label in text, label
    assert "from 1 run per model" in text
    assert "epoch 1 includes graph tracing" in text


def test_compare_writes_every_file_and_they_read_back(compared: tuple[Path, object]) -> None:
    out, result = compared
    for name in ("history.csv", "summary.csv", "summary.json", "environment.json", "curves.png"):
        assert (out / name).is_file(), name
    history = pd.read_csv(out / "history.csv")
    assert len(history) == 6 and set(history["model"]) == {"normal", "separable"}
    assert (history["train_s"] > 0).all() and (history["val_s"] > 0).all()
    summary = pd.read_csv(out / "summary.csv").set_index("model")
    document = json.loads((out / "summary.json").read_text())
    assert document["status"] == "complete"
    for row in document["models"]:
        for column in ("params", "best_val_acc", "steady_epoch_s", "ms_per_step", "latency_b1_ms"):
            assert summary.loc[row["model"], column] == pytest.approx(row[column])
    # the table showed the same figures that were written
    sep = summary.loc["separable"]
    assert f"{sep['best_val_acc']:.4f}" in result.output
    assert f"{int(sep['params']):,}" in result.output
    # steady state is the median of epochs 2..3
    normal = history[history["model"] == "normal"]
    assert summary.loc["normal", "steady_epoch_s"] == pytest.approx(
        normal["epoch_s"].iloc[1:].median()
    )
    assert summary.loc["normal", "first_epoch_s"] == pytest.approx(normal["epoch_s"].iloc[0])
    environment = json.loads((out / "environment.json").read_text())
    assert environment["versions"]["tensorflow"] and environment["versions"]["keras"].startswith(
        "3"
    )
    assert environment["settings"]["train"]["epochs"] == 3
    assert environment["replicas"] == 1
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_both_models_learn_the_synthetic_data(compared: tuple[Path, object]) -> None:
    out, _ = compared
    summary = pd.read_csv(out / "summary.csv").set_index("model")
    assert summary.loc["normal", "best_val_acc"] > 0.5  # chance is 0.1
    assert summary.loc["separable", "best_val_acc"] > 0.5


def test_report_reproduces_the_summary(compared: tuple[Path, object]) -> None:
    out, result = compared
    report = run(["report", str(out)])
    assert report.exit_code == 0, report.output
    summary = pd.read_csv(out / "summary.csv")
    for value in summary["best_val_acc"]:
        assert f"{value:.4f}" in report.output
    for value in summary["steady_epoch_s"]:
        assert f"{value:.2f}" in report.output
    both = run(["report", str(out), str(out)])
    assert both.exit_code == 0 and both.output.count("separable") >= 2


def test_existing_results_folder_is_refused_without_force(compared: tuple[Path, object]) -> None:
    out, _ = compared
    result = run(["compare", *TINY, "--epochs", "1", "--output-dir", str(out)])
    assert result.exit_code == 2
    assert "already exists" in result.output and "--force" in result.output
    assert json.loads((out / "summary.json").read_text())["settings"]["train"]["epochs"] == 3


def test_json_output_is_only_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--model",
            "separable",
            *TINY,
            "--epochs",
            "2",
            "--no-inference",
            "--json",
            "--output-dir",
            str(tmp_path / "j"),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    (row,) = document["models"]
    assert row["model"] == "separable" and row["epochs_completed"] == 2
    assert document["status"] == "complete"
    assert json.loads((tmp_path / "j" / "summary.json").read_text()) == document


def test_repeats_show_mean_and_std(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    result = run(
        [
            "compare",
            *TINY,
            "--epochs",
            "2",
            "--repeats",
            "2",
            "--no-inference",
            "--output-dir",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "±" in result.output and "over 2 runs" in result.output
    history = pd.read_csv(out / "history.csv")
    assert sorted(history["seed"].unique()) == [0, 1]
    summary = pd.read_csv(out / "summary.csv")
    assert (summary["runs"] == 2).all()
    assert summary["best_val_acc_std"].notna().all()


def test_no_rescale_changes_inputs_not_parameter_counts(tmp_path: Path) -> None:
    docs = []
    for flag in ("--rescale", "--no-rescale"):
        result = CliRunner().invoke(
            app,
            [
                "train",
                "--model",
                "normal",
                *TINY,
                "--epochs",
                "1",
                "--no-inference",
                flag,
                "--json",
                "--output-dir",
                str(tmp_path / flag),
            ],
        )
        assert result.exit_code == 0, result.output
        docs.append(json.loads(result.stdout))
    assert docs[0]["settings"]["data"]["rescale"] is True
    assert docs[1]["settings"]["data"]["rescale"] is False
    assert docs[0]["models"][0]["params"] == docs[1]["models"][0]["params"]
    assert docs[0]["models"][0]["best_val_acc"] != docs[1]["models"][0]["best_val_acc"]


def test_best_epoch_is_shown_as_an_epoch_number() -> None:
    from dsbench.render import epoch_number

    assert [epoch_number(v) for v in (3.0, 3, 2.5, float("nan"))] == ["3", "3", "2.5", "–"]
