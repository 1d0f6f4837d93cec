"""Tampered figures are one line or inert: Infinity, NaN, 0, negatives, nulls, out-of-range
values and missing keys in every field of every results file, through `report`, `report
--baseline` (as NEW and as OLD) and every export. Only DsbenchError may come out (one `error:`
line, exit code 2); never a ZeroDivisionError, OverflowError, KeyError, TypeError or ValueError.
FUZZ=2000 python -m pytest tests/test_tampered.py runs it longer."""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import bench_rows, fuzzed, leaves, write_run, write_sweep
from hypothesis import strategies as st
from rich.console import Console

import dsbench
from dsbench import render
from dsbench.measure.bench import BenchSummary
from dsbench.measure.records import RunResult
from dsbench.store import files as store
from dsbench.store import reports
from dsbench.store.files import ResultsFolder

MISSING = object()  # the key removed
HOSTILE = [float("inf"), float("-inf"), float("nan"), 0, 0.0, -1, -0.5, 5.0, 1e300, -1e300,
           2**70, None, True, "x", [], {}, MISSING]  # fmt: skip
CSV_HOSTILE = ["inf", "-inf", "nan", "NaN", "0", "-1", "5.0", "1e400", "", "x", "True"]
SETTINGS = {"train": {"epochs": 4, "batch_size": 32}, "data": {"dataset": "synthetic"}}
ENVIRONMENT = {"device": "device: /CPU:0", "hostname": "box", "cpu": {"model": "X"},
               "data": {"train_images": 320, "test_images": 64}, "cores_in_use": 2,
               "load_average": {"start": 0.5, "end": 1.0}, "peak_rss_mib": 900.0}  # fmt: skip


def _results(scale: float) -> list[RunResult]:
    from conftest import epoch_rows

    accs = [0.3, 0.5, 0.6, 0.55]
    return [RunResult(kind, 0, 0, params, macs, 10, 32,
                      epoch_rows([t * scale for t in times], accs))
            for kind, params, macs, times in (
                ("normal", 1_186_378, 152_805_376, [3.0, 2.0, 2.2, 1.8, 2.1][:4]),
                ("separable", 174_821, 18_295_808, [1.5, 1.0, 1.1, 0.9]))]  # fmt: skip


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Valid folders as dsbench writes them: two runs (new, old), a bench and a sweep."""
    from dsbench.measure import sweep as sweeps
    from dsbench.spec import grid
    from dsbench.spec.settings import ModelSpec, RunSpec

    root = tmp_path_factory.mktemp("pristine")
    for name, scale in (("new", 1.0), ("old", 1.1)):
        (root / name).mkdir()
        write_run(root / name, _results(scale), "compare", SETTINGS, ENVIRONMENT, complete=True)
    bench = BenchSummary(SETTINGS, bench_rows(), ENVIRONMENT, (), 0.05)
    ResultsFolder(root / "bench", existing=True).write_bench(bench)
    base = ModelSpec()
    points = grid.points_for(base, "3,5", None, None)
    summary = dsbench.measure.summary.model_rows(_results(1.0))
    rows = pd.concat([sweeps.trained_rows(p, base, summary) for p in points], ignore_index=True)
    record = sweeps.sweep_summary(RunSpec(model=base), points, rows, True)
    write_sweep(root / "sweep", record)  # report reads no plot
    _everything(root)  # the pristine folders themselves read and show without a word
    return root


def _everything(root: Path, tampered: str | None = None) -> pd.DataFrame:
    """Every reader and writer of `report` over the folders under `root`: all of them, or
    those the `tampered` folder takes part in (itself; a run also against the other run).
    Returns the report's rows."""
    console = Console(file=io.StringIO(), width=100, color_system=None)
    names = ("new", "old", "bench", "sweep") if tampered is None else (tampered,)
    for name in names:
        render.show(console, store.load(root / name), root / name)
    found = reports.report([root])
    render.report(console, found)
    for form in ("markdown", "csv", "json"):  # the page (charts: slower) is fuzzed on its own
        render.export(found, form)
    if tampered in (None, "new", "old"):
        for new, old in (("new", "old"), ("old", "new")):
            against = reports.against(root / new, root / old, force=True)
            render.against(console, against)
            for form in ("markdown", "csv", "json"):
                render.export(against, form)
        store.load_results(root / "new")
        store.load_results(root / "old")
    return found.rows


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return {} if value is MISSING else value
    copy = dict(document) if isinstance(document, dict) else list(document)
    if len(path) == 1 and value is MISSING:
        del copy[path[0]]
        return copy
    copy[path[0]] = _replace(copy[path[0]], path[1:], value)
    return copy


