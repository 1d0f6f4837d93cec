"""Train the models of a comparison with honest timing, sequentially or interleaved.

Timing comes from Keras callbacks around `model.fit`, one call per epoch (callbacks.py). The
first epoch of each model in a process includes graph tracing (and XLA compilation when on)
and is kept apart from the steady state. Before every epoch a calibration probe (the
backend's Probe) records the machine's dense rate. Everything that differs between Keras
backends goes through dsbench.backends. Nothing here prints: progress goes to an Observer.

The interleaved schedule (the default) builds both models up front and trains them epoch by
epoch in alternating order — N S, S N, N S, ... — so that a machine that changes speed for
minutes at a time slows both alike and their per-epoch ratio stays honest. Each model keeps its
own optimizer, metrics and data pipeline (same seed, same batches as when trained alone).
"""

from __future__ import annotations

import dataclasses
import math
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from dsbench import backends
from dsbench.data import Data, batch_order
from dsbench.errors import DsbenchError
from dsbench.measure.records import RunResult, Status, encode_correct
from dsbench.models.vgg import build, total_macs
from dsbench.observer import Observer
from dsbench.run import speed
from dsbench.run.callbacks import BestWeights, CorrectFlags, EpochRecorder, ProgressForwarder
from dsbench.run.checkpoints import load_checkpoint, restore
from dsbench.spec.settings import RunSpec, TrainSpec


