"""`deploy`'s record and its figures from timings and predictions: each exported model's
batch-1 latency and its images/s at a larger batch, each with its 95% interval, the
separable/normal ratios from adjacent chunk pairs, and the accuracy each export keeps, paired
with the Keras model it came from on the same test images. Numbers only, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from dsbench.measure import stats
from dsbench.measure.summary import FolderKind

# What deploy exports, in the order it lists them: (format, precision), and each format's file.
EXPORTS = (("litert", "float32"), ("litert", "dynamic_int8"), ("litert", "int8"),
           ("onnx", "float32"))  # fmt: skip
SUFFIXES = {"litert": "tflite", "onnx": "onnx"}


def export_name(kind: str, form: str, precision: str) -> str:
    """'normal-litert-int8.tflite': the file one model's export is written to."""
    return f"{kind}-{form}-{precision}.{SUFFIXES[form]}"


THROUGHPUT_BATCH = 32  # images per call where throughput (images/s) is timed

# deploy.json's row columns, in order.
COLUMNS = ("model", "format", "precision", "threads", "size_bytes", "latency_ms",
           "latency_ms_low", "latency_ms_high", "chunks", "throughput_batch", "images_per_s",
           "images_per_s_low", "images_per_s_high", "accuracy", "keras_accuracy",
           "accuracy_difference", "accuracy_difference_low", "accuracy_difference_high",
           "accuracy_mcnemar_p", "size_ratio", "latency_ratio", "latency_ratio_low",
           "latency_ratio_high", "images_per_s_ratio", "images_per_s_ratio_low",
           "images_per_s_ratio_high", "file")  # fmt: skip
# Columns that are whole counts, each at least 1.
COUNTED = ("threads", "size_bytes", "throughput_batch")


@dataclass(frozen=True)
class Deployed:
    """deploy's record (deploy.json): a row per model, export and thread count (COLUMNS), the
    weights they came from ("final weights (epoch N)" or "untrained") and where they were
    measured; `folder` is where it was written or read."""

    rows: list[dict[str, Any]]
    weights: str
    environment: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None
    kind: ClassVar[FolderKind] = FolderKind.deploy
    status: ClassVar[str] = "complete"
    warnings: ClassVar[tuple[str, ...]] = ()

    @property
    def settings(self) -> dict[str, Any]:
        """The settings of the models exported (those of the run they came from)."""
        return dict(self.environment.get("settings") or {})

    @property
    def document(self) -> dict[str, Any]:
        from dsbench._version import __version__

        return {"dsbench_version": __version__, "weights": self.weights, "rows": self.rows,
                "environment": self.environment}  # fmt: skip

    def report_rows(self) -> pd.DataFrame:
        """No training rows: a report lists deploy's rows apart (Report.deploy)."""
        return pd.DataFrame(columns=["model"])

    def frame(self) -> pd.DataFrame:
        """The rows as a table, each saying which weights it measured."""
        return pd.DataFrame(self.rows, columns=list(COLUMNS)).assign(weights=self.weights)


def latency(normal_ms: Sequence[float], separable_ms: Sequence[float]) -> dict[str, Any]:
    """Both models' median ms per image over their chunks, each with a 95% interval, and the
    separable/normal ratio of adjacent chunks (timed in alternating order) with its own."""
    out: dict[str, Any] = {}
    for kind, values in (("normal", normal_ms), ("separable", separable_ms)):
        interval = stats.median_interval([v for v in values if v > 0])
        out[kind] = {"latency_ms": interval.median, "latency_ms_low": interval.low,
                     "latency_ms_high": interval.high, "chunks": len(values)}  # fmt: skip
    ratios = [s / n for n, s in zip(normal_ms, separable_ms, strict=False) if n > 0 and s > 0]
    ratio = stats.median_interval(ratios) if ratios else None
    out["ratio"] = {"latency_ratio": ratio.median if ratio else math.nan,
                    "latency_ratio_low": ratio.low if ratio else math.nan,
                    "latency_ratio_high": ratio.high if ratio else math.nan}  # fmt: skip
    return out


def throughput(normal_ms: Sequence[float], separable_ms: Sequence[float],
               batch: int) -> dict[str, Any]:  # fmt: skip
    """Both models' images/s from the ms of each call of `batch` images (median over chunks,
    95% interval), and the separable/normal images/s ratio of adjacent chunks (above 1: the
    separable model gets through more)."""
    timed = latency(normal_ms, separable_ms)
    out: dict[str, Any] = {}
    for kind in ("normal", "separable"):
        ms = timed[kind]
        out[kind] = {"throughput_batch": batch,
                     "images_per_s": _per_second(ms["latency_ms"], batch),
                     "images_per_s_low": _per_second(ms["latency_ms_high"], batch),
                     "images_per_s_high": _per_second(ms["latency_ms_low"], batch)}  # fmt: skip
    ratio = timed["ratio"]
    out["ratio"] = {"images_per_s_ratio": _inverse(ratio["latency_ratio"]),
                    "images_per_s_ratio_low": _inverse(ratio["latency_ratio_high"]),
                    "images_per_s_ratio_high": _inverse(ratio["latency_ratio_low"])}  # fmt: skip
    return out


def _per_second(ms_per_call: float, batch: int) -> float:
    return batch * 1000 / ms_per_call if ms_per_call > 0 else math.nan


def _inverse(value: float) -> float:
    return 1 / value if value > 0 else math.nan


def kept_accuracy(keras_correct: np.ndarray, export_correct: np.ndarray) -> dict[str, float]:
    """The export's test accuracy and its difference to the Keras model's on the same images
    (export − Keras, Bonett–Price 95% interval over the discordant images; McNemar's p)."""
    n = len(keras_correct)
    if n == 0:
        return {"accuracy": math.nan, "keras_accuracy": math.nan}
    only_keras = int(np.sum(keras_correct & ~export_correct))
    only_export = int(np.sum(~keras_correct & export_correct))
    difference, low, high = stats.paired_difference(only_keras, only_export, n)
    return {"accuracy": float(export_correct.mean()), "keras_accuracy": float(keras_correct.mean()),
            "accuracy_difference": difference, "accuracy_difference_low": low,
            "accuracy_difference_high": high,
            "accuracy_mcnemar_p": stats.mcnemar_p(only_keras, only_export)}  # fmt: skip
