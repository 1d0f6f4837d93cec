"""Bad input through the CLI, signals, divergence, checkpoints/resume and determinism."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import dsbench
from dsbench.cli.main import app
from dsbench.store import folders

# ---------------------------------------------------------------- bad input


@pytest.mark.tf
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "--epochs must be >= 1, got 0"),
        (["--epochs", "-3"], "--epochs must be >= 1, got -3"),
        (["--epochs", "ten"], "error: --epochs: "),
        (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
        (["--batch-size", "x"], "error: --batch-size: "),
        (["--train-size", "0"], "--train-size must be >= 1, got 0"),
        (["--test-size", "-1"], "--test-size must be >= 1, got -1"),
        (["--repeats", "0"], "--repeats must be >= 1, got 0"),
        (["--learning-rate", "-0.1"], "--learning-rate must be a positive number"),
        (["--dataset", "mnist"], "error: --dataset: "),
        (["--strategy", "tpu"], "error: --strategy: "),
        (["--precision", "int8"], "error: --precision: "),
        (["--blocks", "64x2,,"], "malformed --blocks"),
        (["--blocks", "8x1,8x1,8x1,8x1,8x1,8x1"], "pool 32x32 images to nothing"),
        (["--batch-size", "1000"], "--batch-size 1000 is larger than the 256 training images"),
    ],
)
def test_bad_flags_give_one_clear_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, invoke: Any, one_line: Any, tiny: list[str]
) -> None:
    result = invoke(["compare", *tiny, "--epochs", "1", "--output-dir", str(tmp_path / "o"), *args])
    assert result.exit_code == 2, result.output
    assert message in one_line(result.output)
    assert "Traceback" not in result.output


def test_unknown_model_is_refused(
    runner: CliRunner, invoke: Any, one_line: Any, tiny: list[str]
) -> None:
    result = runner.invoke(app, ["train", "--model", "mobilenet", *tiny])
    assert result.exit_code == 2 and "error: --model: " in one_line(result.output)


@pytest.mark.tf
@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing", "does not exist"),
        ("empty", "holds neither cifar-10-batches-py/"),
        ("malicious", "refuses to run"),
    ],
)
def test_bad_data_dirs_are_clear_errors_and_leave_no_folder(
    where: str, message: str, tmp_path: Path, cifar_dir: Path, invoke: Any, one_line: Any
) -> None:
    (tmp_path / "empty").mkdir()
    with open(cifar_dir / "cifar-10-batches-py" / "test_batch", "wb") as stream:
        pickle.dump({b"data": os.system, b"labels": []}, stream, protocol=4)
    data_dir = cifar_dir if where == "malicious" else tmp_path / where
    out = tmp_path / "out"
    result = invoke(["compare", "--epochs", "1", "--no-progress", "--output-dir", str(out),
                     "--data-dir", str(data_dir)])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in one_line(result.output)
    assert "Traceback" not in result.output
    assert not out.exists()  # the folder is made only when training starts


@pytest.mark.tf
@pytest.mark.parametrize(
    ("data", "labels", "message"),
    [
        (np.zeros((3, 3000), np.uint8), [0, 1, 2], "rows must hold 3072 values"),
        (np.zeros((3, 3072), np.int16), [0, 1, 2], "must be a uint8 array"),
        (np.zeros((4, 3072), np.uint8), [0, 1, 2], "4 images but 3 labels"),
        (np.zeros((3, 3072), np.uint8), [0, 1, 12], "labels must be 0..9"),
    ],
)
def test_inconsistent_batch_files_through_the_cli(
    tmp_path: Path,
    cifar_dir: Path,
    data: np.ndarray,
    labels: list[int],
    message: str,
    invoke: Any,
    one_line: Any,
) -> None:
    with open(cifar_dir / "cifar-10-batches-py" / "data_batch_5", "wb") as stream:
        pickle.dump({b"data": data, b"labels": labels}, stream, protocol=4)
    result = invoke(["compare", "--data-dir", str(cifar_dir), "--output-dir", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    text = one_line(result.output)
    assert "data_batch_5" in text and message in text
    assert "Traceback" not in result.output


@pytest.mark.tf
def test_train_size_larger_than_the_source(
    tmp_path: Path, cifar_dir: Path, invoke: Any, one_line: Any
) -> None:
    result = invoke(
        [
            "compare",
            "--data-dir",
            str(cifar_dir),
            "--train-size",
            "500",
            "--output-dir",
            str(tmp_path / "o"),
        ]
    )
    assert result.exit_code == 2
    assert "--train-size 500 is larger than the 100 train images" in one_line(result.output)


@pytest.mark.tf
def test_truncated_batch_through_the_cli(
    tmp_path: Path, cifar_dir: Path, invoke: Any, one_line: Any
) -> None:
    path = cifar_dir / "cifar-10-batches-py" / "data_batch_4"
    path.write_bytes(path.read_bytes()[:999])
    result = invoke(["compare", "--data-dir", str(cifar_dir), "--output-dir", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "data_batch_4 is truncated or corrupt" in one_line(result.output)
    debug = invoke(
        ["compare", "--data-dir", str(cifar_dir), "--output-dir", str(tmp_path / "p"), "--debug"]
    )
    assert debug.exception is not None  # --debug lets the exception (and its traceback) through


def test_output_dir_that_cannot_be_written(
    tmp_path: Path, invoke: Any, one_line: Any, tiny: list[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = invoke(["compare", *tiny, "--output-dir", str(blocker / "sub" / "run")])
    assert result.exit_code == 2
    assert f"cannot write to --output-dir {blocker}/sub/run: {blocker} is a file" in one_line(
        result.output
    )
    assert "epoch" not in result.output  # refused before anything trained, not after
    assert blocker.read_text() == "x"


def test_an_output_dir_below_a_folder_without_write_access_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = folders.os.access
    monkeypatch.setattr(
        folders.os, "access", lambda path, mode: path != locked and real_access(path, mode)
    )
    with pytest.raises(dsbench.DsbenchError, match=f"{locked} is not writable"):
        folders.check_run_dir(locked / "a" / "b", force=False)
    folders.check_run_dir(tmp_path / "a" / "b", force=False)  # a writable parent: fine
    assert not (tmp_path / "a").exists()  # checking makes nothing


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[train\n", "is not valid TOML"),
        ("[train]\nwarmup = 1\n", "unknown key 'warmup' in [train]"),
        ("[train]\nepoch = 1\n", "unknown key 'epoch' in [train] (did you mean 'epochs'?)"),
        ('[train]\nbatch_size = "big"\n', "[train] batch_size must be an integer"),
    ],
)
def test_bad_config_files_through_the_cli(
    text: str, message: str, tmp_path: Path, invoke: Any, one_line: Any
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = invoke(["compare", "--config", str(config)])
    assert result.exit_code == 2 and message in one_line(result.output)
    assert "Traceback" not in result.output


def test_report_on_folders_that_are_not_results(tmp_path: Path, invoke: Any, one_line: Any) -> None:
    assert invoke(["report", str(tmp_path / "none")]).exit_code == 2
    result = invoke(["report", str(tmp_path)])
    assert result.exit_code == 2 and "not a dsbench results folder" in one_line(result.output)
    (tmp_path / "summary.json").write_text("{broken")
    result = invoke(["report", str(tmp_path)])
    assert result.exit_code == 2 and "summary.json is not a dsbench results file" in one_line(
        result.output
    )
    (tmp_path / "summary.json").write_text('{"models": 3}')
    assert "summary.json is not a dsbench results file" in one_line(
        invoke(["report", str(tmp_path)]).output
    )
    (tmp_path / "summary.json").write_text('{"models": [{"model": "normal", "params": 1}]}')
    (tmp_path / "history.csv").write_text('a,b\n"1,2\n')
    result = invoke(["report", str(tmp_path)])
    assert result.exit_code == 2 and "history.csv is not a dsbench results file" in one_line(
        result.output
    )


# ---------------------------------------------------------------- faults during training


@pytest.mark.slow  # trains to a diverging loss
def test_a_diverging_run_is_marked_and_exits_non_zero(
    tmp_path: Path, invoke: Any, tiny: list[str]
) -> None:
    out = tmp_path / "nan"
    result = invoke(
        [
            "compare",
            *tiny,
            "--epochs",
            "3",
            "--no-rescale",
            "--learning-rate",
            "1e12",
            "--output-dir",
            str(out),
        ]
    )
    assert result.exit_code == 1, result.output
    assert "diverged at epoch 1" in result.output
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["status"]) == {"diverged"} and len(summary) == 2  # both kept


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="120")
    return subprocess.Popen(
        [sys.executable, "-m", "dsbench", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _interrupt_after_first_epoch(proc: subprocess.Popen[str], signum: int) -> tuple[str, str]:
    deadline = time.monotonic() + 240
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if "epoch 1/" in line:
            proc.send_signal(signum)
            break
        assert time.monotonic() < deadline, "no epoch finished in time"
    out, err = proc.communicate(timeout=240)
    return "".join(seen) + out, err


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_after_first_epoch_writes_results_and_exits(
    tmp_path: Path, signum: int, code: int, one_line: Any, tiny: list[str]
) -> None:
    out = tmp_path / "run"
    proc = _start(
        [
            "compare",
            *tiny,
            "--train-size",
            "1200",
            "--epochs",
            "30",
            "--checkpoint",
            "--output-dir",
            str(out),
        ],
        tmp_path,
    )
    _, stderr = _interrupt_after_first_epoch(proc, signum)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert f"interrupted by signal {int(signum)}" in one_line(stderr)
    assert "dsbench resume" in stderr
    document = json.loads((out / "summary.json").read_text())
    assert document["status"] == "incomplete"
    history = pd.read_csv(out / "history.csv")
    assert len(history) >= 1 and (history["model"] == "normal").all()
    assert history["epoch"].tolist() == list(range(1, len(history) + 1))


@pytest.mark.slow
def test_interrupted_run_resumes_with_every_epoch_exactly_once(
    tmp_path: Path, invoke: Any, tiny: list[str]
) -> None:
    out = tmp_path / "run"
    proc = _start(
        [
            "compare",
            *tiny,
            "--train-size",
            "1200",
            "--epochs",
            "4",
            "--checkpoint",
            "--output-dir",
            str(out),
        ],
        tmp_path,
    )
    said = _interrupt_after_first_epoch(proc, signal.SIGINT)
    assert proc.returncode == 130, said
    before = pd.read_csv(out / "history.csv")
    result = invoke(["resume", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "summary.json").read_text())
    assert document["status"] == "complete"
    history = pd.read_csv(out / "history.csv")
    for model in ("normal", "separable"):
        assert history[history["model"] == model]["epoch"].tolist() == [1, 2, 3, 4]
    # the epochs finished before the interruption are kept as they were measured
    kept = history[history["model"] == "normal"].head(len(before))
    assert kept["loss"].tolist() == pytest.approx(before["loss"].tolist())
    assert invoke(["resume", str(out)]).exit_code == 2  # already complete


@pytest.mark.slow
def test_deterministic_runs_repeat_exactly(tmp_path: Path, invoke: Any, tiny: list[str]) -> None:
    histories = []
    for name in ("a", "b"):
        result = invoke(
            [
                "train",
                "--model",
                "separable",
                *tiny,
                "--epochs",
                "2",
                "--deterministic",
                "--output-dir",
                str(tmp_path / name),
            ]
        )
        assert result.exit_code == 0, result.output
        histories.append(pd.read_csv(tmp_path / name / "history.csv"))
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert histories[0][columns].equals(histories[1][columns])
