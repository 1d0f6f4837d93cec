"""Does `bench`'s interval keep its 95% coverage when the machine changes state? Simulates
bench's default rule with its own functions: P fresh processes, one after another, each timing
K pairs after a start-up gap of G pairs (the machine's state moves on while a process starts)
and giving the median of its pairs (what stopping.timed_until and stats.median_interval give a
worker); Student's t over the processes' medians (stats.process_interval), widened by the
spread between runs at different times (stats.widened, sd --between-runs-sd).

The series are bench_coverage.py's: iid noise, AR(1) log ratios, and a machine in one of two
states for runs of L pairs on average (the separable model `shift` slower in the slow one).
The truth is the series' stationary median.

    python benchmarks/bench_process_coverage.py --runs 1000
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_coverage import DATA, TRUE, autocorrelated, episodes, iid

from dsbench.measure import stats
from dsbench.spec.settings import BENCH_BETWEEN_RUNS_SD


def default_rule(series: np.ndarray, processes: int, pairs: int, gap: int,
                 between_runs_sd: float) -> stats.Interval:  # fmt: skip
    """bench's rule over `processes` processes of `pairs` pairs each, `gap` pairs apart."""
    medians = []
    for index in range(processes):
        block = series[gap + index * (gap + pairs) : (index + 1) * (gap + pairs)]
        medians.append([stats.median_interval(list(block)).median])
    return stats.widened(stats.process_interval(medians), between_runs_sd)


def coverage(make: Callable[[np.random.Generator, int], np.ndarray], truth: float, runs: int,
             layout: tuple[int, int, int], between_runs_sd: float,
             seed: int) -> tuple[float, float]:  # fmt: skip
    """Coverage and median half-width (wider side) over `runs` simulated runs."""
    processes, pairs, gap = layout
    rng = np.random.default_rng(seed)
    held, widths = [], []
    for _ in range(runs):
        interval = default_rule(make(rng, processes * (gap + pairs)), processes, pairs, gap,
                                between_runs_sd)  # fmt: skip
        held.append(interval.contains(truth))
        widths.append(interval.half_width)
    return float(np.mean(held)), float(np.median(widths))


def recorded(between_runs_sd: float) -> list[tuple[str, int, int]]:
    """The rule on the alternating sequences bandwidth.py recorded (6 processes per file): every
    3 of a file's processes, each its first 7 pairs, as a default bench would time them; does
    the interval hold the median of all that file's pairs? (file, triples, held)"""
    import itertools
    import json

    out = []
    for name in ("bandwidth-runs.json", "bandwidth-pipeline-runs.json"):
        processes = json.loads((DATA / name).read_text())["processes"]
        ratios = [[s["separable_ms"] / s["normal_ms"] for s in samples] for samples in processes]
        truth = float(np.median([r for mine in ratios for r in mine]))
        held = total = 0
        for triple in itertools.combinations(ratios, 3):
            medians = [[stats.median_interval(mine[:7]).median] for mine in triple]
            interval = stats.widened(stats.process_interval(medians), between_runs_sd)
            held += interval.contains(truth)
            total += 1
        out.append((name, total, held))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--between-runs-sd", type=float, default=BENCH_BETWEEN_RUNS_SD)
    args = parser.parse_args()
    series: list[tuple[str, Callable[[np.random.Generator, int], np.ndarray], float]] = [
        ("iid, sd 0.10", iid(0.10), TRUE),
        ("AR(1) phi 0.7, sd 0.12", autocorrelated(0.7, 0.12), TRUE),
        ("AR(1) phi 0.9, sd 0.12", autocorrelated(0.9, 0.12), TRUE),
    ]
    for shift in (0.15, 0.08):
        for length in (5, 10, 20, 33):
            make = episodes(1 - 1 / length, shift, 0.08)
            truth = float(np.median(make(np.random.default_rng(99), 400_000)))
            series.append((f"states of ~{length} pairs (+{shift:.0%})", make, truth))
    # processes, pairs each, start-up gap: a default run here (about 7 pairs a process, 9
    # pairs' time to start one), one with twice the time, and five processes
    layouts = ((3, 7, 9), (3, 15, 9), (5, 7, 9))
    print(f"between-runs sd {args.between_runs_sd:g}, {args.runs} runs per cell: coverage "
          "(median half-width)\n")  # fmt: skip
    print("| series | " + " | ".join(f"{p} processes x {k} pairs, gap {g}" for p, k, g in layouts)
          + " |")  # fmt: skip
    print("| --- |" + " ---: |" * len(layouts))
    for index, (name, make, truth) in enumerate(series):
        cells = [coverage(make, truth, args.runs, layout, args.between_runs_sd, index)
                 for layout in layouts]  # fmt: skip
        print(f"| {name} | " + " | ".join(f"{c:.3f} (±{w:.0%})" for c, w in cells) + " |")
    print("\nRecorded sequences: every 3 of a file's 6 processes, 7 pairs each\n")
    for name, total, held in recorded(args.between_runs_sd):
        print(f"- {name}: {held} of {total} intervals hold the median of all its pairs")


if __name__ == "__main__":
    main()
