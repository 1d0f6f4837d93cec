"""Rich tables and live progress. With cli.py, the only module that talks to the terminal."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from dsbench.observer import Observer

if TYPE_CHECKING:
    import pandas as pd

    from dsbench.records import RunResult


# ---------------------------------------------------------------- number formats


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# Control characters (terminal escape sequences among them) and bidirectional overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: Any) -> str:
    """Text read from a file or a path, safe on any terminal: control characters (escape
    sequences) become '?', bytes that are not UTF-8 become '?'."""
    return _CONTROL.sub("?", str(text).encode("utf-8", "replace").decode("utf-8"))


def inert(text: Any) -> str:
    """`printable` text for a place where Rich reads markup: '[' is shown, not interpreted."""
    return escape(printable(text))


def count(value: Any) -> str:
    """1186378 -> '1,186,378'."""
    return "–" if _missing(value) else f"{int(value):,}"


def millions(value: Any) -> str:
    """152828928 -> '152.83 M'."""
    return "–" if _missing(value) else f"{value / 1e6:,.2f} M"


def fixed(digits: int) -> Callable[[Any], str]:
    """A formatter with `digits` decimals."""
    return lambda value: "–" if _missing(value) else f"{value:,.{digits}f}"


def epoch_number(value: Any) -> str:
    """An epoch number: 3 -> '3'; a mean over repeats keeps one decimal: 2.5 -> '2.5'."""
    if _missing(value):
        return "–"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def percent(value: Any) -> str:
    """0.423 -> '42%'."""
    return "–" if _missing(value) else f"{value:.0%}"


def plural(n: int, word: str) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def ratio(value: Any) -> str:
    """0.1473 -> '0.147x'."""
    return "–" if _missing(value) else f"{value:.3f}x"


# ---------------------------------------------------------------- fitting the terminal


def fits(console: Console, table: Table) -> bool:
    """Whether `table`, drawn at the console's width, shows every figure and row name whole."""
    import io

    cells = [[str(cell) for cell in column._cells] for column in table.columns]
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
    does, else one small field/value table per row, stacked: no figure is ever cut ('1,1…')."""
    from rich.console import Group

    for candidate in (table, *narrower):
        if fits(console, candidate):
            return candidate
    headers = [str(column.header) for column in table.columns]
    cells = [[str(cell) for cell in column._cells] for column in table.columns]
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


# ---------------------------------------------------------------- summary


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
            millions(row["macs_per_image"]),
            millions(row["flops_per_image"]),
            count(row["activations_per_image"]),
            ratio(row["params_ratio"]),
            ratio(row["macs_ratio"]),
        )
    return table


def layers_table(layers: Iterable[dict[str, Any]], kind: str) -> Table:
    """The per-layer breakdown of one model: output shape, params and MACs for one image."""
    rows = [row for row in layers if row["model"] == kind]
    table = Table(title=f"{kind} model, per layer (MACs for one image)", title_justify="left")
    for header, justify in (
        ("layer", "left"),
        ("type", "left"),
        ("output shape", "right"),
        ("params", "right"),
        ("MACs", "right"),
    ):
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(
            row["layer"], row["type"], row["output_shape"], count(row["params"]), count(row["macs"])
        )
    table.add_section()
    table.add_row(
        "total", "", "", count(sum(r["params"] for r in rows)), count(sum(r["macs"] for r in rows))
    )
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


# (label, column, formatter); the ratio column shows records.RATIOS where a ratio means something
COMPARE_ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("status", "status", str),
    ("parameters", "params", count),
    ("MACs / image (forward)", "macs_per_image", millions),
    ("first epoch s (train+val, incl. tracing)", "first_epoch_s", fixed(2)),
    ("steady-state s/epoch (train+val; median, range)", "steady_epoch_s", fixed(2)),
    ("steady-state train ms/step (median, range)", "ms_per_step", fixed(1)),
    ("train images/s (steady state; median, range)", "train_images_per_s", fixed(0)),
    ("est. train GFLOP/s (nominal: 6 x MACs x images/s) *", "est_train_gflop_per_s", fixed(1)),
    ("  as share of the measured matmul rate", "gflop_share_of_probe", percent),
    ("matmul probe GFLOP/s (best before an epoch)", "probe_gflop_per_s", fixed(0)),
    ("peak GPU memory in an epoch, MiB", "device_peak_mib", fixed(0)),
    ("best val acc", "best_val_acc", fixed(4)),
    ("epoch of best val acc", "best_epoch", epoch_number),
    ("final val acc", "final_val_acc", fixed(4)),
    ("overfit: train - val acc at best epoch", "overfit_gap", fixed(4)),
    ("time to target val acc, train s", "time_to_target_s", fixed(1)),
    ("epochs to target val acc", "epochs_to_target", epoch_number),
    ("inference latency, batch 1, median ms", "latency_b1_ms", fixed(2)),
    ("inference latency, batch 1, p90 ms", "latency_b1_p90_ms", fixed(2)),
    ("inference images/s, batch 256", "infer_images_per_s", fixed(0)),
    (".keras size, weights + architecture (no optimizer), bytes", "model_file_bytes", count),
)


def _cell(row: pd.Series, column: str, fmt: Callable[[Any], str], spread: bool = False) -> str:
    value = row.get(column, math.nan)
    if column == "status" and value == "diverged" and not _missing(row.get("diverged_epoch")):
        return f"diverged at epoch {int(row['diverged_epoch'])}"
    if column == "epochs_to_target" and _missing(value) and not _missing(row.get("best_val_acc")):
        return "not reached"
    text = fmt(value)
    std = row.get(f"{column}_std", math.nan)
    if not _missing(std) and text != "–":
        text += f" ± {fmt(std)}"
    low, high = row.get(f"{column}_low", math.nan), row.get(f"{column}_high", math.nan)
    # (a "range" of one value says nothing: it is left out)
    shown = spread and text != "–" and not _missing(low) and not _missing(high)
    if shown and fmt(low) != fmt(high):
        text += f" ({fmt(low)}–{fmt(high)})"
    return text


def ratio_cell(summary: pd.DataFrame, column: str) -> str:
    """The separable/normal cell of `column`: a paired median with its 95% interval where one
    was measured, else the plain ratio of the two figures."""
    from dsbench import stats
    from dsbench.records import RATIOS, separable_over_normal

    name = RATIOS.get(column, "")
    by_model = summary.set_index("model")
    value = separable_over_normal(by_model).get(name, math.nan)
    if _missing(value):
        return ""
    separable = by_model.loc["separable"]
    low, high = separable.get(f"{name}_low", math.nan), separable.get(f"{name}_high", math.nan)
    if _missing(low) or _missing(high):
        return stats.significant(value)
    n = separable.get(f"{name}_n", 0)
    n = 0 if _missing(n) else int(n)
    return stats.format_interval(stats.Interval(value, low, high, n))


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
    for label, column, fmt in COMPARE_ROWS:
        if column not in summary.columns or summary[column].isna().all():
            continue
        if column == "time_to_target_s":
            target = float(summary["target_val_acc"].iloc[0])
            label = f"time to {target:.1%} val acc, train s (incl. tracing)"
        cells = [_cell(rows[kind], column, fmt, spread=not compact) for kind in kinds]
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
            f" [95% interval {unit}: docs/methodology.md]"
        )
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
            "; * nominal work per second, not executed FLOPs: oneDNN may run 3x3 convolutions"
            " with fewer multiplies (Winograd), so it can exceed the matmul rate"
        )
    return table


def verdict(summary: pd.DataFrame) -> str:
    """One line above the table: what separable buys and costs, e.g. 'separable vs normal:
    0.15x params, 0.12x MACs, 0.36x time/step [0.33, 0.40], best val acc 0.712 vs 0.701'."""
    if not {"normal", "separable"} <= set(summary["model"]):
        return ""
    by_model = summary.set_index("model")
    parts = [
        f"{ratio_cell(summary, 'params')} params",
        f"{ratio_cell(summary, 'macs_per_image')} MACs",
    ]
    if "ms_per_step" in by_model and not _missing(by_model.loc["separable", "ms_per_step"]):
        parts.append(f"{ratio_cell(summary, 'ms_per_step')} time/step")
    acc = by_model.get("best_val_acc")
    if acc is not None and acc.notna().all():
        parts.append(f"best val acc {acc['separable']:.3f} vs {acc['normal']:.3f}")
    if "time_to_target_s" in by_model and by_model["time_to_target_s"].notna().all():
        target = float(by_model["target_val_acc"].iloc[0])
        parts.append(f"{ratio_cell(summary, 'time_to_target_s')} time to {target:.1%} val acc")
    return "separable vs normal: " + ", ".join(parts)


