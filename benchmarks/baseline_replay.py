"""How often does `report NEW --baseline OLD` call identical runs faster or slower? Replays
every pair of recorded identical runs (same settings and schedule, fresh processes) through
the baseline's own functions (dsbench.measure.baseline): the rule `report --baseline` uses now
(each run's run-to-run variance added, every row of a report tested together with Holm) and
the rule it used before (each row's interval from the runs' own epochs, 95% each on its own).

The rows a recorded run allows: train ms/step per model (its steady epochs) and the
separable/normal ratio (its interval), three verdict rows per report; runs of `--processes 3`
record the ratio only (one row per report, the process as the unit). BETWEEN_RUNS_SD is
measured on the same runs (in-sample): the figure to watch on new recordings.

    python benchmarks/baseline_replay.py
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dsbench.measure.baseline import BETWEEN_RUNS_SD, Change, ratio_change, timing_change, verdicts

DATA = Path(__file__).resolve().parent / "data"
SEQUENCES = ("stability-runs.json", "stability-order-runs.json", "stability-segment-runs.json")
PROCESSES = ("processes-runs.json", "processes-set2-runs.json")
WORDS = {"time": ("slower", "faster"), "ratio": ("higher", "lower")}


def _ratio_row(interval: dict[str, Any]) -> pd.Series:
    return pd.Series({"ms_per_step_ratio": interval["median"],
                      "ms_per_step_ratio_low": interval["low"],
                      "ms_per_step_ratio_high": interval["high"]})  # fmt: skip


def _before(changes: list[Change]) -> list[str]:
    """The rule before: each row called where its own 95% interval excludes no change."""
    return ["no change resolved" if not (math.isfinite(c.p) and c.p < 0.05) else "called"
            for c in changes]  # fmt: skip


def _pair(old: dict[str, Any], new: dict[str, Any], between: bool) -> list[Change]:
    scale = 1.0 if between else 0.0
    changes = [timing_change(new["ms_per_step"][kind], old["ms_per_step"][kind],
                             scale * BETWEEN_RUNS_SD["model"]) for kind in ("normal", "separable")]  # fmt: skip
    ratio = ratio_change(_ratio_row(old["ratios"]["ms_per_step_ratio"]),
                         _ratio_row(new["ratios"]["ms_per_step_ratio"]),
                         scale * BETWEEN_RUNS_SD["ratio"])  # fmt: skip
    return [*changes, ratio]


def _count(reports: list[tuple[list[str], list[str]]]) -> tuple[int, int, int, int, int]:
    """(reports, reports with a false verdict before, now, rows called before, now)."""

    def called(verdict: str) -> bool:
        return verdict not in ("no change resolved", "not resolved")

    before = [sum(map(called, b)) for b, _ in reports]
    now = [sum(map(called, n)) for _, n in reports]
    return (len(reports), sum(v > 0 for v in before), sum(v > 0 for v in now), sum(before),
            sum(now))  # fmt: skip


def main() -> None:
    lines = [
        "| recorded runs | reports | rows each | false verdicts before (reports, rows) "
        "| false verdicts now (reports, rows) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    total: list[tuple[list[str], list[str]]] = []
    for name in SEQUENCES:
        runs = json.loads((DATA / name).read_text())["runs"]
        for variant in sorted({run["variant"] for run in runs}):
            same = [run for run in runs if run["variant"] == variant]
            reports = []
            for old, new in itertools.permutations(same, 2):  # each as NEW and as OLD
                before = _before(_pair(old, new, between=False))
                now = verdicts(_pair(old, new, between=True),
                               [WORDS["time"], WORDS["time"], WORDS["ratio"]])  # fmt: skip
                reports.append((before, now))
            total += reports
            n, b, w, rb, rw = _count(reports)
            lines.append(f"| {name} {variant} ({len(same)}) | {n} | 3 | {b} ({b / n:.0%}), {rb} "
                         f"| {w} ({w / n:.0%}), {rw} |")  # fmt: skip
    runs = [run for name in PROCESSES for run in json.loads((DATA / name).read_text())["runs"]]
    reports = []
    for old, new in itertools.permutations(runs, 2):
        both = [ratio_change(_ratio_row(old["ratio"]), _ratio_row(new["ratio"]), sd)
                for sd in (0.0, BETWEEN_RUNS_SD["ratio"])]  # fmt: skip
        reports.append((_before(both[:1]), verdicts(both[1:], [WORDS["ratio"]])))
    n, b, w, rb, rw = _count(reports)
    lines.append(f"| {' + '.join(PROCESSES)} (8, --processes 3) | {n} | 1 | {b} ({b / n:.0%}), "
                 f"{rb} | {w} ({w / n:.0%}), {rw} |")  # fmt: skip
    n, b, w, rb, rw = _count(total)
    lines.append(f"| all single-process pairs | {n} | 3 | {b} ({b / n:.0%}), {rb} | "
                 f"{w} ({w / n:.0%}), {rw} |")  # fmt: skip
    print("\n".join(lines))


if __name__ == "__main__":
    main()
