"""The images both models train on: CIFAR-10 (cifar.py), your own image folders (images.py)
or synthetic data (generated.py), held once in memory as uint8 (arrays.py) and fed per batch
(the feeds that batch them for training live with each backend, dsbench.backends).

Images stay uint8 (N, 32, 32, 3) in memory (50,000 images = 154 MB), once: the arrays are
allocated 64-byte aligned so that the tf.data pipeline can share their memory with TensorFlow
(DLPack) instead of copying them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dsbench.data.arrays import (
    IMAGE_SHAPE,
    TENSOR_ALIGNMENT,
    Data,
    aligned,
    aligned_empty,
    balanced_subset,
    batch_order,
    is_aligned,
    regular_file,
    subset_index,
)
from dsbench.data.cifar import (
    ARCHIVE,
    BATCH_ROWS,
    DATA_DIR_ENV,
    FOLDER,
    OFFLINE_HINT,
    TEST_FILE,
    TRAIN_FILES,
    load_cifar10,
)
from dsbench.data.generated import SYNTHETIC_DEFAULT_SIZES, synthetic, synthetic_bytes
from dsbench.data.images import (
    check_image_budget,
    choose_images,
    is_image_tree,
    list_image_tree,
    load_image_tree,
)
from dsbench.spec.settings import DataSpec

__all__ = ["ARCHIVE", "BATCH_ROWS", "DATA_DIR_ENV", "FOLDER", "IMAGE_SHAPE", "OFFLINE_HINT",
           "SYNTHETIC_DEFAULT_SIZES", "TENSOR_ALIGNMENT", "TEST_FILE", "TRAIN_FILES", "Data",
           "aligned", "aligned_empty", "balanced_subset", "batch_order", "check_image_budget",
           "choose_images", "is_aligned", "is_image_tree", "list_image_tree", "load",
           "load_cifar10", "load_image_tree", "regular_file",
           "subset_index", "synthetic", "synthetic_bytes"]  # fmt: skip


def load(spec: DataSpec, seed: int, progress: Callable[[int, int], None] | None = None,
         shape: tuple[int, int, int] = IMAGE_SHAPE) -> Data:  # fmt: skip
    """The data `spec` asks for, subset to train_size/test_size (seeded, class-balanced);
    synthetic images are made at `shape`, the model's input shape.

    A `data_dir` holding train/<class>/ and test/<class>/ (or val/<class>/) image folders is
    read as such, whatever the dataset setting; `progress(done, total)` follows the decoding.
    """
    if spec.dataset == "synthetic":
        train_size = spec.train_size or SYNTHETIC_DEFAULT_SIZES[0]
        test_size = spec.test_size or SYNTHETIC_DEFAULT_SIZES[1]
        return synthetic(train_size, test_size, seed, shape)
    root = Path(spec.data_dir).expanduser() if spec.data_dir else None
    if root is not None and is_image_tree(root):  # subset by file name, decode only those
        return load_image_tree(root, progress, (spec.train_size, spec.test_size), seed)
    data = load_cifar10(spec.data_dir)
    x_train, y_train = balanced_subset(data.x_train, data.y_train, spec.train_size, seed, "train")
    x_test, y_test = balanced_subset(data.x_test, data.y_test, spec.test_size, seed + 1, "test")
    return Data(x_train, y_train, x_test, y_test, data.source, data.classes)
