"""The `dsbench` command line's options: one per setting, made from its declaration in
spec/settings.py (help, type, default, range or choices, flag), and the options that are not
settings (output, sweep axes, bench), declared once below. Typer only.

Options are named after what they set: settings by their TOML key (`batch_size` ->
`--batch-size`), the rest by their meaning (`json_output` -> `--json`). A command lists the
options it takes (cli/main.py) and receives them as one `Opts`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dsbench.spec.request import BENCH_SETTINGS, DEPLOY_SETTINGS
from dsbench.spec.settings import (
    BENCH_BETWEEN_RUNS_SD,
    BENCH_MODES,
    KINDS,
    SETTINGS,
    Setting,
    default,
    describe,
)


def choice(name: str, values: tuple[str, ...]) -> Any:
    """A str Enum for a Typer choice, made from a tuple of allowed values."""
    return Enum(name, [(v, v) for v in values], type=str)


class Panel:
    """The help panels, in the order `--help` shows them."""

    model, data, training, measure = "Model", "Data", "Training", "Measurement"
    distribution, sweep, bench, output = "Distribution", "Sweep axes", "Bench", "Output"
    general, deploy = "General", "Deploy"


# The panel of each setting; the rest of a section's settings go to its section's panel.
PANELS = {"processes": Panel.measure, "inference": Panel.measure, "target_accuracy": Panel.measure,
          "tensorboard": Panel.measure, "profile_steps": Panel.measure, "checkpoint": Panel.measure,
          "strategy": Panel.distribution, "devices": Panel.distribution, "scale_lr": Panel.distribution}  # fmt: skip
SECTION_PANELS = {"model": Panel.model, "data": Panel.data, "train": Panel.training}
SHORT = {"epochs": "-e", "batch_size": "-b"}  # short flags where people expect them


@dataclass(frozen=True)
class Flag:
    """An option that is not a setting: its help, kind ("flag" for on/off, int, float, str,
    Path, list[str], or a choice Enum), spelling, default and panel."""

    help: str
    kind: Any = "flag"
    flag: str = ""
    short: str = ""
    default: Any = None
    metavar: str = ""
    panel: str = Panel.output


FORMATS = ("table", "markdown", "csv", "json", "html")
OTHER: dict[str, Flag] = {
    "config": Flag("TOML file with \\[model], \\[data], \\[train] settings; flags override it.",
                   Path, metavar="FILE", panel=Panel.general),
    "output_dir": Flag("Results folder \\[default: runs/<UTC time>-<command>/].", Path,
                       short="-o", metavar="DIR"),
    "force": Flag("Start over in an existing dsbench results folder (removes only what "
                  "dsbench wrote)."),
    "json_output": Flag("Print the results as JSON on stdout and nothing else there.",
                        flag="--json"),
    "no_progress": Flag("No live progress bars (shown on a terminal only)."),
    "quiet": Flag("For scripts: print nothing but errors and the results folder's path.",
                  short="-q"),
    "debug": Flag("Show Python tracebacks on errors.", panel=Panel.general),
    "verbose": Flag("Let the framework's own log messages through.", panel=Panel.general),
    "model": Flag("Which model to train.", choice("Model", KINDS), default="normal",
                  panel=Panel.model),
    "summary_model": Flag("Which model(s) to show.", choice("SummaryModel", ("both", *KINDS)),
                          flag="--model", default="both", panel=Panel.model),
    "layers": Flag("Add a per-layer table for each model.", panel=Panel.model),
    "kernel_sizes": Flag(f"Kernel sizes, e.g. 3,5,7 \\[default: {default('kernel_size')}].", str,
                         flag="--kernel-size",
                         metavar="LIST", panel=Panel.sweep),
    "widths": Flag("Width multipliers of every block's filters (with --arch: your builder's "
                   "width=X), e.g. 0.5,1,2 \\[default: 1].", str,
                   flag="--width", metavar="LIST", panel=Panel.sweep),
    "block_lists": Flag('Block lists (depth); repeat the option: --blocks "64x2,128x2,256x2" '
                        '--blocks "64x3,128x3,256x3" \\[default: 64x2,128x2,256x2].',
                        list[str], flag="--blocks",
                        metavar="LIST", panel=Panel.sweep),
    "sweep_backends": Flag("Keras backends, any of tensorflow,jax,torch (those after the first "
                           "run in worker processes) \\[default: tensorflow].", str,
                           flag="--backend", metavar="LIST",
                           panel=Panel.sweep),
    "sweep_batch_sizes": Flag(f"Batch sizes, e.g. 128,512,2048 \\[default: "
                              f"{default('batch_size')}].", str, flag="--batch-size", short="-b",
                              metavar="LIST", panel=Panel.sweep),
    "sweep_precisions": Flag("Precisions, any of float32,mixed_float16,mixed_bfloat16 "
                             "\\[default: float32].", str,
                             flag="--precision", metavar="LIST", panel=Panel.sweep),
    "summary_only": Flag("Train nothing: params and MACs of every point, in seconds.",
                         panel=Panel.sweep),
    "shard": Flag("Train this worker's share of the points: I/N (the points at positions I, "
                  "I+N, ... of the plan; I from 0), or auto (a Slurm job array's task) or "
                  "auto/N (a Kubernetes Indexed Job's pod). Shards given one --output-dir fill "
                  "one sweep folder.", str, metavar="I/N", panel=Panel.sweep),
    "sweep_devices": Flag("One worker per device, each pulling the next point: GPU numbers "
                          "(0,1), all, or cpu:N (this machine's cores in N sets); no two "
                          "points timed on one device.", str, flag="--devices",
                          metavar="LIST", panel=Panel.sweep),
    "ray": Flag("Train every point as a Ray task: local (a Ray instance here), auto (the "
                "cluster this runs in) or the cluster's address; one GPU per task where there "
                "are GPUs. Needs dsbench\\[ray].", str, metavar="ADDRESS", panel=Panel.sweep),
    "plan": Flag("Print the points in the order they train (with --shard, each one's shard; "
                 "with --output-dir, each one's state there), train nothing.",
                 panel=Panel.sweep),
    "mode": Flag("train (forward, backward, Adam step), infer (forward) or both.",
                 choice("Mode", BENCH_MODES), default="train", panel=Panel.bench),
    "bench_batch_sizes": Flag("Batch sizes to time, e.g. 1,32,128: a row each "
                              "\\[default: 128].", str, flag="--batch-size", short="-b", metavar="LIST",
                              panel=Panel.bench),
    "precision_target": Flag("Target: each side of the ratio's 95% interval within this "
                             "fraction of it (0.05: ±5%); one process (--processes 1) stops "
                             "once it is.", float,
                             default=0.05, metavar="X", panel=Panel.bench),
    "max_time": Flag("Time budget in seconds for the whole run, the framework's start "
                     "included.", float, default=60.0, metavar="S", panel=Panel.bench),
    "between_runs_sd": Flag("The spread between runs at different times that one run cannot "
                            "see (sd of the log ratio), added to each interval: "
                            f"{BENCH_BETWEEN_RUNS_SD:g} measured on a 2-vCPU machine "
                            "(docs/benchmarks.md); 0 where you measured none.", float,
                            default=BENCH_BETWEEN_RUNS_SD, metavar="SD", panel=Panel.bench),
    "bench_width": Flag("Multiply every block's filter count by this (with --arch: your "
                        "builder's width=X).", float, flag="--width",
                        default=1.0, metavar="X", panel=Panel.model),
    "report_format": Flag("table, markdown, csv, json, or html: one self-contained page (tables, "
                          "charts with their intervals, curves, the data) to send; one shape "
                          "for every kind of folder.",
                          choice("Format", FORMATS), flag="--format", default="table"),
    "report_output": Flag("Write the report to this file instead of the terminal.", Path,
                          flag="--output", short="-o", metavar="FILE"),
    "html": Flag("Also write report.html into the results folder: one self-contained page to "
                 "send (as report --format html).", panel=Panel.output),
    "threads": Flag("Thread counts to time each runtime with, e.g. 1,4, or all for every core "
                    "\\[default: 1,all].", str, metavar="LIST", panel=Panel.deploy),
    "untrained": Flag("Export a freshly built pair (size and latency only, no accuracy) "
                      "instead of a run folder's trained models.", panel=Panel.deploy),
    "deploy_time": Flag("Seconds of latency timing, shared by every format and thread count.",
                        float, flag="--max-time", default=60.0, metavar="S",
                        panel=Panel.deploy),
    "baseline": Flag("A run folder to compare against, figure by figure.", Path,
                     metavar="OLD"),
    "force_baseline": Flag("Compare with --baseline although settings differ."),
}  # fmt: skip


def spelling(name: str) -> str:
    """An option's flag: its own spelling where it has one, else --name-with-dashes."""
    own = OTHER[name].flag if name in OTHER else describe(name).flag
    return own or "--" + name.replace("_", "-")


