"""A sweep's grid: its axes (kernel size, width, blocks; backend, batch size, precision), the
points they make, in a deterministic order, validated before anything runs."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

from dsbench.errors import DsbenchError
from dsbench.spec.blocks import format_blocks, parse_blocks
from dsbench.spec.settings import BACKENDS, PRECISIONS, ModelSpec, RunSpec
from dsbench.spec.values import parse_number_list, whole_number

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


def swept_of(values: dict[str, list[Any]]) -> list[str]:
    """The axes that take more than one value, from each axis' values (`axes`)."""
    return [axis for axis in (*TRAIN_AXES, *MODEL_AXES) if len(values.get(axis, [])) > 1]
