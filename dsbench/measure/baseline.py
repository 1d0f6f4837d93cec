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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dsbench.measure import stats
from dsbench.measure.records import RunResult, steady_epochs
from dsbench.spec.settings import KINDS

if TYPE_CHECKING:
    from dsbench.measure.summary import Summary

# (figure, history column or None, label, lower is better)
TIMED = (("ms_per_step", "train_s", "train ms/step", True),
         ("steady_epoch_s", "epoch_s", "s/epoch (train+val)", True))  # fmt: skip
EXACT = (("params", "parameters"), ("macs_per_image", "MACs / image"))
# Settings whose difference makes two runs' figures incomparable.
MATTERS = {"data": ("dataset", "train_size", "test_size", "rescale"),
           "model": ("arch", "arch_options", "blocks", "kernel_size", "input_shape", "num_classes",
                     "depthwise_init", "twin"),
           "train": ("batch_size", "epochs", "backend", "precision", "jit", "strategy",
                     "steps_per_execution", "keep_partial_batch", "schedule")}  # fmt: skip
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
    from dsbench.errors import DsbenchError
    from dsbench.spec.config import spec_from_dict

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


# How much a run's median moves from run to run on the machine dsbench is measured on, beyond
# what its own epochs show: the log-scale standard deviation of per-run medians over 32
# identical compares in fresh processes (benchmarks/data/stability*-runs.json, docs/methodology.md):
# ms/step per model 0.102 (normal) and 0.139 (separable), the separable/normal ratio 0.090. A
# change between two runs counts it once per run, so identical runs differ by up to
# exp(1.96 x sqrt(2) x sd): x1.47 per model, x1.28 for the ratio.
BETWEEN_RUNS_SD = {"model": 0.14, "ratio": 0.09}
FAMILY_ERROR = 0.05  # Holm: the chance of any false verdict among one report's rows


@dataclass(frozen=True)
class Change:
    """NEW against OLD: log(new/old) (or new − old for accuracy, `additive`) with its standard
    error and degrees of freedom (inf: normal); se NaN when the runs cannot resolve it;
    `bounds`, an interval computed otherwise (Newcombe's), shown instead of estimate ± t se."""

    estimate: float
    se: float
    df: float
    n: int
    additive: bool = False
    bounds: tuple[float, float] | None = None

    @property
    def p(self) -> float:
        """Two-sided p-value of no change (NaN when not resolvable)."""
        if not (math.isfinite(self.estimate) and math.isfinite(self.se)):
            return math.nan
        if self.se == 0:
            return 1.0 if self.estimate == 0 else 0.0
        return stats.t_two_sided_p(self.estimate / self.se, self.df)

    def interval(self) -> tuple[float, float, float]:
        """(change, low, high) at 95%: a ratio new/old, or a difference new − old."""
        half = stats.t_quantile(self.df) * self.se if math.isfinite(self.se) else math.nan
        low, high = self.bounds or (self.estimate - half, self.estimate + half)
        if self.additive:
            return self.estimate, low, high
        return math.exp(self.estimate), math.exp(low), math.exp(high)


def timing_change(new: Sequence[float], old: Sequence[float], between: float) -> Change:
    """new/old as the ratio of geometric means: Welch's t on the logs of the samples (steady
    epochs, or processes' medians) with each run's `between`-run variance added, which a run's
    own samples cannot show (docs/methodology.md)."""
    a, b = (np.log([v for v in x if v > 0]) for x in (new, old))
    if len(a) == 0 or len(b) == 0:
        return Change(math.nan, math.nan, math.nan, 0)
    centre, n = float(a.mean() - b.mean()), min(len(a), len(b))
    if len(a) < 2 or len(b) < 2:
        return Change(centre, math.nan, math.nan, n)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    variance = va + vb + 2 * between**2
    own = va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)  # Welch-Satterthwaite; `between` is known
    df = variance**2 / own if own > 0 else math.inf
    return Change(centre, math.sqrt(variance), df, n)


def ratio_change(old: pd.Series, new: pd.Series, between: float) -> Change:
    """The separable/normal ms/step ratio of each run, new over old: each run's 95% interval
    as a standard error on the log scale, and each run's `between`-run variance."""
    name = "ms_per_step_ratio"
    values = [_number(row.get(key)) for row in (old, new)
              for key in (name, f"{name}_low", f"{name}_high")]  # fmt: skip
    a, a_low, a_high, b, b_low, b_high = values
    if not (a > 0 and b > 0):
        return Change(math.nan, math.nan, math.nan, 0)
    if not all(math.isfinite(v) and v > 0 for v in values):
        return Change(math.log(b / a), math.nan, math.nan, 0)
    own = [math.log(high / low) / (2 * stats.Z) for low, high in ((a_low, a_high), (b_low, b_high))]
    variance = own[0] ** 2 + own[1] ** 2 + 2 * between**2
    return Change(math.log(b / a), math.sqrt(variance), math.inf, 2)


