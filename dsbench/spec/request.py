"""What a command asks for, frozen: `RunRequest` (train, compare), `SweepRequest`,
`BenchRequest` and `ResumeRequest`: the models, the settings and where results go. Each is built once by the API
(dsbench/api.py, with the builders below for sweep and bench) and travels whole to the runner
(run/runner.py) and into worker processes: nothing is passed as loose parameters beside it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dsbench.errors import DsbenchError
from dsbench.spec import grid
from dsbench.spec.config import run_spec
from dsbench.spec.enums import StrEnum
from dsbench.spec.settings import (
    BENCH_BETWEEN_RUNS_SD,
    BENCH_MODES,
    BENCH_PROCESSES,
    SETTINGS,
    RunSpec,
)
from dsbench.spec.shard import Shard
from dsbench.spec.values import parse_number_list, whole_number

PathLike = str | Path  # a folder or file, as the API takes it


class Command(StrEnum):
    """The command that runs, and that wrote a result."""

    train = "train"
    compare = "compare"
    sweep = "sweep"
    bench = "bench"


@dataclass(frozen=True)
class RunRequest:
    """One train or compare run: what to train, how, and where its results go."""

    command: Command
    kinds: tuple[str, ...]
    spec: RunSpec
    output_dir: Path | None = None
    force: bool = False
    verbose: bool = False
    resuming: bool = False  # output_dir is an interrupted results folder being continued


@dataclass(frozen=True)
class ResumeRequest:
    """One resume: the interrupted folder, and what the user names again, none of it taken from
    the folder on trust: the data folder, the builder (a file or, from Python, a function)
    and the TensorBoard folder. The folder's own settings make the `RunRequest` it continues."""

    run_dir: Path
    data_dir: Path | None = None
    arch: str | Callable[..., Any] | None = None
    tensorboard: Path | None = None
    verbose: bool = False


@dataclass(frozen=True)
class SweepRequest:
    """One sweep: the run's own spec (each training axis at its first value), the grid's
    points in order (the plan), whether to train them, where results go, and which of the
    points this worker trains."""

    spec: RunSpec
    points: tuple[grid.Point, ...]
    summary_only: bool = False
    output_dir: Path | None = None
    force: bool = False
    verbose: bool = False
    shard: Shard | None = None  # this worker's share of the points (all of them when None)
    devices: str | None = None  # one worker per device: GPUs "0,1" or "all", or "cpu:N"
    ray: str | None = None  # a Ray task per point on this cluster: local, auto or an address


@dataclass(frozen=True)
class BenchRequest:
    """One bench: the spec to time, its modes and batch sizes, how sure (precision_target) and
    for how long (max_time, from the call), the spread between runs its interval adds, and
    where results go."""

    spec: RunSpec
    modes: tuple[str, ...]
    batch_sizes: tuple[int, ...]
    precision_target: float
    max_time: float
    between_runs_sd: float
    output_dir: Path | None = None
    force: bool = False
    verbose: bool = False


# Settings `bench` takes (speed only: model, data, numerics, device).
BENCH_SETTINGS = ("arch", "arch_options", "twin", "input_shape", "num_classes", "kernel_size",
                  "blocks", "depthwise_init", "dataset", "data_dir", "train_size", "rescale",
                  "seed", "jit", "precision", "strategy", "devices", "backend", "processes")  # fmt: skip
# Settings a sweep takes besides its axes (`devices` is its own: a worker per device).
SWEEP_SETTINGS = tuple(name for name in SETTINGS if name not in (
    "kernel_size", "blocks", "backend", "batch_size", "precision", "devices"))  # fmt: skip
# Settings that count the models (summary, layers, describe): the model and where images are.
COUNT_SETTINGS = (*(name for name in SETTINGS if SETTINGS[name] == "model"), "data_dir",
                  "dataset")  # fmt: skip
# Settings `deploy --untrained` builds its pair from: the models and the seed (TensorFlow
# exports them, whatever backend a run trained on).
DEPLOY_SETTINGS = (*(name for name in COUNT_SETTINGS if name not in ("data_dir", "dataset")),
                   "seed")  # fmt: skip


