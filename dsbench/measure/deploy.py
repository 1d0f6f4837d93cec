"""`deploy`'s figures from its timings and predictions: each exported model's batch-1 latency
with its 95% interval, the separable/normal latency ratio from adjacent chunk pairs, and the
accuracy each export keeps, paired with the Keras model it came from on the same test images.
Numbers only, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from dsbench.measure import stats

# What deploy exports, in the order it lists them: (format, precision), and each format's file.
EXPORTS = (("litert", "float32"), ("litert", "dynamic_int8"), ("litert", "int8"),
           ("onnx", "float32"))  # fmt: skip
SUFFIXES = {"litert": "tflite", "onnx": "onnx"}


def export_name(kind: str, form: str, precision: str) -> str:
    """'normal-litert-int8.tflite': the file one model's export is written to."""
    return f"{kind}-{form}-{precision}.{SUFFIXES[form]}"


# deploy.json's row columns, in order.
COLUMNS = ("model", "format", "precision", "threads", "size_bytes", "latency_ms",
           "latency_ms_low", "latency_ms_high", "chunks", "accuracy", "keras_accuracy",
           "accuracy_difference", "accuracy_difference_low", "accuracy_difference_high",
           "accuracy_mcnemar_p", "size_ratio", "latency_ratio", "latency_ratio_low",
           "latency_ratio_high", "file")  # fmt: skip


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
