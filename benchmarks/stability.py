"""How stable is the headline ratio? The same comparison K times per schedule.

Each run is a fresh process training both models (`dsbench.compare` through the API); runs of
the variants alternate (A B C A B C ...). For each run it prints the separable/normal ms/step
ratio (median of paired per-epoch ratios) with its 95% interval; per variant, the spread of
the medians (max/min) and how many of the other runs' medians each run's interval contains.
Variant "separable-first" is the interleaved schedule with the separable model first in
every pair, to measure order bias.

    python benchmarks/stability.py --train-size 5000 --test-size 1000 --epochs 5 --runs 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

VARIANTS = ("interleaved", "sequential", "separable-first")


def worker(args: argparse.Namespace) -> None:
    """One comparison in this process; print its summary.json ratios as one JSON line."""
    from dsbench import api
    from dsbench.config import run_spec

    schedule = "interleaved" if args.variant == "separable-first" else args.variant
    kinds = (
        ("separable", "normal") if args.variant == "separable-first" else ("normal", "separable")
    )
    spec = run_spec({"dataset": args.dataset, "data_dir": args.data_dir,
                     "train_size": args.train_size, "test_size": args.test_size,
                     "epochs": args.epochs, "schedule": schedule, "inference": False})  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        result = api._train("compare", kinds, spec, Path(folder) / "run", False, None, False)
        document = result.document
    print(json.dumps({"ratios": document["ratios"], "warnings": document["warnings"]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--train-size", type=int, default=5000)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--variants", default="interleaved,sequential")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="interleaved", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    variants = args.variants.split(",")
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    print(f"# {args.dataset}, {args.train_size} / {args.test_size} images, {args.epochs} epochs, "
          f"{args.runs} runs per variant, fresh process per run, variants alternating")  # fmt: skip
    print("| variant | run | ms/step ratio | 95% interval | warnings |")
    print("| --- | --- | --- | --- | --- |")
    for run in range(args.runs):
        for variant in variants if run % 2 == 0 else variants[::-1]:
            command = [sys.executable, __file__, "--worker", "--variant", variant,
                       "--dataset", args.dataset, "--train-size", str(args.train_size),
                       "--test-size", str(args.test_size), "--epochs", str(args.epochs)]  # fmt: skip
            if args.data_dir:
                command += ["--data-dir", args.data_dir]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            document = json.loads(out.strip().splitlines()[-1])
            ratio = document["ratios"]["ms_per_step_ratio"]
            results[variant].append(ratio)
            print(f"| {variant} | {run + 1} | {ratio['median']:.3f} | "
                  f"[{ratio['low']:.3f}, {ratio['high']:.3f}] | {len(document['warnings'])} |",
                  flush=True)  # fmt: skip
    print()
    print("| variant | medians | max/min | intervals holding >= 3 of the medians |")
    print("| --- | --- | --- | --- |")
    for variant, ratios in results.items():
        medians = [r["median"] for r in ratios]
        holding = sum(sum(r["low"] <= m <= r["high"] for m in medians) >= 3 for r in ratios)
        print(f"| {variant} | {' '.join(f'{m:.3f}' for m in medians)} | "
              f"{max(medians) / min(medians):.3f} | {holding} of {len(ratios)} |")  # fmt: skip
    if len(results) > 1:
        overall = {v: statistics.median(r["median"] for r in rs) for v, rs in results.items()}
        print("\nmedian of medians: " + ", ".join(f"{v} {m:.3f}" for v, m in overall.items()))


if __name__ == "__main__":
    main()
