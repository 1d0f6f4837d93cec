"""How much does bench's ratio move between runs at different times, beyond what a run's own
processes show? Runs `dsbench bench` (three processes, the default minute) N times, one after
another, with --between-runs-sd 0, keeps every process's ratio, and splits the spread of their
logs into a part within runs and a part between runs (one-way random effects, ANOVA
estimator): the between-runs sd is what bench's --between-runs-sd adds to every interval.

    python benchmarks/bench_between_runs.py --runs 8 --out benchmarks/data/bench-between-runs.json
    python benchmarks/bench_between_runs.py --summarize benchmarks/data/bench-between-runs.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def one_run(extra: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "b"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dsbench", "bench", "--between-runs-sd", "0",
                        "--no-progress", "--quiet", "--output-dir", str(out), *extra],
                       check=True, capture_output=True)  # fmt: skip
        wall = time.perf_counter() - started
        environment = json.loads((out / "environment.json").read_text())
        row = json.loads((out / "bench.json").read_text())["rows"][0]
    return {"created_utc": environment["created_utc"], "wall_s": wall, "pairs": row["pairs"],
            "ratio": row["ratio"], "process_ratios": [p["ratios"][0] for p in
                                                      environment["processes"]]}  # fmt: skip


def components(runs: list[list[float]]) -> dict[str, float]:
    """Within-run and between-run sd of the log ratios (balanced one-way ANOVA)."""
    logs = np.log(np.array(runs))
    k, n = logs.shape
    within = float(logs.var(axis=1, ddof=1).mean())
    between_means = float(logs.mean(axis=1).var(ddof=1))
    between = max(0.0, between_means - within / n)
    return {"runs": k, "processes_per_run": n, "within_sd": within**0.5,
            "run_means_sd": between_means**0.5, "between_runs_sd": between**0.5}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--summarize", type=Path, help="a file this script wrote")
    args, extra = parser.parse_known_args()
    if args.summarize:
        recorded = json.loads(args.summarize.read_text())["runs"]
    else:
        recorded = []
        for index in range(args.runs):
            recorded.append(one_run(extra))
            print(f"run {index + 1}: {recorded[-1]}", flush=True)
        if args.out:
            args.out.write_text(json.dumps({"command": ["dsbench", "bench", *extra],
                                            "runs": recorded}, indent=1))  # fmt: skip
    print(json.dumps(components([r["process_ratios"] for r in recorded]), indent=1))
    walls = [r["wall_s"] for r in recorded]
    print(
        f"wall: {min(walls):.1f}-{max(walls):.1f} s; ratios "
        + ", ".join(f"{r['ratio']:.3f}" for r in recorded)
    )


if __name__ == "__main__":
    main()
