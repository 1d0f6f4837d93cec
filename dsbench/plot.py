"""Training curves as a PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def curves(history: pd.DataFrame, path: Path, title: str = "") -> None:
    """Accuracy and loss per epoch for every model (mean over repeats), and validation accuracy
    against cumulative training seconds: the picture that answers "is it worth it?"."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = history.assign(train_clock_s=history.groupby(["model", "repeat"])["train_s"].cumsum())
    means = history.groupby(["model", "epoch"], as_index=False)[
        ["accuracy", "val_accuracy", "loss", "val_loss", "train_clock_s"]
    ].mean()
    fig, (acc_ax, loss_ax, time_ax) = plt.subplots(1, 3, figsize=(15, 4.4))
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
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def sweep(ratios: pd.DataFrame, axes: list[str], path: Path) -> None:
    """Separable/normal time and MAC ratios against each swept axis, so a user sees where the
    measured speed-up departs from the FLOP ratio. One panel per axis; a line per combination
    of the other axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes = axes or ["point"]
    fig, panels = plt.subplots(1, len(axes), figsize=(5.5 * len(axes), 4.2), squeeze=False)
    series = [("macs_ratio", "MAC ratio", "--"), ("params_ratio", "params ratio", ":")]
    if "time_ratio" in ratios and ratios["time_ratio"].notna().any():
        series.insert(0, ("time_ratio", "time ratio (steady s/epoch)", "-o"))
    for panel, axis in zip(panels[0], axes, strict=True):
        others = [a for a in axes if a != axis]
        groups = ratios.groupby(others, sort=False) if others else [("", ratios)]
        for key, group in groups:
            categories = list(dict.fromkeys(group[axis]))
            x = (
                [categories.index(v) for v in group[axis]]
                if axis in ("blocks", "point")
                else group[axis]
            )
            suffix = (
                f" ({', '.join(f'{o}={k}' for o, k in zip(others, _tuple(key), strict=True))})"
                if others
                else ""
            )
            for column, label, style in series:
                if column in group:
                    panel.plot(x, group[column], style, label=label + suffix)
            if axis in ("blocks", "point"):
                panel.set_xticks(range(len(categories)), categories, rotation=20, fontsize=8)
        panel.axhline(1.0, color="grey", linewidth=0.8)
        panel.set(xlabel=axis, ylabel="separable / normal", title=f"ratio vs {axis}")
        panel.set_yscale("log")
        panel.grid(alpha=0.3, which="both")
        panel.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def _tuple(key: object) -> tuple[object, ...]:
    return key if isinstance(key, tuple) else (key,)
