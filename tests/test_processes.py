"""--processes N: the comparison in N fresh worker processes, with the process as the unit of
the ratio's interval. Statistics and bookkeeping on constructed results; one real run (slow)."""

from __future__ import annotations

import json
import math
import queue
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import write_run

from dsbench import api, render
from dsbench.errors import DsbenchError
from dsbench.measure import stats
from dsbench.measure.comparison import (
    inference_intervals,
    model_rows,
    paired_epoch_ratios,
    ratio_intervals,
    warnings,
)
from dsbench.measure.records import Status, history_frame
from dsbench.observer import Observer
from dsbench.run import workers
from dsbench.store import files as store

# Three processes, each steady at its own ratio (0.25, 0.30, 0.35) with little noise inside:
# what docs/benchmarks.md reports on the 2-core machine.
PROCESS_RATIOS = [[0.26, 0.28, 0.27, 0.29], [0.29, 0.31, 0.30, 0.32],
                  [0.32, 0.34, 0.33, 0.35]]  # fmt: skip


def test_one_process_gives_the_epoch_interval_as_before() -> None:
    values = PROCESS_RATIOS[0]
    assert stats.process_interval([values]) == stats.median_interval(values)


def test_the_process_is_the_unit_of_the_interval() -> None:
    pooled = stats.median_interval([r for group in PROCESS_RATIOS for r in group])
    by_process = stats.process_interval(PROCESS_RATIOS)
    assert (by_process.n, by_process.unit) == (3, "processes")
    assert by_process.median == pooled.median  # the figure: the median of every pair
    # Student's t on the logs of the three process medians, 2 degrees of freedom, its
    # half-width centred on the median printed beside it
    logs = np.log([np.median(g) for g in PROCESS_RATIOS])
    half = 4.302653 * logs.std(ddof=1) / math.sqrt(3)
    centre = math.log(by_process.median)
    assert by_process.low == pytest.approx(math.exp(centre - half), rel=1e-5)
    assert by_process.high == pytest.approx(math.exp(centre + half), rel=1e-5)
    # twelve pairs pooled as if independent claim a precision the processes do not have
    assert pooled.half_width < 0.1 < by_process.half_width
    assert all(by_process.contains(float(np.median(g))) for g in PROCESS_RATIOS)
    assert not all(pooled.contains(float(np.median(g))) for g in PROCESS_RATIOS)


def test_processes_without_pairs_drop_out() -> None:
    two = stats.process_interval([PROCESS_RATIOS[0], [], PROCESS_RATIOS[1], [math.nan]])
    assert (two.n, two.unit) == (2, "processes")
    assert math.isfinite(two.low) and two.low < 0.25 and two.high > 0.30


def test_a_wide_process_interval_asks_for_more_processes() -> None:
    wide = stats.process_interval(PROCESS_RATIOS[:2])
    assert stats.interval_warning("time/step ratio", wide) == [
        f"time/step ratio: the 95% interval is ±{wide.half_width:.0%} over 2 processes, "
        "wider than ±15%: run more processes (--processes)"
    ]


def _three_processes(made_results: Any) -> list[Any]:
    """Both models in three processes of 4 epochs; normal at 2 s per steady epoch, separable
    at the process's ratios of it (the first three of PROCESS_RATIOS)."""
    results = []
    for process, ratios in enumerate(PROCESS_RATIOS):
        separable = [1.5, *(2.0 * r for r in ratios[:3])]
        results += made_results([3.0, 2.0, 2.0, 2.0], separable, process=process)
    return results


def test_pairs_stay_inside_their_process(made_results: Any) -> None:
    results = _three_processes(made_results)
    # every process ran repeat 0: pairing by repeat alone would mix (or drop) processes
    pairs = paired_epoch_ratios(results, "train_s")
    assert sorted(pairs) == pytest.approx(sorted(r for g in PROCESS_RATIOS for r in g[:3]))
    interval = ratio_intervals(results)["ms_per_step_ratio"]
    assert (interval.n, interval.unit) == (3, "processes")
    assert all(interval.contains(float(np.median(g[:3]))) for g in PROCESS_RATIOS)


