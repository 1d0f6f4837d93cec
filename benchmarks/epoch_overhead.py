"""What each `model.fit` call costs around its steps, per Keras backend.

dsbench trains every epoch as its own fit call (so the models can take turns), and each call
sets up its data iterators. This script times, for each epoch of one small model: the set-up
before the first step (epoch begin -> first step), the steps, the gap from the last step's end
to validation's start, validation, and what follows it. One backend per process (Keras picks
its backend once); run it once per backend:

    python benchmarks/epoch_overhead.py --backend tensorflow
    python benchmarks/epoch_overhead.py --backend jax --epochs 8

It prints a Markdown row of medians over the steady epochs (epoch 1 traces and is left out).
Its per-step callback makes Keras read every step's logs back on the training thread, so on
JAX and PyTorch the "steps" column includes a wait per step (dsbench's own recorder does not
do this); the columns around the steps are what the script is for.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax", "torch"))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--train-size", type=int, default=640)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--blocks", default="8x1,16x1")
    args = parser.parse_args()
    os.environ["KERAS_BACKEND"] = args.backend
    if args.backend != "tensorflow":
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # as without TensorFlow

    import keras
    import numpy as np

    from dsbench import backends
    from dsbench.data import batch_order, synthetic
    from dsbench.models.vgg import build
    from dsbench.spec.blocks import parse_blocks
    from dsbench.spec.settings import ModelSpec

    backend = backends.select(args.backend)
    data = synthetic(args.train_size, 256, seed=0)
    model = build(ModelSpec(blocks=parse_blocks(args.blocks)), "normal")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=backend.jit_compile(args.backend == "jax"))  # fmt: skip

    class Marks(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[dict[str, float]] = []

        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            self.begin, self.first = time.perf_counter(), 0.0

        def on_train_batch_begin(self, batch: int, logs: object = None) -> None:
            if not self.first:
                self.first = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: object = None) -> None:
            self.last = time.perf_counter()

        def on_test_begin(self, logs: object = None) -> None:
            self.val_begin = time.perf_counter()

        def on_test_end(self, logs: object = None) -> None:
            self.val_end = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            end = time.perf_counter()
            self.rows.append({"setup": self.first - self.begin, "steps": self.last - self.first,
                              "to_val": self.val_begin - self.last,
                              "val": self.val_end - self.val_begin, "after": end - self.val_end})  # fmt: skip

    marks = Marks()
    val = backend.feed(data.x_test, data.y_test, args.batch_size, rescale=True, order=None,
                       drop_remainder=False)  # fmt: skip
    for epoch in range(args.epochs):
        order = batch_order(len(data.y_train), 0, epoch)
        train = backend.feed(data.x_train, data.y_train, args.batch_size, rescale=True,
                             order=order, drop_remainder=True)  # fmt: skip
        model.fit(train, validation_data=val, epochs=epoch + 1, initial_epoch=epoch, verbose=0,
                  callbacks=[marks])  # fmt: skip
    steady = marks.rows[1:]
    steps = args.train_size // args.batch_size

    def ms(key: str) -> str:
        return f"{1e3 * float(np.median([row[key] for row in steady])):.1f}"

    print(
        "| backend | steps/epoch | set-up before step 1, ms | steps, ms | last step -> validation, ms "
        "| validation, ms | after validation, ms |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.backend} | {steps} | {ms('setup')} | {ms('steps')} | {ms('to_val')} | {ms('val')} "
        f"| {ms('after')} |"
    )


if __name__ == "__main__":
    main()
