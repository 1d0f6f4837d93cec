"""`report --format html`: the results page, a section per results folder (render/html.py
draws the parts), or a run against its baseline."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from dsbench.measure.bench import BenchSummary
from dsbench.measure.deploy import Deployed
from dsbench.measure.records import to_jsonable
from dsbench.measure.summary import Summary
from dsbench.render import charts, html
from dsbench.render.comparison import compare_table, verdict
from dsbench.render.format import printable
from dsbench.render.sweep import sweep_table
from dsbench.render.tables import baseline_table, bench_table, report_table
from dsbench.render.titles import record_title

if TYPE_CHECKING:
    from dsbench.measure.sweep import SweepSummary
    from dsbench.store.files import Record
    from dsbench.store.reports import Report


def _own_rows(rows: pd.DataFrame, folder: Path) -> pd.DataFrame:
    if "run" not in rows.columns:
        return rows.iloc[0:0]
    return rows[rows["run"].astype(str) == str(folder)]


def _curves(folder: Path) -> str:
    """Both models' training curves, from the folder's history.csv (none: no curves)."""
    from dsbench.errors import DsbenchError
    from dsbench.store import files, plot

    try:
        history = files.read_history(folder)
    except DsbenchError:  # read with its record already; a page without curves still helps
        return ""
    if history is None or history.empty:
        return ""
    return html.figure(charts.svg(lambda fig: plot.draw_curves(fig, history), 15, 4.4),
                       "accuracy and loss per epoch (train dashed, validation solid), and "
                       "validation accuracy against cumulative training seconds", wide=True)  # fmt: skip


def _deployed(found: Deployed | None, title: str) -> tuple[str, list[str]]:
    """deploy's tables and its latency ratios drawn with their intervals ("" and none without
    a deploy record)."""
    from dsbench.render.deploy import NAMES, deploy_tables

    if found is None:
        return "", []
    tables = "".join(html.table(widest) for widest, *_ in deploy_tables(found.rows, title))
    ratios = [charts.item(f"{NAMES.get((r['format'], r['precision']), r['format'])}, "
                          f"{r['threads']} thr", r.get("latency_ratio"),
                          r.get("latency_ratio_low"), r.get("latency_ratio_high"), "separable")
              for r in found.rows if r.get("model") == "separable"]  # fmt: skip
    drawn = [r for r in ratios if r]
    if not drawn:
        return tables, []
    return tables, [html.figure(charts.forest(drawn, "separable / normal, batch-1 latency",
                                              "Deployed: latency ratios, 95% intervals", 1.0,
                                              log=True),
                                "LiteRT and ONNX Runtime on this CPU; below 1: separable "
                                "answers sooner")]  # fmt: skip


def _table(record: Summary | SweepSummary | BenchSummary) -> str:
    if isinstance(record, Summary):
        table = compare_table(record.models, "")
        device = record.device.removeprefix("device: ")
        table.caption = f"{printable(device)}; {table.caption}" if device else table.caption
        return html.table(table)
    if isinstance(record, BenchSummary):
        return html.table(bench_table(record.rows, "", record.between_runs_sd))
    return html.table(sweep_table(record.rows, record.ratios, ""))


def section(folder: Path, record: Record, rows: pd.DataFrame) -> str:
    """One folder: title, verdict, its table, its figures drawn with their intervals, the
    curves or the sweep's ratios, its warnings, where it ran and the command."""
    parts = [f"<section><h2>{escape(record_title(record, folder))}</h2>"]
    if isinstance(record, Deployed):
        table, drawn = _deployed(record, "")
        parts += [table, f"<div class='charts'>{''.join(drawn)}</div>",
                  html.environment(record.environment)]  # fmt: skip
        return "".join(parts) + "</section>"
    if isinstance(record, Summary) and record.models.empty:
        parts.append("<p>No model finished an epoch.</p></section>")
        return "".join(parts)
    if isinstance(record, Summary) and (line := verdict(record.models)):
        parts.append(f"<p class='verdict'>{escape(printable(line))}</p>")
    if not isinstance(record, (Summary, BenchSummary)) and record.ratios.empty:
        parts.append("<p>No point has finished yet.</p>")
    else:
        parts.append(_table(record))
    figures = html.interval_charts(_own_rows(rows, folder))
    if isinstance(record, Summary):
        figures.append(_curves(folder))
        from dsbench.store.files import read_deploy

        found = read_deploy(folder)
        table, drawn = _deployed(found, f"deploy: {found.weights}" if found else "")
        parts.append(table)
        figures.extend(drawn)
    elif not isinstance(record, BenchSummary) and not record.ratios.empty:
        from dsbench.store import plot

        axes = [a for a in record.axes if len(record.axes[a]) > 1]
        figures.append(html.figure(
            charts.svg(lambda fig: plot.draw_sweep(fig, record.ratios, axes), 8, 4.5),
            "separable / normal across the swept axis: where the measured time ratio departs "
            "from the MAC ratio", wide=True))  # fmt: skip
    parts.append(f"<div class='charts'>{''.join(f for f in figures if f)}</div>")
    parts.append(html.warnings(record.warnings))
    parts.append(html.environment(record.environment))
    return "".join(parts) + "</section>"


