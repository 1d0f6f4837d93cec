"""What a training run measured, as plain records and pandas DataFrames.

`RunResult` is one model trained once; the frames below turn a list of them into the tables
dsbench writes and prints. Column names carry units and are the same in CSV, JSON and the
tables. Separable/normal ratios are computed here, once, for every consumer. No TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from dsbench import stats
from dsbench.config import KINDS


class Status(str, Enum):
    """How a training run ended (worst first in `Status.worst`)."""

    complete = "complete"
    diverged = "diverged"
    interrupted = "interrupted"

    def __str__(self) -> str:
        return self.value

    @staticmethod
    def worst(statuses: set[str]) -> str:
        """The most serious of several runs' statuses (interrupted > diverged > complete)."""
        order = [s.value for s in Status]
        return max((str(s) for s in statuses), key=order.index)


@dataclass
class RunResult:
    """One model trained once: a row per completed epoch plus what was measured around it."""

    model: str
    repeat: int
    seed: int
    params: int
    macs_per_image: int
    steps_per_epoch: int
    batch_size: int
    epochs: list[dict[str, Any]] = field(default_factory=list)
    status: Status = Status.complete
    stopped_by: int | None = None  # signal number when interrupted
    inference: dict[str, Any] = field(default_factory=dict)
    replicas: int = 1
    jit: bool = False
    process: int = 0  # which worker process trained it (--processes), 0-based
    # Per epoch trained in this process: (step, seconds) when each call of the train function
    # began, then (steps, seconds) when training ended. In memory only, for benchmarks
    # (benchmarks/stability.py); history.csv keeps the epochs' totals and start times.
    step_marks: list[list[tuple[int, float]]] = field(default_factory=list, repr=False)

    def finished(self, epochs: int) -> bool:
        """Whether this run ended for good: diverged, or every one of `epochs` epochs trained.

        A run saved while training (or killed with SIGKILL) says "complete" with fewer epochs:
        that one is not finished, and resume trains the epochs it lacks."""
        if self.status == Status.diverged:
            return True
        return self.status == Status.complete and len(self.epochs) >= epochs


# The paired inference ratios measured beside the separable model (speed.inference), each
# with its interval's columns (stats.Interval.columns).
INFERENCE_RATIOS = ("latency_ratio", "infer_images_per_s_ratio")
INFERENCE_RATIO_COLUMNS = tuple(f"{name}{part}" for name in INFERENCE_RATIOS
                                for part in ("", "_low", "_high", "_n"))  # fmt: skip
INFERENCE_COLUMNS = ("latency_b1_ms", "latency_b1_p90_ms", "infer_images_per_s",
                     "model_file_bytes", *INFERENCE_RATIO_COLUMNS)  # fmt: skip
HISTORY_COLUMNS = (
    "model",
    "process",
    "repeat",
    "seed",
    "epoch",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "train_s",
    "val_s",
    "epoch_s",
    "setup_s",
    "start_unix_s",
    "includes_tracing",
    "probe_gflop_per_s",
    "device_peak_mib",
)

# Measured per run; with --repeats they are shown as mean ± std over runs.
PER_RUN_METRICS = (
    "first_epoch_s",
    "steady_epoch_s",
    "steady_train_s",
    "steady_val_s",
    "ms_per_step",
    "train_images_per_s",
    "est_train_gflop_per_s",
    "probe_gflop_per_s",
    "gflop_share_of_probe",
    "device_peak_mib",
    "best_val_acc",
    "best_epoch",
    "final_val_acc",
    "overfit_gap",
    "time_to_target_s",
    "epochs_to_target",
    "latency_b1_ms",
    "latency_b1_p90_ms",
    "infer_images_per_s",
)

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


def history_frame(results: list[RunResult]) -> pd.DataFrame:
    """A row per model, process, repeat and completed epoch."""
    rows = [
        {"model": r.model, "process": r.process, "repeat": r.repeat, "seed": r.seed, **epoch}
        for r in results
        for epoch in r.epochs
    ]
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))


def steady_epochs(result: RunResult) -> pd.DataFrame:
    """The epochs that count for the steady state: from epoch 2 on, none that traced."""
    history = pd.DataFrame(result.epochs)
    if history.empty:
        return history
    traced = history["includes_tracing"].astype(bool) if "includes_tracing" in history else False
    return history[(history["epoch"] >= 2) & ~traced]


