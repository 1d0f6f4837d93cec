"""Settings given by name (the Python API, the command line) or in a TOML file, checked once
into a RunSpec; the rest of dsbench trusts it. What each setting is lives in settings.py.

Precedence: built-in defaults < `--config FILE` < settings given by name.
"""

from __future__ import annotations

import dataclasses
import difflib
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dsbench.errors import DsbenchError
from dsbench.spec.blocks import format_blocks
from dsbench.spec.settings import SETTINGS, SPECS, Converter, RunSpec, fields_of, resolve_backend
from dsbench.spec.values import converter

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

MAX_CONFIG_BYTES = 1 << 20  # a config is a few lines; anything this large is not one

# Each section's spec and its settings' converters, all from the specs' fields (settings.py).
SECTIONS: dict[str, tuple[type, dict[str, Converter]]] = {
    section: (spec, {name: converter(f.metadata["setting"])
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
