"""Settings given by name (the Python API, the command line) or in a TOML file, checked once
into a RunSpec; the rest of dsbench trusts it. What each setting is lives in settings.py.

Precedence: built-in defaults < `--config FILE` < settings given by name.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import stat
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dsbench.errors import DsbenchError
from dsbench.spec.settings import (
    SETTINGS,
    SPECS,
    Converter,
    RunSpec,
    Setting,
    fields_of,
    format_blocks,
    parse_blocks,
    resolve_backend,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

MAX_CONFIG_BYTES = 1 << 20  # a config is a few lines; anything this large is not one


# ---------------------------------------------------------------- lists of numbers (sweeps)


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


# ---------------------------------------------------------------- converters, by kind of value


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
    if isinstance(value, os.PathLike):  # a folder given from Python as a Path
        value = os.fspath(value)
    if not isinstance(value, str):
        raise DsbenchError(f"{key} must be a string, got {value!r} ({_typename(value)})")
    return value


def _arch(value: Any, key: str) -> Any:
    """Your own network: 'PATH.py:FUNCTION' or 'keras.applications.NAME', or from Python the
    builder function itself."""
    if isinstance(value, str) or callable(value):
        return value
    raise DsbenchError(f"{key} must be PATH.py:FUNCTION, keras.applications.NAME or (from "
                       f"Python) a function; got {value!r} ({_typename(value)})")  # fmt: skip


def _arch_options(value: Any, key: str) -> tuple[tuple[str, Any], ...]:
    """Keyword arguments for the arch builder: a table of names to numbers, text or booleans,
    or on the command line 'width=0.5,kernel_size=5'."""
    options = value
    if isinstance(value, str):
        pairs = [_keyword(part, key) for part in value.split(",") if part.strip()]
        names = [name for name, _ in pairs]
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise DsbenchError(f"{key} {value!r} gives {', '.join(twice)} more than once",
                               "give each keyword argument once")  # fmt: skip
        options = dict(pairs)
    elif isinstance(value, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in value):
        options = dict(value)  # a ModelSpec's own (name, value) pairs
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and k.isidentifier() and isinstance(v, (int, float, str, bool))
        for k, v in options.items()
    ):
        raise DsbenchError(f"{key} must be a table of keyword arguments (names to numbers, text "
                           f"or true/false), e.g. {{width = 0.5}}; got {value!r}")  # fmt: skip
    return tuple(sorted(options.items()))


def _keyword(text: str, key: str) -> tuple[str, Any]:
    """'width=0.5' -> ('width', 0.5): a number where it reads as one, true/false, else text."""
    name, equals, raw = (part.strip() for part in text.partition("="))
    if not equals:
        raise DsbenchError(f"{key} {text.strip()!r} is not NAME=VALUE",
                           "give e.g. width=0.5,kernel_size=5")  # fmt: skip
    for parse in (int, float):
        try:
            return name, parse(raw)
        except ValueError:
            pass
    return name, {"true": True, "false": False}.get(raw.lower(), raw)


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
            named = err.message if key in err.message else f"{key}: {err.message}"
            raise DsbenchError(named, err.hint, setting=key) from None  # the flag named once
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


def _converter(setting: Setting) -> Converter:
    """The function that checks and converts a value of this setting, from its kind."""
    if setting.kind == "int":
        return _int(int(setting.minimum or 0))
    if setting.kind == "choice":
        return _choice(setting.choices)
    return {"bool": _bool, "text": _str, "arch": _arch, "arch_options": _arch_options,
            "positive": positive_float,
            "fraction": _fraction,
            "blocks": _blocks, "shape": _shape, "devices": _devices, "steps": _steps,
            "jit": _optional_jit}[setting.kind]  # fmt: skip


# Each section's spec and its settings' converters, all from the specs' fields (settings.py).
SECTIONS: dict[str, tuple[type, dict[str, Converter]]] = {
    section: (spec, {name: _converter(f.metadata["setting"])
                     for name, f in fields_of(section).items()})
    for section, spec in SPECS.items()
}  # fmt: skip


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
        train = dataclasses.replace(train, backend=resolve_backend(None))
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
    given = check_settings(settings or {})
    spec = build_run_spec(base, file_layer, given)
    if spec.model.arch:
        _refuse_vgg_settings({k: v for layer in (file_layer, given)
                              for k, v in (layer or {}).get("model", {}).items()})  # fmt: skip
    return spec


def _refuse_vgg_settings(model: dict[str, Any]) -> None:
    """kernel_size and blocks shape the VGG; given with arch they would be ignored."""
    if "blocks" in model:
        raise DsbenchError(f"blocks {format_blocks(model['blocks'])} are the VGG's, and arch "
                           "builds its own layers", "leave blocks out with arch",
                           setting=("blocks", "arch"))  # fmt: skip
    if "kernel_size" in model:
        size = model["kernel_size"]
        raise DsbenchError(f"kernel_size {size} is the VGG's, and arch builds its own layers",
                           f"if your builder takes a kernel size, give arch_options "
                           f"kernel_size={size}", setting=("kernel_size", "arch", "arch_options"))  # fmt: skip


def spec_from_dict(saved: Mapping[str, Any], source: str = "settings", **settings: Any) -> RunSpec:
    """RunSpec.as_dict's inverse: the spec a results folder's settings describe (with
    `settings` by name over them, e.g. a new data_dir). A saved jit of None is Keras' "auto";
    folders written before backends existed trained on TensorFlow."""
    layer = {
        section: {
            key: ("auto" if key == "jit" and value is None else value)
            for key, value in values.items()
            if value is not None or key == "jit"
        }
        for section, values in saved.items()
        if isinstance(values, dict)
    }
    layer.setdefault("train", {}).setdefault("backend", "tensorflow")
    return run_spec(settings, base=validate_config(layer, source))
