"""Fixtures: tiny CIFAR-10 batch files in the exact python format, and a CLI runner."""

from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Per batch file; the real files hold 10,000 images each.
IMAGES_PER_BATCH = 20
BATCH_NAMES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]

# A small architecture so training tests take seconds; exact-count tests use the reference.
TINY_BLOCKS = "16x1,32x1"


def cifar_rows(images: np.ndarray) -> np.ndarray:
    """NHWC uint8 images -> CIFAR rows: 1024 R, 1024 G, 1024 B values, each plane row-major."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), 3072)


def write_batch(path: Path, images: np.ndarray, labels: list[int], protocol: int = 4) -> None:
    """Write one batch file the way CIFAR-10's python version stores it."""
    batch = {
        b"batch_label": b"testing batch",
        b"labels": list(labels),
        b"data": cifar_rows(images),
        b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))],
    }
    with open(path, "wb") as stream:
        pickle.dump(batch, stream, protocol=protocol)


def make_split(seed: int, n: int = IMAGES_PER_BATCH) -> tuple[np.ndarray, list[int]]:
    """Random images whose top-left pixel encodes (label, channel) so layout errors show."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    labels = [int(v) for v in np.arange(n) % 10]
    for i, label in enumerate(labels):
        images[i, 0, 0] = (label, 100 + label, 200 + label)  # R, G, B differ
    return images, labels


@pytest.fixture
def cifar_dir(tmp_path: Path) -> Path:
    """A data dir holding cifar-10-batches-py/ with five train batches and a test batch."""
    folder = tmp_path / "data" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for seed, name in enumerate(BATCH_NAMES):
        write_batch(folder / name, *make_split(seed))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"x"] * 10}, protocol=3))
    return tmp_path / "data"


@pytest.fixture
def cifar_archive(cifar_dir: Path, tmp_path: Path) -> Path:
    """The same files as the original cifar-10-python.tar.gz."""
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    archive = archive_dir / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(cifar_dir / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return archive


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
