"""Every setting of a run, declared once: its name, type, default, range or choices, help and
flag, as a field of the frozen spec it belongs to (ModelSpec, DataSpec, TrainSpec).

From these fields come the TOML reader and the Python API's keyword checks (config.py) and
the command line's options (cli/options.py). To add a setting, add a field here (see
docs/contributing.md); everything that reads settings picks it up.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dsbench.errors import DsbenchError
from dsbench.spec.blocks import format_blocks

KINDS = ("normal", "separable")
DATASETS = ("cifar10", "synthetic")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multiworker")
DEPTHWISE_INITS = ("corrected", "keras")
TWINS = ("separable", "dense")  # with --arch: which model dsbench makes from yours
SCHEDULES = ("interleaved", "sequential")
BACKENDS = ("tensorflow", "jax", "torch")  # Keras 3's backends (dsbench.backends)
DEFAULT_BACKEND = "tensorflow"
BENCH_MODES = ("train", "infer", "both")  # what `bench` times: a training step, a forward pass
BENCH_PROCESSES = 3  # bench's default: its interval is over fresh processes
# How much bench's separable/normal ratio differs between runs at different times on a
# 2-vCPU virtual machine, as the sd of its log: the machine's states last longer than a
# one-minute run can see, and bench adds this to every interval (stats.widened;
# docs/benchmarks.md, "bench: the speed answer in a minute").
BENCH_BETWEEN_RUNS_SD = 0.04
REFERENCE_BLOCKS: tuple[tuple[int, int], ...] = ((64, 2), (128, 2), (256, 2))
SEED_LIMIT = 2**32
MAX_STEPS_PER_EXECUTION = 1 << 16

Converter = Callable[[Any, str], Any]


@dataclass(frozen=True)
class Setting:
    """How a setting is given and checked (a spec field's metadata).

    `kind` names its converter (KINDS_OF_VALUE); `minimum` and `choices` bound it; `flag` is
    its command-line spelling (default --name-with-dashes), `metavar` what help shows after
    the flag, `cli` False for a setting only a config file or the API sets."""

    help: str
    kind: str
    minimum: float | None = None
    choices: tuple[str, ...] = ()
    flag: str = ""
    metavar: str = ""
    cli: bool = True


def setting(default: Any, help: str, kind: str, **options: Any) -> Any:
    """A spec field with its Setting."""
    return field(default=default, metadata={"setting": Setting(help, kind, **options)})


# ---------------------------------------------------------------- the specs


@dataclass(frozen=True)
class ModelSpec:
    """The VGG-style architecture shared by the normal and the separable model."""

    blocks: tuple[tuple[int, int], ...] = setting(
        REFERENCE_BLOCKS, 'Blocks as FILTERSxCONVS, e.g. "64x2,128x2,256x2" (the default).',
        "blocks", metavar="LIST")  # fmt: skip
    kernel_size: int = setting(3, "Convolution kernel size.", "int", minimum=1, metavar="K")
    input_shape: tuple[int, int, int] = setting(
        (32, 32, 3), "Image shape H,W,C (your own image folders set it themselves).", "shape",
        metavar="H,W,C")  # fmt: skip
    num_classes: int = setting(10, "Number of classes (your own image folders set it).", "int",
                               minimum=2)  # fmt: skip
    # "keras": Keras' default glorot_uniform, whose fans count input channels a depthwise
    # kernel never mixes, so its weights are sqrt((Cin+1)/2) too small and a deep separable stack
    # on [0, 1] inputs starts with a vanishing signal. "corrected": glorot with fan = k*k.
    depthwise_init: str = setting(
        "corrected", "Separable model's depthwise initializer: corrected (glorot with fan k*k) "
        "or keras (Keras' default, as in the reference).", "choice",
        choices=DEPTHWISE_INITS)  # fmt: skip
    # Your own network instead of the VGG (dsbench/models/twin.py): blocks and kernel_size then do not
    # apply; the separable model is its twin.
    arch: str | Callable[..., Any] | None = setting(  # noqa: RUF009 (a field, as every setting)
        None, "Your network instead of the VGG: PATH.py:FUNCTION (your code: it runs) or "
        "keras.applications.NAME.", "arch", metavar="PATH:FN")  # fmt: skip
    # Keyword arguments for that builder, as (name, value) pairs: a sweep's kernel_size and
    # width axes pass theirs this way too.
    arch_options: tuple[tuple[str, Any], ...] = setting(
        (), "Your --arch builder's keyword arguments, e.g. width=0.5,kernel_size=5.",
        "arch_options", metavar="K=V,...")  # fmt: skip

    # separable: your Conv2D become SeparableConv2D (your network is the normal model); dense:
    # your depthwise separable layers become Conv2D (your network is the separable model)
    twin: str = setting(
        "separable", "What dsbench makes of your --arch: separable, or dense.", "choice",
        choices=TWINS)  # fmt: skip

    def __post_init__(self) -> None:
        if self.twin == "dense" and not self.arch:
            raise DsbenchError("twin dense makes full convolutions of your own network's "
                               "separable layers, and no arch was given",
                               "give arch, a separable network such as "
                               "keras.applications.MobileNet", setting=("twin", "arch"))  # fmt: skip
        if self.arch_options and not self.arch:
            raise DsbenchError("arch_options are keyword arguments for your own arch builder, "
                               "and no arch was given", "give arch, or leave arch_options out",
                               setting=("arch_options", "arch"))  # fmt: skip
        own = sorted({"input_shape", "num_classes"} & {name for name, _ in self.arch_options})
        if own:  # dsbench passes these itself, from the data
            raise DsbenchError(f"arch_options may not set {' or '.join(own)}: dsbench passes "
                               f"{'them' if len(own) > 1 else 'it'} to the builder from the data", f"set {' and '.join(own)} directly",
                               setting=("arch_options", *own))  # fmt: skip
        if self.arch:  # the user's builder decides its own depth
            return
        height, width = self.input_shape[0], self.input_shape[1]
        if min(height, width) // 2 ** len(self.blocks) < 1:
            raise DsbenchError(
                f"{len(self.blocks)} blocks pool a {height}x{width} image down to nothing",
                f"use at most {max(min(height, width), 1).bit_length() - 1} blocks for "
                f"{height}x{width} inputs",
                setting="blocks",
            )
        if self.kernel_size > min(height, width):
            raise DsbenchError(
                f"kernel_size {self.kernel_size} is larger than the {height}x{width} input",
                f"use kernel_size {min(height, width)} or less",
                setting="kernel_size",
            )

    @property
    def blocks_text(self) -> str:
        """The blocks in the `--blocks` notation, e.g. '64x2,128x2,256x2'."""
        return format_blocks(self.blocks)

    def with_options(self, **options: Any) -> ModelSpec:
        """The same spec with these keyword arguments for the arch builder (None: not given)."""
        given = {**dict(self.arch_options), **{k: v for k, v in options.items() if v is not None}}
        return dataclasses.replace(self, arch_options=tuple(sorted(given.items())))

    def scaled(self, width: float) -> ModelSpec:
        """The same spec with every block's filter count multiplied by `width` (at least 1)."""
        blocks = tuple((max(1, round(f * width)), n) for f, n in self.blocks)
        return dataclasses.replace(self, blocks=blocks)


@dataclass(frozen=True)
class DataSpec:
    """Where the images come from and how many of them are used."""

    dataset: str = setting("cifar10", "cifar10 or synthetic (offline, learnable).", "choice",
                           choices=DATASETS)  # fmt: skip
    data_dir: str | None = setting(
        None, "Folder with cifar-10-batches-py/ or cifar-10-python.tar.gz (or env "
        "DSBENCH_DATA_DIR), or your own images as train/<class>/ and test/<class>/ folders.",
        "text", metavar="DIR")  # fmt: skip
    train_size: int | None = setting(None, "Seeded class-balanced subset of the training split "
                                     "(default: all of it; synthetic: 5,000; bench: 512 or "
                                     "the largest batch).", "int", minimum=1)  # fmt: skip
    test_size: int | None = setting(None, "Seeded class-balanced subset of the test split "
                                    "(default: all of it; synthetic: 1,000; bench: 10).", "int",
                                    minimum=1)  # fmt: skip
    rescale: bool = setting(True, "Scale pixels to [0, 1], or feed raw 0..255 like the "
                            "reference.", "bool")  # fmt: skip

    def __post_init__(self) -> None:
        if self.dataset == "synthetic" and self.data_dir:  # it would be ignored without a word
            raise DsbenchError(
                f"dataset synthetic makes its own images, so data_dir {self.data_dir} would "
                "not be read",
                "leave out dataset synthetic to use the images in data_dir, or leave out data_dir",
                setting=("dataset", "data_dir"),
            )


@dataclass(frozen=True)
class TrainSpec:
    """How each model is trained and measured."""

    epochs: int = setting(10, "Epochs per model.", "int", minimum=1)
    batch_size: int = setting(128, "Global batch size; with several replicas it is split "
                              "across them.", "int", minimum=1)  # fmt: skip
    # None until resolved (build_run_spec: the setting, else $KERAS_BACKEND, else tensorflow),
    # so results always record the one used.
    backend: str | None = setting(None, "Keras backend: tensorflow (default, or "
                                  "$KERAS_BACKEND), jax or torch.", "choice",
                                  choices=BACKENDS)  # fmt: skip
    learning_rate: float = setting(1e-3, "Adam learning rate.", "positive")
    seed: int = setting(0, "Seed for the data subset, the batch order and the weights.", "int",
                        minimum=0)  # fmt: skip
    repeats: int = setting(1, "Runs per model with seeds seed, seed+1, ...; >= 2 shows "
                           "mean ± std.", "int", minimum=1)  # fmt: skip
    # Worker processes, one after another, each a fresh Python process that trains everything
    # (all repeats, same seeds); the ratio's interval then takes the process as its unit.
    processes: int = setting(1, "Run everything N times, each in a fresh Python process (same "
                             "seeds); the ratio's interval then takes the process as its unit "
                             "(3 recommended: docs/methodology.md).", "int", minimum=1)  # fmt: skip
    # XLA off unless asked for: measured 1.6x (normal) and 12x (separable) slower on CPU, and
    # depthwise convs under XLA are reported far slower on GPUs (tensorflow#59772). None
    # (TOML: jit = "auto") leaves it to Keras: on with a GPU, off on CPU and under tf.distribute.
    # JAX's default is on (build_run_spec): without it JAX runs op by op.
    jit: bool | None = setting(False, "Compile the training step (XLA; torch.compile on torch); "
                               '"auto" in a config lets Keras decide.', "jit")  # fmt: skip
    precision: str = setting("float32", f"Dtype policy: {', '.join(PRECISIONS)}.", "choice",
                             choices=PRECISIONS)  # fmt: skip
    steps_per_execution: int = setting(1, "Training steps per graph call.", "int", minimum=1)
    strategy: str = setting("default", "tf.distribute: default (one device), mirrored (all "
                            "GPUs of a box), multiworker (TF_CONFIG).", "choice",
                            choices=STRATEGIES)  # fmt: skip
    devices: tuple[str, ...] = setting((), 'Devices for mirrored, e.g. "/gpu:0,/gpu:1".',
                                       "devices", metavar="LIST")  # fmt: skip
    scale_lr: bool = setting(False, "Multiply the learning rate by the number of replicas.",
                             "bool")  # fmt: skip
    deterministic: bool = setting(False, "Deterministic ops: identical reruns, slower.", "bool")
    inference: bool = setting(True, "Measure inference latency and throughput after "
                              "training.", "bool")  # fmt: skip
    checkpoint: bool = setting(False, "Save weights and optimizer state after every epoch, so "
                               "`dsbench resume` can continue.", "bool")  # fmt: skip
    # interleaved: both models built up front and trained epoch by epoch in alternating order
    # (N S, S N, ...), so both meet the machine in the same state; sequential: one, then the other.
    schedule: str = setting("interleaved", "interleaved: both models epoch by epoch in "
                            "alternating order, so both meet the machine in the same state; "
                            "sequential: one model, then the other.", "choice",
                            choices=SCHEDULES)  # fmt: skip
    # The last partial training batch is dropped (every step the same shape and cost: 390
    # steps of 128 on CIFAR-10); true keeps it, as the reference's model.fit did (391 steps).
    keep_partial_batch: bool = setting(False, "Keep the last partial training batch (391 "
                                       "steps of 128 on CIFAR-10, as the reference) instead of "
                                       "dropping it (390).", "bool")  # fmt: skip
    # TensorBoard logs per model under this folder (scalars per epoch, the model graph), and a
    # profiler trace of steps (first, last) of each model's first steady epoch.
    tensorboard: str | None = setting(None, "Write TensorBoard logs per model into this "
                                      "folder.", "text", metavar="DIR")  # fmt: skip
    profile_steps: tuple[int, int] | None = setting(
        None, "With --tensorboard: profile steps A,B of each model's first steady epoch.",
        "steps", metavar="A,B")  # fmt: skip
    # Time to accuracy: training seconds until validation accuracy first reaches this; None:
    # 95% of the lower of the models' best validation accuracies, so that both reach it.
    target_accuracy: float | None = setting(
        None, "Time-to-accuracy target (validation accuracy above 0, at most 1; default 95% of "
        "the lower best).", "fraction", metavar="A")  # fmt: skip

    def __post_init__(self) -> None:
        if self.seed + self.repeats - 1 >= SEED_LIMIT:  # Keras and numpy seeds are 32-bit
            raise DsbenchError(
                f"seed {self.seed} with repeats {self.repeats} uses seeds up to "
                f"{self.seed + self.repeats - 1:,}; seeds must stay below {SEED_LIMIT:,}",
                "use a smaller seed",
                setting=("seed", "repeats"),
            )
        if self.profile_steps and not self.tensorboard:  # the trace is written into its folder
            raise DsbenchError(
                "profile_steps writes its trace into the tensorboard folder, and none was given",
                "add tensorboard DIR",
                setting=("profile_steps", "tensorboard"),
            )
        if self.steps_per_execution > MAX_STEPS_PER_EXECUTION:
            raise DsbenchError(
                f"steps_per_execution {self.steps_per_execution:,} is more than "
                f"{MAX_STEPS_PER_EXECUTION:,}",
                "use a few steps per execution (1 to 32 is usual)",
                setting="steps_per_execution",
            )


@dataclass(frozen=True)
class RunSpec:
    """Everything a training command needs: the three specs together."""

    model: ModelSpec = field(default_factory=ModelSpec)
    data: DataSpec = field(default_factory=DataSpec)
    train: TrainSpec = field(default_factory=TrainSpec)

    def as_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready settings (blocks in their text form)."""
        out = dataclasses.asdict(self)
        out["model"]["blocks"] = self.model.blocks_text
        if callable(self.model.arch):  # a function given from Python: recorded by its name
            function = self.model.arch
            out["model"]["arch"] = f"python:{function.__module__}.{function.__qualname__}"
        out["model"]["arch_options"] = dict(self.model.arch_options)
        out["model"]["input_shape"] = list(self.model.input_shape)
        out["train"]["devices"] = list(self.train.devices)
        steps = self.train.profile_steps
        out["train"]["profile_steps"] = list(steps) if steps else None
        return out


# The sections of a config file, their spec and fields.
SPECS: dict[str, type] = {"model": ModelSpec, "data": DataSpec, "train": TrainSpec}


def fields_of(section: str) -> dict[str, dataclasses.Field[Any]]:
    """The settings of one section, by name."""
    return {f.name: f for f in dataclasses.fields(SPECS[section]) if "setting" in f.metadata}


def describe(name: str) -> Setting:
    """The Setting of a setting, by name."""
    found: Setting = fields_of(SETTINGS[name])[name].metadata["setting"]
    return found


def default(name: str) -> Any:
    """A setting's default value."""
    return fields_of(SETTINGS[name])[name].default


# Every setting's name (a TOML key, and a keyword of the Python API) -> its section.
SETTINGS: dict[str, str] = {name: section for section in SPECS for name in fields_of(section)}


def network_name(model: dict[str, Any]) -> str:
    """What network a run trained, from its saved model settings (RunSpec.as_dict()["model"]):
    'net.py:build', with its builder's keyword arguments when given ('net.py:build
    (width=0.5)'), or the VGG by its blocks ('VGG 64x2,128x2,256x2', and its kernel if not 3)."""
    if model.get("arch"):
        options = model.get("arch_options") or {}
        given = ", ".join(f"{key}={value!r}" for key, value in options.items())
        return f"{model['arch']} ({given})" if given else str(model["arch"])
    kernel = model.get("kernel_size", 3)
    blocks = model.get("blocks", format_blocks(REFERENCE_BLOCKS))
    return f"VGG {blocks}" + (f", kernel {kernel}" if kernel != 3 else "")


def resolve_backend(setting: str | None) -> str:
    """The backend to use: the setting, else $KERAS_BACKEND, else TensorFlow."""
    name = setting or os.environ.get("KERAS_BACKEND") or DEFAULT_BACKEND
    if name not in BACKENDS:
        raise DsbenchError(
            f"backend {name!r} (from KERAS_BACKEND) is not one of {', '.join(BACKENDS)}",
            "set KERAS_BACKEND to one of them, or pass backend",
            setting="backend",
        )
    return name
