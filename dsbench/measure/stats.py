"""How sure a timing is: medians, spreads, paired ratios with intervals, and warnings.

numpy and scipy, no TensorFlow: every function here is tested on constructed series whose right
answer is known (tests/test_stats.py). `compare` and `bench` use the same functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_SAMPLES = 4000
CONFIDENCE = 0.95
Z = 1.959963984540054  # the normal quantile of a two-sided 95% interval
CV_LIMIT = 0.10  # steady epoch times varying more than this are flagged
INTERVAL_LIMIT = 0.15  # a ratio interval wider than ±15% is flagged
FIRST_EPOCH_MARGIN = 0.10  # a first epoch faster than the steady state by more than this
MIN_STEADY = 3  # fewer steady epochs (or pairs) than this leave a ratio unresolved


@dataclass(frozen=True)
class Spread:
    """The median of a series with its spread: min, max, coefficient of variation, count."""

    median: float
    low: float
    high: float
    cv: float
    n: int

    @staticmethod
    def of(values: Sequence[float]) -> Spread:
        """The spread of the finite values (NaNs when there are none)."""
        x = finite(values)
        if not len(x):
            return Spread(math.nan, math.nan, math.nan, math.nan, 0)
        cv = float(np.std(x, ddof=1) / np.mean(x)) if len(x) >= 2 and np.mean(x) else math.nan
        return Spread(float(np.median(x)), float(x.min()), float(x.max()), cv, len(x))


@dataclass(frozen=True)
class Interval:
    """A median ratio with its 95% confidence interval (NaN bounds when not resolvable)."""

    median: float
    low: float
    high: float
    n: int
    unit: str = "paired epochs"  # what n counts: the values the interval treats as independent

    @property
    def half_width(self) -> float:
        """How far the interval reaches from its median on its wider side, relative to the
        median (0.1 means ±10% at most): each side is tested, not their mean."""
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.median > 0):
            return math.nan
        return max(self.high / self.median - 1, 1 - self.low / self.median)

    def contains(self, value: float) -> bool:
        """Whether `value` lies within the interval."""
        return bool(self.low <= value <= self.high)

    def columns(self, name: str) -> dict[str, float]:
        """The interval as result columns: name, name_low, name_high, name_n."""
        return {name: self.median, f"{name}_low": self.low, f"{name}_high": self.high,
                f"{name}_n": self.n}  # fmt: skip


def finite(values: Sequence[float]) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    finite: np.ndarray = x[np.isfinite(x)]
    return finite


def median_interval(values: Sequence[float], seed: int = 0) -> Interval:
    """The median of `values` (positive ratios) with a 95% interval: the wider of two.

    - A seeded percentile bootstrap of the median (deterministic for the same values and seed).
      With few values it is too narrow: it can never reach past the smallest and largest
      value, and those hold the true median with probability 1 - 2^(1-n) only (87.5% for 4
      paired epochs, 94% for 5), whatever the data.
    - Student's t interval on the log values (n - 1 degrees of freedom), which accounts for a
      spread estimated from few values; for positive ratios the log scale keeps it symmetric
      in the sense of "x times faster" and the bounds positive.

    With many values the two agree or the bootstrap (robust to outliers) is the wider; with
    few, t is. With fewer than MIN_STEADY values the median is given but no interval (NaN):
    two numbers cannot say how sure a median is.
    """
    x = finite(values)
    if not len(x):
        return Interval(math.nan, math.nan, math.nan, 0)
    median = float(np.median(x))
    if len(x) < MIN_STEADY:
        return Interval(median, math.nan, math.nan, len(x))
    low, high = bootstrap_of_median(x, seed)
    if (x > 0).all():
        t_low, t_high = t_interval_of_logs(x, around=median)
        low, high = min(low, t_low), max(high, t_high)
    return Interval(median, min(low, median), max(high, median), len(x))


def process_interval(groups: Sequence[Sequence[float]], seed: int = 0) -> Interval:
    """The median of the groups' medians, with a 95% interval that takes each group (the paired
    ratios of one worker process) as a single unit: Student's t on the logs of the groups'
    medians, groups - 1 degrees of freedom, as pyperf treats its worker processes.

    Ratios measured in one process share that process's ratio, which differs from the next
    process's by more than its own pairs' spread suggests (docs/benchmarks.md): pooled
    as if independent they give intervals that hold other runs' medians a third of the time.
    One group: median_interval of its values. Two groups: t has one degree of freedom, and the
    interval is as wide as two values warrant. Groups without a finite positive median drop out.
    """
    values = [list(finite(g)) for g in groups]
    medians = np.array([np.median(v) for v in values if v])
    everything = [x for v in values for x in v]
    medians = medians[medians > 0]
    if len(medians) < 2:
        return median_interval(everything, seed)
    median = float(np.median(medians))  # the interval's unit is the process: so is the point
    low, high = t_interval_of_logs(medians, around=median)
    return Interval(median, min(low, median), max(high, median), len(medians), "processes")


def widened(interval: Interval, between_runs_sd: float) -> Interval:
    """`interval` with a spread between runs that the run itself cannot see added to each side
    (on the log scale, as root sum of squares: sqrt(side^2 + (Z * sd)^2)), around the same
    point. A side that is missing (NaN) stays missing; sd 0 gives the interval back."""
    if not between_runs_sd > 0 or not interval.median > 0:
        return interval
    extra = (Z * between_runs_sd) ** 2
    centre = math.log(interval.median)

    def side(bound: float) -> float:
        if not (math.isfinite(bound) and bound > 0):
            return math.nan
        return (abs(math.log(bound) - centre) ** 2 + extra) ** 0.5

    low, high = side(interval.low), side(interval.high)
    return Interval(interval.median, math.exp(centre - low) if low == low else math.nan,
                    math.exp(centre + high) if high == high else math.nan, interval.n,
                    interval.unit)  # fmt: skip


def wilson(successes: float, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion: an accuracy over `n` test images."""
    if n <= 0:
        return math.nan, math.nan
    z = Z
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(a: float, b: float, n: int) -> tuple[float, float]:
    """The 95% interval of the difference of two accuracies a - b over `n` test images each
    (Newcombe's hybrid score interval, unpaired: where both models saw the same images a paired
    test would be narrower, so this errs towards "not resolved")."""
    if n <= 0:
        return math.nan, math.nan
    (a_low, a_high), (b_low, b_high) = wilson(a * n, n), wilson(b * n, n)
    d = a - b
    return (d - math.sqrt((a - a_low) ** 2 + (b_high - b) ** 2),
            d + math.sqrt((a_high - a) ** 2 + (b - b_low) ** 2))  # fmt: skip


