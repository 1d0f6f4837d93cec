"""Sweeps: where do separable convolutions start to win? Points over kernel size, width, depth,
and over the Keras backend, the batch size and the numeric precision.

A sweep is the cartesian product of the axes given (kernel sizes, width multipliers, block
lists, backends, batch sizes, precisions); every point is one normal/separable comparison with
the run's other settings. Each point trains into its own results folder under points/, so an
interrupted sweep keeps its finished points and resumes like `compare`. A point whose backend
is not the one this process runs trains in a worker process of its own (Keras picks its
backend once per process).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from dsbench.config import parse_number_list, whole_number
from dsbench.errors import DsbenchError
from dsbench.figures import separable_over_normal
from dsbench.records import to_jsonable
from dsbench.results import FolderKind
from dsbench.settings import BACKENDS, PRECISIONS, ModelSpec, RunSpec, format_blocks, parse_blocks

MODEL_AXES = ("kernel_size", "width", "blocks")
TRAIN_AXES = ("backend", "batch_size", "precision")  # None at a point: the run's own setting
AXES = (*MODEL_AXES, *TRAIN_AXES)


@dataclass(frozen=True)
class Point:
    """One architecture (and, when swept, backend, batch size and precision) of a sweep.

    For your own --arch, kernel_size and width are the builder's keyword arguments when swept
    (None when not) and blocks is None: the builder decides its own layers."""

    kernel_size: int | None
    width: float | None
    blocks: str | None  # the unscaled blocks, in --blocks notation
    backend: str | None = None
    batch_size: int | None = None
    precision: str | None = None

    def run_spec(self, spec: RunSpec) -> RunSpec:
        """The whole spec of this point: its model, and its training axes over the run's."""
        swept = {axis: getattr(self, axis) for axis in TRAIN_AXES if getattr(self, axis)}
        train = dataclasses.replace(spec.train, **swept)
        if (
            self.backend
            and self.backend != spec.train.backend
            and spec.train.jit is (spec.train.backend == "jax")
        ):  # the run's jit was its backend's default: take this backend's default instead
            train = dataclasses.replace(train, jit=self.backend == "jax")
        return dataclasses.replace(spec, model=self.spec(spec.model), train=train)

    def spec(self, base: ModelSpec) -> ModelSpec:
        """The model spec of this point: base spec, this point's kernel and blocks, scaled (or,
        for your own --arch, its kernel_size and width as the builder's keyword arguments)."""
        if base.arch:
            return base.with_options(kernel_size=self.kernel_size, width=self.width)
        assert self.kernel_size is not None and self.width is not None and self.blocks
        spec = dataclasses.replace(
            base, kernel_size=self.kernel_size, blocks=parse_blocks(self.blocks)
        )
        return spec.scaled(self.width)

    def label(self, base: ModelSpec) -> str:
        """What the point is, from the values it trains with: 'kernel 3, width 0.5 (blocks
        32x2,64x2,128x2)', and its training axes."""
        parts = [f"kernel {self.kernel_size}"] if self.kernel_size is not None else []
        parts += [f"width {self.width:g}"] if self.width is not None else []
        parts += [f"{axis.replace('_', ' ')} {getattr(self, axis)}" for axis in TRAIN_AXES
                  if getattr(self, axis)]  # fmt: skip
        blocks = f" (blocks {self.spec(base).blocks_text})" if self.blocks else ""
        return f"{', '.join(parts) or 'your arch'}{blocks}"

    @property
    def slug(self) -> str:
        """A folder name for the point's results."""
        model = (f"k{self.kernel_size}" if self.kernel_size is not None else None,
                 f"w{self.width:g}" if self.width is not None else None,
                 f"b{self.blocks.replace(',', '_')}" if self.blocks else None)  # fmt: skip
        training = (self.backend, f"bs{self.batch_size}" if self.batch_size else None,
                    self.precision)  # fmt: skip
        return "-".join(part for part in (*model, *training) if part) or "arch"


def expand(
    base: ModelSpec,
    kernel_sizes: list[int] | None,
    widths: list[float] | None,
    blocks: list[str] | None,
    backends: list[str] | None = None,
    batch_sizes: list[int] | None = None,
    precisions: list[str] | None = None,
) -> list[Point]:
    """The cartesian product of the given axes; an axis not given keeps the base value (for
    your own --arch, None: the builder's own default)."""
    own = bool(base.arch)
    kernels: list[int | None] = (
        [*kernel_sizes] if kernel_sizes else [None if own else base.kernel_size]
    )
    scales: list[float | None] = [*widths] if widths else [None if own else 1.0]
    block_lists: list[str | None] = (
        [*blocks] if blocks else [None if own else format_blocks(base.blocks)]
    )
    return list(
        dict.fromkeys(  # a value given twice ('3,3') is one point
            Point(k, None if w is None else float(w), b, backend, batch, precision)
            for backend, precision, batch, k, w, b in itertools.product(
                _or_none(backends),
                _or_none(precisions),
                _or_none(batch_sizes),
                kernels,
                scales,
                block_lists,
            )
        )
    )  # backend outermost: a sweep's points of one backend run one after another


