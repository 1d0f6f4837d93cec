"""How many processes per figure would the goals need? An offline answer from stability runs.

Each run of `stability.py` is one fresh process training both models (5 epochs, whole-epoch
pairs, dsbench's schedule). This pools K runs of the same set and variant into one "figure"
(the median of all their paired ratios), draws four such figures at a time, and reports, over
many random draws: the between-figure SD of the log medians; how often the four medians spread
≤ 1.15 (max/min); and how often every figure's interval holds ≥ 3 of the 4 medians, for two
intervals: dsbench's on all pooled pairs as if independent (what `--repeats` does, in one
process), and Student's t on the K processes' log medians (K - 1 degrees of freedom), which
treats the process as the unit, as pyperf does.

    python benchmarks/pooling.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HERE = Path(__file__).resolve().parent / "data"
# (raw file, variants with whole-epoch pairs under dsbench's interleaved schedule)
SETS = (("stability-runs.json", ("interleaved",)),
        ("stability-order-runs.json", ("interleaved", "separable-first")),
        ("stability-window-runs.json", ("interleaved", "separable-first")),
        ("stability-segment-runs.json", ("whole-epochs",)))  # fmt: skip


def load() -> list[list[list[float]]]:
    """Per set and variant: its runs, each a list of paired whole-epoch ratios."""
    out = []
    for name, variants in SETS:
        runs = json.loads((HERE / name).read_text())["runs"]
        for variant in variants:
            out.append([[p[0] if isinstance(p, list) else p for p in r["paired"]]
                        for r in runs if r["variant"] == variant])  # fmt: skip
    return out


def pooled(runs: list[list[float]]) -> list[float]:
    """All the paired ratios of these runs, in one list."""
    return [ratio for run in runs for ratio in run]


def process_t(runs: list[list[float]]) -> tuple[float, float]:
    """Student's t 95% interval over the runs' medians, on their logs (dsbench's t interval,
    with the runs as the values)."""
    from dsbench.measure import stats

    return stats.t_interval_of_logs(np.array([np.median(r) for r in runs]))


def main() -> None:
    from dsbench.measure import stats

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=400)
    args = parser.parse_args()
    sets = load()
    rng = np.random.default_rng(0)
    print(f"{sum(len(s) for s in sets)} runs in {len(sets)} sets\n")
    print("| processes per figure | SD of log medians | P(4 medians spread ≤ 1.15) | "
          "P(all 4 intervals hold ≥ 3 medians): pairs pooled | same: process t | "
          "process t half-width (median) |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for k in (1, 2, 3):
        sds, spread_ok, pooled_ok, process_ok, widths = [], [], [], [], []
        for _ in range(args.draws):
            figures = []
            for runs in sets:
                order = rng.permutation(len(runs))
                figures += [[runs[i] for i in order[g * k : (g + 1) * k]]
                            for g in range(len(runs) // k)]  # fmt: skip
            medians = np.array([np.median(pooled(f)) for f in figures])
            sds.append(float(np.std(np.log(medians), ddof=1)))
            pick = rng.choice(len(figures), 4, replace=False)
            four = medians[pick]
            spread_ok.append(four.max() / four.min() <= 1.15)
            intervals = [stats.median_interval(pooled(figures[i])) for i in pick]
            pooled_ok.append(all(sum(iv.contains(m) for m in four) >= 3 for iv in intervals))
            if k >= 2:
                bounds = [process_t(figures[i]) for i in pick]
                process_ok.append(all(sum(lo <= m <= hi for m in four) >= 3 for lo, hi in bounds))
                widths += [(hi - lo) / 2 / m for (lo, hi), m in zip(bounds, four, strict=True)]
        process = f"{np.mean(process_ok):.2f}" if process_ok else "–"
        width = f"±{np.median(widths):.0%}" if widths else "–"
        print(f"| {k} | {np.mean(sds):.3f} | {np.mean(spread_ok):.2f} | {np.mean(pooled_ok):.2f} "
              f"| {process} | {width} |")  # fmt: skip


if __name__ == "__main__":
    main()
