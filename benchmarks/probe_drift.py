"""Does the calibration probe say when the separable/normal ratio moves? Replays the recorded
`compare --processes 3` runs (data/processes-runs.json, data/processes-set2-runs.json).

Each process has 5 epochs per model, interleaved, and a probe rate measured before every epoch
(normal's epochs 1-5, then separable's). For each process: the ratio of its steady pairs
(epochs 2-5), the probe's median, its max/min (the old drift figure, flagged above 1.15) and
its median absolute deviation in log terms. Then two rank correlations: between processes
(probe median vs the process's ratio), and within processes (the probe's separable/normal
ratio at each pair vs that pair's ratio, both relative to their process median).

    python benchmarks/probe_drift.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

DATA = Path(__file__).resolve().parent / "data"
SETS = ("processes-runs.json", "processes-set2-runs.json")


def main() -> None:
    medians, probes, within_probe, within_ratio = [], [], [], []
    flagged_old = flagged_mad = total = 0
    for name in SETS:
        for run in json.loads((DATA / name).read_text())["runs"]:
            for process in run["processes"]:
                rate, pairs = np.array(process["probe_gflop_per_s"]), np.array(process["pairs"])
                logs = np.log(rate)
                mad = float(np.median(np.abs(logs - np.median(logs))))
                total += 1
                flagged_old += rate.max() / rate.min() - 1 > 0.15
                flagged_mad += mad > 0.10
                medians.append(process["median"])
                probes.append(float(np.median(rate)))
                print(f"{name:28} {run['folder'][-4:]} process {process['process'] + 1}: ratio "
                      f"{process['median']:.3f}, probe median {np.median(rate):.0f} GFLOP/s, "
                      f"max/min {rate.max() / rate.min():.2f}, MAD {mad:.1%}")  # fmt: skip
                if len(rate) == 10 and len(pairs) == 4:
                    moved = np.log(rate[6:10] / rate[1:5])
                    within_probe += list(moved - np.median(moved))
                    within_ratio += list(np.log(pairs) - np.median(np.log(pairs)))
    between = spearmanr(medians, probes)
    within = spearmanr(within_probe, within_ratio)
    print(f"processes: {total}; old drift warning (max/min > 1.15) on {flagged_old}; "
          f"MAD > 10% on {flagged_mad}")  # fmt: skip
    print(f"between processes: Spearman {between.statistic:.2f} (p {between.pvalue:.2f}, "
          f"{len(medians)} processes)")  # fmt: skip
    print(f"within processes: Spearman {within.statistic:.2f} (p {within.pvalue:.3f}, "
          f"{len(within_probe)} pairs)")  # fmt: skip


if __name__ == "__main__":
    main()
