"""CIFAR-10 from a folder, a .tar.gz or Keras' cache; a learnable synthetic stand-in; tf.data.

Images stay uint8 (N, 32, 32, 3) in memory (50,000 images = 154 MB), once: the arrays are
allocated 64-byte aligned so that the tf.data pipeline can share their memory with TensorFlow
(DLPack) instead of copying them; conversion to float happens per batch inside the pipeline,
never for the whole set.
Batch files are pickles: they are read with a restricted unpickler that can rebuild numpy
arrays and nothing else, so a crafted file cannot run code.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from dsbench import tarball
from dsbench.config import DataSpec
from dsbench.errors import RUNTIME, DsbenchError

if TYPE_CHECKING:
    import tensorflow as tf

CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
IMAGE_SHAPE = (32, 32, 3)
DATA_DIR_ENV = "DSBENCH_DATA_DIR"
OFFLINE_HINT = (
    "set data_dir to a folder holding cifar-10-batches-py/ or cifar-10-python.tar.gz "
    f"(or set {DATA_DIR_ENV}), or use dataset synthetic"
)


@dataclass(frozen=True)
class Data:
    """Train and test splits: uint8 images (N, H, W, 3) and int labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # where the images came from, for the results' environment record
    classes: tuple[str, ...] = ()  # class names, for an image-folder tree


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
    """Unpickler that rebuilds numpy arrays and plain containers, and refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"forbidden global {module}.{name}")


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
        batch = _NumpyOnlyUnpickler(stream, encoding="bytes").load()
        return _check_batch(batch, label)
    except pickle.UnpicklingError as err:
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


def regular_file(path: Path) -> os.stat_result:
    """`path`'s stat when it is a regular file; a FIFO, device or socket is refused without
    being opened (opening a FIFO blocks until someone writes to it)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise DsbenchError(f"{path} is not a regular file", "point dsbench at ordinary files",
                           setting="data_dir")  # fmt: skip
    return info


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


TENSOR_ALIGNMENT = 64  # bytes; TensorFlow's CPU tensors must start on such a boundary


def aligned_empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on a TENSOR_ALIGNMENT boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    buffer = np.empty(nbytes + TENSOR_ALIGNMENT, dtype=np.uint8)
    offset = -buffer.ctypes.data % TENSOR_ALIGNMENT
    return buffer[offset : offset + nbytes].view(dtype).reshape(shape)


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


def synthetic(train_size: int, test_size: int, seed: int) -> Data:
    """A learnable 10-class dataset: a smooth colour pattern per class plus heavy noise.

    Deterministic for a given seed. Each image is its class template, shifted by a random
    offset of up to 4 pixels, with pixel noise, so models must learn shapes, not single pixels.
    """
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, size=(10, 4, 4, 3))
    templates = coarse.repeat(8, axis=1).repeat(8, axis=2)  # 10 smooth 32x32x3 patterns

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        shifts = rng.integers(-4, 5, size=(n, 2))
        images = aligned_empty((n, *IMAGE_SHAPE), np.uint8)
        for i in range(n):
            pattern = np.roll(templates[labels[i]], tuple(shifts[i]), axis=(0, 1))
            noisy = 0.6 * pattern + rng.normal(0, 50, size=IMAGE_SHAPE) + 50
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


def load(spec: DataSpec, seed: int, progress: Callable[[int, int], None] | None = None) -> Data:
    """The data `spec` asks for, subset to train_size/test_size (seeded, class-balanced).

    A `data_dir` holding train/<class>/ and test/<class>/ (or val/<class>/) image folders is
    read as such, whatever the dataset setting; `progress(done, total)` follows the decoding.
    """
    if spec.dataset == "synthetic":
        train_size = spec.train_size or SYNTHETIC_DEFAULT_SIZES[0]
        test_size = spec.test_size or SYNTHETIC_DEFAULT_SIZES[1]
        return synthetic(train_size, test_size, seed)
    root = Path(spec.data_dir).expanduser() if spec.data_dir else None
    if root is not None and is_image_tree(root):  # subset by file name, decode only those
        return load_image_tree(root, progress, (spec.train_size, spec.test_size), seed)
    data = load_cifar10(spec.data_dir)
    x_train, y_train = balanced_subset(data.x_train, data.y_train, spec.train_size, seed, "train")
    x_test, y_test = balanced_subset(data.x_test, data.y_test, spec.test_size, seed + 1, "test")
    return Data(x_train, y_train, x_test, y_test, data.source, data.classes)


