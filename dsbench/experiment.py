"""Running a comparison or a sweep end to end: data, strategy, training, saving as it goes.

The API calls these after Keras is started on the run's backend (dsbench.backends). A results folder,
when one is given, is written after every model (and every sweep point), so an interrupted
run keeps everything it finished and `resume` can continue it.
"""

from __future__ import annotations

import dataclasses
import os
import resource
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from dsbench import backends, runtime, store, sweeps, training
from dsbench import data as data_module
from dsbench.config import KINDS, ModelSpec, RunSpec
from dsbench.data import Data
from dsbench.errors import DsbenchError
from dsbench.observer import Observer
from dsbench.records import RunResult, Status, summary_frame


@dataclasses.dataclass
class Setup:
    """What every model of a run shares: the images (loaded once) and the strategy."""

    data: Data
    strategy: Any  # the backend's (a tf.distribute.Strategy on TensorFlow)
    load_start: float  # the 1-minute load average before anything ran


# Trains one comparison in another process: (spec, its folder, observer, previous results).
Elsewhere = Callable[[RunSpec, Path | None, Observer, list[RunResult] | None], list[RunResult]]


def setup(spec: RunSpec, observer: Observer) -> tuple[RunSpec, Setup]:
    """Load the data once and make the tf.distribute strategy; SIGTERM then stops like Ctrl-C.

    Returns the spec to use: for your own images, the models take the images' shape and
    number of classes (unless input_shape / num_classes were set, and then they must match).
    """
    load_start = os.getloadavg()[0]
    training.raise_on_sigterm()
    loaded = data_module.load(spec.data, spec.train.seed, observer.decoding)
    spec = fitted_spec(spec, loaded)
    check_fits(spec, loaded)
    observer.data_loaded(loaded.source, len(loaded.y_train), len(loaded.y_test), spec.data.rescale)
    training.steps_per_epoch(spec, loaded)  # a batch larger than the data fails before any folder
    backend = backends.current()
    strategy = backend.make_strategy(spec.train)
    described = backend.describe(strategy)
    backend.check_batches(spec.train, len(loaded.y_train), len(loaded.y_test),
                          int(described["replicas"]))  # fmt: skip
    observer.device(backend.device_line(described))
    return spec, Setup(loaded, strategy, load_start)


def fitted_spec(spec: RunSpec, data: Data) -> RunSpec:
    """An image-folder tree's shape and class count replace the defaults (32x32x3, 10)."""
    defaults = ModelSpec()
    if not data.classes:
        return spec
    model = spec.model
    if model.input_shape == defaults.input_shape:
        height, width, channels = (int(v) for v in data.x_train.shape[1:])
        model = dataclasses.replace(model, input_shape=(height, width, channels))
    if model.num_classes == defaults.num_classes:
        model = dataclasses.replace(model, num_classes=len(data.classes))
    return dataclasses.replace(spec, model=model)


def check_fits(spec: RunSpec, data: Data) -> None:
    """The model's input_shape and num_classes must be the data's; errors name the setting."""
    shape = tuple(int(v) for v in data.x_train.shape[1:])
    if shape != tuple(spec.model.input_shape):
        raise DsbenchError(
            f"input_shape {list(spec.model.input_shape)} does not match the data's "
            f"{'x'.join(map(str, shape))} images",
            f"set input_shape = {list(shape)} or leave it out",
            setting="input_shape",
        )
    # An image tree has as many classes as class folders, whichever a subset happens to hold.
    classes = len(data.classes) or int(max(data.y_train.max(initial=0),
                                           data.y_test.max(initial=0))) + 1  # fmt: skip
    if classes != spec.model.num_classes:
        raise DsbenchError(
            f"num_classes {spec.model.num_classes} does not match the data's {classes} classes",
            f"set num_classes = {classes} or leave it out",
            setting="num_classes",
        )


def run_environment(command: str, spec: RunSpec, shared: Setup) -> dict[str, Any]:
    """environment.json for a run: versions, machine, settings, data and strategy."""
    backend = backends.current()
    described = backend.describe(shared.strategy)
    return runtime.environment(
        spec.as_dict(),
        {
            "command": command,
            "data": {
                "source": shared.data.source,
                "train_images": len(shared.data.y_train),
                "test_images": len(shared.data.y_test),
                "train_last_partial_batch": "kept (as the reference)"
                if spec.train.keep_partial_batch
                else "dropped (every step has the same shape)",
            },
            **described,
            "schedule": spec.train.schedule,
            "device": backend.device_line(described),
            "cores_in_use": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count(),
        },
    )


