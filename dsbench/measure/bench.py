"""A bench's summary: the separable/normal step-time ratio per mode and batch size, combined
over fresh processes with its interval (widened by the spread between runs), the warnings,
and `BenchSummary`, as bench.json and bench.csv hold it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from dsbench._version import __version__
from dsbench.measure import stats, stopping
from dsbench.measure.records import (
    to_jsonable,
)
from dsbench.measure.summary import FolderKind
from dsbench.spec.settings import KINDS


def bench_warnings(rows: pd.DataFrame, target: float, between_runs_sd: float = 0.0) -> list[str]:
    """A line for each bench ratio whose interval is not within ±`target`, saying what helps:
    nothing within one run when the spread between runs alone is wider than the target."""
    out = []
    floor = math.expm1(stats.Z * between_runs_sd)  # the widening's least half-width
    for row in rows.to_dict(orient="records"):
        if row["target_reached"]:
            continue
        where = f"{row['mode']}, batch {row['batch_size']}"
        processes = int(row.get("processes") or 1)
        said = f"{where}: ratio ±{row['ratio_half_width']:.0%}"
        if stopping.left_of(target, between_runs_sd) is None:  # as bench's own rule decides it
            out.append(f"{said}, not within ±{target:.0%}: the spread between runs at different "
                       f"times (sd {between_runs_sd:g}) alone is ±{floor:.1%}, which no single "
                       "run narrows (--between-runs-sd 0 where you have measured none)")  # fmt: skip
        elif processes > 1:
            out.append(f"{said} over {processes} processes, not within ±{target:.0%}: run more "
                       "processes or give them more max_time")  # fmt: skip
        else:
            out.append(f"{said} after {row['pairs']} pairs in {row['seconds']:.0f} s, not within "
                       f"±{target:.0%}: give it more max_time")  # fmt: skip
    return out


def combine_bench(processes: list[pd.DataFrame], target: float,
                  between_runs_sd: float) -> pd.DataFrame:  # fmt: skip
    """`bench --processes N`: a row per mode and batch size from every process's row. The
    ratio is the median of the processes' ratios, with Student's t over their logs
    (stats.process_interval: the process is the unit, as in compare) widened by the spread
    between runs that one run's processes cannot see (stats.widened); each model's ms/step the
    median of the processes' medians, its range theirs; pairs, outliers and seconds summed."""
    out = []
    first = processes[0]
    for index in range(len(first)):
        mine = [frame.iloc[index] for frame in processes]
        row = first.iloc[index].to_dict()
        interval = stats.widened(stats.process_interval([[float(r["ratio"])] for r in mine]),
                                 between_runs_sd)  # fmt: skip
        for kind in KINDS:
            for column in ("ms_per_step", "images_per_s", "est_gflop_per_s"):
                row[f"{kind}_{column}"] = float(
                    pd.Series([r[f"{kind}_{column}"] for r in mine]).median()
                )
            row[f"{kind}_ms_per_step_low"] = min(float(r[f"{kind}_ms_per_step_low"]) for r in mine)
            row[f"{kind}_ms_per_step_high"] = max(
                float(r[f"{kind}_ms_per_step_high"]) for r in mine
            )
            row[f"{kind}_bimodal"] = any(bool(r[f"{kind}_bimodal"]) for r in mine)
            row[f"{kind}_outliers"] = sum(int(r.get(f"{kind}_outliers", 0)) for r in mine)
        sides = (interval.median / interval.low - 1 if interval.low > 0 else math.nan,
                 interval.high / interval.median - 1)  # fmt: skip
        row.update({"ratio": interval.median, "ratio_low": interval.low,
                    "ratio_high": interval.high, "ratio_half_width": max(sides),
                    "target_reached": stats.within(interval, target),
                    "pairs": sum(int(r["pairs"]) for r in mine),
                    "seconds": sum(float(r["seconds"]) for r in mine),
                    "processes": len(mine)})  # fmt: skip
        out.append(row)
    return pd.DataFrame(out)


@dataclass(frozen=True, eq=False)
class BenchSummary:
    """`bench`: a row per mode and batch size with both models' speed (columns prefixed by the
    model) and the separable/normal time ratio with its 95% interval."""

    settings: dict[str, Any]
    rows: pd.DataFrame
    environment: dict[str, Any]
    warnings: tuple[str, ...]
    target: float  # the precision target of the ratio's interval (0.05: ±5%)
    # the spread between runs (sd of the log ratio) added to each interval (stats.widened);
    # None: a folder written before bench added it
    between_runs_sd: float | None = None
    status: ClassVar[str] = "complete"
    kind: ClassVar[FolderKind] = FolderKind.bench

    @property
    def device(self) -> str:
        """Where it ran, as the device line says it ('' when not recorded)."""
        return str(self.environment.get("device") or "")

    @property
    def document(self) -> dict[str, Any]:
        """bench.json's content."""
        document: dict[str, Any] = to_jsonable({
            "dsbench_version": __version__, "command": "bench", "status": "complete",
            "precision_target": self.target, "between_runs_sd": self.between_runs_sd,
            "settings": self.settings,
            "rows": self.rows.to_dict(orient="records"), "warnings": list(self.warnings),
        })  # fmt: skip
        return document

    @classmethod
    def from_document(cls, document: dict[str, Any], environment: dict[str, Any]) -> BenchSummary:
        """A BenchSummary from a bench.json already checked by schema.bench."""
        return cls(dict(document.get("settings") or {}), pd.DataFrame(document["rows"]),
                   environment, tuple(document.get("warnings") or ()),
                   float(document.get("precision_target", 0.05)),
                   document.get("between_runs_sd"))  # fmt: skip

    def report_rows(self) -> pd.DataFrame:
        """A row per mode, batch size and model; the separable row carries the time ratio."""
        out = []
        for row in self.rows.to_dict(orient="records"):
            for kind in KINDS:
                mine = {k.removeprefix(f"{kind}_"): v for k, v in row.items()
                        if k.startswith(f"{kind}_")}  # fmt: skip
                processes = int(row.get("processes") or 1)
                record = {"mode": row["mode"], "batch_size": row["batch_size"], "model": kind,
                          "processes": processes, **mine}  # fmt: skip
                if kind == "separable":  # its interval: over the pairs, or over the processes
                    record.update({"ms_per_step_ratio": row["ratio"],
                                   "ms_per_step_ratio_low": row["ratio_low"],
                                   "ms_per_step_ratio_high": row["ratio_high"],
                                   "ms_per_step_ratio_n": processes if processes > 1
                                   else row["pairs"]})  # fmt: skip
                out.append(record)
        return pd.DataFrame(out)
