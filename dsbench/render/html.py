"""The results page: a report as one self-contained HTML file to send or attach.

Nothing is fetched: the style is inline, the charts are inline SVG (render/charts.py), and the
report's rows and each folder's settings and environment ride along as JSON in a
`<script type="application/json">` block that no browser runs. Every text from a folder is
escaped (a received folder is not trusted). The tables are the terminal's own (the same Rich
tables, cell for cell) laid out as HTML; below 700 pixels each row becomes a card, so no table
is wider than a phone's screen.
"""

from __future__ import annotations

import shlex
from html import escape
from typing import Any

import pandas as pd
from rich.table import Table

from dsbench.render import charts
from dsbench.render.format import printable
from dsbench.render.layout import plain

STYLE = """
:root{--ink:#1b1b1b;--dim:#5c5c5c;--line:#d8d8d8;--warn:#8a5300;--bg:#fff}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
background:var(--bg);margin:0 auto;padding:1rem;max-width:72rem}
h1{font-size:1.4rem;margin:.2rem 0 .6rem}h2{font-size:1.15rem;margin:1.6rem 0 .4rem;
overflow-wrap:anywhere}h3{font-size:1rem;margin:1.1rem 0 .3rem}
.verdict{font-weight:600;font-size:1.05rem;border-left:4px solid #ff7f0e;padding:.3rem .6rem;
background:#fff6ec}
table.data{border-collapse:collapse;width:100%;margin:.4rem 0;font-size:.9rem}
table.data th,table.data td{border-bottom:1px solid var(--line);padding:.25rem .45rem;
vertical-align:top;overflow-wrap:break-word}
table.data th{text-align:left;background:#f4f4f4}
table.data td.num{text-align:right;font-variant-numeric:tabular-nums}
p.caption{color:var(--dim);font-size:.8rem;margin:.2rem 0 .8rem;overflow-wrap:anywhere}
.scroll{overflow-x:auto}
.warn{color:var(--warn)}ul.warnings{padding-left:1.2rem}
figure{margin:.6rem 0;min-width:0}figure.wide{grid-column:1/-1}svg.chart{display:block;max-width:100%;height:auto}
figcaption{color:var(--dim);font-size:.8rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,26rem),1fr));gap:.6rem}
dl.env{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;font-size:.85rem}
dl.env dt{color:var(--dim)}dl.env dd{margin:0;overflow-wrap:anywhere}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;overflow-wrap:anywhere}
footer{color:var(--dim);font-size:.8rem;margin-top:2rem}
@media (max-width:700px){body{padding:.6rem;font-size:14px}
dl.env{grid-template-columns:1fr}dl.env dt{margin-top:.3rem}}
@media print{body{max-width:none;font-size:11pt}figure,tr{break-inside:avoid}
h2,h3{break-after:avoid}}
"""


# A table as cards, a row each with every cell labelled: below 700 pixels for every table, at
# any width for a table of more than CARDS columns (a report over many folders).
CARD_RULES = """
{t},{t} tbody{{display:block}}{t} thead{{display:none}}
{t} tr{{display:block;border-bottom:2px solid var(--line);padding:.2rem 0}}
{t} td,{t} td.num{{display:flex;justify-content:space-between;gap:.8rem;border:0;
text-align:right}}
{t} td::before{{content:attr(data-label);font-weight:600;text-align:left;color:var(--dim)}}
{t} td.key{{font-weight:600;display:block;text-align:left}}{t} td.key::before{{content:none}}
"""
CARDS = 9
STYLE += CARD_RULES.format(t="table.cards")
STYLE += "@media (max-width:700px){" + CARD_RULES.format(t="table.data") + "}"


def table(rich_table: Table) -> str:
    """A Rich table as an HTML table: its title as a heading, its caption below, each cell
    labelled with its column's header for the card layout of narrow screens."""
    headers = [plain(column.header) for column in rich_table.columns]
    columns = [[plain(cell) for cell in column.cells] for column in rich_table.columns]
    right = [column.justify == "right" for column in rich_table.columns]
    head = "".join(f"<th scope='col'>{escape(h)}</th>" for h in headers)
    body = []
    for cells in zip(*columns, strict=True):
        tds = [f"<td class='{'num' if right[i] else ('key' if i == 0 else 'text')}' "
               f"data-label='{escape(headers[i] or ' ')}'>{escape(cell)}</td>"
               for i, cell in enumerate(cells)]  # fmt: skip
        body.append(f"<tr>{''.join(tds)}</tr>")
    title = f"<h3>{escape(plain(rich_table.title))}</h3>\n" if rich_table.title else ""
    caption = (f"<p class='caption'>{escape(plain(rich_table.caption))}</p>"
               if rich_table.caption else "")  # fmt: skip
    kind = "data cards" if len(headers) > CARDS else "data"
    return (f"{title}<div class='scroll'><table class='{kind}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>{caption}")  # fmt: skip