REPORT_COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("params", "params", count),
    ("MACs/img", "macs_per_image", millions),
    ("first ep s", "first_epoch_s", fixed(2)),
    ("steady s/ep", "steady_epoch_s", fixed(2)),
    ("ms/step", "ms_per_step", fixed(1)),
    ("img/s", "train_images_per_s", fixed(0)),
    ("best val acc", "best_val_acc", fixed(4)),
    ("best ep", "best_epoch", epoch_number),
    ("overfit", "overfit_gap", fixed(4)),
    ("b1 ms", "latency_b1_ms", fixed(2)),
    ("runs", "runs", count),
    ("status", "status", str),
)


def report_table(rows: pd.DataFrame) -> Table:
    """Several results folders at once: a row per run folder and model."""
    table = Table(title="dsbench results", title_justify="left")
    table.add_column("run")
    table.add_column("model")
    for header, _, _ in REPORT_COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    for _, row in rows.iterrows():
        table.add_row(
            Text(printable(row["run"])),
            Text(printable(row["model"])),
            *[
                _cell(row, column, fmt) if column in row else "–"
                for _, column, fmt in REPORT_COLUMNS
            ],
        )
    return table


# ---------------------------------------------------------------- live progress


class RichObserver(Observer):
    """Progress bars per model and epoch (and over sweep points), a line per epoch, and each
    model's per-epoch table. The bars show only when `show_progress` (a terminal)."""

    def __init__(self, console: Console, show_progress: bool) -> None:
        self.console = console
        self.progress: Progress | None = None
        if show_progress:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[metrics]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self.progress.start()
        self.wants_batches = self.progress is not None
        self.done: dict[str, int] = {}  # epochs finished per model, for the time estimate
        self.last_s: dict[str, float] = {}
        self.estimated = False
        self.repeat, self.repeats = 0, 1
        self.process, self.processes = 0, 1
        self.run_task: TaskID | None = None
        self.task: TaskID | None = None
        self.overall: TaskID | None = None
        self.epochs = 0
        self.steps = 0

    def close(self) -> None:
        """Stop the live display (call once, when all training is over)."""
        if self.progress:
            self.progress.stop()
            self.progress = None

    def device(self, line: str) -> None:
        self.console.print(inert(line))

    def decoding(self, done: int, total: int) -> None:
        if self.progress is None:
            return
        if self.task is None:
            self.task = self.progress.add_task("decoding images", total=total, metrics="")
        self.progress.update(self.task, completed=done)
        if done >= total:
            self.progress.remove_task(self.task)
            self.task = None

    def data_loaded(self, source: str, train_images: int, test_images: int, rescale: bool) -> None:
        self.console.print(
            f"data: {inert(source)}, {train_images:,} train / {test_images:,} validation images"
            + ("" if rescale else " (raw 0..255 pixels)")
        )

    def points_start(self, total: int) -> None:
        """An overall bar over sweep points."""
        if self.progress:
            self.overall = self.progress.add_task("sweep points", total=total, metrics="")

    def point_done(self, label: str) -> None:
        self.console.print(f"[bold]point done[/]: {inert(label)}")
        if self.progress and self.overall is not None:
            self.progress.advance(self.overall)

    def process_start(self, process: int, processes: int) -> None:
        self.process, self.processes = process, processes
        self.console.print(f"[bold]process {process + 1} of {processes}[/] (a fresh Python "
                           "process: Keras starts again)")  # fmt: skip

    def run_start(self, kinds: tuple[str, ...], epochs: int, repeats: int, done: int) -> None:
        self.repeats = repeats
        if self.progress and self.run_task is None:  # the whole run, every process included
            total = len(kinds) * epochs * repeats * self.processes
            self.run_task = self.progress.add_task(
                "all epochs", total=total, completed=done, metrics=""
            )

    def model_start(self, kind: str, repeat: int, epochs: int, steps: int) -> None:
        self.epochs, self.steps, self.repeat = epochs, steps, repeat
        self.done[kind], self.last_s[kind] = 0, 0.0
        label = f"training {kind}" + (f" (repeat {repeat + 1})" if repeat else "")
        self.console.print(f"[bold]{label}[/]: {plural(epochs, 'epoch')} x {plural(steps, 'step')}")

    def epoch_start(self, kind: str, epoch: int) -> None:
        if self.progress:
            self.task = self.progress.add_task(
                f"{kind} epoch {epoch}/{self.epochs}", total=self.steps, metrics=""
            )

    def batch_end(self, kind: str, step: int, logs: dict[str, Any]) -> None:
        if self.progress and self.task is not None:
            loss, acc = float(logs.get("loss", math.nan)), float(logs.get("accuracy", math.nan))
            self.progress.update(
                self.task, completed=step, metrics=f"loss {loss:.4f} acc {acc:.4f}"
            )

    def epoch_end(self, kind: str, row: dict[str, Any]) -> None:
        if self.progress and self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        self.console.print(
            f"  {kind} epoch {row['epoch']}/{self.epochs}: loss {row['loss']:.4f} "
            f"acc {row['accuracy']:.4f} val_acc {row['val_accuracy']:.4f} "
            f"(train {row['train_s']:.2f} s, val {row['val_s']:.2f} s)"
        )
        self.done[kind], self.last_s[kind] = int(row["epoch"]), float(row["epoch_s"])
        if self.progress and self.run_task is not None:
            self.progress.advance(self.run_task)
        if not self.estimated and all(self.done.values()):
            # after every model's first epoch: the rest, repeats included, at each model's
            # latest epoch time (epoch 1 traced, so the estimate errs long)
            left = sum((self.epochs - self.done[k]) * self.last_s[k] for k in self.done)
            runs_left = (self.repeats - self.repeat - 1
                         + (self.processes - self.process - 1) * self.repeats)  # fmt: skip
            left += runs_left * self.epochs * sum(self.last_s.values())
            more = f", {self.processes} processes" if self.processes > 1 else ""
            self.console.print(f"[dim]about {left / 60:.1f} min of training left "
                               f"(all models, {plural(self.repeats, 'repeat')}{more})[/]")  # fmt: skip
            self.estimated = True

    def model_end(self, result: RunResult) -> None:
        if self.progress and self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        self.console.print(fit(self.console, epoch_table(result)))


