"""Helpers the tests share: writing a results folder from hand-made RunResults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dsbench.records import RunResult
from dsbench.results import summarize
from dsbench.store import ResultsFolder


def write_run(
    folder: Path,
    results: list[RunResult],
    command: str,
    settings: dict[str, Any],
    environment: dict[str, Any],
    complete: bool,
    kinds: tuple[str, ...] = ("normal", "separable"),
    draw: bool = False,
) -> None:
    """A train or compare folder for `results`, as dsbench writes it."""
    record = summarize(results, command, kinds, settings, environment, complete)
    ResultsFolder(folder, existing=True).write_run(record, results, draw)
