"""Would `bench` with the process as the unit keep its 95% coverage when the machine changes
state? Simulates P fresh processes, one after another, each running bench's own stopping rule
(dsbench.stopping.sequential_ratio) on at most K pairs after a start-up gap of G pairs (the
machine's state moves on while a process starts), the interval being Student's t over the
processes' medians (dsbench.stats.process_interval, as `bench --processes P` computes it).

The series are bench_coverage.py's: iid noise, AR(1) log ratios, and a machine in one of two
states for runs of L pairs on average (the separable model 15% slower in the slow one).

    python benchmarks/bench_process_coverage.py --runs 600
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_coverage import TRUE, autocorrelated, episodes, iid

from dsbench import stats, stopping


def processes_rule(series: np.ndarray, processes: int, pairs: int, gap: int,
                   target: float) -> stats.Interval:  # fmt: skip
    """Each process's pairs under bench's stopping rule, then t over the processes' medians."""
    groups = []
    for index in range(processes):
        block = iter(series[gap + index * (gap + pairs) : (index + 1) * (gap + pairs)])
        used, _, _ = stopping.sequential_ratio(lambda block=block: float(next(block)), target,
                                               lambda n: n >= pairs)  # fmt: skip
        groups.append(list(used))
    return stats.process_interval(groups)


def coverage(make: Callable[[np.random.Generator, int], np.ndarray], truth: float, runs: int,
             processes: int, pairs: int, gap: int, target: float, seed: int) -> float:  # fmt: skip
    rng = np.random.default_rng(seed)
    held = []
    for _ in range(runs):
        interval = processes_rule(make(rng, processes * (gap + pairs)), processes, pairs, gap,
                                  target)  # fmt: skip
        held.append(interval.low <= truth <= interval.high)
    return float(np.mean(held))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--target", type=float, default=0.05)
    args = parser.parse_args()
    series: list[tuple[str, Callable[[np.random.Generator, int], np.ndarray], float]] = [
        ("iid, sd 0.10", iid(0.10), TRUE),
        ("AR(1) phi 0.7, sd 0.12", autocorrelated(0.7, 0.12), TRUE),
        ("AR(1) phi 0.9, sd 0.12", autocorrelated(0.9, 0.12), TRUE),
    ]
    for length in (5, 10, 20, 33):
        make = episodes(1 - 1 / length, 0.15, 0.08)
        truth = float(np.median(make(np.random.default_rng(99), 400_000)))
        series.append((f"states of ~{length} pairs (+15%)", make, truth))
    layouts = ((3, 15, 8), (3, 10, 6), (5, 10, 6))  # processes, pairs each, start-up gap
    print("| series | " + " | ".join(f"{p} processes x {k} pairs, gap {g}" for p, k, g in layouts)
          + " |")  # fmt: skip
    print("| --- |" + " ---: |" * len(layouts))
    for index, (name, make, truth) in enumerate(series):
        cells = [coverage(make, truth, args.runs, p, k, g, args.target, index)
                 for p, k, g in layouts]  # fmt: skip
        print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
