"""A run against a baseline run (`report NEW --baseline OLD`), as pytest-benchmark's
--benchmark-compare and asv compare do: each figure of NEW over the same figure of OLD, with a
95% interval where both runs measured a spread, and a verdict per figure.

Timing figures (ms/step, s/epoch per model): Welch's t on the logs of the two runs' samples,
the steady epochs of each run or, when both ran in several processes, the processes' medians
(the unit that varies between runs: docs/methodology.md). The separable/normal ratio: the two
intervals combined on the log scale. Best validation accuracy: the difference with Newcombe's
unpaired interval. Counted figures (parameters, MACs) are exact. Pure pandas and numpy.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dsbench import stats
from dsbench.records import RunResult, steady_epochs
from dsbench.settings import KINDS

if TYPE_CHECKING:
    from dsbench.results import Summary

# (figure, history column or None, label, lower is better)
TIMED = (("ms_per_step", "train_s", "train ms/step", True),
         ("steady_epoch_s", "epoch_s", "s/epoch (train+val)", True))  # fmt: skip
EXACT = (("params", "parameters"), ("macs_per_image", "MACs / image"))
# Settings whose difference makes two runs' figures incomparable.
MATTERS = {"data": ("dataset", "train_size", "test_size", "rescale"),
           "model": ("arch", "arch_options", "blocks", "kernel_size", "input_shape", "num_classes",
                     "depthwise_init"),
           "train": ("batch_size", "epochs", "backend", "precision", "jit", "strategy",
                     "steps_per_execution", "keep_partial_batch")}  # fmt: skip
COLUMNS = ("figure", "model", "old", "new", "change", "change_low", "change_high", "unit",
           "verdict")  # fmt: skip


def _number(value: Any) -> float:
    """A figure as a float, NaN where it is missing (None in a summary read back)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def differences(new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    """The settings that matter (of two runs' settings, as summary.json holds them) in which
    they differ, as 'name old -> new'; a setting a folder does not record (an older version)
    counts at its default."""
    from dsbench.config import spec_from_dict
    from dsbench.errors import DsbenchError

    with contextlib.suppress(DsbenchError):  # settings no spec reads: compared as they are
        new, old = (spec_from_dict(settings).as_dict() for settings in (new, old))
    out = []
    for section, names in MATTERS.items():
        mine, theirs = new.get(section) or {}, old.get(section) or {}
        for name in names:
            if mine.get(name) != theirs.get(name):
                out.append(f"{name} {theirs.get(name)!r} -> {mine.get(name)!r}")
    return out


def _samples(results: Sequence[RunResult], kind: str, column: str, by_process: bool) -> list[float]:
    """One model's timing samples: every steady epoch's value (ms per step for train_s), or
    each process's median of them."""
    groups: dict[int, list[float]] = {}
    for result in results:
        if result.model != kind:
            continue
        values = steady_epochs(result)
        if values.empty:
            continue
        scale = 1e3 / result.steps_per_epoch if column == "train_s" else 1.0
        groups.setdefault(result.process, []).extend(float(v) * scale for v in values[column])
    if by_process:
        return [float(np.median(v)) for v in groups.values() if v]
    return [v for values in groups.values() for v in values]


def welch_ratio(new: Sequence[float], old: Sequence[float]) -> stats.Interval:
    """new/old as the ratio of geometric means with Welch's 95% interval on the logs; no
    interval (NaN bounds) with fewer than 2 positive values on a side."""
    a, b = (np.log([v for v in x if v > 0]) for x in (new, old))
    if len(a) == 0 or len(b) == 0:
        return stats.Interval(math.nan, math.nan, math.nan, 0)
    centre = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return stats.Interval(math.exp(centre), math.nan, math.nan, min(len(a), len(b)))
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return stats.Interval(math.exp(centre), math.exp(centre), math.exp(centre), len(a))
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = stats.t_quantile(max(1, math.floor(df))) * se
    return stats.Interval(math.exp(centre), math.exp(centre - half), math.exp(centre + half),
                          min(len(a), len(b)))  # fmt: skip


def _verdict(low: float, high: float, lower_is_better: bool,
             words: tuple[str, str] = ("faster", "slower")) -> str:  # fmt: skip
    """What a new/old interval says: `words` (better, worse), no change, or not resolved."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "not resolved"
    if low <= 1 <= high:
        return "no change resolved"
    return words[0] if (high < 1) == lower_is_better else words[1]


def compare(new: Summary, new_results: Sequence[RunResult], old: Summary,
            old_results: Sequence[RunResult]) -> pd.DataFrame:  # fmt: skip
    """A row per figure and model: old, new, new/old (or new − old for accuracy) with its
    interval, the unit of the interval and the verdict."""
    rows: list[dict[str, Any]] = []
    mine, theirs = new.models.set_index("model"), old.models.set_index("model")
    kinds = [k for k in KINDS if k in mine.index and k in theirs.index]
    by_process = (mine.get("processes", pd.Series([1])).max() > 1
                  and theirs.get("processes", pd.Series([1])).max() > 1)  # fmt: skip
    unit = "processes" if by_process else "steady epochs"
    for kind in kinds:
        for figure, label in EXACT:
            a, b = _number(theirs.loc[kind, figure]), _number(mine.loc[kind, figure])
            change = b / a if a else math.nan  # no ratio to 0 MACs (layers dsbench cannot cost)
            rows.append({"figure": label, "model": kind, "old": a, "new": b, "change": change,
                         "change_low": change, "change_high": change, "unit": "exact",
                         "verdict": "same" if a == b else "different"})  # fmt: skip
        for figure, column, label, lower in TIMED:
            interval = welch_ratio(_samples(new_results, kind, column, by_process),
                                   _samples(old_results, kind, column, by_process))  # fmt: skip
            rows.append({"figure": label, "model": kind,
                         "old": _number(theirs.loc[kind].get(figure)),
                         "new": _number(mine.loc[kind].get(figure)), "change": interval.median,
                         "change_low": interval.low, "change_high": interval.high,
                         "unit": f"new/old, {interval.n} {unit}",
                         "verdict": _verdict(interval.low, interval.high, lower)})  # fmt: skip
        rows.append(_accuracy(kind, theirs.loc[kind], mine.loc[kind]))
    if {"normal", "separable"} <= set(kinds):
        rows.append(_ratio_row(theirs.loc["separable"], mine.loc["separable"]))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _accuracy(kind: str, old: pd.Series, new: pd.Series) -> dict[str, Any]:
    """Best val acc, new − old, Newcombe's unpaired interval over each run's test images."""
    a, b = _number(old.get("best_val_acc")), _number(new.get("best_val_acc"))
    images = min(_number(old.get("test_images")), _number(new.get("test_images")))
    low = high = math.nan
    if math.isfinite(a) and math.isfinite(b) and math.isfinite(images):
        low, high = stats.difference_interval(b, a, int(images))
    verdict = ("not resolved" if not math.isfinite(low) else "no change resolved"
               if low <= 0 <= high else "higher" if low > 0 else "lower")  # fmt: skip
    return {"figure": "best val acc", "model": kind, "old": a, "new": b, "change": b - a,
            "change_low": low, "change_high": high, "unit": "new − old", "verdict": verdict}  # fmt: skip


def _ratio_row(old: pd.Series, new: pd.Series) -> dict[str, Any]:
    """The separable/normal ms/step ratio of each run, new over old: the two 95% intervals
    combined on the log scale (independent runs: half-widths add in quadrature)."""
    name = "ms_per_step_ratio"
    values = [_number(row.get(key)) for row in (old, new)
              for key in (name, f"{name}_low", f"{name}_high")]  # fmt: skip
    a, a_low, a_high, b, b_low, b_high = values
    change = b / a if a > 0 else math.nan
    low = high = math.nan
    if all(math.isfinite(v) and v > 0 for v in values):
        half = math.hypot(math.log(a_high / a_low) / 2, math.log(b_high / b_low) / 2)
        low, high = change * math.exp(-half), change * math.exp(half)
    return {"figure": "separable/normal time/step", "model": "separable", "old": a, "new": b,
            "change": change, "change_low": low, "change_high": high,
            "unit": "new/old of the ratios",
            "verdict": _verdict(low, high, True, ("lower", "higher"))}  # fmt: skip
