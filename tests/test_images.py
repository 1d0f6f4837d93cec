"""Your own images: an image-folder tree (train/<class>/, test/ or val/<class>/) of PNG files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import dsbench
from dsbench import data
from dsbench.errors import DsbenchError

CLASSES = ("cat", "dog", "emu")


def write_tree(root: Path, size: tuple[int, int] = (12, 10), per_class: int = 6,
               held_out: str = "test") -> Path:  # fmt: skip
    """PNG files whose red channel encodes the class, green the image's index."""
    for split, count in (("train", per_class), (held_out, 2)):
        for index, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = np.zeros((size[1], size[0], 3), np.uint8)
                pixels[..., 0], pixels[..., 1] = 50 * (index + 1), i
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def test_a_tree_loads_into_the_same_uint8_arrays(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    loaded = data.load_image_tree(write_tree(tmp_path / "imgs"), lambda d, t: calls.append((d, t)))
    assert loaded.x_train.shape == (18, 10, 12, 3) and loaded.x_train.dtype == np.uint8
    assert loaded.x_test.shape == (6, 10, 12, 3)
    assert loaded.classes == CLASSES
    assert loaded.y_train.tolist() == [0] * 6 + [1] * 6 + [2] * 6
    assert (loaded.x_train[:, 0, 0, 0] == 50 * (loaded.y_train + 1)).all()
    assert data.is_aligned(loaded.x_train)
    assert calls[-1] == (24, 24)


def test_val_works_as_test(tmp_path: Path) -> None:
    loaded = data.load_image_tree(write_tree(tmp_path / "v", held_out="val"))
    assert len(loaded.y_test) == 6


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "hold different classes: emu missing from test/"),
        ("size", "is 8x8, the images before it 12x10: all images must share one size"),
        ("unreadable", "cannot read image"),
        ("empty", "no images in dog"),
        ("one class", "holds 1 class folders; a comparison needs 2 or more"),
    ],
)
def test_broken_trees_are_one_clear_error(tmp_path: Path, damage: str, message: str) -> None:
    root = write_tree(tmp_path / "t")
    if damage == "missing":
        for path in (root / "test" / "emu").iterdir():
            path.unlink()
        (root / "test" / "emu").rmdir()
    elif damage == "size":
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "train" / "dog" / "9.png")
    elif damage == "unreadable":
        (root / "train" / "cat" / "0.png").write_bytes(b"not a png")
    elif damage == "empty":
        for path in (root / "train" / "dog").iterdir():
            path.unlink()
    else:
        for name in ("dog", "emu"):
            for split in ("train", "test"):
                for path in (root / split / name).iterdir():
                    path.unlink()
                (root / split / name).rmdir()
    with pytest.raises(DsbenchError, match=message.replace("(", r"\(")) as info:
        data.load_image_tree(root)
    assert info.value.settings == ("data_dir",)


@pytest.mark.slow  # trains on the image folders
def test_compare_on_your_own_images_builds_models_for_them(tmp_path: Path, invoke: Any) -> None:
    root = write_tree(tmp_path / "own", size=(16, 16))
    result = dsbench.compare(data_dir=str(root), epochs=1, batch_size=6, blocks="8x1",
                             inference=False)  # fmt: skip
    assert result.spec.model.input_shape == (16, 16, 3) and result.spec.model.num_classes == 3
    assert result.environment["data"]["source"].startswith("image folders")
    normal = result.summary.set_index("model").loc["normal", "params"]
    assert normal == (9 * 3 * 8 + 8) + (8 * 8 * 8 * 3 + 3)  # conv, then Dense(8x8x8 -> 3)
    summary = invoke(["summary", "--input-shape", "16,16,3", "--blocks", "8x1", "--json"])
    assert summary.exit_code == 0, summary.output
    assert json.loads(summary.stdout)["spec"]["input_shape"] == [16, 16, 3]


def test_summary_describes_the_model_for_a_folder_without_decoding_it(
    tmp_path: Path, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dsbench.data import images

    root = write_tree(tmp_path / "tree", size=(12, 10))
    monkeypatch.setattr(images, "_decode", lambda path: pytest.fail(f"decoded {path}"))
    result = invoke(["summary", "--data-dir", str(root), "--blocks", "8x1,16x1", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["spec"]["input_shape"] == [10, 12, 3]
    assert document["spec"]["num_classes"] == len(CLASSES)
    shown = invoke(["summary", "--data-dir", str(root)])
    assert f"Models for 10x12x3 images, {len(CLASSES)} classes" in shown.output
    # settings given explicitly stay: a model for 20 classes over the same images
    twenty = json.loads(invoke(["summary", "--data-dir", str(root), "--num-classes", "20",
                                "--json"]).output)  # fmt: skip
    assert twenty["spec"]["num_classes"] == 20
