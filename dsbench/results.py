"""One comparison's figures, computed once: `summarize(RunResults) -> Summary`.

A `Summary` holds what every consumer shows or stores about one train or compare run (or one
sweep point): a row per model (the table's columns), the paired separable/normal timing
ratios with their 95% intervals, the warnings, the settings and the environment. It is
frozen: the results folder saves and loads it (store.py), the tables and exporters display it
(render/), and nothing recomputes it. No TensorFlow.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from dsbench import stats
from dsbench._version import __version__
from dsbench.config import KINDS
from dsbench.records import (
    INFERENCE_RATIO_COLUMNS,
    INFERENCE_RATIOS,
    PER_RUN_METRICS,
    RunResult,
    Status,
    missing,
    runs_frame,
    steady_epochs,
    to_jsonable,
)
from dsbench.request import Command


class FolderKind(str, Enum):
    """The kind of a results folder, told by its marker file (store.MARKERS)."""

    run = "run"  # train or compare: summary.json
    sweep = "sweep"
    bench = "bench"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Metric:
    """One figure of a comparison: its column, how the comparison table labels it and the short
    header of the report table (None: not in that table), and its format (render/format.py)."""

    column: str
    label: str | None
    short: str | None
    form: str


# The figures of a comparison, in the order the tables show them: the compare table as rows,
# the report table as columns (those with a short header).
METRICS = (
    Metric("status", "status", "status", "text"),
    Metric("params", "parameters", "params", "count"),
    Metric("macs_per_image", "MACs / image (forward)", "MACs/img", "millions"),
    Metric("first_epoch_s", "first epoch s (train+val, incl. tracing)", "first ep s", "fixed2"),
    Metric("steady_epoch_s", "steady-state s/epoch (train+val; median, range)", "steady s/ep",
           "fixed2"),
    Metric("ms_per_step", "steady-state train ms/step (median, range)", "ms/step", "fixed1"),
    Metric("train_images_per_s", "train images/s (steady state; median, range)", "img/s",
           "fixed0"),
    Metric("est_train_gflop_per_s", "est. train GFLOP/s (nominal: 6 x MACs x images/s) *", None,
           "fixed1"),
    Metric("gflop_share_of_probe", "  as share of the measured matmul rate", None, "percent"),
    Metric("probe_gflop_per_s", "matmul probe GFLOP/s (best before an epoch)", None, "fixed0"),
    Metric("device_peak_mib", "peak GPU memory in an epoch, MiB", None, "fixed0"),
    Metric("best_val_acc", "best val acc", "best val acc", "fixed4"),
    Metric("best_epoch", "epoch of best val acc", "best ep", "epoch"),
    Metric("final_val_acc", "final val acc", None, "fixed4"),
    Metric("overfit_gap", "overfit: train - val acc at best epoch", "overfit", "fixed4"),
    Metric("time_to_target_s", "time to target val acc, train s", None, "fixed1"),
    Metric("epochs_to_target", "epochs to target val acc", None, "epoch"),
    Metric("latency_b1_ms", "inference latency, batch 1, median ms", "b1 ms", "fixed2"),
    Metric("latency_b1_p90_ms", "inference latency, batch 1, p90 ms", None, "fixed2"),
    Metric("infer_images_per_s", "inference images/s, batch 256", None, "fixed0"),
    Metric("model_file_bytes", ".keras size, weights + architecture (no optimizer), bytes", None,
           "count"),
    Metric("runs", None, "runs", "count"),
)  # fmt: skip

# Columns whose separable/normal ratio means something, and the ratio's column name.
RATIOS = {
    "params": "params_ratio",
    "macs_per_image": "macs_ratio",
    "first_epoch_s": "first_epoch_ratio",
    "steady_epoch_s": "time_ratio",
    "ms_per_step": "ms_per_step_ratio",
    "train_images_per_s": "images_per_s_ratio",
    "est_train_gflop_per_s": "gflop_per_s_ratio",
    "best_val_acc": "acc_ratio",
    "time_to_target_s": "time_to_target_ratio",
    "final_val_acc": "final_acc_ratio",
    "latency_b1_ms": "latency_ratio",
    "latency_b1_p90_ms": "latency_p90_ratio",
    "infer_images_per_s": "infer_images_per_s_ratio",
    "model_file_bytes": "file_size_ratio",
    "device_peak_mib": "device_memory_ratio",
}


def summary_frame(
    results: list[RunResult],
    target: float | None = None,
    intervals: dict[str, stats.Interval] | None = None,
) -> pd.DataFrame:
    """A row per model: figures averaged over repeats (with *_std columns when runs >= 2),
    the spread of steady epochs (*_low, *_high) and, on the separable row, the paired
    separable/normal timing ratios with their 95% intervals (*_ratio, *_ratio_low, ...;
    `intervals` when the caller has them from ratio_intervals already)."""
    runs = runs_frame(results, target)
    if runs.empty:
        return pd.DataFrame()
    rows = []
    for kind in [k for k in KINDS if k in set(runs["model"])]:
        group = runs[runs["model"] == kind]
        row: dict[str, Any] = {
            "model": kind,
            "status": Status.worst(set(group["status"])),
            "runs": len(group),
            "processes": int(group["process"].nunique()),
            "epochs_completed": int(group["epochs_completed"].min()),
            "params": int(group["params"].iloc[0]),
            "macs_per_image": int(group["macs_per_image"].iloc[0]),
            "steps_per_epoch": int(group["steps_per_epoch"].iloc[0]),
            "batch_size": int(group["batch_size"].iloc[0]),
            "replicas": int(group["replicas"].iloc[0]),
            "jit": bool(group["jit"].iloc[0]),
            "model_file_bytes": group["model_file_bytes"].max(),
            "target_val_acc": float(group["target_val_acc"].iloc[0]),
        }
        if row["status"] == Status.diverged:
            diverged = group[group["status"] == Status.diverged.value]
            row["diverged_epoch"] = int(diverged["epochs_completed"].min())
        for name in PER_RUN_METRICS:
            values = group[name].astype(float)
            row[name] = float(values.mean()) if values.notna().any() else math.nan
            if len(group) >= 2:
                enough = values.notna().sum() >= 2
                row[f"{name}_std"] = float(values.std(ddof=1)) if enough else math.nan
        row.update(steady_spread([r for r in results if r.model == kind]))
        if kind == "separable":
            row.update(inference_intervals([r for r in results if r.model == kind]))
            if intervals is None:
                intervals = ratio_intervals(results)
            for name, interval in intervals.items():
                row.update(interval.columns(name))
        rows.append(row)
    return pd.DataFrame(rows)


def inference_intervals(separable: list[RunResult]) -> dict[str, float]:
    """The paired inference ratios measured with the separable runs: as they are for one run;
    for several worker processes, the median with an interval over the processes
    (stats.process_interval); for several repeats in one process, the median of their medians."""
    measured = [r for r in separable if "latency_ratio" in r.inference]
    if len(measured) == 1:
        only = measured[0].inference
        return {k: float(only[k]) for k in INFERENCE_RATIO_COLUMNS if k in only}
    processes = sorted({r.process for r in measured})
    out: dict[str, float] = {}
    for name in INFERENCE_RATIOS:
        if len(processes) >= 2:
            groups = [[float(r.inference[name]) for r in measured if r.process == p]
                      for p in processes]  # fmt: skip
            out.update(stats.process_interval(groups).columns(name))
        elif measured:
            out[name] = float(np.median([r.inference[name] for r in measured]))
    return out


def steady_spread(results: list[RunResult]) -> dict[str, float]:
    """Min and max over every steady epoch of these runs: steady_epoch_s, ms_per_step and
    train_images_per_s, as *_low and *_high."""
    frames = [steady_epochs(r).assign(steps=r.steps_per_epoch, batch=r.batch_size) for r in results]
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return {}
    steady = pd.concat(frames)
    series = {
        "steady_epoch_s": steady["epoch_s"],
        "ms_per_step": steady["train_s"] / steady["steps"] * 1e3,
        "train_images_per_s": steady["steps"] * steady["batch"] / steady["train_s"],
    }
    out: dict[str, float] = {}
    for name, values in series.items():
        out[f"{name}_low"], out[f"{name}_high"] = float(values.min()), float(values.max())
    return out


# Paired timing ratios: (ratio name, history column, invert?) — images/s is 1 / time.
PAIRED = (("time_ratio", "epoch_s", False), ("ms_per_step_ratio", "train_s", False),
          ("images_per_s_ratio", "train_s", True))  # fmt: skip


def paired_epoch_ratios(results: list[RunResult], column: str) -> list[float]:
    """separable/normal of `column` for every epoch both models of a repeat measured in their
    steady state (epoch e of one beside epoch e of the other), over all processes and repeats."""
    return [ratio for group in paired_ratios_by_process(results, column) for ratio in group]


def paired_ratios_by_process(results: list[RunResult], column: str) -> list[list[float]]:
    """paired_epoch_ratios, one list per worker process (every repeat of that process)."""
    out: list[list[float]] = []
    for process in sorted({r.process for r in results}):
        mine: list[float] = []
        for repeat in sorted({r.repeat for r in results if r.process == process}):
            pair = {r.model: steady_epochs(r) for r in results
                    if r.process == process and r.repeat == repeat}  # fmt: skip
            if not set(KINDS) <= set(pair) or any(f.empty for f in pair.values()):
                continue
            both = pair["normal"].merge(pair["separable"], on="epoch", suffixes=("_n", "_s"))
            mine += [
                float(v) for v in stats.paired_ratios(both[f"{column}_s"], both[f"{column}_n"])
            ]
        out.append(mine)
    return out


def ratio_intervals(results: list[RunResult]) -> dict[str, stats.Interval]:
    """The headline timing ratios: median of per-epoch paired ratios with a 95% interval, over
    the epochs of one process (stats.median_interval) or, when several worker processes
    trained, with the process as the unit (stats.process_interval)."""
    out = {}
    for name, column, invert in PAIRED:
        groups = paired_ratios_by_process(results, column)
        if invert:
            groups = [[1 / r for r in group] for group in groups]
        if any(groups):
            out[name] = stats.process_interval(groups)
    return out


def warnings(
    results: list[RunResult], intervals: dict[str, stats.Interval] | None = None
) -> list[str]:
    """Everything that makes this comparison's timing doubtful (see stats.timing_warnings);
    `intervals` when the caller has them from ratio_intervals already."""
    out = []
    for result in results:
        history = pd.DataFrame(result.epochs)
        if history.empty:
            continue
        steady = steady_epochs(result)["epoch_s"].tolist()
        probe = history["probe_gflop_per_s"].tolist() if "probe_gflop_per_s" in history else []
        name = result.model + (f" (process {result.process + 1})" if result.process else "")
        name += f" (repeat {result.repeat + 1})" if result.repeat else ""
        out += stats.timing_warnings(name, float(history["epoch_s"].iloc[0]), steady, probe)
    if intervals is None:
        intervals = ratio_intervals(results)
    if "ms_per_step_ratio" in intervals:
        out += stats.interval_warning("time/step ratio", intervals["ms_per_step_ratio"])
    return out


def separable_over_normal(by_model: pd.DataFrame) -> dict[str, float]:
    """Every meaningful separable/normal ratio of a frame indexed by model (NaN when missing)."""
    out: dict[str, float] = {}
    if not set(KINDS) <= set(by_model.index):
        return out
    for column, name in RATIOS.items():
        paired = by_model.loc["separable", name] if name in by_model.columns else math.nan
        if not missing(paired):  # a median of paired per-epoch ratios, measured side by side
            out[name] = float(paired)
            continue
        if column not in by_model.columns:
            continue
        normal, separable = by_model.loc["normal", column], by_model.loc["separable", column]
        usable = not (missing(normal) or missing(separable)) and float(normal) != 0
        out[name] = float(separable) / float(normal) if usable else math.nan
    return out


@dataclass(frozen=True, eq=False)
class Summary:
    """One train or compare run, computed once (summarize) or read back (store.read_summary)."""

    command: Command
    kinds: tuple[str, ...]
    settings: dict[str, Any]  # RunSpec.as_dict()
    environment: dict[str, Any]
    complete: bool
    models: pd.DataFrame  # a row per model: summary.csv, the comparison table's columns
    intervals: dict[str, stats.Interval]  # the paired timing ratios (PAIRED)
    warnings: tuple[str, ...]

    @property
    def ratios(self) -> dict[str, float]:
        """Every meaningful separable/normal ratio (empty unless both models ran)."""
        if self.models.empty:
            return {}
        return separable_over_normal(self.models.set_index("model"))

    @property
    def device(self) -> str:
        """Where it ran, as the device line says it ('' when not recorded)."""
        return str(self.environment.get("device") or "")

    @property
    def status(self) -> str:
        """'complete' or 'incomplete' (interrupted before its last epoch)."""
        return "complete" if self.complete else "incomplete"

    @property
    def document(self) -> dict[str, Any]:
        """summary.json's content (also what `--json` prints)."""
        document: dict[str, Any] = to_jsonable(
            {
                "dsbench_version": __version__,
                "command": self.command,
                "kinds": list(self.kinds),
                "status": self.status,
                "schedule": (self.settings.get("train") or {}).get("schedule"),
                "settings": self.settings,
                "models": self.models.to_dict(orient="records"),
                "ratios": {name: vars(interval) for name, interval in self.intervals.items()},
                "warnings": list(self.warnings),
            }
        )
        return document

    @classmethod
    def from_document(cls, document: dict[str, Any], environment: dict[str, Any]) -> Summary:
        """A Summary from a summary.json already checked by schema.summary."""

        def number(value: Any) -> float:
            return math.nan if value is None else float(value)

        intervals = {
            name: stats.Interval(number(value.get("median")), number(value.get("low")),
                                 number(value.get("high")), int(value.get("n") or 0),
                                 str(value.get("unit") or "paired epochs"))
            for name, value in (document.get("ratios") or {}).items()
        }  # fmt: skip
        return cls(
            command=Command(document.get("command", "compare")),
            kinds=tuple(document.get("kinds") or KINDS),
            settings=dict(document.get("settings") or {}),
            environment=environment,
            complete=document.get("status", "complete") == "complete",
            models=pd.DataFrame(document["models"]),
            intervals=intervals,
            warnings=tuple(document.get("warnings") or ()),
        )

    def report_rows(self) -> pd.DataFrame:
        """A row per model, the separable row carrying every separable/normal ratio."""
        frame = self.models.copy()
        if {"normal", "separable"} <= set(frame.get("model", [])):
            for name, value in self.ratios.items():
                if name not in frame.columns:
                    frame[name] = math.nan
                frame.loc[frame["model"] == "separable", name] = value
        return frame