def sweep_table(rows: pd.DataFrame, ratios: pd.DataFrame, title: str) -> Table:
    """A row per sweep point: both models' figures and the separable/normal ratios."""
    table = Table(title=title, title_justify="left")
    trained = "steady_epoch_s" in rows.columns
    training = [axis for axis in ("backend", "batch_size", "precision")
                if axis in ratios.columns and ratios[axis].notna().any()]  # fmt: skip
    names = {"backend": "backend", "batch_size": "batch", "precision": "precision"}
    headers = ["kernel", "width", "blocks", *(names[a] for a in training), "params N / S",
               "MACs N / S"]  # fmt: skip
    if trained:
        headers += ["steady s/epoch N / S", "best val acc N / S"]
    headers += ["params ratio", "MACs ratio"] + (["time ratio", "acc ratio"] if trained else [])
    for header in headers:
        left = header in ("blocks", "backend", "precision")
        table.add_column(header, justify="left" if left else "right", no_wrap=True)
    for ratio_row in ratios.itertuples():
        group = rows[rows["point"] == ratio_row.point].set_index("model")
        normal, separable = group.loc["normal"], group.loc["separable"]

        def pair(
            column: str, fmt: Callable[[Any], str], n: Any = normal, s: Any = separable
        ) -> str:
            return f"{_cell(n, column, fmt)} / {_cell(s, column, fmt)}"

        cells: list[str | Text] = [
            str(ratio_row.kernel_size),
            f"{ratio_row.width:g}",
            Text(printable(normal["scaled_blocks"])),
            *(Text(printable(_axis_value(getattr(ratio_row, axis)))) for axis in training),
            pair("params", count),
            pair("macs_per_image", millions),
        ]
        if trained:
            cells += [pair("steady_epoch_s", fixed(2)), pair("best_val_acc", fixed(4))]
        cells += [ratio(ratio_row.params_ratio), ratio(ratio_row.macs_ratio)]
        if trained:
            cells += [ratio(ratio_row.time_ratio), ratio(ratio_row.acc_ratio)]
        table.add_row(*cells)
    table.caption = "N = normal, S = separable; ratios are separable / normal"
    return table


