"""Does iterating dsbench's tf.data pipeline copy the images? RSS growth and images/s.

Builds the pipeline over a 293 MiB uint8 array (100,000 CIFAR-size images) and makes one pass,
with tf.data's default graph rewrites off (dsbench's setting) or on ("default"), and prints
how much resident memory grew and how fast the batches came.

    python benchmarks/pipeline_copy.py off; python benchmarks/pipeline_copy.py default
"""

from __future__ import annotations

import sys
import time

import numpy as np
import tensorflow as tf

from dsbench import data
from dsbench.backends.tensorflow import tfdata


def rss_mib() -> float:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * 4096 / 2**20


def main() -> None:
    variant = sys.argv[1] if len(sys.argv) > 1 else "off"
    x = data.aligned_empty((100_000, 32, 32, 3), np.uint8)
    x[...] = 7
    y = np.zeros(100_000, np.int64)
    tf.constant(1.0) + 1  # start TensorFlow's runtime before the baseline
    before = rss_mib()
    dataset = tfdata.pipeline(x, y, 128, rescale=True, shuffle_seed=0, drop_remainder=True)
    if variant == "default":
        options = tf.data.Options()
        options.experimental_optimization.apply_default_optimizations = True
        dataset = dataset.with_options(options)
    start, batches = time.perf_counter(), 0
    for _ in dataset:
        batches += 1
    elapsed = time.perf_counter() - start
    print(f"{variant}: RSS +{rss_mib() - before:.0f} MiB (array {x.nbytes / 2**20:.0f} MiB), "
          f"{batches} batches in {elapsed:.2f} s ({batches * 128 / elapsed:,.0f} images/s)")  # fmt: skip


if __name__ == "__main__":
    main()
