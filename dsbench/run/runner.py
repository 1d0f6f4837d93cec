"""One path to a run: a frozen `RunRequest`, handed to a runner that trains it in this process
or in fresh worker processes (`--processes`), both returning a `Comparison`.

What a run would fail on later is refused first (check_inputs), before the framework's slow
start and before any results folder exists. The folder has one writer (store.ResultsFolder),
made when there is something to write; every save goes through `_Saver`, whichever runner.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dsbench.errors import DsbenchError
from dsbench.measure.records import RunResult
from dsbench.measure.results import BenchSummary, bench_warnings, combine_bench, summarize
from dsbench.observer import Observer
from dsbench.run import checks
from dsbench.run.outcome import BenchResult, Comparison, SweepResult
from dsbench.spec.config import run_spec, spec_from_dict
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
    from dsbench.run import experiment

    spec, shared = experiment.setup(request.spec, observer)
    if not backend.is_chief():  # only the chief of a cluster writes
        writer = None
    return _compare_here(dataclasses.replace(request, spec=spec), shared, writer, observer,
                         previous)  # fmt: skip


def _compare_here(request: RunRequest, shared: Any, writer: ResultsFolder | None,
                  observer: Observer, previous: list[RunResult] | None) -> Comparison:  # fmt: skip
    """One comparison in this process, Keras started and the data set up (`shared`)."""
    from dsbench.run import experiment

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
    from dsbench.run import experiment

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
    record = sweeps.summary_of(spec, points, sweeps.summary_rows(points, spec.model), True, True)
    if writer is not None:
        writer.write_sweep(record)
    return SweepResult(spec, record, [], writer.path if writer is not None else None)


def bench(mode: str, batch_size: int | str | Sequence[int] | None, precision_target: float,
          max_time: float, width: float, between_runs_sd: float, settings: dict[str, Any],
          config: str | Path | None, output_dir: Path | None, force: bool, observer: Observer,
          verbose: bool) -> BenchResult:  # fmt: skip
    """api.bench: both models timed in alternating chunks of steps (experiment.bench)."""
    import time

    from dsbench.spec.config import parse_number_list, whole_number
    from dsbench.spec.settings import BENCH_BETWEEN_RUNS_SD, BENCH_MODES, BENCH_PROCESSES

    start_time = time.perf_counter()
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
        from dsbench.run import workers

        found, said, environment = workers.bench(spec, modes, batch_sizes, precision_target,
                                                 start_time + max_time, observer, verbose)  # fmt: skip
        rows = combine_bench(found, precision_target, between_runs_sd)
        warnings = [f"(process {index + 1}) {line}" for index, lines in enumerate(said)
                    for line in lines]  # fmt: skip
    else:
        start(spec, verbose)
        from dsbench.run import experiment

        spec, shared = experiment.setup(spec, observer)
        rows, warnings = experiment.bench(spec, shared, modes, batch_sizes, precision_target,
                                          start_time + max_time, between_runs_sd)  # fmt: skip
        environment = experiment.run_environment(Command.bench, spec, shared)
    warnings = bench_warnings(rows, precision_target, between_runs_sd) + warnings
    record = BenchSummary(spec.as_dict(), rows, environment, tuple(warnings), precision_target,
                          between_runs_sd)  # fmt: skip
    if writer is not None:
        writer.write_bench(record)
    return BenchResult(spec, record, writer.path if writer is not None else None)


# ---------------------------------------------------------------- resume


def resume(run_dir: Path, data_dir: str | Path | None, observer: Observer, verbose: bool,
           arch: str | Callable[..., Any] | None = None,
           tensorboard: str | Path | None = None) -> Comparison | SweepResult:  # fmt: skip
    """api.resume: an interrupted compare, train or sweep folder, continued with its own
    settings (a new `data_dir` may replace the old).

    The folder is data, never code: a builder file it names runs only when `arch` names it
    again (and its sha256 matches the one recorded), and a data or TensorBoard folder it records
    outside itself is used only when given again (`data_dir`, `tensorboard`)."""
    from dsbench.measure import sweep as sweeps
    from dsbench.spec import grid
    from dsbench.store import files as store

    record = store.load(run_dir)
    if isinstance(record, BenchSummary):
        raise DsbenchError(f"{run_dir} was written by bench; only train, compare and sweep resume")
    if record.complete:
        raise DsbenchError(f"{run_dir} is already complete", "nothing to resume")
    is_sweep = isinstance(record, sweeps.SweepSummary)
    source = f"{run_dir}/{'sweep' if is_sweep else 'summary'}.json"
    recorded = _recorded_hash(run_dir, record)
    settings = trusted_settings(record.settings, run_dir, recorded, arch, data_dir, tensorboard)
    spec = saved_spec(settings, source, data_dir)
    if callable(arch):  # a function given from Python, checked against its recorded name
        spec = dataclasses.replace(spec, model=dataclasses.replace(spec.model, arch=arch))
    if tensorboard is not None:
        spec = dataclasses.replace(spec, train=dataclasses.replace(
            spec.train, tensorboard=str(tensorboard)))  # fmt: skip
    if isinstance(record, sweeps.SweepSummary):
        axes = record.axes
        try:
            points = grid.points_for(spec.model, axes.get("kernel_size"), axes.get("width"),
                                       axes.get("blocks"), axes.get("backend"),
                                       axes.get("batch_size"), axes.get("precision"))  # fmt: skip
        except DsbenchError as err:  # a sweep.json whose points dsbench could not have run
            from dsbench.store.schema import broken

            raise broken(source, f"its axes are invalid ({err.message})") from None
        return run_sweep(spec, points, ResultsFolder(run_dir, existing=True), observer, verbose)
    request = RunRequest(record.command, record.kinds, spec, run_dir, True, verbose, True)
    return run(request, observer, store.load_results(run_dir))


def _recorded_hash(run_dir: Path, record: Any) -> str | None:
    """The sha256 of the builder file a folder recorded: a run's environment.json, a sweep's
    sweep.json (or, for sweeps written before it held one, a finished point's environment)."""
    found = record.environment.get("arch_sha256") or getattr(record, "arch_sha256", None)
    if found or not (run_dir / "points").is_dir() or (run_dir / "points").is_symlink():
        return str(found) if found else None
    from dsbench.store import files as store

    for point in sorted((run_dir / "points").iterdir()):
        ours = point.is_dir() and not point.is_symlink() and (point / "environment.json").is_file()
        if ours and (mine := store.read_environment(point).get("arch_sha256")):
            return str(mine)
    return None


def trusted_settings(saved: dict[str, Any], run_dir: Path, recorded_hash: str | None,
                     arch: str | Callable[..., Any] | None, data_dir: str | Path | None,
                     tensorboard: str | Path | None) -> dict[str, Any]:  # fmt: skip
    """A received folder's settings with nothing in them that runs code or reaches outside the
    folder unless the user named it again: the builder file (`arch`, same sha256 as recorded),
    the data folder (`data_dir`) and the TensorBoard folder (`tensorboard`). Refused otherwise,
    in one line that says what the folder names and how to use it knowingly."""
    model = dict(saved.get("model") or {})
    named = model.get("arch")
    if arch is not None and not named:
        raise DsbenchError(f"{run_dir} was not made with --arch, so there is no builder to give",
                           "resume it without --arch", setting="arch")  # fmt: skip
    if named:
        model["arch"] = _trusted_arch(str(named), run_dir, recorded_hash, arch)
    train, data = dict(saved.get("train") or {}), dict(saved.get("data") or {})
    for recorded, given, setting, use in ((train.get("tensorboard"), tensorboard, "tensorboard",
                                           "writes TensorBoard logs"),
                                          (data.get("data_dir"), data_dir, "data_dir",
                                           "reads data")):  # fmt: skip
        if recorded and given is None and not _inside(recorded, run_dir):
            flag = f"--{setting.replace('_', '-')}"
            raise DsbenchError(
                f"{run_dir} records {setting} {recorded}, outside the folder; dsbench {use} "
                "there only when you say so",
                f"dsbench resume {run_dir} {flag} DIR (that folder, or another)",
                setting=setting,
            )
    return {**saved, "model": model, "train": train, "data": data}


def _trusted_arch(named: str, run_dir: Path, recorded_hash: str | None,
                  arch: str | Callable[..., Any] | None) -> str:  # fmt: skip
    """The builder a resumed folder may use: a Keras application by name as recorded; a file
    or a Python function only when the user names it again (a file with the recorded sha256)."""
    from dsbench.models import twin as arch_module

    if named.startswith(arch_module.APPLICATIONS) and (arch is None or arch == named):
        return named
    if arch is None:
        raise DsbenchError(
            f"{run_dir} names the builder {named!r}, which is code; dsbench runs no code that a "
            "results folder names",
            f"read that file, then name it yourself: dsbench resume {run_dir} --arch {named}"
            if not named.startswith("python:")
            else "resume it from Python: dsbench.resume(FOLDER, arch=your_function)",
            setting="arch",
        )
    if callable(arch):
        mine = f"python:{arch.__module__}.{arch.__qualname__}"
        if mine != named:
            raise DsbenchError(f"arch: {run_dir} was made with {named!r}, not {mine!r}",
                               "give the function the run began with", setting="arch")  # fmt: skip
        return named
    if arch.rpartition(":")[2] != named.rpartition(":")[2] or arch.startswith(
        arch_module.APPLICATIONS
    ) != named.startswith(arch_module.APPLICATIONS):
        raise DsbenchError(f"arch: {run_dir} was made with {named!r}, not {arch!r}",
                           "give the builder the run began with", setting="arch")  # fmt: skip
    arch_module.check_arch(arch)
    if not recorded_hash:
        raise DsbenchError(
            f"arch: {run_dir} records no sha256 of its builder file, so dsbench cannot tell "
            f"{arch} is the file the run began with",
            "start a new run with --arch",
            setting="arch",
        )
    if arch_module.content_hash(arch) != recorded_hash:
        raise DsbenchError(f"arch: {arch.rpartition(':')[0]} is not the builder file the run "
                           f"began with (sha256 {recorded_hash[:12]}... recorded)",
                           "give the file as it was, or start a new run", setting="arch")  # fmt: skip
    return arch


def _inside(path: str, run_dir: Path) -> bool:
    """Whether a recorded path lies inside the results folder (links resolved)."""
    where = Path(path).expanduser()
    where = where if where.is_absolute() else Path.cwd() / where
    try:
        return where.resolve().is_relative_to(run_dir.resolve())
    except (OSError, RuntimeError):
        return False


def saved_spec(saved: dict[str, Any], source: str, data_dir: str | Path | None) -> RunSpec:
    """The RunSpec a results folder was made with (a new `data_dir` may replace the old)."""
    try:
        return spec_from_dict(saved, source, data_dir=str(data_dir) if data_dir else None)
    except DsbenchError as err:  # settings each valid, but not together (kernel vs input, ...)
        if err.settings == ("data_dir",):
            raise
        from dsbench.store.schema import broken

        raise broken(source, f"its settings are invalid ({err.message})") from None
