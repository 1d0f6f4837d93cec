"""What the JAX and PyTorch backends share: they train through Keras 3's backend-neutral API
alone (keras.ops, keras.utils.PyDataset, train_on_batch), so nothing here imports a framework.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from dsbench.errors import DsbenchError
from dsbench.spec.settings import TrainSpec

# What the JAX and PyTorch backends take from here as they are (`from ... import *`).
__all__ = ["Probe", "Stepper", "custom_trainer", "describe", "export", "feed", "is_chief",
           "is_multiworker", "predictor", "start", "tensorboard"]  # fmt: skip

SIZE = 1024
REPEATS = 5


def start(verbose: bool = False, multiworker: bool = False) -> None:
    """Import Keras (KERAS_BACKEND is set by backends.select); XLA's and absl's start-up lines
    stay quiet unless `verbose`."""
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # noqa: F401

    _without_tensorflow()


def _without_tensorflow() -> None:
    """Keras imports TensorFlow wherever it is installed, whatever the backend, to seed it
    (keras.utils.set_random_seed) and to check types when it copies a model's config: seconds,
    and TensorFlow's log lines, for nothing a JAX or torch run uses (dsbench feeds them
    without tf.data). Unless something imported TensorFlow already, Keras is told it is
    absent, as on a machine without it. (Keras' lazy handle is private: if it moves, Keras
    imports TensorFlow as before.)"""
    try:
        from keras.src.utils.module_utils import tensorflow
    except ImportError:
        return
    if "tensorflow" not in sys.modules and "_available" in vars(tensorflow):
        tensorflow._available = False


def is_chief() -> bool:
    """One process writes the results: there is no cluster of workers on these backends."""
    return True


def is_multiworker(strategy: Any) -> bool:
    return False


@dataclass
class LocalDevices:
    """The 'strategy' of a backend without tf.distribute: the devices a model is built on.

    `scope()` is a no-op (a keras.distribution, when there is one, is set process-wide)."""

    name: str = "default"
    devices: list[str] = field(default_factory=list)
    num_replicas_in_sync: int = 1

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        yield


def describe(strategy: LocalDevices) -> dict[str, object]:
    return {"strategy": strategy.name, "replicas": strategy.num_replicas_in_sync, "workers": 1,
            "devices": list(strategy.devices)}  # fmt: skip


class Probe:
    """Times REPEATS products of two fixed SIZE x SIZE float32 matrices; `rate()` in GFLOP/s.

    Written in keras.ops, so it runs on the backend the models run on; reducing the product to
    a scalar and reading it back waits for the product without copying it."""

    def __init__(self, size: int = SIZE, repeats: int = REPEATS) -> None:
        import keras

        rng = np.random.default_rng(0)
        self.a = keras.ops.convert_to_tensor(rng.standard_normal((size, size), dtype=np.float32))
        self.b = keras.ops.convert_to_tensor(rng.standard_normal((size, size), dtype=np.float32))
        self.flops = 2 * size**3
        self.repeats = repeats
        self._product()  # compile and warm up once

    def _product(self) -> float:
        import keras

        return float(keras.ops.convert_to_numpy(keras.ops.sum(keras.ops.matmul(self.a, self.b))))

    def rate(self) -> float:
        """The median rate of the timed products, in GFLOP/s."""
        self._product()
        times = []
        for _ in range(self.repeats):
            start = time.perf_counter()
            self._product()
            times.append(time.perf_counter() - start)
        return float(self.flops / np.median(times) / 1e9)


def feed(x: np.ndarray, y: np.ndarray, batch: int, *, rescale: bool, order: np.ndarray | None,
         drop_remainder: bool) -> Any:  # fmt: skip
    """A keras.utils.PyDataset over the uint8 arrays: batches taken in `order` (all images in
    their order when None), converted to float32 per batch, never for the whole set."""
    import keras

    indices = np.arange(len(y)) if order is None else np.asarray(order)
    steps = len(indices) // batch if drop_remainder else -(-len(indices) // batch)
    scale = np.float32(1.0 / 255.0 if rescale else 1.0)
    labels = y.astype(np.int32)

    class ArrayFeed(keras.utils.PyDataset):
        def __len__(self) -> int:
            return steps

        def __getitem__(self, step: int) -> tuple[np.ndarray, np.ndarray]:
            take = indices[step * batch : (step + 1) * batch]
            return x[take].astype(np.float32) * scale, labels[take]

    return ArrayFeed()


class Stepper:
    """One model's compiled step on a fixed batch: Keras' own train step (forward, loss,
    gradients, Adam) through train_on_batch, or its forward pass through predict_on_batch.
    Each call returns host values, so a call ends when its step has."""

    def __init__(self, model: Any, x: Any, y: Any, mode: str, jit: bool) -> None:
        import keras

        self.x, self.y = x, y
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      jit_compile=jit)  # fmt: skip
        if mode == "infer":
            self.step: Callable[[], Any] = lambda: model.predict_on_batch(x)
        else:
            self.step = lambda: model.train_on_batch(x, y)

    def run(self, steps: int) -> float:
        """Seconds for `steps` steps, the last one finished."""
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return time.perf_counter() - start


def predictor(model: Any, jit: bool) -> Callable[[Any], Any]:
    """The model's compiled forward pass, returning a host array (so that the call waits)."""
    import keras

    if not getattr(model, "compiled", False):
        model.compile(jit_compile=jit)
    return lambda x: model.predict_on_batch(keras.ops.convert_to_numpy(x))


def tensorboard(log_dir: str) -> Any:
    """Per-epoch scalars for TensorBoard (train/ and validation/, as Keras' callback names them),
    written by TensorBoard's own writer: Keras' TensorBoard callback needs TensorFlow."""
    import keras

    class ScalarLogger(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            from tensorboard.summary import Writer

            if "tensorflow" not in sys.modules:  # TensorBoard's own switch to its TF stub
                sys.modules.setdefault("tensorboard.compat.notf", ModuleType("notf"))
            self.writers = {part: Writer(f"{log_dir}/{part}") for part in ("train", "validation")}

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            for name, value in (logs or {}).items():
                part = "validation" if name.startswith("val_") else "train"
                self.writers[part].add_scalar(f"epoch_{name.removeprefix('val_')}", float(value),
                                              epoch)  # fmt: skip
            for writer in self.writers.values():
                writer.flush()

    return ScalarLogger()


def custom_trainer(model: Any, strategy: Any, validation: Any, images: tuple[np.ndarray, np.ndarray],
                   *, train: TrainSpec, rescale: bool, seed: int, steps: int) -> Any:  # fmt: skip
    """No loop of dsbench's own here: model.fit trains on every strategy this backend has."""
    raise DsbenchError(f"strategy {train.strategy} needs TensorFlow's own training loop",
                       "use --backend tensorflow", setting="strategy")  # fmt: skip


def export(model: Any, path: Path, form: str, precision: str, representative: np.ndarray) -> None:
    """Not yet: deploy exports from the TensorFlow backend (docs/backends.md)."""
    import keras

    trained_on = {"jax": "JAX", "torch": "PyTorch"}.get(keras.backend.backend(), "this backend")
    raise DsbenchError(f"deploy exports {form} from the TensorFlow backend only; this run "
                       f"trained on {trained_on}", "deploy from a TensorFlow run, or deploy "
                       "--untrained --backend tensorflow for size and latency")  # fmt: skip