# ---------------------------------------------------------------- your own images

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
TREE_HINT = "lay images out as train/<class>/*.png and test/<class>/*.png (or val/<class>/)"


def is_image_tree(root: Path) -> bool:
    """A folder with train/ and test/ (or val/) subfolders: the image_dataset_from_directory
    layout, one folder per class."""
    return (root / "train").is_dir() and ((root / "test").is_dir() or (root / "val").is_dir())


# Decoded images are held in memory: a folder is refused before decoding when one image has
# more pixels than MAX_IMAGE_PIXELS, or when the images would take more than
# MAX_EXPANSION times their size on disk (and more than FREE_DECODED_BYTES): a decompression bomb.
MAX_IMAGE_PIXELS = 8192 * 8192
FREE_DECODED_BYTES = 256 * 1024 * 1024
MAX_EXPANSION = 64  # PNG photos expand 2-4x, JPEG 5-30x; a bomb 1,000x and more


def list_image_tree(root: Path) -> tuple[list[str], dict[str, list[tuple[Path, int]]]]:
    """(class names, {"train"/"test": [(file, class index)]}) of an image-folder tree, without
    opening any image; anything under an image name that is not a regular file is refused."""
    held_out = root / "test" if (root / "test").is_dir() else root / "val"
    classes = sorted(d.name for d in (root / "train").iterdir() if d.is_dir())
    if len(classes) < 2:
        raise DsbenchError(f"{root / 'train'} holds {len(classes)} class folders; a "
                           "comparison needs 2 or more", TREE_HINT, setting="data_dir")  # fmt: skip
    held_classes = sorted(d.name for d in held_out.iterdir() if d.is_dir())
    if held_classes != classes:
        missing = sorted(set(classes) - set(held_classes)) or sorted(
            set(held_classes) - set(classes)
        )
        raise DsbenchError(
            f"{held_out} and {root / 'train'} hold different classes: {', '.join(missing[:5])} "
            f"{'missing from' if set(classes) - set(held_classes) else 'only in'} {held_out.name}/",
            TREE_HINT,
            setting="data_dir",
        )
    files = {
        split: [(p, index) for index, name in enumerate(classes)
                for p in sorted((folder / name).iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
        for split, folder in (("train", root / "train"), ("test", held_out))
    }  # fmt: skip
    for split, folder in (("train", root / "train"), ("test", held_out)):
        counts = {name: 0 for name in classes}
        for path, index in files[split]:
            regular_file(path)
            counts[classes[index]] += 1
        empty = [name for name, n in counts.items() if n == 0]
        if empty:
            raise DsbenchError(f"{folder}: no images in {', '.join(empty[:5])}",
                               f"add {', '.join(IMAGE_SUFFIXES)} files", setting="data_dir")  # fmt: skip
    return classes, files


def choose_images(
    root: Path, sizes: tuple[int | None, int | None], seed: int
) -> tuple[list[str], dict[str, list[tuple[Path, int]]], tuple[int, int, int]]:
    """The image files a run will decode (a seeded, class-balanced subset of each split's
    file names, the same as balanced_subset picks from decoded images) and their shape, from
    the files' headers alone: refused early when they cannot or should not be decoded."""
    classes, files = list_image_tree(root)
    for offset, (split, size) in enumerate(zip(("train", "test"), sizes, strict=True)):
        labels = np.array([index for _, index in files[split]], dtype=np.int64)
        chosen = subset_index(labels, size, seed + offset, split)
        files[split] = [files[split][i] for i in chosen]
    shape = check_image_budget([path for split in files.values() for path, _ in split])
    return classes, files, shape


def load_image_tree(
    root: Path,
    progress: Callable[[int, int], None] | None = None,
    sizes: tuple[int | None, int | None] = (None, None),
    seed: int = 0,
) -> Data:
    """Decode the images of train/<class>/ and test/<class>/ (or val/) into uint8 arrays.

    `sizes` (train, test) picks a seeded, class-balanced subset of file names first (the same
    images balanced_subset would pick), and only those are decoded. Any size and number of
    classes; all images must share one size (say which do not). Class indices follow the
    sorted class folder names of train/.
    """
    classes, files, shape = choose_images(root, sizes, seed)
    total = len(files["train"]) + len(files["test"])
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    done = 0
    for split in ("train", "test"):
        images = aligned_empty((len(files[split]), *shape), np.uint8)
        labels = np.array([index for _, index in files[split]], dtype=np.int64)
        for i, (path, _) in enumerate(files[split]):
            pixels = _decode(path)
            if pixels.shape != shape:
                raise DsbenchError(
                    f"{path} is {pixels.shape[1]}x{pixels.shape[0]}, the images before it "
                    f"{shape[1]}x{shape[0]}: all images must share one size",
                    "resize them to one size first", setting="data_dir",
                )  # fmt: skip
            images[i] = pixels
            done += 1
            if progress is not None and (done % 256 == 0 or done == total):
                progress(done, total)
        arrays[split] = (images, labels)
    source = f"image folders {root} ({len(classes)} classes)"
    return Data(*arrays["train"], *arrays["test"], source, tuple(classes))


def check_image_budget(paths: list[Path]) -> tuple[int, int, int]:
    """The images' shape (H, W, 3), read from their headers alone; refused when one image is
    too large, they differ in size, or decoding them all would take more memory than their
    size on disk makes plausible."""
    from PIL import Image

    shape: tuple[int, int, int] | None = None
    on_disk = 0
    for path in paths:
        try:
            with Image.open(path) as image:  # reads the header, not the pixels
                width, height = image.size
        except Exception as err:  # every Pillow failure means "not an image"
            raise _unreadable(path, err) from None
        if width * height > MAX_IMAGE_PIXELS:
            raise DsbenchError(
                f"image {path} is {width:,}x{height:,} pixels, more than the "
                f"{MAX_IMAGE_PIXELS:,} dsbench decodes per image",
                "resize it, or remove it", setting="data_dir",
            )  # fmt: skip
        if shape is None:
            shape = (height, width, 3)
        elif (height, width, 3) != shape:
            raise DsbenchError(
                f"{path} is {width}x{height}, the images before it {shape[1]}x{shape[0]}: "
                "all images must share one size",
                "resize them to one size first", setting="data_dir",
            )  # fmt: skip
        on_disk += path.stat().st_size
    assert shape is not None
    decoded = len(paths) * shape[0] * shape[1] * 3
    if decoded > max(FREE_DECODED_BYTES, MAX_EXPANSION * on_disk):
        raise DsbenchError(
            f"the {len(paths):,} images would take {decoded / 1e6:,.0f} MB decoded, "
            f"{decoded / max(on_disk, 1):,.0f}x their {on_disk / 1e6:,.1f} MB on disk (the "
            f"limit is {MAX_EXPANSION}x beyond {FREE_DECODED_BYTES / 1e6:,.0f} MB): "
            "a decompression bomb?",
            "use smaller images, or a smaller train_size / test_size",
            setting=("data_dir", "train_size", "test_size"),
        )  # fmt: skip
    return shape


def _decode(path: Path) -> np.ndarray:
    """An image as uint8 RGB; 16- and 32-bit grayscale are rescaled, not clipped to white."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            if image.mode.startswith("I") or image.mode == "F":
                return _gray_to_rgb(np.asarray(image), image.mode)
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as err:  # Pillow raises OSError, SyntaxError, ValueError,
        raise _unreadable(path, err) from None  # DecompressionBombError, MemoryError, ...


def _gray_to_rgb(values: np.ndarray, mode: str) -> np.ndarray:
    """16-bit (I;16*, or I holding 16-bit values as PNG gives them), 32-bit (I) and float (F,
    taken as 0..1) grayscale scaled to 0..255, then repeated into three channels."""
    values = values.astype(np.float64)
    if mode == "F":
        scaled = values * 255.0
    elif mode.startswith("I;16") or values.max(initial=0) <= 65535:
        scaled = values / 257.0
    else:
        scaled = values / 16843009.0  # (2**32 - 1) / 255
    gray = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)


def _unreadable(path: Path, err: BaseException) -> DsbenchError:
    reason = (str(err).splitlines() or [type(err).__name__])[0][:160] or type(err).__name__
    return DsbenchError(f"cannot read image {path} ({reason})", "delete or replace the file",
                        setting="data_dir")  # fmt: skip


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


# ---------------------------------------------------------------- feeding the models


def batch_order(images: int, seed: int, epoch: int) -> np.ndarray:
    """The order in which an epoch visits the training images: a permutation drawn from the
    run's seed and the epoch's number alone, so every backend (and a resumed run) feeds the
    same batches in the same order."""
    return np.random.default_rng([seed, epoch]).permutation(images)


# ---------------------------------------------------------------- tf.data pipelines


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
