"""One path to a run: a frozen `RunRequest`, handed to a runner that trains it in this process
or in fresh worker processes (`--processes`), both returning a `Comparison`.

What a run would fail on later is refused first (check_inputs), before the framework's slow
start and before any results folder exists. The folder has one writer (store.ResultsFolder),
made when there is something to write; every save goes through `_Saver`, whichever runner.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dsbench.errors import DsbenchError
from dsbench.measure.bench import BenchSummary, bench_warnings, combine_bench
from dsbench.measure.records import RunResult
from dsbench.measure.summary import summarize
from dsbench.observer import Observer
from dsbench.run import checks
from dsbench.run.outcome import BenchResult, Comparison, SweepResult
from dsbench.spec.config import run_spec
from dsbench.spec.request import Command, RunRequest
from dsbench.spec.settings import DEFAULT_BACKEND, KINDS, RunSpec
from dsbench.store.files import ResultsFolder

if TYPE_CHECKING:
    from dsbench.backends.interface import Backend
    from dsbench.spec.grid import AxisValues


def _writer(request: RunRequest) -> ResultsFolder | None:
    """The results folder's writer (checked now, made when first written), or None."""
    if request.output_dir is None:
        return None
    return ResultsFolder(request.output_dir, request.force, existing=request.resuming)


class _Saver:
    """Writes a comparison's folder as it goes: every save of either runner comes here."""

    def __init__(self, request: RunRequest, writer: ResultsFolder | None) -> None:
        self.request, self.writer = request, writer

    def __call__(self, spec: RunSpec, results: list[RunResult], environment: dict[str, Any],
                 complete: bool = False, draw: bool = False) -> None:  # fmt: skip
        if self.writer is not None and results:
            record = summarize(results, self.request.command, self.request.kinds,
                               spec.as_dict(), environment, complete)  # fmt: skip
            self.writer.write_run(record, results, draw)

    def finish(self, comparison: Comparison) -> Comparison:
        """The final save, of the comparison's own record (with curves.png)."""
        if self.writer is not None and comparison.results:
            self.writer.write_run(comparison.record, comparison.results)
            comparison.run_dir = self.writer.path
        return comparison


class Runner(Protocol):
    """Trains a request's models and returns the comparison, its folder written as it goes."""

    def __call__(self, request: RunRequest, writer: ResultsFolder | None, observer: Observer,
                 previous: list[RunResult] | None) -> Comparison: ...  # fmt: skip


def in_this_process(request: RunRequest, writer: ResultsFolder | None, observer: Observer,
                    previous: list[RunResult] | None) -> Comparison:  # fmt: skip
    """The runner of one process: Keras started here, on the request's backend."""
    backend = start(request.spec, request.verbose)
    from dsbench.run import in_process

    spec, shared = in_process.setup(request.spec, observer)
    if not backend.is_chief():  # only the chief of a cluster writes
        writer = None
    return _compare_here(dataclasses.replace(request, spec=spec), shared, writer, observer,
                         previous)  # fmt: skip


def _compare_here(request: RunRequest, shared: Any, writer: ResultsFolder | None,
                  observer: Observer, previous: list[RunResult] | None) -> Comparison:  # fmt: skip
    """One comparison in this process, Keras started and the data set up (`shared`)."""
    from dsbench.run import in_process

    spec = request.spec
    saver = _Saver(request, writer)
    checkpoints = writer.checkpoints() if writer is not None and spec.train.checkpoint else None
    results, environment = in_process.compare(request.command, request.kinds, spec, shared,
                                              saver, checkpoints, observer, previous)  # fmt: skip
    return saver.finish(Comparison.of(spec, results, request.command, request.kinds,
                                      environment))  # fmt: skip


