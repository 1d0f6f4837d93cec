"""The `dsbench` command line: parse flags, merge them with --config, call the core, render.

TensorFlow is imported only inside the commands that need it, so `dsbench --help` is instant.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, TypeVar

import typer

from dsbench import __version__
from dsbench.errors import USAGE, DsbenchError

app = typer.Typer(
    name="dsbench",
    help="What do depthwise separable convolutions buy over normal ones? "
    "Train and measure two VGG-style CNNs on CIFAR-10 side by side.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class ModelChoice(str, Enum):
    normal = "normal"
    separable = "separable"


class SummaryModelChoice(str, Enum):
    both = "both"
    normal = "normal"
    separable = "separable"


class DatasetChoice(str, Enum):
    cifar10 = "cifar10"
    synthetic = "synthetic"


class PrecisionChoice(str, Enum):
    float32 = "float32"
    mixed_float16 = "mixed_float16"
    mixed_bfloat16 = "mixed_bfloat16"


class StrategyChoice(str, Enum):
    default = "default"
    mirrored = "mirrored"
    multiworker = "multiworker"


# ---------------------------------------------------------------- shared options

ConfigOpt = Annotated[
    Optional[Path], typer.Option("--config", help="TOML file with [model], [data], [train] settings; flags override it.")
]
KernelOpt = Annotated[Optional[int], typer.Option("--kernel-size", min=1, help="Convolution kernel size (default 3).")]
BlocksOpt = Annotated[
    Optional[str], typer.Option("--blocks", help='Blocks as FILTERSxCONVS, e.g. "64x2,128x2,256x2" (the default).')
]
class DepthwiseInitChoice(str, Enum):
    corrected = "corrected"
    keras = "keras"


DepthwiseInitOpt = Annotated[
    Optional[DepthwiseInitChoice],
    typer.Option("--depthwise-init", help="Separable model's depthwise initializer: corrected (default, glorot with fan k*k) or keras (Keras' default, as in the reference).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout and nothing else there.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks on errors.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", help="Let TensorFlow's own log messages through.")]
EpochsOpt = Annotated[Optional[int], typer.Option("--epochs", min=1, help="Epochs per model (default 10).")]
BatchOpt = Annotated[
    Optional[int], typer.Option("--batch-size", min=1, help="Global batch size (default 128); with several replicas it is split across them.")
]
LrOpt = Annotated[Optional[float], typer.Option("--learning-rate", help="Adam learning rate (default 0.001).")]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", min=0, help="Seed for data subset, shuffling and weights (default 0).")]
RepeatsOpt = Annotated[
    Optional[int], typer.Option("--repeats", min=1, help="Runs per model with seeds seed, seed+1, ...; >= 2 shows mean ± std.")
]
DatasetOpt = Annotated[
    Optional[DatasetChoice], typer.Option("--dataset", help="cifar10 (default) or synthetic (offline, learnable).")
]
DataDirOpt = Annotated[
    Optional[str],
    typer.Option("--data-dir", help="Folder with cifar-10-batches-py/ or cifar-10-python.tar.gz (or env DSBENCH_DATA_DIR)."),
]
TrainSizeOpt = Annotated[Optional[int], typer.Option("--train-size", min=1, help="Seeded class-balanced subset of the training split.")]
TestSizeOpt = Annotated[Optional[int], typer.Option("--test-size", min=1, help="Seeded class-balanced subset of the test split.")]
RescaleOpt = Annotated[
    Optional[bool], typer.Option("--rescale/--no-rescale", help="Scale pixels to [0, 1] (default) or feed raw 0..255 like the reference.")
]
JitOpt = Annotated[Optional[bool], typer.Option("--jit/--no-jit", help="XLA compilation on/off (default off: measured slower here, see benchmarks/RESULTS.md; jit = \"auto\" in a config leaves it to Keras).")]
PrecisionOpt = Annotated[Optional[PrecisionChoice], typer.Option("--precision", help="Keras dtype policy (softmax stays float32).")]
StepsPerExecOpt = Annotated[Optional[int], typer.Option("--steps-per-execution", min=1, help="Training steps per graph call (default 1).")]
StrategyOpt = Annotated[
    Optional[StrategyChoice], typer.Option("--strategy", help="tf.distribute: default (one device), mirrored (all GPUs of a box), multiworker (TF_CONFIG).")
]
DevicesOpt = Annotated[Optional[str], typer.Option("--devices", help='Devices for --strategy mirrored, e.g. "/gpu:0,/gpu:1".')]
ScaleLrOpt = Annotated[Optional[bool], typer.Option("--scale-lr/--no-scale-lr", help="Multiply the learning rate by the number of replicas.")]
DeterministicOpt = Annotated[Optional[bool], typer.Option("--deterministic", help="TensorFlow op determinism: identical reruns, slower.")]
InferenceOpt = Annotated[Optional[bool], typer.Option("--inference/--no-inference", help="Measure inference latency/throughput after training (default on).")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output-dir", help="Results folder (default runs/<UTC time>-<command>/).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing results folder.")]
CheckpointOpt = Annotated[
    Optional[bool], typer.Option("--checkpoint", help="Save weights and optimizer state after every epoch, so `dsbench resume` can continue.")
]
NoProgressOpt = Annotated[bool, typer.Option("--no-progress", help="No live progress bars (off anyway when stdout is not a terminal).")]

F = TypeVar("F", bound=Callable[..., Any])


def _load_tensorflow(verbose: bool, multiworker: bool = False) -> None:
    """Import TensorFlow and Keras, silencing their C++ start-up log lines unless --verbose.

    Those lines are written by absl before TF_CPP_MIN_LOG_LEVEL is read, so the only way to
    drop them is to point file descriptor 2 at /dev/null while the import runs.
    MultiWorkerMirroredStrategy must exist before TensorFlow starts its devices, so it is
    created here, first thing, when asked for.
    """
    from dsbench.memory import limit_malloc_arenas

    limit_malloc_arenas()
    if verbose or "keras" in sys.modules:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401

        if multiworker:
            from dsbench import distribute

            distribute.multiworker_strategy()
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras  # noqa: F401
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        if multiworker:
            from dsbench import distribute

            distribute.multiworker_strategy()
        tf.config.list_logical_devices()  # device start-up logs its own lines (cuInit on CPU boxes)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def guarded(command: F) -> F:
    """Turn DsbenchError into one red line + exit code, Ctrl-C into exit 130; tracebacks with --debug."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DsbenchError as err:
            if kwargs.get("debug"):
                raise
            _error(err.message, err.hint)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt as exc:
            if kwargs.get("debug"):
                raise
            signum = getattr(exc, "signum", 2)
            _error(
                f"interrupted by signal {signum}",
                "what was measured before, if anything, is in the results folder",
            )
            raise typer.Exit(128 + signum) from None

    return wrapper  # type: ignore[return-value]