def accuracy_change(old: pd.Series, new: pd.Series) -> Change:
    """Best val acc, new − old, with Newcombe's unpaired interval over each run's test images
    (its standard error, for the joint test, from the interval's width)."""
    a, b = _number(old.get("best_val_acc")), _number(new.get("best_val_acc"))
    images = min(_number(old.get("test_images")), _number(new.get("test_images")))
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(images)):
        return Change(b - a, math.nan, math.inf, 0, additive=True)
    low, high = stats.difference_interval(b, a, int(images))
    return Change(b - a, (high - low) / (2 * stats.Z), math.inf, int(images), True, (low, high))


def holm(p_values: Sequence[float], family_error: float = FAMILY_ERROR) -> list[bool]:
    """Which of `p_values` Holm's step-down procedure rejects at `family_error` (a NaN is not
    tested, never rejected)."""
    ordered = sorted((p, i) for i, p in enumerate(p_values) if math.isfinite(p))
    rejected = [False] * len(p_values)
    for rank, (p, index) in enumerate(ordered):
        if p > family_error / (len(ordered) - rank):
            break
        rejected[index] = True
    return rejected


def verdicts(changes: Sequence[Change], words: Sequence[tuple[str, str]]) -> list[str]:
    """Each change's verdict, tested together (Holm): `words` (up, down) where it is called,
    'no change resolved' where it is not, 'not resolved' where the runs cannot tell."""
    called = holm([change.p for change in changes])
    out = []
    for change, (up, down), call in zip(changes, words, called, strict=True):
        if not math.isfinite(change.p):
            out.append("not resolved")
        else:
            out.append((up if change.estimate > 0 else down) if call else "no change resolved")
    return out


def compare(new: Summary, new_results: Sequence[RunResult], old: Summary,
            old_results: Sequence[RunResult]) -> pd.DataFrame:  # fmt: skip
    """A row per figure and model: old, new, new/old (or new − old for accuracy) with its 95%
    interval, the unit of the interval and the verdict. Timing intervals count each run's
    run-to-run variation (BETWEEN_RUNS_SD), and the verdicts of all rows are tested together
    (Holm, 5% family-wise): identical runs get a verdict in at most 5% of reports."""
    rows: list[dict[str, Any]] = []
    tested: list[tuple[int, Change, tuple[str, str]]] = []  # row, change, (up, down) words
    mine, theirs = new.models.set_index("model"), old.models.set_index("model")
    kinds = [k for k in KINDS if k in mine.index and k in theirs.index]
    by_process = (mine.get("processes", pd.Series([1])).max() > 1
                  and theirs.get("processes", pd.Series([1])).max() > 1)  # fmt: skip
    unit = "processes" if by_process else "steady epochs"

    def add(row: dict[str, Any], change: Change, words: tuple[str, str]) -> None:
        tested.append((len(rows), change, words))
        rows.append(row)

    for kind in kinds:
        for figure, label in EXACT:
            a, b = _number(theirs.loc[kind, figure]), _number(mine.loc[kind, figure])
            change = b / a if a else math.nan  # no ratio to 0 MACs (layers dsbench cannot cost)
            rows.append({"figure": label, "model": kind, "old": a, "new": b, "change": change,
                         "change_low": change, "change_high": change, "unit": "exact",
                         "verdict": "same" if a == b else "different"})  # fmt: skip
        for figure, column, label, lower in TIMED:
            found = timing_change(_samples(new_results, kind, column, by_process),
                                  _samples(old_results, kind, column, by_process),
                                  BETWEEN_RUNS_SD["model"])  # fmt: skip
            add({"figure": label, "model": kind, "old": _number(theirs.loc[kind].get(figure)),
                 "new": _number(mine.loc[kind].get(figure)),
                 "unit": f"new/old, {found.n} {unit} and run-to-run"}, found,
                ("slower", "faster") if lower else ("faster", "slower"))  # fmt: skip
        found = accuracy_change(theirs.loc[kind], mine.loc[kind])
        add({"figure": "best val acc", "model": kind,
             "old": _number(theirs.loc[kind].get("best_val_acc")),
             "new": _number(mine.loc[kind].get("best_val_acc")), "unit": "new − old"}, found,
            ("higher", "lower"))  # fmt: skip
    if {"normal", "separable"} <= set(kinds):
        found = ratio_change(theirs.loc["separable"], mine.loc["separable"],
                             BETWEEN_RUNS_SD["ratio"])  # fmt: skip
        add({"figure": "separable/normal time/step", "model": "separable",
             "old": _number(theirs.loc["separable"].get("ms_per_step_ratio")),
             "new": _number(mine.loc["separable"].get("ms_per_step_ratio")),
             "unit": "new/old of the ratios and run-to-run"}, found, ("higher", "lower"))  # fmt: skip
    said = verdicts([change for _, change, _ in tested], [words for _, _, words in tested])
    for (index, found, _), verdict in zip(tested, said, strict=True):
        middle, low, high = found.interval()
        rows[index].update({"change": middle, "change_low": low, "change_high": high,
                            "verdict": verdict})  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))


def spread(between: float) -> float:
    """How far apart two identical runs may lie (95%) for a run-to-run log sd `between`."""
    return math.exp(stats.Z * math.sqrt(2) * between)


def tested_rows(rows: pd.DataFrame) -> int:
    """How many rows of a comparison were tested together for a change (Holm's family)."""
    return int(((rows["unit"] != "exact") & (rows["verdict"] != "not resolved")).sum())
