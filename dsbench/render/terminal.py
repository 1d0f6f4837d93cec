"""What a record looks like in a terminal: every record through one path (`show`), many
folders (`report`) and a run against its baseline (`against`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from dsbench.measure.bench import BenchSummary
from dsbench.measure.deploy import Deployed
from dsbench.measure.summary import Summary
from dsbench.render.comparison import compare_table, verdict
from dsbench.render.format import inert, printable
from dsbench.render.layout import fit, warn
from dsbench.render.sweep import sweep_table
from dsbench.render.tables import baseline_table, bench_table, report_keys, report_table
from dsbench.render.titles import record_title

if TYPE_CHECKING:
    from dsbench.measure.sweep import SweepSummary
    from dsbench.store.reports import Report


def show(console: Console, record: Summary | SweepSummary | BenchSummary | Deployed,
         folder: Path | None = None) -> None:  # fmt: skip
    """A record's table, fitted to the terminal, with its verdict line and warnings; read back
    from `folder`, the title names the folder and the record's status."""
    title = record_title(record, folder)
    if isinstance(record, Deployed):
        deployed(console, record.rows, title)
    elif isinstance(record, BenchSummary):
        console.print(
            fit(console, bench_table(record.rows, title, record.between_runs_sd), keys=2)
        )  # mode, batch
    elif isinstance(record, Summary):
        if record.models.empty:
            console.print(Text(f"{title}: no model finished an epoch"))
            return
        _comparison(console, record, title)
        _deployed(console, folder)
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
    if not isinstance(record, (Summary, BenchSummary, Deployed)):
        _sweep_notes(console, record)
    warn(console, record.warnings)


def deployed(console: Console, rows: list[dict[str, Any]], title: str) -> None:
    """deploy's tables (of deploy.json's rows), each fitted to the terminal."""
    from dsbench.render.deploy import deploy_tables

    for variants in deploy_tables(rows, title):
        console.print(fit(console, *variants))


def _deployed(console: Console, folder: Path | None) -> None:
    """A run folder's deploy tables, when `dsbench deploy` measured its exports."""
    from dsbench.store.files import read_deploy

    if folder is not None and (found := read_deploy(folder)) is not None:
        deployed(console, found.rows, f"deploy: {found.weights}")


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
    """Many folders: one table, a row per folder and model, then each folder's deploy tables,
    and the report's warnings."""
    if not found.rows.empty:
        keys = len(report_keys(found.rows))
        console.print(fit(console, report_table(found.rows), report_table(found.rows, True),
                          keys=keys))  # fmt: skip
    from dsbench.render.deploy import by_folder

    for title, rows in by_folder(found.deploy):
        deployed(console, rows, title)
    warn(console, found.warnings)


def against(console: Console, found: Report) -> None:
    """A run against its baseline: a row per figure and model, then the warnings."""
    rows = found.rows
    title = f"{rows['run'].iloc[0]} against {rows['baseline'].iloc[0]}" if len(rows) else ""
    console.print(fit(console, *(baseline_table(rows, printable(title), compact)
                                 for compact in (False, True))))  # fmt: skip
    warn(console, found.warnings)
