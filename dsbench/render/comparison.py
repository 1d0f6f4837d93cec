"""A comparison as a table: a row per figure, normal and separable side by side, the
separable/normal ratio with how sure it is (or why it is not resolved), and its verdict line."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.table import Table

from dsbench.measure import stats
from dsbench.measure.comparison import RATIOS, separable_over_normal
from dsbench.measure.summary import METRICS
from dsbench.render.format import (
    FORMATS,
    format_interval,
    missing,
    plural,
    ratio,
    significant,
)

if TYPE_CHECKING:
    import pandas as pd


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


EXACT = ("params", "macs_per_image", "model_file_bytes")


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
        low, high = (significant(v, interval) for v in (interval.low, interval.high))
        return f"{low}–{high}, not resolved"
    return ""


def whole_epochs(separable: pd.Series) -> str:
    """The time-to-accuracy ratio as far as whole epochs tell (measure/comparison.target_bracket): the
    range, never a point; 'not resolved' when the range is unbounded."""
    low, high = (separable.get(f"time_to_target_ratio_{side}") for side in ("low", "high"))
    if missing(low) or missing(high) or not math.isfinite(float(high)):
        return "not resolved (whole-epoch bounds)"
    interval = stats.Interval(float(low), float(low), float(high), 1)
    return f"{significant(float(low), interval)}–{significant(float(high), interval)} (whole-epoch bounds)"


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
    by_model = summary.set_index("model")
    return _ratio_cell(by_model, separable_over_normal(by_model), column)


def _ratio_cell(by_model: pd.DataFrame, ratios: dict[str, float], column: str) -> str:
    """ratio_cell with the frame indexed by model and its ratios computed once per table."""
    name = RATIOS.get(column, "")
    value = ratios.get(name, math.nan)
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
        return significant(value, stats.Interval(value, 0.0, 2 * value, 1))  # 2 digits
    if why := resolution(interval):
        return "not resolved" if column in RESOLVED_BY else why
    if column in RESOLVED_BY:
        return significant(value, interval)
    return format_interval(interval)


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
    by_model = summary.set_index("model")
    ratios = separable_over_normal(by_model) if show_ratio else {}
    for metric in METRICS:
        column, label, fmt = metric.column, metric.label, FORMATS[metric.form]
        if label is None or column not in summary.columns or summary[column].isna().all():
            continue
        if column == "time_to_target_s":
            target = float(summary["target_val_acc"].iloc[0])
            label = f"time to {target:.1%} val acc, train s (whole epochs, no tracing)"
        cells = [cell(rows[kind], column, fmt, spread=not compact) for kind in kinds]
        if show_ratio:
            text = _ratio_cell(by_model, ratios, column)
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
        parts.append(f"time/step {why}" if why else f"{format_interval(timing)} time/step")
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
    return "" if interval is None else resolution(interval) or format_interval(interval)


def comparison_title(command: str, dataset: str, epochs: Any, batch_size: Any) -> str:
    """The title of a comparison table."""
    epochs_text = plural(epochs, "epoch") if isinstance(epochs, int) else f"{epochs} epochs"
    return f"dsbench {command}: {dataset}, {epochs_text}, batch {batch_size}"
