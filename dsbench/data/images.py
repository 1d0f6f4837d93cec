"""Your own images: train/<class>/ and test/<class>/ (or val/<class>/) folders, the layout
`keras.utils.image_dataset_from_directory` reads. Subsets are chosen by file name and only
those images are decoded; decompression bombs are refused before any pixel is decoded."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dsbench.data.arrays import Data, aligned_empty, regular_file, subset_index
from dsbench.errors import DsbenchError
from dsbench.spec.settings import ModelSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
# The decoders Pillow may use for them, and no other: a PostScript or EPS file named x.png
# would otherwise reach Ghostscript where it is installed.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
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


def model_for_tree(model: ModelSpec, root: Path) -> ModelSpec:
    """The model for an image-folder tree: its image shape (from the header of its first
    training image) and its class count (its class folders) replace the defaults (32x32x3,
    10); settings given explicitly stay. No pixel is decoded."""
    classes, files = list_image_tree(root)
    height, width, channels = check_image_budget([files["train"][0][0]])
    defaults = ModelSpec()
    if model.input_shape == defaults.input_shape:
        model = dataclasses.replace(model, input_shape=(height, width, channels))
    if model.num_classes == defaults.num_classes:
        model = dataclasses.replace(model, num_classes=len(classes))
    return model


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
            with Image.open(
                path, formats=IMAGE_FORMATS
            ) as image:  # reads the header, not the pixels
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
        with Image.open(path, formats=IMAGE_FORMATS) as image:
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
