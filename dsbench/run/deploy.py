"""`deploy`: both models exported where models are deployed — LiteRT float32, dynamic-range
int8 and full-integer int8, and ONNX float32 — then measured in those runtimes: file size,
batch-1 latency and images/s at batch 32 (normal and separable alternated in chunks, as bench
times them) at each number of threads, and the test accuracy each export keeps against the
Keras model it came from. A finished run folder's models are its checkpoints' final weights
(a JAX or PyTorch run's loaded into TensorFlow's Keras, which exports); without one, a fresh
untrained pair (size and latency only)."""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from dsbench.errors import DsbenchError
from dsbench.measure import deploy as figures
from dsbench.measure import stopping
from dsbench.measure.deploy import EXPORTS, THROUGHPUT_BATCH, Deployed, export_name
from dsbench.observer import Observer
from dsbench.run import runtimes
from dsbench.spec.request import DeployRequest
from dsbench.spec.settings import KINDS, RunSpec
from dsbench.store.files import atomic_json
from dsbench.store.folders import DEPLOY

REPRESENTATIVE = 200  # training images that calibrate the int8 activations
CHUNK_S = 0.05  # each chunk of batch-1 calls lasts about this long
MIN_PAIRS = 6  # chunk pairs timed whatever the time left
TRAINED_ON = {"jax": "JAX", "torch": "PyTorch"}  # runs of these are exported through TensorFlow


def _trained(request: DeployRequest) -> tuple[RunSpec, dict[str, Path], str]:
    """A finished compare folder's spec and each model's final checkpoint."""
    from dsbench.run import checkpoints, received
    from dsbench.spec.request import ResumeRequest
    from dsbench.store import files as store

    run_dir = Path(str(request.run_dir))
    record = store.load(run_dir)
    kinds = getattr(record, "kinds", None)
    if kinds is None or set(kinds) != set(KINDS):
        raise DsbenchError(f"{run_dir} is not a compare folder (deploy sets both models side "
                           "by side)", "give a compare results folder, or --untrained")  # fmt: skip
    resume = ResumeRequest(run_dir, request.data_dir, request.arch, None, request.verbose)
    settings = received.trusted_settings(record.settings, resume,
                                         received.recorded_hash(run_dir, record))  # fmt: skip
    spec = received.saved_spec(settings, f"{run_dir}/summary.json", request.data_dir)
    found, epochs = {}, set()
    for kind in kinds:
        checkpoint = checkpoints.load_checkpoint(run_dir / "checkpoints", kind, 0)
        if checkpoint is None:
            raise DsbenchError(f"{run_dir} holds no saved weights of the {kind} model",
                               "train with --checkpoint to keep them, or deploy --untrained "
                               "for size and latency")  # fmt: skip
        found[kind] = checkpoint[0]
        epochs.add(len(checkpoint[1]))
    weights = f"final weights (epoch {'/'.join(str(e) for e in sorted(epochs))})"
    trained_on = spec.train.backend or "tensorflow"
    if trained_on != "tensorflow":  # Keras' saved weights load in any backend: TensorFlow exports
        weights += f", trained on {TRAINED_ON.get(trained_on, trained_on)}"
    return spec, found, weights


