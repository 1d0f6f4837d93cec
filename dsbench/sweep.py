"""Sweeps: where do separable convolutions start to win? Points over kernel size, width, depth.

A sweep is the cartesian product of the axes given (kernel sizes, width multipliers, block
lists); every point is one normal/separable comparison with the same training settings. Each
point trains into its own results folder under points/, so an interrupted sweep keeps its
finished points and resumes like `compare`.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dsbench.config import KINDS, ModelSpec, format_blocks

AXES = ("kernel_size", "width", "blocks")


@dataclass(frozen=True)
class Point:
    """One architecture of a sweep."""

    kernel_size: int
    width: float
    blocks: str  # the unscaled blocks, in --blocks notation

    def spec(self, base: ModelSpec) -> ModelSpec:
        """The model spec of this point: base spec, this point's kernel and blocks, scaled."""
        from dsbench.config import parse_blocks

        spec = dataclasses.replace(
            base, kernel_size=self.kernel_size, blocks=parse_blocks(self.blocks)
        )
        return spec.scaled(self.width)

    @property
    def slug(self) -> str:
        """A folder name for the point's results."""
        return f"k{self.kernel_size}-w{self.width:g}-b{self.blocks.replace(',', '_')}"


def expand(
    base: ModelSpec,
    kernel_sizes: list[int] | None,
    widths: list[float] | None,
    blocks: list[str] | None,
) -> list[Point]:
    """The cartesian product of the given axes; an axis not given keeps the base value."""
    return [
        Point(k, float(w), b)
        for k, w, b in itertools.product(
            kernel_sizes or [base.kernel_size],
            widths or [1.0],
            blocks or [format_blocks(base.blocks)],
        )
    ]


def swept_axes(points: list[Point]) -> list[str]:
    """The axes that take more than one value."""
    return [axis for axis in AXES if len({getattr(p, axis) for p in points}) > 1]


def summary_rows(points: list[Point], base: ModelSpec) -> pd.DataFrame:
    """Params and MACs of both models at every point, trained nothing (--summary-only)."""
    from dsbench.models import describe

    frames = []
    for point in points:
        models, _ = describe(point.spec(base))
        frames.append(models.assign(**_point_columns(point, base)))
    return _ordered(pd.concat(frames, ignore_index=True))


def trained_rows(point: Point, base: ModelSpec, summary: pd.DataFrame) -> pd.DataFrame:
    """A trained point's summary rows (one per model) with the point's columns added."""
    return _ordered(summary.assign(**_point_columns(point, base)))


def _point_columns(point: Point, base: ModelSpec) -> dict[str, Any]:
    return {
        "point": point.slug,
        "kernel_size": point.kernel_size,
        "width": point.width,
        "blocks": point.blocks,
        "scaled_blocks": point.spec(base).blocks_text,
    }


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    first = ["point", "kernel_size", "width", "blocks", "scaled_blocks", "model"]
    return frame[first + [c for c in frame.columns if c not in first]]


RATIO_COLUMNS = {
    "params": "params_ratio",
    "macs_per_image": "macs_ratio",
    "steady_epoch_s": "time_ratio",
    "best_val_acc": "acc_ratio",
}


def ratios(rows: pd.DataFrame) -> pd.DataFrame:
    """A row per point: separable/normal ratio of params, MACs, steady epoch time, accuracy."""
    out = []
    for point, group in rows.groupby("point", sort=False):
        by_model = group.set_index("model")
        if not set(KINDS) <= set(by_model.index):
            continue
        row: dict[str, Any] = {axis: by_model.iloc[0][axis] for axis in ("point", *AXES)}
        row["point"] = point
        for column, name in RATIO_COLUMNS.items():
            if column in by_model.columns:
                normal = by_model.loc["normal", column]
                row[name] = by_model.loc["separable", column] / normal if normal else float("nan")
        out.append(row)
    return pd.DataFrame(out)
