"""Helpers the tests share: writing a results folder from hand-made RunResults, and fuzz tests
at two depths."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from dsbench.measure.records import RunResult
from dsbench.measure.summary import summarize
from dsbench.measure.sweep import SweepSummary
from dsbench.store import plot
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


def write_sweep(folder: Path, sweep: SweepSummary) -> None:
    """A sweep folder for `sweep` as dsbench writes it, except that sweep.png is left empty:
    for tests that read no plot (drawing one takes ~0.4 s)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plot, "sweep", lambda *args: None)
        ResultsFolder(folder, existing=True).write_sweep(sweep)


def bench_rows() -> pd.DataFrame:
    """bench.csv's rows as `bench` writes them: train at batch 128, infer at batch 1."""
    row: dict[str, Any] = {"mode": "train", "batch_size": 128, "normal_chunk_steps": 3,
                           "separable_chunk_steps": 3, "pairs": 9, "ratio": 0.3612,
                           "ratio_low": 0.3402, "ratio_high": 0.3811, "ratio_half_width": 0.057,
                           "target_reached": False, "seconds": 58.1}  # fmt: skip
    for kind, ms in (("normal", 516.2), ("separable", 186.4)):
        row.update({f"{kind}_ms_per_step": ms, f"{kind}_ms_per_step_low": ms * 0.9,
                    f"{kind}_ms_per_step_high": ms * 1.1, f"{kind}_images_per_s": 128e3 / ms,
                    f"{kind}_est_gflop_per_s": 300.0, f"{kind}_bimodal": False,
                    f"{kind}_outliers": 0})  # fmt: skip
    return pd.DataFrame([row, {**row, "mode": "infer", "batch_size": 1}])


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
