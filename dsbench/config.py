"""Typed specs for a run (model, data, training) and their loading from TOML.

Values are validated once here, at the edge; the rest of dsbench trusts them.
Precedence: built-in defaults < `--config FILE` < flags given on the command line.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import stat
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsbench.errors import DsbenchError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

KINDS = ("normal", "separable")
DATASETS = ("cifar10", "synthetic")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multiworker")
DEPTHWISE_INITS = ("corrected", "keras")
SCHEDULES = ("interleaved", "sequential")
BACKENDS = ("tensorflow", "jax", "torch")  # Keras 3's backends (dsbench.backends)
BENCH_MODES = ("train", "infer", "both")  # what `bench` times: a training step, a forward pass
REFERENCE_BLOCKS: tuple[tuple[int, int], ...] = ((64, 2), (128, 2), (256, 2))
SEED_LIMIT = 2**32
MAX_STEPS_PER_EXECUTION = 1 << 16
MAX_CONFIG_BYTES = 1 << 20  # a config is a few lines; anything this large is not one
BLOCKS_HELP = "comma-separated FILTERSxCONVS per block, e.g. 64x2,128x2,256x2"


@dataclass(frozen=True)
class ModelSpec:
    """The VGG-style architecture shared by the normal and the separable model."""

    blocks: tuple[tuple[int, int], ...] = REFERENCE_BLOCKS
    kernel_size: int = 3
    input_shape: tuple[int, int, int] = (32, 32, 3)
    num_classes: int = 10
    # "keras": Keras' default glorot_uniform, whose fans count input channels a depthwise
    # kernel never mixes, so its weights are sqrt((Cin+1)/2) too small and a deep separable stack
    # on [0, 1] inputs starts with a vanishing signal. "corrected": glorot with fan = k*k.
    depthwise_init: str = "corrected"

    def __post_init__(self) -> None:
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

    def scaled(self, width: float) -> ModelSpec:
        """The same spec with every block's filter count multiplied by `width` (at least 1)."""
        blocks = tuple((max(1, round(f * width)), n) for f, n in self.blocks)
        return dataclasses.replace(self, blocks=blocks)


@dataclass(frozen=True)
class DataSpec:
    """Where the images come from and how many of them are used."""

    dataset: str = "cifar10"
    data_dir: str | None = None
    train_size: int | None = None  # None: the whole split
    test_size: int | None = None
    rescale: bool = True  # pixels / 255 -> [0, 1]; False feeds raw 0..255 like the reference


@dataclass(frozen=True)
class TrainSpec:
    """How each model is trained and measured."""

    epochs: int = 10
    batch_size: int = 128
    # The Keras backend: None until resolved (build_run_spec: the setting, else $KERAS_BACKEND,
    # else tensorflow), so results always record the one used.
    backend: str | None = None
    learning_rate: float = 1e-3
    seed: int = 0
    repeats: int = 1
    # Worker processes, one after another, each a fresh Python process that trains everything
    # (all repeats, same seeds); the ratio's interval then takes the process as its unit.
    processes: int = 1
    # XLA off unless asked for: measured 1.6x (normal) and 12x (separable) slower on CPU, and
    # depthwise convs under XLA are reported far slower on GPUs (tensorflow#59772). None
    # (TOML: jit = "auto") leaves it to Keras: on with a GPU, off on CPU and under tf.distribute.
    jit: bool | None = False
    precision: str = "float32"
    steps_per_execution: int = 1
    strategy: str = "default"
    devices: tuple[str, ...] = ()
    scale_lr: bool = False
    deterministic: bool = False
    inference: bool = True
    checkpoint: bool = False
    # interleaved: both models built up front and trained epoch by epoch in alternating order
    # (N S, S N, ...), so both meet the machine in the same state; sequential: one, then the other.
    schedule: str = "interleaved"
    # The last partial training batch is dropped (every step the same shape and cost: 390
    # steps of 128 on CIFAR-10); true keeps it, as the reference's model.fit did (391 steps).
    keep_partial_batch: bool = False
    # TensorBoard logs per model under this folder (scalars per epoch, the model graph), and a
    # profiler trace of steps (first, last) of each model's first steady epoch.
    tensorboard: str | None = None
    profile_steps: tuple[int, int] | None = None
    # Time to accuracy: training seconds until validation accuracy first reaches this; None:
    # 95% of the lower of the models' best validation accuracies, so that both reach it.
    target_accuracy: float | None = None

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
        out["model"]["input_shape"] = list(self.model.input_shape)
        out["train"]["devices"] = list(self.train.devices)
        steps = self.train.profile_steps
        out["train"]["profile_steps"] = list(steps) if steps else None
        return out