def summarize(
    results: list[RunResult],
    command: Command | str,
    kinds: tuple[str, ...],
    settings: dict[str, Any],
    environment: dict[str, Any],
    complete: bool,
) -> Summary:
    """The one analysis of a comparison: intervals computed once serve the rows, the ratios
    and the warnings."""
    train = settings.get("train") or {}
    intervals = ratio_intervals(results)
    models = summary_frame(results, train.get("target_accuracy"), intervals)
    load = environment.get("load_average") or {}
    cores = int(environment.get("cores_in_use") or os.cpu_count() or 1)
    found = warnings(results, intervals) + stats.load_warning(
        float(load.get("start", math.nan)), float(load.get("end") or math.nan), cores
    )
    return Summary(Command(command), tuple(kinds), settings, environment, complete, models,
                   intervals, tuple(found))  # fmt: skip


@dataclass(frozen=True, eq=False)
class BenchSummary:
    """`bench`: a row per mode and batch size with both models' speed (columns prefixed by the
    model) and the separable/normal time ratio with its 95% interval."""

    settings: dict[str, Any]
    rows: pd.DataFrame
    environment: dict[str, Any]
    warnings: tuple[str, ...]
    target: float  # the precision target of the ratio's interval (0.05: ±5%)
    status = "complete"

    @property
    def device(self) -> str:
        """Where it ran, as the device line says it ('' when not recorded)."""
        return str(self.environment.get("device") or "")

    @property
    def document(self) -> dict[str, Any]:
        """bench.json's content."""
        document: dict[str, Any] = to_jsonable({
            "dsbench_version": __version__, "command": "bench", "status": "complete",
            "precision_target": self.target, "settings": self.settings,
            "rows": self.rows.to_dict(orient="records"), "warnings": list(self.warnings),
        })  # fmt: skip
        return document

    @classmethod
    def from_document(cls, document: dict[str, Any], environment: dict[str, Any]) -> BenchSummary:
        """A BenchSummary from a bench.json already checked by schema.bench."""
        return cls(dict(document.get("settings") or {}), pd.DataFrame(document["rows"]),
                   environment, tuple(document.get("warnings") or ()),
                   float(document.get("precision_target", 0.05)))  # fmt: skip

    def report_rows(self) -> pd.DataFrame:
        """A row per mode, batch size and model; the separable row carries the time ratio."""
        out = []
        for row in self.rows.to_dict(orient="records"):
            for kind in KINDS:
                mine = {k.removeprefix(f"{kind}_"): v for k, v in row.items()
                        if k.startswith(f"{kind}_")}  # fmt: skip
                record = {"mode": row["mode"], "batch_size": row["batch_size"], "model": kind,
                          **mine}  # fmt: skip
                if kind == "separable":
                    record.update({"ms_per_step_ratio": row["ratio"],
                                   "ms_per_step_ratio_low": row["ratio_low"],
                                   "ms_per_step_ratio_high": row["ratio_high"]})  # fmt: skip
                out.append(record)
        return pd.DataFrame(out)
