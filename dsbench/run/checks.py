"""What a run would fail on later, refused before the framework's slow start and before any
results folder exists: one line each, naming the setting."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dsbench.errors import DsbenchError
from dsbench.spec.settings import DEFAULT_BACKEND, RunSpec

if TYPE_CHECKING:
    from dsbench.spec.grid import Point


def check_processes(spec: RunSpec) -> None:
    """Settings that --processes cannot serve."""
    if callable(spec.model.arch):
        raise DsbenchError(
            f"processes {spec.train.processes}: a function given from Python cannot be sent to "
            "fresh worker processes",
            "give its file as arch = PATH.py:FUNCTION, or leave processes at 1",
            setting=("processes", "arch"),
        )
    if spec.train.strategy == "multiworker":
        raise DsbenchError(
            f"processes {spec.train.processes} cannot be combined with strategy multiworker",
            "each worker of a cluster is a process already: leave processes at 1",
            setting=("processes", "strategy"),
        )
    if spec.train.checkpoint:
        raise DsbenchError(
            f"processes {spec.train.processes} cannot be combined with checkpoint",
            "an interrupted run of several processes resumes from its last finished process; "
            "leave checkpoint off",
            setting=("processes", "checkpoint"),
        )


def check_points(spec: RunSpec, points: Sequence[Point]) -> None:
    """check_inputs for every point of a sweep (every backend installed and able), before
    anything runs."""
    for run_spec in dict.fromkeys(point.run_spec(spec) for point in points):
        check_inputs(run_spec)


def check_inputs(spec: RunSpec) -> None:
    """What the run would fail on later, refused before the framework's slow start and before
    any results folder is made: a backend that is missing or cannot serve the settings, a
    data_dir that does not exist, image folders that cannot or should not be decoded,
    synthetic data or a model larger than the memory, a TensorBoard folder that cannot be
    written."""
    from dsbench import backends

    backend = spec.train.backend or DEFAULT_BACKEND
    backends.check_installed(backend)
    backends.module(backend).refuse(spec.train)
    if spec.train.processes > 1:
        check_processes(spec)
    if spec.train.tensorboard:
        _check_writable(Path(spec.train.tensorboard).expanduser(), "tensorboard")
    if isinstance(spec.model.arch, str):  # before the framework starts: the file is there
        from dsbench.models.twin import check_arch

        check_arch(spec.model.arch)
    from dsbench.models.vgg import total_params

    # Weights, gradients and Adam's two slots: four float32 copies of every parameter.
    # (your own --arch is only known once built, after the framework starts: not checked here)
    params = 0 if spec.model.arch else total_params(spec.model, "normal")
    memory = _memory_bytes()
    if 16 * params > memory // 2:
        raise DsbenchError(
            f"the normal model would have {params:,} parameters, {16 * params / 1e9:,.1f} GB to "
            f"train, more than half of this machine's {memory / 1e9:,.1f} GB",
            "use fewer or narrower blocks, or a smaller input_shape",
            setting=("blocks", "input_shape"),
        )
    if spec.data.dataset == "synthetic":
        from dsbench.data import SYNTHETIC_DEFAULT_SIZES, synthetic_bytes

        sizes = (spec.data.train_size or SYNTHETIC_DEFAULT_SIZES[0],
                 spec.data.test_size or SYNTHETIC_DEFAULT_SIZES[1])  # fmt: skip
        needed = synthetic_bytes(sum(sizes), spec.model.input_shape)
        if needed > memory // 2:
            raise DsbenchError(
                f"train_size {sizes[0]:,} and test_size {sizes[1]:,} synthetic images take "
                f"{needed / 1e9:,.1f} GB, more than half of this machine's {memory / 1e9:,.1f} GB",
                "use fewer images",
                setting=("train_size", "test_size"),
            )
    elif spec.data.data_dir:
        from dsbench import data

        root = Path(spec.data.data_dir).expanduser()
        if not root.exists():
            raise DsbenchError(f"data dir {root} does not exist", data.OFFLINE_HINT,
                               setting=("data_dir", "dataset"))  # fmt: skip
        if data.is_image_tree(root):
            data.choose_images(root, (spec.data.train_size, spec.data.test_size), spec.train.seed)


def _check_writable(folder: Path, setting: str) -> None:
    """`folder` is, or can be made as, a folder this user can write to."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        what = "is not a folder" if not existing.is_dir() else "cannot be written"
        raise DsbenchError(f"{setting} {folder}: {existing} {what}",
                           "choose a folder you can write to", setting=setting)  # fmt: skip


def _memory_bytes() -> int:
    """This machine's physical memory (a large number where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 50