# ---------------------------------------------------------------- whole results


def _axis_value(value: Any) -> str:
    """A sweep axis' value in a cell: 512 (not 512.0), the run's own when the point has none."""
    if _missing(value):
        return "–"
    return f"{value:g}" if isinstance(value, float) else str(value)


def comparison_title(command: str, dataset: str, epochs: Any, batch_size: Any) -> str:
    """The title of a comparison table."""
    epochs_text = plural(epochs, "epoch") if isinstance(epochs, int) else f"{epochs} epochs"
    return f"dsbench {command}: {dataset}, {epochs_text}, batch {batch_size}"


def sweep_title(points: int, summary_only: bool, dataset: str, epochs: int, batch: int) -> str:
    """The title of a sweep table."""
    if summary_only:
        return f"dsbench sweep: {points} points (params and MACs only)"
    return f"dsbench sweep: {plural(points, 'point')}, {dataset}, {plural(epochs, 'epoch')}, batch {batch}"


def comparison(console: Console, summary: pd.DataFrame, title: str, warnings: list[str],
               device: str = "") -> None:  # fmt: skip
    """The verdict line, the comparison table (its caption saying where it ran) and the
    warnings under it (as hyperfine does)."""
    line = verdict(summary)
    if line:
        console.print(f"[bold]{escape(line)}[/]")
    tables = [compare_table(summary, title, compact) for compact in (False, True)]
    for table in tables:
        table.caption = (
            f"{inert(device.removeprefix('device: '))}; {table.caption}"
            if device
            else table.caption
        )
    console.print(fit(console, *tables))
    warn(console, warnings)