def warnings(warnings: Any) -> str:
    items = "".join(f"<li>{escape(printable(w))}</li>" for w in warnings)
    return f"<ul class='warnings warn'>{items}</ul>" if items else ""


def figure(svg: str, caption: str, wide: bool = False) -> str:
    """A chart and its caption; `wide` spans the page's width (the training curves)."""
    wide_class = " class='wide'" if wide else ""
    return f"<figure{wide_class}>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def environment(env: dict[str, Any]) -> str:
    """Where and how a folder was measured, and the exact command that made it."""
    cpu, gpus = env.get("cpu") or {}, env.get("gpus") or []
    versions = env.get("versions") or {}
    facts = [
        ("created (UTC)", env.get("created_utc")),
        ("host", env.get("hostname")),
        ("device", str(env.get("device") or "").removeprefix("device: ")),
        ("CPU", f"{cpu.get('model', '')}, {cpu.get('logical_cores', '?')} logical cores"
         if isinstance(cpu, dict) and cpu else None),
        ("GPUs", ", ".join(str(g.get("model", g)) if isinstance(g, dict) else str(g)
                           for g in gpus) if isinstance(gpus, list) else None),
        ("backend", env.get("backend")),
        ("versions", ", ".join(f"{k} {v}" for k, v in versions.items())
         if isinstance(versions, dict) else None),
        ("platform", env.get("platform")),
        ("data", (env.get("data") or {}).get("source") if isinstance(env.get("data"), dict)
         else None),
    ]  # fmt: skip
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(printable(v))}</dd>"
                   for k, v in facts if v not in (None, "", []))  # fmt: skip
    line = env.get("command_line")
    if isinstance(line, list) and line:
        command = shlex.join(printable(part) for part in line)
        rows += f"<dt>command</dt><dd><code>{escape(command)}</code></dd>"
    return f"<h3>Environment</h3><dl class='env'>{rows}</dl>" if rows else ""


RATIOS = (("ms_per_step_ratio", "train time/step"), ("time_ratio", "s/epoch (train+val)"),
          ("images_per_s_ratio", "train images/s"), ("latency_ratio", "latency, batch 1"),
          ("infer_images_per_s_ratio", "inference images/s"))  # fmt: skip


def _key(row: pd.Series) -> str:
    """What a row is beyond its model: its sweep point, or a bench's mode and batch."""
    if isinstance(row.get("point"), str) and row.get("point"):
        return printable(row["point"])
    if isinstance(row.get("mode"), str) and row.get("mode"):
        return f"{printable(row['mode'])}, batch {printable(row.get('batch_size'))}"
    return ""


def _label(*parts: str) -> str:
    return ": ".join(part for part in parts if part)


def interval_charts(rows: pd.DataFrame) -> list[str]:
    """Each model's time per step and best accuracy as bars with whiskers, and the
    separable/normal ratios and accuracy differences with their 95% intervals."""
    records = [row for _, row in rows.iterrows()]
    out = []
    steps = [charts.item(_label(_key(r), printable(r.get("model"))), r.get("ms_per_step"),
                         r.get("ms_per_step_low"), r.get("ms_per_step_high"),
                         str(r.get("model"))) for r in records]  # fmt: skip
    if steps := [s for s in steps if s]:
        out.append(figure(charts.bars(steps, "ms per training step", "Time per step"),
                           "median per model; whiskers: its range over steady epochs "
                           "(bench: over chunks)"))  # fmt: skip
    accuracy = [charts.item(_label(_key(r), printable(r.get("model"))), r.get("best_val_acc"),
                            r.get("best_val_acc_low"), r.get("best_val_acc_high"),
                            str(r.get("model"))) for r in records]  # fmt: skip
    if accuracy := [a for a in accuracy if a]:
        out.append(
            figure(
                charts.bars(accuracy, "best validation accuracy", "Accuracy"),
                "whiskers: 95% interval over the test images",
            )
        )
    separable = [r for r in records if r.get("model") == "separable"]
    ratios = [charts.item(_label(_key(r), name), r.get(column), r.get(f"{column}_low"),
                          r.get(f"{column}_high"), "separable")
              for r in separable for column, name in RATIOS]  # fmt: skip
    if ratios := [r for r in ratios if r]:
        out.append(figure(charts.forest(ratios, "separable / normal",
                                         "Ratios, 95% intervals", 1.0, log=True),
                           "below 1: separable takes less (time) or does less (images/s); "
                           "no whiskers: too few pairs for an interval"))  # fmt: skip
    differences = [charts.item(_key(r) or "separable − normal", r.get("acc_difference"),
                               r.get("acc_difference_low"), r.get("acc_difference_high"),
                               "separable") for r in separable]  # fmt: skip
    if differences := [d for d in differences if d]:
        out.append(
            figure(
                charts.forest(
                    differences,
                    "best val acc, separable − normal",
                    "Accuracy difference, 95% intervals",
                    0.0,
                    log=False,
                ),
                "an interval holding 0: the difference is not resolved",
            )
        )
    return out
