"""The tables dsbench prints: models (summary, layers), one model's epochs, a comparison (and
its verdict line), many folders (report), a sweep and a bench. Each takes plain rows and
returns a Rich Table; render/__init__.py prints them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from dsbench.measure import stats
from dsbench.measure.figures import RATIOS, separable_over_normal
from dsbench.measure.results import METRICS
from dsbench.render.format import (
    FORMATS,
    axis_value,
    count,
    fixed,
    missing,
    plural,
    printable,
    ratio,
    si,
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
    if any(row.get("swapped") for row in rows):
        notes.append("* a Conv2D of your network, swapped for a SeparableConv2D in its twin")
    if any(row["macs"] is None for row in rows):
        notes.append("not counted: a layer type dsbench does not cost; the total leaves it out")
    if notes:
        table.caption = "; ".join([str(table.caption), *notes] if table.caption else notes)
    return table


# ---------------------------------------------------------------- training results


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


def cell(row: pd.Series, column: str, fmt: Callable[[Any], str], spread: bool = False) -> str:
    value = row.get(column, math.nan)
    if column == "status" and value == "diverged" and not missing(row.get("diverged_epoch")):
        return f"diverged at epoch {int(row['diverged_epoch'])}"
    if column == "epochs_to_target" and missing(value) and not missing(row.get("best_val_acc")):
        return "not reached"
    text = fmt(value)
    std = row.get(f"{column}_std", math.nan)
    if not missing(std) and text != "–":
        text += f" ± {fmt(std)}"
    low, high = row.get(f"{column}_low", math.nan), row.get(f"{column}_high", math.nan)
    # (a "range" of one value says nothing: it is left out)
    shown = spread and text != "–" and not missing(low) and not missing(high)
    if shown and fmt(low) != fmt(high):
        text += f" ({fmt(low)}–{fmt(high)})"
    return text


# Ratios of counted figures (exact: three digits); every other ratio is a measurement.
EXACT = ("params", "macs_per_image", "model_file_bytes")
# Ratios with no interval of their own, resolved as far as this timing ratio is.
RESOLVED_BY = {"est_train_gflop_per_s": "ms_per_step_ratio"}


def _interval(separable: pd.Series, name: str) -> stats.Interval | None:
    """The paired interval of ratio `name` on the separable row, None where none was measured."""
    if missing(separable.get(f"{name}_n", math.nan)):
        return None
    processes = separable.get("processes", 1)
    unit = "processes" if not missing(processes) and int(processes) > 1 else "paired epochs"
    value, low, high = (math.nan if missing(v) else float(v)
                        for v in (separable.get(k) for k in (name, f"{name}_low", f"{name}_high")))  # fmt: skip
    return stats.Interval(value, low, high, int(separable[f"{name}_n"]), unit)


def resolution(interval: stats.Interval) -> str:
    """'' when the interval resolves its ratio, else why not: fewer than three pairs, or wider
    than ±15% ('0.2x–0.5x, not resolved')."""
    if interval.n < stats.MIN_STEADY or not math.isfinite(interval.low):
        unit = "process" if interval.unit == "processes" else "pair"
        counted = (
            f"{interval.n} {unit}{'' if interval.n == 1 else 'es' if unit == 'process' else 's'}"
        )
        return f"not resolved ({counted})"
    if interval.half_width > stats.INTERVAL_LIMIT:
        low, high = (stats.significant(v, interval) for v in (interval.low, interval.high))
        return f"{low}–{high}, not resolved"
    return ""


def whole_epochs(separable: pd.Series) -> str:
    """The time-to-accuracy ratio as far as whole epochs tell (figures.target_bracket): the
    range, never a point; 'not resolved' when the range is unbounded."""
    low, high = (separable.get(f"time_to_target_ratio_{side}") for side in ("low", "high"))
    if missing(low) or missing(high) or not math.isfinite(float(high)):
        return "not resolved (whole-epoch bounds)"
    interval = stats.Interval(float(low), float(low), float(high), 1)
    return f"{stats.significant(float(low), interval)}–{stats.significant(float(high), interval)} (whole-epoch bounds)"


def accuracy_difference(separable: pd.Series) -> str:
    """Separable minus normal best val acc with its 95% interval ('diff −0.141 [−0.225,
    −0.057]'), and ', not resolved' when the interval holds 0; '' when none was computed."""
    value, low, high = (separable.get(k) for k in ("acc_difference", "acc_difference_low",
                                                   "acc_difference_high"))  # fmt: skip
    if missing(value) or missing(low) or missing(high):
        return ""
    text = f"diff {difference(value, low, high)}"
    return text + (", not resolved" if float(low) <= 0 <= float(high) else "")


def difference(value: Any, low: Any = None, high: Any = None) -> str:
    """An accuracy difference, signed, with its interval when there is one: '+0.150 [+0.034,
    +0.260]' (minus signs as '−')."""
    text = f"{float(value):+.3f}"
    if not (missing(low) or missing(high)):
        text += f" [{float(low):+.3f}, {float(high):+.3f}]"
    return text.replace("-", "−")