def time_to_accuracy(epochs: list[dict[str, Any]], target: float) -> tuple[float, float]:
    """(cumulative training seconds, epoch) when validation accuracy first reached `target`;
    NaNs when it never did. Training seconds include the first epoch's tracing, as a user
    waiting for the accuracy waits for it too; validation time is left out."""
    seconds = 0.0
    for row in epochs:
        seconds += float(row["train_s"])
        if float(row["val_accuracy"]) >= target:
            return seconds, float(row["epoch"])
    return math.nan, math.nan


def default_target(results: list[RunResult]) -> float:
    """95% of the lowest best validation accuracy of any run, so that every run reaches it."""
    bests = [max((float(e["val_accuracy"]) for e in r.epochs), default=math.nan) for r in results]
    bests = [b for b in bests if math.isfinite(b)]
    return 0.95 * min(bests) if bests else math.nan


def run_metrics(result: RunResult, target: float = math.nan) -> dict[str, Any]:
    """The figures of one training run: timing (first vs steady state), accuracy, inference.

    Steady state is the median over epochs 2..E (and, after a resume, without the first epoch
    of the new process, which traced again); with a single epoch it is undefined (NaN).
    Images/s counts training images only (steps x batch), from the steady-state train time.
    The GFLOP/s figure is an estimate: 3 (forward + backward) x 2 x forward MACs per image.
    """
    history = pd.DataFrame(result.epochs)
    out: dict[str, Any] = {name: math.nan for name in PER_RUN_METRICS}
    out["epochs_completed"] = len(history)
    if history.empty:
        return out
    steady = steady_epochs(result)
    out["first_epoch_s"] = float(history["epoch_s"].iloc[0])
    if "probe_gflop_per_s" in history and history["probe_gflop_per_s"].notna().any():
        out["probe_gflop_per_s"] = float(history["probe_gflop_per_s"].max())
    if "device_peak_mib" in history and history["device_peak_mib"].notna().any():
        out["device_peak_mib"] = float(history["device_peak_mib"].max())
    if not steady.empty:
        out["steady_epoch_s"] = float(steady["epoch_s"].median())
        out["steady_train_s"] = float(steady["train_s"].median())
        out["steady_val_s"] = float(steady["val_s"].median())
        out["ms_per_step"] = out["steady_train_s"] / result.steps_per_epoch * 1e3
        images_per_s = result.steps_per_epoch * result.batch_size / out["steady_train_s"]
        out["train_images_per_s"] = images_per_s
        out["est_train_gflop_per_s"] = 6 * result.macs_per_image * images_per_s / 1e9
        out["gflop_share_of_probe"] = out["est_train_gflop_per_s"] / out["probe_gflop_per_s"]
    valid = history.dropna(subset=["val_accuracy"])
    if not valid.empty:
        best = valid.loc[valid["val_accuracy"].idxmax()]
        out["best_val_acc"] = float(best["val_accuracy"])
        out["best_epoch"] = int(best["epoch"])
        out["final_val_acc"] = float(valid["val_accuracy"].iloc[-1])
        out["overfit_gap"] = float(best["accuracy"] - best["val_accuracy"])
    if math.isfinite(target):
        out["time_to_target_s"], out["epochs_to_target"] = time_to_accuracy(result.epochs, target)
    out.update(result.inference)
    return out


def runs_frame(results: list[RunResult], target: float | None = None) -> pd.DataFrame:
    """A row per training run (model x repeat) with its figures (time to `target` accuracy,
    by default 95% of the lowest best validation accuracy among `results`)."""
    goal = default_target(results) if target is None else target
    rows = []
    for r in results:
        rows.append(
            {
                "model": r.model,
                "process": r.process,
                "repeat": r.repeat,
                "seed": r.seed,
                "status": str(r.status),
                "params": r.params,
                "macs_per_image": r.macs_per_image,
                "steps_per_epoch": r.steps_per_epoch,
                "batch_size": r.batch_size,
                "replicas": r.replicas,
                "jit": r.jit,
                "model_file_bytes": math.nan,
                "target_val_acc": goal,
                **run_metrics(r, goal),
            }
        )
    return pd.DataFrame(rows)


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
        if not _missing(paired):  # a median of paired per-epoch ratios, measured side by side
            out[name] = float(paired)
            continue
        if column not in by_model.columns:
            continue
        normal, separable = by_model.loc["normal", column], by_model.loc["separable", column]
        usable = not (_missing(normal) or _missing(separable)) and float(normal) != 0
        out[name] = float(separable) / float(normal) if usable else math.nan
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def to_jsonable(value: Any) -> Any:
    """NaN -> None and numpy scalars -> Python, recursively, so the JSON is strict."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
