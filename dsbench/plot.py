"""Training curves as a PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def curves(history: pd.DataFrame, path: Path) -> None:
    """Train and validation accuracy and loss per epoch for every model (mean over repeats)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = history.groupby(["model", "epoch"], as_index=False)[
        ["accuracy", "val_accuracy", "loss", "val_loss"]
    ].mean()
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {"normal": "tab:blue", "separable": "tab:orange"}
    for model, group in means.groupby("model"):
        color = colors.get(str(model), None)
        acc_ax.plot(group["epoch"], group["accuracy"], "--", color=color, label=f"{model} train")
        acc_ax.plot(group["epoch"], group["val_accuracy"], "-o", color=color, label=f"{model} val")
        loss_ax.plot(group["epoch"], group["loss"], "--", color=color, label=f"{model} train")
        loss_ax.plot(group["epoch"], group["val_loss"], "-o", color=color, label=f"{model} val")
    repeats = history.groupby("model")["repeat"].nunique().max()
    note = f" (mean of {repeats} runs)" if repeats > 1 else ""
    acc_ax.set(title=f"Accuracy{note}", xlabel="epoch", ylabel="accuracy")
    loss_ax.set(title=f"Loss{note}", xlabel="epoch", ylabel="cross-entropy")
    for ax in (acc_ax, loss_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
