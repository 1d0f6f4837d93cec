"""One path to a run: a frozen `RunRequest`, handed to a runner that trains it in this process
or in fresh worker processes (`--processes`), both returning a `Comparison`.

What a run would fail on later is refused first (check_inputs), before the framework's slow
start and before any results folder exists. The folder has one writer (store.ResultsFolder),
made when there is something to write; every save goes through saving.Saver, whichever runner.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, Protocol

from dsbench.errors import DsbenchError
from dsbench.measure.bench import BenchSummary, bench_warnings, combine_bench
from dsbench.measure.records import RunResult
from dsbench.measure.summary import precision_note
from dsbench.observer import Observer
from dsbench.run import checks
from dsbench.run.outcome import BenchResult, Comparison, SweepResult
from dsbench.run.saving import Saver
from dsbench.spec.request import BenchRequest, Command, RunRequest, SweepRequest
from dsbench.spec.settings import DEFAULT_BACKEND, KINDS, RunSpec
from dsbench.store.files import ResultsFolder

if TYPE_CHECKING:
    from dsbench.backends.interface import Backend
    from dsbench.data import Data


def _writer(request: RunRequest) -> ResultsFolder | None:
    """The results folder's writer (checked now, made when first written), or None."""
    if request.output_dir is None:
        return None
    return ResultsFolder(request.output_dir, request.force, existing=request.resuming)


class Runner(Protocol):
    """Trains a request's models and returns the comparison, its folder written as it goes."""

    def __call__(self, request: RunRequest, writer: ResultsFolder | None, observer: Observer,
                 previous: list[RunResult] | None) -> Comparison: ...  # fmt: skip


def in_this_process(request: RunRequest, writer: ResultsFolder | None, observer: Observer,
                    previous: list[RunResult] | None) -> Comparison:  # fmt: skip
    """The runner of one process: Keras started here, on the request's backend."""
    early = load_first(request.spec, observer)
    backend = start(request.spec, request.verbose)
    from dsbench.run import in_process

    spec, shared = in_process.setup(request.spec, observer, early)
    if not backend.is_chief():  # only the chief of a cluster writes
        writer = None
    return _compare_here(dataclasses.replace(request, spec=spec), shared, writer, observer,
                         previous)  # fmt: skip


def _compare_here(request: RunRequest, shared: Any, writer: ResultsFolder | None,
                  observer: Observer, previous: list[RunResult] | None) -> Comparison:  # fmt: skip
    """One comparison in this process, Keras started and the data set up (`shared`)."""
    from dsbench.run import in_process

    saver = Saver(request, writer)
    results, environment = in_process.compare(request, shared, saver, observer, previous)
    return saver.finish(Comparison.of(request.spec, results, request.command, request.kinds,
                                      environment))  # fmt: skip


def in_worker_processes(request: RunRequest, writer: ResultsFolder | None, observer: Observer,
                        previous: list[RunResult] | None) -> Comparison:  # fmt: skip
    """The runner of `--processes N` (workers.py): N fresh processes, one after another."""
    from dsbench.run import workers
    from dsbench.store import files as store

    folder = request.output_dir
    before = store.read_environment(folder) if folder and request.resuming and previous else None
    saver = Saver(request, writer)
    spec, results, environment = workers.run(request, observer, saver, previous, before)
    return saver.finish(Comparison.of(spec, results, request.command, request.kinds,
                                      environment))  # fmt: skip


def run(request: RunRequest, observer: Observer | None = None,
        previous: list[RunResult] | None = None) -> Comparison:  # fmt: skip
    """Train `request` with the runner its settings call for."""
    writer = _writer(request)  # checked before the slow start
    checks.check_inputs(request.spec)
    runner: Runner = in_worker_processes if request.spec.train.processes > 1 else in_this_process
    return runner(request, writer, observer or Observer(), previous)


# ---------------------------------------------------------------- sweeps


def run_sweep(request: SweepRequest, writer: ResultsFolder | None,
              observer: Observer) -> SweepResult:  # fmt: skip
    """This worker's points of a sweep (sweeping.run_sweep), a comparison each: those on this
    process's backend here, those on another backend each in a worker process of its own
    (Keras picks its backend once per process)."""
    spec, points = request.spec, list(request.points)
    checks.check_points(spec, points)
    early = load_first(spec, observer)
    backend = start(spec, request.verbose)
    if spec.model.arch:  # every point's keyword arguments, before any point trains
        from dsbench.models import twin as arch

        for point_spec in dict.fromkeys(point.spec(spec.model) for point in points):
            arch.check_options(spec.model.arch, dict(point_spec.arch_options))
    from dsbench.run import in_process

    spec, shared = in_process.setup(spec, observer, early)
    if not backend.is_chief():
        writer = None

    def train_point(point_spec: RunSpec, point_writer: ResultsFolder | None,
                    previous: list[RunResult] | None) -> Comparison:  # fmt: skip
        request = RunRequest(Command.compare, KINDS, point_spec)
        if point_spec.train.backend != backend.NAME:
            one = dataclasses.replace(point_spec, train=dataclasses.replace(point_spec.train,
                                                                            processes=1))  # fmt: skip
            return in_worker_processes(dataclasses.replace(request, spec=one), point_writer,
                                       observer, previous)  # fmt: skip
        return _compare_here(request, shared, point_writer, observer, previous)

    from dsbench.run import sweeping

    fitted = dataclasses.replace(request, spec=spec)
    record, last = sweeping.run_sweep(fitted, writer, observer, train_point)
    return SweepResult(spec, record, last, writer.path if writer is not None else None)