# ---------------------------------------------------------------- parsing single values

_BLOCK_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_blocks(text: str) -> tuple[tuple[int, int], ...]:
    """Parse '64x2,128x2,256x2' into ((64, 2), (128, 2), (256, 2)) or raise DsbenchError."""
    if not isinstance(text, str) or not text.strip():
        raise DsbenchError(
            f"malformed blocks {text!r}: it is empty", f"give {BLOCKS_HELP}", setting="blocks"
        )
    blocks = []
    for part in text.split(","):
        match = _BLOCK_RE.match(part)
        if not match:
            raise DsbenchError(
                f"malformed blocks {text!r}: {part.strip()!r} is not FILTERSxCONVS",
                f"give {BLOCKS_HELP}",
                setting="blocks",
            )
        filters, convs = int(match.group(1)), int(match.group(2))
        if not (1 <= filters <= 65536 and 1 <= convs <= 64):
            raise DsbenchError(
                f"malformed blocks {text!r}: {part.strip()!r} needs 1..65536 filters "
                "and 1..64 convs",
                f"give {BLOCKS_HELP}",
                setting="blocks",
            )
        blocks.append((filters, convs))
    if len(blocks) > 5:
        raise DsbenchError(
            f"malformed blocks {text!r}: {len(blocks)} blocks pool 32x32 images to nothing",
            "use at most 5 blocks",
            setting="blocks",
        )
    return tuple(blocks)


def format_blocks(blocks: tuple[tuple[int, int], ...]) -> str:
    """Inverse of parse_blocks."""
    return ",".join(f"{f}x{n}" for f, n in blocks)


def parse_number_list(
    values: str | Sequence[Any], setting: str, cast: Callable[[str], Any]
) -> list[Any]:
    """Parse '3,5,7' (or a list) for a sweep axis; a clear error names the setting."""
    parts = values.split(",") if isinstance(values, str) else list(values)
    out = []
    for part in parts:
        try:
            value = cast(str(part).strip())
        except ValueError:
            raise DsbenchError(
                f"malformed {setting} {values!r}: {str(part).strip()!r} is not a number",
                f"give comma-separated numbers, e.g. {setting} 3,5,7",
                setting=setting,
            ) from None
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise DsbenchError(
                f"malformed {setting} {values!r}: values must be positive numbers",
                setting=setting,
            )
        out.append(value)
    return out


def whole_number(text: str) -> int:
    """'5' or '5.0' -> 5; ValueError for '2.5' (kernel sizes are whole numbers)."""
    value = float(text)
    if not value.is_integer():
        raise ValueError(text)
    return int(value)


# ---------------------------------------------------------------- TOML config files

Converter = Callable[[Any, str], Any]


def _typename(value: Any) -> str:
    return type(value).__name__


