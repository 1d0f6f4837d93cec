"""Wall time of one small sweep trained by one worker, by two shards at once (--shard 0/2 and
1/2 into one folder), and by --devices cpu:2 (two workers, each pinned to half the cores,
pulling points), in alternating rounds.

    python benchmarks/shards.py [--rounds 2] [--points 4] [--epochs 3]

Prints a Markdown table: per layout, the wall seconds of each round and their median, and the
median against one worker's. Each run is a fresh set of processes, so every wall time includes
starting the framework once per worker. On a 2-core machine two workers can at best halve the
time; they share memory bandwidth, so expect less.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TINY = ["--dataset", "synthetic", "--train-size", "1024", "--test-size", "256", "--batch-size",
        "64", "--blocks", "16x1,32x1", "--no-inference", "--quiet"]  # fmt: skip


def sweep(kernels: str, epochs: int, folder: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "dsbench", "sweep", "--kernel-size", kernels, *TINY,
            "--epochs", str(epochs), "--output-dir", str(folder), *extra]  # fmt: skip


def timed(commands: list[list[str]]) -> float:
    """Seconds until every command, started together, has ended (each must succeed)."""
    start = time.perf_counter()
    running = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for c in commands]  # fmt: skip
    for process in running:
        _, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"failed: {err.strip().splitlines()[-1:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--points", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    kernels = ",".join(str(3 + 2 * i) for i in range(args.points))
    layouts = {
        "1 worker": lambda d: [sweep(kernels, args.epochs, d)],
        "2 shards at once": lambda d: [sweep(kernels, args.epochs, d, "--shard", f"{i}/2")
                                       for i in range(2)],
        "--devices cpu:2": lambda d: [sweep(kernels, args.epochs, d, "--devices", "cpu:2")],
    }  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in layouts}
    with tempfile.TemporaryDirectory() as root:
        for round_ in range(args.rounds):
            for name, commands in layouts.items():
                folder = Path(root) / f"{round_}-{name.replace(' ', '_')}"
                times[name].append(timed(commands(folder)))
                print(f"round {round_ + 1}: {name} {times[name][-1]:.1f} s", file=sys.stderr)
    alone = statistics.median(times["1 worker"])
    print(
        f"| layout ({args.points} points, {args.epochs} epochs) | wall s per round | median | "
        "vs 1 worker |"
    )
    print("| --- | --- | --- | --- |")
    for name, measured in times.items():
        median = statistics.median(measured)
        print(
            f"| {name} | {', '.join(f'{t:.1f}' for t in measured)} | {median:.1f} | "
            f"{median / alone:.2f}x |"
        )


if __name__ == "__main__":
    main()
