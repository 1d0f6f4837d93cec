"""The `dsbench` command line: Typer options over the Python API (dsbench.api), Rich output.

Every option is defined once, in options.py; each command lists the ones it takes and
receives them as one `Opts`. TensorFlow is imported only by the commands that train.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dsbench import api
from dsbench._version import __version__
from dsbench.cli.errors import OneLineErrors
from dsbench.cli.errors import error as _error
from dsbench.cli.help import CompactHelp
from dsbench.cli.options import (
    BENCHED,
    COMMON,
    DEPLOYED,
    FLAGS,
    OPTIONS,
    RUN,
    SWEPT,
    TRAINING,
    Opts,
    option_default,
    setting_option,
)
from dsbench.cli.output import console as _console
from dsbench.cli.output import page as _page
from dsbench.cli.output import plan as _plan
from dsbench.errors import DsbenchError
from dsbench.observer import Observer
from dsbench.spec.settings import SETTINGS, describe

app = typer.Typer(
    cls=OneLineErrors,
    name="dsbench",
    help="What do depthwise separable convolutions buy over normal ones? "
    "Train and measure two VGG-style CNNs on CIFAR-10 side by side.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def command(*names: str, name: str | None = None,
            defaults: dict[str, Any] | None = None) -> Callable[[Callable[..., None]], Any]:  # fmt: skip
    """Register a command taking the OPTIONS `names` (and any own arguments) plus `opts: Opts`;
    `defaults`: settings whose default differs for this command, as its help shows them.

    DsbenchError becomes one red line and its exit code, Ctrl-C exit 130 (tracebacks only
    with --debug); the words of `error.settings` become their flags.
    """

    def decorate(function: Callable[..., None]) -> Any:
        own = [p for p in inspect.signature(function, eval_str=True).parameters.values()
               if p.name != "opts"]  # fmt: skip
        own_defaults = defaults or {}
        added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY,
                                   annotation=setting_option(n, describe(n), own_defaults[n])
                                   if n in own_defaults else OPTIONS[n],
                                   default=option_default(n))
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
        return app.command(name=name, cls=CompactHelp)(wrapper)

    return decorate


def _flagged(text: str, settings: tuple[str, ...]) -> str:
    """'batch_size 900 is larger ...' -> '--batch-size 900 is larger ...' for the named settings."""
    for setting in settings:
        # (not "kernel_size=5": a keyword argument, as arch_options take them; not the extra
        # in "dsbench[ray]")
        text = re.sub(rf"(?<![\w\[-]){setting}(?![\w=\]-])", FLAGS.get(setting, setting), text)
    return text


def _show(opts: Opts, command: str, run: Callable[[dict[str, Any]], Any]) -> Any:
    """Run a training command through the API, then print its JSON and table; set the exit code.

    `run` gets the keyword arguments every training function of the API takes.
    """
    from dsbench import render
    from dsbench.store import folders

    show = not opts.no_progress and not opts.json_output and not opts.quiet and sys.stdout.isatty()
    observer = Observer() if opts.quiet else render.RichObserver(_console(opts.json_output), show)
    output_dir = opts.output_dir or folders.default_run_dir(command)
    options = dict(config=opts.config, output_dir=output_dir, force=opts.force,
                   observer=observer, verbose=opts.verbose, **opts.settings)  # fmt: skip
    try:
        result = run(options)
    finally:
        observer.close()
    if opts.json_output and result.run_dir is not None:
        typer.echo(json.dumps(result.document, indent=2))
    if opts.quiet:
        typer.echo(str(result.run_dir or ""), err=opts.json_output)
    else:
        console = _console(opts.json_output)
        render.show(console, result.record)
        where = f"{result.run_dir}/" if result.run_dir else "not written here (a non-chief worker)"
        console.print(f"results: {render.inert(where)}")
    if opts.html and result.run_dir is not None:
        _page(result.run_dir)
    if isinstance(result, api.BenchResult):
        return result
    if (interrupted := result.interrupted) is not None:
        signum = interrupted.stopped_by or 2
        _error(f"interrupted by signal {signum} while running {interrupted.model} "
               f"({len(interrupted.epochs)} epochs complete); completed epochs written to "
               f"{result.run_dir}/ (summary marked incomplete)",
               f"continue with: dsbench resume {result.run_dir}")  # fmt: skip
        raise typer.Exit(128 + signum)
    if diverged := result.diverged:
        _error(f"{diverged[0].model} diverged (loss NaN or infinite) at epoch "
               f"{len(diverged[0].epochs)}", "lower --learning-rate, or keep --rescale on")  # fmt: skip
        raise typer.Exit(1)
    return result


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dsbench {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:  # fmt: skip
    """What do depthwise separable convolutions buy over normal ones?"""


@command("summary_model", "layers", "arch", "arch_options", "twin", "kernel_size", "blocks",
         "input_shape", "num_classes", "data_dir", *COMMON)  # fmt: skip
def summary(opts: Opts) -> None:
    """Parameters and MACs per image of the normal and separable models (trains nothing)."""
    spec, models, layers = api.describe(opts.summary_model, config=opts.config, **opts.settings)
    if opts.json_output:
        document = {"spec": spec.as_dict()["model"], "models": models}
        typer.echo(json.dumps(document | ({"layers": layers} if opts.layers else {}), indent=2))
        return
    from dsbench import render

    render.models(_console(), spec.model, models, layers if opts.layers else [])


@command(*TRAINING, *RUN, "baseline", "force_baseline")
def compare(opts: Opts) -> None:
    """Train the normal and the separable model on the same data, seeds and batch order; compare."""
    _baseline_given(opts)
    if opts.baseline is not None:  # before training: a baseline of the same settings
        from dsbench.spec.config import run_spec
        from dsbench.store import reports

        spec = run_spec(opts.settings, opts.config)
        reports.check_baseline(spec.as_dict(), opts.baseline, opts.force_baseline)
    result = _show(opts, "compare", lambda options: api.compare(**options))
    if opts.baseline is not None and result.run_dir is not None and not opts.quiet:
        from dsbench import render
        from dsbench.store import reports

        found = reports.against(result.run_dir, opts.baseline, opts.force_baseline)
        render.against(_console(opts.json_output), found)


def _baseline_given(opts: Opts) -> None:
    """--force-baseline means nothing without --baseline."""
    if opts.force_baseline and opts.baseline is None:
        raise DsbenchError("--force-baseline needs --baseline OLD", "add --baseline OLD")


@command("model", *TRAINING, *RUN, name="train")
def train_command(opts: Opts) -> None:
    """Train one model (normal or separable) and report its timing and accuracy."""
    _show(opts, "train", lambda options: api.train(opts.model, **options))


@command(*SWEPT, *RUN)
def sweep(opts: Opts) -> None:
    """Where do separable convolutions start to win? Compare both models over kernel size, width, depth, backend, batch size and precision."""
    axes = {"kernel_size": opts.kernel_sizes, "width": opts.widths, "blocks": opts.block_lists,
            "backend": opts.sweep_backends, "batch_size": opts.sweep_batch_sizes,
            "precision": opts.sweep_precisions}  # fmt: skip
    from dsbench.spec.shard import parse_shard

    shard = parse_shard(opts.shard) if opts.shard is not None else None
    if opts.plan:
        _plan(opts, axes, shard)
        return
    _show(opts, "sweep", lambda options: api.sweep(**axes, summary_only=opts.summary_only,
                                                   shard=shard, devices=opts.sweep_devices,
                                                   ray=opts.ray, **options))  # fmt: skip


@command("mode", "bench_batch_sizes", "precision_target", "max_time", "between_runs_sd",
         "bench_width", *BENCHED,
         *RUN, defaults={"dataset": "synthetic", "processes": 3})  # fmt: skip
def bench(opts: Opts) -> None:
    """How much faster? Both models timed in alternating chunks of steps in 3 fresh processes, about a minute."""
    _show(opts, "bench", lambda options: api.bench(
        mode=opts.mode, batch_size=opts.bench_batch_sizes, precision_target=opts.precision_target,
        max_time=opts.max_time, width=opts.bench_width, between_runs_sd=opts.between_runs_sd,
        **options))  # fmt: skip


@command(
    "data_dir", "arch", "tensorboard", "html", "no_progress", "json_output", "debug", "verbose"
)
def resume(
    opts: Opts,
    run_dir: Annotated[Path, typer.Argument(help="An interrupted results folder of train, compare or sweep (it runs no code: a run of your own --arch file resumes only with --arch given again).", metavar="FOLDER")],
) -> None:  # fmt: skip
    """Continue an interrupted train/compare/sweep run with its own settings, from its last epoch."""
    _show(opts, "resume", lambda options: api.resume(
        run_dir, data_dir=opts.settings.get("data_dir"), arch=opts.settings.get("arch"),
        tensorboard=opts.settings.get("tensorboard"), observer=options["observer"],
        verbose=opts.verbose))  # fmt: skip


@command("untrained", "threads", "deploy_time", "data_dir", *DEPLOYED, "output_dir", "force",
         "json_output", "debug", "verbose")  # fmt: skip
def deploy(
    opts: Opts,
    run_dir: Annotated[Optional[Path], typer.Argument(help="A finished compare folder trained with --checkpoint (its models' final weights); none: a fresh untrained pair.", metavar="[FOLDER]")] = None,
) -> None:  # fmt: skip
    """Export both models to LiteRT (float32, int8) and ONNX; measure size, latency, accuracy kept."""
    from dsbench import render

    console = _console(opts.json_output)
    settings = {k: v for k, v in opts.settings.items() if k not in ("data_dir", "arch")}
    result = api.deploy(run_dir, untrained=opts.untrained, threads=opts.threads,
                        max_time=opts.deploy_time, data_dir=opts.settings.get("data_dir"),
                        arch=opts.settings.get("arch"), output_dir=opts.output_dir,
                        force=opts.force, verbose=opts.verbose, **settings)  # fmt: skip
    if opts.json_output:
        from dsbench.measure.records import to_jsonable

        typer.echo(json.dumps(to_jsonable(result.document), indent=2))
        return
    exports = len({(row["format"], row["precision"]) for row in result.rows})
    title = f"dsbench deploy: {result.weights}, {render.plural(exports, 'export')}"
    render.deployed(console, result.rows, title)
    console.print(f"results: {render.inert(str(result.folder))}/deploy.json")


@command("baseline", "force_baseline", "report_format", "report_output", "json_output", "debug",
         "verbose")  # fmt: skip
def report(
    opts: Opts,
    run_dirs: Annotated[list[Path], typer.Argument(help="Results folders of train, compare, sweep or bench, or folders holding many.", metavar="FOLDER")],
) -> None:  # fmt: skip
    """Show results folders again, any mix and any number, as a table, Markdown, CSV or JSON."""
    from dsbench import render
    from dsbench.store import reports

    if opts.json_output and opts.report_format not in (None, "table", "json"):
        raise DsbenchError(f"--json and --format {opts.report_format} ask for two formats",
                           "give one of them")  # fmt: skip
    form = "json" if opts.json_output else opts.report_format
    _baseline_given(opts)
    if opts.baseline is not None and len(run_dirs) != 1:
        raise DsbenchError(f"--baseline compares one run folder, got {len(run_dirs)}",
                           "give one NEW folder: dsbench report NEW --baseline OLD")  # fmt: skip
    found = (reports.report(run_dirs) if opts.baseline is None
             else reports.against(run_dirs[0], opts.baseline, opts.force_baseline))  # fmt: skip
    if form == "table" and opts.report_output is None:
        if opts.baseline is not None:
            render.against(_console(), found)
        elif len(found.records) == 1:
            render.show(_console(), found.records[0][1], found.records[0][0])
        else:
            render.report(_console(), found)
        return
    text = render.export(found, "markdown" if form == "table" else form)
    if opts.report_output is None:
        typer.echo(text, nl=False)
    else:
        try:
            opts.report_output.write_text(text, encoding="utf-8")
        except OSError as err:
            raise DsbenchError(f"cannot write {opts.report_output}: {err.strerror}") from None
    if form == "csv":  # a CSV has no place for them: on stderr, so they are not lost
        render.warn(_console(json_output=True), found.warnings)


def main() -> None:
    """Console-script entry point."""
    from dsbench.run import environment

    environment.COMMAND_LINE = ["dsbench", *sys.argv[1:]]  # recorded in environment.json
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