def _int(minimum: int) -> Converter:
    def convert(value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise DsbenchError(f"{key} must be an integer, got {value!r} ({_typename(value)})")
        if value < minimum:
            raise DsbenchError(f"{key} must be >= {minimum}, got {value}")
        return value

    return convert


def positive_float(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DsbenchError(f"{key} must be a number, got {value!r} ({_typename(value)})")
    if not (math.isfinite(value) and value > 0):
        raise DsbenchError(f"{key} must be a positive number, got {value}")
    return float(value)


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise DsbenchError(f"{key} must be true or false, got {value!r} ({_typename(value)})")
    return value


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise DsbenchError(f"{key} must be a string, got {value!r} ({_typename(value)})")
    return value


def _choice(choices: tuple[str, ...]) -> Converter:
    def convert(value: Any, key: str) -> str:
        if value not in choices:
            raise DsbenchError(f"{key} must be one of {', '.join(choices)}; got {value!r}")
        return value

    return convert


def _blocks(value: Any, key: str) -> tuple[tuple[int, int], ...]:
    if isinstance(value, str):
        try:
            return parse_blocks(value)
        except DsbenchError as err:
            raise DsbenchError(f"{key}: {err.message}", err.hint) from None
    if isinstance(value, list) and all(
        isinstance(b, list) and len(b) == 2 and all(isinstance(v, int) for v in b) for b in value
    ):
        return parse_blocks(",".join(f"{f}x{n}" for f, n in value))
    raise DsbenchError(
        f'{key} must be a string like "64x2,128x2,256x2" or a list of [filters, convs] pairs',
        f"got {value!r}",
    )


def _shape(value: Any, key: str) -> tuple[int, int, int]:
    if isinstance(value, str):  # "64,64,3" or "64x64x3", as the flag takes it
        parts = value.replace("x", ",").split(",")
        value = [int(p) if p.strip().isdigit() else p for p in parts]
    if isinstance(value, tuple):
        value = list(value)
    if (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        return (value[0], value[1], value[2])
    raise DsbenchError(f"{key} must be a list of three positive integers like [32, 32, 3]")


def _devices(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):  # "/gpu:0,/gpu:1", as the flag takes it
        return tuple(d.strip() for d in value.split(",") if d.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise DsbenchError(f'{key} must be a list of device names like ["/gpu:0", "/gpu:1"]')


def _steps(value: Any, key: str) -> tuple[int, int]:
    """'A,B' or [A, B]: the first and last step to profile, 1 <= A <= B."""
    parts = value.split(",") if isinstance(value, str) else value
    try:
        first, last = (int(str(v).strip()) for v in parts)
    except (TypeError, ValueError):
        raise DsbenchError(f"{key} must be two step numbers A,B, got {value!r}") from None
    if not 1 <= first <= last:
        raise DsbenchError(f"{key} must satisfy 1 <= A <= B, got {first},{last}")
    return first, last


def _fraction(value: Any, key: str) -> float:
    value = positive_float(value, key)
    if value > 1:
        raise DsbenchError(f"{key} must be a fraction in (0, 1], got {value}")
    return value


def _optional_jit(value: Any, key: str) -> bool | None:
    if value == "auto":
        return None
    return _bool(value, key)


SECTIONS: dict[str, tuple[type, dict[str, Converter]]] = {
    "model": (
        ModelSpec,
        {
            "blocks": _blocks,
            "kernel_size": _int(1),
            "input_shape": _shape,
            "num_classes": _int(2),
            "depthwise_init": _choice(DEPTHWISE_INITS),
        },
    ),
    "data": (
        DataSpec,
        {
            "dataset": _choice(DATASETS),
            "data_dir": _str,
            "train_size": _int(1),
            "test_size": _int(1),
            "rescale": _bool,
        },
    ),
    "train": (
        TrainSpec,
        {
            "epochs": _int(1),
            "batch_size": _int(1),
            "backend": _choice(BACKENDS),
            "learning_rate": positive_float,
            "seed": _int(0),
            "repeats": _int(1),
            "processes": _int(1),
            "jit": _optional_jit,
            "precision": _choice(PRECISIONS),
            "steps_per_execution": _int(1),
            "strategy": _choice(STRATEGIES),
            "devices": _devices,
            "scale_lr": _bool,
            "deterministic": _bool,
            "inference": _bool,
            "checkpoint": _bool,
            "schedule": _choice(SCHEDULES),
            "keep_partial_batch": _bool,
            "tensorboard": _str,
            "profile_steps": _steps,
            "target_accuracy": _fraction,
        },
    ),
}


def load_config(path: Path) -> dict[str, dict[str, Any]]:
    """Read a TOML config into validated per-section overrides, e.g. {"train": {"epochs": 2}}."""
    try:
        info = Path(path).stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read for ever
            raise DsbenchError(f"config file {path} is not a regular file",
                               "give a TOML file", setting="config")  # fmt: skip
        if info.st_size > MAX_CONFIG_BYTES:
            raise DsbenchError(f"config file {path} is {info.st_size:,} bytes; a dsbench config "
                               f"is a few lines (at most {MAX_CONFIG_BYTES:,} bytes)",
                               "give a TOML file of settings", setting="config")  # fmt: skip
        with open(path, "rb") as stream:
            text = stream.read(MAX_CONFIG_BYTES + 1).decode("utf-8")
        raw = tomllib.loads(text)
    except FileNotFoundError:
        raise DsbenchError(
            f"config file {path} does not exist", "check the config path", setting="config"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise DsbenchError(f"cannot read config file {path}: {err}", setting="config") from None
    except tomllib.TOMLDecodeError as err:
        raise DsbenchError(f"config file {path} is not valid TOML: {err}",
                           setting="config") from None  # fmt: skip
    except (RecursionError, MemoryError):
        raise DsbenchError(f"config file {path} nests too deeply to be a dsbench config",
                           "give a TOML file of settings", setting="config") from None  # fmt: skip
    return validate_config(raw, str(path))


def validate_config(raw: dict[str, Any], source: str = "config") -> dict[str, dict[str, Any]]:
    """Check sections, keys and value types; every error names the file and the key."""
    out: dict[str, dict[str, Any]] = {}
    for section, values in raw.items():
        if section not in SECTIONS:
            raise DsbenchError(
                f"{source}: unknown section [{section}]{did_you_mean(section, SECTIONS)}",
                f"allowed sections: {', '.join(f'[{s}]' for s in SECTIONS)}",
            )
        if not isinstance(values, dict):
            raise DsbenchError(f"{source}: {section} must be a [{section}] table")
        converters = SECTIONS[section][1]
        out[section] = {}
        for key, value in values.items():
            if key not in converters:
                raise DsbenchError(
                    f"{source}: unknown key {key!r} in [{section}]{did_you_mean(key, converters)}",
                    f"allowed keys: {', '.join(converters)}",
                )
            try:
                out[section][key] = converters[key](value, f"[{section}] {key}")
            except DsbenchError as err:
                raise DsbenchError(f"{source}: {err.message}", err.hint) from None
    return out


# Every setting's name (a TOML key, and a keyword of the Python API) -> its section.
SETTINGS: dict[str, str] = {key: name for name, (_, keys) in SECTIONS.items() for key in keys}


def did_you_mean(word: str, choices: Mapping[str, Any] | tuple[str, ...]) -> str:
    """' (did you mean 'epochs'?)' when `word` is close to one of `choices`, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_settings(settings: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Validate settings given by name (None means 'not given') into per-section overrides."""
    out: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for key, value in settings.items():
        if value is None:
            continue
        if key not in SETTINGS:
            raise DsbenchError(
                f"unknown setting {key!r}{did_you_mean(key, SETTINGS)}",
                f"settings: {', '.join(SETTINGS)}",
            )
        section = SETTINGS[key]
        try:
            out[section][key] = SECTIONS[section][1][key](value, key)
        except DsbenchError as err:
            raise DsbenchError(err.message, err.hint, err.exit_code, setting=key) from None
    return out


def build_run_spec(*layers: dict[str, dict[str, Any]] | None) -> RunSpec:
    """Defaults, then each layer of validated overrides in turn (a config file, then settings).

    Devices given with the default strategy mean mirrored over those devices (a device list
    has no other use)."""
    parts: dict[str, Any] = {}
    for section, (cls, _) in SECTIONS.items():
        values: dict[str, Any] = {}
        for layer in layers:
            values.update((layer or {}).get(section, {}))
        parts[section] = cls(**values)
    train = parts["train"]
    if train.devices and train.strategy == "default":
        train = dataclasses.replace(train, strategy="mirrored")
    if train.backend is None:
        from dsbench.backends import resolve

        train = dataclasses.replace(train, backend=resolve(None))
    given_jit = any("jit" in (layer or {}).get("train", {}) for layer in layers)
    if train.backend == "jax" and not given_jit:  # JAX without jit runs op by op, ~3x slower
        train = dataclasses.replace(train, jit=True)
    parts["train"] = train
    return RunSpec(**parts)


def run_spec(
    settings: Mapping[str, Any] | None = None,
    config: str | Path | None = None,
    base: dict[str, dict[str, Any]] | None = None,
) -> RunSpec:
    """The RunSpec for `settings` by name over a TOML `config` file over `base` over defaults."""
    file_layer = load_config(Path(config)) if config is not None else None
    return build_run_spec(base, file_layer, check_settings(settings or {}))
