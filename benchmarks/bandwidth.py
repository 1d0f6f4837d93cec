"""Does the separable/normal ratio follow the machine's memory bandwidth?

Hypothesis (from `stability.py`'s runs): identical `compare` runs in fresh processes differ in
their ratio because the separable model's speed moves between runs far more than the normal
model's, and the separable model is the memory-bound one (docs/benchmarks.md). On a shared host, other
tenants' use of the shared L3 and memory bandwidth would move it; the matmul calibration probe
(compute-bound) would not see that.

Each process alternates, for `--seconds`: a memory-bandwidth probe (a timed copy of a 256 MiB
array), dsbench's matmul probe, 8 training steps of the separable model and 3 of the normal one
(order alternating): on one fixed batch of 128 images (`--feed batch`, train_on_batch), or
from dsbench's tf.data pipeline inside `fit` as `compare` trains (`--feed pipeline`: 12 and 4
steps, the first of each call left out). Several processes in a row. Printed:
per process, the medians; over all samples, the correlation of each model's step time and of
the ratio with each probe.

    python benchmarks/bandwidth.py --processes 4 --seconds 150 --out benchmarks/data/bandwidth-runs.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COPY_BYTES = 256 * 2**20


def bandwidth_probe(src: np.ndarray, dst: np.ndarray) -> float:
    """GB/s of the best of 3 copies of `src` into `dst` (bytes read + written)."""
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best / 1e9


def worker(seconds: float, feed: str) -> None:
    import keras

    from dsbench.backends.tensorflow.probe import Probe
    from dsbench.backends.tensorflow.tfdata import pipeline
    from dsbench.data import synthetic
    from dsbench.models.vgg import build
    from dsbench.spec.settings import ModelSpec

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(128, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 10, size=128)
    models = {}
    for kind in ("normal", "separable"):
        model = build(ModelSpec(), kind)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        model.train_on_batch(x, y)  # trace
        models[kind] = model
    steps = {"normal": 3, "separable": 8}
    if feed == "pipeline":  # dsbench's tf.data pipeline inside fit, as compare trains
        data = synthetic(5000, 0, seed=0)
        dataset = pipeline(data.x_train, data.y_train, 128, rescale=True, shuffle_seed=0,
                           drop_remainder=True).repeat()  # fmt: skip
        steps = {"normal": 4, "separable": 12}

        class Marks(keras.callbacks.Callback):
            def __init__(self) -> None:
                super().__init__()
                self.times: list[float] = []

            def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
                self.times.append(time.perf_counter())

            def on_train_end(self, logs: Any = None) -> None:
                self.times.append(time.perf_counter())

        for model in models.values():
            model.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0)  # trace fit's function
    src = np.ones(COPY_BYTES // 4, dtype=np.float32)
    dst = np.empty_like(src)
    probe = Probe()
    samples: list[dict[str, Any]] = []
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        sample: dict[str, Any] = {"t": time.perf_counter() - began}
        sample["gb_per_s"] = bandwidth_probe(src, dst)
        sample["gflop_per_s"] = probe.rate()
        order = ("normal", "separable") if len(samples) % 2 == 0 else ("separable", "normal")
        for kind in order:
            if feed == "pipeline":
                marks = Marks()
                models[kind].fit(dataset, epochs=1, steps_per_epoch=steps[kind], verbose=0,
                                 callbacks=[marks])  # fmt: skip
                times = list(np.diff(marks.times)[1:])  # the first step refills the shuffle
            else:
                times = []
                for _ in range(steps[kind]):
                    start = time.perf_counter()
                    models[kind].train_on_batch(x, y)
                    times.append(time.perf_counter() - start)
            sample[f"{kind}_ms"] = float(np.median(times) * 1e3)
        samples.append(sample)
    print(json.dumps(samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=150)
    parser.add_argument("--feed", default="batch", choices=["batch", "pipeline"],
                        help="one fixed batch (train_on_batch) or dsbench's tf.data pipeline in fit")  # fmt: skip
    parser.add_argument("--out", type=Path)
    parser.add_argument("--from", dest="source", type=Path, help="print the tables of a raw file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.seconds, args.feed)
        return
    if args.source:
        runs = json.loads(args.source.read_text())["processes"]
    else:
        runs = []
        for _ in range(args.processes):
            command = [sys.executable, __file__, "--worker", "--seconds", str(args.seconds),
                       "--feed", args.feed]  # fmt: skip
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
            if args.out:
                args.out.write_text(json.dumps({"args": vars(args) | {"out": str(args.out)},
                                                "processes": runs}, indent=1))  # fmt: skip
    report(runs)


def report(runs: list[list[dict[str, Any]]]) -> None:
    import pandas as pd

    frames = [pd.DataFrame(r).assign(process=i + 1) for i, r in enumerate(runs)]
    df = pd.concat(frames)
    df["ratio"] = df["separable_ms"] / df["normal_ms"]
    columns = ["gb_per_s", "gflop_per_s", "normal_ms", "separable_ms", "ratio"]
    per = df.groupby("process")[columns].median().assign(samples=df.groupby("process").size())
    print(per.to_markdown(floatfmt=".3f"))
    print()
    corr = df[columns].corr(method="spearman").loc[["gb_per_s", "gflop_per_s"], columns[2:]]
    print("Spearman correlation over all samples:")
    print(corr.to_markdown(floatfmt=".2f"))
    within = df.groupby("process")[columns].apply(
        lambda g: g.corr(method="spearman").loc["gb_per_s", ["separable_ms", "ratio"]]
    )
    print("\nwithin each process (gb_per_s vs):")
    print(within.to_markdown(floatfmt=".2f"))


if __name__ == "__main__":
    main()