def sweep_plan(axes: Mapping[str, grid.AxisValues], settings: Mapping[str, Any],
               config: PathLike | None, summary_only: bool) -> tuple[RunSpec, tuple[grid.Point, ...]]:  # fmt: skip
    """A sweep's own spec and its points: one value of a training axis is the run's setting (as
    in compare), two or more are an axis; every point checked before anything runs."""
    # a lone number (batch_size=32) is an axis of one value
    axes = {name: [values] if isinstance(values, (int, float)) and not isinstance(values, bool)
            else values for name, values in axes.items()}  # fmt: skip
    training = {name: axes.get(name) for name in grid.TRAIN_AXES}
    first = {name: grid.first_value(values) for name, values in training.items() if values}
    swept = {name: (v if grid.several(v) else None) for name, v in training.items()}
    spec = run_spec({**settings, **first}, config)  # the run's own: each axis' first value
    if spec.train.processes > 1 and not summary_only:
        raise DsbenchError(
            f"processes {spec.train.processes}: sweep trains every point in one process",
            "use compare --processes at the points you want to quote",
            setting="processes",
        )
    points = grid.points_for(spec.model, axes.get("kernel_size"), axes.get("width"),
                             axes.get("blocks"), swept["backend"], swept["batch_size"],
                             swept["precision"])  # fmt: skip
    return spec, tuple(points)


def bench_plan(batch_size: int | str | Sequence[int] | None, width: float,
               settings: Mapping[str, Any], config: PathLike | None) -> tuple[RunSpec, tuple[int, ...]]:  # fmt: skip
    """A bench's spec and batch sizes: synthetic images enough for the largest batch unless
    data are given, BENCH_PROCESSES fresh processes unless a setting or the config says
    otherwise, every block's filters times `width` (your builder's own `width` with arch)."""
    sizes = [batch_size] if isinstance(batch_size, int) else batch_size
    batch_sizes = parse_number_list(sizes, "batch_size", whole_number) if sizes else [128]
    if config is None and "dataset" not in settings:
        # enough images for one batch of the largest size (a batch larger than the data fails):
        # synthetic ones, or those of the data_dir given (timed as they are, and recorded)
        images = max(512, *batch_sizes)
        made = {} if settings.get("data_dir") else {"dataset": "synthetic"}
        settings = {**made, "train_size": images, "test_size": 10, **settings}
    spec = run_spec({**settings, "batch_size": max(batch_sizes)}, config,
                    base={"train": {"processes": BENCH_PROCESSES}})  # fmt: skip
    model = spec.model
    if model.arch:  # your builder's own keyword argument (width 1, the default: not given)
        model = model.with_options(width=None if width == 1 else width)
    spec = dataclasses.replace(spec, model=model if model.arch else model.scaled(width))
    if spec.train.strategy != "default":
        raise DsbenchError("bench times one device", "use compare for tf.distribute runs",
                           setting="strategy")  # fmt: skip
    return spec, tuple(batch_sizes)


def check_bench(mode: str, precision_target: float, max_time: float, between_runs_sd: float,
                width: float) -> None:  # fmt: skip
    """Refuse bench options out of range, before anything is loaded."""
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


@dataclass(frozen=True)
class DeployRequest:
    """`deploy`: a finished run folder's trained models (`run_dir`), or a fresh untrained pair
    built from `spec`, exported and measured at each number of `threads` within `max_time`."""

    run_dir: Path | None
    spec: RunSpec | None
    threads: tuple[int, ...]
    max_time: float
    output_dir: Path | None = None
    force: bool = False
    verbose: bool = False
    data_dir: Path | None = None
    arch: Any = None


def parse_threads(threads: str | int | Sequence[int] | None, cores: int) -> tuple[int, ...]:
    """deploy's thread counts: "1,4", or "all" for every core; default 1 and all cores."""
    if threads is None:
        return tuple(dict.fromkeys((1, cores)))
    if isinstance(threads, str):
        values: str | list[Any] = ",".join(str(cores) if part.strip() == "all" else part
                                           for part in threads.split(","))  # fmt: skip
    else:
        values = [threads] if isinstance(threads, int) else list(threads)
    counts = parse_number_list(values, "threads", whole_number)
    if not counts or min(counts) < 1:
        raise DsbenchError(f"threads {threads} must be whole numbers of at least 1, or all",
                           "e.g. threads 1,all", setting="threads")  # fmt: skip
    return tuple(dict.fromkeys(int(c) for c in counts))
