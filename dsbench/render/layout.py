"""Fitting a table to the terminal: the table itself when every figure shows whole, else a
narrower variant, else one small field/value table per row. No figure is ever cut ('1,1…')."""

from __future__ import annotations

import io

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text


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


def fit(console: Console, table: Table, *narrower: Table) -> RenderableType:
    """`table` itself when it fits the console (see `fits`), else the first of `narrower` that
    does, else one small field/value table per row, stacked."""
    for candidate in (table, *narrower):
        if fits(console, candidate):
            return candidate
    headers = [str(column.header) for column in table.columns]
    cells = _cells(table)
    records: list[RenderableType] = [Text(str(table.title or ""), style="italic")]
    for index in range(table.row_count):
        record = Table(title=Text(cells[0][index]), title_justify="left", show_header=False)
        record.add_column("field")
        record.add_column("value", justify="right", no_wrap=True)
        for header, column in zip(headers[1:], cells[1:], strict=True):
            record.add_row(header, column[index])
        records.append(record)
    if table.caption:
        records.append(Text(str(table.caption), style="dim"))
    return Group(*records)