def warn(console: Console, warnings: Iterable[str]) -> None:
    """Warnings under a table, one line each (as hyperfine gives them)."""
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {inert(warning)}")


def result(console: Console, result: Any) -> None:
    """A result of the API (compare, sweep, bench): its table (verdict, warnings) and folder."""
    spec = result.spec
    if hasattr(result, "target"):  # a bench
        title = f"dsbench bench: {spec.data.dataset}, target ±{result.target:.0%} (95% interval)"
        bench_report(console, result.rows, title, result.warnings)
    elif hasattr(result, "points"):  # a sweep
        if not result.ratios.empty:
            title = sweep_title(len(result.points), result.summary_only, spec.data.dataset,
                                spec.train.epochs, spec.train.batch_size)  # fmt: skip
            console.print(fit(console, sweep_table(result.rows, result.ratios, title)))
    elif not result.summary.empty:
        title = comparison_title(result.command, spec.data.dataset, spec.train.epochs,
                                 spec.train.batch_size)  # fmt: skip
        comparison(console, result.summary, title, result.warnings,
                   str(result.environment.get("device", "")))  # fmt: skip
    where = f"{result.run_dir}/" if result.run_dir else "not written here (a non-chief worker)"
    console.print(f"results: {inert(where)}")


def run_folder(console: Console, run: dict[str, Any]) -> None:
    """One results folder read back by store.read_run: its comparison table, titled by it."""
    doc = run["document"]
    settings = doc.get("settings") or {}
    data, train = settings.get("data") or {}, settings.get("train") or {}
    title = (
        f"{inert(run['path'])}: "
        + comparison_title(
            doc.get("command", "?"),
            data.get("dataset", "?"),
            train.get("epochs", "?"),
            train.get("batch_size", "?"),
        )
        + f" ({doc.get('status', '?')})"
    )
    if run["summary"].empty:
        console.print(f"{title}: no model finished an epoch")
    else:
        from dsbench.store import read_environment

        device = str(read_environment(run["path"]).get("device", ""))
        comparison(console, run["summary"], title, list(doc.get("warnings") or []), device)


