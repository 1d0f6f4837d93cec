"""Where do the machine's two speeds come from? Per-epoch training times under thread settings.

On the 2-core machine identical epochs run at one of two speeds, 1.6-1.75x apart, for several
epochs at a time (docs/benchmarks.md). This trains one model for E epochs in a fresh process per
variant, variants in rotating order over R rounds, and prints each epoch's training seconds,
the calibration probe before each epoch, the median, the max/min of the epochs and whether
they are bimodal (dsbench.measure.stats.bimodal).

    python benchmarks/two_speeds.py --model separable --train-size 2560 --epochs 8 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

# name -> (environment variables, tf.data settings)
VARIANTS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "default": ({}, {}),
    "tfdata-1-thread": ({}, {"private_threads": 1}),
    "no-autotune": ({}, {"parallel_calls": 1, "prefetch": 2}),
    "intra2-inter1": ({"TF_NUM_INTRAOP_THREADS": "2", "TF_NUM_INTEROP_THREADS": "1"}, {}),
    "intra1": ({"TF_NUM_INTRAOP_THREADS": "1"}, {}),
    "onednn-off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, {}),
}


def worker(args: argparse.Namespace) -> None:
    """Train in this process and print one JSON line of per-epoch figures."""
    import keras
    import tensorflow as tf

    from dsbench.backends.tensorflow.probe import Probe
    from dsbench.backends.tensorflow.tfdata import shared_tensor
    from dsbench.data import synthetic
    from dsbench.models.vgg import build
    from dsbench.spec.settings import ModelSpec

    settings = json.loads(args.settings)
    data = synthetic(args.train_size, 64, seed=0)
    images, labels = shared_tensor(data.x_train), tf.constant(data.y_train.astype("int32"))

    def gather(index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(tf.gather(images, index), tf.float32) / 255.0, tf.gather(labels, index)

    calls = settings.get("parallel_calls", tf.data.AUTOTUNE)
    dataset = (
        tf.data.Dataset.range(len(data.y_train))
        .shuffle(len(data.y_train), seed=0)
        .batch(args.batch_size, drop_remainder=True)
        .map(gather, num_parallel_calls=calls)
        .prefetch(settings.get("prefetch", tf.data.AUTOTUNE))
    )
    if "private_threads" in settings:
        options = tf.data.Options()
        options.threading.private_threadpool_size = settings["private_threads"]
        options.threading.max_intra_op_parallelism = 1
        dataset = dataset.with_options(options)
    keras.utils.set_random_seed(0)
    model = build(ModelSpec(), args.model)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=False)
    probe = Probe()
    epochs, rates, cores = [], [], []
    for epoch in range(args.epochs):
        rates.append(probe.rate())
        start, cpu = time.perf_counter(), time.process_time()
        model.fit(dataset, epochs=epoch + 1, initial_epoch=epoch, verbose=0)
        epochs.append(time.perf_counter() - start)
        cores.append((time.process_time() - cpu) / epochs[-1])  # CPU seconds per wall second
    print(json.dumps({"train_s": epochs, "probe": rates, "cores": cores}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="separable", choices=("normal", "separable"))
    parser.add_argument("--train-size", type=int, default=2560)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--settings", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    from dsbench.measure.stats import bimodal

    names = args.variants.split(",")
    print(f"# {args.model}, {args.train_size} synthetic images, batch {args.batch_size}, "
          f"{args.epochs} epochs per process, {args.rounds} rounds, os.cpu_count()={os.cpu_count()}")  # fmt: skip
    print("| variant | round | epoch 1 s | epochs 2..E train s | median | max/min | bimodal "
          "| cores busy per epoch | probe GFLOP/s |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for round_ in range(args.rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]  # rotate who goes first
        for name in order:
            env, settings = VARIANTS[name]
            command = [sys.executable, __file__, "--worker", "--settings", json.dumps(settings),
                       "--model", args.model, "--train-size", str(args.train_size),
                       "--batch-size", str(args.batch_size), "--epochs", str(args.epochs)]  # fmt: skip
            out = subprocess.run(command, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
                                 capture_output=True, text=True, check=True).stdout  # fmt: skip
            result = json.loads(out.strip().splitlines()[-1])
            steady = result["train_s"][1:]
            probe = result["probe"]
            print(f"| {name} | {round_ + 1} | {result['train_s'][0]:.2f} | "
                  f"{' '.join(f'{t:.2f}' for t in steady)} | {statistics.median(steady):.2f} | "
                  f"{max(steady) / min(steady):.2f} | {'yes' if bimodal(steady) else 'no'} | "
                  f"{' '.join(f'{c:.1f}' for c in result['cores'][1:])} | "
                  f"{min(probe):.0f}–{max(probe):.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
