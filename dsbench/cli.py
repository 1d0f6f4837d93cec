"""The `dsbench` command line: Typer options over the Python API (dsbench.api), Rich output.

Options are defined once, in OPTIONS, under the names of the settings they set; a command
lists the ones it takes. TensorFlow is imported only by the commands that train.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from dsbench import __version__, api
from dsbench.config import DATASETS, DEPTHWISE_INITS, KINDS, PRECISIONS, SETTINGS, STRATEGIES
from dsbench.errors import DsbenchError

app = typer.Typer(
    name="dsbench",
    help="What do depthwise separable convolutions buy over normal ones? "
    "Train and measure two VGG-style CNNs on CIFAR-10 side by side.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def choice(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str Enum for a Typer choice, made from config's tuple of allowed values."""
    return Enum(name, [(v, v) for v in values], type=str)  # type: ignore[return-value]


Model = choice("Model", KINDS)
SummaryModel = choice("SummaryModel", ("both", *KINDS))
Dataset = choice("Dataset", DATASETS)
Precision = choice("Precision", PRECISIONS)
Strategy = choice("Strategy", STRATEGIES)
DepthwiseInit = choice("DepthwiseInit", DEPTHWISE_INITS)


def _opt(kind: Any, flag: str, help: str, **extra: Any) -> Any:
    return Annotated[Optional[kind], typer.Option(flag, help=help, **extra)]


# Every option, by the name of what it sets (settings use their TOML key). None = not given.
OPTIONS: dict[str, Any] = {
    "kernel_size": _opt(int, "--kernel-size", "Convolution kernel size (default 3).", min=1),
    "blocks": _opt(str, "--blocks", 'Blocks as FILTERSxCONVS, e.g. "64x2,128x2,256x2" (the default).'),
    "depthwise_init": _opt(DepthwiseInit, "--depthwise-init", "Separable model's depthwise initializer: corrected (default, glorot with fan k*k) or keras (Keras' default, as in the reference)."),
    "epochs": _opt(int, "--epochs", "Epochs per model (default 10).", min=1),
    "batch_size": _opt(int, "--batch-size", "Global batch size (default 128); with several replicas it is split across them.", min=1),
    "learning_rate": _opt(float, "--learning-rate", "Adam learning rate (default 0.001)."),
    "seed": _opt(int, "--seed", "Seed for data subset, shuffling and weights (default 0).", min=0),
    "repeats": _opt(int, "--repeats", "Runs per model with seeds seed, seed+1, ...; >= 2 shows mean ± std.", min=1),
    "dataset": _opt(Dataset, "--dataset", "cifar10 (default) or synthetic (offline, learnable)."),
    "data_dir": _opt(str, "--data-dir", "Folder with cifar-10-batches-py/ or cifar-10-python.tar.gz (or env DSBENCH_DATA_DIR)."),
    "train_size": _opt(int, "--train-size", "Seeded class-balanced subset of the training split.", min=1),
    "test_size": _opt(int, "--test-size", "Seeded class-balanced subset of the test split.", min=1),
    "rescale": _opt(bool, "--rescale/--no-rescale", "Scale pixels to [0, 1] (default) or feed raw 0..255 like the reference."),
    "jit": _opt(bool, "--jit/--no-jit", 'XLA compilation on/off (default off: measured slower here, see benchmarks/RESULTS.md; jit = "auto" in a config leaves it to Keras).'),
    "precision": _opt(Precision, "--precision", "Keras dtype policy (softmax stays float32)."),
    "steps_per_execution": _opt(int, "--steps-per-execution", "Training steps per graph call (default 1).", min=1),
    "strategy": _opt(Strategy, "--strategy", "tf.distribute: default (one device), mirrored (all GPUs of a box), multiworker (TF_CONFIG)."),
    "devices": _opt(str, "--devices", 'Devices for --strategy mirrored, e.g. "/gpu:0,/gpu:1".'),
    "scale_lr": _opt(bool, "--scale-lr/--no-scale-lr", "Multiply the learning rate by the number of replicas."),
    "deterministic": _opt(bool, "--deterministic/--no-deterministic", "TensorFlow op determinism: identical reruns, slower."),
    "inference": _opt(bool, "--inference/--no-inference", "Measure inference latency/throughput after training (default on)."),
    "checkpoint": _opt(bool, "--checkpoint/--no-checkpoint", "Save weights and optimizer state after every epoch, so `dsbench resume` can continue."),
    "config": _opt(Path, "--config", "TOML file with \\[model], \\[data], \\[train] settings; flags override it."),
    "output_dir": _opt(Path, "--output-dir", "Results folder (default runs/<UTC time>-<command>/)."),
    "force": Annotated[bool, typer.Option("--force", help="Overwrite an existing results folder.")],
    "json_output": Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout and nothing else there.")],
    "no_progress": Annotated[bool, typer.Option("--no-progress", help="No live progress bars (off anyway when stdout is not a terminal).")],
    "debug": Annotated[bool, typer.Option("--debug", help="Show Python tracebacks on errors.")],
    "verbose": Annotated[bool, typer.Option("--verbose", help="Let TensorFlow's own log messages through.")],
}  # fmt: skip
FLAGS = {name: "--" + name.replace("_", "-") for name in OPTIONS} | {"json_output": "--json"}
FLAGS["model"] = "--model"
BOOLEANS = ("force", "json_output", "no_progress", "debug", "verbose")
COMMON = ("config", "json_output", "debug", "verbose")
RUN = ("output_dir", "force", "no_progress", *COMMON)
TRAINING = tuple(name for name in SETTINGS if name in OPTIONS)  # every setting with a flag
SWEPT = tuple(name for name in TRAINING if name not in ("kernel_size", "blocks"))