def ratio_cell(summary: pd.DataFrame, column: str) -> str:
    """The separable/normal cell of `column`, with no more digits than it has: counted figures
    exactly, a paired ratio with its 95% interval (or why it is not resolved), any other
    measured ratio with two significant digits."""
    name = RATIOS.get(column, "")
    by_model = summary.set_index("model")
    value = separable_over_normal(by_model).get(name, math.nan)
    if missing(value):
        return ""
    if column in EXACT:
        return ratio(value)
    separable = by_model.loc["separable"]
    if column == "time_to_target_s":
        return whole_epochs(separable)
    if column == "best_val_acc":
        return accuracy_difference(separable)
    interval = _interval(separable, RESOLVED_BY.get(column, name))
    if interval is None:
        return stats.significant(value, stats.Interval(value, 0.0, 2 * value, 1))  # 2 digits
    if why := resolution(interval):
        return "not resolved" if column in RESOLVED_BY else why
    if column in RESOLVED_BY:
        return stats.significant(value, interval)
    return stats.format_interval(interval)


def compare_table(summary: pd.DataFrame, title: str, compact: bool = False) -> Table:
    """Metrics as rows, one column per model, and separable/normal where a ratio means something;
    `compact` leaves out the ranges and puts intervals under their ratio (narrow terminals)."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for row in summary.itertuples():
        table.add_column(str(row.model), justify="right", no_wrap=True)
    kinds = list(summary["model"])
    show_ratio = {"normal", "separable"} <= set(kinds)
    if show_ratio:
        table.add_column("separable / normal", justify="right", no_wrap=True)
    rows = {kind: summary[summary["model"] == kind].iloc[0] for kind in kinds}
    for metric in METRICS:
        column, label, fmt = metric.column, metric.label, FORMATS[metric.form]
        if label is None or column not in summary.columns or summary[column].isna().all():
            continue
        if column == "time_to_target_s":
            target = float(summary["target_val_acc"].iloc[0])
            label = f"time to {target:.1%} val acc, train s (whole epochs, no tracing)"
        cells = [cell(rows[kind], column, fmt, spread=not compact) for kind in kinds]
        if show_ratio:
            text = ratio_cell(summary, column)
            cells.append(text.replace(" [", "\n[") if compact else text)
        table.add_row(label, *cells)
    runs = int(summary["runs"].max()) if "runs" in summary.columns else 1
    processes = int(summary["processes"].max()) if "processes" in summary.columns else 1
    seeds = "seeds differ" if runs > processes else "same seeds"
    table.caption = (
        f"means ± std over {runs} runs ({seeds})" if runs > 1 else "from 1 run per model"
    ) + "; time columns are wall-clock on this machine"
    if show_ratio:
        unit = (f"over {processes} fresh processes, each one value" if processes > 1
                else "from this run's epochs; separate runs vary more")  # fmt: skip
        table.caption += (
            "; timing ratios: median of per-epoch paired ratios"
            f" [95% interval {unit}, each interval 95% on its own: docs/methodology.md]"
        )
    table.caption += outlier_note(
        {row["model"]: (row.get("steady_outliers"), row.get("steady_epochs"))
         for row in summary.to_dict(orient="records")}, "steady epochs"
    )  # fmt: skip
    if "steady_epoch_s" not in summary.columns or summary["steady_epoch_s"].isna().all():
        resumed = "epochs_completed" in summary.columns and (summary["epochs_completed"] >= 2).any()
        table.caption += (
            "; no steady epoch: epoch 1 and the first epoch after a resume traced the graph"
            if resumed
            else "; steady-state figures need --epochs >= 2"
        )
    if (
        "est_train_gflop_per_s" in summary.columns
        and summary["est_train_gflop_per_s"].notna().any()
    ):
        table.caption += (
            "; * nominal work per second, not executed FLOPs: convolution libraries (oneDNN,"
            " cuDNN) may run 3x3 convolutions with fewer multiplies (Winograd), so it can exceed"
            " the matmul rate"
        )
    return table


def outlier_note(counts: dict[str, tuple[Any, Any]], what: str) -> str:
    """'; steady epochs beyond Tukey's fences: normal 1 of 9, separable 0 of 9' (from 4 times
    a model on: fewer have no quartiles to speak of); '' when none has that many."""
    shown = [f"{model} {int(outliers)} of {int(n)}" for model, (outliers, n) in counts.items()
             if not missing(outliers) and not missing(n) and int(n) >= 4]  # fmt: skip
    return f"; {what} beyond Tukey's fences (1.5 IQR): {', '.join(shown)}" if shown else ""


def verdict(summary: pd.DataFrame) -> str:
    """One line above the table saying only what the run resolved, e.g. 'separable vs normal:
    0.147x params, 0.120x MACs, 0.36x [0.33, 0.40] time/step, best val acc 0.712 vs 0.701
    (difference not resolved)'."""
    if not {"normal", "separable"} <= set(summary["model"]):
        return ""
    by_model = summary.set_index("model")
    parts = [
        f"{ratio_cell(summary, 'params')} params",
        f"{ratio_cell(summary, 'macs_per_image')} MACs",
    ]
    timing = _interval(by_model.loc["separable"], "ms_per_step_ratio")
    if timing is not None:
        why = resolution(timing)
        parts.append(f"time/step {why}" if why else f"{stats.format_interval(timing)} time/step")
    acc = by_model.get("best_val_acc")
    if acc is not None and acc.notna().all():
        text = f"best val acc {acc['separable']:.3f} vs {acc['normal']:.3f}"
        difference = accuracy_difference(by_model.loc["separable"])
        if difference.endswith("not resolved"):
            text += " (difference not resolved)"
        elif difference:
            text += f" (difference {difference.removeprefix('diff ')})"
        parts.append(text)
    return "separable vs normal: " + ", ".join(parts)


