"""How repeatable is a `--processes` figure? Reads `dsbench compare` results folders.

Each folder is one `dsbench compare ... --processes K` run. For each run: the ms/step ratio
(median of every paired epoch, 95% interval with the process as the unit), each process's own
median and the interval that process alone would have printed (as a run with --processes 1).
Then the goals: the medians' max/min, and how many of the runs' medians each interval holds;
and the same for the single processes, taken as separate runs, for comparison.

    for i in 1 2 3 4; do dsbench compare --dataset synthetic --train-size 5000 --test-size 1000 \\
        --epochs 5 --processes 3 --output-dir runs/p$i --no-progress; done
    python benchmarks/processes.py runs/p1 runs/p2 runs/p3 runs/p4 --out processes-runs.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def read(folder: Path) -> dict[str, Any]:
    """One run: its headline interval, and per process its pairs and ms/step per model."""
    from dsbench.measure import stats
    from dsbench.measure.comparison import paired_ratios_by_process
    from dsbench.measure.records import run_metrics
    from dsbench.store import files as store

    results = store.load_results(folder)
    document = json.loads((folder / "summary.json").read_text())
    processes = []
    for process, pairs in enumerate(paired_ratios_by_process(results, "train_s")):
        mine = {r.model: run_metrics(r)["ms_per_step"] for r in results if r.process == process}
        own = stats.median_interval(pairs)
        probe = [e.get("probe_gflop_per_s") for r in results if r.process == process
                 for e in r.epochs]  # fmt: skip
        processes.append({"process": process, "pairs": pairs, "median": own.median,
                          "low": own.low, "high": own.high, "ms_per_step": mine,
                          "probe_gflop_per_s": [p for p in probe if p is not None]})  # fmt: skip
    return {"folder": str(folder), "ratio": document["ratios"]["ms_per_step_ratio"],
            "warnings": document["warnings"], "processes": processes}  # fmt: skip


def holding(intervals: list[tuple[float, float]], medians: list[float]) -> list[int]:
    """For each interval, how many of the medians it holds."""
    return [sum(low <= m <= high for m in medians) for low, high in intervals]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, help="write the raw runs here (JSON)")
    parser.add_argument("--from", dest="source", type=Path, help="read raw runs written by --out")
    args = parser.parse_args()
    runs = (json.loads(args.source.read_text())["runs"] if args.source
            else [read(folder) for folder in args.folders])  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps({"runs": runs}, indent=1))
    print("| run | ms/step ratio [95%, process unit] | ± | process medians [own 95% interval] "
          "| normal ms/step per process | separable ms/step per process |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for number, run in enumerate(runs, start=1):
        r = run["ratio"]
        own = ", ".join(f"{p['median']:.3f} [{p['low']:.3f}, {p['high']:.3f}]"
                        for p in run["processes"])  # fmt: skip
        per = {k: " ".join(f"{p['ms_per_step'][k]:.0f}" for p in run["processes"])
               for k in ("normal", "separable")}  # fmt: skip
        half = (r["high"] - r["low"]) / 2 / r["median"]
        print(f"| {number} | {r['median']:.3f} [{r['low']:.3f}, {r['high']:.3f}] | ±{half:.0%} "
              f"| {own} | {per['normal']} | {per['separable']} |")  # fmt: skip
    medians = [run["ratio"]["median"] for run in runs]
    held = holding([(run["ratio"]["low"], run["ratio"]["high"]) for run in runs], medians)
    print(f"\n{len(runs)} runs with the process as the unit: medians "
          f"{' '.join(f'{m:.3f}' for m in medians)}, max/min {max(medians) / min(medians):.3f}; "
          f"each interval holds {held} of the {len(runs)} medians")  # fmt: skip
    singles = [p for run in runs for p in run["processes"]]
    own = [p["median"] for p in singles]
    held_single = sum(p["low"] <= m <= p["high"] for i, p in enumerate(singles)
                      for j, m in enumerate(own) if i != j)  # fmt: skip
    sd = float(np.std(np.log(own), ddof=1))
    print(f"{len(singles)} single processes as runs of their own (--processes 1): medians "
          f"{min(own):.3f}–{max(own):.3f}, max/min {max(own) / min(own):.3f}, SD of log "
          f"medians {sd:.3f}; their own intervals hold {held_single} of "
          f"the {len(singles) * (len(singles) - 1)} other processes' medians")  # fmt: skip


if __name__ == "__main__":
    main()
