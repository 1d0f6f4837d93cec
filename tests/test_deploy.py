"""`deploy`: both models exported to LiteRT (float32, dynamic-range int8, full-integer int8) and
ONNX (float32), measured in their runtimes — size, batch-1 latency with its interval, the
accuracy each export keeps against its Keras model — and the one-line refusals. The exports
need `dsbench[deploy]` (.ci/run's deploy lane); the refusals and the figures do not."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dsbench
from dsbench.errors import DsbenchError
from dsbench.measure import deploy as figures
from dsbench.spec.request import parse_threads


def test_threads_are_counts_or_all() -> None:
    assert parse_threads(None, 2) == (1, 2) and parse_threads(None, 1) == (1,)
    assert parse_threads("1,all", 8) == (1, 8) and parse_threads([2, 2, 4], 8) == (2, 4)
    for bad in ("0", "x", "1,-2", ""):
        with pytest.raises(DsbenchError, match="threads"):
            parse_threads(bad, 4)


def test_latency_and_kept_accuracy_are_paired_figures() -> None:
    normal, separable = [2.0, 2.2, 1.9, 2.1, 2.0, 2.05], [1.0, 1.1, 0.95, 1.05, 1.0, 1.02]
    timed = figures.latency(normal, separable)
    assert timed["normal"]["latency_ms"] == pytest.approx(2.025, abs=0.03)
    ratio = timed["ratio"]
    assert ratio["latency_ratio_low"] < 0.5 < ratio["latency_ratio_high"] < 0.55
    keras_correct = np.array([True] * 80 + [False] * 20)
    same = figures.kept_accuracy(keras_correct, keras_correct.copy())
    assert same["accuracy"] == same["keras_accuracy"] == 0.8
    assert same["accuracy_difference"] == 0 and same["accuracy_mcnemar_p"] == 1.0
    fed = figures.throughput([64.0, 60.0, 66.0, 62.0, 64.0, 61.0], [16.0, 15.0, 17.0, 16.0,
                             16.0, 15.5], 32)  # ms per call of 32 images  # fmt: skip
    assert fed["normal"]["throughput_batch"] == 32
    assert fed["normal"]["images_per_s"] == pytest.approx(32_000 / 63.0, rel=0.02)
    assert fed["normal"]["images_per_s_low"] < fed["normal"]["images_per_s"]
    assert fed["normal"]["images_per_s"] < fed["normal"]["images_per_s_high"]
    assert 3.8 < fed["ratio"]["images_per_s_ratio_low"] < fed["ratio"]["images_per_s_ratio"] < 4.2
    worse = keras_correct.copy()
    worse[:10] = False  # the export gets 10 images wrong that Keras got right
    lost = figures.kept_accuracy(keras_correct, worse)
    assert lost["accuracy"] == pytest.approx(0.7)
    assert lost["accuracy_difference_high"] < 0 and lost["accuracy_mcnemar_p"] < 0.01


def test_deploy_s_refusals_are_one_line(
    tmp_path: Path, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    finder = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime" else finder(name, *a))  # fmt: skip
    result = invoke(["deploy", "--untrained", "-o", str(tmp_path / "d")])
    assert result.exit_code == 2 and result.output.startswith("error: deploy needs ")
    assert "onnxruntime" in result.output and "not installed" in result.output
    assert 'pip install "dsbench[deploy]"' in result.output and not (tmp_path / "d").exists()
    monkeypatch.setattr(importlib.util, "find_spec", finder)
    for args, said in (
        (["deploy", str(tmp_path), "--untrained"], "a run folder brings its own models"),
        (["deploy", str(tmp_path), "--blocks", "8x1"], "a run folder brings its own models"),
        (["deploy", "--untrained", "--threads", "0"], "malformed --threads '0'"),
        (["deploy", "--untrained", "--max-time", "0"], "must be a number of seconds above 0"),
    ):
        result = invoke(args)
        assert result.exit_code == 2 and result.output.count("\n") <= 2, (args, result.output)
        assert said in result.output, (args, result.output)
    with pytest.raises(DsbenchError, match=r"deploy\(\) got epochs, which deploy does not use"):
        dsbench.deploy(epochs=3)


@pytest.mark.tf
def test_a_run_without_saved_weights_is_refused_before_anything_is_exported(
    tmp_path: Path, made_results: Any, invoke: Any
) -> None:
    pytest.importorskip("ai_edge_litert", reason="needs dsbench[deploy]")
    pytest.importorskip("onnxruntime", reason="needs dsbench[deploy]")
    from helpers import write_run

    write_run(tmp_path, made_results(), "compare", {"train": {"epochs": 4}},
              {"data": {"test_images": 100}}, complete=True)  # fmt: skip
    result = invoke(["deploy", str(tmp_path)])
    assert result.exit_code == 2 and "holds no saved weights of the normal model" in result.output
    assert "--checkpoint" in result.output and not (tmp_path / "deploy").exists()
    train = tmp_path / "train"
    write_run(train, made_results()[:1], "train", {"train": {"epochs": 4}},
              {"data": {"test_images": 100}}, complete=True, kinds=("normal",))  # fmt: skip
    result = invoke(["deploy", str(train)])
    assert result.exit_code == 2 and "is not a compare folder" in result.output


@pytest.mark.slow
def test_a_trained_run_deploys_to_every_format_and_keeps_its_accuracy(
    tmp_path: Path, invoke: Any, tiny: list[str]
) -> None:
    pytest.importorskip("ai_edge_litert", reason="needs dsbench[deploy]")
    pytest.importorskip("onnxruntime", reason="needs dsbench[deploy]")
    run = tmp_path / "run"
    trained = invoke(["compare", *tiny, "--blocks", "32x1,64x1", "--epochs", "2", "--checkpoint",
                      "--test-size", "200", "--output-dir", str(run)])  # fmt: skip
    assert trained.exit_code == 0, trained.output
    result = invoke(["deploy", str(run), "--threads", "1", "--max-time", "4", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["weights"] == "final weights (epoch 2)"
    assert document == json.loads((run / "deploy.json").read_text())
    rows = {(r["model"], r["format"], r["precision"]): r for r in document["rows"]}
    assert len(rows) == 8 and {r["threads"] for r in document["rows"]} == {1}
    for (model, _form, precision), row in rows.items():
        assert (run / row["file"]).is_file() and row["size_bytes"] == (
            run / row["file"]
        ).stat().st_size
        assert 0 < row["latency_ms_low"] <= row["latency_ms"] <= row["latency_ms_high"]
        assert row["keras_accuracy"] == rows[(model, "litert", "float32")]["keras_accuracy"]
        if precision == "float32":  # the same function in another runtime: the same answers
            assert abs(row["accuracy"] - row["keras_accuracy"]) <= 0.005, row
    for model in ("normal", "separable"):  # int8 weights: about a quarter of float32's bytes
        share = (rows[(model, "litert", "int8")]["size_bytes"]
                 / rows[(model, "litert", "float32")]["size_bytes"])  # fmt: skip
        assert 0.2 < share < 0.4, (model, share)
    separable = rows[("separable", "onnx", "float32")]
    assert not math.isnan(separable["latency_ratio"])
    assert separable["throughput_batch"] == 32 and separable["images_per_s"] > 0
    assert separable["images_per_s_ratio_low"] <= separable["images_per_s_ratio"]
    assert document["environment"]["runtimes"]["onnxruntime"]
    shown = invoke(["deploy", str(run), "--threads", "1", "--max-time", "2"])
    assert "LiteRT int8, 1" in shown.output and "acc S (vs Keras)" in shown.output
    assert "images/s fed 32 at a time" in shown.output


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "name"), [("jax", "JAX"), ("torch", "PyTorch")])
def test_a_jax_or_torch_run_is_exported_through_tensorflow(
    tmp_path: Path, invoke: Any, tiny: list[str], backend: str, name: str
) -> None:
    pytest.importorskip("ai_edge_litert", reason="needs dsbench[deploy]")
    pytest.importorskip("onnxruntime", reason="needs dsbench[deploy]")
    pytest.importorskip(backend, reason=f"needs {backend} (.ci/run's deploy lane has it)")
    import os
    import subprocess
    import sys

    run = tmp_path / "run"  # trained in a process of its own: this one's Keras runs TensorFlow
    env = {**os.environ, "KERAS_BACKEND": backend}
    trained = subprocess.run([sys.executable, "-m", "dsbench", "compare", *tiny, "--backend", backend,
                              "--epochs", "1", "--checkpoint", "--output-dir", str(run)],
                             capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    result = invoke(["deploy", str(run), "--threads", "1", "--max-time", "2", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["weights"] == f"final weights (epoch 1), trained on {name}"
    assert document["environment"]["backend"] == "tensorflow"
    for row in document["rows"]:  # the same weights in TensorFlow's Keras and in the runtimes
        if row["precision"] == "float32":
            assert abs(row["accuracy"] - row["keras_accuracy"]) <= 0.005, row


@pytest.mark.slow
def test_an_untrained_pair_deploys_to_a_folder_report_reads_and_force_replaces(
    tmp_path: Path, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ai_edge_litert", reason="needs dsbench[deploy]")
    pytest.importorskip("onnxruntime", reason="needs dsbench[deploy]")
    folder = tmp_path / "edge"
    args = ["deploy", "--untrained", "--blocks", "8x1,16x1", "--threads", "1,2", "--max-time", "2",
            "-o", str(folder)]  # fmt: skip
    monkeypatch.setenv("KERAS_BACKEND", "jax")  # a shell's default backend: nothing trained on it
    made = invoke(args)
    assert made.exit_code == 0, made.output
    said = " ".join(made.output.split())
    assert "accuracy not measured (untrained models)" in said
    assert "dsbench deploy: untrained, 4 exports" in said
    shown = invoke(["report", str(tmp_path), "--json"])
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.stdout)["deploy"]
    assert len(rows) == 16 and {r["weights"] for r in rows} == {"untrained"}  # not "trained on"
    assert {r["network"] for r in rows} == {"VGG 8x1,16x1"}
    again = invoke(args)
    assert again.exit_code == 2 and "already exists" in again.output
    first = json.loads((folder / "deploy.json").read_text())["environment"]["created_utc"]
    replaced = invoke([*args, "--force"])
    assert replaced.exit_code == 0, replaced.output
    assert sorted(p.name for p in folder.iterdir()) == ["deploy", "deploy.json"]
    assert len(list((folder / "deploy").iterdir())) == 8
    assert json.loads((folder / "deploy.json").read_text())["environment"]["created_utc"] >= first


def _deploy_rows() -> list[dict[str, Any]]:
    rows = []
    for form, precision in (("litert", "float32"), ("litert", "int8"), ("onnx", "float32")):
        for model, ms, size in (("normal", 5.0, 4_752_240), ("separable", 0.6, 710_568)):
            row = {c: None for c in figures.COLUMNS}
            row.update({"model": model, "format": form, "precision": precision, "threads": 1,
                        "size_bytes": size, "latency_ms": ms, "latency_ms_low": ms * 0.97,
                        "latency_ms_high": ms * 1.03, "chunks": 40, "throughput_batch": 32,
                        "images_per_s": 3000 / ms, "images_per_s_low": 2900 / ms,
                        "images_per_s_high": 3100 / ms, "accuracy": 0.99,
                        "keras_accuracy": 0.99, "accuracy_difference": -0.001,
                        "accuracy_difference_low": -0.004, "accuracy_difference_high": 0.002,
                        "file": f"deploy/{model}-{form}-{precision}."
                                f"{'tflite' if form == 'litert' else 'onnx'}"})  # fmt: skip
            if model == "separable":
                row.update({"size_ratio": 0.15, "latency_ratio": 0.12, "latency_ratio_low": 0.11,
                            "latency_ratio_high": 0.13, "images_per_s_ratio": 8.3,
                            "images_per_s_ratio_low": 7.7, "images_per_s_ratio_high": 9.1})  # fmt: skip
            rows.append(row)
    return rows


def test_report_and_the_page_show_a_run_s_deploy_and_refuse_a_tampered_one(
    tmp_path: Path, made_results: Any, invoke: Any
) -> None:
    from helpers import write_run

    write_run(tmp_path, made_results(), "compare", {"train": {"epochs": 4}},
              {"data": {"test_images": 100}}, complete=True)  # fmt: skip
    document = {"dsbench_version": "0.1.0", "weights": "final weights (epoch 4)",
                "rows": _deploy_rows(), "warnings": [], "environment": {}}  # fmt: skip
    (tmp_path / "deploy.json").write_text(json.dumps(document))
    shown = invoke(["report", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "deploy: final weights (epoch 4)" in shown.output and "LiteRT int8, 1" in shown.output
    page = dsbench.html(tmp_path)
    assert "Deployed: latency ratios, 95% intervals" in page and "LiteRT int8, 1" in page
    from dsbench.store.files import read_deploy

    for where, value, said in ((("rows", 0, "precision"), "int4", "precision is 'int4'"),
                               (("rows", 1, "file"), "../../etc/passwd", "not one of deploy's"),
                               (("rows", 2, "size_bytes"), -5, "not a positive count"),
                               (("rows", 2, "throughput_batch"), 0, "not a positive count"),
                               (("rows", 3, "latency_ms"), "fast", "is not a number"),
                               (("weights",), ["x"], "is not a short text")):  # fmt: skip
        tampered = json.loads(json.dumps(document))
        target = tampered
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = value
        (tmp_path / "deploy.json").write_text(json.dumps(tampered))
        with pytest.raises(DsbenchError) as refused:  # the reader report uses
            read_deploy(tmp_path)
        assert "deploy.json is not a dsbench results file" in refused.value.message
        assert said in refused.value.message, refused.value.message
    result = invoke(["report", str(tmp_path)])  # the last one, as report refuses it
    assert result.exit_code == 2 and "is not a short text" in result.output, result.output


def test_a_deploy_folder_is_a_results_folder_and_every_export_carries_deploy_s_rows(
    tmp_path: Path, made_results: Any, invoke: Any
) -> None:
    from helpers import write_run

    run, alone = tmp_path / "run", tmp_path / "untrained"
    write_run(run, made_results(), "compare", {"train": {"epochs": 4}},
              {"data": {"test_images": 100}}, complete=True)  # fmt: skip
    trained = {"dsbench_version": "0.1.0", "weights": "final weights (epoch 4)",
               "rows": _deploy_rows(), "environment": {"hostname": "edge-box"}}  # fmt: skip
    (run / "deploy.json").write_text(json.dumps(trained))
    untrained_rows = [{**row, "accuracy": None, "keras_accuracy": None, "accuracy_difference":
                       None, "accuracy_difference_low": None, "accuracy_difference_high": None,
                       "threads": 2} for row in _deploy_rows()]  # fmt: skip
    alone.mkdir()
    (alone / "deploy.json").write_text(json.dumps({**trained, "weights": "untrained",
                                                   "rows": untrained_rows}))  # fmt: skip
    shown = invoke(["report", str(alone)])  # a deploy folder alone: its own tables
    assert shown.exit_code == 0, shown.output
    said = " ".join(shown.output.split())
    assert "dsbench deploy: untrained (complete)" in said and "LiteRT int8, 2" in said
    assert "accuracy not measured" in said and "images/s fed 32 at a time" in said
    both = invoke(["report", str(tmp_path), "--json"])  # found under a parent, beside a run
    assert both.exit_code == 0, both.output
    document = json.loads(both.stdout)
    assert {row["run"] for row in document["rows"]} == {str(run)}
    deployed = document["deploy"]
    assert len(deployed) == 12 and {row["kind"] for row in deployed} == {"deploy"}
    assert {(row["run"], row["weights"]) for row in deployed} == {
        (str(run), "final weights (epoch 4)"), (str(alone), "untrained")}  # fmt: skip
    assert {row["host"] for row in deployed} == {"edge-box"}
    table = " ".join(invoke(["report", str(tmp_path)]).output.split())
    assert f"deploy: {run}: final weights (epoch 4)" in table and "LiteRT int8, 2" in table
    markdown = invoke(["report", str(tmp_path), "--format", "markdown"]).stdout
    assert "**deploy: " in markdown and "| LiteRT int8, 2" in markdown
    assert "| ONNX float32 " in markdown and " 0.9900 (−0.001 [−0.004, +0.002]) |" in markdown
    csv = invoke(["report", str(tmp_path), "--format", "csv"]).stdout.splitlines()
    assert len(csv) == 1 + 2 + 12 and sum(",deploy," in line for line in csv) == 12
    page = dsbench.html(tmp_path)
    assert page.count("Deployed: latency ratios, 95% intervals") == 2
    import shutil

    shutil.copytree(alone, tmp_path / "again")  # deploy folders alone: no empty overview table
    assert "All folders" in page and "All folders" not in dsbench.html([alone, tmp_path / "again"])
    resumed = invoke(["resume", str(alone)])
    assert resumed.exit_code == 2 and "written by deploy" in resumed.output
