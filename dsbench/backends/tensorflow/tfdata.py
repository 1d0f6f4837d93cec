"""tf.data pipelines over the uint8 arrays, shared with TensorFlow without a copy (DLPack);
each batch converted to float32 inside the pipeline, never the whole set."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dsbench.data.arrays import is_aligned

if TYPE_CHECKING:
    import tensorflow as tf


def shared_tensor(x: np.ndarray) -> tf.Tensor:
    """A tensor over `x`'s own memory (DLPack, no copy) when `x` is aligned, else a copy.

    The tensor keeps `x` alive; neither side writes to it.
    """
    import tensorflow as tf

    if is_aligned(x):
        return tf.experimental.dlpack.from_dlpack(x.__dlpack__())
    return tf.constant(x)


def pipeline(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    rescale: bool,
    shuffle_seed: int | None,
    drop_remainder: bool,
    order: np.ndarray | None = None,
) -> tf.data.Dataset:
    """Batches of float32 images from uint8 arrays kept once in memory.

    The images are taken in `order` (batch_order's indices: the same batches on every backend)
    or, without one, shuffled anew every epoch by tf.data from `shuffle_seed` (the multi-worker
    loop's feed); each batch is gathered, converted to float32 (and scaled to [0, 1] when
    `rescale`), and prefetched.
    """
    import tensorflow as tf

    images = shared_tensor(x)  # the uint8 images, not copied when aligned; batches gathered from it
    labels = tf.constant(y.astype(np.int32))
    scale = 1.0 / 255.0 if rescale else 1.0
    indices = tf.data.Dataset.range(len(y))
    if order is not None:
        indices = tf.data.Dataset.from_tensor_slices(order.astype(np.int64))
    elif shuffle_seed is not None:
        indices = indices.shuffle(len(y), seed=shuffle_seed, reshuffle_each_iteration=True)
    batches = indices.batch(batch_size, drop_remainder=drop_remainder)

    def gather(index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        batch = tf.cast(tf.gather(images, index), tf.float32) * scale
        return batch, tf.gather(labels, index)

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    # tf.data's default graph rewrites serialise the dataset's graph, and with it the captured
    # image tensor: the first iterator then held a second copy of every image (+425 MiB for a
    # 399 MB array). Without them the images stay shared (tests/test_data.py measures it).
    options.experimental_optimization.apply_default_optimizations = False
    return (
        batches.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
        .with_options(options)
    )