def steps_per_epoch(spec: RunSpec, data: Data) -> int:
    """Training steps per epoch (the last partial batch is dropped); an error when there are none."""
    images, batch = len(data.y_train), spec.train.batch_size
    steps = -(-images // batch) if spec.train.keep_partial_batch else images // batch
    if steps == 0:
        raise DsbenchError(
            f"batch_size {spec.train.batch_size} is larger than the {len(data.y_train)} training "
            "images",
            f"use batch_size {len(data.y_train)} or less, or a larger train_size",
            setting=("batch_size", "train_size"),
        )
    if spec.train.steps_per_execution > steps:
        raise DsbenchError(
            f"steps_per_execution {spec.train.steps_per_execution} is more than the {steps} "
            "training steps of an epoch",
            f"use steps_per_execution {steps} or less",
            setting="steps_per_execution",
        )
    return steps


@dataclass(frozen=True)
class Training:
    """What every model of one comparison trains with: the settings, the data, the kinds of
    model, the distribution strategy (None: the backend's default for the settings), where
    checkpoints go (None: nowhere) and the results of an interrupted run to continue (None:
    a fresh start)."""

    spec: RunSpec
    data: Data
    kinds: tuple[str, ...]
    strategy: Any = None
    checkpoints: Path | None = None
    previous: list[RunResult] | None = None

    def saved_epochs(self, kind: str, repeat: int) -> int:
        """How many epochs of this model the interrupted run's history holds."""
        return next((len(r.epochs) for r in self.previous or []
                     if (r.model, r.repeat) == (kind, repeat)), 0)  # fmt: skip


class ModelRun:
    """One model of one repeat, built (or restored from its checkpoint) and trained an epoch
    at a time. Seed = spec seed + repeat, for the weights and for the shuffling."""

    def __init__(self, training: Training, kind: str, repeat: int, observer: Observer) -> None:
        spec, data, strategy, checkpoints = (training.spec, training.data, training.strategy,
                                             training.checkpoints)  # fmt: skip
        train = spec.train
        self.spec, self.observer = spec, observer
        seed = train.seed + repeat
        steps = steps_per_epoch(spec, data)
        backend = backends.current()
        multiworker = backend.is_multiworker(strategy)
        if multiworker:
            _refuse_for_own_loop(train)
        keras.utils.set_random_seed(seed)
        replicas = strategy.num_replicas_in_sync
        restored = (_restored(checkpoints, kind, repeat, training.saved_epochs(kind, repeat))
                    if training.previous is not None else None)  # fmt: skip
        # the paired accuracy test's flags from each validation pass, not a second prediction
        # pass after training (one device: several would each see part of a batch)
        flags = (CorrectFlags(len(data.y_test), train.batch_size)
                 if replicas == 1 and not multiworker and not restored else None)  # fmt: skip
        with strategy.scope():
            model = (restore(restored[0], restored[1], spec, kind) if restored
                     else _compiled(spec, kind, flags, replicas, multiworker))  # fmt: skip
        self.model = model
        self.result = RunResult(
            model=kind,
            repeat=repeat,
            seed=seed,
            params=int(model.count_params()),
            macs_per_image=total_macs(spec.model, kind),
            steps_per_epoch=steps,
            batch_size=train.batch_size,
            replicas=replicas,
            epochs=list(restored[1]) if restored else [],
            images_per_epoch=len(data.y_train) if train.keep_partial_batch
            else steps * train.batch_size,
        )  # fmt: skip
        self.data, self.seed = data, seed
        self.val_ds = backend.feed(data.x_test, data.y_test, train.batch_size,
                                   rescale=spec.data.rescale, order=None, drop_remainder=False)  # fmt: skip
        self.recorder = EpochRecorder(self.result, observer, checkpoints)
        self.best = BestWeights(flags)  # after the recorder: what it keeps is not timed
        self.callbacks: list[keras.callbacks.Callback] = [self.recorder, self.best]
        if observer.wants_batches:  # no per-step callback unless displayed
            self.callbacks.append(ProgressForwarder(observer, kind))
        self._tensorboard(kind)
        self.trainer = None
        if multiworker:  # the backend's own loop (TensorFlow's, over tf.data's distributed shuffle)
            self.trainer = backend.custom_trainer(model, strategy, self.val_ds,
                                                  (data.x_train, data.y_train), train=train,
                                                  rescale=spec.data.rescale, seed=seed,
                                                  steps=steps)  # fmt: skip
        observer.model_start(kind, repeat, train.epochs, steps)

    def _tensorboard(self, kind: str) -> None:
        """--tensorboard's writers: two into one folder, the plain one every epoch, the
        profiling one for the first steady epoch only (Keras counts profiled steps anew in
        every fit call)."""
        train = self.spec.train
        self.tensorboard: list[keras.callbacks.Callback] = []
        self.profiled: keras.callbacks.Callback | None = None
        if train.tensorboard:
            backend = backends.current()
            log_dir = str(Path(train.tensorboard) / kind)
            self.tensorboard = [backend.tensorboard(log_dir)]
            if train.profile_steps:
                self.profiled = backend.profiler(log_dir, train.profile_steps)

    @property
    def finished(self) -> bool:
        """Whether this run trained all its epochs or stopped (diverged, interrupted)."""
        return (
            self.result.status != Status.complete
            or len(self.result.epochs) >= self.spec.train.epochs
        )

    def epoch(self, probe: Any) -> None:
        """Train the next epoch, after measuring the calibration probe."""
        self.recorder.probe_rate = probe.rate() if probe is not None else math.nan
        epoch = len(self.result.epochs)
        if self.trainer is not None:
            self.trainer.epoch(epoch, self.callbacks, self.observer.wants_batches)
            return
        first_steady = epoch == min(1, self.spec.train.epochs - 1)
        profiling = [self.profiled] if first_steady and self.profiled is not None else []
        train = self.spec.train
        # This epoch's batches: the same order on every backend, from the seed and the epoch.
        # The last partial batch is dropped so every step has the same shape and cost (unless
        # asked to keep it, as the reference did).
        order = batch_order(len(self.data.y_train), self.seed, epoch)
        train_ds = backends.current().feed(
            self.data.x_train, self.data.y_train, train.batch_size, rescale=self.spec.data.rescale,
            order=order, drop_remainder=not train.keep_partial_batch,
        )  # fmt: skip
        self.model.fit(
            train_ds,
            validation_data=self.val_ds,
            epochs=epoch + 1,
            initial_epoch=epoch,
            verbose=0,
            callbacks=self.callbacks + self.tensorboard + profiling,
            shuffle=False,  # the pipeline shuffles, from the seed
        )

    def finish(self) -> None:
        """Report the run's end (inference is measured for all runs together: measure_inference)."""
        self.observer.model_end(self.result)


def _restored(checkpoints: Path | None, kind: str, repeat: int, saved_epochs: int) -> Any:
    """The checkpoint `resume` continues from (None without one), refused when it holds fewer
    epochs than the results folder's history (the pointer is written before the history)."""
    restored = load_checkpoint(checkpoints, kind, repeat) if checkpoints else None
    if restored and len(restored[1]) < saved_epochs:
        raise DsbenchError(
            f"checkpoint of {kind} (repeat {repeat}) holds {len(restored[1])} epochs, the "
            f"results folder's history {saved_epochs}: they do not belong together",
            "delete the run's checkpoints folder to train this model from its start",
        )
    return restored


def _compiled(spec: RunSpec, kind: str, flags: Any, replicas: int, multiworker: bool) -> Any:
    """A fresh model of `kind`, compiled with Adam (its rate scaled by the replicas when
    scale_lr), accuracy and the validation pass's correct flags when there are any."""
    train = spec.train
    model = build(spec.model, kind, train.precision)
    model.compile(
        optimizer=keras.optimizers.Adam(train.learning_rate * (replicas if train.scale_lr else 1)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"] + ([flags] if flags is not None else []),
        jit_compile=False if multiworker else backends.current().jit_compile(train.jit),
        steps_per_execution=train.steps_per_execution,
    )
    return model


def measure_inference(runs: list[ModelRun], spec: RunSpec) -> None:
    """Inference of every completed run, the models side by side (speed.inference)."""
    for run in runs:
        run.result.jit = run.trainer is None and bool(getattr(run.model, "jit_compile", False))
    done = [run for run in runs if run.result.status == Status.complete]
    if not done or not spec.train.inference:
        return
    done[0].observer.working("measuring inference speed and model size (not timed as training)")
    measured = speed.inference({run.result.model: run.model for run in done},
                               spec.model.input_shape, done[0].result.jit)  # fmt: skip
    for run in done:
        run.result.inference = measured[run.result.model]


def record_best_predictions(runs: list[ModelRun]) -> None:
    """Which test images each completed run classified correctly at its best epoch: the two
    models' paired accuracy test. From that epoch's own validation pass (CorrectFlags), or,
    where the model has no such metric (restored from a checkpoint, several replicas), with one
    prediction pass after the timing with that epoch's weights. Not when the best epoch was
    trained before a resume (its weights are gone)."""
    for run in runs:
        if run.result.status != Status.complete:
            continue
        best = max(float(e["val_accuracy"]) for e in run.result.epochs)
        if run.best.best < best:  # the best epoch came before this process
            continue
        if run.best.correct is not None:
            run.result.best_val_correct = encode_correct(run.best.correct)
            continue
        if run.best.weights is None:
            continue
        run.observer.working(
            f"{run.result.model}: predicting the test images with its best "
            f"epoch's weights (for the paired accuracy test)"
        )
        run.model.set_weights(run.best.weights)
        predicted = run.model.predict(run.val_ds, verbose=0)
        labels = run.data.y_test.reshape(-1)
        run.result.best_val_correct = encode_correct(predicted.argmax(axis=-1) == labels)


def epoch_order(runs: list[ModelRun], schedule: str) -> list[ModelRun]:
    """The runs that train next, in order: sequential, the first unfinished run; interleaved,
    every unfinished run with the fewest epochs, in the kinds' order on even epochs (N S) and
    reversed on odd ones (S N), so neither model always goes first."""
    waiting = [run for run in runs if not run.finished]
    if not waiting:
        return []
    if schedule == "sequential":
        return waiting[:1]
    fewest = min(len(run.result.epochs) for run in waiting)
    behind = [run for run in waiting if len(run.result.epochs) == fewest]
    return behind if fewest % 2 == 0 else behind[::-1]


def train_models(
    training: Training,
    observer: Observer | None = None,
    on_epochs: Callable[[list[RunResult]], None] | None = None,
) -> list[RunResult]:
    """Train every kind for every repeat on the same data and seeds, in `spec.train.schedule`.

    `on_epochs` sees every result so far after each round of epochs (and after each repeat but
    the last), so results can be saved as they come; the caller saves the end. Ctrl-C or
    SIGTERM marks every unfinished run "interrupted" (its completed epochs kept) and stops; a
    NaN or infinite loss marks a run "diverged" and the others go on. `training.previous`
    (from an interrupted run) supplies finished runs, kept as they are; an unfinished one
    continues from its checkpoint (or starts over without one).
    """
    observer = observer or Observer()
    spec, previous = training.spec, training.previous or []
    backend = backends.current()
    if training.strategy is None:
        training = dataclasses.replace(training, strategy=backend.make_strategy(spec.train))
    if spec.train.deterministic:
        backend.deterministic()
    kept = {(r.model, r.repeat): r for r in previous if r.finished(spec.train.epochs)}
    probe = backend.Probe()
    observer.run_start(training.kinds, spec.train.epochs, spec.train.repeats,
                       sum(len(r.epochs) for r in previous))  # fmt: skip
    results: list[RunResult] = []
    for repeat in range(spec.train.repeats):
        ordered = [kept.get((kind, repeat)) or ModelRun(training, kind, repeat, observer)
                   for kind in training.kinds]  # fmt: skip
        runs = [item for item in ordered if isinstance(item, ModelRun)]
        current = [item.result if isinstance(item, ModelRun) else item for item in ordered]
        ended: set[int] = set()
        try:
            while batch := epoch_order(runs, spec.train.schedule):
                for run in batch:
                    run.epoch(probe)
                if on_epochs:
                    on_epochs(results + current)
            measure_inference(runs, spec)
            record_best_predictions(runs)
            for run in runs:
                run.finish()
                ended.add(id(run))
        except KeyboardInterrupt as exc:
            _interrupted([run for run in runs if id(run) not in ended], exc, observer)
            return results + current
        results += current
        if on_epochs and repeat < spec.train.repeats - 1:
            on_epochs(results)
    return results


def _interrupted(runs: list[ModelRun], exc: KeyboardInterrupt, observer: Observer) -> None:
    """Mark `runs` interrupted by Ctrl-C or the signal `exc` carries, their epochs kept."""
    for run in runs:
        run.result.status = Status.interrupted
        run.result.stopped_by = getattr(exc, "signum", signal.SIGINT)
        observer.model_end(run.result)


def _refuse_for_own_loop(train: TrainSpec) -> None:
    """multiworker's own loop has no XLA and runs one step per call: refuse asking for either."""
    if train.jit or train.steps_per_execution > 1:
        raise DsbenchError(
            "strategy multiworker trains with its own loop, which has no XLA and runs one "
            "step per call",
            "drop jit and steps_per_execution with strategy multiworker",
            setting=("strategy", "jit", "steps_per_execution"),
        )
