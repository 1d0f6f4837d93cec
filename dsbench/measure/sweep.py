"""A sweep's record: a row per point and model (the point's axes beside its comparison's
figures), the ratios of each point, and `SweepSummary`, as sweep.json and sweep.csv hold it.

Every point is one normal/separable comparison with the run's other settings (its grid:
dsbench.spec.grid); each trains into its own results folder under points/.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from dsbench.measure.comparison import separable_over_normal
from dsbench.measure.records import to_jsonable
from dsbench.measure.summary import FolderKind
from dsbench.spec.grid import AXES, TRAIN_AXES, Point, axes
from dsbench.spec.settings import (
    ModelSpec,
    RunSpec,
)
from dsbench.spec.shard import Shard


def cost_rows(points: list[Point], base: ModelSpec) -> pd.DataFrame:
    """Params and MACs of both models at every point, trained nothing (--summary-only)."""
    from dsbench.models.vgg import describe

    frames = []
    for point in points:
        models, _ = describe(point.spec(base))
        # your own --arch: how many layers it did not cost or swap (`summary` names them)
        counted = pd.DataFrame(models).rename(columns={"not_counted": "layers_not_counted",
                                                       "kept": "convs_kept"})  # fmt: skip
        for column in ("layers_not_counted", "convs_kept"):
            if column in counted.columns:
                counted[column] = counted[column].map(len)
        frames.append(counted.assign(**_point_columns(point, base)))
    return _ordered(pd.concat(frames, ignore_index=True))


def plan_rows(points: list[Point], base: ModelSpec, shard: Shard | None = None) -> pd.DataFrame:
    """A row per point in the order a sweep runs them: its position, its name (its folder
    under points/), what it is, its axes, and with `shard` the shard that runs it (every
    worker computes the same plan from the same axes)."""
    rows = []
    for position, point in enumerate(points):
        row: dict[str, Any] = {"position": position, "point": point.slug,
                               "label": point.label(base)}  # fmt: skip
        if shard is not None:
            row.update(shard=position % shard.count, this_shard=shard.picks(position))
        rows.append({**row, **{axis: getattr(point, axis) for axis in AXES}})
    return pd.DataFrame(rows)


def trained_rows(point: Point, base: ModelSpec, summary: pd.DataFrame,
                 environment: dict[str, Any] | None = None) -> pd.DataFrame:  # fmt: skip
    """A trained point's summary rows (one per model) with the point's columns added, and the
    machine it ran on (from its environment.json): points of one sweep may run on several."""
    machine = {key: str(environment[key]) for key in MACHINE
               if environment and isinstance(environment.get(key), str)}  # fmt: skip
    return _ordered(summary.assign(**_point_columns(point, base), **machine))


MACHINE = ("hostname", "device")  # a trained point's machine, in the sweep's rows


def _point_columns(point: Point, base: ModelSpec) -> dict[str, Any]:
    training = {axis: getattr(point, axis) for axis in TRAIN_AXES if getattr(point, axis)}
    return {
        "point": point.slug,
        "kernel_size": point.kernel_size,
        "width": point.width,
        "blocks": point.blocks,
        "scaled_blocks": point.spec(base).blocks_text if point.blocks else None,
        **training,
    }


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    first = ["point", "kernel_size", "width", "blocks", "scaled_blocks", "model"]
    return frame[first + [c for c in frame.columns if c not in first]]


def ratios(rows: pd.DataFrame) -> pd.DataFrame:
    """A row per point with both models: its axes and every separable/normal ratio."""
    out = []
    for point, group in rows.groupby("point", sort=False):
        by_model = group.set_index("model")
        point_ratios = separable_over_normal(by_model)
        if not point_ratios:
            continue
        first = by_model.iloc[0]
        axes_here = {axis: first[axis] for axis in AXES if axis in first.index}
        out.append({"point": point, **axes_here, **point_ratios})
    return pd.DataFrame(out)


@dataclass(frozen=True, eq=False)
class SweepSummary:
    """A sweep: a row per point and model (each point's Summary rows, or params and MACs alone
    with summary_only) and, per point, every separable/normal ratio."""

    settings: dict[str, Any]  # the run's own RunSpec.as_dict()
    axes: dict[str, list[Any]]  # the values of each axis (grid.axes)
    rows: pd.DataFrame
    complete: bool = True
    summary_only: bool = False
    warnings: tuple[str, ...] = ()
    environment: dict[str, Any] = dataclasses.field(default_factory=dict)
    # sha256 of your own --arch builder file: resume runs it only when you give it again
    arch_sha256: str | None = None
    plan: tuple[str, ...] = ()  # every point's slug, in the plan's order (spec/grid.py)
    kind: ClassVar[FolderKind] = FolderKind.sweep

    @property
    def missing(self) -> list[str]:
        """The plan's points with no rows yet (not trained yet, or still training elsewhere)."""
        present = set(self.rows["point"]) if "point" in self.rows.columns else set()
        return [slug for slug in self.plan if slug not in present]

    @property
    def machines(self) -> list[str]:
        """The hosts the trained points ran on, each once."""
        if "hostname" not in self.rows.columns:
            return []
        return list(dict.fromkeys(str(h) for h in self.rows["hostname"].dropna()))

    @property
    def ratios(self) -> pd.DataFrame:
        """A row per point: its axes and every separable/normal ratio."""
        return ratios(self.rows)

    @property
    def points(self) -> int:
        """How many points the sweep has (finished or not)."""
        count = 1
        for values in self.axes.values():
            count *= max(1, len(values))
        return count

    @property
    def status(self) -> str:
        """'complete' or 'incomplete'."""
        return "complete" if self.complete else "incomplete"

    @property
    def document(self) -> dict[str, Any]:
        """sweep.json's content (also what `sweep --json` prints)."""
        from dsbench._version import __version__

        return to_jsonable(
            {
                "dsbench_version": __version__,
                "command": "sweep",
                "status": self.status,
                "summary_only": self.summary_only,
                "settings": self.settings,
                "axes": self.axes,
                "rows": self.rows.to_dict(orient="records"),
                "ratios": self.ratios.to_dict(orient="records"),
                **({"plan": list(self.plan)} if self.plan else {}),
                **({"arch_sha256": self.arch_sha256} if self.arch_sha256 else {}),
            }
        )

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> SweepSummary:
        """A SweepSummary from a sweep.json already checked by schema.sweep."""
        return cls(dict(document.get("settings") or {}), dict(document["axes"]),
                   pd.DataFrame(document["rows"]), document.get("status") != "incomplete",
                   bool(document.get("summary_only", False)),
                   arch_sha256=document.get("arch_sha256"),
                   plan=tuple(document.get("plan") or ()))  # fmt: skip

    def report_rows(self) -> pd.DataFrame:
        """A row per point and model."""
        return self.rows.copy()


def sweep_summary(
    spec: RunSpec, points: list[Point], rows: pd.DataFrame, complete: bool,
    summary_only: bool = False,
) -> SweepSummary:  # fmt: skip
    """The SweepSummary of `points` so far."""
    from dsbench.models.twin import content_hash

    return SweepSummary(
        spec.as_dict(),
        axes(points),
        rows,
        complete,
        summary_only,
        arch_sha256=content_hash(spec.model.arch) if spec.model.arch else None,
        plan=tuple(point.slug for point in points),
    )
