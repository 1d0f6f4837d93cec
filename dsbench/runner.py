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
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from dsbench import checks
from dsbench.config import run_spec, spec_from_dict
from dsbench.errors import DsbenchError
from dsbench.observer import Observer
from dsbench.outcome import BenchResult, Comparison, SweepResult
from dsbench.records import RunResult
from dsbench.request import Command, RunRequest
from dsbench.results import BenchSummary, bench_warnings, combine_bench, summarize
from dsbench.settings import KINDS, RunSpec
from dsbench.store import ResultsFolder

if TYPE_CHECKING:
    from dsbench.sweeps import AxisValues


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
    from dsbench import experiment

    spec, shared = experiment.setup(request.spec, observer)
    if not backend.is_chief():  # only the chief of a cluster writes
        writer = None
    return _compare_here(dataclasses.replace(request, spec=spec), shared, writer, observer,
                         previous)  # fmt: skip


def _compare_here(request: RunRequest, shared: Any, writer: ResultsFolder | None,
                  observer: Observer, previous: list[RunResult] | None) -> Comparison:  # fmt: skip
    """One comparison in this process, Keras started and the data set up (`shared`)."""
    from dsbench import experiment

    spec = request.spec
    saver = _Saver(request, writer)
    checkpoints = writer.checkpoints() if writer is not None and spec.train.checkpoint else None
    results, environment = experiment.compare(request.command, request.kinds, spec, shared,
                                              saver, checkpoints, observer, previous)  # fmt: skip
    return saver.finish(Comparison.of(spec, results, request.command, request.kinds,
                                      environment))  # fmt: skip


def in_worker_processes(request: RunRequest, writer: ResultsFolder | None, observer: Observer,
                        previous: list[RunResult] | None) -> Comparison:  # fmt: skip
    """The runner of `--processes N` (workers.py): N fresh processes, one after another."""
    from dsbench import store, workers

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
        from dsbench import arch

        for point_spec in dict.fromkeys(point.spec(spec.model) for point in points):
            arch.check_options(spec.model.arch, dict(point_spec.arch_options))
    from dsbench import experiment

    spec, shared = experiment.setup(spec, observer)
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

    record, last = experiment.run_sweep(spec, points, writer, observer, train_point)
    return SweepResult(spec, record, last, writer.path if writer is not None else None)


# ---------------------------------------------------------------- before anything runs


def start(spec: RunSpec, verbose: bool) -> ModuleType:
    """Start Keras on the run's backend (dsbench.backends) and return the backend's module."""
    from dsbench import backends

    backend = backends.select(spec.train.backend or backends.DEFAULT)
    backend.start(verbose, multiworker=spec.train.strategy == "multiworker")
    return backend


def sweep(axes: dict[str, AxisValues], summary_only: bool, settings: dict[str, Any],
          config: str | Path | None, output_dir: Path | None, force: bool,
          observer: Observer, verbose: bool) -> SweepResult:  # fmt: skip
    """api.sweep: the points of the axes given; trained (run_sweep), or params and MACs only."""
    from dsbench import sweeps

    training = {name: axes[name] for name in sweeps.TRAIN_AXES}
    first = {name: sweeps.first_value(values) for name, values in training.items() if values}
    # One value is the run's setting, as in compare; two or more are an axis.
    swept = {name: (v if sweeps.several(v) else None) for name, v in training.items()}
    spec = run_spec({**settings, **first}, config)  # the run's own: each axis' first value
    if spec.train.processes > 1 and not summary_only:
        raise DsbenchError(
            f"processes {spec.train.processes}: sweep trains every point in one process",
            "use compare --processes at the points you want to quote",
            setting="processes",
        )
    points = sweeps.points_for(spec.model, axes["kernel_size"], axes["width"], axes["blocks"],
                               swept["backend"], swept["batch_size"], swept["precision"])  # fmt: skip
    writer = ResultsFolder(output_dir, force) if output_dir is not None else None
    if not summary_only:
        return run_sweep(spec, points, writer, observer, verbose)
    if spec.model.arch:  # your own network is built with Keras: start it quietly first
        start(spec, verbose)
    record = sweeps.summary_of(spec, points, sweeps.summary_rows(points, spec.model), True, True)
    if writer is not None:
        writer.write_sweep(record, record.drawing())
    return SweepResult(spec, record, [], writer.path if writer is not None else None)