# Typer's value type and what help shows after the flag, per kind of setting.
_TYPES = {"int": (int, "N"), "positive": (float, "X"), "fraction": (float, "X")}


def _shown(value: Any) -> str:
    """A default as help shows it: '64x2,128x2,256x2', '32,32,3', 'off'."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return ",".join(f"{f}x{n}" for f, n in value)
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def setting_option(name: str, setting: Setting, value: Any = None) -> Any:
    """A setting's option: None when not given, so that only given settings override; its help
    shows `value` as the default where the command has one of its own, else the setting's."""
    flag = spelling(name)
    names = (flag, SHORT[name]) if name in SHORT else (flag,)
    panel = PANELS.get(name) or SECTION_PANELS[SETTINGS[name]]
    value = default(name) if value is None else value
    shown = f" \\[default: {_shown(value)}]" if value not in (None, ()) else ""
    if setting.kind == "jit" and value is False:  # config.build_run_spec: JAX's default is on
        shown = " \\[default: off; JAX: on]"
    if setting.kind in ("bool", "jit"):
        spelled = f"{flag}/--no-{flag[2:]}"
        return Annotated[Optional[bool], typer.Option(spelled, help=setting.help + shown, metavar="",
                                                      rich_help_panel=panel, show_default=False)]  # fmt: skip
    kind: Any
    if setting.kind == "choice":
        kind = choice(name.title().replace("_", ""), setting.choices)
        listed = "{" + ",".join(setting.choices) + "}"
        metavar = listed if len(listed) <= 24 else "NAME"
        # too long for the metavar, or a metavar of the setting's own: listed in the help
        shown = (
            _listed(setting.choices, setting.help, metavar == "NAME" or bool(setting.metavar))
            + shown
        )
    else:
        kind, metavar = _TYPES.get(setting.kind, (str, "TEXT"))
    # (ranges are checked by spec/config.py, in dsbench's words: not shown as "[x>=1]" here)
    return Annotated[Optional[kind], typer.Option(
        *names, help=setting.help + shown, metavar=setting.metavar or metavar,
        rich_help_panel=panel, show_default=False)]  # fmt: skip


