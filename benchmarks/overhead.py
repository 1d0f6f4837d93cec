"""Does dsbench distort what it measures? dsbench's training path vs bare Keras, interleaved.

Side A (baseline) trains the way the reference tutorial does:
    model.fit(x_uint8, y, batch_size=128, validation_data=(x_test, y_test), epochs=E)
on numpy arrays with Adam. Side B is `dsbench train --model M` on the same data subset, with
the same inputs (raw 0..255 pixels) and initializers. Every run is a fresh process; runs are
interleaved, and the order within a pair alternates (A B, B A, A B, ...) so that a machine
that drifts, or favours whichever process starts after a pause, favours neither side; each side's
figure is the median over runs of its steady-state epoch time (median of epochs 2..E,
training + validation, as dsbench reports it). Peak RSS is the child's ru_maxrss (os.wait4).

    python benchmarks/overhead.py --dataset cifar10 --data-dir ~/data --train-size 5000 \
        --test-size 1000 --epochs 3 --pairs 3

Prints a Markdown table; --out FILE also writes the raw runs as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUN_CLOCK: dict[str, float] = {}  # the last child's start and exit (Unix seconds)


def baseline_worker(args: argparse.Namespace) -> None:
    """One bare-Keras run in this process; prints its figures as one JSON line."""
    import resource

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    started = time.perf_counter()
    import keras

    import_s = time.perf_counter() - started

    from dsbench.data import load
    from dsbench.models.vgg import build
    from dsbench.spec.settings import DataSpec, ModelSpec

    data = load(
        DataSpec(
            dataset=args.dataset,
            data_dir=args.data_dir,
            train_size=args.train_size,
            test_size=args.test_size,
        ),
        seed=0,
    )
    keras.utils.set_random_seed(0)
    model = build(ModelSpec(depthwise_init="keras"), args.model)
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    class EpochTimes(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

            self.first_step_unix = 0.0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.start = time.perf_counter()

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            self.first_step_unix = self.first_step_unix or time.time()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.times.append(time.perf_counter() - self.start)
            self.last_end_unix = time.time()

    timer = EpochTimes()
    model.fit(
        data.x_train,
        data.y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(data.x_test, data.y_test),
        verbose=0,
        callbacks=[timer],
    )
    print(
        json.dumps(
            {
                "epoch_s": timer.times,
                "steady_epoch_s": statistics.median(timer.times[1:]),
                "import_s": import_s,
                "first_step_unix": timer.first_step_unix,
                "last_end_unix": timer.last_end_unix,
                "self_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


def run_child(command: list[str]) -> tuple[str, int, float]:
    """Run a fresh process; return its stdout, its own peak RSS in KiB and its wall seconds
    (start to exit)."""
    started, RUN_CLOCK["start_unix"] = time.perf_counter(), time.time()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    RUN_CLOCK["exit_unix"] = time.time()
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(command)}")
    return out, usage.ru_maxrss, wall


def data_flags(args: argparse.Namespace) -> list[str]:
    flags = [
        "--dataset",
        args.dataset,
        "--train-size",
        str(args.train_size),
        "--test-size",
        str(args.test_size),
    ]
    return flags + (["--data-dir", args.data_dir] if args.data_dir else [])


def run_baseline(args: argparse.Namespace, model: str) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--model",
        model,
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        *data_flags(args),
    ]
    out, rss, wall = run_child(command)
    result = json.loads(out.strip().splitlines()[-1])
    return {"steady_epoch_s": result["steady_epoch_s"], "epoch_s": result["epoch_s"],
            "rss_kb": rss, "wall_s": wall, "import_s": result["import_s"],
            "before_first_step_s": result["first_step_unix"] - RUN_CLOCK["start_unix"],
            "after_last_epoch_s": RUN_CLOCK["exit_unix"] - result["last_end_unix"]}  # fmt: skip


def run_dsbench(args: argparse.Namespace, model: str, extra: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable,
            "-m",
            "dsbench",
            "train",
            "--model",
            model,
            "--epochs",
            str(args.epochs),
            "--batch-size",
            str(args.batch_size),
            *data_flags(args),
            "--no-inference",
            "--no-progress",
            "--json",
            "--output-dir",
            f"{folder}/run",
            *extra,
        ]
        out, rss, wall = run_child(command)
        history = json.loads(out)
        rows = _history(f"{folder}/run")
        epochs = [row["epoch_s"] for row in rows]
    (row,) = history["models"]
    first = float(rows[0]["start_unix_s"]) + float(rows[0]["setup_s"])
    last = float(rows[-1]["start_unix_s"]) + float(rows[-1]["epoch_s"])
    return {"steady_epoch_s": row["steady_epoch_s"], "epoch_s": epochs, "rss_kb": rss,
            "wall_s": wall, "before_first_step_s": first - RUN_CLOCK["start_unix"],
            "after_last_epoch_s": RUN_CLOCK["exit_unix"] - last}  # fmt: skip


def _history(folder: str) -> list[dict[str, Any]]:
    import csv

    with open(Path(folder) / "history.csv", newline="") as stream:
        return [
            {
                k: float(v) if k in ("epoch_s", "setup_s", "start_unix_s") else v
                for k, v in r.items()
            }
            for r in csv.DictReader(stream)
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="both", choices=["normal", "separable", "both"])
    parser.add_argument("--dataset", default="synthetic", choices=["cifar10", "synthetic"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--train-size", type=int, default=5000)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument(
        "--dsbench-args",
        default="--depthwise-init keras --no-rescale",
        help="extra flags for the dsbench side (default: Keras' initializers and raw pixels, as the baseline)",
    )
    parser.add_argument("--out", type=Path, default=None, help="write the raw runs as JSON here")
    args = parser.parse_args()
    if args.worker:
        baseline_worker(args)
        return
    models = ["normal", "separable"] if args.model == "both" else [args.model]
    extra = args.dsbench_args.split()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        m: {"baseline": [], "dsbench": []} for m in models
    }
    for pair in range(args.pairs):
        for model in models:  # each pair runs both sides back to back, in alternating order
            for side in ("baseline", "dsbench") if pair % 2 == 0 else ("dsbench", "baseline"):
                run = (
                    run_baseline(args, model)
                    if side == "baseline"
                    else run_dsbench(args, model, extra)
                )
                runs[model][side].append(run)
            b, d = runs[model]["baseline"][-1], runs[model]["dsbench"][-1]
            print(
                f"pair {pair + 1} {model}: baseline {b['steady_epoch_s']:.2f} s/epoch, "
                f"dsbench {d['steady_epoch_s']:.2f} s/epoch",
                file=sys.stderr,
                flush=True,
            )
    print(
        f"\n{args.train_size} train / {args.test_size} test images ({args.dataset}), "
        f"{args.epochs} epochs, batch {args.batch_size}, {args.pairs} interleaved pairs (A B, B A, ...), "
        f"fresh process per run; medians; dsbench flags: {args.dsbench_args}\n"
    )
    print(
        "| model | baseline s/epoch | dsbench s/epoch | ratio baseline/dsbench | per-pair ratios | "
        "baseline peak RSS MiB | dsbench peak RSS MiB |"
    )
    print("|---|---:|---:|---:|---|---:|---:|")
    for model in models:
        base = statistics.median(r["steady_epoch_s"] for r in runs[model]["baseline"])
        mine = statistics.median(r["steady_epoch_s"] for r in runs[model]["dsbench"])
        base_rss = statistics.median(r["rss_kb"] for r in runs[model]["baseline"]) / 1024
        mine_rss = statistics.median(r["rss_kb"] for r in runs[model]["dsbench"]) / 1024
        pairs = zip(runs[model]["baseline"], runs[model]["dsbench"], strict=True)
        ratios = " ".join(f"{b['steady_epoch_s'] / d['steady_epoch_s']:.3f}" for b, d in pairs)
        print(
            f"| {model} | {base:.2f} | {mine:.2f} | {base / mine:.3f} | {ratios} | {base_rss:.0f} | {mine_rss:.0f} |"
        )
    # The whole process: wall time, and what each side spends outside its epochs: from the
    # process's start to its first step (TensorFlow's import, the same on both sides, included)
    # and from its last epoch's end to its exit; dsbench's extra is the difference, per pair
    print(
        "\n| model | whole process s, Keras / dsbench | ratio Keras / dsbench | per-pair ratios "
        "| start to first step s (import included), Keras / dsbench | last epoch's end to exit "
        "s, Keras / dsbench | dsbench's extra fixed s, per pair |"
    )
    print("|---|---:|---:|---|---:|---:|---|")
    for model in models:
        base_runs, mine_runs = runs[model]["baseline"], runs[model]["dsbench"]
        fixed = {side: [r["before_first_step_s"] + r["after_last_epoch_s"] for r in mine]
                 for side, mine in (("baseline", base_runs), ("dsbench", mine_runs))}  # fmt: skip
        walls = [statistics.median(r["wall_s"] for r in mine) for mine in (base_runs, mine_runs)]
        ratios = " ".join(f"{b['wall_s'] / d['wall_s']:.3f}"
                          for b, d in zip(base_runs, mine_runs, strict=True))  # fmt: skip
        extra = [d - b for b, d in zip(fixed["baseline"], fixed["dsbench"], strict=True)]

        def both(key: str, pair: tuple[list[dict[str, Any]], ...] = (base_runs, mine_runs)) -> str:
            return " / ".join(f"{statistics.median(r[key] for r in mine):.2f}" for mine in pair)

        print(f"| {model} | {walls[0]:.1f} / {walls[1]:.1f} | {walls[0] / walls[1]:.3f} | {ratios} "
              f"| {both('before_first_step_s')} | {both('after_last_epoch_s')} | median "
              f"{statistics.median(extra):.2f} ({' '.join(f'{e:.2f}' for e in extra)}) |")  # fmt: skip
    if args.out:
        args.out.write_text(
            json.dumps({"args": vars(args) | {"out": str(args.out)}, "runs": runs}, indent=2)
        )


if __name__ == "__main__":
    main()
