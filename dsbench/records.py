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


INFERENCE_COLUMNS = ("latency_b1_ms", "latency_b1_p90_ms", "infer_images_per_s", "model_file_bytes")
HISTORY_COLUMNS = (
    "model",
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
    "includes_tracing",
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
    "best_val_acc",
    "best_epoch",
    "final_val_acc",
    "overfit_gap",
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
    "final_val_acc": "final_acc_ratio",
    "latency_b1_ms": "latency_ratio",
    "latency_b1_p90_ms": "latency_p90_ratio",
    "infer_images_per_s": "infer_images_per_s_ratio",
    "model_file_bytes": "file_size_ratio",
}


def history_frame(results: list[RunResult]) -> pd.DataFrame:
    """A row per model, repeat and completed epoch."""
    rows = [
        {"model": r.model, "repeat": r.repeat, "seed": r.seed, **epoch}
        for r in results
        for epoch in r.epochs
    ]
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))


def run_metrics(result: RunResult) -> dict[str, Any]:
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
    traced = history["includes_tracing"].astype(bool) if "includes_tracing" in history else False
    steady = history[(history["epoch"] >= 2) & ~traced]
    out["first_epoch_s"] = float(history["epoch_s"].iloc[0])
    if not steady.empty:
        out["steady_epoch_s"] = float(steady["epoch_s"].median())
        out["steady_train_s"] = float(steady["train_s"].median())
        out["steady_val_s"] = float(steady["val_s"].median())
        out["ms_per_step"] = out["steady_train_s"] / result.steps_per_epoch * 1e3
        images_per_s = result.steps_per_epoch * result.batch_size / out["steady_train_s"]
        out["train_images_per_s"] = images_per_s
        out["est_train_gflop_per_s"] = 6 * result.macs_per_image * images_per_s / 1e9
    valid = history.dropna(subset=["val_accuracy"])
    if not valid.empty:
        best = valid.loc[valid["val_accuracy"].idxmax()]
        out["best_val_acc"] = float(best["val_accuracy"])
        out["best_epoch"] = int(best["epoch"])
        out["final_val_acc"] = float(valid["val_accuracy"].iloc[-1])
        out["overfit_gap"] = float(best["accuracy"] - best["val_accuracy"])
    out.update(result.inference)
    return out


def runs_frame(results: list[RunResult]) -> pd.DataFrame:
    """A row per training run (model x repeat) with its figures."""
    rows = []
    for r in results:
        rows.append(
            {
                "model": r.model,
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
                **run_metrics(r),
            }
        )
    return pd.DataFrame(rows)


def summary_frame(results: list[RunResult]) -> pd.DataFrame:
    """A row per model: figures averaged over repeats (with *_std columns when runs >= 2)."""
    runs = runs_frame(results)
    if runs.empty:
        return pd.DataFrame()
    rows = []
    for kind in [k for k in KINDS if k in set(runs["model"])]:
        group = runs[runs["model"] == kind]
        row: dict[str, Any] = {
            "model": kind,
            "status": Status.worst(set(group["status"])),
            "runs": len(group),
            "epochs_completed": int(group["epochs_completed"].min()),
            "params": int(group["params"].iloc[0]),
            "macs_per_image": int(group["macs_per_image"].iloc[0]),
            "steps_per_epoch": int(group["steps_per_epoch"].iloc[0]),
            "batch_size": int(group["batch_size"].iloc[0]),
            "replicas": int(group["replicas"].iloc[0]),
            "jit": bool(group["jit"].iloc[0]),
            "model_file_bytes": group["model_file_bytes"].max(),
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
        rows.append(row)
    return pd.DataFrame(rows)


def separable_over_normal(by_model: pd.DataFrame) -> dict[str, float]:
    """Every meaningful separable/normal ratio of a frame indexed by model (NaN when missing)."""
    out: dict[str, float] = {}
    if not set(KINDS) <= set(by_model.index):
        return out
    for column, name in RATIOS.items():
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