def compare(
    command: str,
    kinds: tuple[str, ...],
    spec: RunSpec,
    shared: Setup,
    run_dir: Path | None,
    observer: Observer,
    previous: list[RunResult] | None = None,
) -> tuple[list[RunResult], dict[str, Any]]:
    """Train every model of one comparison, writing `run_dir` (if any) after each model.

    Returns the results and the environment record they were measured in.
    """
    environment = run_environment(command, spec, shared)
    environment["load_average"] = {"start": shared.load_start, "end": None}
    settings = spec.as_dict()

    def save(done: list[RunResult], complete: bool, draw: bool = True) -> None:
        if run_dir is not None:
            store.write_run(run_dir, done, command, settings, environment, complete, kinds, draw)

    checkpoints = run_dir / "checkpoints" if run_dir is not None and spec.train.checkpoint else None
    done = training.run_experiment(
        spec,
        shared.data,
        kinds,
        observer,
        lambda rs: save(rs, complete=False, draw=False),
        shared.strategy,
        checkpoints,
        previous,
    )
    environment["load_average"]["end"] = os.getloadavg()[0]
    environment["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    save(done, complete=not any(r.status == Status.interrupted for r in done))
    return done, environment


def run_sweep(
    spec: RunSpec,
    points: list[sweeps.Point],
    shared: Setup,
    run_dir: Path | None,
    observer: Observer,
    elsewhere: Elsewhere | None = None,
) -> tuple[pd.DataFrame, list[RunResult], bool]:
    """Train every point (a comparison each), saving after each; finished points are kept.
    A point on another backend than this process's is trained by `elsewhere` (a worker
    process: api.py gives it).

    Returns the rows (a row per point and model), the last point's results and whether
    every point finished.
    """
    frames: list[pd.DataFrame] = []
    done: list[RunResult] = []
    observer.points_start(len(points))
    for point in points:
        point_spec = point.run_spec(spec)
        point_dir = run_dir / "points" / point.slug if run_dir is not None else None
        previous = None
        if point_dir is not None and (point_dir / "summary.json").is_file():
            previous = store.load_results(point_dir)
            if store.read_run(point_dir)["document"].get("status") == "complete":
                done = previous
                frames.append(sweeps.trained_rows(point, spec.model, summary_frame(done)))
                observer.point_done(f"{point.slug} (kept from before)")
                continue
        if point_spec.train.backend != backends.current().NAME:
            if elsewhere is None:
                raise DsbenchError(f"sweep point {point.slug} needs backend "
                                   f"{point_spec.train.backend}, and no worker was given")  # fmt: skip
            done = elsewhere(point_spec, point_dir, observer, previous)
        else:
            done, _ = compare("compare", KINDS, point_spec, shared, point_dir, observer, previous)
        frames.append(sweeps.trained_rows(point, spec.model, summary_frame(done)))
        interrupted = any(r.status == Status.interrupted for r in done)
        if run_dir is not None:
            sweeps.write_sweep(run_dir, spec, points, pd.concat(frames, ignore_index=True), False)
        if interrupted:
            break
        observer.point_done(point.slug)
    rows = pd.concat(frames, ignore_index=True)
    complete = len(frames) == len(points) and not any(r.status == Status.interrupted for r in done)
    if run_dir is not None:
        sweeps.write_sweep(run_dir, spec, points, rows, complete)
    return rows, done, complete


def bench(
    spec: RunSpec,
    shared: Setup,
    modes: list[str],
    batch_sizes: list[int],
    target: float,
    deadline: float,
) -> tuple[pd.DataFrame, list[str]]:
    """Time both models at every mode x batch size (speed.bench_cell), sharing the time left
    until `deadline` (a time.perf_counter() value) among the cells still to run.

    Returns a row per mode and batch size, and the warnings about the timing.
    """
    import time

    import keras
    import numpy as np

    from dsbench import speed, stats
    from dsbench.models import build, total_macs

    rows, warnings = [], []
    cells = [(mode, batch) for mode in modes for batch in batch_sizes]
    images = shared.data.x_train
    for index, (mode, batch) in enumerate(cells):
        take = np.resize(np.arange(len(images)), batch)  # repeats images when batch > data
        x = images[take].astype("float32") / (255.0 if spec.data.rescale else 1.0)
        y = shared.data.y_train[take].astype("int32")
        steppers = {}
        for kind in KINDS:
            keras.utils.set_random_seed(spec.train.seed)
            model = build(spec.model, kind, spec.train.precision)
            steppers[kind] = backends.current().Stepper(model, x, y, mode, bool(spec.train.jit))
        budget = max(1.0, (deadline - time.perf_counter()) / (len(cells) - index))
        row = {"mode": mode, **speed.bench_cell(steppers, batch, budget, target)}
        work = (6 if mode == "train" else 2) * np.array([total_macs(spec.model, k) for k in KINDS])
        for kind, macs in zip(KINDS, work, strict=True):
            row[f"{kind}_est_gflop_per_s"] = float(macs * row[f"{kind}_images_per_s"] / 1e9)
        rows.append(row)
        where = f"{mode}, batch {batch}"
        if not row["target_reached"]:
            warnings.append(
                f"{where}: ratio ±{row['ratio_half_width']:.0%} after {row['pairs']} pairs in "
                f"{row['seconds']:.0f} s, not within ±{target:.0%}: give it more max_time"
            )
        for kind in KINDS:
            if row[f"{kind}_bimodal"]:
                warnings.append(f"{where}: {kind} chunk times are bimodal (two machine speeds)")
    warnings += stats.load_warning(shared.load_start, os.getloadavg()[0], os.cpu_count() or 1)
    return pd.DataFrame(rows), warnings
