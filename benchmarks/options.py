"""Measure dsbench's speed options before they become defaults: XLA, precision, steps/execution.

Each variant is `dsbench train --model M` with extra flags, in a fresh process; variants are
interleaved (V1 V2 V3 V1 V2 V3 ...) and the median steady-state epoch time over rounds is
reported as a ratio to the first variant (the current default).

    python benchmarks/options.py --train-size 2000 --test-size 500 --epochs 3 --rounds 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import run_dsbench

VARIANTS = {
    "default": [],
    "--jit": ["--jit"],
    "--steps-per-execution 8": ["--steps-per-execution", "8"],
    "--precision mixed_bfloat16": ["--precision", "mixed_bfloat16"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="both", choices=["normal", "separable", "both"])
    parser.add_argument("--dataset", default="synthetic", choices=["cifar10", "synthetic"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--train-size", type=int, default=2000)
    parser.add_argument("--test-size", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated names from: " + ", ".join(VARIANTS),
    )
    parser.add_argument(
        "--extra", default="", help="flags added to every variant, e.g. '--precision mixed_float16'"
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.variants.split(",")]
    models = ["normal", "separable"] if args.model == "both" else [args.model]
    times: dict[tuple[str, str], list[float]] = {(m, n): [] for m in models for n in names}
    for round_ in range(args.rounds):
        for model in models:
            for name in names:
                run = run_dsbench(args, model, VARIANTS[name] + args.extra.split())
                times[(model, name)].append(run["steady_epoch_s"])
                print(
                    f"round {round_ + 1} {model} {name}: {run['steady_epoch_s']:.2f} s/epoch",
                    file=sys.stderr,
                    flush=True,
                )
    print(
        f"\n{args.train_size} train / {args.test_size} test images ({args.dataset}), "
        f"{args.epochs} epochs, batch {args.batch_size}, {args.rounds} interleaved rounds; "
        "median steady-state s/epoch (train + validation)\n"
    )
    print("| model | variant | s/epoch | time vs default |")
    print("|---|---|---:|---:|")
    for model in models:
        default = statistics.median(times[(model, names[0])])
        for name in names:
            value = statistics.median(times[(model, name)])
            print(f"| {model} | {name} | {value:.2f} | {value / default:.3f} |")


if __name__ == "__main__":
    main()