def _survives(root: Path, file: str) -> None:
    """Everything runs, or stops at a DsbenchError that names a results file."""
    try:
        _everything(root, file.split("/")[0])
    except dsbench.DsbenchError as err:
        assert "\n" not in err.message
        expected = ("is not a dsbench results file", "could be read", "nothing to compare",
                    "is not one train or compare results folder")  # fmt: skip
        assert any(words in err.message for words in expected), err.message


JSON_FILES = ["new/summary.json", "old/summary.json", "new/environment.json",
              "old/environment.json", "bench/bench.json", "bench/environment.json",
              "sweep/sweep.json"]  # fmt: skip


def _json_figure_tampered(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, file: str, choice: int, value: Any
) -> None:
    root = tmp_path_factory.mktemp("t")
    shutil.copytree(pristine, root, dirs_exist_ok=True)
    document = json.loads((root / file).read_text())
    paths = leaves(document)
    tampered = _replace(document, paths[choice % len(paths)], value)
    (root / file).write_text(json.dumps(tampered))  # Infinity and NaN as Python writes them
    _survives(root, file)


test_any_json_figure_tampered_is_one_line_or_shown, test_json_tampered_deeply = fuzzed(
    3, 48, derandomize=True, file=st.sampled_from(JSON_FILES),
    choice=st.integers(min_value=0), value=st.sampled_from(HOSTILE))(_json_figure_tampered)  # fmt: skip


def _page_of_tampered_json(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, file: str, choice: int, value: Any
) -> None:
    """The results page (tables, charts with their intervals, curves) of a folder with a
    tampered figure: made, or refused in one line as `report` refuses it."""
    root = tmp_path_factory.mktemp("t")
    shutil.copytree(pristine, root, dirs_exist_ok=True)
    document = json.loads((root / file).read_text())
    paths = leaves(document)
    (root / file).write_text(json.dumps(_replace(document, paths[choice % len(paths)], value)))
    try:
        page = render.export(reports.report([root / file.split("/")[0]]), "html")
    except dsbench.DsbenchError as err:
        assert "\n" not in err.message
        return
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


test_a_tampered_figure_reaches_the_page_or_is_refused, test_page_tampered_deeply = fuzzed(
    1, 24, derandomize=True, file=st.sampled_from(JSON_FILES),
    choice=st.integers(min_value=0), value=st.sampled_from(HOSTILE))(_page_of_tampered_json)  # fmt: skip


def _csv_figure_tampered(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, file: str, row: int, column: int,
    value: str | None,
) -> None:  # fmt: skip
    root = tmp_path_factory.mktemp("t")
    shutil.copytree(pristine, root, dirs_exist_ok=True)
    frame = pd.read_csv(root / file, dtype=str, keep_default_na=False)
    name = frame.columns[column % len(frame.columns)]
    if value is None:  # the column removed
        frame = frame.drop(columns=[name])
    else:
        frame.loc[frame.index[row % len(frame)], name] = value
    frame.to_csv(root / file, index=False)
    _survives(root, file)


test_any_csv_figure_tampered_is_one_line_or_shown, test_csv_tampered_deeply = fuzzed(
    3, 24, derandomize=True,
    file=st.sampled_from(["new/runs.csv", "old/runs.csv", "new/history.csv", "old/history.csv",
                          "new/summary.csv"]),
    row=st.integers(min_value=0), column=st.integers(min_value=0),
    value=st.sampled_from([*CSV_HOSTILE, None]))(_csv_figure_tampered)  # fmt: skip


