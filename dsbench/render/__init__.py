"""What dsbench shows in a terminal: every record through one path (`show`), live progress,
and the exports. With the cli package, the only code that talks to the terminal.

    format.py    numbers, units, text from files made safe
    layout.py    fitting a table to the terminal without cutting a figure
    comparison.py  a comparison's table and verdict
    sweep.py     a sweep's table and its plan
    tables.py    the other tables, from plain rows
    progress.py  RichObserver: live progress while training
    export.py    Markdown, CSV, JSON behind one interface
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from dsbench.measure.bench import BenchSummary
from dsbench.measure.summary import Summary
from dsbench.render.comparison import compare_table, comparison_title, time_ratio, verdict
from dsbench.render.export import EXPORTERS, Format, export
from dsbench.render.format import count, fixed, inert, plural, printable, ratio, si
from dsbench.render.layout import fit, fits
from dsbench.render.progress import RichObserver
from dsbench.render.sweep import plan_table, sweep_table, sweep_title
from dsbench.render.tables import (
    baseline_table,
    bench_table,
    epoch_table,
    layers_table,
    report_keys,
    report_table,
    summary_table,
)
from dsbench.render.titles import record_title
from dsbench.spec.settings import network_name

if TYPE_CHECKING:
    from dsbench.measure.sweep import SweepSummary
    from dsbench.spec.settings import ModelSpec
    from dsbench.store.reports import Report

__all__ = [
    "EXPORTERS",
    "Format",
    "RichObserver",
    "bench_table",
    "compare_table",
    "comparison_title",
    "count",
    "epoch_table",
    "export",
    "fit",
    "fits",
    "fixed",
    "inert",
    "layers_table",
    "models",
    "plan_table",
    "plural",
    "printable",
    "ratio",
    "report",
    "report_keys",
    "report_table",
    "show",
    "si",
    "summary_table",
    "sweep_table",
    "sweep_title",
    "time_ratio",
    "verdict",
    "warn",
]  # fmt: skip


def show(console: Console, record: Summary | SweepSummary | BenchSummary,
         folder: Path | None = None) -> None:  # fmt: skip
    """A record's table, fitted to the terminal, with its verdict line and warnings; read back
    from `folder`, the title names the folder and the record's status."""
    title = record_title(record, folder)
    if isinstance(record, BenchSummary):
        console.print(
            fit(console, bench_table(record.rows, title, record.between_runs_sd), keys=2)
        )  # mode, batch
    elif isinstance(record, Summary):
        if record.models.empty:
            console.print(Text(f"{title}: no model finished an epoch"))
            return
        _comparison(console, record, title)
        twin = record.environment.get("arch_twin")
        if isinstance(twin, dict):
            kept = [inert(str(k)) for k in twin.get("kept") or []]
            console.print(f"[dim]the dense twin made {inert(str(twin.get('swapped')))} "
                          "Conv2D of your depthwise separable layers"
                          if twin.get("direction") == "dense" else
                          f"[dim]the separable twin swapped {inert(str(twin.get('swapped')))} "
                          "convolutions for separable ones"
                          + (f"; kept: {'; '.join(kept)}" if kept else "") + "[/]")  # fmt: skip
    elif record.ratios.empty:
        console.print(Text(f"{title}: no point has finished yet"))
    else:
        table = sweep_table(record.rows, record.ratios, title)
        keys = [str(column.header) for column in table.columns].index("params N / S")
        console.print(fit(console, table, keys=keys))
    if not isinstance(record, (Summary, BenchSummary)):
        _sweep_notes(console, record)
    warn(console, record.warnings)


def _sweep_notes(console: Console, record: SweepSummary) -> None:
    """The points a sweep still lacks, and the machines its points ran on when several."""
    if missing := record.missing:
        named = ", ".join(inert(slug) for slug in missing[:8]) + (", ..." if len(missing) > 8
                                                                  else "")  # fmt: skip
        console.print(f"[yellow]{len(missing)} of {len(record.plan)} points missing (not "
                      f"trained yet, or training elsewhere): {named}[/]")  # fmt: skip
    if len(machines := record.machines) > 1:
        console.print(
            f"[dim]points ran on {len(machines)} machines: times are each "
            "machine's own; compare the ratios, each beside its machine[/]"
        )


def _comparison(console: Console, record: Summary, title: str) -> None:
    """The verdict line and the comparison table, its caption saying where it ran."""
    line = verdict(record.models)
    if line:
        console.print(f"[bold]{inert(line)}[/]")
    tables = [compare_table(record.models, title, compact) for compact in (False, True)]
    device = record.device.removeprefix("device: ")
    for table in tables:
        table.caption = f"{printable(device)}; {table.caption}" if device else table.caption
    console.print(fit(console, *tables))


def report(console: Console, found: Report) -> None:
    """Many folders: one table, a row per folder and model, and the report's warnings."""
    keys = len(report_keys(found.rows))
    console.print(fit(console, report_table(found.rows), report_table(found.rows, True),
                      keys=keys))  # fmt: skip
    warn(console, found.warnings)


def against(console: Console, found: Report) -> None:
    """A run against its baseline: a row per figure and model, then the warnings."""
    rows = found.rows
    title = f"{rows['run'].iloc[0]} against {rows['baseline'].iloc[0]}" if len(rows) else ""
    console.print(fit(console, *(baseline_table(rows, printable(title), compact)
                                 for compact in (False, True))))  # fmt: skip
    warn(console, found.warnings)


def models(console: Console, model: ModelSpec, rows: list[dict[str, Any]],
           layers: list[dict[str, Any]]) -> None:  # fmt: skip
    """`summary`: the models' table titled by what they are, what your network's twin kept and
    what was not counted, then a per-layer table per model when `layers` are given."""
    shape = "x".join(str(v) for v in model.input_shape)
    title = (f"Models for {shape} images, {model.num_classes} classes: blocks "
             f"{model.blocks_text}, kernel {model.kernel_size}x{model.kernel_size}")  # fmt: skip
    if model.arch:
        swapped = rows[0].get("swapped", 0)
        given = {"arch": model.arch, "arch_options": dict(model.arch_options)}
        title = (f"{network_name(given)} for {shape} images, "
                 f"{model.num_classes} classes, and its "
                 f"separable twin ({plural(swapped, 'convolution')} swapped)")  # fmt: skip
        if model.twin == "dense":
            title = (f"{network_name(given)} (the separable model) for {shape} images, "
                     f"{model.num_classes} classes, and its dense twin (normal: "
                     f"{plural(swapped, 'Conv2D')} made of its separable layers)")  # fmt: skip
    console.print(fit(console, summary_table(rows, title)))
    console.print(
        "[dim]MACs = multiply-accumulates for one image's forward pass; FLOPs = 2 x MACs.[/]"
    )
    notes = [f"not {'fused' if model.twin == 'dense' else 'swapped'}: {line}"
             for line in rows[0].get("kept") or []] if model.arch else []  # fmt: skip
    uncounted = sorted({name for row in rows for name in row.get("not_counted") or []})
    if uncounted:
        notes.append(f"MACs leave out layers dsbench does not cost: {', '.join(uncounted)}")
    warn(console, notes)
    for kind in dict.fromkeys(row["model"] for row in layers):
        console.print(fit(console, *(layers_table(layers, kind, compact)
                                     for compact in (False, True))))  # fmt: skip


def warn(console: Console, warnings: Iterable[str]) -> None:
    """Warnings under a table, one line each (as hyperfine gives them)."""
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {inert(warning)}")