def bench(mode: str, batch_size: int | str | Sequence[int] | None, precision_target: float,
          max_time: float, width: float, settings: dict[str, Any], config: str | Path | None,
          output_dir: Path | None, force: bool, observer: Observer,
          verbose: bool) -> BenchResult:  # fmt: skip
    """api.bench: both models timed in alternating chunks of steps (experiment.bench)."""
    import time

    from dsbench.config import parse_number_list, whole_number
    from dsbench.settings import BENCH_MODES

    start_time = time.perf_counter()
    if mode not in BENCH_MODES:
        raise DsbenchError(f"mode must be one of {', '.join(BENCH_MODES)}; got {mode!r}",
                           setting="mode")  # fmt: skip
    if not (0 < precision_target < 1) or not (max_time > 0):
        raise DsbenchError("precision_target must be in (0, 1) and max_time positive",
                           setting=("precision_target", "max_time"))  # fmt: skip
    sizes = [batch_size] if isinstance(batch_size, int) else batch_size
    batch_sizes = parse_number_list(sizes, "batch_size", whole_number) if sizes else [128]
    if config is None and "dataset" not in settings:
        # enough images for one batch of the largest size (a batch larger than the data fails)
        images = max(512, *batch_sizes)
        settings = {"dataset": "synthetic", "train_size": images, "test_size": 10, **settings}
    spec = run_spec({**settings, "batch_size": max(batch_sizes)}, config)
    if not width > 0:
        raise DsbenchError(f"width must be a positive number, got {width}", setting="width")
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
        from dsbench import workers

        found, said, environment = workers.bench(spec, modes, batch_sizes, precision_target,
                                                 max_time, observer, verbose)  # fmt: skip
        rows = combine_bench(found, precision_target)
        warnings = [f"(process {index + 1}) {line}" for index, lines in enumerate(said)
                    for line in lines]  # fmt: skip
    else:
        start(spec, verbose)
        from dsbench import experiment

        spec, shared = experiment.setup(spec, observer)
        rows, warnings = experiment.bench(spec, shared, modes, batch_sizes, precision_target,
                                          start_time + max_time)  # fmt: skip
        environment = experiment.run_environment(Command.bench, spec, shared)
    warnings = bench_warnings(rows, precision_target) + warnings
    record = BenchSummary(spec.as_dict(), rows, environment, tuple(warnings), precision_target)
    if writer is not None:
        writer.write_bench(record)
    return BenchResult(spec, record, writer.path if writer is not None else None)


# ---------------------------------------------------------------- resume


def resume(run_dir: Path, data_dir: str | Path | None, observer: Observer,
           verbose: bool) -> Comparison | SweepResult:  # fmt: skip
    """api.resume: an interrupted compare, train or sweep folder, continued with its own
    settings (a new `data_dir` may replace the old)."""
    from dsbench import store, sweeps

    record = store.load(run_dir)
    if isinstance(record, BenchSummary):
        raise DsbenchError(f"{run_dir} was written by bench; only train, compare and sweep resume")
    if record.complete:
        raise DsbenchError(f"{run_dir} is already complete", "nothing to resume")
    source = f"{run_dir}/{'sweep' if isinstance(record, sweeps.SweepSummary) else 'summary'}.json"
    spec = saved_spec(record.settings, source, data_dir)
    _check_arch(spec, record.environment.get("arch_sha256"))
    if isinstance(record, sweeps.SweepSummary):
        axes = record.axes
        try:
            points = sweeps.points_for(spec.model, axes.get("kernel_size"), axes.get("width"),
                                       axes.get("blocks"), axes.get("backend"),
                                       axes.get("batch_size"), axes.get("precision"))  # fmt: skip
        except DsbenchError as err:  # a sweep.json whose points dsbench could not have run
            from dsbench.schema import broken

            raise broken(source, f"its axes are invalid ({err.message})") from None
        return run_sweep(spec, points, ResultsFolder(run_dir, existing=True), observer, verbose)
    request = RunRequest(record.command, record.kinds, spec, run_dir, True, verbose, True)
    return run(request, observer, store.load_results(run_dir))


def _check_arch(spec: RunSpec, recorded: Any) -> None:
    """A run of your own --arch resumes only with the builder file it started with."""
    if not spec.model.arch or not recorded:
        return
    from dsbench import arch

    now = arch.content_hash(spec.model.arch)
    if now != recorded:
        what = "is gone" if now is None else "has changed since the run began"
        raise DsbenchError(f"arch {spec.model.arch!r}: the builder file {what} (sha256 "
                           f"{str(recorded)[:12]}... recorded)", "restore the file as it was, "
                           "or start a new run", setting="arch")  # fmt: skip


def saved_spec(saved: dict[str, Any], source: str, data_dir: str | Path | None) -> RunSpec:
    """The RunSpec a results folder was made with (a new `data_dir` may replace the old)."""
    try:
        return spec_from_dict(saved, source, data_dir=str(data_dir) if data_dir else None)
    except DsbenchError as err:  # settings each valid, but not together (kernel vs input, ...)
        if err.settings == ("data_dir",):
            raise
        from dsbench.schema import broken

        raise broken(source, f"its settings are invalid ({err.message})") from None
