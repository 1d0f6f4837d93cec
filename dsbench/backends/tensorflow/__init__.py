"""The TensorFlow backend: tf.data feeds, tf.distribute strategies, tf.function steps.

Every TensorFlow import in dsbench lives in this package: start-up (startup.py), strategies
(distribute.py), the multi-worker loop (custom_loop.py), the probe (probe.py), deploy's
exports (exporting.py) and the tf.data
feed (tfdata.py); this module is their one door for the rest of dsbench.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dsbench.spec.settings import TrainSpec

NAME = "tensorflow"
PACKAGE = "tensorflow"


def start(verbose: bool = False, multiworker: bool = False) -> None:
    """Import TensorFlow and Keras quietly (runtime.load_tensorflow)."""
    from dsbench.backends.tensorflow import startup as runtime

    runtime.load_tensorflow(verbose, multiworker=multiworker)


def refuse(train: TrainSpec) -> None:
    """TensorFlow can do everything dsbench asks of a backend."""


def versions() -> dict[str, Any]:
    import tensorflow as tf

    build = dict(tf.sysconfig.get_build_info())
    return {"tensorflow": tf.__version__, "build": {key: build.get(key) for key in
            ("is_cuda_build", "cuda_version", "cudnn_version")}}  # fmt: skip


def gpus() -> list[dict[str, Any]]:
    import tensorflow as tf

    out = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        out.append({"name": device.name, "model": details.get("device_name", "unknown"),
                    "compute_capability": details.get("compute_capability")})  # fmt: skip
    return out


def make_strategy(train: TrainSpec) -> Any:
    from dsbench.backends.tensorflow import distribute

    return distribute.make_strategy(train)


def describe(strategy: Any) -> dict[str, object]:
    from dsbench.backends.tensorflow import distribute

    return distribute.describe(strategy)


def device_line(described: dict[str, Any]) -> str:
    from dsbench.backends.tensorflow import startup as runtime

    return runtime.device_line(described)


def is_chief() -> bool:
    from dsbench.backends.tensorflow import distribute

    return distribute.is_chief()


def is_multiworker(strategy: Any) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def jit_compile(jit: bool | None) -> bool | str:
    """False by default: XLA measured 1.6x (normal) and 12x (separable) slower on CPU."""
    return "auto" if jit is None else jit


def deterministic() -> None:
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def sync() -> None:
    from dsbench.backends.tensorflow import probe

    probe.device_sync()


def reset_memory() -> bool:
    from dsbench.backends.tensorflow import probe

    probe.reset_device_memory()
    return True


def peak_memory_mib() -> float:
    from dsbench.backends.tensorflow import probe

    return probe.device_memory_peak_mib()


def Probe() -> Any:  # a function called like the class it makes
    from dsbench.backends.tensorflow import probe

    return probe.Probe()


def feed(x: np.ndarray, y: np.ndarray, batch: int, *, rescale: bool, order: np.ndarray | None,
         drop_remainder: bool) -> Any:  # fmt: skip
    """A tf.data pipeline over `x[order]` in batches (all images in order when `order` is None)."""
    from dsbench.backends.tensorflow.tfdata import pipeline

    return pipeline(x, y, batch, rescale=rescale, shuffle_seed=None, order=order,
                    drop_remainder=drop_remainder)  # fmt: skip


class Stepper:
    """One model's compiled step on a fixed batch: a training step or a forward pass."""

    def __init__(self, model: Any, x: Any, y: Any, mode: str, jit: bool) -> None:
        import keras
        import tensorflow as tf

        self.x, self.y = x, y
        if mode == "infer":
            self.step = tf.function(lambda x, y: model(x, training=False), jit_compile=jit)
            return
        optimizer = keras.optimizers.Adam(1e-3)
        loss_fn = keras.losses.SparseCategoricalCrossentropy()
        if model.dtype_policy.name.startswith("mixed_float16"):
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)

        def train_step(x: Any, y: Any) -> Any:
            # Keras' own train step, minus metrics: forward, loss (scaled under mixed
            # precision), gradients, Adam update.
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
                scaled = optimizer.scale_loss(loss)
            grads = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        self.step = tf.function(train_step, jit_compile=jit)

    def run(self, steps: int) -> float:
        """Seconds for `steps` steps, waiting for the last one to finish."""
        import time

        start = time.perf_counter()
        for _ in range(steps):
            out = self.step(self.x, self.y)
        np.asarray(out)  # waits for the result
        sync()
        return time.perf_counter() - start


def predictor(model: Any, jit: bool) -> Any:
    """A compiled forward pass returning a host array (so that the call waits for it).

    One tf.function per model, not `model.predict` per call, which would time Keras' per-call
    set-up instead of the model."""
    import tensorflow as tf

    function = tf.function(lambda x: model(x, training=False), jit_compile=jit,
                           reduce_retracing=True)  # fmt: skip
    return lambda x: function(x).numpy()


def tensorboard(log_dir: str) -> Any:
    """Keras' TensorBoard callback: scalars per epoch and the model graph."""
    import keras

    return keras.callbacks.TensorBoard(log_dir=log_dir, write_graph=True, profile_batch=0)


def check_batches(train: TrainSpec, train_images: int, test_images: int, replicas: int) -> None:
    """Any batch splits over the replicas here (tf.distribute pads the last one)."""


def profiler(log_dir: str, steps: tuple[int, int]) -> Any:
    """A TensorFlow profiler trace of steps A..B (Keras' TensorBoard callback)."""
    import keras

    return keras.callbacks.TensorBoard(log_dir=log_dir, write_graph=False, profile_batch=steps)


def custom_trainer(model: Any, strategy: Any, validation: Any, images: tuple[np.ndarray, np.ndarray],
                   *, train: TrainSpec, rescale: bool, seed: int, steps: int) -> Any:  # fmt: skip
    """TensorFlow's own loop on strategy.run (custom_loop.Trainer) over tf.data's distributed
    shuffle of `images`: MultiWorkerMirroredStrategy's way, where model.fit cannot be used."""
    from dsbench.backends.tensorflow.custom_loop import Trainer
    from dsbench.backends.tensorflow.tfdata import pipeline

    shuffled = pipeline(*images, train.batch_size, rescale=rescale, shuffle_seed=seed,
                        drop_remainder=not train.keep_partial_batch)  # fmt: skip
    return Trainer(model, strategy, shuffled, validation, steps=steps,
                   global_batch=train.batch_size)  # fmt: skip


def export(model: Any, path: Path, form: str, precision: str, representative: np.ndarray) -> None:
    from dsbench.backends.tensorflow import exporting as exports

    exports.export(model, path, form, precision, representative)
