"""Each command's `--help`, laid out to read at 80 columns: two columns per panel (the option
with its value, then its help), `--[no-]flag` for a flag and its negation, and values that wrap
under their option rather than being cut. Typer's own layout gives every part of an option a
column of its own (long names, short names, negations, types), which leaves the help a sliver
of an 80-column terminal; Typer still parses everything, this only draws the help. Typer's
usage errors are reworded in dsbench's voice here too (plain)."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

NAME_WIDTH = 30  # the option column's widest; a longer value wraps under its option


def option_label(param: Any) -> str:
    """'-e, --epochs N', '--[no-]rescale', '--depthwise-init {corrected,keras}', 'FOLDER...'."""
    if param.param_type_name == "argument":
        return str(param.metavar or param.name).upper() + ("..." if param.nargs != 1 else "")
    longs = [o for o in param.opts if o.startswith("--")]
    shorts = [o for o in param.opts if not o.startswith("--")]
    negations = list(param.secondary_opts)
    if len(longs) == 1 and negations == ["--no-" + longs[0][2:]]:
        longs, negations = ["--[no-]" + longs[0][2:]], []
    names = ", ".join(shorts + longs + negations)
    metavar = "" if param.is_flag or not param.metavar else f" {param.metavar}"
    return names + metavar


def _panels(command: TyperCommand, ctx: Any) -> dict[str, list[Any]]:
    """The command's parameters by help panel, in the order they first appear; --help last."""
    panels: dict[str, list[Any]] = {}
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        title = getattr(param, "rich_help_panel", None) or (
            "Arguments" if param.param_type_name == "argument" else "Options"
        )
        panels.setdefault(title, []).append(param)
    helps = panels.pop("Options", [])
    return {**panels, **({"Options": helps} if helps else {})}


def _panel(title: str, rows: list[tuple[str, str]]) -> Panel:
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(style="bold cyan", max_width=NAME_WIDTH)
    table.add_column(ratio=1)
    for name, text in rows:
        table.add_row(Text(name), text)
    return Panel(Group(table), title=escape(title), title_align="left", border_style="dim")


def render_help(command: Any, ctx: Any, console: Console) -> None:
    """The help of `command` (or of the whole tool): usage, its description, a panel per group
    of options, then its commands if it has any."""
    pieces = " ".join(command.collect_usage_pieces(ctx))
    console.print(Padding(Text(f"Usage: {ctx.command_path} {pieces}", style="bold"), (1, 1, 0, 1)))
    if command.help:
        console.print(Padding(Text(command.help.split("\n\n")[0].strip()), (1, 1, 0, 1)))
    console.print()
    for title, params in _panels(command, ctx).items():
        console.print(_panel(title, [(option_label(p), getattr(p, "help", None) or "")
                                     for p in params]))  # fmt: skip
    names = command.list_commands(ctx) if hasattr(command, "list_commands") else []
    if names:
        commands = [(name, command.get_command(ctx, name)) for name in names]
        console.print(_panel("Commands", [(name, (one.help or "").split("\n\n")[0].strip())
                                          for name, one in commands if not one.hidden]))  # fmt: skip


class CompactGroupHelp(TyperGroup):
    """A Typer group (the tool itself) whose --help is render_help's, its commands listed."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from typer import rich_utils

        render_help(self, ctx, rich_utils._get_rich_console())


class CompactHelp(TyperCommand):
    """A Typer command whose --help is render_help's."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from typer import rich_utils

        render_help(self, ctx, rich_utils._get_rich_console())


def plain(message: str) -> str:
    """A usage error in dsbench's words: "Invalid value for '--dataset': Value error, 'x' is not
    one of 'a', 'b'." -> "--dataset: 'x' is not one of 'a', 'b'"."""
    message = re.sub(r"^Invalid value for '([^']+)'(?: / '[^']+')*: ", r"\1: ", message.strip())
    message = re.sub(r"(?i)\bvalue error, ", "", message)
    for theirs, ours in _WORDING:
        message = re.sub(theirs, ours, message)
    return message.rstrip(".")


# Typer's converters word their errors as pydantic does; dsbench says it its own way.
_WORDING = (
    (r"Input should be a valid integer, unable to parse string as an integer",
     "not a whole number"),
    (r"Input should be a valid integer(, got a number with a fractional part)?",
     "not a whole number"),
    (r"Input should be a valid number, unable to parse string as a number", "not a number"),
    (r"Input should be greater than or equal to (\S+)", r"must be >= \1"),
    (r"Input should be greater than (\S+)", r"must be > \1"),
)  # fmt: skip