def in_worker_processes(request: RunRequest, writer: ResultsFolder | None, observer: Observer,
                        previous: list[RunResult] | None) -> Comparison:  # fmt: skip
    """The runner of `--processes N` (workers.py): N fresh processes, one after another."""
    from dsbench.run import workers
    from dsbench.store import files as store

    folder = request.output_dir
    before = store.read_environment(folder) if folder and request.resuming and previous else None
    saver = _Saver(request, writer)
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


def run_sweep(spec: RunSpec, points: list[Any], writer: ResultsFolder | None,
              observer: Observer, verbose: bool) -> SweepResult:  # fmt: skip
    """Every point of a sweep, a comparison each: those on this process's backend here, those
    on another backend each in a worker process of its own (Keras picks its backend once per
    process)."""
    for point_spec in dict.fromkeys(point.run_spec(spec) for point in points):
        checks.check_inputs(point_spec)  # every backend installed and able, before anything runs
    backend = start(spec, verbose)
    if spec.model.arch:  # every point's keyword arguments, before any point trains
        from dsbench.models import twin as arch

        for point_spec in dict.fromkeys(point.spec(spec.model) for point in points):
            arch.check_options(spec.model.arch, dict(point_spec.arch_options))
    from dsbench.run import in_process

    spec, shared = in_process.setup(spec, observer)
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

    record, last = in_process.run_sweep(spec, points, writer, observer, train_point)
    return SweepResult(spec, record, last, writer.path if writer is not None else None)


# ---------------------------------------------------------------- before anything runs


def start(spec: RunSpec, verbose: bool) -> Backend:
    """Start Keras on the run's backend (dsbench.backends) and return the backend's module."""
    from dsbench import backends

    backend = backends.select(spec.train.backend or DEFAULT_BACKEND)
    backend.start(verbose, multiworker=spec.train.strategy == "multiworker")
    return backend


def sweep(axes: dict[str, AxisValues], summary_only: bool, settings: dict[str, Any],
          config: str | Path | None, output_dir: Path | None, force: bool,
          observer: Observer, verbose: bool) -> SweepResult:  # fmt: skip
    """api.sweep: the points of the axes given; trained (run_sweep), or params and MACs only."""
    from dsbench.measure import sweep as sweeps
    from dsbench.spec import grid

    training = {name: axes[name] for name in grid.TRAIN_AXES}
    first = {name: grid.first_value(values) for name, values in training.items() if values}
    # One value is the run's setting, as in compare; two or more are an axis.
    swept = {name: (v if grid.several(v) else None) for name, v in training.items()}
    spec = run_spec({**settings, **first}, config)  # the run's own: each axis' first value
    if spec.train.processes > 1 and not summary_only:
        raise DsbenchError(
            f"processes {spec.train.processes}: sweep trains every point in one process",
            "use compare --processes at the points you want to quote",
            setting="processes",
        )
    points = grid.points_for(spec.model, axes["kernel_size"], axes["width"], axes["blocks"],
                               swept["backend"], swept["batch_size"], swept["precision"])  # fmt: skip
    writer = ResultsFolder(output_dir, force) if output_dir is not None else None
    if not summary_only:
        return run_sweep(spec, points, writer, observer, verbose)
    if spec.model.arch:  # your own network is built with Keras: start it quietly first
        start(spec, verbose)
    record = sweeps.sweep_summary(spec, points, sweeps.cost_rows(points, spec.model), True, True)
    if writer is not None:
        writer.write_sweep(record)
    return SweepResult(spec, record, [], writer.path if writer is not None else None)


