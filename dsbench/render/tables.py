"""The tables dsbench prints: models (summary, layers), one model's epochs, many folders
(report), a bench and a run against its baseline (a comparison's own table is comparison.py's,
a sweep's sweep.py's). Each takes plain rows and returns a Rich Table; render/__init__.py prints
them."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from dsbench.measure import stats
from dsbench.measure.summary import METRICS
from dsbench.render.comparison import cell, difference, outlier_note, time_ratio
from dsbench.render.format import (
    FORMATS,
    axis_value,
    count,
    fixed,
    format_interval,
    missing,
    printable,
    ratio,
    si,
    significant,
)

if TYPE_CHECKING:
    import pandas as pd

    from dsbench.measure.records import RunResult


def summary_table(models: Iterable[dict[str, Any]], title: str) -> Table:
    """A row per model: params, MACs and FLOPs per image, and both as ratios to normal."""
    table = Table(title=title, title_justify="left")
    table.add_column("model")
    for header in (
        "params",
        "MACs / image",
        "FLOPs / image (2xMACs)",
        "activations / image",
        "params vs normal",
        "MACs vs normal",
    ):
        table.add_column(header, justify="right", no_wrap=True)
    for row in models:
        table.add_row(
            row["model"],
            count(row["params"]),
            si(row["macs_per_image"]),
            si(row["flops_per_image"]),
            count(row["activations_per_image"]),
            ratio(row["params_ratio"]),
            ratio(row["macs_ratio"]),
        )
    return table


def layers_table(layers: Iterable[dict[str, Any]], kind: str, compact: bool = False) -> Table:
    """The per-layer breakdown of one model: output shape, params, MACs for one image and their
    share, each separable layer followed by its depthwise and pointwise halves; `compact`
    leaves out the type column (narrow terminals)."""
    rows = [row for row in layers if row["model"] == kind]
    table = Table(title=f"{kind} model, per layer (MACs for one image)", title_justify="left")
    headers = ["layer", "type", "output shape", "params", "MACs", "MACs share"]
    for header in headers if not compact else [h for h in headers if h != "type"]:
        table.add_column(header, justify="left" if header in ("layer", "type") else "right",
                         no_wrap=True)  # fmt: skip
    total = sum(r["macs"] for r in rows if r["macs"] is not None)

    def add(cells: list[str], style: str | None = None) -> None:
        table.add_row(*(cells[:1] + cells[2:] if compact else cells), style=style)

    halves = (("depthwise", "DepthwiseConv2D"), ("pointwise", "Conv2D 1x1"))
    for row in rows:
        counted = row["macs"] is not None
        share = f"{row['macs'] / total:.1%}" if total and counted else "–"
        add([row["layer"], row["type"] + (" *" if row.get("swapped") else ""), row["output_shape"],
             count(row["params"]), count(row["macs"]) if counted else "not counted", share])  # fmt: skip
        if row.get("made_of"):  # a dense twin's Conv2D, beside the layers it was made of
            add([f"  = {row['made_of']}", "", "", "", "", ""], style="dim")
        for half, label in halves if row.get("depthwise_macs") is not None else ():
            macs = row[f"{half}_macs"]
            add([f"  {half}", label, "", count(row[f"{half}_params"]), count(macs),
                 f"{macs / total:.1%}" if total else "–"], style="dim")  # fmt: skip
    table.add_section()
    add(["total", "", "", count(sum(r["params"] for r in rows)), count(total), "100%"])
    if any(row.get("depthwise_macs") is not None for row in rows):
        depthwise = sum(r.get("depthwise_macs") or 0 for r in rows)
        pointwise = sum(r.get("pointwise_macs") or 0 for r in rows)
        table.caption = (f"separable layers: depthwise {depthwise / total:.1%} of the MACs, "
                         f"pointwise {pointwise / total:.1%}; "
                         "the depthwise half does k x k MACs per value it reads, the pointwise "
                         "half as many as its output channels: fewer MACs, but more memory "
                         "traffic per MAC (docs/methodology.md)")  # fmt: skip
    notes = []
    if any(row.get("made_of") for row in rows):
        notes.append("* a Conv2D made of your network's depthwise separable layers (below it)")
    elif any(row.get("swapped") for row in rows):
        notes.append("* a Conv2D of your network, swapped for a SeparableConv2D in its twin")
    if any(row["macs"] is None for row in rows):
        notes.append("not counted: a layer type dsbench does not cost; the total leaves it out")
    if notes:
        table.caption = "; ".join([str(table.caption), *notes] if table.caption else notes)
    return table


def epoch_table(result: RunResult) -> Table:
    """One model's per-epoch figures; starred epochs traced the graph (epoch 1, and the first
    epoch after a resume)."""
    title = f"{result.model} (seed {result.seed}): per epoch, {result.steps_per_epoch} steps of {result.batch_size}"
    table = Table(title=title, title_justify="left")
    for header in ("epoch", "loss", "acc", "val_loss", "val_acc", "train s", "val s"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in result.epochs:
        table.add_row(
            str(row["epoch"]) + (" *" if row.get("includes_tracing", row["epoch"] == 1) else ""),
            fixed(4)(row["loss"]),
            fixed(4)(row["accuracy"]),
            fixed(4)(row["val_loss"]),
            fixed(4)(row["val_accuracy"]),
            fixed(2)(row["train_s"]),
            fixed(2)(row["val_s"]),
        )
    table.caption = "* epoch 1 includes graph tracing (and XLA compilation when on)"
    if any(row.get("includes_tracing") and row["epoch"] > 1 for row in result.epochs):
        table.caption += "; so does the first epoch after a resume"
    if result.status != "complete":
        table.caption += f"; run {result.status} after {len(result.epochs)} epochs"
    return table


# Ratios of counted figures (exact: three digits); every other ratio is a measurement.
# Ratios with no interval of their own, resolved as far as this timing ratio is.


# What tells a report's rows apart besides run and model: a sweep's point, a bench's mode and
# batch size (shown where they differ between rows).
POINT_KEYS = ("point", "mode", "batch_size")
KEY_HEADERS = {"batch_size": "batch"}


def report_keys(rows: pd.DataFrame) -> list[str]:
    """The leading columns of report_table that say what a row is: run, then a point, mode or
    batch size where rows differ in them, then model."""
    varying = [k for k in POINT_KEYS
               if k in rows.columns and rows[k].astype(str).nunique(dropna=False) > 1]  # fmt: skip
    return ["run", *varying, "model"]


def report_table(rows: pd.DataFrame, compact: bool = False) -> Table:
    """Several results folders at once: a row per run folder and model; `compact` names the
    context every row shares in the title instead of a column, and puts a ratio's interval
    under it (narrow terminals)."""
    context = [c for c in ("dataset", "epochs", "backend", "device") if c in rows.columns]
    if not compact and "network" in rows.columns and rows["network"].nunique() > 1:
        context.insert(0, "network")  # your --arch beside other networks (exports always say)
    shared = [c for c in context if compact and rows[c].astype(str).nunique() == 1]
    context = [c for c in context if c not in shared]
    title = "dsbench results" + "".join(f", {printable(axis_value(rows[c].iloc[0]))}"
                                        for c in shared)  # fmt: skip
    table = Table(title=title, title_justify="left")
    keys = report_keys(rows)
    for key in keys:
        table.add_column(KEY_HEADERS.get(key, key))
    for column in context:
        table.add_column(column, no_wrap=False)
    columns = [m for m in METRICS if m.short is not None]
    for metric in columns:
        table.add_column(str(metric.short), justify="right", no_wrap=True)
    table.add_column("S/N ms/step", justify="right", no_wrap=True)
    for _, row in rows.iterrows():
        shown = time_ratio(row)
        if compact:
            shown = shown.replace(" [", "\n[").replace(" (", "\n(")
        table.add_row(
            *[Text(printable("–" if missing(row[k]) else axis_value(row[k]))) for k in keys],
            *[Text(printable("–" if missing(row[c]) else axis_value(row[c]))) for c in context],
            *[cell(row, m.column, FORMATS[m.form]) if m.column in row else "–" for m in columns],
            shown,
        )
    table.caption = ("S/N ms/step: the separable/normal time-per-step ratio with its 95% "
                     "interval, on the separable row (each row's interval 95% on its own)")  # fmt: skip
    return table


def bench_table(rows: pd.DataFrame, title: str, between_runs_sd: float | None = None) -> Table:
    """A row per mode and batch size: both models' median ms/step (range), images/s, est.
    GFLOP/s, and the separable/normal time ratio with its 95% interval (widened by
    `between_runs_sd`, the spread between runs; None: a folder from before it was)."""
    table = Table(title=title, title_justify="left")
    for header in ("mode", "batch", "normal ms/step", "separable ms/step", "img/s N / S",
                   "est. GFLOP/s N / S", "separable / normal time", "pairs", "in target"):  # fmt: skip
        table.add_column(header, justify="left" if header == "mode" else "right", no_wrap=True)
    for row in rows.to_dict(orient="records"):

        def ms(kind: str, r: dict[str, Any] = row) -> str:
            low, high = r[f"{kind}_ms_per_step_low"], r[f"{kind}_ms_per_step_high"]
            return f"{r[f'{kind}_ms_per_step']:.2f} ({low:.2f}–{high:.2f})"

        interval = stats.Interval(row["ratio"], row["ratio_low"], row["ratio_high"], row["pairs"])
        table.add_row(
            row["mode"], str(row["batch_size"]), ms("normal"), ms("separable"),
            f"{row['normal_images_per_s']:,.0f} / {row['separable_images_per_s']:,.0f}",
            f"{row['normal_est_gflop_per_s']:.1f} / {row['separable_est_gflop_per_s']:.1f}",
            format_interval(interval), str(row["pairs"]),
            "yes" if row["target_reached"] else "no",
        )  # fmt: skip
    processes = int(rows["processes"].max()) if "processes" in rows else 1
    unit = (f"95% interval over {processes} fresh processes, Student's t on their ratios"
            if processes > 1 else "95% interval over this process's pairs")  # fmt: skip
    if between_runs_sd:
        unit += (f", widened by the spread between runs at different times (sd {between_runs_sd:g}"
                 " of the log, --between-runs-sd)")  # fmt: skip
    elif processes == 1:
        unit += "; separate processes vary more"
    point = ("the median of the processes' medians of adjacent chunk pairs" if processes > 1
             else "the geometric mean of adjacent chunk pairs")  # fmt: skip
    table.caption = (
        "medians over chunks of steps, timed in alternating order (N S S N ...); the ratio is "
        f"{point} [{unit}]; GFLOP/s are nominal (6 x MACs per image for train, 2 x MACs for "
        "infer)"
    ) + ("; each row's interval is 95% on its own" if len(rows) > 1 else "")
    if processes > 1:
        table.caption += "; ms/step: median of the processes' medians (range over all)"
    records = rows.to_dict(orient="records")
    table.caption += outlier_note(
        {kind: (sum(r.get(f"{kind}_outliers", math.nan) for r in records),
                sum(r["pairs"] for r in records)) for kind in ("normal", "separable")},
        "chunks",
    )  # fmt: skip
    return table


def baseline_value(row: dict[str, Any], column: str, compact: bool = False) -> str:
    """A baseline row's old or new figure: an accuracy with 4 decimals, a count whole (with an
    SI prefix from a million on when `compact`), anything else with 3 decimals."""
    value = row[column]
    if missing(value):
        return "–"
    if row["unit"] == "new − old":
        return fixed(4)(value)
    if compact and value >= 1e6:
        return si(value)
    return count(value) if value >= 1000 else fixed(3)(value)


def change_text(row: dict[str, Any]) -> str:
    """A baseline row's change: the accuracy difference or the new/old ratio, with its 95%
    interval where it has one."""
    change, low, high = row["change"], row["change_low"], row["change_high"]
    if missing(change):
        text = "–"
    elif row["unit"] == "new − old":
        text = difference(change, low, high)
    elif row["unit"] == "exact":
        text = ratio(change)
    elif missing(low):
        text = significant(change, stats.Interval(change, 0.0, 2 * change, 1))
    else:
        text = format_interval(stats.Interval(change, low, high, 2))
    return text.replace("-", "−")


def baseline_table(rows: pd.DataFrame, title: str, compact: bool = False) -> Table:
    """A run against its baseline (baseline.compare): a row per figure and model, old, new,
    the change with its 95% interval, and the verdict; `compact` puts the interval under the
    change (narrow terminals)."""
    table = Table(title=title, title_justify="left")
    headers = ("figure", "baseline", "new", "change [95% interval]", "verdict")
    for header in ("figure", "old", "new", "change", "verdict") if compact else headers:
        left = header in ("figure", "verdict")
        table.add_column(header, justify="left" if left else "right",
                         no_wrap=not left or (not compact and header == "verdict"))  # fmt: skip
    for row in rows.to_dict(orient="records"):
        text = change_text(row)
        figure = str(row["figure"])
        figure = figure if figure.startswith("separable/normal") else f"{row['model']}: {figure}"
        table.add_row(figure, baseline_value(row, "old", compact),
                      baseline_value(row, "new", compact),
                      text.replace(" [", "\n[") if compact else text, row["verdict"])  # fmt: skip
    samples = rows["unit"].str.extract(r"\d+ (steady epochs|processes)")[0].dropna()
    table.caption = (f"change: new/old, timing with Welch's t on the logs of "
                     f"{samples.iloc[0] if len(samples) else 'the samples'} plus how much whole "
                     "runs move on this machine; new − old for accuracy, Newcombe's interval; "
                     "each interval 95% on its own; a verdict only where the rows tested "
                     "together (Holm, 5% family-wise) reject no change")  # fmt: skip
    return table
