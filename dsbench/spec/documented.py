"""The Python API's help, made from the settings' declarations (spec/settings.py), so it cannot
drift from them: `uses(*names)` gives a function the keyword-only parameters it takes through
`**settings` in its signature (what `help()`, `inspect.signature` and a notebook's `?` show)
and a "Settings" section in its docstring, each with its type, default and one line; and
`refuse_unused` turns a setting the function does not use into an error instead of silence."""

from __future__ import annotations

import functools
import inspect
import textwrap
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from dsbench.errors import DsbenchError
from dsbench.spec.settings import SETTINGS, default, describe, fields_of

F = TypeVar("F", bound=Callable[..., Any])


# What a caller passes where it is not the field's own type (the settings' converters take it).
GIVEN = {"blocks": 'str | Sequence[tuple[int, int]]', "input_shape": "str | tuple[int, int, int]",
         "arch_options": "str | dict[str, Any]", "devices": "str | Sequence[str]",
         "profile_steps": "str | tuple[int, int] | None"}  # fmt: skip


def _type(name: str) -> str:
    if name in GIVEN:
        return GIVEN[name]
    annotation = fields_of(SETTINGS[name])[name].type
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")


def _shown(value: Any) -> str:
    """A default as a user writes it: blocks as "64x2,128x2,256x2", not nested tuples."""
    if isinstance(value, tuple) and value and all(isinstance(v, tuple) for v in value):
        return '"' + ",".join("x".join(str(n) for n in block) for block in value) + '"'
    return repr(value)


@functools.cache  # compare and train list the same settings: each entry is made once
def entry(name: str) -> str:
    """'epochs: int = 10' and its help, wrapped, as a docstring lists it."""
    declared = describe(name)
    text = declared.help.replace("\\[", "[")
    if declared.choices and not all(c in text for c in declared.choices):
        text += f" One of: {', '.join(declared.choices)}."
    if declared.minimum is not None and "at least" not in text:
        text += f" At least {declared.minimum:g}."
    if not declared.cli:
        text += " (API and config file only.)"
    wrapped = textwrap.fill(text, 88, initial_indent=" " * 8, subsequent_indent=" " * 8)
    return f"    {name}: {_type(name)} = {_shown(default(name))}\n{wrapped}"


def settings_doc(names: Iterable[str]) -> str:
    """The "Settings" section of a docstring, a setting each, in the declarations' order."""
    ordered = [name for name in SETTINGS if name in set(names)]
    return ("Settings (keyword arguments, named like a config file's keys; a value not given "
            "is the config file's, else the default shown):\n"
            + "\n".join(entry(name) for name in ordered))  # fmt: skip


def uses(*names: str) -> Callable[[F], F]:
    """Document the settings a function takes through **settings: in its signature, as
    keyword-only parameters with their defaults, and in its docstring."""

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        ordered = [
            name for name in SETTINGS if name in set(names) and name not in signature.parameters
        ]  # an explicit parameter stays itself
        added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default(name),
                                   annotation=_type(name)) for name in ordered]  # fmt: skip
        function.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
        doc = inspect.cleandoc(function.__doc__ or "")
        function.__doc__ = f"{doc}\n\n{settings_doc(ordered)}\n"
        return function

    return decorate


def refuse_unused(command: str, settings: Iterable[str], used: Iterable[str], hint: str) -> None:
    """One line naming the settings `command` was given and does not use."""
    allowed = set(used)
    unused = sorted(name for name in settings if name in SETTINGS and name not in allowed)
    if unused:
        raise DsbenchError(f"{command}() got {', '.join(unused)}, which {command} does not use",
                           hint, setting=tuple(unused))  # fmt: skip
