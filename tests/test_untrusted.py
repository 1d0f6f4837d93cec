"""What dsbench reads is never trusted: results folders are fuzzed, text from files is printed
inert, links cannot make `report` loop, images are decoded as they are (16-bit included) and
only the images a subset uses are decoded. FUZZ=600 python -m pytest tests/test_untrusted.py
runs the fuzz tests longer (they run 30-60 examples each in the fast suite)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import fuzzed, leaves, write_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

import dsbench
from dsbench import api, data, render
from dsbench.measure.records import RunResult
from dsbench.spec.settings import DataSpec
from dsbench.store import files as store

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _run_folder(root: Path, made_results: Any) -> Path:
    results: list[RunResult] = made_results()
    settings_ = {"train": {"epochs": 4, "batch_size": 32}, "data": {"dataset": "synthetic"}}
    environment = {"device": "device: /CPU:0", "hostname": "box", "data": {"train_images": 320}}
    write_run(root, results, "compare", settings_, environment, complete=True, draw=False)
    return root


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The files of a valid run folder, written once; each example starts from a copy."""
    from conftest import epoch_rows

    results = [RunResult(kind, 0, 0, params, 1000, 10, 32,
                         epoch_rows([3.0, 2.0, 2.2, 1.8], [0.3, 0.5, 0.6, 0.55]))
               for kind, params in (("normal", 1000), ("separable", 200))]  # fmt: skip
    folder = tmp_path_factory.mktemp("pristine")
    settings_ = {"train": {"epochs": 4, "batch_size": 32}, "data": {"dataset": "synthetic"}}
    environment = {"device": "device: /CPU:0", "hostname": "box", "data": {"train_images": 320}}
    write_run(folder, results, "compare", settings_, environment, complete=True, draw=False)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _copy(files: dict[str, bytes], folder: Path) -> Path:
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def _show(folder: Path) -> str:
    """Everything `report` does with a folder: read it, build its rows, draw its table."""
    console = Console(file=io.StringIO(), width=120, color_system=None)
    render.show(console, store.read_summary(folder), folder)
    found = api.report([folder])
    console.print(render.report_table(found.rows))
    for form in ("markdown", "csv", "json"):
        render.export(found, form)
    store.load_results(folder)
    return str(console.file.getvalue())  # type: ignore[attr-defined]


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[path[0]] = _replace(copy[path[0]], path[1:], value)
    return copy


def _tampered_json(
    tmp_path_factory: pytest.TempPathFactory, pristine: dict[str, bytes], choice: int, value: Any,
    file: str,
) -> None:  # fmt: skip
    folder = _copy(pristine, tmp_path_factory.mktemp("run"))
    document = json.loads((folder / file).read_text())
    paths = leaves(document)
    (folder / file).write_text(json.dumps(_replace(document, paths[choice % len(paths)], value)))
    try:
        _show(folder)
    except dsbench.DsbenchError as err:
        assert "is not a dsbench results file" in err.message or "broken" in err.message


test_tampered_json_is_read_and_shown_or_refused_as_such, test_json_read_deeply = fuzzed(
    8, 120, choice=st.integers(min_value=0), value=JSON,
    file=st.sampled_from(["summary.json", "environment.json"]))(_tampered_json)  # fmt: skip


def _tampered_csv(
    tmp_path_factory: pytest.TempPathFactory, pristine: dict[str, bytes], row: int, column: int,
    value: str, file: str,
) -> None:  # fmt: skip
    folder = _copy(pristine, tmp_path_factory.mktemp("run"))
    frame = pd.read_csv(folder / file, dtype=str)
    frame.iat[row % len(frame), column % len(frame.columns)] = value
    frame.to_csv(folder / file, index=False)
    try:
        _show(folder)
    except dsbench.DsbenchError as err:
        assert "is not a dsbench results file" in err.message


test_tampered_csv_is_read_and_shown_or_refused_as_such, test_csv_read_deeply = fuzzed(
    5, 60, row=st.integers(min_value=0), column=st.integers(min_value=0),
    value=st.text(max_size=10) | st.sampled_from(["", "nan", "-1", "1e400", "True", "x,y"]),
    file=st.sampled_from(["runs.csv", "history.csv"]))(_tampered_csv)  # fmt: skip