def bench(mode: str, batch_size: int | str | Sequence[int] | None, precision_target: float,
          max_time: float, width: float, between_runs_sd: float, settings: dict[str, Any],
          config: str | Path | None, output_dir: Path | None, force: bool, observer: Observer,
          verbose: bool) -> BenchResult:  # fmt: skip
    """api.bench: both models timed in alternating chunks of steps (in_process.bench)."""
    import time

    from dsbench.spec.settings import BENCH_PROCESSES
    from dsbench.spec.values import parse_number_list, whole_number

    start_time = time.perf_counter()
    _check_bench(mode, precision_target, max_time, between_runs_sd, width)
    sizes = [batch_size] if isinstance(batch_size, int) else batch_size
    batch_sizes = parse_number_list(sizes, "batch_size", whole_number) if sizes else [128]
    if config is None and "dataset" not in settings:
        # enough images for one batch of the largest size (a batch larger than the data fails):
        # synthetic ones, or those of the data_dir given (timed as they are, and recorded)
        images = max(512, *batch_sizes)
        made = {} if settings.get("data_dir") else {"dataset": "synthetic"}
        settings = {**made, "train_size": images, "test_size": 10, **settings}
    # BENCH_PROCESSES fresh processes unless a setting or the config says otherwise
    spec = run_spec({**settings, "batch_size": max(batch_sizes)}, config,
                    base={"train": {"processes": BENCH_PROCESSES}})  # fmt: skip
    model = spec.model
    if model.arch:  # your builder's own keyword argument (width 1, the default: not given)
        model = model.with_options(width=None if width == 1 else width)
    spec = dataclasses.replace(spec, model=model if model.arch else model.scaled(width))
    if spec.train.strategy != "default":
        raise DsbenchError("bench times one device", "use compare for tf.distribute runs",
                           setting="strategy")  # fmt: skip
    writer = ResultsFolder(output_dir, force) if output_dir is not None else None
    checks.check_inputs(spec)
    modes = ["train", "infer"] if mode == "both" else [mode]
    if spec.train.processes > 1:
        from dsbench.run import workers

        found, said, environment = workers.bench(spec, modes, batch_sizes, precision_target,
                                                 start_time + max_time, observer, verbose)  # fmt: skip
        rows = combine_bench(found, precision_target, between_runs_sd)
        warnings = [f"(process {index + 1}) {line}" for index, lines in enumerate(said)
                    for line in lines]  # fmt: skip
    else:
        start(spec, verbose)
        from dsbench.run import in_process

        spec, shared = in_process.setup(spec, observer)
        rows, warnings = in_process.bench(spec, shared, modes, batch_sizes, precision_target,
                                          start_time + max_time, between_runs_sd)  # fmt: skip
        environment = in_process.run_environment(Command.bench, spec, shared)
    warnings = bench_warnings(rows, precision_target, between_runs_sd) + warnings
    record = BenchSummary(spec.as_dict(), rows, environment, tuple(warnings), precision_target,
                          between_runs_sd)  # fmt: skip
    if writer is not None:
        writer.write_bench(record)
    return BenchResult(spec, record, writer.path if writer is not None else None)


def _check_bench(mode: str, precision_target: float, max_time: float, between_runs_sd: float,
                 width: float) -> None:  # fmt: skip
    """Refuse bench options out of range, before anything is loaded."""
    from dsbench.spec.settings import BENCH_BETWEEN_RUNS_SD, BENCH_MODES

    if mode not in BENCH_MODES:
        raise DsbenchError(f"mode must be one of {', '.join(BENCH_MODES)}; got {mode!r}",
                           setting="mode")  # fmt: skip
    if not (0 < precision_target < 1) or not (max_time > 0):
        raise DsbenchError("precision_target must be in (0, 1) and max_time positive",
                           setting=("precision_target", "max_time"))  # fmt: skip
    if not 0 <= between_runs_sd < 1:
        raise DsbenchError(f"between_runs_sd must be in [0, 1), got {between_runs_sd}",
                           f"the sd of the log ratio between runs: {BENCH_BETWEEN_RUNS_SD:g} on "
                           "the machine docs/benchmarks.md measured, 0 where you have measured "
                           "none",
                           setting="between_runs_sd")  # fmt: skip
    if not width > 0:
        raise DsbenchError(f"width must be a positive number, got {width}", setting="width")