# ---------------------------------------------------------------- before anything runs


def load_first(spec: RunSpec, observer: Observer) -> Data | None:
    """The run's images, loaded before the framework's slow start, so that a broken archive or
    image is refused at once; None when they come from Keras' download, which needs Keras
    started on the run's backend first (in_process.setup then loads them)."""
    from dsbench import data as data_module

    given = spec.data.data_dir or os.environ.get(data_module.DATA_DIR_ENV)
    if spec.data.dataset != "synthetic" and not given:
        return None
    return data_module.load(spec.data, spec.train.seed, observer.decoding,
                            spec.model.input_shape)  # fmt: skip


def start(spec: RunSpec, verbose: bool) -> Backend:
    """Start Keras on the run's backend (dsbench.backends) and return the backend's module."""
    from dsbench import backends

    backend = backends.select(spec.train.backend or DEFAULT_BACKEND)
    backend.start(verbose, multiworker=spec.train.strategy == "multiworker")
    return backend


def sweep_writer(request: SweepRequest) -> ResultsFolder | None:
    """A sweep's folder: a new one, or, for a shard, one that other shards fill too."""
    if request.output_dir is None:
        return None
    if request.shard is None:
        return ResultsFolder(request.output_dir, request.force)
    if request.force:
        raise DsbenchError(
            "force with shard would let one worker remove what the others wrote",
            "clear the folder once before the workers start, or give a new output_dir",
            setting=("force", "shard", "output_dir"),
        )
    writer = ResultsFolder.shared(request.output_dir)
    from dsbench.run.sweeping import check_plan

    check_plan(request, writer)  # another sweep's folder is refused before the slow start
    return writer


def sweep(request: SweepRequest, observer: Observer) -> SweepResult:
    """api.sweep: the request's points trained (run_sweep), or their params and MACs only."""
    from dsbench.measure import sweep as sweeps

    spec, points = request.spec, list(request.points)
    writer = sweep_writer(request)
    if not request.summary_only:
        return run_sweep(request, writer, observer)
    if spec.model.arch:  # your own network is built with Keras: start it quietly first
        start(spec, request.verbose)
    record = sweeps.sweep_summary(spec, points, sweeps.cost_rows(points, spec.model), True, True)
    if writer is not None:
        writer.write_sweep(record)
    return SweepResult(spec, record, [], writer.path if writer is not None else None)


def bench(request: BenchRequest, observer: Observer) -> BenchResult:
    """api.bench: both models timed in alternating chunks of steps (in_process.bench), in
    spec.train.processes fresh processes (workers.bench) or in this one."""
    import time

    deadline = time.perf_counter() + request.max_time
    spec = request.spec
    writer = (ResultsFolder(request.output_dir, request.force)
              if request.output_dir is not None else None)  # fmt: skip
    checks.check_inputs(spec)
    if spec.train.processes > 1:
        from dsbench.run import workers

        found, said, environment = workers.bench(request, deadline, observer)
        rows = combine_bench(found, request.precision_target, request.between_runs_sd)
        warnings = [f"(process {index + 1}) {line}" for index, lines in enumerate(said)
                    for line in lines]  # fmt: skip
    else:
        early = load_first(spec, observer)
        start(spec, request.verbose)
        from dsbench.run import in_process

        spec, shared = in_process.setup(spec, observer, early)
        rows, warnings = in_process.bench(dataclasses.replace(request, spec=spec), shared,
                                          deadline)  # fmt: skip
        environment = in_process.run_environment(Command.bench, spec, shared)
    warnings = (bench_warnings(rows, request.precision_target, request.between_runs_sd) + warnings
                + precision_note(spec.as_dict(), environment))  # fmt: skip
    record = BenchSummary(spec.as_dict(), rows, environment, tuple(warnings),
                          request.precision_target, request.between_runs_sd)  # fmt: skip
    if writer is not None:
        writer.write_bench(record)
    return BenchResult(spec, record, writer.path if writer is not None else None)