def _images(
    spec: RunSpec, trained: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(representative images, test images, test labels), preprocessed as training fed them;
    an untrained pair is calibrated on seeded uniform images and has no test set."""
    scale = np.float32(1 / 255 if spec.data.rescale else 1)
    if not trained:
        shape = spec.model.input_shape
        rng = np.random.default_rng(spec.train.seed)
        images = rng.integers(0, 256, (REPRESENTATIVE, *shape), dtype=np.uint8)
        return images.astype(np.float32) * scale, None, None
    from dsbench import data

    loaded = data.load(spec.data, spec.train.seed)
    representative = loaded.x_train[:REPRESENTATIVE].astype(np.float32) * scale
    return representative, loaded.x_test.astype(np.float32) * scale, loaded.y_test.reshape(-1)


def _alternate(normal: runtimes.Runtime, separable: runtimes.Runtime, image: np.ndarray,
               budget: float) -> tuple[list[float], list[float]]:  # fmt: skip
    """Ms per call of each on `image` (a batch), in chunks timed in alternating order (N S S N
    ...), until `budget` seconds are spent (at least 6 pairs); warm-up calls untimed."""
    calls = {}
    for runtime in (normal, separable):
        for _ in range(3):
            runtime.run(image)
        started = time.perf_counter()
        runtime.run(image)
        calls[id(runtime)] = max(1, int(CHUNK_S / max(time.perf_counter() - started, 1e-6)))
    times: dict[int, list[float]] = {id(normal): [], id(separable): []}
    deadline = time.perf_counter() + budget

    def next_ratio() -> float:
        first = len(times[id(normal)]) % 2 == 0
        for runtime in (normal, separable) if first else (separable, normal):
            n = calls[id(runtime)]
            started = time.perf_counter()
            for _ in range(n):
                runtime.run(image)
            times[id(runtime)].append((time.perf_counter() - started) * 1e3 / n)
        return times[id(separable)][-1] / times[id(normal)][-1]

    stopping.timed_until(next_ratio, lambda pairs: pairs >= MIN_PAIRS and
                         time.perf_counter() >= deadline)  # fmt: skip
    return times[id(normal)], times[id(separable)]


def _export(backend: Any, models: dict[str, Any], folder: Path,
            representative: np.ndarray, observer: Observer) -> dict[tuple[str, str, str], Path]:  # fmt: skip
    paths = {}
    (folder / DEPLOY).mkdir(parents=True, exist_ok=True)
    for kind, model in models.items():
        for form, precision in EXPORTS:
            path = folder / DEPLOY / export_name(kind, form, precision)
            observer.working(f"exporting {kind} as {form} {precision}")
            backend.export(model, path, form, precision, representative)
            paths[(kind, form, precision)] = path
    return paths


def _accuracy(models: dict[str, Any], paths: dict[tuple[str, str, str], Path],
              test: tuple[np.ndarray, np.ndarray], threads: int) -> dict[tuple[str, str, str], dict[str, float]]:  # fmt: skip
    images, labels = test
    kept = {}
    for kind, model in models.items():
        keras_correct = (
            np.asarray(model.predict(images, batch_size=256, verbose=0)).argmax(-1) == labels
        )
        for key in [k for k in paths if k[0] == kind]:
            runtime = runtimes.open_runtime(paths[key], threads)
            kept[key] = figures.kept_accuracy(
                keras_correct, runtimes.predict(runtime, images) == labels
            )
    return kept


def deploy(request: DeployRequest, observer: Observer) -> Deployed:
    """api.deploy: export both models, then measure size, latency and accuracy kept."""
    from dsbench.store import folders

    runtimes.check_installed()
    if request.run_dir is not None:
        spec, files, weights = _trained(request)
    else:
        spec, files, weights = request.spec or RunSpec(), {}, "untrained"
    folder = (Path(request.run_dir) if request.run_dir is not None else folders.prepare_run_dir(
        request.output_dir or folders.default_run_dir("deploy"), request.force))  # fmt: skip
    spec = dataclasses.replace(spec, train=dataclasses.replace(
        spec.train, precision="float32", backend="tensorflow", jit=False))  # fmt: skip
    try:
        return _deploy(request, spec, files, weights, folder, observer)
    except BaseException:  # nothing half-made is left: the exports so far, a folder made here
        import shutil

        shutil.rmtree(folder / DEPLOY, ignore_errors=True)  # and the record of them, now stale
        (folder / "deploy.json").unlink(missing_ok=True)
        if request.run_dir is None and not any(folder.iterdir()):
            folder.rmdir()
        raise


def _deploy(request: DeployRequest, spec: RunSpec, files: dict[str, Path], weights: str,
            folder: Path, observer: Observer) -> Deployed:  # fmt: skip
    from dsbench.models.vgg import build
    from dsbench.run import checkpoints, environment, runner

    backend = runner.start(spec, request.verbose)
    if files:  # a checkpoint holds its compiled metrics: dsbench's own must be registered
        from dsbench.run import callbacks  # noqa: F401

    models = {kind: checkpoints.restore(files[kind], [], spec, kind) if files else
              build(spec.model, kind) for kind in KINDS}  # fmt: skip
    representative, test_images, test_labels = _images(spec, bool(files))
    paths = _export(backend, models, folder, representative, observer)
    kept = (_accuracy(models, paths, (test_images, test_labels), max(request.threads))
            if test_images is not None and test_labels is not None else {})  # fmt: skip
    rows = _measure(paths, kept, representative, request)
    env = environment.environment(spec.as_dict(), {"command": "deploy", "weights": weights,
                                  "runtimes": runtimes.versions()})  # fmt: skip
    result = Deployed(rows, weights, env, folder)
    atomic_json(folder / "deploy.json", result.document)
    return result


def _measure(paths: dict[tuple[str, str, str], Path], kept: dict[tuple[str, str, str], dict[str, float]],
             images: np.ndarray, request: DeployRequest) -> list[dict[str, Any]]:  # fmt: skip
    """A row per model, export and thread count: size, batch-1 latency (two thirds of each
    row's share of the time) and images/s at THROUGHPUT_BATCH (the rest), ratios on separable's."""
    rows = []
    budget = request.max_time / (len(request.threads) * len(EXPORTS))
    batch = np.resize(images, (THROUGHPUT_BATCH, *images.shape[1:]))
    for threads in request.threads:
        for form, precision in EXPORTS:
            normal, separable = (runtimes.open_runtime(paths[(kind, form, precision)], threads)
                                 for kind in KINDS)  # fmt: skip
            timed = figures.latency(*_alternate(normal, separable, images[:1], budget * 2 / 3))
            fed = figures.throughput(*_alternate(normal, separable, batch, budget / 3),
                                     THROUGHPUT_BATCH)  # fmt: skip
            sizes = {kind: os.path.getsize(paths[(kind, form, precision)]) for kind in KINDS}
            for kind in KINDS:
                row: dict[str, Any] = {"model": kind, "format": form, "precision": precision,
                                       "threads": threads, "size_bytes": sizes[kind],
                                       **timed[kind], **fed[kind],
                                       **kept.get((kind, form, precision), {}),
                                       "file": f"{DEPLOY}/{paths[(kind, form, precision)].name}"}  # fmt: skip
                if kind == "separable":
                    row.update({"size_ratio": sizes[kind] / sizes["normal"], **timed["ratio"],
                                **fed["ratio"]})  # fmt: skip
                rows.append({c: row.get(c, math.nan) for c in figures.COLUMNS})
    return rows
