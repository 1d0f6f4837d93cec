"""A comparison's results folder written as it goes: every save of either runner comes here,
one summary and one write each, the end included (store.ResultsFolder writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dsbench.measure.records import RunResult
from dsbench.measure.summary import summarize
from dsbench.run.outcome import Comparison
from dsbench.spec.request import RunRequest
from dsbench.spec.settings import RunSpec
from dsbench.store.files import ResultsFolder


class Saver:
    """Saves what a comparison has measured so far, and at its end the comparison itself."""

    def __init__(self, request: RunRequest, writer: ResultsFolder | None) -> None:
        self.request, self.writer = request, writer

    @property
    def checkpoints(self) -> Path | None:
        """Where the models' checkpoints go (made now), or None when they are not kept."""
        if self.writer is None or not self.request.spec.train.checkpoint:
            return None
        return self.writer.checkpoints()

    def __call__(self, spec: RunSpec, results: list[RunResult],
                 environment: dict[str, Any]) -> None:  # fmt: skip
        """A save while training goes on: the data so far, marked unfinished, no curves.png."""
        if self.writer is not None and results:
            record = summarize(results, self.request.command, self.request.kinds,
                               spec.as_dict(), environment, complete=False)  # fmt: skip
            self.writer.write_run(record, results, draw=False)

    def finish(self, comparison: Comparison) -> Comparison:
        """The last save: the comparison's own record, with curves.png."""
        if self.writer is not None and comparison.results:
            self.writer.write_run(comparison.record, comparison.results)
            comparison.run_dir = self.writer.path
        return comparison
