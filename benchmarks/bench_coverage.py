"""Does `bench`'s interval hold the true ratio as often as it says (95%), although bench
decides when to stop from the data? Replays the stopping rule on synthetic ratio series whose
true median is known, and on the alternating sequences recorded by bandwidth.py.

The rule (dsbench.measure.stopping.sequential_ratio, which speed.bench_cell runs): a pilot of
PILOT_PAIRS pairs; from its spread and lag-1 correlation, pairs_needed() pairs in all (Stein's
two-stage sample size); then two_stage_interval() over every pair; short of the target, plan
again from everything so far. For comparison, the rule bench used before: stop at
the first n >= 6 whose interval's mean half-width is within the target.

    python benchmarks/bench_coverage.py --runs 2000
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dsbench.measure import stats, stopping

TRUE = 0.28  # the true separable/normal ratio of the synthetic series
MAX_PAIRS = 400  # what a bench budget allows at ~0.5 s a pair (200 s); beyond: target missed
DATA = Path(__file__).resolve().parent / "data"
OLD_RULE = False
BETWEEN_RUNS_SD = 0.0  # --between-runs-sd: the widening bench adds (0: the rule alone)


def iid(sd: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    """Independent lognormal ratios."""
    return lambda rng, n: TRUE * np.exp(rng.normal(0, sd, n))


def autocorrelated(phi: float, sd: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    """AR(1) log ratios with marginal spread `sd`: a machine state that lasts a few pairs."""

    def series(rng: np.random.Generator, n: int) -> np.ndarray:
        innovations = rng.normal(0, sd * (1 - phi**2) ** 0.5, n)
        logs = np.empty(n)
        logs[0] = rng.normal(0, sd)
        for i in range(1, n):
            logs[i] = phi * logs[i - 1] + innovations[i]
        return TRUE * np.exp(logs)

    return series


def two_speeds(
    slow: float, factor: float, sd: float
) -> Callable[[np.random.Generator, int], np.ndarray]:
    """Each model's chunk runs in the slow mode (`factor` times longer) with probability `slow`,
    independently: the machine's two speeds as history.csv shows them, chunk by chunk."""

    def series(rng: np.random.Generator, n: int) -> np.ndarray:
        separable = np.where(rng.random(n) < slow, factor, 1.0)
        normal = np.where(rng.random(n) < slow, factor, 1.0)
        return TRUE * separable / normal * np.exp(rng.normal(0, sd, n))

    return series


def episodes(
    stay: float, shift: float, sd: float
) -> Callable[[np.random.Generator, int], np.ndarray]:
    """A machine in one of two states for runs of pairs (a Markov chain that stays with
    probability `stay`); in the slow one the separable model is `shift` (log) slower relative
    to the normal one. The true ratio is the stationary median, found by simulation."""

    def series(rng: np.random.Generator, n: int) -> np.ndarray:
        slow = np.empty(n, dtype=bool)
        slow[0] = rng.random() < 0.5
        flips = rng.random(n) > stay
        for i in range(1, n):
            slow[i] = slow[i - 1] ^ flips[i]
        return TRUE * np.exp(rng.normal(0, sd, n) + shift * slow)

    return series


def apply_rule(ratios: np.ndarray, target: float) -> tuple[stats.Interval, int, bool]:
    """dsbench's rule (stopping.sequential_ratio) on a series: (interval, pairs used, reached)."""
    values = iter(ratios)
    used, interval, reached = stopping.sequential_ratio(
        lambda: float(next(values)),
        target,
        lambda n: n >= min(MAX_PAIRS, len(ratios)),
        BETWEEN_RUNS_SD,
    )
    return interval, len(used), reached


def apply_old_rule(ratios: np.ndarray, target: float) -> tuple[stats.Interval, int, bool]:
    """The rule before: the first n >= 6 whose mean half-width is within the target."""
    for n in range(3, min(len(ratios), MAX_PAIRS) + 1):
        interval = stats.median_interval(ratios[:n])
        if n >= 6 and interval.half_width <= target:
            return interval, n, True
    return interval, n, False


