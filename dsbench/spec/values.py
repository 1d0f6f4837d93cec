"""Each kind of value a setting takes, parsed and checked: whole numbers with a minimum,
fractions, choices, block lists, input shapes, devices, your builder's keyword arguments, and
the comma-separated lists of a sweep's axes. `converter(setting)` is the one for a setting."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from dsbench.errors import DsbenchError
from dsbench.spec.blocks import parse_blocks
from dsbench.spec.settings import Converter, Setting

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


def converter(setting: Setting) -> Converter:
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
