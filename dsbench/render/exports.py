"""Results as text to paste, to script or to send: Markdown, CSV, JSON and the HTML page,
behind one interface.

Every exporter takes a report.Report (records read back from folders, or fresh ones) and
returns the whole text, warnings included; `table` is Rich's and lives in render/__init__.py,
the page in render/page.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.table import Table

from dsbench.measure.records import to_jsonable
from dsbench.measure.summary import METRICS
from dsbench.render import page
from dsbench.render.comparison import time_ratio
from dsbench.render.format import FORMATS, axis_value, count, missing, printable
from dsbench.render.layout import plain
from dsbench.render.tables import POINT_KEYS, baseline_value, change_text
from dsbench.spec.enums import StrEnum

if TYPE_CHECKING:
    from dsbench.store.reports import Report


class Format(StrEnum):
    """How `report` shows its rows."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"
    html = "html"


# Columns of a Markdown report: what a reader pastes into an issue or a paper. Context columns
# that are the same in every row are said once, above the table.
KEYS = ("run", *POINT_KEYS, "model")  # what a row is, as report_table says it
CONTEXT = ("network", "dataset", "train_images", "epochs", "backend", "device")
FIGURES = ("params", "macs_per_image", "ms_per_step", "ms_per_step_ratio", "train_images_per_s",
           "best_val_acc", "time_to_target_s", "status", "baseline", "figure", "old", "new",
           "change", "unit", "verdict")  # fmt: skip
# Counted figures are written whole (a count rounded to 4 digits would not be the count).
COUNTS = ("batch_size", "train_images", "epochs", "params", "macs_per_image")
FORMS = {m.column: FORMATS[m.form] for m in METRICS}
TEXT = ("status", "baseline", "figure", "unit", "verdict")  # left-aligned, as words are


def _markdown_cell(row: dict[str, Any], column: str) -> str:
    """One figure as the tables show it: counts whole, measured figures with the digits they
    have, a ratio with its 95% interval or why it is not resolved."""
    value = row.get(column)
    if column == "ms_per_step_ratio":
        return time_ratio(pd.Series(row)) or "–"
    if column == "change":
        return change_text(row)
    if column in ("old", "new"):
        return baseline_value(row, column)
    if missing(value):
        return "–"
    if column in COUNTS:
        return count(value)
    if column in FORMS and not isinstance(value, str):
        return FORMS[column](value)
    return printable(axis_value(value)).replace("|", "\\|")  # a '|' in a name ends no cell


def _is_text(column: pd.Series) -> bool:
    return bool(column.dtype == object or pd.api.types.is_string_dtype(column))


def _printable(rows: pd.DataFrame) -> pd.DataFrame:
    """Text cells with control characters made harmless (JSON escapes them itself)."""
    return rows.apply(lambda c: c.map(printable, na_action="ignore") if _is_text(c) else c)


def _warnings(report: Report) -> list[str]:
    return [printable(w) for w in report.warnings]


def to_json(report: Report) -> str:
    """{"rows": [...], "deploy": [...], "warnings": [...]}: the same shape for every kind of
    folder (deploy's rows, a row per folder, model, export and thread count, apart)."""
    document = {"rows": report.rows.to_dict(orient="records"),
                "deploy": report.deploy.to_dict(orient="records"), "warnings": _warnings(report)}  # fmt: skip
    return json.dumps(to_jsonable(document), indent=2) + "\n"


# A text cell a spreadsheet would take for a formula (OWASP's CSV injection list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A CSV text cell that no spreadsheet runs: a formula-leading cell gets a leading "'"."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def to_csv(report: Report) -> str:
    """Every column of every row, deploy's rows after the others (their `kind` is "deploy"; a
    CSV has no place for the warnings: `report` prints them on stderr; json and markdown hold
    them). Text cells are printable and spreadsheet-safe (a folder named '=HYPERLINK(...)' is
    text in the sheet, not a formula); numbers stay numbers."""
    parts = [frame for frame in (report.rows, report.deploy) if not frame.empty]
    rows = _printable(pd.concat(parts, ignore_index=True) if len(parts) > 1 else
                      parts[0] if parts else report.rows)  # fmt: skip
    safe = rows.apply(lambda c: c.map(lambda v: spreadsheet_safe(v) if isinstance(v, str) else v,
                                      na_action="ignore") if _is_text(c) else c)  # fmt: skip
    return str(safe.to_csv(index=False))


def to_markdown(report: Report) -> str:
    """The columns a reader needs, formatted as the tables show them ('–' for a missing figure,
    never 'nan'); what every row shares on a line above; then the warnings."""
    rows = report.rows
    if rows.empty:  # a deploy folder alone
        return _deploy_markdown(report).lstrip("\n") + "".join(f"\n> warning: {w}\n"
                                                               for w in _warnings(report))  # fmt: skip
    present = [c for c in (*KEYS, *CONTEXT, *FIGURES)
               if c in rows.columns and rows[c].notna().any()]  # fmt: skip
    if "change" in rows.columns:
        present = [c for c in present if c != "ms_per_step_ratio"]  # a baseline row's own ratio
    records = rows.to_dict(orient="records")
    cells = {c: [_markdown_cell(r, c) for r in records] for c in present}
    shared = [c for c in present if c in CONTEXT and len(records) > 1 and len(set(cells[c])) == 1]
    table = pd.DataFrame({c: cells[c] for c in present if c not in shared})
    text = "".join(f"{c}: {cells[c][0]}  \n" for c in shared) + ("\n" if shared else "")
    align = ["right" if c in (*COUNTS, *FIGURES) and c not in TEXT else "left"
             for c in table.columns]  # fmt: skip
    text += str(table.to_markdown(index=False, disable_numparse=True, colalign=align)) + "\n"
    if "ms_per_step_ratio" in table.columns:
        text += ("\nms_per_step_ratio: separable / normal time per step with its 95% interval, "
                 "on the separable row\n")  # fmt: skip
    return text + _deploy_markdown(report) + "".join(f"\n> warning: {w}\n"
                                                     for w in _warnings(report))  # fmt: skip


def _deploy_markdown(report: Report) -> str:
    """Each folder's deploy tables as the terminal shows them, in Markdown."""
    from dsbench.render.deploy import by_folder, deploy_tables

    return "".join("\n" + _rich_markdown(table) for title, rows in by_folder(report.deploy)
                   for table, *_ in deploy_tables(rows, title))  # fmt: skip


def _rich_markdown(table: Table) -> str:
    """A Rich table in Markdown: its title in bold above, its caption below."""
    headers = [plain(column.header) for column in table.columns]
    cells = {h: [plain(c).replace("|", "\\|") for c in column.cells]
             for h, column in zip(headers, table.columns, strict=True)}  # fmt: skip
    align = [str(column.justify) for column in table.columns]
    body = pd.DataFrame(cells).to_markdown(index=False, disable_numparse=True, colalign=align)
    title = f"**{plain(table.title).replace('|', '/')}**\n\n" if table.title else ""
    return f"{title}{body}\n\n{plain(table.caption)}\n" if table.caption else f"{title}{body}\n"


EXPORTERS: dict[Format, Callable[[Report], str]] = {
    Format.markdown: to_markdown,
    Format.csv: to_csv,
    Format.json: to_json,
    Format.html: page.render,
}


def export(report: Report, form: Format | str) -> str:
    """`report` as Markdown, CSV, JSON or HTML text."""
    return EXPORTERS[Format(form)](report)
