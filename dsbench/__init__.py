"""dsbench: what depthwise separable convolutions buy over normal convolutions, measured.

The Python API (see README, "Python API"): compare, train, sweep, resume, report, summary,
layers; every error a user can act on is a DsbenchError.
"""

__version__ = "0.1.0"

from dsbench.api import (  # noqa: E402  (the version first: modules below read it)
    Comparison,
    SweepResult,
    compare,
    layers,
    report,
    resume,
    summary,
    sweep,
    train,
)
from dsbench.errors import DsbenchError  # noqa: E402
from dsbench.observer import Observer  # noqa: E402

__all__ = [
    "Comparison",
    "DsbenchError",
    "Observer",
    "SweepResult",
    "__version__",
    "compare",
    "layers",
    "report",
    "resume",
    "summary",
    "sweep",
    "train",
]
