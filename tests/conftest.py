"""Fixtures: tiny CIFAR-10 batch files in the exact python format, one tiny training setup
shared by every test that trains, a CLI invoker, and hand-made RunResults (no TensorFlow)."""

from __future__ import annotations

import os
import pickle
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer.testing
import workers
from typer.testing import CliRunner, Result

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Hermetic output: captured output is laid out for 160 columns unless COLUMNS says otherwise
# (cli/main.py), and a shell or pytest-xdist's workers may export COLUMNS; tests that want a
# width set it themselves.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

# The click command is built from the Typer app once, as the console script builds it once per
# process; typer's CliRunner would rebuild it for every invocation (~40 ms each, most of a
# refused command's time, and hundreds of invocations in the suite).
_built: dict[int, tuple[Any, Any]] = {}
_build = typer.testing._get_command


def _built_once(app: Any) -> Any:
    if id(app) not in _built:
        _built[id(app)] = (app, _build(app))
    return _built[id(app)][1]


typer.testing._get_command = _built_once

# Per batch file; the real files hold 10,000 images each.
IMAGES_PER_BATCH = 20
BATCH_NAMES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]

# The one tiny training setup: a small architecture and a few hundred synthetic images, so a
# run takes seconds. Exact-count tests use the reference architecture without training.
TINY_SETTINGS: dict[str, Any] = {
    "dataset": "synthetic",
    "train_size": 256,
    "test_size": 64,
    "batch_size": 32,
    "blocks": "8x1,16x1",
    "inference": False,
}


def cifar_rows(images: np.ndarray) -> np.ndarray:
    """NHWC uint8 images -> CIFAR rows: 1024 R, 1024 G, 1024 B values, each plane row-major."""
    return np.asarray(images.transpose(0, 3, 1, 2).reshape(len(images), 3072))


def _write_batch(path: Path, images: np.ndarray, labels: list[int], protocol: int = 4) -> None:
    batch = {
        b"batch_label": b"testing batch",
        b"labels": list(labels),
        b"data": cifar_rows(images),
        b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))],
    }
    with open(path, "wb") as stream:
        pickle.dump(batch, stream, protocol=protocol)


def _make_split(seed: int, n: int = IMAGES_PER_BATCH) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    labels = [int(v) for v in np.arange(n) % 10]
    for i, label in enumerate(labels):
        images[i, 0, 0] = (label, 100 + label, 200 + label)  # R, G, B differ
    return images, labels


@pytest.fixture
def write_batch() -> Callable[..., None]:
    """Write one batch file the way CIFAR-10's python version stores it."""
    return _write_batch


@pytest.fixture
def make_split() -> Callable[..., tuple[np.ndarray, list[int]]]:
    """Random images whose top-left pixel encodes (label, channel) so layout errors show."""
    return _make_split


@pytest.fixture
def images_per_batch() -> int:
    return IMAGES_PER_BATCH


@pytest.fixture
def cifar_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir holding cifar-10-batches-py/ with five train batches and a test batch.

    Real batch files hold 10,000 images each and dsbench insists on it; these hold
    IMAGES_PER_BATCH, so the loader is told to expect that many while the fixture is in use.
    """
    from dsbench import data

    monkeypatch.setattr(data.cifar, "BATCH_ROWS", IMAGES_PER_BATCH)
    folder = tmp_path / "data" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for seed, name in enumerate(BATCH_NAMES):
        _write_batch(folder / name, *_make_split(seed))
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


@pytest.fixture(scope="session")
def tiny_settings() -> dict[str, Any]:
    """The tiny training setup as API keyword arguments."""
    return dict(TINY_SETTINGS)


@pytest.fixture(scope="session")
def tiny() -> list[str]:
    """The tiny training setup as CLI flags (no progress bars, no inference)."""
    args = []
    for name, value in TINY_SETTINGS.items():
        flag = "--" + name.replace("_", "-")
        args += (
            [flag]
            if value is True
            else [f"--no-{flag[2:]}"]
            if value is False
            else [flag, str(value)]
        )
    return [*args, "--no-progress"]


@pytest.fixture(scope="session")
def invoke() -> Callable[[list[str]], Result]:
    """Run the CLI in-process on a list of arguments."""
    from dsbench.cli.main import app

    return lambda args: CliRunner().invoke(app, args)


@pytest.fixture(scope="session")
def one_line() -> Callable[[str], str]:
    """Output with every run of whitespace made one space (Rich wraps long lines)."""
    return lambda text: " ".join(text.split())


def epoch_rows(
    train_s: list[float], val_acc: list[float], traced: tuple[int, ...] = (1,)
) -> list[dict[str, Any]]:
    """Hand-made history rows: train seconds and validation accuracy per epoch."""
    return [
        {"epoch": e, "loss": 1.0 / e, "accuracy": acc + 0.05, "val_loss": 1.2 / e,
         "val_accuracy": acc, "train_s": t, "val_s": 0.5, "epoch_s": t + 0.5,
         "includes_tracing": e in traced}
        for e, (t, acc) in enumerate(zip(train_s, val_acc, strict=True), start=1)
    ]  # fmt: skip


@pytest.fixture(scope="session")
def made_results() -> Callable[..., list[Any]]:
    """RunResults built by hand: known epochs and times, so every formula can be checked
    (fresh ones on every call)."""
    from dsbench.measure.records import RunResult

    def make(
        normal_s: list[float] | None = None, separable_s: list[float] | None = None, **extra: Any
    ) -> list[RunResult]:
        normal_s = normal_s or [3.0, 2.0, 2.2, 1.8]
        separable_s = separable_s or [1.5, 1.0, 1.1, 0.9]
        accs = [0.3, 0.5, 0.6, 0.55] + [0.55] * 16  # (longer runs stay at 0.55)
        return [
            RunResult("normal", 0, 0, 1_186_378, 152_805_376, 10, 32,
                      epoch_rows(normal_s, accs[: len(normal_s)]), **extra),
            RunResult("separable", 0, 0, 174_821, 18_295_808, 10, 32,
                      epoch_rows(separable_s, accs[: len(separable_s)]), **extra),
        ]  # fmt: skip

    return make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers are set per test (`@pytest.mark.tf` where a test imports TensorFlow or Keras or
    trains); a slow test trains end to end, so it counts as tf too: `-m "not tf"` runs exactly
    the pure tests."""
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("tf"):
            item.add_marker(pytest.mark.tf)
    workers.write_grouped(config, items)


# pytest-xdist: the fast tf tests in one worker (tests/workers.py), with --dist loadfile.
_GROUPED_IDS = Path(tempfile.gettempdir()) / f"dsbench-tests-grouped-{os.getpid()}.json"


def pytest_configure_node(node: Any) -> None:
    workers.tell_worker(node, _GROUPED_IDS)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadfile":
        return None
    return workers.TensorFlowInOneWorker(config, _GROUPED_IDS, log)


def pytest_sessionfinish() -> None:
    _GROUPED_IDS.unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _pure_tests_stay_pure(request: pytest.FixtureRequest) -> Any:
    """In a run of the pure tests (-m "not tf"), a test that imports a framework fails: the
    marker is what keeps them fast, so such a test must be marked tf."""
    yield
    if "not tf" in (request.config.option.markexpr or ""):
        import sys

        imported = sorted(m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules)
        if imported:
            pytest.fail(f"-m 'not tf' imported {', '.join(imported)}: mark the test with tf")
