"""The images in memory: `Data` (uint8 arrays, once), aligned allocation so TensorFlow can share
them, seeded class-balanced subsets, the order an epoch visits them, and safe file checks."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dsbench.errors import DsbenchError

IMAGE_SHAPE = (32, 32, 3)


@dataclass(frozen=True)
class Data:
    """Train and test splits: uint8 images (N, H, W, 3) and int labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # where the images came from, for the results' environment record
    classes: tuple[str, ...] = ()  # class names, for an image-folder tree


def regular_file(path: Path) -> os.stat_result:
    """`path`'s stat when it is a regular file; a FIFO, device or socket is refused without
    being opened (opening a FIFO blocks until someone writes to it)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise DsbenchError(f"{path} is not a regular file", "point dsbench at ordinary files",
                           setting="data_dir")  # fmt: skip
    return info


TENSOR_ALIGNMENT = 64  # bytes; TensorFlow's CPU tensors must start on such a boundary


def aligned_empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on a TENSOR_ALIGNMENT boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    buffer = np.empty(nbytes + TENSOR_ALIGNMENT, dtype=np.uint8)
    offset = -buffer.ctypes.data % TENSOR_ALIGNMENT
    out: np.ndarray = buffer[offset : offset + nbytes].view(dtype).reshape(shape)
    return out


def is_aligned(x: np.ndarray) -> bool:
    """Whether TensorFlow can use `x`'s memory as it is: C-contiguous, aligned, not empty."""
    return bool(x.size) and x.flags.c_contiguous and x.ctypes.data % TENSOR_ALIGNMENT == 0


def aligned(x: np.ndarray) -> np.ndarray:
    """`x` itself when it `is_aligned`, else an aligned copy."""
    if is_aligned(x):
        return x
    out = aligned_empty(x.shape, x.dtype)
    out[...] = x
    return out


def subset_index(y: np.ndarray, size: int | None, seed: int, split: str) -> np.ndarray:
    """The sorted indices of a seeded subset of `size` images with classes as equal as
    possible (all of them if size is None)."""
    if size is None or size == len(y):
        return np.arange(len(y))
    if size > len(y):
        raise DsbenchError(
            f"{split}_size {size} is larger than the {len(y)} {split} images the source holds",
            f"use {split}_size {len(y)} or less",
            setting=f"{split}_size",
        )
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per_class = {c: size // len(classes) for c in classes}
    for c in rng.permutation(classes)[: size % len(classes)]:
        per_class[c] += 1
    chosen = []
    for c in classes:
        members = np.flatnonzero(y == c)
        if per_class[c] > len(members):
            raise DsbenchError(
                f"{split}_size {size} needs {per_class[c]} images of class {c}, "
                f"the source holds {len(members)}",
                f"use a smaller {split}_size",
                setting=f"{split}_size",
            )
        chosen.append(rng.choice(members, per_class[c], replace=False))
    return np.sort(np.concatenate(chosen))


def balanced_subset(
    x: np.ndarray, y: np.ndarray, size: int | None, seed: int, split: str
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded subset of `size` images with classes as equal as possible (all if size is None)."""
    if size is None or size == len(y):
        return x, y
    index = subset_index(y, size, seed, split)
    out = aligned_empty((len(index), *x.shape[1:]), x.dtype)
    return np.take(x, index, axis=0, out=out), y[index]


def batch_order(images: int, seed: int, epoch: int) -> np.ndarray:
    """The order in which an epoch visits the training images: a permutation drawn from the
    run's seed and the epoch's number alone, so every backend (and a resumed run) feeds the
    same batches in the same order."""
    return np.random.default_rng([seed, epoch]).permutation(images)
