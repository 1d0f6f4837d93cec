"""What the command line prints besides a record's table: the console it prints on, the
results page it leaves in a folder (--html), a sweep's plan and deploy's table."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from dsbench import api
from dsbench.cli.options import Opts


def console(json_output: bool = False) -> Any:
    """Tables and progress go to stdout, or to stderr under --json.

    Piped or captured output gets 160 columns instead of Rich's 80, so wide tables keep
    every number whole.
    """
    from rich.console import Console

    stream = sys.stderr if json_output else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 160
    return Console(stderr=json_output, highlight=False, width=width)


def page(run_dir: Path) -> None:
    """report.html in a results folder just written (--html)."""
    from dsbench import render
    from dsbench.store import files, reports

    files.atomic_text(run_dir / "report.html", render.export(reports.report([run_dir]), "html"))


def plan(opts: Opts, axes: dict[str, Any], shard: Any) -> None:
    """sweep --plan: the points in order, their shards and states; JSON with --json."""
    from dsbench import render

    plan = api.plan(**axes, shard=shard, config=opts.config, output_dir=opts.output_dir,
                    **opts.settings)  # fmt: skip
    if opts.json_output:
        typer.echo(plan.to_json(orient="records", indent=2))
        return
    title = f"dsbench sweep plan: {render.plural(len(plan), 'point')}"
    if shard is not None:
        source = "" if shard.source == "given" else f" (from {shard.source.title()})"
        title += (f"; shard {shard}{source} trains "
                  f"{render.plural(int(plan['this_shard'].sum()), 'point')}")  # fmt: skip
    console().print(render.plan_table(plan, title))