def _listed(choices: Sequence[str], help_text: str, hidden: bool) -> str:
    """' One of: a, b.' when the metavar hides the choices and the help leaves some out."""
    named = all(re.search(rf"\b{re.escape(c)}\b", help_text) for c in choices)
    return f" One of: {', '.join(choices)}." if hidden and not named else ""


def _other_option(name: str, flag: Flag) -> Any:
    spelled = spelling(name)
    names = (spelled, flag.short) if flag.short else (spelled,)
    if flag.kind == "flag":
        return Annotated[bool, typer.Option(*names, help=flag.help, metavar="",
                                            rich_help_panel=flag.panel)]  # fmt: skip
    enum = isinstance(flag.kind, type) and issubclass(flag.kind, Enum)
    metavar = flag.metavar or ("NAME" if enum else "N")
    optional = flag.kind if flag.default is not None else Optional[flag.kind]
    shown = f" \\[default: {flag.default}]" if flag.default is not None else ""
    values = [str(m.value) for m in flag.kind] if enum else []
    shown = _listed(values, flag.help, enum and metavar == "NAME") + shown  # hidden by NAME
    return Annotated[optional, typer.Option(*names, help=flag.help + shown, metavar=metavar,
                                            rich_help_panel=flag.panel, show_default=False)]  # fmt: skip


# Every option by name: every setting a command line may give, then the others.
OPTIONS: dict[str, Any] = {
    **{name: setting_option(name, describe(name)) for name in SETTINGS if describe(name).cli},
    **{name: _other_option(name, flag) for name, flag in OTHER.items()},
}
CHOICES = {name: flag.kind for name, flag in OTHER.items() if isinstance(flag.kind, type)
           and issubclass(flag.kind, Enum)}  # fmt: skip
# The spelling of every option, for error messages that name a setting by its flag.
FLAGS = {name: spelling(name) for name in (*SETTINGS, *OTHER)}

COMMON = ("config", "json_output", "debug", "verbose")
RUN = ("output_dir", "force", "html", "no_progress", "quiet", *COMMON)
TRAINING = tuple(name for name in SETTINGS if describe(name).cli)  # every setting with a flag
SWEPT = ("kernel_sizes", "widths", "block_lists", "sweep_backends", "sweep_batch_sizes",
         "sweep_precisions", "summary_only", "shard", "sweep_devices", "ray", "plan",
         *(n for n in TRAINING if n not in ("kernel_size", "blocks", "backend", "batch_size",
                                            "precision", "devices")))  # fmt: skip
BENCHED = BENCH_SETTINGS
DEPLOYED = DEPLOY_SETTINGS


def option_default(name: str) -> Any:
    """An option's value when not given: off for flags, None (not given) for settings."""
    if name in OTHER:
        return False if OTHER[name].kind == "flag" else OTHER[name].default
    return None


@dataclass
class Opts:
    """The options a command received: `settings` holds only the settings given."""

    settings: dict[str, Any] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)  # command options, e.g. model, layers

    def __getattr__(self, name: str) -> Any:
        if name not in OTHER:  # a misspelt option is an error, not a silent None
            raise AttributeError(name)
        return self.other.get(name, option_default(name))
