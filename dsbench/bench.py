"""Inference measurements of a trained model: latency at batch 1, throughput, size on disk."""

from __future__ import annotations

import os
import tempfile
import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

LATENCY_CALLS = 50
THROUGHPUT_BATCH = 256
THROUGHPUT_CALLS = 5
WARMUP_CALLS = 5


def inference(
    model: keras.Model, input_shape: tuple[int, ...], jit: bool = False
) -> dict[str, Any]:
    """Median/p90 batch-1 latency over 50 calls and batch-256 images/s, after warm-up.

    Uses one compiled predict function (a tf.function around the model), not
    `model.predict` per call, which would time Keras' per-call set-up instead of the model.
    Also saves the model as .keras in a temporary folder and reports the file's size.
    """
    import tensorflow as tf

    predict = tf.function(
        lambda x: model(x, training=False), jit_compile=jit, reduce_retracing=True
    )
    one = tf.random.uniform((1, *input_shape))
    many = tf.random.uniform((THROUGHPUT_BATCH, *input_shape))

    def timed(x: tf.Tensor, calls: int) -> np.ndarray:
        for _ in range(WARMUP_CALLS):
            predict(x).numpy()
        times = np.empty(calls)
        for i in range(calls):
            start = time.perf_counter()
            predict(x).numpy()  # .numpy() waits for the result
            times[i] = time.perf_counter() - start
        return times

    latency = timed(one, LATENCY_CALLS)
    batch_times = timed(many, THROUGHPUT_CALLS)
    with tempfile.TemporaryDirectory(prefix="dsbench-") as folder:
        path = os.path.join(folder, f"{model.name}.keras")
        model.save(path)
        size = os.path.getsize(path)
    return {
        "latency_b1_ms": float(np.median(latency) * 1e3),
        "latency_b1_p90_ms": float(np.percentile(latency, 90) * 1e3),
        "infer_images_per_s": float(THROUGHPUT_BATCH / np.median(batch_times)),
        "model_file_bytes": int(size),
    }
