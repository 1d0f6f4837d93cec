"""What dsbench shows: every record through one path (`show`), live progress, the exports and
the results page. With the cli package, the only code that talks to the terminal.

    format.py      numbers, units, text from files made safe
    layout.py      fitting a table to the terminal without cutting a figure; warnings
    comparison.py  a comparison's table and verdict
    deploy.py      deploy's tables: exports' size, latency, images/s, accuracy kept
    sweep.py       a sweep's table and its plan
    tables.py      the other results tables, from plain rows
    model_tables.py  `summary`: the models and their layers (no pandas, no framework)
    titles.py      a record's title
    terminal.py    show, report, against: records printed
    progress.py    RichObserver: live progress while training
    exports.py     Markdown, CSV, JSON and HTML behind one interface
    html.py, page.py, charts.py   the results page: tables, SVG charts with intervals

Names are loaded when first used (`render.show` imports terminal.py then), so `dsbench
summary` does not load pandas through the results tables it never prints. No module is named
like a name it exports: importing it would put the module where the name should be.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dsbench.render.comparison import compare_table, comparison_title, time_ratio, verdict
    from dsbench.render.deploy import deploy_tables
    from dsbench.render.exports import EXPORTERS, Format, export
    from dsbench.render.format import count, fixed, inert, plural, printable, ratio, si
    from dsbench.render.layout import fit, fits, warn
    from dsbench.render.model_tables import layers_table, models, summary_table
    from dsbench.render.progress import RichObserver
    from dsbench.render.sweep import plan_table, sweep_table, sweep_title
    from dsbench.render.tables import (
        baseline_table,
        bench_table,
        epoch_table,
        report_keys,
        report_table,
    )
    from dsbench.render.terminal import against, deployed, report, show

# Where each public name lives.
WHERE = {
    "comparison": ("compare_table", "comparison_title", "time_ratio", "verdict"),
    "deploy": ("deploy_tables",),
    "exports": ("EXPORTERS", "Format", "export"),
    "format": ("count", "fixed", "inert", "plural", "printable", "ratio", "si"),
    "layout": ("fit", "fits", "warn"),
    "model_tables": ("layers_table", "models", "summary_table"),
    "progress": ("RichObserver",),
    "sweep": ("plan_table", "sweep_table", "sweep_title"),
    "tables": ("baseline_table", "bench_table", "epoch_table", "report_keys", "report_table"),
    "terminal": ("against", "deployed", "report", "show"),
}
MODULE_OF = {name: module for module, names in WHERE.items() for name in names}
__all__ = ["EXPORTERS", "Format", "RichObserver", "against", "baseline_table", "bench_table", "compare_table", "comparison_title", "count", "deploy_tables", "deployed", "epoch_table", "export", "fit", "fits", "fixed", "inert", "layers_table", "models", "plan_table", "plural", "printable", "ratio", "report", "report_keys", "report_table", "show", "si", "summary_table", "sweep_table", "sweep_title", "time_ratio", "verdict", "warn"]  # fmt: skip


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use."""
    if name not in MODULE_OF:
        raise AttributeError(f"module 'dsbench.render' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dsbench.render.{MODULE_OF[name]}"), name)
    globals()[name] = value
    return value
