"""Figures with their intervals, drawn as SVG for the results page (matplotlib, Agg backend).

Each chart takes plain items — a label, a value and its interval — so one drawing serves a
comparison, a sweep, a bench and a baseline: `bars` for each model's own figure (a bar with its
whiskers), `forest` for separable/normal ratios or new/old changes (a dot with its whiskers
against the line of no difference). `svg` turns any matplotlib figure into markup that can sit
inside an HTML page: no XML prologue, no namespace URLs, ids unique per page.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

COLOURS = {"normal": "#1f77b4", "separable": "#ff7f0e"}
OTHER = "#555555"


@dataclass(frozen=True)
class Item:
    """One figure to draw: `low`/`high` its interval (None: drawn without whiskers)."""

    label: str
    value: float
    low: float | None = None
    high: float | None = None
    model: str = ""


def finite(value: Any) -> float | None:
    """`value` as a float, or None when it is missing, not a number or infinite."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def item(label: str, value: Any, low: Any = None, high: Any = None, model: str = "") -> Item | None:
    """An Item, or None when there is no finite value to draw (whiskers only when both ends
    are finite and hold the value)."""
    centre, lo, hi = finite(value), finite(low), finite(high)
    if centre is None:
        return None
    if lo is None or hi is None or not lo <= centre <= hi:
        lo = hi = None
    return Item(label, centre, lo, hi, model)


_COUNT = [0]  # charts drawn on the page being made: each one's ids are salted with its number


def start_page() -> None:
    """Number the next page's charts from 1 again, so one folder always gives the same page."""
    _COUNT[0] = 0


def svg(draw: Callable[[Any], None], width: float, height: float) -> str:
    """A figure drawn by `draw(fig)` as inline SVG markup: text kept as text (searchable,
    small), every id salted so two charts on one page never share one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _COUNT[0] += 1
    salt = f"c{_COUNT[0]}"
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig = plt.figure(figsize=(width, height))
        try:
            draw(fig)
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None,
                                                         "Format": None, "Type": None})  # fmt: skip
        finally:
            plt.close(fig)
    return inline(buffer.getvalue(), salt)


def inline(markup: str, salt: str = "") -> str:
    """SVG text as an HTML page holds it: from `<svg` on, without the namespace declarations an
    HTML parser supplies itself; CSS shrinks it to the page (the viewBox keeps its proportions)."""
    markup = markup[markup.index("<svg") :]
    markup = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", markup)
    markup = re.sub(r"<metadata>.*?</metadata>", "", markup, flags=re.DOTALL)
    return markup.replace("<svg", f'<svg class="chart" role="img" data-chart="{salt}"', 1)


def _rows(items: Sequence[Item]) -> float:
    return max(1.6, 0.42 * len(items) + 1.0)


def _whiskers(ax: Any, items: Sequence[Item], ys: list[int]) -> None:
    for y, it in zip(ys, items, strict=True):
        if it.low is not None and it.high is not None:
            ax.errorbar(it.value, y, xerr=[[it.value - it.low], [it.high - it.value]], fmt="none",
                        ecolor="black", elinewidth=1.2, capsize=4)  # fmt: skip


def bars(items: Sequence[Item], xlabel: str, title: str) -> str:
    """A horizontal bar per item (coloured by model), whiskers for its interval or range."""

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        ys = list(range(len(items)))[::-1]
        ax.barh(ys, [it.value for it in items], color=[COLOURS.get(it.model, OTHER)
                                                         for it in items], alpha=0.85)  # fmt: skip
        _whiskers(ax, items, ys)
        ax.set_yticks(ys, [it.label for it in items], fontsize=8)
        ax.set(xlabel=xlabel, title=title)
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()

    return svg(draw, 6.4, _rows(items))


def forest(items: Sequence[Item], xlabel: str, title: str, reference: float,
           log: bool) -> str:  # fmt: skip
    """A dot per item with its 95% interval as whiskers, against the line at `reference` (1 for
    a ratio, on a log scale when `log` and the values span more than 4x; 0 for a difference):
    an interval crossing the line is not resolved."""

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        ys = list(range(len(items)))[::-1]
        _whiskers(ax, items, ys)
        ax.scatter([it.value for it in items], ys, zorder=3, s=28,
                   color=[COLOURS.get(it.model, OTHER) for it in items])  # fmt: skip
        ax.axvline(reference, color="grey", linewidth=1, linestyle="--")
        ends = [v for it in items for v in (it.value, it.low, it.high) if v is not None]
        scale = ""
        if log and min(ends) > 0 and max(ends) / min(ends) > 4:  # narrower: a linear axis
            from matplotlib.ticker import FormatStrFormatter, LogLocator

            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.xaxis.set_minor_formatter(FormatStrFormatter(""))
            scale = " (log scale)"
        ax.set_yticks(ys, [it.label for it in items], fontsize=8)
        ax.set_ylim(-0.7, len(items) - 0.3)
        ax.set(xlabel=xlabel + scale, title=title)
        ax.grid(axis="x", alpha=0.3, which="both")
        fig.tight_layout()

    return svg(draw, 6.4, _rows(items))
