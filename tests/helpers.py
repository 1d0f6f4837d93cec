"""Helpers the tests share: writing a results folder from hand-made RunResults, and fuzz tests
at two depths."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

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


FUZZ = os.environ.get("FUZZ")  # FUZZ=N: N random examples at both depths


def fuzzed(fast: int, deep: int, derandomize: bool = False,
           **strategies: Any) -> Callable[[Callable[..., None]], tuple[Any, Any]]:  # fmt: skip
    """Two tests of one property: `fast` examples in the fast suite, `deep` more in the slow
    one (.ci/run runs both); `derandomize` replays the same examples every run unless FUZZ."""

    def make(body: Callable[..., None]) -> tuple[Any, Any]:
        def test(examples: int) -> Any:
            return settings(max_examples=int(FUZZ or examples), deadline=None,
                            derandomize=derandomize and not FUZZ,
                            suppress_health_check=[HealthCheck.function_scoped_fixture])(
                given(**strategies)(body))  # fmt: skip

        return test(fast), pytest.mark.slow(test(deep))

    return make