def simulate(name: str, make: Callable[[np.random.Generator, int], np.ndarray], truth: float,
             runs: int, target: float, seed: int) -> dict[str, object]:  # fmt: skip
    rng = np.random.default_rng(seed)
    out: dict[str, object] = {"series": name}
    rules = (("rule", apply_rule), ("old rule", apply_old_rule))
    for label, rule in rules[: 2 if OLD_RULE else 1]:
        held, sizes, reached = [], [], []
        for _ in range(runs):
            interval, n, ok = rule(make(rng, MAX_PAIRS), target)
            held.append(interval.low <= truth <= interval.high)
            sizes.append(n)
            reached.append(ok)
        order = np.argsort(sizes, kind="stable")
        earliest = order[: max(1, runs // 10)]
        out[label] = {
            "coverage": float(np.mean(held)),
            "coverage_earliest_tenth": float(np.mean(np.array(held)[earliest])),
            "median_pairs": float(np.median(sizes)),
            "reached": float(np.mean(reached)),
        }
    return out


def recorded(target: float) -> list[dict[str, object]]:
    """The rule on each recorded process: does its interval hold that process's full median?"""
    rows = []
    for name in ("bandwidth-runs.json", "bandwidth-pipeline-runs.json"):
        processes = json.loads((DATA / name).read_text())["processes"]
        for index, samples in enumerate(processes):
            ratios = np.array([s["separable_ms"] / s["normal_ms"] for s in samples])
            full = float(np.median(ratios))
            interval, needed, _ = apply_rule(ratios, target)
            rows.append({"file": name, "process": index + 1, "samples": len(ratios),
                         "pairs": needed, "interval": [interval.low, interval.high],
                         "full_median": full, "holds": interval.low <= full <= interval.high,
                         "lag1": stopping.lag1(np.log(ratios))})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--target", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--old-rule", action="store_true", help="also the rule bench used before (slow)"
    )
    parser.add_argument("--between-runs-sd", type=float, default=0.0)
    args = parser.parse_args()
    global OLD_RULE, BETWEEN_RUNS_SD
    OLD_RULE = args.old_rule
    BETWEEN_RUNS_SD = args.between_runs_sd
    shifted = episodes(0.9, 0.15, 0.08)
    truth = float(np.median(shifted(np.random.default_rng(99), 2_000_000)))
    kinds = [("iid, sd 0.10", iid(0.10), TRUE), ("iid, sd 0.15", iid(0.15), TRUE),
             ("two speeds (1.6x, 30% of chunks), sd 0.05", two_speeds(0.3, 1.6, 0.05), TRUE),
             ("AR(1) phi 0.4, sd 0.12", autocorrelated(0.4, 0.12), TRUE),
             ("slow episodes of ~10 pairs (+15%)", shifted, truth)]  # fmt: skip
    print(f"target ±{args.target:.0%}, {args.runs} runs per series, at most {MAX_PAIRS} pairs\n")
    print("| series | rule | coverage | coverage, earliest tenth | median pairs | target reached |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for index, (name, make, true) in enumerate(kinds):
        result = simulate(name, make, true, args.runs, args.target, args.seed + index)
        for label in ("rule", "old rule")[: 2 if OLD_RULE else 1]:
            r = result[label]
            assert isinstance(r, dict)
            print(f"| {name} | {label} | {r['coverage']:.3f} | {r['coverage_earliest_tenth']:.3f} "
                  f"| {r['median_pairs']:.0f} | {r['reached']:.2f} |")  # fmt: skip
    print("\nRecorded sequences (bandwidth.py), each process alone:\n")
    print("| file | process | samples | pairs used | interval | full median | holds | lag-1 |")
    print("| --- | ---: | ---: | ---: | --- | ---: | --- | ---: |")
    for row in recorded(args.target):
        low, high = row["interval"]  # type: ignore[misc]
        print(f"| {row['file']} | {row['process']} | {row['samples']} | {row['pairs']} | "
              f"[{low:.3f}, {high:.3f}] | {row['full_median']:.3f} | {row['holds']} | "
              f"{row['lag1']:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
