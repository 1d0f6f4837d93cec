"""Fitting a table to the terminal: the table itself when every figure shows whole, else a
narrower variant, else one small field/value table per row. No figure is ever cut ('1,1…').

A table's text is inert in every layout: its title, caption, headers and cells become `Text`
(never parsed as Rich markup, control characters shown as '?'), and the sideways and
row-by-row layouts are built from that text as `Text` again, so a '[link=...]' or '[/]' read
from a file shows as written."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any, cast

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from dsbench.render.format import CONTROL, inert, printable


def _text(value: RenderableType | None, style: str = "") -> RenderableType | None:
    """A table's own text as `Text`: a string is never parsed as markup; control characters
    (escape sequences) become '?' in a string and in a Text alike, line breaks stay."""
    if isinstance(value, str):
        return Text(printable(value, lines=True), style=style)
    if isinstance(value, Text) and CONTROL.search(value.plain.replace("\n", "")):
        return Text(printable(value.plain, lines=True), style=value.style)
    return value


def as_text(table: Table) -> Table:
    """`table` with its title, caption, headers and cells made `Text` (in place)."""
    table.title = cast("Text | None", _text(table.title, "table.title"))
    table.caption = cast("Text | None", _text(table.caption, "table.caption"))
    for column in table.columns:
        column.header = _text(column.header) or ""
        column.footer = _text(column.footer) or ""
        column._cells = [_text(cell) or "" for cell in column._cells]
    return table


def plain(cell: Any) -> str:
    """A Rich cell (markup text or Text) as the plain text a reader sees."""
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain
    return "" if cell is None else str(cell)


def _cells(table: Table) -> list[list[str]]:
    return [[str(cell) for cell in column._cells] for column in table.columns]


def fits(console: Console, table: Table) -> bool:
    """Whether `table`, drawn at the console's width, shows every figure and row name whole."""
    cells = _cells(table)
    trial = Console(file=io.StringIO(), width=console.width, color_system=None)
    trial.print(table)
    shown = trial.file.getvalue()  # type: ignore[attr-defined]
    # the figures (cells of no-wrap columns; each line of a two-line cell) must show whole
    figures = [c for column, col in zip(cells, table.columns, strict=True) if col.no_wrap
               for c in column]  # fmt: skip
    whole = [line for c in figures for line in c.splitlines() if any(ch.isdigit() for ch in line)]
    whole += [c for c in cells[0] if " " not in c] if cells else []
    return "…" not in shown and all(c in shown for c in whole)


def _varying(cells: list[list[str]], keys: int) -> list[int]:
    """Which of the first `keys` columns tell the rows apart (all of them differ somewhere);
    the first when none does."""
    return [k for k in range(keys) if len(set(cells[k])) > 1] or [0]


# Key columns whose values name themselves ('separable', 'train', a sweep point's 'k3-w1').
SELF_NAMED = ("run", "model", "point", "mode")


def _label(headers: list[str], cells: list[list[str]], index: int, keys: int,
           joiner: str = ", ") -> str:  # fmt: skip
    """What row `index` is, from the key cells that vary: 'normal', 'kernel 3, width 0.5'."""
    varying = _varying(cells, keys)
    if keys == 1:
        return cells[0][index]
    return joiner.join(f"{headers[k]} {cells[k][index]}" if headers[k] not in SELF_NAMED
                       else cells[k][index] for k in varying if cells[k][index] != "–")  # fmt: skip


def transposed(table: Table, keys: int = 1) -> Table:
    """`table` turned on its side: a row per figure, a column per item (a model, a point, a
    folder), headed by what the item is (those of its first `keys` cells that vary; the key
    columns that do not become rows)."""
    headers = [str(column.header) for column in table.columns]
    cells = _cells(table)
    varying = _varying(cells, keys)
    turned = Table(title=table.title, title_justify="left", caption=table.caption)
    turned.add_column(Text(headers[0] if keys == 1 else ""))
    for index in range(table.row_count):
        turned.add_column(Text(_label(headers, cells, index, keys, "\n")), justify="right",
                          no_wrap=True)  # fmt: skip
    for k, (header, column) in enumerate(zip(headers, cells, strict=True)):
        if k >= keys or k not in varying:
            turned.add_row(Text(header), *(Text(cell) for cell in column))
    return turned


def fit(console: Console, table: Table, *narrower: Table, keys: int = 1) -> RenderableType:
    """`table` itself when it fits the console (see `fits`), else the first of `narrower` that
    does, else the first of them transposed that does (items as columns, so they stay side by
    side), else one
    small field/value table per row, stacked. `keys`: how many leading columns say what a row
    is."""
    for candidate in (table, *narrower):
        as_text(candidate)
    for candidate in (table, *narrower):
        if fits(console, candidate):
            return candidate
    for candidate in (table, *narrower) if table.row_count > 1 else ():
        if fits(console, turned := transposed(candidate, keys)):
            return turned
    headers = [str(column.header) for column in table.columns]
    cells = _cells(table)
    records: list[RenderableType] = [Text(str(table.title or ""), style="italic")]
    for index in range(table.row_count):
        record = Table(title=Text(_label(headers, cells, index, keys)), title_justify="left",
                       show_header=False)  # fmt: skip
        record.add_column("field")
        record.add_column("value", justify="right", no_wrap=True)
        for header, column in zip(headers[keys:], cells[keys:], strict=True):
            record.add_row(Text(header), Text(column[index]))
        records.append(record)
    if table.caption:
        records.append(Text(str(table.caption), style="dim"))
    return Group(*records)


def warn(console: Console, warnings: Iterable[str]) -> None:
    """Warnings under a table, one line each (as hyperfine gives them)."""
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {inert(warning)}")
