"""Helpers the tests share: writing a results folder from hand-made RunResults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dsbench.measure.records import RunResult
from dsbench.measure.summary import summarize
from dsbench.store.files import ResultsFolder


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


def leaves(document: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value in a JSON document, the containers' own paths included."""
    if isinstance(document, dict):
        return [p for key, value in document.items() for p in leaves(value, (*path, key))] + [path]
    if isinstance(document, list):
        return [p for i, value in enumerate(document) for p in leaves(value, (*path, i))] + [path]
    return [path]
