"""What the Python API returns: a summary (measure.summary.Summary, measure.sweep.SweepSummary,
measure.bench.BenchSummary) with what it was made from and where it was written.

    result = dsbench.compare(epochs=2, dataset="synthetic", train_size=512, test_size=128)
    result.record           # the Summary: models, intervals, warnings, settings, environment
    result.summary          # its rows as a DataFrame, one per model
    result.save("runs/x")   # the results folder the CLI writes
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsbench.spec.request import PathLike
from dsbench.spec.settings import RunSpec

if TYPE_CHECKING:  # pandas and the records load with the first result, not with the API
    import pandas as pd

    from dsbench.measure.bench import BenchSummary
    from dsbench.measure.records import RunResult
    from dsbench.measure.summary import Summary
    from dsbench.measure.sweep import SweepSummary
    from dsbench.spec.request import Command


@dataclass
class Comparison:
    """The result of `compare`, `train` or `resume`: one RunResult per model and repeat, and
    their Summary, computed once."""

    spec: RunSpec
    results: list[RunResult]
    record: Summary
    run_dir: Path | None = None

    @classmethod
    def of(cls, spec: RunSpec, results: list[RunResult], command: Command | str,
           kinds: tuple[str, ...], environment: dict[str, Any],
           run_dir: Path | None = None) -> Comparison:  # fmt: skip
        """The comparison of `results`, summarised (complete unless a run was interrupted)."""
        from dsbench.measure.records import Status
        from dsbench.measure.summary import summarize

        complete = not any(r.status == Status.interrupted for r in results)
        record = summarize(results, command, kinds, spec.as_dict(), environment, complete)
        return cls(spec, results, record, run_dir)

    @property
    def command(self) -> Command:
        """train or compare."""
        return self.record.command

    @property
    def kinds(self) -> tuple[str, ...]:
        """The models trained, in their order."""
        return self.record.kinds

    @property
    def environment(self) -> dict[str, Any]:
        """environment.json's content: where and with what it ran."""
        return self.record.environment

    @property
    def complete(self) -> bool:
        """False when a model was interrupted (Ctrl-C, SIGTERM) before its last epoch."""
        return self.record.complete

    @property
    def interrupted(self) -> RunResult | None:
        """The run that was interrupted, if one was."""
        return _interrupted(self.results)

    @property
    def diverged(self) -> list[RunResult]:
        """Runs whose loss became NaN or infinite."""
        return _diverged(self.results)

    @property
    def summary(self) -> pd.DataFrame:
        """A row per model: the comparison table's figures (means over repeats, *_std)."""
        return self.record.models

    @property
    def history(self) -> pd.DataFrame:
        """A row per model, process, repeat and epoch."""
        from dsbench.measure.records import history_frame

        return history_frame(self.results)

    @property
    def runs(self) -> pd.DataFrame:
        """A row per model and repeat."""
        from dsbench.measure.records import runs_frame

        return runs_frame(self.results, self.spec.train.target_accuracy)

    @property
    def ratios(self) -> dict[str, float]:
        """Separable/normal ratios of the summary's figures (empty unless both models ran)."""
        return self.record.ratios

    @property
    def document(self) -> dict[str, Any]:
        """summary.json's content."""
        return self.record.document

    @property
    def warnings(self) -> list[str]:
        """What makes this comparison's figures doubtful (also in summary.json)."""
        return list(self.record.warnings)

    def save(self, path: PathLike, force: bool = False) -> Path:
        """Write the results folder (history.csv, summary.json, curves.png, ...) to `path`."""
        from dsbench.store.files import ResultsFolder

        writer = ResultsFolder(path, force)
        writer.write_run(self.record, self.results)
        self.run_dir = writer.path
        return writer.path


@dataclass
class SweepResult:
    """The result of `sweep`: its record (a row per point and model, the ratios per point)."""

    spec: RunSpec
    record: SweepSummary
    last: list[RunResult] = field(default_factory=list)  # the last trained point's runs
    run_dir: Path | None = None

    @property
    def rows(self) -> pd.DataFrame:
        """A row per point and model."""
        return self.record.rows

    @property
    def ratios(self) -> pd.DataFrame:
        """A row per point: separable/normal ratios of params, MACs, time, accuracy, ..."""
        return self.record.ratios

    @property
    def complete(self) -> bool:
        """False when the sweep was interrupted before its last point."""
        return self.record.complete

    @property
    def interrupted(self) -> RunResult | None:
        """The run of the last trained point that was interrupted, if one was."""
        return _interrupted(self.last)

    @property
    def diverged(self) -> list[RunResult]:
        """The last trained point's runs whose loss became NaN or infinite."""
        return _diverged(self.last)

    @property
    def document(self) -> dict[str, Any]:
        """sweep.json's content."""
        return self.record.document

    def save(self, path: PathLike, force: bool = False) -> Path:
        """Write sweep.csv, sweep.json and sweep.png to `path`."""
        from dsbench.store.files import ResultsFolder

        writer = ResultsFolder(path, force)
        writer.write_sweep(self.record)
        self.run_dir = writer.path
        return writer.path


@dataclass
class BenchResult:
    """The result of `bench`: a row per mode and batch size with both models' speed and the
    separable/normal ratio with its 95% interval."""

    spec: RunSpec
    record: BenchSummary
    run_dir: Path | None = None

    @property
    def rows(self) -> pd.DataFrame:
        """A row per mode and batch size."""
        return self.record.rows

    @property
    def warnings(self) -> list[str]:
        """What makes the timing doubtful (also in bench.json)."""
        return list(self.record.warnings)

    @property
    def document(self) -> dict[str, Any]:
        """bench.json's content."""
        return self.record.document

    def save(self, path: PathLike, force: bool = False) -> Path:
        """Write bench.csv, bench.json and environment.json to `path`."""
        from dsbench.store.files import ResultsFolder

        writer = ResultsFolder(path, force)
        writer.write_bench(self.record)
        self.run_dir = writer.path
        return writer.path


Outcome = Comparison | SweepResult | BenchResult


def _interrupted(runs: list[RunResult]) -> RunResult | None:
    from dsbench.measure.records import Status

    return next((r for r in runs if r.status == Status.interrupted), None)


def _diverged(runs: list[RunResult]) -> list[RunResult]:
    from dsbench.measure.records import Status

    return [r for r in runs if r.status == Status.diverged]
