"""The `dsbench` command line: Typer options over the Python API (dsbench.api), Rich output.

Options are defined once, in HELP/OPTIONS, under the names of the settings they set; each
command lists the ones it takes and receives them as one `Opts`. TensorFlow is imported only
by the commands that train.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dsbench import api
from dsbench._version import __version__
from dsbench.config import (
    DATASETS,
    DEPTHWISE_INITS,
    KINDS,
    PRECISIONS,
    SCHEDULES,
    SETTINGS,
    STRATEGIES,
)
from dsbench.errors import DsbenchError

app = typer.Typer(
    name="dsbench",
    help="What do depthwise separable convolutions buy over normal ones? "
    "Train and measure two VGG-style CNNs on CIFAR-10 side by side.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def choice(name: str, values: tuple[str, ...]) -> Any:
    """A str Enum for a Typer choice, made from config's tuple of allowed values."""
    return Enum(name, [(v, v) for v in values], type=str)


CHOICES = {
    "model": choice("Model", KINDS),
    "summary_model": choice("SummaryModel", ("both", *KINDS)),
    "dataset": choice("Dataset", DATASETS),
    "precision": choice("Precision", PRECISIONS),
    "strategy": choice("Strategy", STRATEGIES),
    "depthwise_init": choice("DepthwiseInit", DEPTHWISE_INITS),
    "schedule": choice("Schedule", SCHEDULES),
}

# Every option, by the name of what it sets (settings use their TOML key); None = not given.
HELP = {
    "blocks": 'Blocks as FILTERSxCONVS, e.g. "64x2,128x2,256x2" (the default).',
    "kernel_size": "Convolution kernel size (default 3).",
    "depthwise_init": "Separable model's depthwise initializer: corrected (default, glorot with fan k*k) or keras (Keras' default, as in the reference).",
    "dataset": "cifar10 (default) or synthetic (offline, learnable).",
    "data_dir": "Folder with cifar-10-batches-py/ or cifar-10-python.tar.gz (or env DSBENCH_DATA_DIR).",
    "train_size": "Seeded class-balanced subset of the training split.",
    "test_size": "Seeded class-balanced subset of the test split.",
    "rescale": "Scale pixels to [0, 1] (default) or feed raw 0..255 like the reference.",
    "epochs": "Epochs per model (default 10).",
    "batch_size": "Global batch size (default 128); with several replicas it is split across them.",
    "learning_rate": "Adam learning rate (default 0.001).",
    "seed": "Seed for data subset, shuffling and weights (default 0).",
    "repeats": "Runs per model with seeds seed, seed+1, ...; >= 2 shows mean ± std.",
    "jit": 'XLA compilation on/off (default off: measured slower here, see benchmarks/RESULTS.md; jit = "auto" in a config leaves it to Keras).',
    "precision": "Keras dtype policy (softmax stays float32).",
    "steps_per_execution": "Training steps per graph call (default 1).",
    "strategy": "tf.distribute: default (one device), mirrored (all GPUs of a box), multiworker (TF_CONFIG).",
    "devices": 'Devices for --strategy mirrored, e.g. "/gpu:0,/gpu:1".',
    "scale_lr": "Multiply the learning rate by the number of replicas.",
    "deterministic": "TensorFlow op determinism: identical reruns, slower.",
    "inference": "Measure inference latency/throughput after training (default on).",
    "checkpoint": "Save weights and optimizer state after every epoch, so `dsbench resume` can continue.",
    "schedule": "interleaved (default): both models epoch by epoch in alternating order, so both meet the machine in the same state; sequential: one model, then the other.",
    "target_accuracy": "Time to accuracy target (validation accuracy, 0..1); default 95% of the lower best.",
    "config": "TOML file with \\[model], \\[data], \\[train] settings; flags override it.",
    "output_dir": "Results folder (default runs/<UTC time>-<command>/).",
    "force": "Overwrite an existing results folder.",
    "json_output": "Print the results as JSON on stdout and nothing else there.",
    "no_progress": "No live progress bars (off anyway when stdout is not a terminal).",
    "debug": "Show Python tracebacks on errors.",
    "verbose": "Let TensorFlow's own log messages through.",
    "model": "Which model to train.",
    "summary_model": "Which model(s) to show.",
    "layers": "Add a per-layer table for each model.",
    "kernel_sizes": "Kernel sizes to sweep, e.g. 3,5,7.",
    "widths": "Width multipliers of every block's filters, e.g. 0.5,1,2.",
    "block_lists": 'Block lists to sweep (depth); repeat the option: --blocks "64x2,128x2,256x2" --blocks "64x3,128x3,256x3".',
    "summary_only": "Train nothing: sweep params and MACs alone, in seconds.",
}
KIND_OF: dict[str, Any] = {
    "learning_rate": float,
    "target_accuracy": float, "config": Path, "output_dir": Path, "blocks": str, "data_dir": str,
    "devices": str, "kernel_sizes": str, "widths": str, "block_lists": list[str],
    **dict.fromkeys(("rescale", "jit", "scale_lr", "deterministic", "inference", "checkpoint"), bool),
    **dict.fromkeys(("force", "json_output", "no_progress", "debug", "verbose", "layers",
                     "summary_only"), "flag"),
    **CHOICES,
}  # fmt: skip
DEFAULTS = {"model": "normal", "summary_model": "both"}
FLAGS = {name: "--" + name.replace("_", "-") for name in HELP} | {
    "json_output": "--json", "summary_model": "--model", "kernel_sizes": "--kernel-size",
    "widths": "--width", "block_lists": "--blocks",
}  # fmt: skip


