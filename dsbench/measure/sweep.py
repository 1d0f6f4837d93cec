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


def trained_rows(point: Point, base: ModelSpec, summary: pd.DataFrame) -> pd.DataFrame:
    """A trained point's summary rows (one per model) with the point's columns added."""
    return _ordered(summary.assign(**_point_columns(point, base)))


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
    kind: ClassVar[FolderKind] = FolderKind.sweep

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
                **({"arch_sha256": self.arch_sha256} if self.arch_sha256 else {}),
            }
        )

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> SweepSummary:
        """A SweepSummary from a sweep.json already checked by schema.sweep."""
        return cls(dict(document.get("settings") or {}), dict(document["axes"]),
                   pd.DataFrame(document["rows"]), document.get("status") != "incomplete",
                   bool(document.get("summary_only", False)),
                   arch_sha256=document.get("arch_sha256"))  # fmt: skip

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
    )