def baseline_section(found: Report) -> str:
    """A run against its baseline: each figure old and new, and each change with its interval
    (ratios new/old on a log scale; accuracy as new − old)."""
    rows = found.rows
    title = (f"{printable(rows['run'].iloc[0])} against {printable(rows['baseline'].iloc[0])}"
             if len(rows) else "a run against its baseline")  # fmt: skip
    parts = [f"<section><h2>{escape(title)}</h2>",
             html.table(baseline_table(rows, ""))]  # fmt: skip
    measured = [r for _, r in rows.iterrows() if r.get("unit") != "exact"]
    ratio = [charts.item(f"{printable(r['model'])}: {printable(r['figure'])}", r.get("change"),
                         r.get("change_low"), r.get("change_high"), str(r.get("model")))
             for r in measured if "−" not in str(r.get("unit"))]  # fmt: skip
    difference = [charts.item(f"{printable(r['model'])}: {printable(r['figure'])}",
                              r.get("change"), r.get("change_low"), r.get("change_high"),
                              str(r.get("model")))
                  for r in measured if "−" in str(r.get("unit"))]  # fmt: skip
    figures = []
    if ratio := [r for r in ratio if r]:
        figures.append(html.figure(charts.forest(ratio, "new / old",
                                                 "Changes, 95% intervals", 1.0, log=True),
                                   "an interval holding 1: no change resolved"))  # fmt: skip
    if difference := [d for d in difference if d]:
        figures.append(html.figure(charts.forest(difference, "new − old",
                                                 "Accuracy changes, 95% intervals", 0.0,
                                                 log=False),
                                   "an interval holding 0: no change resolved"))  # fmt: skip
    parts.append(f"<div class='charts'>{''.join(figures)}</div>")
    parts.append(html.warnings(found.warnings))
    for _, record in found.records[:1]:
        parts.append(html.environment(record.environment))
    return "".join(parts) + "</section>"


def _folder(folder: Path, record: Record) -> dict[str, object]:
    return {"folder": str(folder), "kind": str(record.kind), "settings": record.settings,
            "environment": record.environment}  # fmt: skip


def data(found: Report) -> str:
    """The report's rows, warnings and each folder's settings and environment as JSON, safe
    inside a script block ('<', '>' and '&' escaped)."""
    document = {
        "rows": found.rows.to_dict(orient="records"),
        "deploy": found.deploy.to_dict(orient="records"),
        "warnings": [printable(w) for w in found.warnings],
        "folders": [_folder(folder, record) for folder, record in found.records],
    }
    text = json.dumps(to_jsonable(document), indent=1, allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(found: Report) -> str:
    """The whole page: one file, nothing fetched, readable on a phone and in print."""
    charts.start_page()
    baseline = "change" in found.rows.columns
    if baseline:
        body = [baseline_section(found)]
    else:
        body = [section(folder, record, found.rows) for folder, record in found.records]
        if len(found.records) > 1 and not found.rows.empty:  # not for deploy folders alone
            overview = html.table(report_table(found.rows))
            body.insert(0, f"<section><h2>All folders</h2>{overview}"
                           f"{html.warnings(found.warnings)}</section>")  # fmt: skip
    names = ", ".join(printable(folder) for folder, _ in found.records) or "no folder"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>dsbench report: {escape(names)}</title><style>{html.STYLE}</style></head>"
        f"<body><h1>dsbench report</h1>{''.join(body)}"
        "<footer>Made by dsbench report --format html. Ratios are separable / normal; each "
        "interval is 95% on its own. The data behind this page is in the JSON block at its "
        "end (id dsbench-data).</footer>"
        f"<script type='application/json' id='dsbench-data'>{data(found)}</script>"
        "</body></html>\n"
    )
