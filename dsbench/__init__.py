"""dsbench: what depthwise separable convolutions buy over normal convolutions, measured.

The Python API (see README.md, "Python API"): compare, train, sweep (and its plan), bench,
resume, report, against (a run against its baseline), html (the results page), deploy
(LiteRT and ONNX exports measured), summary,
layers; each function's help lists its settings; every error a user can act on is a
DsbenchError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dsbench._version import __version__
from dsbench.api import (
    BenchResult,
    Comparison,
    SweepResult,
    against,
    bench,
    compare,
    deploy,
    layers,
    plan,
    report,
    resume,
    summary,
    sweep,
    train,
)
from dsbench.errors import DsbenchError
from dsbench.observer import Observer

if TYPE_CHECKING:
    from dsbench.spec.request import PathLike
    from dsbench.store.reports import Report

__all__ = [
    "BenchResult",
    "Comparison",
    "DsbenchError",
    "Observer",
    "SweepResult",
    "__version__",
    "against",
    "bench",
    "compare",
    "deploy",
    "html",
    "layers",
    "plan",
    "report",
    "resume",
    "summary",
    "sweep",
    "train",
]


def html(found: Report | PathLike | Sequence[PathLike]) -> str:
    """The results page of a report (or of the folders at these paths), as `report --format
    html` writes it: one self-contained HTML file (tables, charts with their intervals,
    curves, environment, the data as JSON), nothing fetched. In a notebook:
    `IPython.display.HTML(dsbench.html("runs/x"))`."""
    from dsbench.render.page import render
    from dsbench.store.reports import Report

    return render(found if isinstance(found, Report) else report(found))