def paired_difference(b: int, c: int, n: int) -> tuple[float, float, float]:
    """The difference of two accuracies measured on the same `n` test images, second minus
    first, with its 95% interval: `b` images only the first classified correctly, `c` only the
    second (the discordant pairs of McNemar's test). The interval is Bonett and Price's
    adjusted Wald interval for paired proportions (one added to each discordant count), which
    keeps its coverage with few discordant images."""
    if n <= 0:
        return math.nan, math.nan, math.nan
    first, second = (b + 1) / (n + 2), (c + 1) / (n + 2)
    centre = second - first
    half = Z * math.sqrt(max(first + second - centre**2, 0.0) / (n + 2))
    return (c - b) / n, max(-1.0, centre - half), min(1.0, centre + half)


def mcnemar_p(b: int, c: int) -> float:
    """McNemar's exact two-sided p-value: how likely `b` against `c` discordant images (or a
    more lopsided split) would be if the two models were equally accurate."""
    if b + c == 0:
        return 1.0
    from scipy.special import bdtr  # the binomial CDF (scipy.stats takes a second to import)

    # under no difference each discordant image goes either way with 1/2: the distribution is
    # symmetric, so both tails together are twice the smaller one (all of it when b == c)
    return min(1.0, 2.0 * float(bdtr(min(b, c), b + c, 0.5)))


def within(interval: Interval, target: float) -> bool:
    """Whether each side of the interval is within ±`target` of its median (not their mean)."""
    if not (math.isfinite(interval.low) and math.isfinite(interval.high) and interval.low > 0):
        return False
    return max(interval.median / interval.low, interval.high / interval.median) - 1 <= target


def t_quantile(df: float) -> float:
    """Student's t quantile of a two-sided 95% interval with `df` degrees of freedom (at least 1)."""
    from scipy.special import stdtrit  # t's inverse CDF, without scipy.stats' slow import

    return float(stdtrit(max(df, 1), 1 - (1 - CONFIDENCE) / 2))


def t_two_sided_p(statistic: float, df: float) -> float:
    """Two-sided p-value of Student's t `statistic` with `df` degrees of freedom."""
    from scipy.special import stdtr  # t's CDF

    return float(2 * stdtr(df, -abs(statistic)))


