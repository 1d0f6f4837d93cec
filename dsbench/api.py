"""dsbench as a library: compare, train, sweep (and its plan), bench, resume, report, against
(a run against its baseline), summary, layers and describe, from Python.

    import dsbench
    result = dsbench.compare(epochs=2, dataset="synthetic", train_size=512, test_size=128)
    result.summary          # a row per model: the comparison table's columns
    result.save("runs/x")   # the results folder the CLI writes

Settings are keyword arguments named like the TOML keys of a config file (epochs,
batch_size, kernel_size, blocks, dataset, ...); `config=` reads a TOML file under them.
Each function's help lists the settings it takes with their types and defaults
(`help(dsbench.compare)`); one it does not use, or a bad value, raises DsbenchError naming it. Nothing here prints: pass an Observer for
progress. Each function builds a request and hands it on (run/runner.py); no framework is
imported by the functions that do not train.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsbench.errors import DsbenchError
from dsbench.observer import Observer
from dsbench.run.outcome import BenchResult, Comparison, SweepResult
from dsbench.spec.config import run_spec
from dsbench.spec.documented import refuse_unused, uses
from dsbench.spec.request import (
    BENCH_SETTINGS,
    COUNT_SETTINGS,
    DEPLOY_SETTINGS,
    SWEEP_SETTINGS,
    BenchRequest,
    Command,
    DeployRequest,
    PathLike,
    ResumeRequest,
    RunRequest,
    SweepRequest,
    bench_plan,
    check_bench,
    parse_threads,
    sweep_plan,
)
from dsbench.spec.settings import BENCH_BETWEEN_RUNS_SD, KINDS, SETTINGS, RunSpec
from dsbench.spec.shard import Shard, parse_shard

if TYPE_CHECKING:
    import pandas as pd

    from dsbench.measure.deploy import Deployed
    from dsbench.spec.grid import AxisValues
    from dsbench.store.reports import Report

__all__ = ["BenchResult", "Comparison", "SweepResult", "against", "bench", "compare", "deploy",
           "describe", "layers", "plan", "report", "resume", "summary", "sweep", "train"]  # fmt: skip


@uses(*SETTINGS)
def compare(*, config: PathLike | None = None, output_dir: PathLike | None = None,
            force: bool = False, observer: Observer | None = None, verbose: bool = False,
            **settings: Any) -> Comparison:  # fmt: skip
    """Train the normal and the separable model on the same data, seeds and batch order.

    With `output_dir`, the results folder is written as training goes (after every round).
    """
    request = RunRequest(Command.compare, KINDS, run_spec(settings, config), _path(output_dir),
                         force, verbose)  # fmt: skip
    from dsbench.run import runner

    return runner.run(request, observer)


@uses(*SETTINGS)
def train(model: str = "normal", *, config: PathLike | None = None,
          output_dir: PathLike | None = None, force: bool = False,
          observer: Observer | None = None, verbose: bool = False,
          **settings: Any) -> Comparison:  # fmt: skip
    """Train one model (`normal` or `separable`) and measure it."""
    if model not in KINDS:
        raise DsbenchError(f"model must be one of {', '.join(KINDS)}; got {model!r}",
                           setting="model")  # fmt: skip
    request = RunRequest(Command.train, (model,), run_spec(settings, config), _path(output_dir),
                         force, verbose)  # fmt: skip
    from dsbench.run import runner

    return runner.run(request, observer)


@uses(*SWEEP_SETTINGS)
def sweep(*, kernel_size: AxisValues = None, width: AxisValues = None,
          blocks: AxisValues = None, backend: AxisValues = None,
          batch_size: AxisValues = None, precision: AxisValues = None,
          summary_only: bool = False, shard: str | Shard | None = None,
          devices: str | None = None, ray: str | None = None,
          config: PathLike | None = None, output_dir: PathLike | None = None,
          force: bool = False, observer: Observer | None = None, verbose: bool = False,
          **settings: Any) -> SweepResult:  # fmt: skip
    """Compare both models at every point of kernel sizes x width multipliers x block lists x
    backends x batch sizes x precisions.

    Axes take lists ([3, 5, 7]) or text ("3,5,7"); `blocks` takes a list of block lists.
    Points on another backend than the first train in worker processes of their own.
    `summary_only` trains nothing: params and MACs per point, without TensorFlow.
    `shard` ("I/N", or "auto" in a Slurm job array or "auto/N" in a Kubernetes Indexed Job)
    trains this worker's share of the points (`plan` lists them); workers given the same
    `output_dir` fill one sweep folder, each point claimed while it trains. `devices` ("0,1",
    "all", or "cpu:N") runs one such worker per GPU (or per set of this machine's cores);
    `ray` ("local", "auto" or a cluster's address) makes every point a Ray task.
    """
    from dsbench.run import runner

    axes = {"kernel_size": kernel_size, "width": width, "blocks": blocks, "backend": backend,
            "batch_size": batch_size, "precision": precision}  # fmt: skip
    spec, points = sweep_plan(axes, settings, config, summary_only)
    parsed = parse_shard(shard) if isinstance(shard, str) else shard
    if parsed is not None and summary_only:
        raise DsbenchError("shard splits training, and summary_only trains nothing",
                           "drop shard: summary_only takes seconds", setting=("shard", "summary_only"))  # fmt: skip
    request = SweepRequest(spec, points, summary_only, _path(output_dir), force, verbose, parsed,
                           None if devices is None else str(devices),
                           None if ray is None else str(ray))  # fmt: skip
    if request.devices is not None and request.ray is not None:
        raise DsbenchError("devices and ray each start workers of their own",
                           "give one of them", setting=("devices", "ray"))  # fmt: skip
    if request.devices is not None:
        from dsbench.run import devices as on_devices

        return on_devices.sweep(request, observer or Observer())
    if request.ray is not None:
        from dsbench.run import on_ray

        return on_ray.sweep(request, observer or Observer())
    return runner.sweep(request, observer or Observer())


@uses(*SWEEP_SETTINGS)
def plan(*, kernel_size: AxisValues = None, width: AxisValues = None,
         blocks: AxisValues = None, backend: AxisValues = None,
         batch_size: AxisValues = None, precision: AxisValues = None,
         shard: str | Shard | None = None, config: PathLike | None = None,
         output_dir: PathLike | None = None, **settings: Any) -> pd.DataFrame:  # fmt: skip
    """The points `sweep` would train with the same axes and settings, in the order it trains
    them, without training: a row each with its position, its name (its folder under
    points/), what it is and its axes; with `shard` ("I/N", "auto"), the shard of each and
    whether it is this one's (`this_shard`); with `output_dir`, each point's state there
    (to do, training on a host, interrupted, done). Every worker computes the same plan."""
    from dsbench.measure.sweep import plan_rows

    axes = {"kernel_size": kernel_size, "width": width, "blocks": blocks, "backend": backend,
            "batch_size": batch_size, "precision": precision}  # fmt: skip
    spec, points = sweep_plan(axes, settings, config, False)
    rows = plan_rows(list(points), spec.model, parse_shard(shard) if isinstance(shard, str)
                     else shard)  # fmt: skip
    folder = _path(output_dir)
    if folder is not None and folder.is_dir():
        from dsbench.store.claims import states

        rows["state"] = states(folder, list(rows["point"]))
    return rows


@uses(*BENCH_SETTINGS)
def bench(*, mode: str = "train", batch_size: int | str | Sequence[int] | None = None,
          precision_target: float = 0.05, max_time: float = 60.0, width: float = 1.0,
          between_runs_sd: float = BENCH_BETWEEN_RUNS_SD, config: PathLike | None = None,
          output_dir: PathLike | None = None, force: bool = False,
          observer: Observer | None = None, verbose: bool = False,
          **settings: Any) -> BenchResult:  # fmt: skip
    """How much faster is the separable model? Speed only, to ±`precision_target` (95%).

    Both models run in alternating chunks of steps on the same batches, in `processes` fresh
    processes (3 unless a setting says otherwise) sharing `max_time` seconds (from this call,
    TensorFlow's start included); the ratio's interval is over the processes, widened by
    `between_runs_sd`, the spread of the log ratio between runs at different times that one
    run cannot see (0.04, measured on a 2-vCPU machine in docs/benchmarks.md; 0 on a machine
    you have measured to have none). One process stops once the interval is within the
    target. `mode` is train (forward, backward, Adam), infer (forward) or both; `batch_size`
    may list several ("1,32,128"); `width` multiplies every block's filters.
    Data default to synthetic batches.
    """
    from dsbench.run import runner

    refuse_unused("bench", settings, BENCH_SETTINGS, "bench times steps only (no epochs, no "
                  "accuracy): leave them out, or use compare")  # fmt: skip
    check_bench(mode, precision_target, max_time, between_runs_sd, width)
    spec, batch_sizes = bench_plan(batch_size, width, settings, config)
    modes = ("train", "infer") if mode == "both" else (mode,)
    request = BenchRequest(spec, modes, batch_sizes, precision_target, max_time, between_runs_sd,
                           _path(output_dir), force, verbose)  # fmt: skip
    return runner.bench(request, observer or Observer())


@uses(*DEPLOY_SETTINGS)
def deploy(run_dir: PathLike | None = None, *, untrained: bool = False,
           threads: str | int | Sequence[int] | None = None, max_time: float = 60.0,
           data_dir: PathLike | None = None, arch: str | Callable[..., Any] | None = None,
           output_dir: PathLike | None = None, force: bool = False,
           observer: Observer | None = None, verbose: bool = False,
           **settings: Any) -> Deployed:  # fmt: skip
    """Both models where models are deployed: exported to LiteRT (float32, dynamic-range int8,
    full-integer int8) and ONNX (float32) under `deploy/`, then measured — file size, batch-1
    latency with its 95% interval (normal and separable alternated) at each of `threads` ("1,4",
    "all"; default 1 and every core) within `max_time` seconds, and the test accuracy each
    export keeps against its Keras model (paired over the same images). `run_dir` is a finished
    compare folder trained with checkpoint on (its final weights; `data_dir` and
    `arch` as resume takes them); `untrained` (or no run_dir) builds a fresh pair from the
    settings: size and latency only. Needs `pip install "dsbench[deploy]"`; TensorFlow exports
    (a JAX or PyTorch run's weights are loaded into its Keras). Writes deploy.json beside them."""
    from dsbench.backends.host import cores_in_use
    from dsbench.run import deploy as deploying

    refuse_unused("deploy", settings, DEPLOY_SETTINGS, "deploy builds the models and times "
                  "inference only: leave training settings out")  # fmt: skip
    if run_dir is not None and (untrained or settings or output_dir is not None):
        raise DsbenchError("a run folder brings its own models and is written to; untrained, "
                           "model settings and output_dir are for a fresh pair",
                           "give one of them", setting="untrained")  # fmt: skip
    if not (isinstance(max_time, (int, float)) and 0 < max_time < 1e6):
        raise DsbenchError(f"max_time {max_time} must be a number of seconds above 0",
                           "e.g. max_time 60", setting="max_time")  # fmt: skip
    if run_dir is None and arch is not None:  # untrained: your network and its twin, built
        settings = {**settings, "arch": arch}
    request = DeployRequest(_path(run_dir), None if run_dir is not None else run_spec(settings),
                            parse_threads(threads, cores_in_use()), float(max_time), _path(output_dir),
                            force, verbose, _path(data_dir), arch)  # fmt: skip
    return deploying.deploy(request, observer or Observer())


def resume(path: PathLike, *, data_dir: PathLike | None = None,
           arch: str | Callable[..., Any] | None = None, tensorboard: PathLike | None = None,
           observer: Observer | None = None,
           verbose: bool = False) -> Comparison | SweepResult:  # fmt: skip
    """Continue an interrupted compare, train or sweep folder with its own settings.

    A folder is data, never code: a run of your own builder resumes only when you name it
    again (`arch`: the file, whose sha256 must match the recorded one, or the function), and
    a data or TensorBoard folder recorded outside the results folder is used only when given
    again (`data_dir`, which may also point to the data anew, and `tensorboard`).
    """
    from dsbench.run import received

    request = ResumeRequest(Path(path), _path(data_dir), arch, _path(tensorboard), verbose)
    return received.resume(request, observer or Observer())


def report(paths: PathLike | Sequence[PathLike]) -> Report:
    """Results folders of every kind (run, sweep, bench, or a parent folder holding many), one
    path or several: `.records` each folder's record, `.rows` one DataFrame (a row per folder,
    point and model, with where and how it was measured and the separable/normal ratios),
    `.warnings` each folder's own warnings and whether the folders can be compared."""
    from dsbench.store import reports

    # one path given as a string is one folder, not a sequence of one-letter names
    return reports.report([paths] if isinstance(paths, (str, os.PathLike)) else paths)


def against(new: PathLike, baseline: PathLike, *, force: bool = False) -> Report:
    """The run folder `new` against the run folder `baseline`, as `report NEW --baseline OLD`:
    `.rows` a row per figure and model with old, new, the change (new/old, or new − old for
    accuracy) and its 95% interval, and a verdict (faster, slower, no change resolved).
    Refused when the runs differ in settings that change the numbers, unless `force`."""
    from dsbench.store import reports

    return reports.against(Path(new), Path(baseline), force)


@uses(*COUNT_SETTINGS)
def describe(model: str = "both", *, config: PathLike | None = None,
             **settings: Any) -> tuple[RunSpec, list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """(spec, a row per model, a row per layer): params, MACs and activations, analytic only.

    Plain rows, no pandas and no TensorFlow, so the CLI's `summary` starts fast.
    """
    from dsbench.models.vgg import describe as describe_models

    if model not in ("both", *KINDS):
        raise DsbenchError(f"model must be one of both, {', '.join(KINDS)}; got {model!r}",
                           setting="model")  # fmt: skip
    _counts_only("describe", settings)
    spec = run_spec(settings, config)
    if spec.data.data_dir:  # an image folder: its shape and classes, from one header
        from dsbench.data.images import is_image_tree, model_for_tree

        if is_image_tree(folder := Path(spec.data.data_dir)):
            spec = dataclasses.replace(spec, model=model_for_tree(spec.model, folder))
    if spec.model.arch:  # your own network is built with Keras: start it quietly first
        from dsbench.run import runner

        runner.start(spec, verbose=False)
    models, layer_rows = describe_models(spec.model, KINDS if model == "both" else (model,))
    return spec, models, layer_rows


@uses(*COUNT_SETTINGS)
def summary(model: str = "both", *, config: PathLike | None = None,
            **settings: Any) -> pd.DataFrame:  # fmt: skip
    """Params, MACs, FLOPs and activations per image of each model, and ratios to normal."""
    import pandas as pd

    _counts_only("summary", settings)
    return pd.DataFrame(describe(model, config=config, **settings)[1])


@uses(*COUNT_SETTINGS)
def layers(model: str = "both", *, config: PathLike | None = None,
           **settings: Any) -> pd.DataFrame:  # fmt: skip
    """The per-layer breakdown: output shape, params and MACs for one image."""
    import pandas as pd

    _counts_only("layers", settings)
    return pd.DataFrame(describe(model, config=config, **settings)[2])


def _counts_only(command: str, settings: dict[str, Any]) -> None:
    """Counting the models trains nothing: a training setting given here would look counted in
    and be silently ignored."""
    refuse_unused(command, settings, COUNT_SETTINGS, "leave them out (settings of compare, "
                  "train and bench): counting the models trains nothing")  # fmt: skip


def _path(output_dir: PathLike | None) -> Path | None:
    return Path(output_dir) if output_dir is not None else None
