"""dsbench: what depthwise separable convolutions buy over normal convolutions, measured.

The Python API (see README.md, "Python API"): compare, train, sweep (and its plan), resume,
report, summary, layers; every error a user can act on is a DsbenchError.
"""

from dsbench._version import __version__
from dsbench.api import (
    BenchResult,
    Comparison,
    SweepResult,
    against,
    bench,
    compare,
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
    "layers",
    "plan",
    "report",
    "resume",
    "summary",
    "sweep",
    "train",
]