@pytest.mark.parametrize(
    ("file", "where", "value", "said"),
    [
        ("new/summary.json", ("models", 0, "params"), float("inf"), "Infinity"),
        ("new/summary.json", ("models", 0, "params"), 0, "params is 0"),
        ("new/summary.json", ("models", 1, "steps_per_epoch"), 0, "steps_per_epoch is 0"),
        ("new/summary.json", ("models", 0, "best_val_acc"), 5.0, "best_val_acc is 5"),
        ("new/summary.json", ("models", 0, "runs"), float("nan"), "NaN"),
        ("new/summary.json", ("models", 0, "first_epoch_s"), -3.0, "first_epoch_s is -3"),
        ("new/summary.json", ("ratios", "ms_per_step_ratio", "n"), 0.5, "not a whole number"),
        ("bench/bench.json", ("rows", 0, "target_reached"), MISSING, "target_reached"),
        ("bench/bench.json", ("rows", 0, "normal_ms_per_step"), None, "normal_ms_per_step"),
        ("old/environment.json", ("data", "train_images"), -5, "train_images is -5"),
    ],
)
def test_the_reported_tamperings_are_one_line_each(
    pristine: Path, tmp_path: Path, file: str, where: tuple[Any, ...], value: Any, said: str,
    invoke: Any,
) -> None:  # fmt: skip
    shutil.copytree(pristine, tmp_path, dirs_exist_ok=True)
    document = json.loads((tmp_path / file).read_text())
    (tmp_path / file).write_text(json.dumps(_replace(document, where, value)))
    folder = str(tmp_path / file.split("/")[0])
    for args in (["report", folder],
                 *([["report", folder, "--baseline", str(tmp_path / "new")],
                    ["report", str(tmp_path / "new"), "--baseline", folder]]
                   if "bench" not in file else [])):  # fmt: skip
        result = invoke(args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("error:") and "Traceback" not in result.output
        assert said in " ".join(result.output.split()), result.output
    # among other folders, the tampered one is left out with a warning; the others are shown
    result = invoke(["report", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert any("left out" in w and said in w for w in shown["warnings"]), shown["warnings"]
    assert folder not in set(pd.DataFrame(shown["rows"])["run"])


def test_a_summary_that_disagrees_with_its_history_is_refused(pristine: Path,
                                                              tmp_path: Path) -> None:  # fmt: skip
    shutil.copytree(pristine, tmp_path, dirs_exist_ok=True)
    history = pd.read_csv(tmp_path / "new" / "history.csv")
    history.loc[history["model"] == "normal", "val_accuracy"] = 0.1  # the summary says 0.6
    history.to_csv(tmp_path / "new" / "history.csv", index=False)
    with pytest.raises(dsbench.DsbenchError, match=r"best_val_acc is 0\.6, and its best in"):
        store.read_summary(tmp_path / "new")
    history = pd.read_csv(tmp_path / "old" / "history.csv")
    history[history["epoch"] < 4].to_csv(tmp_path / "old" / "history.csv", index=False)
    with pytest.raises(dsbench.DsbenchError, match=r"completed 4 epochs, and history\.csv holds 3"):
        store.read_summary(tmp_path / "old")


@pytest.mark.parametrize("column", ["seed", "process", "includes_tracing"])
def test_a_run_whose_history_lacks_an_optional_column_still_reads(
    pristine: Path, tmp_path: Path, column: str
) -> None:
    shutil.copytree(pristine, tmp_path, dirs_exist_ok=True)
    history = pd.read_csv(tmp_path / "new" / "history.csv")
    history.drop(columns=[column]).to_csv(tmp_path / "new" / "history.csv", index=False)
    rows = _everything(tmp_path, "new")  # a folder of an older version: read, not a KeyError
    mine = rows[rows["run"] == str(tmp_path / "new")]
    assert mine["model"].tolist() == ["normal", "separable"]
    epochs = [len(r.epochs) for r in store.load_results(tmp_path / "new")]
    assert epochs == [len(history[history["model"] == m]) for m in ("normal", "separable")]


def test_an_interval_dsbench_could_not_compute_reads_back(pristine: Path, tmp_path: Path) -> None:
    # stats.Interval(nan, nan, nan, 0).columns(...) writes n = 0 beside null bounds
    shutil.copytree(pristine, tmp_path, dirs_exist_ok=True)
    document = json.loads((tmp_path / "new" / "summary.json").read_text())
    document["models"][1].update({"latency_ratio": None, "latency_ratio_low": None,
                                  "latency_ratio_high": None, "latency_ratio_n": 0})  # fmt: skip
    (tmp_path / "new" / "summary.json").write_text(json.dumps(document))
    rows = _everything(tmp_path, "new").set_index(["run", "model"])
    assert math.isnan(rows.loc[(str(tmp_path / "new"), "separable"), "latency_ratio"])
