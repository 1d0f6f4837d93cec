"""`dsbench train`, `compare` and `report` on tiny synthetic data, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dsbench.measure import stats

# the shared run's folder, the CLI's result, and the summaries and writes it made
Compared = tuple[Path, Any, list[Any]]


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory, invoke: Any, tiny: list[str]) -> Compared:
    """One real 3-epoch `compare` through the CLI, with inference, shared by this file's
    read-only tests (pytest-xdist runs a file's tests in one worker: --dist loadfile), and the
    summaries it computed and the folder writes it made, in order."""
    from dsbench.measure import summary
    from dsbench.run import saving
    from dsbench.store.files import ResultsFolder

    calls: list[Any] = []
    real_summarize, real_write = summary.summarize, ResultsFolder.write_run

    def summarize(*args: Any, **kwargs: Any) -> Any:
        calls.append("summarize")
        return real_summarize(*args, **kwargs)

    def write_run(folder: ResultsFolder, record: Any, results: Any, draw: bool = True) -> None:
        calls.append(("write", len(record.models), draw))
        real_write(folder, record, results, draw)

    out = tmp_path_factory.mktemp("runs") / "cmp"
    with pytest.MonkeyPatch.context() as patch:
        for module in (summary, saving):
            patch.setattr(module, "summarize", summarize)
        patch.setattr(ResultsFolder, "write_run", write_run)
        result = invoke(
            ["compare", *tiny, "--inference", "--epochs", "3", "--html", "--output-dir", str(out)]
        )
    assert result.exit_code == 0, result.output
    return out, result, calls


@pytest.mark.tf
def test_each_save_summarizes_once_and_writes_once(compared: Compared) -> None:
    # one save after each of the 3 interleaved rounds of epochs (the data so far, no curves),
    # then the comparison's own record, summarized once and written once with curves.png
    *_, calls = compared
    assert calls == ["summarize", ("write", 2, False)] * 3 + ["summarize", ("write", 2, True)]


@pytest.mark.tf
def test_html_leaves_the_results_page_in_the_folder(compared: Compared) -> None:
    folder, *_ = compared
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "separable vs normal:" in page
    assert page.count("<svg") == 5  # time, accuracy, ratios, accuracy difference, curves
    assert "<h3>Environment</h3>" in page and "synthetic(seed=0)" in page


@pytest.mark.tf
def test_compare_prints_the_side_by_side_table(compared: Compared) -> None:
    _, result, _ = compared
    for label in ("parameters", "MACs / image", "first epoch s", "steady-state s/epoch",
                  "train ms/step", "train images/s", "est. train GFLOP/s", "best val acc",
                  "overfit", "inference latency, batch 1", "inference images/s",
                  ".keras size", "separable / normal"):  # fmt: skip
        assert label in result.output, label
    assert "from 1 run per model" in " ".join(result.output.split())
    assert "epoch 1 includes graph tracing" in result.output


@pytest.mark.tf
def test_compare_writes_every_file_and_they_read_back(compared: Compared) -> None:
    out, result, _ = compared
    for name in ("history.csv", "summary.csv", "summary.json", "environment.json", "curves.png"):
        assert (out / name).is_file(), name
    history = pd.read_csv(out / "history.csv")
    assert len(history) == 6 and set(history["model"]) == {"normal", "separable"}
    assert (history["train_s"] > 0).all() and (history["val_s"] > 0).all()
    order = history.sort_values("start_unix_s")["model"].str[0].tolist()
    assert order == list("nssnns")  # interleaved: N S, S N, N S
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
    # steady state is the median of epochs 2..3; ms/step and images/s follow from it
    normal = history[history["model"] == "normal"]
    row = summary.loc["normal"]
    assert row["steady_epoch_s"] == pytest.approx(normal["epoch_s"].iloc[1:].median())
    assert row["first_epoch_s"] == pytest.approx(normal["epoch_s"].iloc[0])
    train_s = normal["train_s"].iloc[1:].median()
    assert row["ms_per_step"] == pytest.approx(train_s / 8 * 1e3)  # 256 images / 32 = 8 steps
    assert row["train_images_per_s"] == pytest.approx(256 / train_s)
    # the model size is weights + architecture: about 4 bytes per parameter, not Adam's 12
    for kind in ("normal", "separable"):
        size, params = summary.loc[kind, "model_file_bytes"], summary.loc[kind, "params"]
        assert 4 * params < size < 4 * params + 60_000, (kind, size, params)
    # inference was measured side by side: paired ratios with intervals
    assert sep["latency_ratio_n"] == 50 and sep["infer_images_per_s_ratio_n"] == 7
    assert sep["latency_ratio_low"] <= sep["latency_ratio"] <= sep["latency_ratio_high"]
    # shown as an interval when it resolves the ratio (within ±15%), else as a range that does
    # not: which one is the machine's noise, that it matches the saved figures is dsbench's
    shown = result.output.split("inference latency, batch 1, median ms")[1].splitlines()[0]
    latency = stats.Interval(sep["latency_ratio"], sep["latency_ratio_low"],
                             sep["latency_ratio_high"], 50)  # fmt: skip
    resolved = latency.half_width <= stats.INTERVAL_LIMIT
    assert ("[" in shown, "not resolved" in shown) == (resolved, not resolved), shown
    environment = json.loads((out / "environment.json").read_text())
    assert environment["versions"]["keras"].startswith("3")
    assert environment["peak_rss_mib"] > 100  # TensorFlow alone takes more
    assert history["device_peak_mib"].isna().all()  # no GPU here: no per-device count
    assert environment["settings"]["train"]["epochs"] == 3
    assert environment["replicas"] == 1
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.tf
def test_runs_say_where_they_ran(compared: Compared) -> None:
    out, result, _ = compared
    assert "device: " in result.output and "TensorFlow" in result.output
    environment = json.loads((out / "environment.json").read_text())
    assert environment["device"].startswith("device: ") and environment["hostname"]
    assert set(environment["build"]) == {"is_cuda_build", "cuda_version", "cudnn_version"}


@pytest.mark.tf
def test_both_models_learn_the_synthetic_data(compared: Compared) -> None:
    out, *_ = compared
    summary = pd.read_csv(out / "summary.csv").set_index("model")
    assert summary.loc["normal", "best_val_acc"] > 0.3  # chance is 0.1
    assert summary.loc["separable", "best_val_acc"] > 0.3


@pytest.mark.tf
def test_report_reproduces_the_summary(compared: Compared, invoke: Any) -> None:
    out, *_ = compared
    report = invoke(["report", str(out)])
    assert report.exit_code == 0, report.output
    summary = pd.read_csv(out / "summary.csv")
    for value in summary["best_val_acc"]:
        assert f"{value:.4f}" in report.output
    for value in summary["steady_epoch_s"]:
        assert f"{value:.2f}" in report.output
    both = invoke(["report", str(out), str(out)])
    assert both.exit_code == 0 and both.output.count("separable") >= 2


@pytest.mark.tf
def test_existing_results_folder_is_refused_without_force(
    compared: Compared, invoke: Any, tiny: list[str]
) -> None:
    out, *_ = compared
    result = invoke(["compare", *tiny, "--epochs", "1", "--output-dir", str(out)])
    assert result.exit_code == 2
    assert "already exists" in result.output and "--force" in result.output
    assert json.loads((out / "summary.json").read_text())["settings"]["train"]["epochs"] == 3


@pytest.mark.slow  # trains; the fast suite's compare runs are test_api's and `compared`
def test_json_output_is_only_json(tmp_path: Path, invoke: Any, tiny: list[str]) -> None:
    result = invoke(["train", "--model", "separable", *tiny, "--epochs", "2", "--json",
                     "--no-rescale", "--output-dir", str(tmp_path / "j")])  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    (row,) = document["models"]
    assert row["model"] == "separable" and row["epochs_completed"] == 2
    assert document["status"] == "complete"
    assert json.loads((tmp_path / "j" / "summary.json").read_text()) == document
    # --no-rescale is recorded and changes the inputs only (test_rescale_decides_...)
    assert document["settings"]["data"]["rescale"] is False
    assert row["params"] == (9 * 3 + 3 * 8 + 8) + (9 * 8 + 8 * 16 + 16) + (8 * 8 * 16 * 10 + 10)


@pytest.mark.slow
def test_repeats_show_mean_and_std(tmp_path: Path, invoke: Any, tiny: list[str]) -> None:
    out = tmp_path / "rep"
    result = invoke(["compare", *tiny, "--epochs", "2", "--repeats", "2", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert "±" in shown and "over 2 runs" in shown
    history = pd.read_csv(out / "history.csv")
    assert sorted(history["seed"].unique()) == [0, 1]
    summary = pd.read_csv(out / "summary.csv")
    assert (summary["runs"] == 2).all()
    assert summary["best_val_acc_std"].notna().all()


@pytest.mark.tf
@pytest.mark.parametrize(("rescale", "scale"), [(True, 1 / 255), (False, 1.0)])
def test_rescale_decides_the_pixel_values_the_models_see(rescale: bool, scale: float) -> None:
    from dsbench.backends.tensorflow.tfdata import pipeline

    images = np.arange(4 * 32 * 32 * 3, dtype=np.int64).reshape(4, 32, 32, 3).astype(np.uint8)
    batches = pipeline(images, np.arange(4), 4, rescale=rescale, shuffle_seed=None,
                       drop_remainder=False)  # fmt: skip
    ((x, _),) = list(batches.as_numpy_iterator())
    np.testing.assert_allclose(x, images.astype(np.float32) * np.float32(scale), rtol=1e-6)