def test_frames_and_warnings_name_the_process(made_results: Any) -> None:
    results = _three_processes(made_results)
    history = history_frame(results)
    assert list(history.columns[:3]) == ["model", "process", "repeat"]
    assert sorted(history["process"].unique()) == [0, 1, 2]
    summary = model_rows(results).set_index("model")
    assert summary.loc["separable", "processes"] == 3 and summary.loc["separable", "runs"] == 3
    assert summary.loc["separable", "ms_per_step_ratio_n"] == 3
    assert summary.loc["separable", "ms_per_step_std"] > 0  # spread over the processes
    results[5].epochs = results[5].epochs[:2]  # separable, process 3: one steady epoch
    assert any(w.startswith("separable (process 3): 1 steady epoch") for w in warnings(results))
    caption = str(render.compare_table(model_rows(results), "t").caption)
    assert "over 3 fresh processes" in caption and "same seeds" in caption


def test_a_folder_of_processes_round_trips(made_results: Any, tmp_path: Path) -> None:
    results = _three_processes(made_results)
    settings = {"train": {"schedule": "interleaved", "processes": 3, "target_accuracy": None}}
    write_run(tmp_path, results, "compare", settings, {}, complete=True, draw=False)
    back = store.load_results(tmp_path)
    assert [(r.model, r.process) for r in back] == [(r.model, r.process) for r in results]
    assert [len(r.epochs) for r in back] == [4] * 6
    document = json.loads((tmp_path / "summary.json").read_text())
    assert document["ratios"]["ms_per_step_ratio"]["unit"] == "processes"
    # a folder written before --processes existed has no process column: all process 0
    for name in ("history.csv", "runs.csv"):
        frame = pd.read_csv(tmp_path / name)
        frame[frame["process"] == 0].drop(columns="process").to_csv(tmp_path / name, index=False)
    assert {r.process for r in store.load_results(tmp_path)} == {0}


def test_resuming_keeps_the_processes_that_finished(made_results: Any) -> None:
    results = _three_processes(made_results)
    results[3].status = Status.interrupted  # separable of process 2
    kept = workers._finished_processes(results, runs=2, epochs=4)
    assert [r.process for r in kept] == [0, 0]
    assert workers._finished_processes(results[:1], runs=2, epochs=4) == []  # process 1 half done
    # a process killed mid-training saved its runs as "complete" with fewer epochs
    assert workers._finished_processes(results, runs=2, epochs=5) == []


class _Recorder(Observer):
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __getattribute__(self, name: str) -> Any:
        if name in workers.RELAYED:
            return lambda *args: self.calls.append((name, args))
        return super().__getattribute__(name)


class _FinishedWorker:
    pid, exitcode = 0, 0

    def is_alive(self) -> bool:
        return False

    def join(self) -> None:
        pass


def test_the_parent_relays_a_workers_progress(made_results: Any) -> None:
    result = made_results()[0]
    events: queue.Queue[Any] = queue.Queue()
    for event in [("device", ("cpu",)), ("run_start", (("normal",), 2, 1, 0)),
                  ("epoch_start", ("normal", 1)), ("model_end", (result,)),
                  ("result", ("done",))]:  # fmt: skip
        events.put(event)
    observer = _Recorder()
    assert workers._follow(_FinishedWorker(), events, observer, 1) == ("result", ("done",))
    # the device line and the overall bar come from the first process only
    assert [name for name, _ in observer.calls] == ["epoch_start", "model_end"]
    assert result.process == 1
    assert workers._follow(_FinishedWorker(), queue.Queue(), observer, 1)[0] == "crash"


def test_tensorboard_logs_go_to_a_folder_per_process(tiny_settings: dict[str, Any]) -> None:
    from dsbench.spec.config import run_spec

    spec = run_spec({**tiny_settings, "processes": 3, "tensorboard": "logs"})
    one = workers._worker_spec(spec, 1)
    assert (one.train.processes, one.train.tensorboard) == (1, str(Path("logs/process-2")))


