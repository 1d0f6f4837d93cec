"""Train one model with honest timing, and run the normal/separable comparison.

Timing comes from Keras callbacks around `model.fit`: an epoch's training time runs from
on_epoch_begin to on_test_begin (the steps only), its validation time from on_test_begin to
on_test_end. Epoch 1 includes graph tracing (and XLA compilation when on) and is reported
apart from the steady state. Nothing here prints: progress goes to an optional Observer.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from dsbench import bench, custom_loop, distribute
from dsbench.config import RunSpec
from dsbench.data import Data, pipeline
from dsbench.errors import DsbenchError
from dsbench.models import build, total_macs
from dsbench.observer import Observer
from dsbench.records import RunResult, Status
from dsbench.store import load_checkpoint, save_checkpoint


class Interrupted(KeyboardInterrupt):
    """Raised by the SIGTERM handler so that SIGTERM stops training like Ctrl-C does."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


def raise_on_sigterm() -> None:
    """Make SIGTERM interrupt training the way Ctrl-C does (exit code 143 instead of 130)."""

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    signal.signal(signal.SIGTERM, handler)


class _EpochRecorder(keras.callbacks.Callback):
    """Times each epoch's training steps and validation apart, and stops on a NaN loss."""

    def __init__(
        self, result: RunResult, observer: Observer | None, checkpoints: Path | None
    ) -> None:
        super().__init__()
        self.result = result
        self.observer = observer
        self.checkpoints = checkpoints
        self._traced = False  # the first epoch of this process traces the train function
        self._start = self._val_start = self._val_end = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = time.perf_counter()
        self._val_start = self._val_end = 0.0
        if self.observer:
            self.observer.epoch_start(epoch + 1)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._val_start = time.perf_counter()

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        self._val_end = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        end = time.perf_counter()
        logs = logs or {}
        val_start = self._val_start or end
        row = {
            "epoch": epoch + 1,
            "loss": float(logs.get("loss", math.nan)),
            "accuracy": float(logs.get("accuracy", math.nan)),
            "val_loss": float(logs.get("val_loss", math.nan)),
            "val_accuracy": float(logs.get("val_accuracy", math.nan)),
            "train_s": val_start - self._start,
            "val_s": (self._val_end or end) - val_start,
            "epoch_s": end - self._start,
            "includes_tracing": not self._traced,
        }
        self._traced = True
        self.result.epochs.append(row)
        if not math.isfinite(row["loss"]):
            self.result.status = Status.diverged
            self.model.stop_training = True
        elif self.checkpoints is not None:
            save_checkpoint(self.checkpoints, self.model, self.result)
        if self.observer:
            self.observer.epoch_end(row)


class _ProgressForwarder(keras.callbacks.Callback):
    """Forwards per-step logs to the observer; async_safe lets Keras call it off the hot path."""

    async_safe = True

    def __init__(self, observer: Observer) -> None:
        super().__init__()
        self.observer = observer

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.observer.batch_end(batch + 1, dict(logs or {}))


def steps_per_epoch(spec: RunSpec, data: Data) -> int:
    """Training steps per epoch (the last partial batch is dropped); an error when there are none."""
    steps = len(data.y_train) // spec.train.batch_size
    if steps == 0:
        raise DsbenchError(
            f"batch_size {spec.train.batch_size} is larger than the {len(data.y_train)} training "
            "images",
            f"use batch_size {len(data.y_train)} or less, or a larger train_size",
            setting=("batch_size", "train_size"),
        )
    return steps


