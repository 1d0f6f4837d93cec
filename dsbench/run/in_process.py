"""A comparison, a sweep or a bench in the process where Keras runs: data, strategy,
training, and saving as it goes.

The runner (runner.py) calls these after Keras is started on the run's backend
(dsbench.backends). What was measured is handed to a `save` after every round of epochs (and
sweep.json written after every point), so an interrupted run keeps everything it finished and
`resume` can continue it.
"""

from __future__ import annotations

import dataclasses
import os
import resource
from typing import TYPE_CHECKING, Any

import pandas as pd

from dsbench import backends
from dsbench import data as data_module
from dsbench.backends import host
from dsbench.data import Data
from dsbench.errors import DsbenchError
from dsbench.measure.records import RunResult
from dsbench.observer import Observer
from dsbench.run import callbacks, environment, training
from dsbench.spec.settings import KINDS, ModelSpec, RunSpec

if TYPE_CHECKING:
    from dsbench.run.saving import Saver
    from dsbench.spec.request import BenchRequest, RunRequest


@dataclasses.dataclass
class Setup:
    """What every model of a run shares: the images (loaded once) and the strategy."""

    data: Data
    strategy: Any  # the backend's (a tf.distribute.Strategy on TensorFlow)
    load_start: float  # the 1-minute load average before anything ran


def setup(spec: RunSpec, observer: Observer, early: Data | None = None) -> tuple[RunSpec, Setup]:
    """Load the data once (or take them as loaded `early`, before the framework started) and
    make the tf.distribute strategy; SIGTERM then stops like Ctrl-C.

    Returns the spec to use: for your own images, the models take the images' shape and
    number of classes (unless input_shape / num_classes were set, and then they must match).
    """
    load_start = os.getloadavg()[0]
    callbacks.raise_on_sigterm()
    loaded = early if early is not None else data_module.load(spec.data, spec.train.seed, observer.decoding,
                                       spec.model.input_shape)  # fmt: skip
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
    own: dict[str, Any] = {}
    # your own --arch: the builder file's hash (resume refuses a changed file), and what the
    # twin swapped and what it kept, with the reason
    if spec.model.arch:
        from dsbench.models import twin as arch
        from dsbench.models.vgg import arch_rows

        if mine := arch.content_hash(spec.model.arch):
            own["arch_sha256"] = mine
        made = arch_rows(spec.model)["normal" if spec.model.twin == "dense" else "separable"]
        own["arch_twin"] = {"swapped": made["swapped"], "kept": made["kept"],
                            "direction": spec.model.twin}  # fmt: skip
    return environment.environment(
        spec.as_dict(),
        {
            **own,
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
            "cores_in_use": host.cores_in_use(),
        },
    )


def compare(
    request: RunRequest,
    shared: Setup,
    saver: Saver | None,
    observer: Observer,
    previous: list[RunResult] | None = None,
) -> tuple[list[RunResult], dict[str, Any]]:
    """Train every model of one comparison; `saver` (if any) gets what was measured after every
    round of epochs, and says where checkpoints go. Returns the results and the environment
    record they were measured in (the caller saves the end)."""
    spec = request.spec
    environment = run_environment(request.command, spec, shared)
    environment["load_average"] = {"start": shared.load_start, "end": None}

    def saved(done: list[RunResult]) -> None:
        if saver is not None:
            saver(spec, done, environment)

    plan = training.Training(
        spec,
        shared.data,
        request.kinds,
        shared.strategy,
        saver.checkpoints if saver is not None else None,
        previous,
    )
    done = training.train_models(plan, observer, saved)
    environment["load_average"]["end"] = os.getloadavg()[0]
    environment["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return done, environment


def bench(request: BenchRequest, shared: Setup, deadline: float,
          unit: bool = False) -> tuple[pd.DataFrame, list[str]]:  # fmt: skip
    """Time both models at every mode x batch size (speed.bench_cell), sharing the time left
    until `deadline` (a time.perf_counter() value) among the cells still to run; `unit`: in
    one of several worker processes (each cell times until its share is spent).

    Returns a row per mode and batch size, and the warnings about the machine (two speeds,
    load); whether each ratio reached its target is results.bench_warnings'.
    """
    import time

    import keras
    import numpy as np

    from dsbench.measure import stats
    from dsbench.models.vgg import build, total_macs
    from dsbench.run import speed

    spec, target, between_runs_sd = request.spec, request.precision_target, request.between_runs_sd
    rows, warnings = [], []
    backend = backends.current()
    jit = backends.resolved_jit(spec.train.jit, backend)
    cells = [(mode, batch) for mode in request.modes for batch in request.batch_sizes]
    images = shared.data.x_train
    for index, (mode, batch) in enumerate(cells):
        take = np.resize(np.arange(len(images)), batch)  # repeats images when batch > data
        x = images[take].astype("float32") / (255.0 if spec.data.rescale else 1.0)
        y = shared.data.y_train[take].astype("int32")
        steppers = {}
        for kind in KINDS:
            keras.utils.set_random_seed(spec.train.seed)
            model = build(spec.model, kind, spec.train.precision)
            steppers[kind] = backend.Stepper(model, x, y, mode, jit)
        budget = max(1.0, (deadline - time.perf_counter()) / (len(cells) - index))
        row = {
            "mode": mode,
            **speed.bench_cell(steppers, batch, budget, target, between_runs_sd, unit),
        }
        work = (6 if mode == "train" else 2) * np.array([total_macs(spec.model, k) for k in KINDS])
        for kind, macs in zip(KINDS, work, strict=True):
            row[f"{kind}_est_gflop_per_s"] = float(macs * row[f"{kind}_images_per_s"] / 1e9)
        rows.append(row)
        where = f"{mode}, batch {batch}"
        for kind in KINDS:
            if row[f"{kind}_bimodal"]:
                warnings.append(f"{where}: {kind} chunk times are bimodal (two machine speeds)")
    warnings += stats.load_warning(shared.load_start, os.getloadavg()[0], host.cores_in_use())
    return pd.DataFrame(rows), warnings