@pytest.mark.tf
@pytest.mark.parametrize(
    ("settings", "words"),
    [({"checkpoint": True}, "cannot be combined with checkpoint"),
     ({"strategy": "multiworker"}, "cannot be combined with strategy multiworker")],
)  # fmt: skip
def test_settings_processes_cannot_serve_are_refused(
    settings: dict[str, Any], words: str, tiny_settings: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(DsbenchError, match=words):
        api.compare(**{**tiny_settings, **settings, "processes": 2}, output_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_the_cli_refuses_a_sweep_of_processes(invoke: Any, tiny: list[str]) -> None:
    result = invoke(["sweep", *tiny, "--kernel-size", "3,5", "--processes", "2"])
    assert result.exit_code == 2
    assert "--processes 2: sweep trains every point in one process" in result.output


@pytest.mark.slow
def test_compare_in_two_processes(tmp_path: Path, invoke: Any, tiny: list[str]) -> None:
    out = tmp_path / "two"
    args = ["compare", *tiny, "--epochs", "2", "--deterministic", "--processes", "2"]
    result = invoke([*args, "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert "process 2 of 2" in shown and "over 2 fresh processes" in shown
    assert "not resolved (2 processes)" in shown  # two processes give no interval to quote
    history = pd.read_csv(out / "history.csv")
    assert sorted(history["process"].unique()) == [0, 1]
    # same seeds, deterministic ops: the second process trained exactly what the first did
    first, second = (history[history["process"] == p].reset_index() for p in (0, 1))
    np.testing.assert_array_equal(first["loss"], second["loss"])
    document = json.loads((out / "summary.json").read_text())
    assert document["settings"]["train"]["processes"] == 2
    assert (document["ratios"]["ms_per_step_ratio"]["unit"],
            document["ratios"]["ms_per_step_ratio"]["n"]) == ("processes", 2)  # fmt: skip
    environment = json.loads((out / "environment.json").read_text())
    assert [p["process"] for p in environment["processes"]] == [0, 1]
    assert environment["processes"][0]["pid"] != environment["processes"][1]["pid"]

    # an interrupted second process: resume trains it again and keeps the first
    runs = pd.read_csv(out / "runs.csv")
    runs.loc[runs["process"] == 1, "status"] = "interrupted"
    runs.to_csv(out / "runs.csv", index=False)
    summary = json.loads((out / "summary.json").read_text())
    (out / "summary.json").write_text(json.dumps({**summary, "status": "incomplete"}))
    before = history[history["process"] == 0]["start_unix_s"].tolist()
    resumed = invoke(["resume", str(out), "--no-progress"])
    assert resumed.exit_code == 0, resumed.output
    assert "process 2 of 2" in resumed.output and "process 1 of 2" not in resumed.output
    after = pd.read_csv(out / "history.csv")
    assert after[after["process"] == 0]["start_unix_s"].tolist() == before
    assert (after[after["process"] == 1]["start_unix_s"] > max(before)).all()
    assert json.loads((out / "summary.json").read_text())["status"] == "complete"


def test_inference_ratios_get_an_interval_over_processes(made_results: Any) -> None:
    results = _three_processes(made_results)
    separable = [r for r in results if r.model == "separable"]
    for result, latency in zip(separable, (0.60, 0.66, 0.63), strict=True):
        result.inference = {"latency_ratio": latency, "infer_images_per_s_ratio": 4.0}
    columns = inference_intervals(separable)
    assert columns["latency_ratio"] == pytest.approx(0.63)
    assert columns["latency_ratio_n"] == 3
    assert columns["latency_ratio_low"] < 0.60 and columns["latency_ratio_high"] > 0.66
    assert inference_intervals(separable[:1])["latency_ratio"] == 0.60  # one run: as measured


def test_with_processes_the_point_is_the_median_of_the_process_medians() -> None:
    # one long process at 0.40 and two short ones at 0.25 and 0.26: pooled, the 0.40 pairs
    # outnumber the rest; with the process as the unit the point is the middle process
    interval = stats.process_interval([[0.25] * 3, [0.26] * 3, [0.40] * 10])
    assert interval.median == pytest.approx(0.26) and interval.unit == "processes"
    assert interval.low <= interval.median <= interval.high
