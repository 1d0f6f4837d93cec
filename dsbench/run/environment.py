"""The machine and the software a run ran on (any backend), as environment.json records them."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dsbench.backends import host

# The command line that started this process, when the CLI did (cli.main records it), so that
# environment.json says exactly how a run was asked for; None from the Python API.
COMMAND_LINE: list[str] | None = None


def environment(settings: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Versions (dsbench, the backend's framework, Keras, Python, ...), CPU and accelerator
    names, and every setting used."""
    import keras
    import numpy as np
    import pandas as pd

    from dsbench import backends
    from dsbench._version import __version__
    from dsbench.measure.records import to_jsonable

    backend = backends.current()
    framework = backend.versions()
    build = framework.pop("build", {})
    return to_jsonable(
        {
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "backend": backend.NAME,
            "versions": {
                "dsbench": __version__,
                **framework,
                "keras": keras.__version__,
                "python": sys.version.split()[0],
                "numpy": np.__version__,
                "pandas": pd.__version__,
            },
            "platform": platform.platform(),
            "hostname": platform.node(),
            "cpu": {
                "model": host.cpu_model(),
                "logical_cores": os.cpu_count(),
                "features": host.cpu_features(),
            },
            "gpus": backend.gpus(),
            "build": build,
            "settings": settings,
            **({"command_line": COMMAND_LINE} if COMMAND_LINE else {}),
            **({"source": source} if (source := source_state()) else {}),
            **extra,
        }
    )


def source_state(folder: Path | None = None) -> dict[str, Any] | None:
    """The git state of the working tree dsbench runs from (an editable install in a
    checkout): {"commit": ..., "dirty": bool}; None when it is not in one or git is missing."""
    import subprocess

    where = str(folder or Path(__file__).resolve().parent)
    try:
        commit = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()  # fmt: skip
        status = subprocess.run(["git", "-C", where, "status", "--porcelain", "--", "."],
                                capture_output=True, text=True, timeout=5, check=True).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())} if commit else None
