"""Keras backends: choosing one, refusing what one cannot do, the same batches on every
backend, and whole runs on JAX in a process where TensorFlow cannot be imported."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dsbench
from dsbench import backends
from dsbench.spec.config import run_spec

HAS_JAX = importlib.util.find_spec("jax") is not None
TINY_DATA = ["--dataset", "synthetic", "--train-size", "256", "--test-size", "64",
             "--batch-size", "32", "--no-progress"]  # fmt: skip
TINY = [*TINY_DATA, "--blocks", "8x1,16x1"]  # (your own --arch takes TINY_DATA only)


def test_the_setting_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert run_spec().train.backend == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert run_spec().train.backend == "jax"
    assert run_spec({"backend": "torch"}).train.backend == "torch"
    monkeypatch.setenv("KERAS_BACKEND", "mxnet")
    with pytest.raises(dsbench.DsbenchError, match="KERAS_BACKEND"):
        run_spec()


def test_jit_defaults_follow_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert run_spec().train.jit is False  # TensorFlow: XLA measured slower on CPU
    assert run_spec({"backend": "jax"}).train.jit is True  # JAX without jit runs op by op
    assert run_spec({"backend": "jax", "jit": False}).train.jit is False  # asked for: kept
    assert run_spec({"backend": "torch"}).train.jit is False  # torch.compile only when asked


def test_a_missing_backend_names_its_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, invoke: Any
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))  # fmt: skip
    result = invoke(["compare", *TINY, "--backend", "torch", "--output-dir", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert 'pip install "dsbench[torch]"' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("backend", "flags", "message"),
    [
        ("jax", ["--strategy", "multiworker"], "strategy multiworker is tf.distribute's"),
        ("torch", ["--strategy", "mirrored"], "Keras has no distribution for PyTorch"),
        ("torch", ["--steps-per-execution", "2"], "not supported by Keras on PyTorch"),
        ("torch", ["--tensorboard", "tb", "--profile-steps", "2,3"], "TensorFlow or JAX profiler"),
    ],
)
def test_what_a_backend_cannot_do_is_refused_up_front(
    backend: str, flags: list[str], message: str, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, invoke: Any,
) -> None:  # fmt: skip
    monkeypatch.setattr(backends, "check_installed", lambda name: None)
    monkeypatch.chdir(tmp_path)
    args = ["compare", *TINY, "--backend", backend, *flags, "--output-dir", str(tmp_path / "o")]
    result = invoke(args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert "--backend" in result.stderr  # the alternative is named by its flag
    assert not (tmp_path / "o").exists() and not (tmp_path / "tb").exists()


@pytest.mark.tf
def test_every_backend_feeds_the_same_batches() -> None:
    from dsbench.backends import keras3
    from dsbench.backends import tensorflow as tf_backend
    from dsbench.data import batch_order, synthetic

    data = synthetic(100, 10, seed=1)
    order = batch_order(100, seed=7, epoch=3)
    assert not np.array_equal(order, batch_order(100, seed=7, epoch=4))  # reshuffled per epoch
    for drop in (True, False):
        tf_batches = [(np.asarray(x), np.asarray(y)) for x, y in tf_backend.feed(
            data.x_train, data.y_train, 32, rescale=True, order=order, drop_remainder=drop)]  # fmt: skip
        feed = keras3.feed(data.x_train, data.y_train, 32, rescale=True, order=order,
                           drop_remainder=drop)  # fmt: skip
        other = [feed[i] for i in range(len(feed))]
        assert len(tf_batches) == len(other) == (3 if drop else 4)
        for (x1, y1), (x2, y2) in zip(tf_batches, other, strict=True):
            np.testing.assert_allclose(x1, x2, rtol=1e-6)
            assert y1.tolist() == y2.tolist()
        assert other[0][1].tolist() == data.y_train[order[:32]].tolist()


def test_a_folder_from_before_backends_resumes_on_tensorflow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dsbench.run.received import saved_spec

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert saved_spec({"train": {"epochs": 2}}, "summary.json", None).train.backend == "tensorflow"


def _without_tensorflow(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process where `import tensorflow` fails, as on a machine without it."""
    code = ("import sys\nsys.modules['tensorflow'] = None\nsys.argv = ['dsbench', *sys.argv[1:]]\n"
            "from dsbench.cli.main import main\nmain()\n")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(not HAS_JAX, reason="JAX is not installed (.ci/run installs it: dsbench[jax])")
