"""`summary`: the models' table and each model's layers. Imports neither pandas nor a
framework, so `dsbench summary` starts fast."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from dsbench.render.format import count, plural, ratio, si
from dsbench.render.layout import fit, warn
from dsbench.spec.settings import network_name

if TYPE_CHECKING:
    from dsbench.spec.settings import ModelSpec


def summary_table(models: Iterable[dict[str, Any]], title: str) -> Table:
    """A row per model: params, MACs and FLOPs per image, and both as ratios to normal."""
    table = Table(title=title, title_justify="left")
    table.add_column("model")
    for header in (
        "params",
        "MACs / image",
        "FLOPs / image (2xMACs)",
        "activations / image",
        "params vs normal",
        "MACs vs normal",
    ):
        table.add_column(header, justify="right", no_wrap=True)
    for row in models:
        table.add_row(
            row["model"],
            count(row["params"]),
            si(row["macs_per_image"]),
            si(row["flops_per_image"]),
            count(row["activations_per_image"]),
            ratio(row["params_ratio"]),
            ratio(row["macs_ratio"]),
        )
    return table


def layers_table(layers: Iterable[dict[str, Any]], kind: str, compact: bool = False) -> Table:
    """The per-layer breakdown of one model: output shape, params, MACs for one image and their
    share, each separable layer followed by its depthwise and pointwise halves; `compact`
    leaves out the type column (narrow terminals)."""
    rows = [row for row in layers if row["model"] == kind]
    table = Table(title=f"{kind} model, per layer (MACs for one image)", title_justify="left")
    headers = ["layer", "type", "output shape", "params", "MACs", "MACs share"]
    for header in headers if not compact else [h for h in headers if h != "type"]:
        table.add_column(header, justify="left" if header in ("layer", "type") else "right",
                         no_wrap=True)  # fmt: skip
    total = sum(r["macs"] for r in rows if r["macs"] is not None)

    def add(cells: list[str], style: str | None = None) -> None:
        table.add_row(*(cells[:1] + cells[2:] if compact else cells), style=style)

    halves = (("depthwise", "DepthwiseConv2D"), ("pointwise", "Conv2D 1x1"))
    for row in rows:
        counted = row["macs"] is not None
        share = f"{row['macs'] / total:.1%}" if total and counted else "–"
        add([row["layer"], row["type"] + (" *" if row.get("swapped") else ""), row["output_shape"],
             count(row["params"]), count(row["macs"]) if counted else "not counted", share])  # fmt: skip
        if row.get("made_of"):  # a dense twin's Conv2D, beside the layers it was made of
            add([f"  = {row['made_of']}", "", "", "", "", ""], style="dim")
        for half, label in halves if row.get("depthwise_macs") is not None else ():
            macs = row[f"{half}_macs"]
            add([f"  {half}", label, "", count(row[f"{half}_params"]), count(macs),
                 f"{macs / total:.1%}" if total else "–"], style="dim")  # fmt: skip
    table.add_section()
    add(["total", "", "", count(sum(r["params"] for r in rows)), count(total), "100%"])
    if any(row.get("depthwise_macs") is not None for row in rows):
        depthwise = sum(r.get("depthwise_macs") or 0 for r in rows)
        pointwise = sum(r.get("pointwise_macs") or 0 for r in rows)
        table.caption = (f"separable layers: depthwise {depthwise / total:.1%} of the MACs, "
                         f"pointwise {pointwise / total:.1%}; "
                         "the depthwise half does k x k MACs per value it reads, the pointwise "
                         "half as many as its output channels: fewer MACs, but more memory "
                         "traffic per MAC (docs/methodology.md)")  # fmt: skip
    notes = []
    if any(row.get("made_of") for row in rows):
        notes.append("* a Conv2D made of your network's depthwise separable layers (below it)")
    elif any(row.get("swapped") for row in rows):
        notes.append("* a Conv2D of your network, swapped for a SeparableConv2D in its twin")
    if any(row["macs"] is None for row in rows):
        notes.append("not counted: a layer type dsbench does not cost; the total leaves it out")
    if notes:
        table.caption = "; ".join([str(table.caption), *notes] if table.caption else notes)
    return table


def models(console: Console, model: ModelSpec, rows: list[dict[str, Any]],
           layers: list[dict[str, Any]]) -> None:  # fmt: skip
    """`summary`: the models' table titled by what they are, what your network's twin kept and
    what was not counted, then a per-layer table per model when `layers` are given."""
    shape = "x".join(str(v) for v in model.input_shape)
    title = (f"Models for {shape} images, {model.num_classes} classes: blocks "
             f"{model.blocks_text}, kernel {model.kernel_size}x{model.kernel_size}")  # fmt: skip
    if model.arch:
        swapped = rows[0].get("swapped", 0)
        given = {"arch": model.arch, "arch_options": dict(model.arch_options)}
        title = (f"{network_name(given)} for {shape} images, "
                 f"{model.num_classes} classes, and its "
                 f"separable twin ({plural(swapped, 'convolution')} swapped)")  # fmt: skip
        if model.twin == "dense":
            title = (f"{network_name(given)} (the separable model) for {shape} images, "
                     f"{model.num_classes} classes, and its dense twin (normal: "
                     f"{plural(swapped, 'Conv2D')} made of its separable layers)")  # fmt: skip
    console.print(fit(console, summary_table(rows, title)))
    console.print(
        "[dim]MACs = multiply-accumulates for one image's forward pass; FLOPs = 2 x MACs.[/]"
    )
    notes = [f"not {'fused' if model.twin == 'dense' else 'swapped'}: {line}"
             for line in rows[0].get("kept") or []] if model.arch else []  # fmt: skip
    uncounted = sorted({name for row in rows for name in row.get("not_counted") or []})
    if uncounted:
        notes.append(f"MACs leave out layers dsbench does not cost: {', '.join(uncounted)}")
    warn(console, notes)
    for kind in dict.fromkeys(row["model"] for row in layers):
        console.print(fit(console, *(layers_table(layers, kind, compact)
                                     for compact in (False, True))))  # fmt: skip
