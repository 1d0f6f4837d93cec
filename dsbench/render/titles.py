"""A record's title, as the terminal's table and the results page both give it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dsbench.measure.bench import BenchSummary
from dsbench.measure.deploy import Deployed
from dsbench.measure.summary import Summary
from dsbench.render.comparison import comparison_title
from dsbench.render.format import printable
from dsbench.render.sweep import sweep_title
from dsbench.spec.settings import network_name

if TYPE_CHECKING:
    from dsbench.measure.sweep import SweepSummary


def record_title(
    record: Summary | SweepSummary | BenchSummary | Deployed, folder: Path | None = None
) -> str:
    """'dsbench compare: synthetic, 3 epochs, batch 32', naming your network and its twin when
    it is not the VGG; read back from `folder`, prefixed by the folder, suffixed by the status.
    Plain text (printable), no markup."""
    settings = record.settings
    data, train = settings.get("data") or {}, settings.get("train") or {}
    dataset, epochs, batch = (
        data.get("dataset", "?"),
        train.get("epochs", "?"),
        train.get("batch_size", "?"),
    )
    if isinstance(record, Summary):
        title = comparison_title(str(record.command), dataset, epochs, batch)
    elif isinstance(record, BenchSummary):
        title = f"dsbench bench: {dataset}, target ±{record.target:.0%} (95% interval)"
    elif isinstance(record, Deployed):
        title = f"dsbench deploy: {printable(record.weights)}"
    else:
        title = sweep_title(record.points, record.summary_only, dataset, epochs, batch)
    model = settings.get("model") or {}
    if model.get("arch"):  # your own network and its twin, not the VGG
        title += (f"; {printable(network_name(model))} (separable) and its dense twin"
                  if model.get("twin") == "dense"
                  else f"; {printable(network_name(model))} and its separable twin")  # fmt: skip
    if folder is not None:
        title = f"{printable(folder)}: {title} ({record.status})"
    return title
