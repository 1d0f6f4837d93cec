"""What one run is asked to do: the command, the models, the settings and where results go.

A `RunRequest` is frozen and travels whole from the API to a runner and into worker
processes (runner.py, workers.py): nothing is passed as loose parameters beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dsbench.spec.enums import StrEnum
from dsbench.spec.settings import RunSpec

PathLike = str | Path  # a folder or file, as the API takes it


class Command(StrEnum):
    """The command that runs, and that wrote a result."""

    train = "train"
    compare = "compare"
    sweep = "sweep"
    bench = "bench"


@dataclass(frozen=True)
class RunRequest:
    """One train or compare run: what to train, how, and where its results go."""

    command: Command
    kinds: tuple[str, ...]
    spec: RunSpec
    output_dir: Path | None = None
    force: bool = False
    verbose: bool = False
    resuming: bool = False  # output_dir is an interrupted results folder being continued