def sweep_folder(console: Console, run_dir: Any, document: dict[str, Any]) -> None:
    """A sweep folder's table from its sweep.json."""
    import pandas as pd

    rows, ratios = pd.DataFrame(document["rows"]), pd.DataFrame(document["ratios"])
    title = f"{inert(run_dir)}: dsbench sweep, {len(ratios)} points ({document.get('status', '?')})"
    if ratios.empty:
        console.print(f"{title}: no point has finished yet")
    else:
        console.print(fit(console, sweep_table(rows, ratios, title)))


def bench_table(rows: pd.DataFrame, title: str) -> Table:
    """A row per mode and batch size: both models' median ms/step (range), images/s, est.
    GFLOP/s, and the separable/normal time ratio with its 95% interval."""
    from dsbench import stats

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
    table.caption = (
        "medians over chunks of steps, timed in alternating order (N S S N ...); the ratio is "
        "the median of adjacent chunk pairs [95% interval]; GFLOP/s are nominal "
        "(6 x MACs per image for train, 2 x MACs for infer)"
    )
    return table


def bench_folder(console: Console, run_dir: Any, document: dict[str, Any]) -> None:
    """A bench folder's table from its bench.json."""
    import pandas as pd

    title = f"{inert(run_dir)}: dsbench bench, target ±{document.get('precision_target', 0.05):.0%}"
    bench_report(console, pd.DataFrame(document["rows"]), title, document.get("warnings") or [])


def bench_report(console: Console, rows: pd.DataFrame, title: str, warnings: list[str]) -> None:
    """The bench table (fitted to the terminal) and its warnings."""
    console.print(fit(console, bench_table(rows, title)))
    warn(console, warnings)


# Columns of a Markdown report: what a reader pastes into an issue or a paper.
MARKDOWN_COLUMNS = ("run", "point", "mode", "batch_size", "model", "dataset", "train_images",
                    "epochs", "device", "params", "macs_per_image", "ms_per_step",
                    "ms_per_step_ratio", "ms_per_step_ratio_low", "ms_per_step_ratio_high",
                    "train_images_per_s", "best_val_acc", "time_to_target_s", "status")  # fmt: skip


def _is_text(column: pd.Series) -> bool:
    import pandas as pd

    return column.dtype == object or pd.api.types.is_string_dtype(column)


def export(rows: pd.DataFrame, form: str) -> str:
    """`report`'s rows as markdown (pandas + tabulate), csv or json ({"rows", "warnings"})."""
    import json

    from dsbench.records import to_jsonable

    warnings = [printable(w) for w in rows.attrs.get("warnings", [])]
    if form != "json":  # JSON escapes control characters itself
        rows = rows.apply(lambda c: c.map(printable, na_action="ignore") if _is_text(c) else c)
    if form == "json":
        document = {"rows": rows.to_dict(orient="records"), "warnings": warnings}
        return json.dumps(to_jsonable(document), indent=2) + "\n"
    if form == "csv":
        return str(rows.to_csv(index=False))
    columns = [c for c in MARKDOWN_COLUMNS if c in rows.columns and rows[c].notna().any()]
    shown = rows[columns].astype(object)
    shown = shown.where(shown.notna(), None)  # an empty figure is "–", never "nan"
    text = str(shown.to_markdown(index=False, floatfmt=".4g", missingval="–")) + "\n"
    return text + "".join(f"\n> warning: {w}\n" for w in warnings)
