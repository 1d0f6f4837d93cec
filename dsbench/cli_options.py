"""Every flag of the `dsbench` command line, defined once: help, type, spelling, defaults.

Options are named after what they set: settings by their TOML key (`batch_size` ->
`--batch-size`), the rest by their meaning (`json_output` -> `--json`). cli.py's `command`
decorator gives each command the options it lists, collected into one `Opts`. Typer only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dsbench.config import (
    BACKENDS,
    BENCH_MODES,
    DATASETS,
    DEPTHWISE_INITS,
    KINDS,
    PRECISIONS,
    SCHEDULES,
    SETTINGS,
    STRATEGIES,
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
    "backend": choice("Backend", BACKENDS),
    "mode": choice("Mode", BENCH_MODES),
    "report_format": choice("Format", ("table", "markdown", "csv", "json")),
}

# Every option, by the name of what it sets (settings use their TOML key); None = not given.
HELP = {
    "blocks": 'Blocks as FILTERSxCONVS, e.g. "64x2,128x2,256x2" (the default).',
    "kernel_size": "Convolution kernel size (default 3).",
    "input_shape": "Image shape H,W,C (default 32,32,3; your own image folders set it themselves).",
    "depthwise_init": "Separable model's depthwise initializer: corrected (default, glorot with fan k*k) or keras (Keras' default, as in the reference).",
    "dataset": "cifar10 (default) or synthetic (offline, learnable).",
    "data_dir": "Folder with cifar-10-batches-py/ or cifar-10-python.tar.gz (or env DSBENCH_DATA_DIR), or your own images as train/<class>/*.png and test/<class>/*.png.",
    "train_size": "Seeded class-balanced subset of the training split.",
    "test_size": "Seeded class-balanced subset of the test split.",
    "rescale": "Scale pixels to [0, 1] (default) or feed raw 0..255 like the reference.",
    "epochs": "Epochs per model (default 10).",
    "batch_size": "Global batch size (default 128); with several replicas it is split across them.",
    "backend": "Keras backend: tensorflow (default, or $KERAS_BACKEND), jax or torch.",
    "learning_rate": "Adam learning rate (default 0.001).",
    "seed": "Seed for data subset, shuffling and weights (default 0).",
    "repeats": "Runs per model with seeds seed, seed+1, ...; >= 2 shows mean ± std.",
    "processes": "Run everything N times, each in a fresh Python process (same seeds); the ratio's interval then takes the process as its unit (3 recommended: docs/methodology.md).",
    "jit": 'XLA compilation on/off (default off: measured slower here, see docs/benchmarks.md; jit = "auto" in a config leaves it to Keras).',
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
    "keep_partial_batch": "Keep the last partial training batch (391 steps of 128 on CIFAR-10, as the reference) instead of dropping it (390; every step the same shape).",
    "tensorboard": "Write TensorBoard logs per model into this folder (scalars per epoch, the model graph).",
    "profile_steps": "With --tensorboard: profile steps A,B of each model's first steady epoch (TensorBoard's profile tab).",
    "config": "TOML file with \\[model], \\[data], \\[train] settings; flags override it.",
    "output_dir": "Results folder (default runs/<UTC time>-<command>/).",
    "force": "Overwrite an existing results folder.",
    "json_output": "Print the results as JSON on stdout and nothing else there.",
    "no_progress": "No live progress bars (off anyway when stdout is not a terminal).",
    "quiet": "For scripts: print nothing but errors and the results folder's path.",
    "debug": "Show Python tracebacks on errors.",
    "verbose": "Let TensorFlow's own log messages through.",
    "model": "Which model to train.",
    "summary_model": "Which model(s) to show.",
    "layers": "Add a per-layer table for each model.",
    "kernel_sizes": "Kernel sizes to sweep, e.g. 3,5,7.",
    "widths": "Width multipliers of every block's filters, e.g. 0.5,1,2.",
    "block_lists": 'Block lists to sweep (depth); repeat the option: --blocks "64x2,128x2,256x2" --blocks "64x3,128x3,256x3".',
    "summary_only": "Train nothing: sweep params and MACs alone, in seconds.",
    "sweep_backends": "Keras backends to sweep, e.g. tensorflow,jax,torch (points off the first run in worker processes).",
    "sweep_batch_sizes": "Batch sizes to sweep, e.g. 128,512,2048.",
    "sweep_precisions": "Precisions to sweep, e.g. float32,mixed_bfloat16.",
    "mode": "train (forward + backward + Adam step), infer (forward only) or both.",
    "bench_batch_sizes": "Batch sizes to time, e.g. 1,32,128 (default 128): a row each.",
    "precision_target": "Stop when the ratio's 95% interval is within this (0.05: ±5%).",
    "report_format": "table (default), markdown, csv or json: one shape for every kind of folder.",
    "report_output": "Write the report to this file instead of the terminal.",
    "bench_width": "Multiply every block's filter count by this (default 1).",
    "max_time": "Time budget in seconds for the whole run, TensorFlow's start included.",
}
KIND_OF: dict[str, Any] = {
    "learning_rate": float,
    "target_accuracy": float, "config": Path, "output_dir": Path, "blocks": str, "data_dir": str,
    "devices": str, "kernel_sizes": str, "widths": str, "block_lists": list[str],
    "sweep_backends": str, "sweep_batch_sizes": str, "sweep_precisions": str,
    "bench_batch_sizes": str, "precision_target": float, "max_time": float,
    "report_output": Path, "bench_width": float, "tensorboard": str, "profile_steps": str, "input_shape": str,
    **dict.fromkeys(("rescale", "jit", "scale_lr", "deterministic", "inference", "checkpoint", "keep_partial_batch"), bool),
    **dict.fromkeys(("force", "json_output", "no_progress", "quiet", "debug", "verbose", "layers",
                     "summary_only"), "flag"),
    **CHOICES,
}  # fmt: skip
DEFAULTS = {"model": "normal", "summary_model": "both", "mode": "train",
            "precision_target": 0.05, "max_time": 60.0, "report_format": "table",
            "bench_width": 1.0}  # fmt: skip
FLAGS = {name: "--" + name.replace("_", "-") for name in HELP} | {
    "json_output": "--json", "summary_model": "--model", "kernel_sizes": "--kernel-size",
    "widths": "--width", "block_lists": "--blocks", "bench_batch_sizes": "--batch-size",
    "report_format": "--format", "report_output": "--output", "bench_width": "--width",
    "sweep_backends": "--backend", "sweep_batch_sizes": "--batch-size", "sweep_precisions": "--precision",
}  # fmt: skip


# What help shows after an option that takes a value (flags show nothing).
METAVARS: dict[Any, str] = {int: "N", float: "X", str: "TEXT", Path: "PATH", list[str]: "TEXT"}


def _option(name: str) -> Any:
    kind, flag = KIND_OF.get(name, int), FLAGS[name]
    if kind in ("flag", bool):
        flag = flag if kind == "flag" else f"{flag}/--no-{flag[2:]}"
        optional = bool if kind == "flag" else Optional[bool]
        return Annotated[optional, typer.Option(flag, help=HELP[name], metavar="")]
    metavar = METAVARS.get(kind) or "[" + "|".join(m.value for m in kind) + "]"
    minimum = (0 if name == "seed" else 1) if kind is int else None
    optional = kind if name in DEFAULTS else Optional[kind]
    names = (flag, "-o") if name == "report_output" else (flag,)
    return Annotated[optional, typer.Option(*names, help=HELP[name], min=minimum, metavar=metavar)]


OPTIONS = {name: _option(name) for name in HELP}
COMMON = ("config", "json_output", "debug", "verbose")
RUN = ("output_dir", "force", "no_progress", "quiet", *COMMON)
TRAINING = tuple(name for name in SETTINGS if name in OPTIONS)  # every setting with a flag
SWEPT = ("kernel_sizes", "widths", "block_lists", "sweep_backends", "sweep_batch_sizes",
         "sweep_precisions", "summary_only",
         *(n for n in TRAINING if n not in ("kernel_size", "blocks", "backend", "batch_size",
                                            "precision")))  # fmt: skip


@dataclass
class Opts:
    """The options a command received: `settings` holds only the settings given."""

    settings: dict[str, Any] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)  # command options, e.g. model, layers

    def __getattr__(self, name: str) -> Any:
        if name in ("settings", "other"):
            raise AttributeError(name)
        return self.other.get(name, False if KIND_OF.get(name) == "flag" else None)


def default(name: str) -> Any:
    """An option's value when not given: off for flags, None (not given) for settings."""
    return DEFAULTS.get(name, False if KIND_OF.get(name) == "flag" else None)


# Settings `bench` takes (speed only: model, data, numerics, device).
BENCHED = ("kernel_size", "blocks", "depthwise_init", "dataset", "data_dir", "train_size",
           "rescale", "seed", "jit", "precision", "strategy", "devices", "backend")  # fmt: skip