@given(text=st.binary(max_size=200))
@settings(
    max_examples=int(os.environ.get("FUZZ", 60)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_any_bytes_as_a_sweep_or_bench_file_are_refused_as_such(
    tmp_path_factory: pytest.TempPathFactory, text: bytes
) -> None:
    folder = tmp_path_factory.mktemp("f")
    for name, read in (("sweep.json", store.read_sweep), ("bench.json", store.read_bench)):
        (folder / name).write_bytes(text)
        with pytest.raises(dsbench.DsbenchError, match="is not a dsbench results file"):
            read(folder)


def test_text_from_files_is_printed_inert(tmp_path: Path, made_results: Any, invoke: Any) -> None:
    folder = _run_folder(tmp_path / "run", made_results)
    summary = json.loads((folder / "summary.json").read_text())
    summary["warnings"] = ["[/x] [bold]loud[/bold] \x1b[2J\x1b]0;title\x07 done"]
    (folder / "summary.json").write_text(json.dumps(summary))
    environment = json.loads((folder / "environment.json").read_text())
    environment["device"] = "device: [red]GPU\x1b[31m"
    (folder / "environment.json").write_text(json.dumps(environment))
    result = invoke(["report", str(folder)])
    assert result.exit_code == 0, result.output
    assert "[/x] [bold]loud[/bold] ?[2J?]0;title? done" in " ".join(result.output.split())
    assert "[red]GPU?[31m" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    for form in ("markdown", "csv"):
        exported = invoke(["report", str(folder), str(folder), "--format", form]).output
        assert "\x1b" not in exported and "GPU?[31m" in exported


def test_report_follows_each_folder_once(tmp_path: Path, made_results: Any, invoke: Any) -> None:
    _run_folder(tmp_path / "runs" / "a", made_results)
    (tmp_path / "runs" / "loop1").symlink_to(".")
    (tmp_path / "runs" / "loop2").symlink_to("..")
    (tmp_path / "runs" / "a" / "back").symlink_to("../..")
    rows = dsbench.report([tmp_path / "runs", tmp_path / "runs" / "a"]).rows
    assert rows["run"].nunique() == 1 and len(rows) == 2  # one run, its two models
    assert invoke(["report", str(tmp_path / "runs")]).exit_code == 0


def test_an_undecodable_path_is_printed_on_a_strict_terminal(tmp_path: Path) -> None:
    bad = os.fsdecode(b"/nonexistent/\xff\xfe-data")
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", PYTHONUTF8="0", LC_ALL="C.UTF-8")
    proc = subprocess.run(
        [sys.executable, "-m", "dsbench", "compare", "--dataset", "cifar10",
         "--data-dir", bad, "--output-dir", str(tmp_path / "out")],
        capture_output=True, env=env, timeout=60,
    )  # fmt: skip
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert "does not exist" in stderr


def _png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(array).save(path)


def test_sixteen_bit_grayscale_is_rescaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    _png(tmp_path / "g16.png", values)
    pixels = data.images._decode(tmp_path / "g16.png")
    assert pixels.shape == (1, 4, 3) and pixels.dtype == np.uint8
    assert pixels[0, :, 0].tolist() == [0, 1, 128, 255]
    assert (pixels[..., 0] == pixels[..., 2]).all()


def test_a_subset_decodes_only_its_own_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    for split, per_class in (("train", 12), ("test", 4)):
        for name in ("a", "b", "c"):
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(per_class):
                _png(
                    tmp_path / split / name / f"{i}.png", rng.integers(0, 256, (8, 8, 3), np.uint8)
                )
    spec = DataSpec(dataset="cifar10", data_dir=str(tmp_path))
    everything = data.load(spec, seed=3)
    decoded = []
    real = data.images._decode
    monkeypatch.setattr(data.images, "_decode", lambda path: decoded.append(path) or real(path))
    subset = data.load(DataSpec(dataset="cifar10", data_dir=str(tmp_path), train_size=6,
                                test_size=3), seed=3)  # fmt: skip
    assert len(decoded) == 9  # 6 train + 3 test images, not all 48
    # the same images as decoding everything and then taking the seeded subset
    x, y = data.balanced_subset(everything.x_train, everything.y_train, 6, 3, "train")
    assert np.array_equal(subset.x_train, x) and np.array_equal(subset.y_train, y)
    assert subset.classes == ("a", "b", "c")


@pytest.mark.tf
def test_a_subset_missing_some_classes_keeps_the_folder_count(tmp_path: Path) -> None:
    from dsbench.run.in_process import check_fits
    from dsbench.spec.config import run_spec

    images = np.zeros((4, 8, 8, 3), np.uint8)
    subset = data.Data(images, np.array([0, 1, 2, 3]), images, np.array([0, 1, 2, 3]), "x",
                       tuple(f"class{i}" for i in range(30)))  # fmt: skip
    check_fits(run_spec({"input_shape": [8, 8, 3], "num_classes": 30, "blocks": "8x1"}), subset)
    # the four labels the subset holds are not the classes: the 30 folders are
    with pytest.raises(
        dsbench.DsbenchError, match="num_classes 4 does not match the data's 30 classes"
    ):
        check_fits(run_spec({"input_shape": [8, 8, 3], "num_classes": 4, "blocks": "8x1"}), subset)
    with pytest.raises(dsbench.DsbenchError, match="the data's 8x8x3 images"):
        check_fits(run_spec({"input_shape": [16, 16, 3], "num_classes": 30, "blocks": "8x1"}),
                   subset)  # fmt: skip


def test_exports_keep_each_folders_warnings_and_print_no_nan(
    tmp_path: Path, pristine: dict[str, bytes], invoke: Any
) -> None:
    folder = _copy(pristine, tmp_path)
    summary = json.loads((folder / "summary.json").read_text())
    summary["warnings"] = ["time/step ratio: 2 paired epochs: ratio not resolved"]
    (folder / "summary.json").write_text(json.dumps(summary))
    found = dsbench.report([folder])
    assert list(found.warnings) == [
        f"{folder}: time/step ratio: 2 paired epochs: ratio not resolved"
    ]
    exported = json.loads(render.export(found, "json"))
    assert exported["warnings"] == list(found.warnings)
    markdown = render.export(found, "markdown")
    assert "nan" not in markdown and "ratio not resolved" in markdown
    result = invoke(["report", str(folder), "--json", "--format", "csv"])
    assert result.exit_code == 2 and "two formats" in result.stderr
    # a CSV has no place for warnings: they go to stderr, the CSV stays a CSV
    csv = invoke(["report", str(folder), "--format", "csv"])
    assert csv.exit_code == 0 and len(pd.read_csv(io.StringIO(csv.stdout))) == len(found.rows)
    assert "ratio not resolved" in csv.stderr and "warning" not in csv.stdout
    written = invoke(["report", str(folder), "--format", "csv", "-o", str(tmp_path / "r.csv")])
    assert written.exit_code == 0 and "ratio not resolved" in written.stderr