def train_model(
    kind: str,
    spec: RunSpec,
    data: Data,
    repeat: int = 0,
    observer: Observer | None = None,
    strategy: tf.distribute.Strategy | None = None,
    checkpoints: Path | None = None,
    resume: bool = False,
) -> RunResult:
    """Train the `kind` model once (seed = spec seed + repeat) and measure it.

    Ctrl-C or SIGTERM ends training early with status "interrupted" and the completed
    epochs kept; a NaN or infinite loss ends it with status "diverged". With `checkpoints`,
    weights and optimizer state are saved there after every epoch; with `resume`, training
    continues from the last checkpoint (or starts over when there is none).
    """
    train = spec.train
    seed = train.seed + repeat
    if train.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    steps = steps_per_epoch(spec, data)
    keras.utils.set_random_seed(seed)
    learning_rate = train.learning_rate * (replicas if train.scale_lr else 1)
    previous_policy = keras.config.dtype_policy()
    restored = load_checkpoint(checkpoints, kind, repeat) if resume and checkpoints else None
    with strategy.scope():
        if restored:
            model = keras.models.load_model(restored[0])
        else:
            keras.config.set_dtype_policy(train.precision)
            try:
                model = build(spec.model, kind)
            finally:
                keras.config.set_dtype_policy(previous_policy)
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
                jit_compile="auto" if train.jit is None else train.jit,
                steps_per_execution=train.steps_per_execution,
            )
    result = RunResult(
        model=kind,
        repeat=repeat,
        seed=seed,
        params=int(model.count_params()),
        macs_per_image=total_macs(spec.model, kind),
        steps_per_epoch=steps,
        batch_size=train.batch_size,
        replicas=replicas,
        epochs=list(restored[1]) if restored else [],
    )
    # The last partial batch is dropped so every step has the same shape and cost.
    train_ds = pipeline(
        data.x_train,
        data.y_train,
        train.batch_size,
        rescale=spec.data.rescale,
        shuffle_seed=seed,
        drop_remainder=True,
    )
    val_ds = pipeline(
        data.x_test,
        data.y_test,
        train.batch_size,
        rescale=spec.data.rescale,
        shuffle_seed=None,
        drop_remainder=False,
    )
    callbacks: list[keras.callbacks.Callback] = [_EpochRecorder(result, observer, checkpoints)]
    if observer:
        if observer.wants_batches:  # no per-step callback unless displayed
            callbacks.append(_ProgressForwarder(observer))
        observer.model_start(kind, repeat, train.epochs, steps)
    try:
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            custom_loop.fit(
                model,
                strategy,
                train_ds,
                val_ds,
                epochs=train.epochs,
                initial_epoch=len(result.epochs),
                steps=steps,
                global_batch=train.batch_size,
                callbacks=callbacks,
            )
        else:
            model.fit(
                train_ds,
                validation_data=val_ds,
                epochs=train.epochs,
                verbose=0,
                callbacks=callbacks,
                initial_epoch=len(result.epochs),
                shuffle=False,  # the pipeline shuffles, from the seed
            )
        result.jit = bool(getattr(model, "jit_compile", False))
        if result.status == Status.complete and train.inference:
            result.inference = bench.inference(model, spec.model.input_shape, result.jit)
    except KeyboardInterrupt as exc:
        result.status = Status.interrupted
        result.stopped_by = getattr(exc, "signum", signal.SIGINT)
    if observer:
        observer.model_end(result)
    return result


def run_experiment(
    spec: RunSpec,
    data: Data,
    kinds: tuple[str, ...],
    observer: Observer | None = None,
    on_result: Callable[[list[RunResult]], None] | None = None,
    strategy: tf.distribute.Strategy | None = None,
    checkpoints: Path | None = None,
    previous: list[RunResult] | None = None,
) -> list[RunResult]:
    """Train every kind for every repeat, interleaved (A B A B), same data and seeds for each.

    `on_result` sees the list after each model, so results can be saved as they come.
    Stops after an interrupted model; a diverged model does not stop the others.
    `previous` (from an interrupted run) supplies finished runs, which are kept as they are;
    an unfinished one continues from its checkpoint.
    """
    strategy = strategy or distribute.make_strategy(spec.train)
    done = {(r.model, r.repeat): r for r in previous or [] if r.status != Status.interrupted}
    results: list[RunResult] = []
    for repeat in range(spec.train.repeats):
        for kind in kinds:
            if (kind, repeat) in done:
                results.append(done[(kind, repeat)])
                continue
            result = train_model(
                kind,
                spec,
                data,
                repeat,
                observer,
                strategy,
                checkpoints,
                resume=previous is not None,
            )
            results.append(result)
            if on_result:
                on_result(results)
            if result.status == Status.interrupted:
                return results
    return results
