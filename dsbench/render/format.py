"""Numbers and text as dsbench prints them: counts, SI prefixes, sizes, fixed decimals, ratios, and text
from files made safe for a terminal. Plain functions, no Rich console."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.markup import escape

if TYPE_CHECKING:
    from dsbench.measure import stats


def missing(value: Any) -> bool:
    """None or NaN: a figure that was not measured (shown as '–')."""
    return value is None or (isinstance(value, float) and math.isnan(value))


# Control characters (terminal escape sequences among them) and bidirectional overrides.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: Any, lines: bool = False) -> str:
    """Text read from a file or a path, safe on any terminal: control characters (escape
    sequences) become '?', bytes that are not UTF-8 become '?'; `lines` keeps line breaks
    (a two-line table cell of dsbench's own)."""
    text = str(text).encode("utf-8", "replace").decode("utf-8")
    if lines:
        return "\n".join(CONTROL.sub("?", line) for line in text.split("\n"))
    return CONTROL.sub("?", text)


def inert(text: Any) -> str:
    """`printable` text for a place where Rich reads markup: '[' is shown, not interpreted."""
    return escape(printable(text))


def count(value: Any) -> str:
    """1186378 -> '1,186,378'."""
    return "–" if missing(value) else f"{int(value):,}"


def si(value: Any) -> str:
    """A count with an SI prefix and two decimals: 152828928 -> '152.83 M', 1222442240 ->
    '1.22 G', 262144 -> '262.14 k'."""
    if missing(value):
        return "–"
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}"
    return f"{value:g}"


def megabytes(value: Any) -> str:
    """A size in bytes as MB (10^6 bytes): 4792107 -> '4.79 MB'."""
    return "–" if missing(value) else f"{value / 1e6:,.2f} MB"


def fixed(digits: int) -> Callable[[Any], str]:
    """A formatter with `digits` decimals."""
    return lambda value: "–" if missing(value) else f"{value:,.{digits}f}"


def epoch_number(value: Any) -> str:
    """An epoch number: 3 -> '3'; a mean over repeats keeps one decimal: 2.5 -> '2.5'."""
    if missing(value):
        return "–"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def percent(value: Any) -> str:
    """0.423 -> '42%'."""
    return "–" if missing(value) else f"{value:.0%}"


def plural(n: int, word: str) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def ratio(value: Any) -> str:
    """0.1473 -> '0.147x'."""
    return "–" if missing(value) else f"{value:.3f}x"


def axis_value(value: Any) -> str:
    """A sweep axis' value in a cell: 512 (not 512.0), '–' where the point has none."""
    if missing(value):
        return "–"
    return f"{value:g}" if isinstance(value, float) else str(value)


# The formats a measure.summary.Metric names.
FORMATS: dict[str, Callable[[Any], str]] = {
    "text": str, "count": count, "si": si, "megabytes": megabytes, "fixed0": fixed(0), "fixed1": fixed(1),
    "fixed2": fixed(2), "fixed4": fixed(4), "percent": percent, "epoch": epoch_number,
}  # fmt: skip


def significant(value: float, interval: stats.Interval | None = None, unit: str = "x") -> str:
    """`value` with as many digits as its interval supports: ±20% gets 2 significant digits,
    ±2% 3, tighter 4; without an interval, 3. E.g. 0.3612 with ±15% -> '0.36x'."""
    if value is None or not math.isfinite(value):
        return "–"
    half = interval.half_width if interval is not None else math.nan
    digits = 3 if not math.isfinite(half) else 2 if half >= 0.05 else 3 if half >= 0.005 else 4
    return f"{_round_sig(value, digits)}{unit}"


def _round_sig(value: float, digits: int) -> str:
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def format_interval(interval: stats.Interval, unit: str = "x") -> str:
    """'0.36x [0.33, 0.40]', digits following the interval; the median alone when unresolved."""
    text = significant(interval.median, interval, unit)
    if not math.isfinite(interval.low):
        return text
    digits = significant(interval.median, interval, "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return f"{text} [{interval.low:.{decimals}f}, {interval.high:.{decimals}f}]"
