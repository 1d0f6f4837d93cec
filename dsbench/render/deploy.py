"""deploy's tables: a row per format, precision and thread count with both models' size and
batch-1 latency, then their images/s fed a batch at a time, each with the separable/normal
ratio; then the accuracy each export keeps. Each table comes with narrower variants (intervals
left to the ratios) for a narrow terminal."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table

from dsbench.render.comparison import difference
from dsbench.render.format import count, missing, printable

if TYPE_CHECKING:
    import pandas as pd

NAMES = {("litert", "float32"): "LiteRT float32", ("litert", "dynamic_int8"): "LiteRT dyn. int8",
         ("litert", "int8"): "LiteRT int8", ("onnx", "float32"): "ONNX float32"}  # fmt: skip
Row = dict[str, Any]
Cell = Callable[[Row, Row], str]  # (normal's row, separable's row) -> the cell


def _f(value: Any) -> float:
    return float(value)


def _figure(row: Row, key: str, digits: int, bounds: bool) -> str:
    """'1.23 [1.20, 1.31]' (or '1.23' without `bounds`): a figure and its 95% interval."""
    if missing(row.get(key)):
        return "–"
    shown = f"{_f(row[key]):,.{digits}f}"
    low, high = row.get(f"{key}_low"), row.get(f"{key}_high")
    if not bounds or missing(low) or missing(high):
        return shown
    return f"{shown} [{_f(low):,.{digits}f}, {_f(high):,.{digits}f}]"


def _ratio(row: Row, key: str) -> str:
    """'0.12x [0.11, 0.13]', or with ', not resolved' when the interval holds 1."""
    if missing(row.get(key)):
        return "–"
    value, low, high = row[key], row.get(f"{key}_low"), row.get(f"{key}_high")
    if missing(low) or missing(high):
        return f"{_f(value):.2f}x"
    bounds = f"{_f(value):.2f}x [{_f(low):.2f}, {_f(high):.2f}]"
    return f"{bounds}, not resolved" if _f(low) <= 1 <= _f(high) else bounds


def _kept(row: Row) -> str:
    """'0.6210 (−0.002 [−0.006, +0.002])': the export's accuracy and its change from Keras."""
    if missing(row.get("accuracy")):
        return "not measured"
    shown = f"{_f(row['accuracy']):.4f}"
    diff, low, high = (row.get(k) for k in ("accuracy_difference", "accuracy_difference_low",
                                             "accuracy_difference_high"))  # fmt: skip
    if missing(diff) or missing(low) or missing(high):
        return shown
    return f"{shown} ({difference(diff, low, high)})"


def _kilobytes(row: Row) -> str:
    value = row.get("size_bytes")
    return "–" if missing(value) else count(round(_f(value) / 1000))


def _pairs(rows: Sequence[Row]) -> dict[tuple[Any, ...], dict[str, Row]]:
    """The rows by (format, precision, threads), each as {model: row}."""
    by_key: dict[tuple[Any, ...], dict[str, Row]] = {}
    for row in rows:
        key = (row.get("format"), row.get("precision"), row.get("threads"))
        by_key.setdefault(key, {})[str(row.get("model"))] = row
    return by_key


def _name(form: Any, precision: Any) -> str:
    return NAMES.get((form, precision), printable(f"{form} {precision}"))


def _table(rows: Sequence[Row], title: str, columns: dict[str, Cell], caption: str,
           per_thread: bool = True) -> Table:  # fmt: skip
    """A row per export (and thread count, with `per_thread`), a column per cell function;
    figures are never wrapped (render.fit picks a narrower variant instead) but accuracy kept."""
    table = Table(title=printable(title), title_justify="left", caption=caption)
    first = "export, threads" if per_thread else "export"
    table.add_column(first, no_wrap=per_thread)
    for header in columns:
        table.add_column(header, justify="right", no_wrap=per_thread)
    shown = set()
    for (form, precision, threads), pair in _pairs(rows).items():
        if not per_thread and (form, precision) in shown:
            continue  # the same at every thread count: the first is shown
        shown.add((form, precision))
        normal, separable = pair.get("normal", {}), pair.get("separable", {})
        name = f"{_name(form, precision)}, {printable(threads)}" if per_thread else _name(
            form, precision)  # fmt: skip
        table.add_row(name, *(cell(normal, separable) for cell in columns.values()))
    return table


def _latency(rows: Sequence[Row], title: str, bounds: bool) -> Table:
    columns: dict[str, Cell] = {
        "kB N / S": lambda n, s: f"{_kilobytes(n)} / {_kilobytes(s)}",
        "ms N": lambda n, s: _figure(n, "latency_ms", 2, bounds),
        "ms S": lambda n, s: _figure(s, "latency_ms", 2, bounds),
        "S/N ms": lambda n, s: _ratio(s, "latency_ratio"),
    }
    return _table(rows, title, columns, "kB: file size; ms: batch-1 latency, median over chunks "
                  "timed in alternating order" + (" [95% interval]" if bounds else "") + "; S/N "
                  "ms: median of adjacent chunk ratios [95% interval]; below 1: separable "
                  "answers sooner")  # fmt: skip


def _throughput(rows: Sequence[Row], bounds: bool) -> Table:
    batch = next((r["throughput_batch"] for r in rows if not missing(r.get("throughput_batch"))),
                 None)  # fmt: skip
    columns: dict[str, Cell] = {
        "img/s N": lambda n, s: _figure(n, "images_per_s", 0, bounds),
        "img/s S": lambda n, s: _figure(s, "images_per_s", 0, bounds),
        "S/N img/s": lambda n, s: _ratio(s, "images_per_s_ratio"),
    }
    return _table(rows, f"images/s fed {count(batch)} at a time", columns, "img/s: images per "
                  "second, median over chunks" + (" [95% interval]" if bounds else "") + "; S/N "
                  "img/s: median of adjacent chunk ratios [95% interval]; above 1: separable gets "
                  "through more")  # fmt: skip


def deploy_tables(rows: Sequence[Row], title: str) -> list[list[Table]]:
    """deploy's tables, each as its variants, widest first (render.fit picks the one that
    fits): size and batch-1 latency (95% intervals) with the separable/normal ratio; images/s
    fed a batch at a time; for trained models, the accuracy each export keeps against its Keras
    model. Rows from before throughput was measured get no throughput table."""
    tables = [[_latency(rows, title, True), _latency(rows, title, False)]]
    if rows and not missing(rows[0].get("throughput_batch")):
        tables.append([_throughput(rows, True), _throughput(rows, False)])
    if not any(not missing(row.get("accuracy")) for row in rows):
        tables[0][0].caption = f"{tables[0][0].caption}; accuracy not measured (untrained models)"
        return tables
    columns: dict[str, Cell] = {"acc N (vs Keras)": lambda n, s: _kept(n),
                                "acc S (vs Keras)": lambda n, s: _kept(s)}  # fmt: skip
    kept = _table(rows, "accuracy each export keeps", columns, "acc: test accuracy of the export, "
                  "and its change from the Keras model on the same images [95%, paired]",
                  per_thread=False)  # fmt: skip
    return [*tables, [kept]]


def by_folder(deployed: pd.DataFrame) -> list[tuple[str, list[Row]]]:
    """A report's deploy rows (Report.deploy) per folder: its title and its rows."""
    return [(f"deploy: {run}: {rows['weights'].iloc[0]}", rows.to_dict(orient="records"))
            for run, rows in deployed.groupby("run", sort=False)]  # fmt: skip