def _option(name: str) -> Any:
    kind, flag = KIND_OF.get(name, int), FLAGS[name]
    if kind == "flag":
        return Annotated[bool, typer.Option(flag, help=HELP[name])]
    if kind is bool:
        flag = f"{flag}/--no-{flag[2:]}"
    minimum = (0 if name == "seed" else 1) if kind is int else None
    optional = kind if name in DEFAULTS else Optional[kind]
    return Annotated[optional, typer.Option(flag, help=HELP[name], min=minimum)]


OPTIONS = {name: _option(name) for name in HELP}
COMMON = ("config", "json_output", "debug", "verbose")
RUN = ("output_dir", "force", "no_progress", *COMMON)
TRAINING = tuple(name for name in SETTINGS if name in OPTIONS)  # every setting with a flag
SWEPT = ("kernel_sizes", "widths", "block_lists", "summary_only",
         *(n for n in TRAINING if n not in ("kernel_size", "blocks")))  # fmt: skip


@dataclass
class Opts:
    """The options a command received: `settings` holds only the settings given."""

    settings: dict[str, Any] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)  # command options, e.g. model, layers

    def __getattr__(self, name: str) -> Any:
        if name in ("settings", "other"):
            raise AttributeError(name)
        return self.other.get(name, False if KIND_OF.get(name) == "flag" else None)


def command(*names: str, name: str | None = None) -> Callable[[Callable[..., None]], Any]:
    """Register a command taking the OPTIONS `names` (and any own arguments) plus `opts: Opts`.

    DsbenchError becomes one red line and its exit code, Ctrl-C exit 130 (tracebacks only
    with --debug); the words of `error.settings` become their flags.
    """

    def decorate(function: Callable[..., None]) -> Any:
        own = [p for p in inspect.signature(function, eval_str=True).parameters.values()
               if p.name != "opts"]  # fmt: skip
        added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=OPTIONS[n],
                 default=DEFAULTS.get(n, False if KIND_OF.get(n) == "flag" else None))
                 for n in names]  # fmt: skip

        @functools.wraps(function)
        def wrapper(**kwargs: Any) -> None:
            given = {n: (v.value if isinstance(v, Enum) else v) for n in names
                     if (v := kwargs.pop(n)) is not None}  # fmt: skip
            opts = Opts({k: v for k, v in given.items() if k in SETTINGS},
                        {k: v for k, v in given.items() if k not in SETTINGS})  # fmt: skip
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


def _show(opts: Opts, command: str, run: Callable[[dict[str, Any]], Any]) -> None:
    """Run a training command through the API, then print its JSON and table; set the exit code.

    `run` gets the keyword arguments every training function of the API takes.
    """
    from dsbench import render, store

    show = not opts.no_progress and not opts.json_output and sys.stdout.isatty()
    observer = render.RichObserver(_console(opts.json_output), show)
    output_dir = opts.output_dir or store.default_run_dir(command)
    options = dict(config=opts.config, output_dir=output_dir, force=opts.force,
                   observer=observer, verbose=opts.verbose, **opts.settings)  # fmt: skip
    try:
        result = run(options)
    finally:
        observer.close()
    console, spec = _console(opts.json_output), result.spec
    if isinstance(result, api.SweepResult):
        if opts.json_output:
            typer.echo(json.dumps(result.document, indent=2))
        if not result.ratios.empty:
            title = render.sweep_title(len(result.points), result.summary_only, spec.data.dataset,
                                       spec.train.epochs, spec.train.batch_size)  # fmt: skip
            console.print(render.sweep_table(result.rows, result.ratios, title))
        last = api.Comparison("compare", KINDS, spec, result.last or [], {}, result.run_dir)
    else:
        if opts.json_output and result.run_dir is not None:
            typer.echo(json.dumps(result.document, indent=2))
        if not result.summary.empty:
            title = render.comparison_title(result.command, spec.data.dataset, spec.train.epochs,
                                            spec.train.batch_size)  # fmt: skip
            render.comparison(console, result.summary, title, result.warnings)
        last = result
    where = f"{result.run_dir}/" if result.run_dir else "not written here (a non-chief worker)"
    console.print(f"results: {where}")
    if (interrupted := last.interrupted) is not None:
        signum = interrupted.stopped_by or 2
        _error(f"interrupted by signal {signum} while running {interrupted.model} "
               f"({len(interrupted.epochs)} epochs complete); completed epochs written to "
               f"{result.run_dir}/ (summary marked incomplete)",
               f"continue with: dsbench resume {result.run_dir}")  # fmt: skip
        raise typer.Exit(128 + signum)
    if last.diverged:
        diverged = last.diverged[0]
        _error(f"{diverged.model} diverged (loss NaN or infinite) at epoch {len(diverged.epochs)}",
               "lower --learning-rate, or keep --rescale on")  # fmt: skip
        raise typer.Exit(1)


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


