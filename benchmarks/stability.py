"""How stable is the headline ratio? The same comparison K times per schedule.

Each run is a fresh process training both models (`dsbench.compare` through the API); runs of
the variants alternate (A B C A B C ...). For each run it prints the separable/normal ms/step
ratio (median of paired per-epoch ratios with its 95% interval: `--pairing epoch`, dsbench's,
on whole epochs; `--pairing window` on the windows where the two epochs meet, from raw marks);
per variant, the spread of the medians (max/min) and how many of the other runs' medians each
run's interval contains.
Variant "separable-first" is the interleaved schedule with the separable model first in
every pair, to measure order bias.

    python benchmarks/stability.py --train-size 5000 --test-size 1000 --epochs 5 --runs 4
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dsbench import Observer

VARIANTS = ("interleaved", "sequential", "separable-first")


class StepMarks(Observer):
    """Notes when each training step of each epoch ended (a per-step callback here, in the
    benchmark only: dsbench's own runs have none unless progress bars are drawn)."""

    wants_batches = True

    def __init__(self) -> None:
        self.marks: dict[tuple[str, int], list[tuple[int, float]]] = {}
        self.epoch: dict[str, int] = {}

    def epoch_start(self, kind: str, epoch: int) -> None:
        self.epoch[kind] = epoch
        self.marks[(kind, epoch)] = []

    def batch_end(self, kind: str, step: int, logs: dict[str, Any]) -> None:
        self.marks[(kind, self.epoch[kind])].append((step, time.perf_counter()))


def worker(args: argparse.Namespace) -> None:
    """One comparison in this process; print its summary.json ratios as one JSON line."""
    from dsbench.measure.comparison import paired_epoch_ratios
    from dsbench.measure.records import steady_epochs
    from dsbench.run import runner
    from dsbench.spec.config import run_spec
    from dsbench.spec.request import Command, RunRequest

    schedule = "interleaved" if args.variant == "separable-first" else args.variant
    kinds = (
        ("separable", "normal") if args.variant == "separable-first" else ("normal", "separable")
    )
    spec = run_spec({"dataset": args.dataset, "data_dir": args.data_dir,
                     "train_size": args.train_size, "test_size": args.test_size,
                     "epochs": args.epochs, "schedule": schedule, "inference": False})  # fmt: skip
    observer = StepMarks()
    with tempfile.TemporaryDirectory() as folder:
        request = RunRequest(Command.compare, kinds, spec, Path(folder) / "run")
        result = runner.run(request, observer)
        document = result.document
    ms_per_step = {
        r.model: [float(s) / r.steps_per_epoch * 1e3 for s in steady_epochs(r)["train_s"]]
        for r in result.results
    }
    # Each epoch's start (Unix s) and its step marks (steps done, seconds) relative to its
    # first one, to recompute the meeting-window pairing offline (any window length).
    marks = {
        r.model: [
            {"epoch": row["epoch"], "start_unix_s": row["start_unix_s"],
             "marks": [(step, t - mine[0][1]) for step, t in mine]}
            for row in r.epochs if (mine := observer.marks.get((r.model, row["epoch"])))
        ]
        for r in result.results
    }  # fmt: skip
    run = {"ratios": document["ratios"], "warnings": document["warnings"],
           "paired": paired_epoch_ratios(result.results, "train_s"),
           "ms_per_step": ms_per_step, "marks": marks}  # fmt: skip
    print(json.dumps(run))


def run_once(args: argparse.Namespace, variant: str) -> dict[str, Any]:
    """One comparison in a fresh process: its summary.json ratios, paired epochs, ms/step."""
    command = [sys.executable, __file__, "--worker", "--variant", variant,
               "--dataset", args.dataset, "--train-size", str(args.train_size),
               "--test-size", str(args.test_size), "--epochs", str(args.epochs)]  # fmt: skip
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    document: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    document["variant"] = variant
    return document


# Which paired ratios the tables use: "epoch" (whole epochs: dsbench's) or "window" (each
# pair timed on the WINDOW_S seconds where the two epochs meet, from the raw step marks: measured
# as noisier than whole epochs, docs/benchmarks.md).
PAIRING = "epoch"
WINDOW_DEFAULT_S = 5.0
WINDOW_S = WINDOW_DEFAULT_S


def window_ms_per_step(marks: list[tuple[int, float]], window_s: float) -> tuple[float, float]:
    """Training ms/step over the first and the last `window_s` seconds of an epoch, from its
    marks: (steps done, seconds) as steps end. Each
    window takes whole calls from its end inwards until they span `window_s` (or the epoch)."""

    def from_anchor(points: list[tuple[int, float]]) -> float:
        anchor_step, anchor_s = points[0]
        step, seconds = next(
            (p for p in points[1:] if abs(p[1] - anchor_s) >= window_s), points[-1]
        )
        steps = abs(step - anchor_step)
        return abs(seconds - anchor_s) / steps * 1e3 if steps else math.nan

    if len(marks) < 2:
        return math.nan, math.nan
    return from_anchor(marks), from_anchor(marks[::-1])


def window_pairs(run: dict[str, Any], window_s: float) -> list[float]:
    """separable/normal ms/step of each steady epoch pair on the windows where the two epochs
    meet: the end of the one that ran first against the start of the one after it."""
    by = {m: {e["epoch"]: e for e in run["marks"][m]} for m in ("normal", "separable")}
    out = []
    for epoch in sorted(set(by["normal"]) & set(by["separable"]) - {1}):
        n, s = by["normal"][epoch], by["separable"][epoch]
        n_head, n_tail = window_ms_per_step([tuple(x) for x in n["marks"]], window_s)
        s_head, s_tail = window_ms_per_step([tuple(x) for x in s["marks"]], window_s)
        normal_first = n["start_unix_s"] <= s["start_unix_s"]
        out.append(s_head / n_tail if normal_first else s_tail / n_head)
    return out


def pairs(run: dict[str, Any]) -> list[float]:
    """The run's paired ms/step ratios under PAIRING (raw files without marks: whole epochs)."""
    if PAIRING == "epoch" or "marks" not in run:
        return list(run["paired"])
    return window_pairs(run, WINDOW_S)


def interval_of(run: dict[str, Any], method: str = "dsbench") -> tuple[float, float, float]:
    """(median, low, high) of the run's ms/step ratio, recomputed from its paired epochs:
    "dsbench" with the current dsbench.measure.stats (so a raw file can be re-read after the method
    changes), "bootstrap" with the percentile bootstrap of the median alone (the
    method before Student's t was added, same seed and sample count) for comparison."""
    import numpy as np

    from dsbench.measure import stats

    if method == "dsbench":
        interval = stats.median_interval(pairs(run))
        return interval.median, interval.low, interval.high
    x = np.asarray(pairs(run), dtype=float)
    return (float(np.median(x)), *stats.bootstrap_of_median(x))


def row(run: dict[str, Any], number: int) -> str:
    median, low, high = interval_of(run)
    return (f"| {run['variant']} | {number} | {median:.3f} | [{low:.3f}, {high:.3f}] | "
            f"{len(pairs(run))} | {len(run['warnings'])} |")  # fmt: skip


def holding(cis: list[tuple[float, float, float]]) -> tuple[list[int], int]:
    """For each window of four consecutive runs: how many of its intervals hold >= 3 of its 4
    medians (the repeatability target); and how many (interval, other run's median) pairs hold."""
    medians = [m for m, _, _ in cis]
    windows = [sum(sum(lo <= m <= hi for m in medians[s : s + 4]) >= 3
                   for _, lo, hi in cis[s : s + 4])
               for s in range(len(cis) - 3)]  # fmt: skip
    others = sum(lo <= m <= hi for i, (_, lo, hi) in enumerate(cis)
                 for j, m in enumerate(medians) if i != j)  # fmt: skip
    return windows, others


def tables(runs: list[dict[str, Any]]) -> None:
    """Per variant: the medians and their spread; per variant and interval method, how many
    intervals hold >= 3 of 4 medians in each window of four runs, and how many of the other
    runs' medians they hold; then each model's steady ms/step per variant."""
    import pandas as pd

    variants = list(dict.fromkeys(r["variant"] for r in runs))
    by = {v: [r for r in runs if r["variant"] == v] for v in variants}
    spreads, methods, models = [], [], []
    for variant, mine in by.items():
        medians = [interval_of(r)[0] for r in mine]
        spreads.append({"variant": variant, "medians": " ".join(f"{m:.3f}" for m in medians),
                        "max/min": f"{max(medians) / min(medians):.3f}"})  # fmt: skip
        for method in ("bootstrap", "dsbench"):
            cis = [interval_of(r, method) for r in mine]
            windows, others = holding(cis)
            width = statistics.median((hi - lo) / 2 / m for m, lo, hi in cis)
            methods.append({"variant": variant, "interval": method,
                            "windows of 4 runs: intervals holding >= 3 of the 4 medians":
                                ", ".join(f"{w} of 4" for w in windows) or "-",
                            "other runs' medians held": f"{others} of {len(cis) * (len(cis) - 1)}",
                            "median half-width": f"±{width:.1%}"})  # fmt: skip
        for model in ("normal", "separable"):
            values = [statistics.median(r["ms_per_step"][model]) for r in mine]
            models.append({"variant": variant, "model": model,
                           "steady ms/step: median of run medians": statistics.median(values),
                           "min": min(values), "max": max(values),
                           "median of all steady epochs": statistics.median(
                               x for r in mine for x in r["ms_per_step"][model])})  # fmt: skip
    for rows in (spreads, methods):
        print("\n" + pd.DataFrame(rows).to_markdown(index=False))
    if len(by) > 1:
        overall = {v: statistics.median(interval_of(r)[0] for r in rs) for v, rs in by.items()}
        print("\nmedian of medians: " + ", ".join(f"{v} {m:.3f}" for v, m in overall.items()))
    print("\n" + pd.DataFrame(models).to_markdown(index=False, floatfmt=".1f"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--train-size", type=int, default=5000)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--variants", default="interleaved,sequential")
    parser.add_argument("--out", type=Path, help="write the raw runs here (JSON, after each run)")
    parser.add_argument("--from", dest="source", type=Path,
                        help="print the tables of a raw file from --out instead of running")  # fmt: skip
    parser.add_argument(
        "--pairing",
        default="epoch",
        choices=["epoch", "window"],
        help="tables from whole epochs (dsbench's) or the windows where they meet",
    )
    parser.add_argument("--window", type=float, default=WINDOW_DEFAULT_S,
                        help="seconds of each window, with --pairing window")  # fmt: skip
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="interleaved", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    global PAIRING, WINDOW_S
    PAIRING, WINDOW_S = args.pairing, args.window
    print("| variant | run | ms/step ratio | 95% interval | pairs | warnings |")
    print("| --- | --- | --- | --- | --- | --- |")
    if args.source:
        runs = json.loads(args.source.read_text())["runs"]
        counts: dict[str, int] = {}
        for run in runs:
            counts[run["variant"]] = counts.get(run["variant"], 0) + 1
            print(row(run, counts[run["variant"]]))
        tables(runs)
        return
    variants = args.variants.split(",")
    print(f"<!-- {args.dataset}, {args.train_size} / {args.test_size} images, {args.epochs} "
          f"epochs, {args.runs} runs per variant, fresh process per run, variants alternating "
          "-->")  # fmt: skip
    runs = []
    for number in range(args.runs):
        for variant in variants if number % 2 == 0 else variants[::-1]:
            runs.append(run_once(args, variant))
            print(row(runs[-1], number + 1), flush=True)
            if args.out:
                args.out.write_text(json.dumps({"args": vars(args) | {"out": str(args.out),
                                    "source": None}, "runs": runs}, indent=1))  # fmt: skip
    tables(runs)


if __name__ == "__main__":
    main()
