"""The tables dsbench prints of results: one model's epochs, many folders (report), a bench
and a run against its baseline (a comparison's own table is comparison.py's, a sweep's
sweep.py's, the models' models.py's). Each takes plain rows and returns a Rich Table;
terminal.py prints them."""

from __future__ import annotations

import math
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
