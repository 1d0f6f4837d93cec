"""A sweep's tables: its points with both models' figures and their ratios, and its plan (the
points in the order they run, each one's shard and state) before anything trains."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from dsbench.render.comparison import cell, ratio_cell
from dsbench.render.format import axis_value, count, fixed, plural, printable, ratio, si


def machine(row: Any) -> str:
    """Where a point ran: its host, and its device in a few words."""
    host = row.get("hostname")
    device = str(row.get("device") or "").removeprefix("device: ").split(";")[0]
    return " ".join(str(part) for part in (host, f"({device})" if device else None)
                    if part and part == part)  # fmt: skip


def sweep_table(rows: pd.DataFrame, ratios: pd.DataFrame, title: str) -> Table:
    """A row per sweep point: both models' figures and the separable/normal ratios."""
    table = Table(title=title, title_justify="left")
    trained = "steady_epoch_s" in rows.columns

    def present(axes: tuple[str, ...]) -> list[str]:  # your own --arch has only those given
        return [axis for axis in axes if axis in ratios.columns and ratios[axis].notna().any()]

    model_axes, training = present(("kernel_size", "width")), present(("backend", "batch_size",
                                                                        "precision"))  # fmt: skip
    blocks = "scaled_blocks" in rows.columns and rows["scaled_blocks"].notna().any()
    names = {"kernel_size": "kernel", "width": "width", "backend": "backend",
             "batch_size": "batch", "precision": "precision"}  # fmt: skip
    # points that ran on several machines: each row says where (times are that machine's)
    hosts = "hostname" in rows.columns and rows["hostname"].dropna().nunique() > 1
    headers = [*(names[a] for a in model_axes), *(["blocks"] if blocks else []),
               *(names[a] for a in training), *(["machine"] if hosts else []),
               "params N / S", "MACs N / S"]  # fmt: skip
    if trained:
        headers += ["steady s/epoch N / S", "best val acc N / S"]
    headers += ["params ratio", "MACs ratio"] + (["time ratio", "acc S − N"] if trained else [])
    for header in headers:
        left = header in ("blocks", "backend", "precision", "machine")
        table.add_column(header, justify="left" if left else "right", no_wrap=True)
    for ratio_row in ratios.itertuples():
        group = rows[rows["point"] == ratio_row.point].set_index("model")
        normal, separable = group.loc["normal"], group.loc["separable"]

        def pair(
            column: str, fmt: Callable[[Any], str], n: Any = normal, s: Any = separable
        ) -> str:
            return f"{cell(n, column, fmt)} / {cell(s, column, fmt)}"

        cells: list[str | Text] = [
            *(axis_value(getattr(ratio_row, axis)) for axis in model_axes),
            *([Text(printable(normal["scaled_blocks"]))] if blocks else []),
            *(Text(printable(axis_value(getattr(ratio_row, axis)))) for axis in training),
            *([Text(printable(machine(normal)))] if hosts else []),
            pair("params", count),
            pair("macs_per_image", si),
        ]
        if trained:
            cells += [pair("steady_epoch_s", fixed(2)), pair("best_val_acc", fixed(4))]
        cells += [ratio(ratio_row.params_ratio), ratio(ratio_row.macs_ratio)]
        if trained:  # as compare shows them: with their intervals, or why not resolved
            point = rows[rows["point"] == ratio_row.point]
            cells += [ratio_cell(point, "steady_epoch_s"),
                      ratio_cell(point, "best_val_acc").removeprefix("diff ")]  # fmt: skip
        table.add_row(*cells)
    table.caption = "N = normal, S = separable; ratios are separable / normal" + (
        "; time ratio and acc S − N with their 95% intervals, each 95% on its own"
        if trained
        else ""
    )
    return table


def sweep_title(points: int, summary_only: bool, dataset: str, epochs: int, batch: int) -> str:
    """The title of a sweep table."""
    if summary_only:
        return f"dsbench sweep: {points} points (params and MACs only)"
    return f"dsbench sweep: {plural(points, 'point')}, {dataset}, {plural(epochs, 'epoch')}, batch {batch}"


def plan_table(plan: pd.DataFrame, title: str) -> Table:
    """A row per point in the order a sweep runs them: its name (its folder under points/),
    what it is, and, where known, its shard and its state in the results folder."""
    table = Table(title=title, title_justify="left")
    columns = [("#", "position"), ("shard", "shard"), ("point", "point"), ("what", "label"),
               ("state", "state")]  # fmt: skip
    shown = [(header, column) for header, column in columns if column in plan.columns]
    for header, _ in shown:
        table.add_column(header, justify="right" if header in ("#", "shard") else "left")
    for row in plan.to_dict(orient="records"):
        mine = bool(row.get("this_shard", True))
        if "this_shard" in row:
            row["shard"] = f"{row['shard']}{' *' if mine else ''}"
        table.add_row(*(Text(printable(row[column]), style="" if mine else "dim")
                        for _, column in shown))  # fmt: skip
    if "this_shard" in plan.columns:
        table.caption = "* this shard's points"
    return table