@dataclass
class Opts:
    """The shared options a command received; `settings` holds only those given."""

    settings: dict[str, Any] = field(default_factory=dict)
    config: Path | None = None
    output_dir: Path | None = None
    force: bool = False
    json_output: bool = False
    no_progress: bool = False
    debug: bool = False
    verbose: bool = False


def command(*names: str, name: str | None = None) -> Callable[[Callable[..., None]], Any]:
    """Register a command taking the OPTIONS `names` as one `opts: Opts` argument.

    DsbenchError becomes one red line and its exit code, Ctrl-C exit 130 (tracebacks only
    with --debug); the words of `error.settings` become their flags.
    """

    def decorate(function: Callable[..., None]) -> Any:
        own = [p for p in inspect.signature(function, eval_str=True).parameters.values()
               if p.name != "opts"]  # fmt: skip
        added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=OPTIONS[n],
                                   default=False if n in BOOLEANS else None) for n in names]  # fmt: skip

        @functools.wraps(function)
        def wrapper(**kwargs: Any) -> None:
            given = {n: kwargs.pop(n) for n in names}
            settings = {k: v.value if isinstance(v, Enum) else v
                        for k, v in given.items() if k in SETTINGS and v is not None}  # fmt: skip
            opts = Opts(settings, **{k: v for k, v in given.items() if k not in SETTINGS})
            try:
                function(opts=opts, **kwargs)
            except DsbenchError as err:
                if opts.debug:
                    raise
                _error(_flagged(err.message, err.settings), _flagged(err.hint, err.settings))
                raise typer.Exit(err.exit_code) from None
            except KeyboardInterrupt as exc:
                if opts.debug:
                    raise
                signum = getattr(exc, "signum", 2)
                _error(f"interrupted by signal {signum}",
                       "what was measured before, if anything, is in the results folder")  # fmt: skip
                raise typer.Exit(128 + signum) from None

        wrapper.__signature__ = inspect.Signature(own + added)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in own + added}
        return app.command(name=name)(wrapper)

    return decorate


def _flagged(text: str, settings: tuple[str, ...]) -> str:
    """'batch_size 900 is larger ...' -> '--batch-size 900 is larger ...' for the named settings."""
    for setting in settings:
        text = re.sub(rf"(?<![\w-]){setting}(?![\w-])", FLAGS.get(setting, setting), text)
    return text


def _error(message: str, hint: str = "") -> None:
    from rich.console import Console
    from rich.markup import escape

    text = f"[bold red]error:[/] {escape(message)}" + (f" [dim]({escape(hint)})[/]" if hint else "")
    Console(stderr=True, highlight=False, soft_wrap=True).print(text)


def _console(json_output: bool = False) -> Any:
    """Tables and progress go to stdout, or to stderr under --json.

    Piped or captured output gets 160 columns instead of Rich's 80, so wide tables keep
    every number whole.
    """
    from rich.console import Console

    stream = sys.stderr if json_output else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 160
    return Console(stderr=json_output, highlight=False, width=width)


