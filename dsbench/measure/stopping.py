"""`bench`'s stopping rule: how many alternating pairs to time before the ratio is known to
±target, decided so that the interval keeps its 95% coverage although the data chose when to
stop (benchmarks/bench_coverage.py replays it on series whose answer is known)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from dsbench.measure.stats import (
    MIN_STEADY,
    Interval,
    Z,
    finite,
    median_interval,
    t_quantile,
    widened,
    within,
)

PILOT_PAIRS = 10  # bench's first stage: the spread of these pairs sets how many it takes
MAX_LAG1 = 0.9
BATCH = 5  # pairs per batch mean in two_stage_interval


def lag1(logs: np.ndarray) -> float:
    """The lag-1 autocorrelation of a series, corrected for its small-sample bias (Marriott and
    Pope: about -(1 + 4 rho) / n) and clipped to [0, MAX_LAG1]: how much each value repeats the
    one before (a machine state lasting several chunks). 0 with fewer than 4 values."""
    x = np.asarray(logs, dtype=float)
    if len(x) < 4 or not np.std(x):
        return 0.0
    centred = x - x.mean()
    rho = float(np.dot(centred[:-1], centred[1:]) / np.dot(centred, centred))
    rho += (1 + 4 * rho) / len(x) + 1 / len(x) ** 0.5  # bias, then one standard error up
    return min(max(rho, 0.0), MAX_LAG1)


def _inflation(rho: float) -> float:
    """Pairs per independent pair under AR(1) correlation rho: (1 + rho) / (1 - rho)."""
    return (1 + rho) / (1 - rho)


def pairs_needed(pilot: Sequence[float], target: float) -> int:
    """How many pairs make a 95% interval of the ratio within ±`target` on each side, from a
    pilot's spread (Stein's two-stage sample size: Student's t with the pilot's degrees of
    freedom), counted in effective pairs when neighbouring pairs are correlated; at least
    twice the pilot, so that the second stage can check the pilot's spread (two_stage_interval)."""
    x = finite(pilot)
    logs = np.log(x[x > 0])
    if len(logs) < MIN_STEADY:
        return 2 * max(len(logs), MIN_STEADY)
    spread = float(logs.std(ddof=1))
    needed = _inflation(lag1(logs)) * (t_quantile(len(logs) - 1) * spread / math.log1p(target)) ** 2
    return max(2 * len(logs), math.ceil(needed))


def two_stage_interval(values: Sequence[float], pilot: int) -> Interval:
    """The median of `values` with a 95% interval that keeps its coverage although the number
    of values was chosen from the first `pilot` of them (pairs_needed): Student's t on the mean
    log, its spread the larger of the pilot's and the second stage's (which the decision to
    stop did not see) with the smaller one's degrees of freedom, and the sample counted in
    effective values under lag-1 correlation. Its point is the geometric mean of the values
    (the interval's centre, so that both sides mean the same), not their median."""
    x = finite(values)
    x = x[x > 0]
    if len(x) < pilot + MIN_STEADY or pilot < MIN_STEADY:
        return median_interval(list(x))
    logs = np.log(x)
    first, second = logs[:pilot], logs[pilot:]
    spread = max(float(first.std(ddof=1)), float(second.std(ddof=1)))
    df = min(len(first), len(second)) - 1
    effective = len(logs) / _inflation(lag1(logs))
    half = t_quantile(df) * spread / effective**0.5
    # Batch means (BATCH consecutive values each) need no estimate of the correlation, only
    # that it fades within a batch; the wider of the two intervals is kept.
    batches = logs[: len(logs) // BATCH * BATCH].reshape(-1, BATCH).mean(axis=1)
    if len(batches) >= MIN_STEADY:
        spread_of_mean = float(batches.std(ddof=1)) / len(batches) ** 0.5
        half = max(half, t_quantile(len(batches) - 1) * spread_of_mean)
    centre = float(logs.mean())
    return Interval(math.exp(centre), math.exp(centre - half), math.exp(centre + half), len(x))


def sequential_ratio(
    next_ratio: Callable[[], float],
    target: float,
    stop: Callable[[int], bool],
    between_runs_sd: float = 0.0,
) -> tuple[list[float], Interval, bool]:
    """bench's stopping rule: a pilot of PILOT_PAIRS ratios; then as many as pairs_needed says,
    without looking at the interval meanwhile; then the interval (two_stage_interval, widened
    by `between_runs_sd`: the spread between runs that one run cannot see, stats.widened).
    Short of the target, plan again from everything so far, until it is met or `stop(pairs)`
    says the time is up. The pairs are planned for what that spread leaves of the target; when
    it leaves nothing, pairs are timed until `stop`. Returns the ratios, the interval and
    whether each side is within `target`. (benchmarks/bench_coverage.py replays this rule on
    series whose answer is known.)"""
    left = left_of(target, between_runs_sd)
    ratios: list[float] = []
    if left is None:
        ratios = timed_until(next_ratio, stop)
        interval = widened(two_stage_interval(ratios, PILOT_PAIRS), between_runs_sd)
        return ratios, interval, within(interval, target)
    needed = PILOT_PAIRS
    while True:
        while len(ratios) < needed and not stop(len(ratios)):
            ratios.append(next_ratio())
        if len(ratios) < PILOT_PAIRS:  # out of time in the pilot: the plain interval
            interval = widened(median_interval(ratios), between_runs_sd)
            return ratios, interval, within(interval, target)
        if needed == PILOT_PAIRS:
            needed = pairs_needed(ratios, left)
            continue
        interval = widened(two_stage_interval(ratios, PILOT_PAIRS), between_runs_sd)
        if within(interval, target) or stop(len(ratios)):
            return ratios, interval, within(interval, target)
        needed = max(len(ratios) + PILOT_PAIRS, pairs_needed(ratios, left))


def timed_until(next_ratio: Callable[[], float], stop: Callable[[int], bool]) -> list[float]:
    """Ratios until `stop(pairs)` says the time is up, whatever they show: how each of bench's
    worker processes times its pairs (the process is the unit; no process stops early on its
    own figures, so none is picked for looking precise)."""
    ratios: list[float] = []
    while not stop(len(ratios)):
        ratios.append(next_ratio())
    return ratios


def left_of(target: float, between_runs_sd: float) -> float | None:
    """What a ±`target` interval leaves for one run's own spread once the spread between runs
    (sd of the log) takes its share, as a relative half-width; None when it leaves nothing."""
    total = math.log1p(target) ** 2 - (Z * between_runs_sd) ** 2
    return math.expm1(total**0.5) if total > 0 else None
