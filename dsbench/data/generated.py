"""A learnable 10-class stand-in for CIFAR-10 when there is no network and no copy on disk."""

from __future__ import annotations

import numpy as np

from dsbench.data.arrays import IMAGE_SHAPE, Data, aligned_empty


def synthetic(train_size: int, test_size: int, seed: int,
              shape: tuple[int, int, int] = IMAGE_SHAPE) -> Data:  # fmt: skip
    """A learnable 10-class dataset: a smooth colour pattern per class plus heavy noise, of
    images of `shape` (CIFAR-10's 32x32x3 unless the model takes another).

    Deterministic for a given seed. Each image is its class template, shifted by a random
    offset of up to 4 pixels, with pixel noise, so models must learn shapes, not single pixels.
    """
    height, width, channels = shape
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, size=(10, 4, 4, channels))
    templates = coarse.repeat(-(-height // 4), axis=1).repeat(-(-width // 4), axis=2)
    templates = templates[:, :height, :width]  # 10 smooth patterns (8x8 tiles at 32x32)

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        shifts = rng.integers(-4, 5, size=(n, 2))
        images = aligned_empty((n, *shape), np.uint8)
        for i in range(n):
            pattern = np.roll(templates[labels[i]], tuple(shifts[i]), axis=(0, 1))
            noisy = 0.6 * pattern + rng.normal(0, 50, size=shape) + 50
            images[i] = np.clip(noisy, 0, 255)
        return images, labels.astype(np.int64)

    x_train, y_train = make(train_size)
    x_test, y_test = make(test_size)
    return Data(x_train, y_train, x_test, y_test, f"synthetic(seed={seed})")


# ---------------------------------------------------------------- choosing and subsetting

SYNTHETIC_DEFAULT_SIZES = (5000, 1000)


def synthetic_bytes(images: int, shape: tuple[int, int, int] = IMAGE_SHAPE) -> int:
    """Memory that `images` synthetic images take: uint8 arrays, float32 copies per batch aside."""
    return images * int(np.prod(shape))
