"""What one training run measured: `RunResult`, and its rows as pandas DataFrames.

`RunResult` is one model trained once; history_frame and runs_frame turn a list of them into
the rows dsbench writes (history.csv, runs.csv). Column names carry units and are the same in
CSV, JSON and the tables. The comparison of the two models is summary.py's. No TensorFlow.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    pass

from dsbench.spec.enums import StrEnum


class Status(StrEnum):
    """How a training run ended (worst first in `Status.worst`)."""

    complete = "complete"
    diverged = "diverged"
    interrupted = "interrupted"

    @staticmethod
    def worst(statuses: Iterable[str]) -> Status:
        """The most serious of several runs' statuses (interrupted > diverged > complete)."""
        order = list(Status)
        return max((Status(s) for s in statuses), key=order.index)


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
    # Training images an epoch sees: steps x batch, or the whole split when the last partial
    # batch is kept (0: not recorded, as in folders of older versions: steps x batch).
    images_per_epoch: int = 0
    # Which test images the model classified correctly at its best epoch (encode_correct; ""
    # when not measured): the paired accuracy test of the two models (comparison.accuracy_pairs).
    best_val_correct: str = ""

    @property
    def epoch_images(self) -> int:
        """Training images one epoch sees."""
        return self.images_per_epoch or self.steps_per_epoch * self.batch_size

    def finished(self, epochs: int) -> bool:
        """Whether this run ended for good: diverged, or every one of `epochs` epochs trained.

        A run saved while training (or killed with SIGKILL) says "complete" with fewer epochs:
        that one is not finished, and resume trains the epochs it lacks."""
        if self.status == Status.diverged:
            return True
        return self.status == Status.complete and len(self.epochs) >= epochs


def encode_correct(correct: np.ndarray) -> str:
    """A boolean per test image as text for runs.csv: 'N:' and base64 of numpy.packbits."""
    flags = np.asarray(correct, dtype=bool)
    return f"{len(flags)}:" + base64.b64encode(np.packbits(flags).tobytes()).decode("ascii")


def decode_correct(text: str) -> np.ndarray:
    """encode_correct's booleans back; ValueError when `text` is not what it writes."""
    count, _, packed = str(text).partition(":")
    if not count.isdigit() or not packed:
        raise ValueError("not 'N:base64'")
    try:
        raw = base64.b64decode(packed, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("not base64") from err
    n = int(count)
    if len(raw) != -(-n // 8):
        raise ValueError(f"{len(raw)} bytes for {n} images")
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8), count=n).astype(bool)


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
    "time_before_target_s",
    "epochs_to_target",
    "latency_b1_ms",
    "latency_b1_p90_ms",
    "infer_images_per_s",
)


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


def time_to_accuracy(result: RunResult, target: float) -> tuple[float, float, float]:
    """(training seconds until validation accuracy first reached `target`, that epoch, the
    seconds at the end of the epoch before): NaNs when it never did.

    Counted in whole epochs (accuracy is only measured at an epoch's end), so the crossing lies
    between the last two figures. Tracing is left out: an epoch that traced counts at the
    steady median training time (the one-off cost is first_epoch_s), so with no steady epoch
    there is no figure. Validation time is left out too."""
    steady = steady_epochs(result)
    if steady.empty:
        return math.nan, math.nan, math.nan
    typical = float(steady["train_s"].median())
    seconds = 0.0
    for row in result.epochs:
        before = seconds
        traced = row["epoch"] == 1 or bool(row.get("includes_tracing"))
        seconds += typical if traced else float(row["train_s"])
        if float(row["val_accuracy"]) >= target:
            return seconds, float(row["epoch"]), before
    return math.nan, math.nan, math.nan


def default_target(results: list[RunResult]) -> float:
    """95% of the lowest best validation accuracy of any run, so that every run reaches it."""
    bests = [max((float(e["val_accuracy"]) for e in r.epochs), default=math.nan) for r in results]
    bests = [b for b in bests if math.isfinite(b)]
    return 0.95 * min(bests) if bests else math.nan


def run_metrics(result: RunResult, target: float = math.nan) -> dict[str, Any]:
    """The figures of one training run: timing (first vs steady state), accuracy, inference.

    Steady state is the median over epochs 2..E (and, after a resume, without the first epoch
    of the new process, which traced again); with a single epoch it is undefined (NaN).
    Images/s counts the training images an epoch sees (steps x batch, or the whole split with
    the last partial batch kept), from the steady-state train time.
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
        images_per_s = result.epoch_images / out["steady_train_s"]
        out["train_images_per_s"] = images_per_s
        out["est_train_gflop_per_s"] = 6 * result.macs_per_image * images_per_s / 1e9
        if result.replicas == 1:  # the probe times one device: no share of several
            out["gflop_share_of_probe"] = out["est_train_gflop_per_s"] / out["probe_gflop_per_s"]
    valid = history.dropna(subset=["val_accuracy"])
    if not valid.empty:
        best = valid.loc[valid["val_accuracy"].idxmax()]
        out["best_val_acc"] = float(best["val_accuracy"])
        out["best_epoch"] = int(best["epoch"])
        out["final_val_acc"] = float(valid["val_accuracy"].iloc[-1])
        out["overfit_gap"] = float(best["accuracy"] - best["val_accuracy"])
    if math.isfinite(target):
        reached = time_to_accuracy(result, target)
        out["time_to_target_s"], out["epochs_to_target"], out["time_before_target_s"] = reached
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
                "images_per_epoch": r.epoch_images,
                "replicas": r.replicas,
                "jit": r.jit,
                "model_file_bytes": math.nan,
                "target_val_acc": goal,
                **run_metrics(r, goal),
                "best_val_correct": r.best_val_correct or None,
            }
        )
    return pd.DataFrame(rows)


def missing(value: Any) -> bool:
    """None or NaN: a figure that was not measured."""
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
