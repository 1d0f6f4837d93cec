"""A sweep's points trained by this worker: its shard of the plan (or all of it), each point a
comparison in its own folder under points/, claimed while it trains (store/claims.py) so that
any number of workers fill one sweep folder and never train a point twice at once; a point
finished before, by any worker, is kept. sweep.json, sweep.csv and sweep.png are rebuilt from
every point present after each point, so the folder shows the whole sweep as far as it has got.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from dsbench.errors import DsbenchError
from dsbench.measure import sweep as sweeps
from dsbench.measure.records import RunResult, to_jsonable
from dsbench.observer import Observer
from dsbench.spec.request import SweepRequest
from dsbench.spec.settings import RunSpec
from dsbench.store import files as store
from dsbench.store.claims import Claims
from dsbench.store.files import ResultsFolder
from dsbench.store.folders import POINTS

if TYPE_CHECKING:
    from dsbench.run.outcome import Comparison

# Trains one sweep point: (its spec, its folder's writer, its runs from before) -> comparison.
TrainPoint = Callable[[RunSpec, "ResultsFolder | None", "list[RunResult] | None"], "Comparison"]


def run_sweep(request: SweepRequest, writer: ResultsFolder | None, observer: Observer,
              train_point: TrainPoint) -> tuple[sweeps.SweepSummary, list[RunResult]]:  # fmt: skip
    """Train this worker's points (`request.shard`'s, or all), a comparison each by
    `train_point`; points claimed by another worker are left to it.

    Returns the sweep's record (every point present in the folder, or this worker's alone
    without a folder) and the last point this worker trained.
    """
    spec, points = request.spec, list(request.points)
    mine = request.shard.select(points) if request.shard is not None else points
    claims = Claims(writer.ready()) if writer is not None else None
    if writer is not None and claims is not None:
        _join(request, writer, claims)
    frames: list[pd.DataFrame] = []
    done: list[RunResult] = []
    observer.points_start(len(mine))
    for point in mine:
        label = point.label(spec.model)
        point_writer = writer.point(point.slug) if writer is not None else None
        with claims.point(point.slug) if claims is not None else _alone() as claimed:
            if not claimed:
                observer.point_done(f"{label} (claimed by another worker)")
                continue
            previous = None
            if point_writer is not None and (point_writer.path / "summary.json").is_file():
                previous = store.load_results(point_writer.path)
                if store.read_summary(point_writer.path).complete:
                    done = previous
                    observer.point_done(f"{label} (kept from before)")
                    continue
            comparison = train_point(point.run_spec(spec), point_writer, previous)
        done = comparison.results
        frames.append(sweeps.trained_rows(point, spec.model, comparison.summary,
                                          comparison.environment))  # fmt: skip
        if writer is not None and claims is not None:
            rebuild(request, writer, claims)
        if comparison.interrupted is not None:
            break
        observer.point_done(label)
    if writer is None or claims is None:  # no folder (the API without output_dir): these alone
        rows = pd.concat(frames, ignore_index=True) if frames else _no_rows()
        complete = len(frames) == len(points) and not any(r.status != "complete" for r in done)
        return sweeps.sweep_summary(spec, points, rows, complete), done
    return rebuild(request, writer, claims), done


@contextlib.contextmanager
def _alone() -> Iterator[bool]:
    yield True  # no folder, no other worker: every point is this worker's


def _no_rows() -> pd.DataFrame:
    return pd.DataFrame(columns=["point", "model", "scaled_blocks"])


def check_plan(request: SweepRequest, writer: ResultsFolder) -> None:
    """Refuse a folder holding another sweep's points, before anything starts (the settings
    are checked once the data has fitted them: _join)."""
    if (writer.path / "sweep.json").is_file():
        found = store.read_sweep(writer.path)
        if found.plan and found.plan != tuple(point.slug for point in request.points):
            raise _another(writer)


def _another(writer: ResultsFolder) -> DsbenchError:
    return DsbenchError(
        f"{writer.path} holds another sweep (other settings or other points)",
        "give every shard of one sweep the same options, and each sweep its own output_dir",
        setting="output_dir",
    )


def _join(request: SweepRequest, writer: ResultsFolder, claims: Claims) -> None:
    """Start the sweep's files, or check that the folder's are this same sweep's (another
    shard's, or an earlier run of this one): the same settings and the same plan."""
    with claims.rebuilding():
        if not (writer.path / "sweep.json").is_file():
            record = sweeps.sweep_summary(request.spec, list(request.points), _no_rows(), False)
            writer.write_sweep(record)
            return
        found = store.read_sweep(writer.path)
        plan = tuple(point.slug for point in request.points)
        if (found.plan and found.plan != plan) or _what_trains(found.settings) != _what_trains(
            to_jsonable(request.spec.as_dict())
        ):
            raise DsbenchError(
                f"{writer.path} holds another sweep (other settings or other points)",
                "give every shard of one sweep the same options, and each sweep its own output_dir",
                setting="output_dir",
            )


# Settings that name a place on this machine: shards on several machines may each have theirs.
PLACES = {"data": ("data_dir",), "train": ("tensorboard",), "model": ("arch",)}


def _what_trains(settings: dict[str, Any]) -> dict[str, Any]:
    """A sweep's settings without the places (the builder file's content is checked apart:
    arch_sha256)."""
    return {section: {key: value for key, value in values.items()
                      if key not in PLACES.get(section, ())}
            if isinstance(values, dict) else values
            for section, values in settings.items()}  # fmt: skip


def rebuild(request: SweepRequest, writer: ResultsFolder,
            claims: Claims) -> sweeps.SweepSummary:  # fmt: skip
    """sweep.json, sweep.csv and sweep.png from every point present in the folder, whichever
    worker trained it; complete when every point of the plan is."""
    spec, points = request.spec, list(request.points)
    with claims.rebuilding():
        frames, complete = [], True
        for point in points:
            folder = writer.path / POINTS / point.slug
            if not (folder / "summary.json").is_file():
                complete = False
                continue
            kept = store.read_summary(folder)
            complete = complete and kept.complete
            frames.append(sweeps.trained_rows(point, spec.model, kept.models, kept.environment))
        rows = pd.concat(frames, ignore_index=True) if frames else _no_rows()
        record = sweeps.sweep_summary(spec, points, rows, complete)
        writer.write_sweep(record)
    return record
