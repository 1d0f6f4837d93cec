"""deploy's table: a row per format, precision and thread count; both models' size, batch-1
latency and the accuracy each export keeps, then the separable/normal ratios."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from dsbench.render.comparison import difference
from dsbench.render.format import count, missing, printable

NAMES = {("litert", "float32"): "LiteRT float32", ("litert", "dynamic_int8"): "LiteRT dyn. int8",
         ("litert", "int8"): "LiteRT int8", ("onnx", "float32"): "ONNX float32"}  # fmt: skip


def _f(value: Any) -> float:
    return float(value)


def _number(value: Any, digits: int = 2) -> str:
    return "–" if missing(value) else f"{_f(value):.{digits}f}"


def _latency(row: dict[str, Any]) -> str:
    """'1.23 [1.20, 1.31]' ms."""
    if missing(row.get("latency_ms")):
        return "–"
    low, high = row.get("latency_ms_low"), row.get("latency_ms_high")
    bounds = "" if missing(low) or missing(high) else f" [{_number(low)}, {_number(high)}]"
    return _number(row["latency_ms"]) + bounds


def _kept(row: dict[str, Any]) -> str:
    """'0.6210 (−0.002 [−0.006, +0.002])': the export's accuracy and its change from Keras."""
    if missing(row.get("accuracy")):
        return "not measured"
    shown = f"{_f(row['accuracy']):.4f}"
    diff, low, high = (row.get(k) for k in ("accuracy_difference", "accuracy_difference_low",
                                             "accuracy_difference_high"))  # fmt: skip
    if missing(diff) or missing(low) or missing(high):
        return shown
    return f"{shown} ({difference(diff, low, high)})"


def _ratio(row: dict[str, Any]) -> str:
    value = row.get("latency_ratio")
    if missing(value):
        return "–"
    low, high = row.get("latency_ratio_low"), row.get("latency_ratio_high")
    if missing(low) or missing(high):
        return f"{_f(value):.2f}x"
    bounds = f"{_f(value):.2f}x [{_f(low):.2f}, {_f(high):.2f}]"
    return f"{bounds}, not resolved" if _f(low) <= 1 <= _f(high) else bounds


def deploy_table(rows: Sequence[dict[str, Any]], title: str) -> Table:
    """A row per export and thread count: each model's size and batch-1 latency (95%
    interval), the separable/normal latency ratio, and, for trained models, the accuracy each
    export keeps against its Keras model."""
    trained = any(not missing(row.get("accuracy")) for row in rows)
    table = Table(title=printable(title), title_justify="left")
    headers = ["export, threads", "kB N / S", "ms N", "ms S", "S/N ms"]
    headers += ["acc N (vs Keras)", "acc S (vs Keras)"] if trained else []
    for header in headers:
        table.add_column(header, justify="left" if header == "export, threads" else "right")
    by_key: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for row in rows:
        key = (row.get("format"), row.get("precision"), row.get("threads"))
        by_key.setdefault(key, {})[str(row.get("model"))] = row
    for (form, precision, threads), pair in by_key.items():
        normal, separable = pair.get("normal", {}), pair.get("separable", {})
        size = f"{_kilobytes(normal.get('size_bytes'))} / {_kilobytes(separable.get('size_bytes'))}"
        cells = [f"{NAMES.get((form, precision), printable(f'{form} {precision}'))}, "
                 f"{printable(threads)}", size, _latency(normal), _latency(separable),
                 _ratio(separable)]  # fmt: skip
        table.add_row(*cells, *([_kept(normal), _kept(separable)] if trained else []))
    table.caption = ("kB: file size; ms: batch-1 latency, median over chunks timed in "
                     "alternating order [95% interval]; S/N ms: median of adjacent chunk ratios "
                     "[95% interval]" + ("; acc: test accuracy of the export, and its change "
                                          "from the Keras model on the same images [95%, "
                                          "paired]" if trained else
                                          "; accuracy not measured (untrained models)"))  # fmt: skip
    return table


def _kilobytes(value: Any) -> str:
    return "–" if missing(value) else count(round(_f(value) / 1000))