def _error(message: str, hint: str = "") -> None:
    from rich.console import Console
    from rich.markup import escape

    text = f"[bold red]error:[/] {escape(message)}"
    if hint:
        text += f" [dim]({escape(hint)})[/]"
    Console(stderr=True, highlight=False, soft_wrap=True).print(text)


def _consoles(json_output: bool) -> Any:
    """The console for tables and progress: stdout normally, stderr under --json.

    Piped or captured output gets 160 columns instead of Rich's 80, so wide tables keep
    every number whole.
    """
    from rich.console import Console

    stream = sys.stderr if json_output else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 160
    return Console(stderr=json_output, highlight=False, width=width)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dsbench {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """What do depthwise separable convolutions buy over normal ones?"""


# ---------------------------------------------------------------- spec building


def _model_overrides(
    kernel_size: int | None, blocks: str | None, depthwise_init: Any = None
) -> dict[str, Any]:
    from dsbench.config import parse_blocks

    return {
        "kernel_size": kernel_size,
        "blocks": parse_blocks(blocks) if blocks is not None else None,
        "depthwise_init": depthwise_init,
    }


def _run_spec(config: Path | None, **overrides: Any) -> Any:
    from dsbench.config import build_run_spec, load_config

    sections: dict[str, dict[str, Any]] = {"model": {}, "data": {}, "train": {}}
    for key, value in overrides.items():
        section, name = key.split("__")
        sections[section][name] = value.value if isinstance(value, Enum) else value
    return build_run_spec(load_config(config) if config else None, sections)


# ---------------------------------------------------------------- summary


@app.command()
@guarded
def summary(
    model: Annotated[SummaryModelChoice, typer.Option("--model", help="Which model(s) to show.")] = SummaryModelChoice.both,
    layers: Annotated[bool, typer.Option("--layers", help="Add a per-layer table for each model.")] = False,
    kernel_size: KernelOpt = None,
    blocks: BlocksOpt = None,
    config: ConfigOpt = None,
    json_output: JsonOpt = False,
    debug: DebugOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Parameters and MACs per image of the normal and separable models (trains nothing)."""
    _load_tensorflow(verbose)
    from dsbench.config import KINDS

    spec = _run_spec(config, **{f"model__{k}": v for k, v in _model_overrides(kernel_size, blocks).items()})
    from dsbench.models import describe

    kinds = KINDS if model == SummaryModelChoice.both else (model.value,)
    models, layer_rows = describe(spec.model, kinds)
    if json_output:
        from dsbench.results import to_jsonable

        document = {
            "spec": spec.as_dict()["model"],
            "models": models.to_dict(orient="records"),
        }
        if layers:
            document["layers"] = layer_rows.to_dict(orient="records")
        typer.echo(json.dumps(to_jsonable(document), indent=2))
        return
    from dsbench import render

    console = _consoles(False)
    title = f"Models for {spec.model.input_shape[0]}x{spec.model.input_shape[1]} images: blocks {spec.model.blocks_text}, kernel {spec.model.kernel_size}x{spec.model.kernel_size}"
    console.print(render.summary_table(models, title))
    console.print("[dim]MACs = multiply-accumulates for one image's forward pass; FLOPs = 2 x MACs.[/]")
    if layers:
        for kind in kinds:
            console.print(render.layers_table(layer_rows, kind))


# ---------------------------------------------------------------- train / compare


def _train_command(
    command: str,
    kinds: tuple[str, ...],
    output_dir: Path | None,
    force: bool,
    json_output: bool,
    no_progress: bool,
    config: Path | None,
    verbose: bool,
    **overrides: Any,
) -> None:
    """Shared body of `train` and `compare`: build the spec, make the results folder, run."""
    spec = _run_spec(config, **overrides)
    _load_tensorflow(verbose, multiworker=spec.train.strategy == "multiworker")
    from dsbench import distribute
    from dsbench.results import prepare_run_dir

    # Only the chief of a multi-worker cluster writes results.
    run_dir = prepare_run_dir(output_dir, command, force) if distribute.is_chief() else None
    _run_and_report(command, kinds, spec, run_dir, json_output, no_progress)


def _run_and_report(
    command: str,
    kinds: tuple[str, ...],
    spec: Any,
    run_dir: Path | None,
    json_output: bool,
    no_progress: bool,
    previous: list[Any] | None = None,
) -> None:
    """Load data, train (saving after every model), print the table, set the exit code."""
    from dsbench import render, results

    console = _consoles(json_output)
    loaded, strategy = _setup(spec, console)
    observer = render.RichObserver(console, _show_progress(no_progress, json_output))
    try:
        done, document = _experiment(
            command, kinds, spec, run_dir, loaded, strategy, observer, previous
        )
    finally:
        observer.close()
    summary = results.summary_frame(done)
    if json_output and document is not None:
        typer.echo(json.dumps(document, indent=2))
    if not summary.empty:
        console.print(render.compare_table(summary, f"dsbench {command}: {spec.data.dataset}, "
                      f"{spec.train.epochs} epochs, batch {spec.train.batch_size}"))  # fmt: skip
    if run_dir is not None:
        console.print(f"results: {run_dir}/")
    else:
        console.print("results: not written here (a non-chief worker; the chief writes them)")
    _exit_for(done, run_dir)


def _show_progress(no_progress: bool, json_output: bool) -> bool:
    return not no_progress and not json_output and sys.stdout.isatty()


def _setup(spec: Any, console: Any) -> tuple[Any, Any]:
    """The data (loaded once) and the tf.distribute strategy for a training command."""
    from dsbench import data as data_module
    from dsbench import distribute, train

    train.raise_on_sigterm()
    loaded = data_module.load(spec.data, spec.train.seed)
    console.print(
        f"data: {loaded.source}, {len(loaded.y_train):,} train / {len(loaded.y_test):,} validation images"
        + ("" if spec.data.rescale else " (raw 0..255 pixels)")
    )
    return loaded, distribute.make_strategy(spec.train)


def _experiment(
    command: str,
    kinds: tuple[str, ...],
    spec: Any,
    run_dir: Path | None,
    loaded: Any,
    strategy: Any,
    observer: Any,
    previous: list[Any] | None,
) -> tuple[list[Any], dict[str, Any] | None]:
    """Train every model of one comparison, writing the results folder after each model."""
    from dsbench import distribute, results, train

    settings = spec.as_dict()
    environment = results.environment(
        settings,
        {
            "command": command,
            "data": {"source": loaded.source, "train_images": len(loaded.y_train),
                     "test_images": len(loaded.y_test),
                     "train_last_partial_batch": "dropped (every step has the same shape)"},
            **distribute.describe(strategy),
        },
    )  # fmt: skip

    def save(done: list[Any], complete: bool) -> dict[str, Any] | None:
        if run_dir is None:
            return None
        return results.write_run(run_dir, done, command, settings, environment, complete, kinds)

    checkpoints = run_dir / "checkpoints" if run_dir is not None and spec.train.checkpoint else None
    done = train.run_experiment(
        spec, loaded, kinds, observer, lambda rs: save(rs, complete=False), strategy,
        checkpoints, previous,
    )  # fmt: skip
    interrupted = any(r.status == "interrupted" for r in done)
    return done, save(done, complete=not interrupted)


def _exit_for(done: list[Any], run_dir: Path | None) -> None:
    """Exit 128+signal after an interruption, 1 after a divergence, else return."""
    interrupted = [r for r in done if r.status == "interrupted"]
    if interrupted:
        signum = interrupted[0].stopped_by or 2
        _error(
            f"interrupted by signal {signum} while running {interrupted[0].model} "
            f"({len(interrupted[0].epochs)} epochs complete); completed epochs written to "
            f"{run_dir}/ (summary marked incomplete)",
            f"continue with: dsbench resume {run_dir}",
        )
        raise typer.Exit(128 + signum)
    diverged = [r for r in done if r.status == "diverged"]
    if diverged:
        _error(
            f"{diverged[0].model} diverged (loss NaN or infinite) at epoch {len(diverged[0].epochs)}",
            "lower --learning-rate, or keep --rescale on",
        )
        raise typer.Exit(1)


# ---------------------------------------------------------------- sweep

SweepKernelOpt = Annotated[Optional[str], typer.Option("--kernel-size", help="Kernel sizes to sweep, e.g. 3,5,7.")]
SweepWidthOpt = Annotated[Optional[str], typer.Option("--width", help="Width multipliers of every block's filters, e.g. 0.5,1,2.")]
SweepBlocksOpt = Annotated[
    Optional[list[str]], typer.Option("--blocks", help='Block lists to sweep (depth); repeat the option: --blocks "64x2,128x2,256x2" --blocks "64x3,128x3,256x3".')
]


def _sweep_points(spec: Any, kernel_sizes: str | None, widths: str | None, blocks: list[str] | None) -> list[Any]:
    from dsbench import sweep as sweep_module
    from dsbench.config import parse_blocks, parse_number_list

    def as_int(text: str) -> int:
        value = float(text)
        if not value.is_integer():
            raise ValueError(text)
        return int(value)

    kernels = parse_number_list(kernel_sizes, "--kernel-size", as_int) if kernel_sizes else None
    width_list = parse_number_list(widths, "--width", float) if widths else None
    for text in blocks or []:
        parse_blocks(text)
    points = sweep_module.expand(spec.model, kernels, width_list, blocks)
    for point in points:
        point.spec(spec.model)  # validates (e.g. too many blocks) before anything runs
    return points


def _write_sweep(run_dir: Path, rows: Any, ratios: Any, spec: Any, points: list[Any], complete: bool) -> dict[str, Any]:
    from dsbench import plot, sweep as sweep_module
    from dsbench.results import atomic_text, atomic_write, to_jsonable

    document = to_jsonable({
        "dsbench_version": __version__,
        "command": "sweep",
        "status": "complete" if complete else "incomplete",
        "settings": spec.as_dict(),
        "axes": {
            "kernel_size": sorted({p.kernel_size for p in points}),
            "width": sorted({p.width for p in points}),
            "blocks": list(dict.fromkeys(p.blocks for p in points)),
        },
        "rows": rows.to_dict(orient="records"),
        "ratios": ratios.to_dict(orient="records"),
    })  # fmt: skip
    atomic_write(run_dir / "sweep.csv", lambda p: rows.to_csv(p, index=False))
    atomic_text(run_dir / "sweep.json", json.dumps(document, indent=2) + "\n")
    if not ratios.empty:
        atomic_write(run_dir / "sweep.png",
                     lambda p: plot.sweep(ratios, sweep_module.swept_axes(points), p))  # fmt: skip
    return document


@app.command()
@guarded
def sweep(
    kernel_size: SweepKernelOpt = None,
    width: SweepWidthOpt = None,
    blocks: SweepBlocksOpt = None,
    summary_only: Annotated[bool, typer.Option("--summary-only", help="Train nothing: sweep params and MACs alone, in seconds.")] = False,
    epochs: EpochsOpt = None,
    batch_size: BatchOpt = None,
    learning_rate: LrOpt = None,
    seed: SeedOpt = None,
    repeats: RepeatsOpt = None,
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
    train_size: TrainSizeOpt = None,
    test_size: TestSizeOpt = None,
    rescale: RescaleOpt = None,
    depthwise_init: DepthwiseInitOpt = None,
    jit: JitOpt = None,
    precision: PrecisionOpt = None,
    steps_per_execution: StepsPerExecOpt = None,
    strategy: StrategyOpt = None,
    devices: DevicesOpt = None,
    scale_lr: ScaleLrOpt = None,
    deterministic: DeterministicOpt = None,
    inference: InferenceOpt = None,
    checkpoint: CheckpointOpt = None,
    config: ConfigOpt = None,
    output_dir: OutputOpt = None,
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    no_progress: NoProgressOpt = False,
    debug: DebugOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Where do separable convolutions start to win? Compare both models over kernel size, width and depth."""
    spec = _run_spec(
        config,
        **_overrides(
            epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
            repeats=repeats, dataset=dataset, data_dir=data_dir, train_size=train_size,
            test_size=test_size, rescale=rescale, kernel_size=None, blocks=None,
            depthwise_init=depthwise_init, jit=jit, precision=precision,
            steps_per_execution=steps_per_execution, strategy=strategy, devices=devices,
            scale_lr=scale_lr, deterministic=deterministic, inference=inference,
            checkpoint=checkpoint,
        ),
    )  # fmt: skip
    points = _sweep_points(spec, kernel_size, width, blocks)
    _load_tensorflow(verbose, multiworker=spec.train.strategy == "multiworker")
    from dsbench import distribute
    from dsbench.results import prepare_run_dir

    run_dir = prepare_run_dir(output_dir, "sweep", force) if distribute.is_chief() else None
    _run_sweep(spec, points, run_dir, summary_only, json_output, no_progress)


def _run_sweep(
    spec: Any, points: list[Any], run_dir: Path | None, summary_only: bool, json_output: bool,
    no_progress: bool,
) -> None:  # fmt: skip
    """Train (or only describe) every point, saving after each; resumable point by point."""
    import dataclasses

    import pandas as pd

    from dsbench import render
    from dsbench import sweep as sweep_module
    from dsbench.config import KINDS
    from dsbench.results import load_results, read_run, summary_frame

    console = _consoles(json_output)
    title = f"dsbench sweep: {len(points)} points" + (" (params and MACs only)" if summary_only else
             f", {spec.data.dataset}, {spec.train.epochs} epochs, batch {spec.train.batch_size}")  # fmt: skip
    if summary_only:
        rows = sweep_module.summary_rows(points, spec.model)
        ratios = sweep_module.ratios(rows)
        document = _write_sweep(run_dir, rows, ratios, spec, points, True) if run_dir else None
        _print_sweep(console, rows, ratios, title, document, json_output, run_dir)
        return
    loaded, strategy = _setup(spec, console)
    observer = render.RichObserver(console, _show_progress(no_progress, json_output))
    frames: list[Any] = []
    done: list[Any] = []
    try:
        observer.points_start(len(points))
        for point in points:
            point_spec = dataclasses.replace(spec, model=point.spec(spec.model))
            point_dir = run_dir / "points" / point.slug if run_dir else None
            previous = None
            if point_dir is not None and (point_dir / "summary.json").is_file():
                previous = load_results(point_dir)
                if read_run(point_dir)["document"].get("status") == "complete":
                    done = previous
                    frames.append(sweep_module.trained_rows(point, spec.model, summary_frame(done)))
                    observer.point_done(f"{point.slug} (kept from before)")
                    continue
            if point_dir is not None:
                point_dir.mkdir(parents=True, exist_ok=True)
            done, _ = _experiment("compare", KINDS, point_spec, point_dir, loaded, strategy,
                                  observer, previous)  # fmt: skip
            frames.append(sweep_module.trained_rows(point, spec.model, summary_frame(done)))
            rows = pd.concat(frames, ignore_index=True)
            interrupted = any(r.status == "interrupted" for r in done)
            if run_dir is not None:
                _write_sweep(run_dir, rows, sweep_module.ratios(rows), spec, points, False)
            if interrupted:
                break
            observer.point_done(point.slug)
    finally:
        observer.close()
    rows = pd.concat(frames, ignore_index=True)
    ratios = sweep_module.ratios(rows)
    complete = len(frames) == len(points) and not any(r.status == "interrupted" for r in done)
    document = _write_sweep(run_dir, rows, ratios, spec, points, complete) if run_dir else None
    _print_sweep(console, rows, ratios, title, document, json_output, run_dir)
    _exit_for(done, run_dir)


def _print_sweep(console: Any, rows: Any, ratios: Any, title: str, document: Any,
                 json_output: bool, run_dir: Path | None) -> None:  # fmt: skip
    from dsbench import render
    from dsbench.results import to_jsonable

    if json_output:
        typer.echo(json.dumps(document or to_jsonable({"rows": rows.to_dict(orient="records")}), indent=2))
    if not ratios.empty:
        console.print(render.sweep_table(rows, ratios, title))
    if run_dir is not None:
        console.print(f"results: {run_dir}/")


def _overrides(
    *, epochs: int | None, batch_size: int | None, learning_rate: float | None, seed: int | None,
    repeats: int | None, dataset: Any, data_dir: str | None, train_size: int | None,
    test_size: int | None, rescale: bool | None, kernel_size: int | None, blocks: str | None,
    depthwise_init: Any,
    jit: bool | None, precision: Any, steps_per_execution: int | None, strategy: Any,
    devices: str | None, scale_lr: bool | None, deterministic: bool | None, inference: bool | None,
    checkpoint: bool | None,
) -> dict[str, Any]:  # fmt: skip
    from dsbench.config import positive_float

    model = _model_overrides(kernel_size, blocks, depthwise_init)
    if learning_rate is not None:
        learning_rate = positive_float(learning_rate, "--learning-rate")
    return {
        "model__kernel_size": model["kernel_size"],
        "model__blocks": model["blocks"],
        "model__depthwise_init": model["depthwise_init"],
        "data__dataset": dataset,
        "data__data_dir": data_dir,
        "data__train_size": train_size,
        "data__test_size": test_size,
        "data__rescale": rescale,
        "train__epochs": epochs,
        "train__batch_size": batch_size,
        "train__learning_rate": learning_rate,
        "train__seed": seed,
        "train__repeats": repeats,
        "train__jit": jit,
        "train__precision": precision,
        "train__steps_per_execution": steps_per_execution,
        "train__strategy": strategy,
        "train__devices": tuple(d.strip() for d in devices.split(",") if d.strip()) if devices else None,
        "train__scale_lr": scale_lr,
        "train__deterministic": deterministic,
        "train__inference": inference,
        "train__checkpoint": checkpoint,
    }


@app.command()
@guarded
def compare(
    epochs: EpochsOpt = None,
    batch_size: BatchOpt = None,
    learning_rate: LrOpt = None,
    seed: SeedOpt = None,
    repeats: RepeatsOpt = None,
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
    train_size: TrainSizeOpt = None,
    test_size: TestSizeOpt = None,
    rescale: RescaleOpt = None,
    kernel_size: KernelOpt = None,
    blocks: BlocksOpt = None,
    depthwise_init: DepthwiseInitOpt = None,
    jit: JitOpt = None,
    precision: PrecisionOpt = None,
    steps_per_execution: StepsPerExecOpt = None,
    strategy: StrategyOpt = None,
    devices: DevicesOpt = None,
    scale_lr: ScaleLrOpt = None,
    deterministic: DeterministicOpt = None,
    inference: InferenceOpt = None,
    checkpoint: CheckpointOpt = None,
    config: ConfigOpt = None,
    output_dir: OutputOpt = None,
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    no_progress: NoProgressOpt = False,
    debug: DebugOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Train the normal and the separable model on the same data, seeds and batch order; compare."""
    from dsbench.config import KINDS

    _train_command(
        "compare", KINDS, output_dir, force, json_output, no_progress, config, verbose,
        **_overrides(
            epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
            repeats=repeats, dataset=dataset, data_dir=data_dir, train_size=train_size,
            test_size=test_size, rescale=rescale, kernel_size=kernel_size, blocks=blocks,
            depthwise_init=depthwise_init, jit=jit,
            precision=precision, steps_per_execution=steps_per_execution, strategy=strategy,
            devices=devices, scale_lr=scale_lr, deterministic=deterministic, inference=inference,
            checkpoint=checkpoint,
        ),
    )  # fmt: skip


@app.command(name="train")
@guarded
def train_command(
    model: Annotated[ModelChoice, typer.Option("--model", help="Which model to train.")] = ModelChoice.normal,
    epochs: EpochsOpt = None,
    batch_size: BatchOpt = None,
    learning_rate: LrOpt = None,
    seed: SeedOpt = None,
    repeats: RepeatsOpt = None,
    dataset: DatasetOpt = None,
    data_dir: DataDirOpt = None,
    train_size: TrainSizeOpt = None,
    test_size: TestSizeOpt = None,
    rescale: RescaleOpt = None,
    kernel_size: KernelOpt = None,
    blocks: BlocksOpt = None,
    depthwise_init: DepthwiseInitOpt = None,
    jit: JitOpt = None,
    precision: PrecisionOpt = None,
    steps_per_execution: StepsPerExecOpt = None,
    strategy: StrategyOpt = None,
    devices: DevicesOpt = None,
    scale_lr: ScaleLrOpt = None,
    deterministic: DeterministicOpt = None,
    inference: InferenceOpt = None,
    checkpoint: CheckpointOpt = None,
    config: ConfigOpt = None,
    output_dir: OutputOpt = None,
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    no_progress: NoProgressOpt = False,
    debug: DebugOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Train one model (normal or separable) and report its timing and accuracy."""
    _train_command(
        "train", (model.value,), output_dir, force, json_output, no_progress, config, verbose,
        **_overrides(
            epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
            repeats=repeats, dataset=dataset, data_dir=data_dir, train_size=train_size,
            test_size=test_size, rescale=rescale, kernel_size=kernel_size, blocks=blocks,
            depthwise_init=depthwise_init, jit=jit,
            precision=precision, steps_per_execution=steps_per_execution, strategy=strategy,
            devices=devices, scale_lr=scale_lr, deterministic=deterministic, inference=inference,
            checkpoint=checkpoint,
        ),
    )  # fmt: skip


# ---------------------------------------------------------------- resume


@app.command()
@guarded
def resume(
    run_dir: Annotated[Path, typer.Argument(help="An interrupted results folder of train or compare.")],
    data_dir: DataDirOpt = None,
    json_output: JsonOpt = False,
    no_progress: NoProgressOpt = False,
    debug: DebugOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Continue an interrupted train/compare run with its own settings, from its last epoch."""
    from dsbench.results import load_results, read_run

    if _is_sweep_dir(run_dir):
        _resume_sweep(run_dir, data_dir, json_output, no_progress, verbose)
        return
    document = read_run(run_dir)["document"]
    if document.get("status") == "complete":
        raise DsbenchError(f"{run_dir} is already complete", "nothing to resume")
    command = document.get("command")
    if command not in ("train", "compare"):
        raise DsbenchError(f"{run_dir} was written by {command!r}; only train and compare resume")
    spec = _saved_spec(document, f"{run_dir}/summary.json", data_dir)
    kinds = tuple(document.get("kinds") or ())
    _load_tensorflow(verbose, multiworker=spec.train.strategy == "multiworker")
    previous = load_results(run_dir)
    _run_and_report(command, kinds, spec, run_dir, json_output, no_progress, previous)


def _saved_spec(document: dict[str, Any], source: str, data_dir: str | None) -> Any:
    """The RunSpec a results document was made with (a new --data-dir may replace the old)."""
    from dsbench.config import build_run_spec, validate_config

    settings = {
        section: {k: v for k, v in values.items() if v is not None}
        for section, values in (document.get("settings") or {}).items()
    }
    return build_run_spec(validate_config(settings, source), {"data": {"data_dir": data_dir}})


def _is_sweep_dir(run_dir: Path) -> bool:
    """A folder written by `sweep` (its points' own results live below it, under points/)."""
    return (run_dir / "sweep.json").is_file() and not (run_dir / "summary.json").is_file()


def _read_sweep(run_dir: Path, *keys: str) -> dict[str, Any]:
    """A sweep folder's sweep.json; a clear error when it is unreadable or lacks one of `keys`."""
    try:
        document = json.loads((run_dir / "sweep.json").read_text(encoding="utf-8"))
        for key in keys:
            document[key]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DsbenchError(f"{run_dir / 'sweep.json'} is broken ({err})") from None
    return document


def _resume_sweep(
    run_dir: Path, data_dir: str | None, json_output: bool, no_progress: bool, verbose: bool
) -> None:
    document = _read_sweep(run_dir, "axes")
    axes = document["axes"]
    if document.get("status") == "complete":
        raise DsbenchError(f"{run_dir} is already complete", "nothing to resume")
    spec = _saved_spec(document, f"{run_dir}/sweep.json", data_dir)
    from dsbench import sweep as sweep_module

    points = sweep_module.expand(spec.model, axes["kernel_size"], axes["width"], axes["blocks"])
    _load_tensorflow(verbose, multiworker=spec.train.strategy == "multiworker")
    _run_sweep(spec, points, run_dir, False, json_output, no_progress)


# ---------------------------------------------------------------- report


@app.command()
@guarded
def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="Results folders written by train, compare or sweep.")],
    json_output: JsonOpt = False,
    debug: DebugOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Print the comparison table of one or more results folders again (sweep folders too)."""
    import pandas as pd

    from dsbench import render
    from dsbench.results import read_run

    if len(run_dirs) == 1 and _is_sweep_dir(run_dirs[0]):
        _report_sweep(run_dirs[0], json_output)
        return
    runs = [read_run(path) for path in run_dirs]
    if json_output:
        typer.echo(json.dumps([dict(r["document"], path=str(r["path"])) for r in runs], indent=2))
        return
    console = _consoles(False)
    if len(runs) == 1:
        run = runs[0]
        doc = run["document"]
        settings = doc.get("settings", {})
        title = (
            f"{run['path']}: dsbench {doc.get('command', '?')}, "
            f"{settings.get('data', {}).get('dataset', '?')}, {settings.get('train', {}).get('epochs', '?')} "
            f"epochs, batch {settings.get('train', {}).get('batch_size', '?')} ({doc.get('status', '?')})"
        )
        if not run["summary"].empty:
            console.print(render.compare_table(run["summary"], title))
        else:
            console.print(f"{title}: no model finished an epoch")
        return
    frames = [r["summary"].assign(run=str(r["path"])) for r in runs]
    console.print(render.report_table(pd.concat(frames, ignore_index=True)))


def _report_sweep(run_dir: Path, json_output: bool) -> None:
    import pandas as pd

    from dsbench import render

    document = _read_sweep(run_dir, "rows", "ratios")
    if json_output:
        typer.echo(json.dumps(document, indent=2))
        return
    rows, ratios = pd.DataFrame(document["rows"]), pd.DataFrame(document["ratios"])
    title = f"{run_dir}: dsbench sweep, {len(ratios)} points ({document.get('status', '?')})"
    if ratios.empty:
        _consoles(False).print(f"{title}: no point has finished yet")
    else:
        _consoles(False).print(render.sweep_table(rows, ratios, title))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