def bootstrap_of_median(x: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """The seeded percentile-bootstrap 95% interval of the median of `x`, alone (median_interval
    widens it with Student's t)."""
    rng = np.random.default_rng(seed)
    samples = np.median(rng.choice(x, size=(BOOTSTRAP_SAMPLES, len(x)), replace=True), axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def t_interval_of_logs(x: np.ndarray, around: float | None = None) -> tuple[float, float]:
    """Student's t 95% interval of the mean of log(x), back on x's scale; `around` centres
    the same half-width on the value printed as the point (the median), so that the point a
    table shows is the centre of the interval beside it, not the geometric mean."""
    logs = np.log(x)
    half = t_quantile(len(x) - 1) * logs.std(ddof=1) / len(x) ** 0.5
    centre = math.log(around) if around is not None and around > 0 else logs.mean()
    return float(np.exp(centre - half)), float(np.exp(centre + half))


def tukey_outliers(values: Sequence[float]) -> int:
    """How many values lie beyond Tukey's fences (1.5 interquartile ranges outside the
    quartiles), as criterion and hyperfine count outliers; 0 for fewer than 4 values."""
    x = finite(values)
    if len(x) < 4:
        return 0
    q1, q3 = np.percentile(x, [25, 75])
    reach = 1.5 * (q3 - q1)
    return int(((x < q1 - reach) | (x > q3 + reach)).sum())


def paired_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> np.ndarray:
    """Element-wise ratios of two aligned series (epoch i of one model over epoch i of the
    other, measured next to each other), where both are finite and the denominator is not 0."""
    a, b = np.asarray(numerators, dtype=float), np.asarray(denominators, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b) & (b != 0)
    ratios: np.ndarray = a[ok] / b[ok]
    return ratios


def bimodal(values: Sequence[float], gap: float = 1.25) -> bool:
    """Whether the values fall into two clusters whose medians differ by `gap` or more.

    The best split of the sorted values into a low and a high group (each of at least two
    values) is the one with the least within-group spread; the series is bimodal when that
    split's groups are each tight (CV under 10%) and their medians `gap` apart.
    """
    x = np.sort(finite(values))
    if len(x) < 4:
        return False
    best: tuple[float, int] | None = None
    for cut in range(2, len(x) - 1):
        within = float(np.var(x[:cut]) * cut + np.var(x[cut:]) * (len(x) - cut))
        if best is None or within < best[0]:
            best = (within, cut)
    assert best is not None
    low, high = x[: best[1]], x[best[1] :]
    tight = all(np.std(g) / np.mean(g) < CV_LIMIT for g in (low, high))
    return bool(tight and np.median(high) >= gap * np.median(low))


# ---------------------------------------------------------------- warnings


def timing_warnings(model: str, first: float, steady: Sequence[float]) -> list[str]:
    """What makes one model's timing doubtful: noise, two speeds, a first epoch faster than the
    steady state (too few steady epochs: comparison.warnings says it once).

    There is no warning on the calibration probe's moves: on the recorded runs
    (benchmarks/probe_drift.py) they neither flagged the runs whose ratio moved nor stayed
    quiet on the others."""
    out = []
    spread = Spread.of(steady)
    if bimodal(steady):
        out.append(
            f"{model}: steady epoch times are bimodal ({spread.low:.2f}–{spread.high:.2f} s): "
            "the machine ran at two speeds; trust the paired ratio, not the absolute times"
        )
    elif math.isfinite(spread.cv) and spread.cv > CV_LIMIT:
        out.append(f"{model}: steady epoch times vary by {spread.cv:.0%} (CV over 10%)")
    # The first epoch also traces, so it should be the slowest: faster by more than the
    # epochs' own noise (FIRST_EPOCH_MARGIN) means the machine sped up or slowed down.
    if math.isfinite(first) and spread.n and first < (1 - FIRST_EPOCH_MARGIN) * spread.median:
        out.append(
            f"{model}: the first epoch ({first:.2f} s, with tracing) was "
            f"{1 - first / spread.median:.0%} faster than the steady state "
            f"({spread.median:.2f} s): the machine's speed changed during the run"
        )
    return out


def interval_warning(name: str, interval: Interval) -> list[str]:
    """A ratio interval wider than ±15%, or none at all."""
    if interval.n and not math.isfinite(interval.low):
        epochs = f"{interval.n} paired epoch{'s' if interval.n != 1 else ''}"
        return [f"{name}: {epochs}: ratio not resolved (use --epochs {MIN_STEADY + 1} or more)"]
    half = interval.half_width
    if math.isfinite(half) and half > INTERVAL_LIMIT:
        more = "processes (--processes)" if interval.unit == "processes" else "epochs"
        return [f"{name}: the 95% interval is ±{half:.0%} over {interval.n} {interval.unit}, "
                f"wider than ±15%: run more {more}"]  # fmt: skip
    return []


def load_warning(start: float, end: float, cores: int) -> list[str]:
    """Other work on the machine: the 1-minute load average above the cores in use, at the
    start (when dsbench itself is idle) or at the end. (A process that just ended keeps the
    average near 1 on 2 cores for a minute, so back-to-back runs alone do not trip it.)"""
    out = []
    if math.isfinite(start) and start > cores:
        out.append(f"load average {start:.2f} at the start, above the {cores} cores in use: "
                   "other programs were running")  # fmt: skip
    if math.isfinite(end) and end > cores + 1.0:
        out.append(f"load average {end:.2f} at the end, above the {cores} cores in use")
    return out
