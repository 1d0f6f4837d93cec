"""Training curves as a PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd


def curves_title(settings: dict[str, Any], environment: dict[str, Any]) -> str:
    """'synthetic, 5,000 train images, batch 128, /CPU:0 (AMD EPYC ...)' for curves.png."""
    data = environment.get("data") or {}
    devices = environment.get("devices") or []
    gpus = environment.get("gpus") or []
    device = (
        gpus[0].get("model", "GPU") if gpus else (environment.get("cpu") or {}).get("model", "")
    )
    parts = [
        str(settings.get("data", {}).get("dataset", "")),
        f"{data['train_images']:,} train images" if "train_images" in data else "",
        f"batch {settings.get('train', {}).get('batch_size', '?')}",
        f"{', '.join(devices)} ({device})" if devices else device,
    ]
    return ", ".join(part for part in parts if part)


def png(draw: Callable[[Any], None], path: Path) -> None:
    """A figure drawn by `draw(fig)` saved as a PNG file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    try:
        draw(fig)
        fig.savefig(path, dpi=110, format="png")
    finally:
        plt.close(fig)


def curves(history: pd.DataFrame, path: Path, title: str = "") -> None:
    """curves.png: `draw_curves` as a PNG file."""
    png(lambda fig: draw_curves(fig, history, title), path)


def draw_curves(fig: Any, history: pd.DataFrame, title: str = "") -> None:
    """Accuracy and loss per epoch for every model (mean over repeats), and validation accuracy
    against cumulative training seconds: the picture that answers "is it worth it?"."""
    history = history.assign(train_clock_s=history.groupby(["model", "repeat"])["train_s"].cumsum())
    means = history.groupby(["model", "epoch"], as_index=False)[
        ["accuracy", "val_accuracy", "loss", "val_loss", "train_clock_s"]
    ].mean()
    fig.set_size_inches(15, 4.4)
    acc_ax, loss_ax, time_ax = fig.subplots(1, 3)
    colors = {"normal": "tab:blue", "separable": "tab:orange"}
    for model, group in means.groupby("model"):
        color = colors.get(str(model))
        acc_ax.plot(group["epoch"], group["accuracy"], "--x", color=color, label=f"{model} train")
        acc_ax.plot(group["epoch"], group["val_accuracy"], "-o", color=color, label=f"{model} val")
        loss_ax.plot(group["epoch"], group["loss"], "--x", color=color, label=f"{model} train")
        loss_ax.plot(group["epoch"], group["val_loss"], "-o", color=color, label=f"{model} val")
        time_ax.plot(group["train_clock_s"], group["val_accuracy"], "-o", color=color,
                     label=f"{model} val")  # fmt: skip
    repeats = history.groupby("model")["repeat"].nunique().max()
    note = f" (mean of {repeats} runs)" if repeats > 1 else ""
    acc_ax.set(title=f"Accuracy{note}", xlabel="epoch", ylabel="accuracy")
    loss_ax.set(title=f"Loss{note}", xlabel="epoch", ylabel="cross-entropy")
    time_ax.set(title="Validation accuracy vs training time", ylabel="validation accuracy",
                xlabel="cumulative training seconds (first epoch includes tracing)")  # fmt: skip
    for ax in (acc_ax, loss_ax, time_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in (acc_ax, loss_ax):
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()


SWEEP_SERIES = (
    ("time_ratio", "time (steady s/epoch)", "-", "o"),
    ("macs_ratio", "MACs", "--", "s"),
    ("params_ratio", "params", ":", "^"),
    ("acc_ratio", "best val acc", "-.", "D"),
)


def sweep(ratios: pd.DataFrame, axes: list[str], path: Path) -> None:
    """sweep.png: `draw_sweep` as a PNG file."""
    png(lambda fig: draw_sweep(fig, ratios, axes), path)


def draw_sweep(fig: Any, ratios: pd.DataFrame, axes: list[str]) -> None:
    """Separable/normal ratios (time, MACs, params, accuracy) against the first swept axis, so
    a user sees where the measured speed-up departs from the FLOP ratio. A second swept axis
    gives a colour per value, a third a panel per value (small multiples); series differ by
    line style and marker, so even a one-point sweep shows as points."""
    from matplotlib import colormaps
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    axes = axes or ["point"]
    x_axis = axes[0]
    colour_axis = axes[1] if len(axes) > 1 else None
    panel_axis = axes[2] if len(axes) > 2 else None
    panels = list(dict.fromkeys(ratios[panel_axis])) if panel_axis else [None]
    fig.set_size_inches(5.5 * len(panels) + 2.5, 4.5)
    grid = fig.subplots(1, len(panels), squeeze=False, sharey=True)
    categorical = x_axis in ("blocks", "point")
    categories = list(dict.fromkeys(ratios[x_axis]))
    colours = colormaps["tab10"]
    shades = list(dict.fromkeys(ratios[colour_axis])) if colour_axis else [None]
    for ax, panel in zip(grid[0], panels, strict=True):
        mine = ratios if panel is None else ratios[ratios[panel_axis] == panel]
        for shade_index, shade in enumerate(shades):
            group = mine if shade is None else mine[mine[colour_axis] == shade]
            x = [categories.index(v) for v in group[x_axis]] if categorical else group[x_axis]
            for column, label, line, marker in SWEEP_SERIES:
                if column not in group or group[column].isna().all():
                    continue
                name = label + (f", {colour_axis} {shade}" if shade is not None else "")
                ax.plot(x, group[column], linestyle=line, marker=marker, label=name,
                        color=colours(shade_index % 10))  # fmt: skip
        if categorical:
            ax.set_xticks(range(len(categories)), categories, rotation=20, fontsize=8)
        else:
            ax.set_xticks(sorted(set(ratios[x_axis])))  # the swept values, not 3.25 or 3.5
            ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter(""))
        title = f"{panel_axis} {panel}" if panel is not None else f"ratio vs {x_axis}"
        ax.set(xlabel=x_axis, title=title)
        ax.grid(alpha=0.3, which="both")
    grid[0][0].set_ylabel("separable / normal (log scale)")
    handles, labels = grid[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1 - 2.4 / fig.get_figwidth(), 1))  # the legend outside
