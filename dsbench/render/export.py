"""Results as text to paste or to script: Markdown, CSV and JSON, behind one interface.

Every exporter takes a report.Report (records read back from folders, or fresh ones) and
returns the whole text, warnings included; `table` is Rich's and lives in render/__init__.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from dsbench.enums import StrEnum
from dsbench.records import to_jsonable
from dsbench.render.format import printable

if TYPE_CHECKING:
    from dsbench.reports import Report


class Format(StrEnum):
    """How `report` shows its rows."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


# Columns of a Markdown report: what a reader pastes into an issue or a paper.
MARKDOWN_COLUMNS = ("run", "point", "mode", "batch_size", "model", "dataset", "train_images",
                    "epochs", "device", "params", "macs_per_image", "ms_per_step",
                    "ms_per_step_ratio", "ms_per_step_ratio_low", "ms_per_step_ratio_high",
                    "train_images_per_s", "best_val_acc", "time_to_target_s", "status",
                    "baseline", "figure", "old", "new", "change", "change_low", "change_high",
                    "unit", "verdict")  # fmt: skip


def _is_text(column: pd.Series) -> bool:
    return bool(column.dtype == object or pd.api.types.is_string_dtype(column))


def _printable(rows: pd.DataFrame) -> pd.DataFrame:
    """Text cells with control characters made harmless (JSON escapes them itself)."""
    return rows.apply(lambda c: c.map(printable, na_action="ignore") if _is_text(c) else c)


def _warnings(report: Report) -> list[str]:
    return [printable(w) for w in report.warnings]


def to_json(report: Report) -> str:
    """{"rows": [...], "warnings": [...]}: the same shape for every kind of folder."""
    document = {"rows": report.rows.to_dict(orient="records"), "warnings": _warnings(report)}
    return json.dumps(to_jsonable(document), indent=2) + "\n"


def to_csv(report: Report) -> str:
    """Every column of every row (warnings are not part of a CSV: use json or markdown)."""
    return str(_printable(report.rows).to_csv(index=False))


def to_markdown(report: Report) -> str:
    """The columns a reader needs, '–' for a missing figure (never 'nan'), then the warnings."""
    rows = _printable(report.rows)
    columns = [c for c in MARKDOWN_COLUMNS if c in rows.columns and rows[c].notna().any()]
    shown = rows[columns].astype(object)
    shown = shown.where(shown.notna(), None)
    text = str(shown.to_markdown(index=False, floatfmt=".4g", missingval="–")) + "\n"
    return text + "".join(f"\n> warning: {w}\n" for w in _warnings(report))


EXPORTERS: dict[Format, Callable[[Report], str]] = {
    Format.markdown: to_markdown,
    Format.csv: to_csv,
    Format.json: to_json,
}


def export(report: Report, form: Format | str) -> str:
    """`report` as Markdown, CSV or JSON text."""
    return EXPORTERS[Format(form)](report)