def _observer(opts: Opts) -> Any:
    from dsbench.render import RichObserver

    show = not opts.no_progress and not opts.json_output and sys.stdout.isatty()
    return RichObserver(_console(opts.json_output), show)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dsbench {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:  # fmt: skip
    """What do depthwise separable convolutions buy over normal ones?"""


# ---------------------------------------------------------------- summary


@command("kernel_size", "blocks", *COMMON)
def summary(
    opts: Opts,
    model: Annotated[SummaryModel, typer.Option("--model", help="Which model(s) to show.")] = "both",  # type: ignore[valid-type,assignment]
    layers: Annotated[bool, typer.Option("--layers", help="Add a per-layer table for each model.")] = False,
) -> None:  # fmt: skip
    """Parameters and MACs per image of the normal and separable models (trains nothing)."""
    spec, models, layer_rows = api.describe(SummaryModel(model).value, config=opts.config,
                                            **opts.settings)  # fmt: skip
    if opts.json_output:
        document: dict[str, Any] = {"spec": spec.as_dict()["model"], "models": models}
        if layers:
            document["layers"] = layer_rows
        typer.echo(json.dumps(document, indent=2))
        return
    from dsbench import render

    console = _console()
    height, width, _ = spec.model.input_shape
    k = spec.model.kernel_size
    title = f"Models for {height}x{width} images: blocks {spec.model.blocks_text}, kernel {k}x{k}"
    console.print(render.summary_table(models, title))
    console.print("[dim]MACs = multiply-accumulates for one image's forward pass; FLOPs = 2 x MACs.[/]")
    if layers:
        for kind in dict.fromkeys(row["model"] for row in models):
            console.print(render.layers_table(layer_rows, kind))


# ---------------------------------------------------------------- train / compare / sweep


@command(*TRAINING, *RUN)
def compare(opts: Opts) -> None:
    """Train the normal and the separable model on the same data, seeds and batch order; compare."""
    _show_comparison(opts, "compare", lambda run_dir, observer: api.compare(
        config=opts.config, output_dir=run_dir, force=opts.force, observer=observer,
        verbose=opts.verbose, **opts.settings))  # fmt: skip


@command(*TRAINING, *RUN, name="train")
def train_command(
    opts: Opts,
    model: Annotated[Model, typer.Option("--model", help="Which model to train.")] = "normal",  # type: ignore[valid-type,assignment]
) -> None:  # fmt: skip
    """Train one model (normal or separable) and report its timing and accuracy."""
    _show_comparison(opts, "train", lambda run_dir, observer: api.train(
        Model(model).value, config=opts.config, output_dir=run_dir, force=opts.force,
        observer=observer, verbose=opts.verbose, **opts.settings))  # fmt: skip


def _show_comparison(opts: Opts, command: str, run: Callable[[Path, Any], Any]) -> None:
    """Run a training command (into --output-dir or runs/<time>-<command>/) and render it."""
    from dsbench import store

    observer = _observer(opts)
    try:
        result = run(opts.output_dir or store.default_run_dir(command), observer)
    finally:
        observer.close()
    _render_comparison(result, opts)


def _render_comparison(result: api.Comparison, opts: Opts) -> None:
    from dsbench import render

    console = _console(opts.json_output)
    if opts.json_output and result.run_dir is not None:
        typer.echo(json.dumps(result.document, indent=2))
    summary = result.summary
    spec = result.spec
    if not summary.empty:
        console.print(render.compare_table(summary, f"dsbench {result.command}: {spec.data.dataset}"
                      f", {spec.train.epochs} epochs, batch {spec.train.batch_size}"))  # fmt: skip
    if result.run_dir is not None:
        console.print(f"results: {result.run_dir}/")
    else:
        console.print("results: not written here (a non-chief worker; the chief writes them)")
    _exit_for(result)


def _exit_for(result: api.Comparison) -> None:
    """Exit 128+signal after an interruption, 1 after a divergence, else return."""
    interrupted = result.interrupted
    if interrupted is not None:
        signum = interrupted.stopped_by or 2
        _error(
            f"interrupted by signal {signum} while running {interrupted.model} "
            f"({len(interrupted.epochs)} epochs complete); completed epochs written to "
            f"{result.run_dir}/ (summary marked incomplete)",
            f"continue with: dsbench resume {result.run_dir}",
        )
        raise typer.Exit(128 + signum)
    if result.diverged:
        diverged = result.diverged[0]
        _error(f"{diverged.model} diverged (loss NaN or infinite) at epoch {len(diverged.epochs)}",
               "lower --learning-rate, or keep --rescale on")  # fmt: skip
        raise typer.Exit(1)


@command(*SWEPT, *RUN)
def sweep(
    opts: Opts,
    kernel_size: Annotated[Optional[str], typer.Option("--kernel-size", help="Kernel sizes to sweep, e.g. 3,5,7.")] = None,
    width: Annotated[Optional[str], typer.Option("--width", help="Width multipliers of every block's filters, e.g. 0.5,1,2.")] = None,
    blocks: Annotated[Optional[list[str]], typer.Option("--blocks", help='Block lists to sweep (depth); repeat the option: --blocks "64x2,128x2,256x2" --blocks "64x3,128x3,256x3".')] = None,
    summary_only: Annotated[bool, typer.Option("--summary-only", help="Train nothing: sweep params and MACs alone, in seconds.")] = False,
) -> None:  # fmt: skip
    """Where do separable convolutions start to win? Compare both models over kernel size, width and depth."""
    from dsbench import store

    observer = None if summary_only else _observer(opts)
    try:
        result = api.sweep(
            kernel_size=kernel_size, width=width, blocks=blocks, summary_only=summary_only,
            config=opts.config, output_dir=opts.output_dir or store.default_run_dir("sweep"),
            force=opts.force, observer=observer, verbose=opts.verbose, **opts.settings,
        )  # fmt: skip
    finally:
        if observer is not None:
            observer.close()
    _render_sweep(result, opts)


def _render_sweep(result: api.SweepResult, opts: Opts) -> None:
    from dsbench import render

    console = _console(opts.json_output)
    spec = result.spec
    title = f"dsbench sweep: {len(result.points)} points" + (
        " (params and MACs only)" if result.summary_only else
        f", {spec.data.dataset}, {spec.train.epochs} epochs, batch {spec.train.batch_size}")  # fmt: skip
    if opts.json_output:
        typer.echo(json.dumps(result.document, indent=2))
    ratios = result.ratios
    if not ratios.empty:
        console.print(render.sweep_table(result.rows, ratios, title))
    if result.run_dir is not None:
        console.print(f"results: {result.run_dir}/")
    if result.last:
        _exit_for(api.Comparison("compare", KINDS, spec, result.last, {}, result.run_dir))


# ---------------------------------------------------------------- resume / report


@command("data_dir", "no_progress", "json_output", "debug", "verbose")
def resume(
    opts: Opts,
    run_dir: Annotated[Path, typer.Argument(help="An interrupted results folder of train, compare or sweep.")],
) -> None:  # fmt: skip
    """Continue an interrupted train/compare/sweep run with its own settings, from its last epoch."""
    observer = _observer(opts)
    try:
        result = api.resume(run_dir, data_dir=opts.settings.get("data_dir"), observer=observer,
                            verbose=opts.verbose)  # fmt: skip
    finally:
        observer.close()
    if isinstance(result, api.SweepResult):
        _render_sweep(result, opts)
    else:
        _render_comparison(result, opts)


@command("json_output", "debug", "verbose")
def report(
    opts: Opts,
    run_dirs: Annotated[list[Path], typer.Argument(help="Results folders written by train, compare or sweep.")],
) -> None:  # fmt: skip
    """Print the comparison table of one or more results folders again (sweep folders too)."""
    from dsbench import render, store

    if len(run_dirs) == 1 and store.is_sweep_dir(run_dirs[0]):
        _report_sweep(run_dirs[0], opts.json_output)
        return
    runs = [store.read_run(path) for path in run_dirs]
    if opts.json_output:
        typer.echo(json.dumps([dict(r["document"], path=str(r["path"])) for r in runs], indent=2))
        return
    console = _console()
    if len(runs) > 1:
        console.print(render.report_table(api.report(run_dirs)))
        return
    run, doc = runs[0], runs[0]["document"]
    data, train = doc.get("settings", {}).get("data", {}), doc.get("settings", {}).get("train", {})
    title = (f"{run['path']}: dsbench {doc.get('command', '?')}, {data.get('dataset', '?')}, "
             f"{train.get('epochs', '?')} epochs, batch {train.get('batch_size', '?')} "
             f"({doc.get('status', '?')})")  # fmt: skip
    if run["summary"].empty:
        console.print(f"{title}: no model finished an epoch")
    else:
        console.print(render.compare_table(run["summary"], title))


def _report_sweep(run_dir: Path, json_output: bool) -> None:
    import pandas as pd

    from dsbench import render, store

    document = store.read_sweep(run_dir, "rows", "ratios")
    if json_output:
        typer.echo(json.dumps(document, indent=2))
        return
    rows, ratios = pd.DataFrame(document["rows"]), pd.DataFrame(document["ratios"])
    title = f"{run_dir}: dsbench sweep, {len(ratios)} points ({document.get('status', '?')})"
    if ratios.empty:
        _console().print(f"{title}: no point has finished yet")
    else:
        _console().print(render.sweep_table(rows, ratios, title))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