@command("summary_model", "layers", "kernel_size", "blocks", *COMMON)
def summary(opts: Opts) -> None:
    """Parameters and MACs per image of the normal and separable models (trains nothing)."""
    spec, models, layers = api.describe(opts.summary_model, config=opts.config, **opts.settings)
    if opts.json_output:
        document = {"spec": spec.as_dict()["model"], "models": models}
        typer.echo(json.dumps(document | ({"layers": layers} if opts.layers else {}), indent=2))
        return
    from dsbench import render

    console, model = _console(), spec.model
    title = (f"Models for {model.input_shape[0]}x{model.input_shape[1]} images: blocks "
             f"{model.blocks_text}, kernel {model.kernel_size}x{model.kernel_size}")  # fmt: skip
    console.print(render.summary_table(models, title))
    console.print(
        "[dim]MACs = multiply-accumulates for one image's forward pass; FLOPs = 2 x MACs.[/]"
    )
    for kind in dict.fromkeys(row["model"] for row in models) if opts.layers else ():
        console.print(render.layers_table(layers, kind))


@command(*TRAINING, *RUN)
def compare(opts: Opts) -> None:
    """Train the normal and the separable model on the same data, seeds and batch order; compare."""
    _show(opts, "compare", lambda options: api.compare(**options))


@command("model", *TRAINING, *RUN, name="train")
def train_command(opts: Opts) -> None:
    """Train one model (normal or separable) and report its timing and accuracy."""
    _show(opts, "train", lambda options: api.train(opts.model, **options))


@command(*SWEPT, *RUN)
def sweep(opts: Opts) -> None:
    """Where do separable convolutions start to win? Compare both models over kernel size, width and depth."""
    axes = {"kernel_size": opts.kernel_sizes, "width": opts.widths, "blocks": opts.block_lists}
    _show(opts, "sweep", lambda options: api.sweep(**axes, summary_only=opts.summary_only,
                                                   **options))  # fmt: skip


@command("data_dir", "no_progress", "json_output", "debug", "verbose")
def resume(
    opts: Opts,
    run_dir: Annotated[Path, typer.Argument(help="An interrupted results folder of train, compare or sweep.")],
) -> None:  # fmt: skip
    """Continue an interrupted train/compare/sweep run with its own settings, from its last epoch."""
    _show(opts, "resume", lambda options: api.resume(
        run_dir, data_dir=opts.settings.get("data_dir"), observer=options["observer"],
        verbose=opts.verbose))  # fmt: skip


@command("json_output", "debug", "verbose")
def report(
    opts: Opts,
    run_dirs: Annotated[list[Path], typer.Argument(help="Results folders written by train, compare or sweep.")],
) -> None:  # fmt: skip
    """Print the comparison table of one or more results folders again (sweep folders too)."""
    from dsbench import render, store

    if len(run_dirs) == 1 and store.is_sweep_dir(run_dirs[0]):
        document = store.read_sweep(run_dirs[0], "rows", "ratios")
        if opts.json_output:
            typer.echo(json.dumps(document, indent=2))
        else:
            render.sweep_folder(_console(), run_dirs[0], document)
        return
    runs = [store.read_run(path) for path in run_dirs]
    if opts.json_output:
        typer.echo(json.dumps([dict(r["document"], path=str(r["path"])) for r in runs], indent=2))
    elif len(runs) > 1:
        _console().print(render.report_table(api.report(run_dirs)))
    else:
        render.run_folder(_console(), runs[0])


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
