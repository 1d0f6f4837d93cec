"""`dsbench sweep`: summary-only figures, a small trained sweep, files, interruption/resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import dsbench
from dsbench.errors import DsbenchError
from dsbench.store import files as store


def test_summary_only_equals_summary_for_each_point(tmp_path: Path, invoke: Any) -> None:
    result = invoke(
        [
            "sweep",
            "--kernel-size",
            "3,5,7",
            "--summary-only",
            "--json",
            "--output-dir",
            str(tmp_path / "s"),
        ]
    )
    assert result.exit_code == 0, result.output
    rows = pd.DataFrame(json.loads(result.stdout)["rows"])
    assert len(rows) == 6 and sorted(rows["kernel_size"].unique()) == [3, 5, 7]
    for kernel in (3, 5, 7):
        summary = json.loads(invoke(["summary", "--kernel-size", str(kernel), "--json"]).stdout)
        for model in summary["models"]:
            row = rows[(rows["kernel_size"] == kernel) & (rows["model"] == model["model"])].iloc[0]
            assert row["params"] == model["params"]
            assert row["macs_per_image"] == model["macs_per_image"]
    reference = rows[(rows["kernel_size"] == 3)].set_index("model")
    assert reference.loc["normal", "params"] == 1_186_378
    assert reference.loc["separable", "params"] == 174_821
    for name in ("sweep.csv", "sweep.json", "sweep.png"):
        assert (tmp_path / "s" / name).is_file()
    report = invoke(["report", str(tmp_path / "s")])
    assert report.exit_code == 0 and "6,273,098 / 200,541" in report.output  # the k=7 point
    (tmp_path / "s" / "sweep.json").write_text('{"rows": [')  # torn by hand
    broken = invoke(["report", str(tmp_path / "s")])
    assert broken.exit_code == 2 and "sweep.json is not a dsbench results file" in broken.output
    assert "Traceback" not in broken.output


def test_width_and_depth_axes_scale_the_blocks(tmp_path: Path, invoke: Any) -> None:
    result = invoke(
        [
            "sweep",
            "--width",
            "0.5,2",
            "--blocks",
            "64x2,128x2,256x2",
            "--blocks",
            "64x3,128x3,256x3",
            "--summary-only",
            "--json",
            "--output-dir",
            str(tmp_path / "w"),
        ]
    )
    assert result.exit_code == 0, result.output
    rows = pd.DataFrame(json.loads(result.stdout)["rows"])
    assert set(rows["scaled_blocks"]) == {
        "32x2,64x2,128x2",
        "128x2,256x2,512x2",
        "32x3,64x3,128x3",
        "128x3,256x3,512x3",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kernel-size", "3,x"], "malformed --kernel-size '3,x'"),
        (["--kernel-size", "2.5"], "malformed --kernel-size"),
        (["--width", "0,1"], "values must be positive"),
        (["--blocks", "64y2"], "malformed --blocks"),
    ],
)
def test_bad_axes_are_clear_errors(args: list[str], message: str, invoke: Any) -> None:
    result = invoke(["sweep", "--summary-only", *args])
    assert result.exit_code == 2 and message in " ".join(result.output.split())


@pytest.mark.slow
def test_trained_two_point_sweep_writes_rows_per_point_and_model(
    tmp_path: Path, invoke: Any
) -> None:
    out = tmp_path / "t"
    result = invoke(["sweep", "--kernel-size", "3,5", "--blocks", "8x1", "--dataset", "synthetic",
                     "--train-size", "128", "--test-size", "32", "--batch-size", "32",
                     "--epochs", "2", "--no-inference", "--no-progress", "--output-dir", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out / "sweep.csv")
    assert len(rows) == 4
    assert sorted(zip(rows["kernel_size"], rows["model"], strict=True)) == [
        (3, "normal"),
        (3, "separable"),
        (5, "normal"),
        (5, "separable"),
    ]
    assert rows["steady_epoch_s"].notna().all() and rows["best_val_acc"].notna().all()
    document = json.loads((out / "sweep.json").read_text())
    assert document["status"] == "complete" and len(document["ratios"]) == 2
    for ratio in document["ratios"]:
        point = rows[rows["kernel_size"] == ratio["kernel_size"]].set_index("model")
        steady = point["steady_epoch_s"]
        assert ratio["time_ratio"] == pytest.approx(steady["separable"] / steady["normal"])
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    for point in ("k3-w1-b8x1", "k5-w1-b8x1"):
        assert (out / "points" / point / "history.csv").is_file()
    assert "time ratio" in result.output


@pytest.mark.slow
def test_interrupted_sweep_keeps_finished_points_and_resumes(tmp_path: Path, invoke: Any) -> None:
    out = tmp_path / "r"
    args = [
        "sweep",
        "--kernel-size",
        "3,5",
        "--blocks",
        "8x1",
        "--dataset",
        "synthetic",
        "--train-size",
        "128",
        "--test-size",
        "32",
        "--batch-size",
        "32",
        "--epochs",
        "1",
        "--no-inference",
        "--no-progress",
        "--output-dir",
        str(out),
    ]
    assert invoke(args).exit_code == 0
    first = pd.read_csv(out / "points" / "k3-w1-b8x1" / "history.csv")
    # Pretend the run stopped after its first point.
    import shutil

    shutil.rmtree(out / "points" / "k5-w1-b8x1")
    document = json.loads((out / "sweep.json").read_text())
    document["status"] = "incomplete"
    (out / "sweep.json").write_text(json.dumps(document))
    result = invoke(["resume", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "kernel 3, width 1 (blocks 8x1) (kept from before)" in " ".join(result.output.split())
    kept = pd.read_csv(out / "points" / "k3-w1-b8x1" / "history.csv")
    assert kept["loss"].tolist() == pytest.approx(first["loss"].tolist())
    assert json.loads((out / "sweep.json").read_text())["status"] == "complete"
    assert len(pd.read_csv(out / "sweep.csv")) == 4


def test_a_value_given_twice_on_an_axis_is_one_point(tmp_path: Path, invoke: Any) -> None:
    from dsbench.spec import grid
    from dsbench.spec.settings import ModelSpec

    points = grid.points_for(ModelSpec(), "3,3.0,5", "0.5,0.50", ["8x1", " 8x1"], "jax,jax",
                               "64,64")  # fmt: skip
    assert [(p.kernel_size, p.width, p.blocks) for p in points] == [(3, 0.5, "8x1"),
                                                                   (5, 0.5, "8x1")]  # fmt: skip
    result = invoke(["sweep", "--kernel-size", "3,3", "--summary-only", "--json",
                     "--output-dir", str(tmp_path / "s")])  # fmt: skip
    assert result.exit_code == 0, result.output  # was a TypeError traceback
    assert len(json.loads(result.stdout)["rows"]) == 2


def test_training_settings_are_sweep_axes(tmp_path: Path) -> None:
    from dsbench.spec import grid
    from dsbench.spec.config import run_spec
    from dsbench.spec.settings import ModelSpec

    points = grid.points_for(ModelSpec(), "3", None, None, "tensorflow,jax", "128,512",
                               ["float32", "mixed_bfloat16"])  # fmt: skip
    assert len(points) == 8 and [p.backend for p in points[:4]] == ["tensorflow"] * 4
    assert points[1].slug == "k3-w1-b64x2_128x2_256x2-tensorflow-bs512-float32"
    spec = run_spec({"backend": "tensorflow"})
    jax_point = grid.Point(3, 1.0, "64x2,128x2,256x2", "jax", 512, "mixed_bfloat16")
    train = jax_point.run_spec(spec).train
    assert (train.backend, train.batch_size, train.precision, train.jit) == (
        "jax",
        512,
        "mixed_bfloat16",
        True,
    )  # JAX's own jit default, as TensorFlow's was used
    assert grid.axes(points)["batch_size"] == [128, 512]
    assert grid.swept_of(grid.axes(points)) == ["backend", "batch_size", "precision"]
    assert "backend" not in grid.axes(grid.points_for(ModelSpec(), "3,5", None, None))
    with pytest.raises(DsbenchError, match="'mxnet' is not one of"):
        grid.points_for(ModelSpec(), None, None, None, "tensorflow,mxnet")
    result = dsbench.sweep(batch_size="32,64", summary_only=True, output_dir=tmp_path / "s")
    assert set(result.ratios["batch_size"]) == {32, 64}
    assert store.read_sweep(tmp_path / "s").axes["batch_size"] == [32, 64]


def test_a_sweep_of_your_own_network_passes_its_axes_to_the_builder() -> None:
    from dsbench.spec import grid
    from dsbench.spec.settings import ModelSpec

    base = ModelSpec(arch="examples/resnet_cifar.py:build")
    points = grid.points_for(base, "3,5", "0.5", None)
    assert [p.spec(base).arch_options for p in points] == [
        (("kernel_size", 3), ("width", 0.5)), (("kernel_size", 5), ("width", 0.5))]  # fmt: skip
    assert [p.slug for p in points] == ["k3-w0.5", "k5-w0.5"]
    assert points[0].label(base) == "kernel 3, width 0.5"  # no VGG blocks
    assert grid.axes(points) == {"kernel_size": [3, 5], "width": [0.5]}
    # an axis not given is the builder's own default: nothing passed for it
    by_batch = grid.points_for(base, None, None, None, batch_size="32,64")
    assert [p.spec(base).arch_options for p in by_batch] == [(), ()]
    assert [p.slug for p in by_batch] == ["bs32", "bs64"]
    assert grid.axes(by_batch) == {"batch_size": [32, 64]}
    with pytest.raises(DsbenchError, match="are the VGG's"):
        grid.points_for(base, None, None, ["8x1", "16x1"])


@pytest.mark.tf
def test_a_missing_builder_file_is_refused_before_the_framework_starts(
    invoke: Any, tmp_path: Path
) -> None:
    result = invoke(["compare", "--arch", str(tmp_path / "net.py") + ":build", "--epochs", "1",
                     "--output-dir", str(tmp_path / "run")])  # fmt: skip
    assert result.exit_code == 2 and "net.py is not a file" in result.output
    assert not (tmp_path / "run").exists()
    wrong = invoke(["compare", "--arch", "net", "--output-dir", str(tmp_path / "run")])
    assert wrong.exit_code == 2 and "is not PATH.py:FUNCTION" in wrong.output