AxisValues = str | list[Any] | tuple[Any, ...] | None


def several(values: AxisValues) -> bool:
    """Whether an axis was given more than one value ("128,512", [128, 512])."""
    if isinstance(values, str):
        return len([v for v in values.split(",") if v.strip()]) > 1
    return values is not None and len(values) > 1


def first_value(values: AxisValues) -> Any:
    """The first value of an axis given as a list or as text ("128,512" -> "128")."""
    first = (
        values.split(",")[0].strip() if isinstance(values, str) else next(iter(values or [None]))
    )
    return int(first) if isinstance(first, str) and first.isdigit() else first


def _or_none(values: list[Any] | None) -> list[Any]:
    """An axis' values, or [None] (the run's own setting) when it is not swept."""
    return list(values) if values else [None]


def points_for(
    base: ModelSpec,
    kernel_size: AxisValues,
    width: AxisValues,
    blocks: AxisValues,
    backend: AxisValues = None,
    batch_size: AxisValues = None,
    precision: AxisValues = None,
) -> list[Point]:
    """Validated sweep points from axis values given as lists or as text ("3,5,7").

    `blocks` is a list of block lists ("64x2,128x2,256x2" each); every point is checked
    (e.g. too many blocks for the image) before anything runs.
    """
    kernels = parse_number_list(kernel_size, "kernel_size", whole_number) if kernel_size else None
    widths = parse_number_list(width, "width", float) if width else None
    batches = parse_number_list(batch_size, "batch_size", whole_number) if batch_size else None
    block_lists = [blocks] if isinstance(blocks, str) else list(blocks or [])
    if block_lists and base.arch:
        raise DsbenchError(f"blocks {', '.join(block_lists)} are the VGG's; arch {base.arch!r} "
                           "builds its own layers", "sweep kernel_size or width with arch: your "
                           "builder takes them as keyword arguments",
                           setting=("blocks", "arch"))  # fmt: skip
    block_lists = [format_blocks(parse_blocks(text)) for text in block_lists]
    backends = _choices(backend, "backend", BACKENDS)
    precisions = _choices(precision, "precision", PRECISIONS)
    points = expand(base, kernels, widths, block_lists or None, backends, batches, precisions)
    for point in points:
        point.spec(base)
    return points


def _choices(values: AxisValues, setting: str, allowed: tuple[str, ...]) -> list[str] | None:
    """'tensorflow,jax' or ["tensorflow", "jax"] for a sweep axis of names; None if not given."""
    if not values:
        return None
    names = [v.strip() for v in values.split(",")] if isinstance(values, str) else list(values)
    for name in names:
        if name not in allowed:
            raise DsbenchError(f"malformed {setting} {values!r}: {str(name)!r} is not one of "
                               f"{', '.join(allowed)}", setting=setting)  # fmt: skip
    return list(dict.fromkeys(names))


def axes(points: list[Point]) -> dict[str, list[Any]]:
    """The values of each axis over `points`, as sweep.json records them."""
    out: dict[str, list[Any]] = {}
    for axis in AXES:  # recorded only when given (the VGG's model axes always are)
        values = list(dict.fromkeys(getattr(p, axis) for p in points))
        if values != [None]:
            out[axis] = sorted(values) if axis in ("kernel_size", "width") else values
    return out


def swept_axes(points: list[Point]) -> list[str]:
    """The axes that take more than one value."""
    return swept_of(axes(points))


def swept_of(values: dict[str, list[Any]]) -> list[str]:
    """The axes that take more than one value, from each axis' values (`axes`)."""
    return [axis for axis in (*TRAIN_AXES, *MODEL_AXES) if len(values.get(axis, [])) > 1]


def summary_rows(points: list[Point], base: ModelSpec) -> pd.DataFrame:
    """Params and MACs of both models at every point, trained nothing (--summary-only)."""
    from dsbench.models import describe

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
    axes: dict[str, list[Any]]  # the values of each axis (sweeps.axes)
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

    def drawing(self) -> Callable[[Path], None] | None:
        """sweep.png's painter: the time, MAC and parameter ratios against each swept axis."""
        point_ratios = self.ratios
        if point_ratios.empty:
            return None
        swept = swept_of(self.axes)

        def draw(path: Path) -> None:
            from dsbench import plot

            plot.sweep(point_ratios, swept, path)

        return draw


def summary_of(
    spec: RunSpec, points: list[Point], rows: pd.DataFrame, complete: bool,
    summary_only: bool = False,
) -> SweepSummary:  # fmt: skip
    """The SweepSummary of `points` so far."""
    from dsbench.arch import content_hash

    return SweepSummary(
        spec.as_dict(),
        axes(points),
        rows,
        complete,
        summary_only,
        arch_sha256=content_hash(spec.model.arch) if spec.model.arch else None,
    )