def test_compare_resume_report_and_bench_run_on_jax_without_tensorflow(tmp_path: Path) -> None:
    run = _without_tensorflow(["compare", *TINY, "--backend", "jax", "--epochs", "3",
                               "--no-inference", "--tensorboard", "tb", "--profile-steps", "2,3",
                               "--output-dir", "jx"], tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    for part in ("train", "validation"):  # TensorBoard scalars, written without TensorFlow
        assert list((tmp_path / "tb" / "separable" / part).glob("events.out.tfevents.*"))
    assert list((tmp_path / "tb" / "normal" / "plugins" / "profile").glob("*/*.xplane.pb"))
    environment = json.loads((tmp_path / "jx" / "environment.json").read_text())
    assert environment["backend"] == "jax" and "jax" in environment["versions"]
    assert environment["command_line"][:4] == ["dsbench", "compare", *TINY[:2]]  # as typed
    assert "tensorflow" not in environment["versions"] and "JAX" in environment["device"]
    history = pd.read_csv(tmp_path / "jx" / "history.csv")
    assert history.groupby("model")["epoch"].apply(list).tolist() == [[1, 2, 3]] * 2
    # an interrupted run resumes on its own backend
    summary = json.loads((tmp_path / "jx" / "summary.json").read_text())
    kept = history[~((history["model"] == "separable") & (history["epoch"] == 3))]
    for row in summary["models"]:  # as it was saved after the separable model's epoch 2
        if row["model"] == "separable":
            row["epochs_completed"] = 2
            row["best_val_acc"] = kept[kept["model"] == "separable"]["val_accuracy"].max()
    (tmp_path / "jx" / "summary.json").write_text(json.dumps({**summary, "status": "incomplete"}))
    kept.to_csv(tmp_path / "jx" / "history.csv", index=False)
    runs = pd.read_csv(tmp_path / "jx" / "runs.csv")
    runs.loc[runs["model"] == "separable", "epochs_completed"] = 2
    runs.to_csv(tmp_path / "jx" / "runs.csv", index=False)
    # the TensorBoard folder lies outside the results folder: used again only when given again
    refused = _without_tensorflow(["resume", "jx", "--no-progress"], tmp_path)
    assert refused.returncode == 2 and "--tensorboard DIR" in refused.stderr
    resumed = _without_tensorflow(["resume", "jx", "--no-progress", "--tensorboard", "tb"],
                                  tmp_path)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    history = pd.read_csv(tmp_path / "jx" / "history.csv")
    assert history.groupby("model")["epoch"].apply(list).tolist() == [[1, 2, 3]] * 2
    report = _without_tensorflow(["report", "jx", "--format", "csv"], tmp_path)
    assert report.returncode == 0 and ",jax," in report.stdout
    bench = _without_tensorflow(["bench", "--backend", "jax", "--blocks", "8x1,16x1",
                                 "--max-time", "20", "--output-dir", "b"], tmp_path)  # fmt: skip
    assert bench.returncode == 0, bench.stderr
    rows = json.loads((tmp_path / "b" / "bench.json").read_text())["rows"]
    assert rows[0]["normal_ms_per_step"] > 0 and rows[0]["separable_ms_per_step"] > 0


@pytest.mark.slow
@pytest.mark.skipif(not HAS_JAX, reason="JAX is not installed (.ci/run installs it: dsbench[jax])")
def test_a_jax_run_leaves_an_installed_tensorflow_unimported(tmp_path: Path) -> None:
    # Keras imports TensorFlow when installed, whatever the backend, to seed it and to check
    # types in a model's config; a JAX run must not pay its seconds and memory for nothing
    code = ("import sys\nsys.argv = ['dsbench', *sys.argv[1:]]\nfrom dsbench.cli.main import main\n"
            "try:\n    main()\nfinally:\n    print('tensorflow imported:', "
            "'tensorflow' in sys.modules)\n")  # fmt: skip
    args = ["compare", *TINY, "--backend", "jax", "--epochs", "1", "--tensorboard", "tb",
            "--output-dir", "jx"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "tensorflow imported: False" in run.stdout
    assert "absl" not in run.stderr  # none of TensorFlow's start-up lines


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")
def test_compare_runs_on_torch_without_tensorflow(tmp_path: Path) -> None:
    run = _without_tensorflow(["compare", *TINY, "--backend", "torch", "--epochs", "2",
                               "--output-dir", "tr"], tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    environment = json.loads((tmp_path / "tr" / "environment.json").read_text())
    assert environment["backend"] == "torch" and "PyTorch" in environment["device"]
    summary = json.loads((tmp_path / "tr" / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["settings"]["train"]["jit"] is False
    assert {row["model"] for row in summary["models"]} == {"normal", "separable"}
    # your own network and its twin, on torch
    examples = Path(__file__).resolve().parent.parent / "examples"
    mine = _without_tensorflow(["compare", *TINY_DATA, "--backend", "torch", "--epochs", "1",
                                "--arch", f"{examples / 'plain_cnn.py'}:build",
                                "--output-dir", "mine"], tmp_path)  # fmt: skip
    assert mine.returncode == 0, mine.stderr
    rows = json.loads((tmp_path / "mine" / "summary.json").read_text())["models"]
    assert [row["params"] for row in rows] == [133_002, 17_525]  # as docs/arch.md shows


@pytest.mark.slow
@pytest.mark.skipif(not HAS_JAX, reason="JAX is not installed (.ci/run installs it: dsbench[jax])")
def test_a_sweep_over_backends_trains_each_in_its_own_process(tmp_path: Path, invoke: Any) -> None:
    result = invoke(["sweep", *TINY, "--backend", "tensorflow,jax", "--epochs", "2",
                     "--no-inference", "--output-dir", str(tmp_path / "s")])  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert document["axes"]["backend"] == ["tensorflow", "jax"]
    assert [r["backend"] for r in document["ratios"]] == ["tensorflow", "jax"]
    for point in ("tensorflow", "jax"):
        folder = next((tmp_path / "s" / "points").glob(f"*-{point}"))
        assert json.loads((folder / "environment.json").read_text())["backend"] == point
    assert "backend" in result.output  # the table's column


@pytest.mark.slow
@pytest.mark.skipif(not HAS_JAX, reason="JAX is not installed (.ci/run installs it: dsbench[jax])")
def test_data_parallel_on_jax_over_two_host_devices(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    base = ["compare", *TINY, "--backend", "jax", "--strategy", "mirrored", "--epochs", "2",
            "--no-inference"]  # fmt: skip
    odd = _without_tensorflow([*base, "--test-size", "65", "--output-dir", "odd"], tmp_path)
    assert odd.returncode == 2 and "does not split evenly over 2 devices" in odd.stderr
    assert not (tmp_path / "odd").exists()
    run = _without_tensorflow([*base, "--output-dir", "dp"], tmp_path)
    assert run.returncode == 0, run.stderr
    environment = json.loads((tmp_path / "dp" / "environment.json").read_text())
    assert (environment["strategy"], environment["replicas"]) == ("DataParallel", 2)
    summary = json.loads((tmp_path / "dp" / "summary.json").read_text())
    from dsbench.models.vgg import total_params
    from dsbench.spec.blocks import parse_blocks

    spec = run_spec({"blocks": "8x1,16x1"}).model
    assert parse_blocks("8x1,16x1") == spec.blocks
    for row in summary["models"]:  # the same models as on TensorFlow, to the parameter
        assert row["params"] == total_params(spec, row["model"])


@pytest.mark.tf  # imports JAX
@pytest.mark.skipif(not HAS_JAX, reason="JAX is not installed (.ci/run installs it: dsbench[jax])")
def test_a_jax_sync_skips_an_array_donated_since_it_was_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Keras' callback thread syncs while the training thread donates the last step's buffers
    import jax
    import jax.numpy as jnp

    gone, kept = jnp.ones(3), jnp.ones((1500, 1500)) @ jnp.ones((1500, 1500))  # still computing
    gone.delete()
    monkeypatch.setattr(jax, "live_arrays", lambda: [gone, kept])
    backends.module("jax").sync()  # waits for what is left, instead of raising
    assert kept.is_ready() and float(kept[0, 0]) == 1500.0