def time_ratio(row: pd.Series) -> str:
    """A report row's separable/normal ms/step ratio: with its 95% interval, or why it is not
    resolved; '' on a normal row (or where none was measured)."""
    interval = _interval(row, "ms_per_step_ratio")
    return "" if interval is None else resolution(interval) or stats.format_interval(interval)


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


def sweep_table(rows: pd.DataFrame, ratios: pd.DataFrame, title: str) -> Table:
    """A row per sweep point: both models' figures and the separable/normal ratios."""
    table = Table(title=title, title_justify="left")
    trained = "steady_epoch_s" in rows.columns

    def present(axes: tuple[str, ...]) -> list[str]:  # your own --arch has only those given
        return [axis for axis in axes if axis in ratios.columns and ratios[axis].notna().any()]

    model_axes, training = present(("kernel_size", "width")), present(("backend", "batch_size",
                                                                        "precision"))  # fmt: skip
    blocks = "scaled_blocks" in rows.columns and rows["scaled_blocks"].notna().any()
    names = {"kernel_size": "kernel", "width": "width", "backend": "backend",
             "batch_size": "batch", "precision": "precision"}  # fmt: skip
    headers = [*(names[a] for a in model_axes), *(["blocks"] if blocks else []),
               *(names[a] for a in training), "params N / S", "MACs N / S"]  # fmt: skip
    if trained:
        headers += ["steady s/epoch N / S", "best val acc N / S"]
    headers += ["params ratio", "MACs ratio"] + (["time ratio", "acc S − N"] if trained else [])
    for header in headers:
        left = header in ("blocks", "backend", "precision")
        table.add_column(header, justify="left" if left else "right", no_wrap=True)
    for ratio_row in ratios.itertuples():
        group = rows[rows["point"] == ratio_row.point].set_index("model")
        normal, separable = group.loc["normal"], group.loc["separable"]

        def pair(
            column: str, fmt: Callable[[Any], str], n: Any = normal, s: Any = separable
        ) -> str:
            return f"{cell(n, column, fmt)} / {cell(s, column, fmt)}"

        cells: list[str | Text] = [
            *(axis_value(getattr(ratio_row, axis)) for axis in model_axes),
            *([Text(printable(normal["scaled_blocks"]))] if blocks else []),
            *(Text(printable(axis_value(getattr(ratio_row, axis)))) for axis in training),
            pair("params", count),
            pair("macs_per_image", si),
        ]
        if trained:
            cells += [pair("steady_epoch_s", fixed(2)), pair("best_val_acc", fixed(4))]
        cells += [ratio(ratio_row.params_ratio), ratio(ratio_row.macs_ratio)]
        if trained:  # as compare shows them: with their intervals, or why not resolved
            point = rows[rows["point"] == ratio_row.point]
            cells += [ratio_cell(point, "steady_epoch_s"),
                      ratio_cell(point, "best_val_acc").removeprefix("diff ")]  # fmt: skip
        table.add_row(*cells)
    table.caption = "N = normal, S = separable; ratios are separable / normal" + (
        "; time ratio and acc S − N with their 95% intervals, each 95% on its own"
        if trained
        else ""
    )
    return table


def comparison_title(command: str, dataset: str, epochs: Any, batch_size: Any) -> str:
    """The title of a comparison table."""
    epochs_text = plural(epochs, "epoch") if isinstance(epochs, int) else f"{epochs} epochs"
    return f"dsbench {command}: {dataset}, {epochs_text}, batch {batch_size}"


def sweep_title(points: int, summary_only: bool, dataset: str, epochs: int, batch: int) -> str:
    """The title of a sweep table."""
    if summary_only:
        return f"dsbench sweep: {points} points (params and MACs only)"
    return f"dsbench sweep: {plural(points, 'point')}, {dataset}, {plural(epochs, 'epoch')}, batch {batch}"


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
            stats.format_interval(interval), str(row["pairs"]),
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
        text = stats.significant(change, stats.Interval(change, 0.0, 2 * change, 1))
    else:
        text = stats.format_interval(stats.Interval(change, low, high, 2))
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
