"""CIFAR-10 from a folder, the original .tar.gz or Keras' cache.

Batch files are pickles: they are read with a restricted unpickler that can rebuild numpy
arrays and nothing else, so a crafted file cannot run code; sizes and shapes are checked
before anything is copied.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
from pathlib import Path
from typing import IO, Any

import numpy as np

from dsbench.data import tarball
from dsbench.data.arrays import IMAGE_SHAPE, Data, aligned, aligned_empty, regular_file
from dsbench.errors import RUNTIME, DsbenchError

FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
DATA_DIR_ENV = "DSBENCH_DATA_DIR"
# Where CIFAR-10 comes from, for a machine that cannot download it itself.
SOURCE = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFLINE_HINT = (
    f"copy cifar-10-python.tar.gz (170 MB, from {SOURCE}) into a folder and set data_dir to "
    f"it (or set {DATA_DIR_ENV}), or try dataset synthetic"
)


# ---------------------------------------------------------------- safe unpickling

_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds numpy arrays of whole numbers and plain containers, and refuses
    every other global. An array may hold no more elements than the file has bytes: the
    allow-list bounds what runs, this bounds what it allocates (a 155-byte pickle can ask for
    an object array of 50 million elements)."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, encoding="bytes")
        self.limit = limit

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}")
        found = super().find_class(module, name)
        if name == "dtype":
            return _whole_number_dtype
        if name == "_reconstruct":
            return lambda kind, shape, dtype: found(kind, self._bounded(shape), _whole(dtype))
        if name == "_frombuffer":
            return lambda buffer, dtype, shape, order: found(buffer, _whole(dtype),
                                                             self._bounded(shape), order)  # fmt: skip
        return found

    def _bounded(self, shape: Any) -> Any:
        count = 1
        for size in shape if isinstance(shape, tuple) else (shape,):
            if not isinstance(size, int) or size < 0:
                raise pickle.UnpicklingError("an array shape that is not whole numbers")
            count *= size
        if count > self.limit:
            raise pickle.UnpicklingError(f"an array of {count:,} elements in a file of "
                                         f"{self.limit:,} bytes")  # fmt: skip
        return shape


def _whole(dtype: Any) -> Any:
    """`dtype` if it is one of whole numbers (CIFAR's uint8 pixels, integer labels)."""
    if np.dtype(dtype).kind not in "ui":
        raise pickle.UnpicklingError(f"an array of {np.dtype(dtype)}, not of whole numbers")
    return dtype


def _whole_number_dtype(*args: Any) -> np.dtype[Any]:
    """numpy.dtype as a pickle may call it, for whole-number types only."""
    return _whole(np.dtype(*args))


BATCH_ROWS = 10_000  # images in every CIFAR-10 python batch file
ROW_BYTES = 3072  # 32 x 32 x 3


# A real batch file is 31,035,xxx bytes; anything much larger is not one (checked before
# unpickling, so a crafted file cannot make dsbench read gigabytes).
MAX_BATCH_BYTES = BATCH_ROWS * ROW_BYTES + 4_000_000


def check_batch_size(size: int, label: str) -> None:
    """Refuse a batch file too large to be one, before reading it."""
    if size > MAX_BATCH_BYTES:
        raise DsbenchError(
            f"{label} is not a CIFAR-10 batch: {size:,} bytes, more than the "
            f"{MAX_BATCH_BYTES:,} a batch of {BATCH_ROWS:,} images can take",
            "use an original copy of CIFAR-10 (python version)",
        )


def _read_batch(stream: IO[bytes], label: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode one CIFAR-10 python batch into NHWC uint8 images and int64 labels.

    Everything is checked before any array is copied or reshaped: a crafted file (an array
    with zero strides over one byte, labels that are nested lists sharing one memoised list,
    a wrong number of rows) is refused with one line instead of filling the memory.
    """
    try:
        start = stream.tell()
        size = stream.seek(0, os.SEEK_END) - start
        stream.seek(start)
        batch = _NumpyOnlyUnpickler(stream, size).load()
        return _check_batch(batch, label)
    except pickle.UnpicklingError as err:
        if str(err).startswith("an array"):  # of floats or objects, or larger than the file
            raise DsbenchError(f"{label} is not a CIFAR-10 batch: it holds {err}",
                               "use an original copy of CIFAR-10 (python version)") from None  # fmt: skip
        if "forbidden global" in str(err):
            raise DsbenchError(
                f"{label} is not a CIFAR-10 batch: it asks to load {str(err)[17:]}, which dsbench "
                "refuses to run",
                "delete the file and use an original copy of CIFAR-10",
            ) from None
        raise _corrupt(label, err) from None
    except MemoryError:
        raise DsbenchError(
            f"{label}: not enough memory to read it (is it really a CIFAR-10 batch?)",
            "use an original copy of CIFAR-10 (python version)",
        ) from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, RecursionError) as err:
        raise _corrupt(label, err) from None


def _check_batch(batch: Any, label: str) -> tuple[np.ndarray, np.ndarray]:
    damaged = "the file is damaged; use an original copy of CIFAR-10"
    original = "use an original copy of CIFAR-10 (python version)"
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DsbenchError(
            f"{label} is not a CIFAR-10 batch: expected a dict with b'data' and b'labels'", original
        )
    data, labels = batch[b"data"], batch[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        raise DsbenchError(
            f"{label}: b'data' must be a uint8 array of shape (N, 3072), got "
            f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}",
            original,
        )
    if data.shape[1] != ROW_BYTES:
        raise DsbenchError(
            f"{label}: b'data' rows must hold 3072 values (32x32x3), got {data.shape[1]}", original
        )
    # An array over a buffer smaller than it claims (zero strides) or over memory it does not
    # hold in full would be materialised by the first copy: refuse it first.
    base = data.base
    holds_its_bytes = base is None or (isinstance(base, bytes) and len(base) == data.nbytes)
    if not data.flags.c_contiguous or 0 in data.strides or not holds_its_bytes:
        raise DsbenchError(
            f"{label}: b'data' is not a plain array (strides {data.strides}, over a buffer that "
            "does not hold its values)",
            original,
        )
    if not isinstance(labels, list) or not all(type(v) is int for v in labels):
        raise DsbenchError(f"{label}: b'labels' must be a flat list of integers", original)
    if len(labels) != len(data):
        raise DsbenchError(f"{label}: {len(data)} images but {len(labels)} labels", damaged)
    if labels and (min(labels) < 0 or max(labels) > 9):
        raise DsbenchError(
            f"{label}: labels must be 0..9, found {min(labels)}..{max(labels)}", damaged
        )
    if len(data) != BATCH_ROWS:
        raise DsbenchError(
            f"{label}: a CIFAR-10 batch holds exactly {BATCH_ROWS:,} images, this one {len(data):,}",
            damaged,
        )
    # Each row is 1024 R, 1024 G, 1024 B values, each plane row-major 32x32.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int64)


def _corrupt(label: str, err: BaseException) -> DsbenchError:
    reason = str(err) or type(err).__name__
    return DsbenchError(
        f"{label} is truncated or corrupt ({reason})",
        "download CIFAR-10 again or point data_dir at an intact copy",
        setting="data_dir",
    )


# ---------------------------------------------------------------- CIFAR-10 sources


def _load_folder(folder: Path) -> Data:
    missing = [name for name in (*TRAIN_FILES, TEST_FILE) if not (folder / name).exists()]
    if missing:
        raise DsbenchError(
            f"{folder} lacks {', '.join(missing)}",
            "it must hold data_batch_1..data_batch_5 and test_batch from cifar-10-python.tar.gz",
        )
    parts = []
    for name in (*TRAIN_FILES, TEST_FILE):
        try:
            check_batch_size(regular_file(folder / name).st_size, str(folder / name))
            with open(folder / name, "rb") as stream:
                parts.append(_read_batch(stream, str(folder / name)))
        except OSError as err:
            raise DsbenchError(f"cannot read {folder / name}: {err.strerror}") from None
    return _join(parts, str(folder))


# The original unpacks to 178 MB: 6 batches and small files; nothing larger is ever read.
MAX_ARCHIVE_BYTES = 8 * MAX_BATCH_BYTES


def _load_archive(archive: Path) -> Data:
    label = str(archive)
    names = [f"{FOLDER}/{name}" for name in (*TRAIN_FILES, TEST_FILE)]
    refuse = "unpack it yourself and point data_dir at the cifar-10-batches-py folder"

    def check(name: str, size: int) -> None:
        check_batch_size(size, f"{label}:{name}")

    try:
        regular_file(archive)
        with gzip.open(archive, "rb") as stream:
            found = tarball.read_members(stream, set(names), MAX_ARCHIVE_BYTES, check)
            # to the end of the gzip stream, so that its CRC is checked (the tar's end blocks
            # come before it): a damaged byte in a member is refused, not returned
            tarball.drain(stream, MAX_ARCHIVE_BYTES)
    except DsbenchError:
        raise
    except tarball.Refused as err:  # a member or header dsbench does not read
        raise DsbenchError(f"{label} {err}", refuse, setting="data_dir") from None
    except Exception as err:  # gzip, zlib and EOF errors all mean a damaged archive
        raise _corrupt(label, err) from None
    missing = [name for name in names if name not in found]
    if missing:
        raise DsbenchError(f"{label} lacks {', '.join(missing)}",
                           "use the original cifar-10-python.tar.gz", setting="data_dir")  # fmt: skip
    parts = [_read_batch(io.BytesIO(found.pop(name)), f"{label}:{name}") for name in names]
    return _join(parts, label)


def _join(parts: list[tuple[np.ndarray, np.ndarray]], source: str) -> Data:
    x_train = np.concatenate(
        [p[0] for p in parts[:5]],
        out=aligned_empty((sum(len(p[0]) for p in parts[:5]), *IMAGE_SHAPE), np.uint8),
    )
    y_train = np.concatenate([p[1] for p in parts[:5]])
    return Data(x_train, y_train, aligned(parts[5][0]), parts[5][1], source)


def load_cifar10(data_dir: str | os.PathLike[str] | None = None) -> Data:
    """CIFAR-10 from `data_dir` (or $DSBENCH_DATA_DIR); else Keras' download-and-cache."""
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV) or None
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        if not root.exists():
            raise DsbenchError(
                f"data dir {root} does not exist", OFFLINE_HINT, setting=("data_dir", "dataset")
            )
        if root.is_file() and root.name.endswith((".tar.gz", ".tgz")):
            return _load_archive(root)
        if not root.is_dir():
            raise DsbenchError(
                f"data dir {root} is not a folder", OFFLINE_HINT, setting=("data_dir", "dataset")
            )
        for candidate in (root / FOLDER, root):
            if (candidate / TEST_FILE).exists() or (candidate / TRAIN_FILES[0]).exists():
                return _load_folder(candidate)
        if (root / ARCHIVE).is_file():
            return _load_archive(root / ARCHIVE)
        raise DsbenchError(
            f"data dir {root} holds neither {FOLDER}/ nor {ARCHIVE}",
            "download cifar-10-python.tar.gz (python version) into it, or unpack it there",
        )
    return _load_keras_cache()


def _load_keras_cache() -> Data:
    import contextlib
    import sys

    import keras

    try:
        # Keras prints "Downloading data from ..." on stdout, which belongs to --json alone.
        with contextlib.redirect_stdout(sys.stderr):
            (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as err:  # urllib, socket and Keras' own errors: all mean "could not fetch"
        cause = (str(err).splitlines() or [""])[0][:200] or type(err).__name__
        raise DsbenchError(
            f"could not download CIFAR-10 through Keras (no network? {cause})",
            OFFLINE_HINT,
            exit_code=RUNTIME,
            setting=("data_dir", "dataset"),
        ) from err  # --debug shows the whole chain
    return Data(
        aligned(x_train),
        y_train.reshape(-1).astype(np.int64),
        aligned(x_test),
        y_test.reshape(-1).astype(np.int64),
        "keras.datasets.cifar10",
    )


# ---------------------------------------------------------------- synthetic data
