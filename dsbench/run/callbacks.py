"""The Keras callbacks around each `model.fit` epoch: honest timing, and stopping.

An epoch's training time runs from the start of its first step to the end of its last (the
steps only: the data iterator's set-up before the first step is `setup_s`, and the set-up of
validation after the last step is left out), its validation time from on_test_begin to
on_test_end; on a GPU the device is synchronised before each timestamp (the backend's sync).
No per-step work beyond a comparison: the step hooks return at once after the first step.
"""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path
from typing import Any

import keras

from dsbench import backends
from dsbench.measure.records import RunResult, Status
from dsbench.observer import Observer
from dsbench.run.checkpoints import save_checkpoint


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


def now() -> float:
    """A timestamp after all queued device work has finished."""
    backends.current().sync()
    return time.perf_counter()


class EpochRecorder(keras.callbacks.Callback):
    """Times each epoch's training steps and validation apart, and stops on a NaN loss."""

    # Its on_train_batch_end only notes when the last step ended: Keras may keep dispatching
    # batch-end callbacks in a thread (JAX, PyTorch), instead of turning every step's logs
    # into floats on the training thread, which would wait for the device at every step.
    async_safe = True

    def __init__(self, result: RunResult, observer: Observer, checkpoints: Path | None) -> None:
        super().__init__()
        self.result = result
        self.observer = observer
        self.checkpoints = checkpoints
        self.probe_rate = math.nan  # set before each epoch
        self._traced = False  # the first epoch of this process traces the train function
        self._start = self._val_start = self._val_end = self._start_unix = 0.0
        self._last_step_end = self._first_step = 0.0
        self._peak_before = -math.inf

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.observer.epoch_start(self.result.model, epoch + 1)
        self._val_start = self._val_end = self._last_step_end = self._first_step = 0.0
        # Each model's own peak, even when they alternate; where the peak cannot be reset
        # (JAX), the process's peak so far, so that only a rise is this epoch's own.
        backend = backends.current()
        self._peak_before = -math.inf if backend.reset_memory() else backend.peak_memory_mib()
        self._start_unix = time.time()  # wall clock: the order the models ran in, across runs
        self._start = now()

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # The epoch's training time runs from the start of its first step (synced), so the
        # set-up of each fit call's data iterator (a constant per epoch, which would pull short
        # epochs' ratios towards 1) stays out of it. Later steps return at once.
        if not self._first_step:
            self._first_step = now()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # The end of the last step (synced): what follows it before validation (Keras sets up
        # the validation iterator there, ~9 ms on TensorFlow) stays out of the training time.
        # Called in Keras' callback thread where it dispatches asynchronously; Keras waits for
        # that thread before on_epoch_end, which reads the value.
        if batch + 1 >= self.result.steps_per_epoch:
            self._last_step_end = now()

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._val_start = now()

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        self._val_end = now()

    def _own_peak(self) -> float:
        """This epoch's peak device memory; NaN where it stayed under a peak set before it (by
        the other model, on a backend that keeps one peak per process): not this model's."""
        peak = backends.current().peak_memory_mib()
        return peak if peak > self._peak_before else math.nan

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        end = now()
        logs = logs or {}
        val_start = self._val_start or end
        first_step = self._first_step or self._start
        row = {
            "epoch": epoch + 1,
            "loss": float(logs.get("loss", math.nan)),
            "accuracy": float(logs.get("accuracy", math.nan)),
            "val_loss": float(logs.get("val_loss", math.nan)),
            "val_accuracy": float(logs.get("val_accuracy", math.nan)),
            # (a callback thread may note the last step late: never past validation's start)
            "train_s": min(self._last_step_end or val_start, val_start) - first_step,
            "val_s": (self._val_end or end) - val_start,
            "epoch_s": end - self._start,
            "setup_s": first_step - self._start,
            "start_unix_s": self._start_unix,
            "includes_tracing": not self._traced,
            "probe_gflop_per_s": self.probe_rate,
            "device_peak_mib": self._own_peak(),
        }
        self._traced = True
        self.result.epochs.append(row)
        if not math.isfinite(row["loss"]):
            self.result.status = Status.diverged
            self.model.stop_training = True
        elif self.checkpoints is not None:
            save_checkpoint(self.checkpoints, self.model, self.result)
        self.observer.epoch_end(self.result.model, row)


class ProgressForwarder(keras.callbacks.Callback):
    """Forwards per-step logs to the observer; async_safe lets Keras call it off the hot path."""

    async_safe = True

    def __init__(self, observer: Observer, kind: str) -> None:
        super().__init__()
        self.observer, self.kind = observer, kind

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.observer.batch_end(self.kind, batch + 1, dict(logs or {}))


@keras.saving.register_keras_serializable(package="dsbench")
class CorrectFlags(keras.metrics.Metric):
    """Which test images the last validation pass classified correctly, in order: the paired
    accuracy test's input, read at the end of the best epoch (BestWeights) instead of predicting
    the test images again after training. Keras passes a compiled metric every batch, training
    batches too: writes start at min(images seen, `images`) in a buffer `batch` longer, so no
    write leaves it, and Keras resets the metric before each validation pass, which then fills
    the first `images` entries in the order of the (unshuffled) test set. Its result, the
    number of images seen, is no figure of dsbench's."""

    def __init__(self, images: int, batch: int, name: str = "correct_flags", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.images, self.batch = int(images), int(batch)
        self.flags = self.add_variable(shape=(self.images + self.batch,), initializer="zeros",
                                       dtype="float32", name="flags")  # fmt: skip
        self.seen = self.add_variable(shape=(), initializer="zeros", dtype="int32", name="seen")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        ops = keras.ops
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        guessed = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        correct = ops.cast(ops.equal(guessed, labels), "float32")
        seen = ops.convert_to_tensor(self.seen)  # values, not Variables (JAX traces them)
        start = ops.minimum(seen, self.images)
        flags = ops.slice_update(ops.convert_to_tensor(self.flags), (start,), correct)
        self.flags.assign(flags)
        self.seen.assign(seen + ops.shape(labels)[0])

    def result(self) -> Any:
        return keras.ops.cast(self.seen, "float32")

    def correct(self) -> Any:
        """The last validation pass's flags, one per test image (booleans)."""
        import numpy as np

        return np.asarray(keras.ops.convert_to_numpy(self.flags))[: self.images] > 0.5

    def get_config(self) -> dict[str, Any]:
        return {"images": self.images, "batch": self.batch, "name": self.name}


class BestWeights(keras.callbacks.Callback):
    """At the epoch with the best validation accuracy so far (after the EpochRecorder has timed
    the epoch): which test images it classified correctly, from `flags` (CorrectFlags) when the
    model was compiled with it, else a copy of its weights (in memory) to predict them with
    after training. For the paired accuracy test."""

    def __init__(self, flags: CorrectFlags | None = None) -> None:
        super().__init__()
        self.best = -math.inf
        self.flags = flags
        self.weights: list[Any] | None = None
        self.correct: Any = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        accuracy = float((logs or {}).get("val_accuracy", math.nan))
        if accuracy > self.best:  # (NaN never is)
            self.best = accuracy
            if self.flags is not None:
                self.correct = self.flags.correct()
            else:
                self.weights = self.model.get_weights()
