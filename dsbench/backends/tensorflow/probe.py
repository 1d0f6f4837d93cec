"""A calibration probe: a fixed float32 matmul, timed before every epoch.

Its rate (GFLOP/s) tells whether the machine changed underneath a run (the 2-core machine this
was built on runs identical epochs at one of two speeds), and its best value is the machine's
dense float32 rate, against which a model's nominal GFLOP/s can be read. One probe takes about
60 ms on a 2-core CPU (1 warm-up + 5 timed 1024x1024 products), microseconds on a GPU.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

SIZE = 1024
REPEATS = 5


def device_sync() -> None:
    """Wait for queued GPU work, so a timestamp taken next is honest (a no-op on CPUs)."""
    if _has_gpu():
        tf.test.experimental.sync_devices()


_GPU: list[bool] = []


def _has_gpu() -> bool:
    if not _GPU:
        _GPU.append(bool(tf.config.list_logical_devices("GPU")))
    return _GPU[0]


class Probe:
    """Times `REPEATS` products of two fixed SIZE x SIZE float32 matrices; `rate()` in GFLOP/s."""

    def __init__(self, size: int = SIZE, repeats: int = REPEATS) -> None:
        rng = np.random.default_rng(0)
        self.a = tf.constant(rng.standard_normal((size, size), dtype=np.float32))
        self.b = tf.constant(rng.standard_normal((size, size), dtype=np.float32))
        self.flops = 2 * size**3
        self.repeats = repeats
        # Reducing to a scalar makes .numpy() wait for the product without copying it back.
        self.product = tf.function(lambda a, b: tf.reduce_sum(tf.linalg.matmul(a, b)))
        self.product(self.a, self.b).numpy()  # trace and warm up once

    def rate(self) -> float:
        """The median rate of the timed products, in GFLOP/s."""
        self.product(self.a, self.b).numpy()
        times = []
        for _ in range(self.repeats):
            start = time.perf_counter()
            self.product(self.a, self.b).numpy()
            times.append(time.perf_counter() - start)
        return float(self.flops / np.median(times) / 1e9)


def reset_device_memory() -> None:
    """Start a new peak of GPU memory (a no-op on CPUs)."""
    if _has_gpu():
        tf.config.experimental.reset_memory_stats("GPU:0")


def device_memory_peak_mib() -> float:
    """The GPU's peak memory since the last reset, MiB (NaN on CPUs, where TensorFlow keeps
    no per-device count; the process's peak RSS is in environment.json)."""
    if not _has_gpu():
        return float("nan")
    return float(tf.config.experimental.get_memory_info("GPU:0")["peak"]) / 2**20
