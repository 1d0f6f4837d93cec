"""The figures of a comparison, computed from its RunResults: a row per model (means over
repeats, spreads of steady epochs), the paired separable/normal timing ratios with their 95%
intervals, every other separable/normal ratio, and the warnings about the timing. Pure
pandas and numpy (measure/stats.py), tested on hand-made RunResults."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from dsbench.measure import stats
from dsbench.measure.records import (
    INFERENCE_RATIO_COLUMNS,
    INFERENCE_RATIOS,
    PER_RUN_METRICS,
    RunResult,
    Status,
    decode_correct,
    missing,
    runs_frame,
    steady_epochs,
)
from dsbench.spec.settings import KINDS

# Columns whose separable/normal ratio means something, and the ratio's column name.
RATIOS = {
    "params": "params_ratio",
    "macs_per_image": "macs_ratio",
    "first_epoch_s": "first_epoch_ratio",
    "steady_epoch_s": "time_ratio",
    "ms_per_step": "ms_per_step_ratio",
    "train_images_per_s": "images_per_s_ratio",
    "est_train_gflop_per_s": "gflop_per_s_ratio",
    "best_val_acc": "acc_ratio",
    "time_to_target_s": "time_to_target_ratio",
    "final_val_acc": "final_acc_ratio",
    "latency_b1_ms": "latency_ratio",
    "latency_b1_p90_ms": "latency_p90_ratio",
    "infer_images_per_s": "infer_images_per_s_ratio",
    "model_file_bytes": "file_size_ratio",
    "device_peak_mib": "device_memory_ratio",
}


def model_rows(
    results: list[RunResult],
    target: float | None = None,
    intervals: dict[str, stats.Interval] | None = None,
) -> pd.DataFrame:
    """A row per model: figures averaged over repeats (with *_std columns when runs >= 2),
    the spread of steady epochs (*_low, *_high) and, on the separable row, the paired
    separable/normal timing ratios with their 95% intervals (*_ratio, *_ratio_low, ...;
    `intervals` when the caller has them from ratio_intervals already)."""
    runs = runs_frame(results, target)
    if runs.empty:
        return pd.DataFrame()
    rows = []
    for kind in [k for k in KINDS if k in set(runs["model"])]:
        group = runs[runs["model"] == kind]
        row: dict[str, Any] = {
            "model": kind,
            "status": Status.worst(set(group["status"])),
            "runs": len(group),
            "processes": int(group["process"].nunique()),
            "epochs_completed": int(group["epochs_completed"].min()),
            "params": int(group["params"].iloc[0]),
            "macs_per_image": int(group["macs_per_image"].iloc[0]),
            "steps_per_epoch": int(group["steps_per_epoch"].iloc[0]),
            "batch_size": int(group["batch_size"].iloc[0]),
            "replicas": int(group["replicas"].iloc[0]),
            "jit": bool(group["jit"].iloc[0]),
            "model_file_bytes": group["model_file_bytes"].max(),
            "target_val_acc": float(group["target_val_acc"].iloc[0]),
        }
        if row["status"] == Status.diverged:
            diverged = group[group["status"] == Status.diverged.value]
            row["diverged_epoch"] = int(diverged["epochs_completed"].min())
        metrics = group[list(PER_RUN_METRICS)].astype(float)
        means, stds = metrics.mean().to_dict(), metrics.std(ddof=1).to_dict()
        for name in PER_RUN_METRICS:
            row[name] = means[name]  # NaN where no run has the figure
            if len(group) >= 2:
                row[f"{name}_std"] = stds[name]  # NaN where fewer than two runs have it
        row.update(steady_spread([r for r in results if r.model == kind]))
        if kind == "separable":
            row.update(inference_intervals([r for r in results if r.model == kind]))
            if intervals is None:
                intervals = ratio_intervals(results)
            for name, interval in intervals.items():
                row.update(interval.columns(name))
            row.update(accuracy_difference(results))
        rows.append(row)
    frame = pd.DataFrame(rows)
    if set(KINDS) <= set(frame["model"]):
        frame.loc[frame["model"] == "separable", list(TARGET_BRACKET)] = target_bracket(frame)
    return frame


TARGET_BRACKET = ("time_to_target_ratio_low", "time_to_target_ratio_high")


def target_bracket(frame: pd.DataFrame) -> tuple[float, float]:
    """The separable/normal time to the target accuracy as far as whole epochs tell: each model
    crossed it somewhere in the epoch it is counted at, so the ratio lies between (separable at
    the epoch before) / (normal at its epoch) and (separable at its epoch) / (normal at the
    epoch before); infinite when normal reached it in its first epoch."""
    by_model = frame.set_index("model")
    n_at, n_before, s_at, s_before = (
        float(by_model.loc[kind, column])
        for kind in ("normal", "separable")
        for column in ("time_to_target_s", "time_before_target_s")
    )
    if any(math.isnan(v) for v in (n_at, n_before, s_at, s_before)) or n_at <= 0:
        return math.nan, math.nan
    return s_before / n_at, s_at / n_before if n_before > 0 else math.inf


def inference_intervals(separable: list[RunResult]) -> dict[str, float]:
    """The paired inference ratios measured with the separable runs: as they are for one run;
    for several worker processes, the median with an interval over the processes
    (stats.process_interval); for several repeats in one process, the median of their medians."""
    measured = [r for r in separable if "latency_ratio" in r.inference]
    if len(measured) == 1:
        only = measured[0].inference
        return {k: float(only[k]) for k in INFERENCE_RATIO_COLUMNS if k in only}
    processes = sorted({r.process for r in measured})
    out: dict[str, float] = {}
    for name in INFERENCE_RATIOS:
        if len(processes) >= 2:
            groups = [[float(r.inference[name]) for r in measured if r.process == p]
                      for p in processes]  # fmt: skip
            out.update(stats.process_interval(groups).columns(name))
        elif measured:
            out[name] = float(np.median([r.inference[name] for r in measured]))
    return out


def accuracy_pairs(results: list[RunResult]) -> list[tuple[int, int, int]]:
    """For each process and repeat where both models recorded which test images they classified
    correctly at their best epochs: (images only normal got right, images only separable got
    right, test images), McNemar's discordant counts."""
    out = []
    for key in sorted({(r.process, r.repeat) for r in results}):
        pair = {r.model: r.best_val_correct for r in results
                if (r.process, r.repeat) == key and r.best_val_correct}  # fmt: skip
        if not set(KINDS) <= set(pair):
            continue
        normal, separable = decode_correct(pair["normal"]), decode_correct(pair["separable"])
        if len(normal) == len(separable) > 0:
            out.append((int((normal & ~separable).sum()), int((separable & ~normal).sum()),
                        len(normal)))  # fmt: skip
    return out


def accuracy_difference(results: list[RunResult]) -> dict[str, Any]:
    """Separable minus normal best validation accuracy with its 95% interval, paired over the
    same test images: for one run, Bonett-Price's interval and McNemar's exact p-value
    (stats.paired_difference, stats.mcnemar_p); for several (repeats, processes), the mean of
    their differences with Student's t over the runs (what varies between seeds). Empty when
    the runs did not record their predictions."""
    pairs = accuracy_pairs(results)
    if not pairs:
        return {}
    if len(pairs) == 1:
        b, c, n = pairs[0]
        difference, low, high = stats.paired_difference(b, c, n)
        return {"acc_difference": difference, "acc_difference_low": low,
                "acc_difference_high": high, "acc_difference_n": 1, "acc_discordant": b + c,
                "acc_mcnemar_p": stats.mcnemar_p(b, c), "acc_difference_method": "paired"}  # fmt: skip
    differences = np.array([(c - b) / n for b, c, n in pairs])
    mean = float(differences.mean())
    half = stats.t_quantile(len(pairs) - 1) * float(differences.std(ddof=1)) / math.sqrt(len(pairs))
    return {"acc_difference": mean, "acc_difference_low": mean - half,
            "acc_difference_high": mean + half, "acc_difference_n": len(pairs),
            "acc_difference_method": "runs"}  # fmt: skip


def steady_spread(results: list[RunResult]) -> dict[str, float]:
    """Min and max over every steady epoch of these runs: steady_epoch_s, ms_per_step and
    train_images_per_s, as *_low and *_high; how many steady epochs there are and how many of
    their times lie beyond Tukey's fences (steady_epochs, steady_outliers)."""
    frames = [steady_epochs(r).assign(steps=r.steps_per_epoch, images=r.epoch_images)
              for r in results]  # fmt: skip
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return {}
    steady = pd.concat(frames)
    series = {
        "steady_epoch_s": steady["epoch_s"],
        "ms_per_step": steady["train_s"] / steady["steps"] * 1e3,
        "train_images_per_s": steady["images"] / steady["train_s"],
    }
    out: dict[str, float] = {}
    for name, values in series.items():
        out[f"{name}_low"], out[f"{name}_high"] = float(values.min()), float(values.max())
    out["steady_epochs"] = len(steady)
    out["steady_outliers"] = stats.tukey_outliers(list(steady["epoch_s"]))
    return out


# Paired timing ratios: (ratio name, history column, invert?) — images/s is 1 / time.
PAIRED = (("time_ratio", "epoch_s", False), ("ms_per_step_ratio", "train_s", False),
          ("images_per_s_ratio", "train_s", True))  # fmt: skip


def paired_epoch_ratios(results: list[RunResult], column: str) -> list[float]:
    """separable/normal of `column` for every epoch both models of a repeat measured in their
    steady state (epoch e of one beside epoch e of the other), over all processes and repeats."""
    return [ratio for group in paired_ratios_by_process(results, column) for ratio in group]


def steady_pairs(results: list[RunResult]) -> list[list[pd.DataFrame]]:
    """Per worker process, for each repeat both models finished, their steady epochs side by
    side (epoch e of one beside epoch e of the other; columns suffixed _n and _s)."""
    out: list[list[pd.DataFrame]] = []
    for process in sorted({r.process for r in results}):
        mine: list[pd.DataFrame] = []
        for repeat in sorted({r.repeat for r in results if r.process == process}):
            pair = {r.model: steady_epochs(r) for r in results
                    if r.process == process and r.repeat == repeat}  # fmt: skip
            if not set(KINDS) <= set(pair) or any(f.empty for f in pair.values()):
                continue
            mine.append(pair["normal"].merge(pair["separable"], on="epoch", suffixes=("_n", "_s")))
        out.append(mine)
    return out


def paired_ratios_by_process(
    results: list[RunResult], column: str, pairs: list[list[pd.DataFrame]] | None = None
) -> list[list[float]]:
    """paired_epoch_ratios, one list per worker process (every repeat of that process);
    `pairs` when the caller has steady_pairs(results) already."""
    pairs = steady_pairs(results) if pairs is None else pairs
    return [[float(v) for both in mine
             for v in stats.paired_ratios(both[f"{column}_s"], both[f"{column}_n"])]
            for mine in pairs]  # fmt: skip


def ratio_intervals(results: list[RunResult]) -> dict[str, stats.Interval]:
    """The headline timing ratios: median of per-epoch paired ratios with a 95% interval, over
    the epochs of one process (stats.median_interval) or, when several worker processes
    trained, with the process as the unit (stats.process_interval)."""
    out = {}
    pairs = steady_pairs(results)
    for name, column, invert in PAIRED:
        groups = paired_ratios_by_process(results, column, pairs)
        if invert:
            groups = [[1 / r for r in group if r > 0] for group in groups]
        if any(groups):
            out[name] = stats.process_interval(groups)
    return out


def warnings(
    results: list[RunResult], intervals: dict[str, stats.Interval] | None = None
) -> list[str]:
    """Everything that makes this comparison's timing doubtful (see stats.timing_warnings), each
    labelled with its model, and its process and repeat when there are several; too few steady
    epochs is one line for the whole run, naming the flag that fixes it. `intervals` when the
    caller has them from ratio_intervals already."""
    out: list[str] = []
    short: dict[str, int] = {}  # runs with too few steady epochs, by label
    processes = len({r.process for r in results})
    repeats = len({r.repeat for r in results})
    for result in results:
        history = pd.DataFrame(result.epochs)
        if history.empty:
            continue
        steady = steady_epochs(result)["epoch_s"].tolist()
        name = result.model + (f" (process {result.process + 1})" if processes > 1 else "")
        name += f" (repeat {result.repeat + 1})" if repeats > 1 else ""
        if len(steady) < stats.MIN_STEADY:
            short[name] = len(steady)
        out += stats.timing_warnings(name, float(history["epoch_s"].iloc[0]), steady)
    fix = f"use --epochs {stats.MIN_STEADY + 1} or more"
    counts = sorted(set(short.values()))
    if short and len(short) == len(results) and len(counts) == 1:  # one cause, one line
        epochs = f"{counts[0]} steady epoch{'' if counts[0] == 1 else 's'}"
        out.insert(0, f"{epochs} per model: no timing ratio is resolved ({fix})")
    else:
        out[:0] = [f"{name}: {n} steady epoch{'' if n == 1 else 's'}: its timing ratios are not "
                   f"resolved ({fix})" for name, n in short.items()]  # fmt: skip
    if intervals is None:
        intervals = ratio_intervals(results)
    if "ms_per_step_ratio" in intervals and not short:
        out += stats.interval_warning("time/step ratio", intervals["ms_per_step_ratio"])
    return out + memory_warnings(results)


def memory_warnings(results: list[RunResult]) -> list[str]:
    """A model whose peak device memory went unmeasured beside one whose was: on a backend
    that keeps one peak per process (JAX), a model that stayed under the peak the other set
    has no peak of its own to show."""
    peaks: dict[str, float] = {}
    for result in results:
        values = [e.get("device_peak_mib", math.nan) for e in result.epochs]
        found = [float(v) for v in values if not missing(v)]
        peaks[result.model] = max([peaks.get(result.model, -math.inf), *found])
    measured = {model: peak for model, peak in peaks.items() if math.isfinite(peak)}
    if not measured:
        return []
    top, most = max(measured.items(), key=lambda item: item[1])
    return [f"peak GPU memory of {model}: not measured, as it stayed under the peak {top} set "
            f"({most:,.0f} MiB) and this backend keeps one peak per process (train {model} "
            "alone for its own)" for model in peaks if model not in measured]  # fmt: skip


def separable_over_normal(by_model: pd.DataFrame) -> dict[str, float]:
    """Every meaningful separable/normal ratio of a frame indexed by model (NaN when missing)."""
    out: dict[str, float] = {}
    if not set(KINDS) <= set(by_model.index):
        return out
    for column, name in RATIOS.items():
        paired = by_model.loc["separable", name] if name in by_model.columns else math.nan
        if not missing(paired):  # a median of paired per-epoch ratios, measured side by side
            out[name] = float(paired)
            continue
        if column not in by_model.columns:
            continue
        normal, separable = by_model.loc["normal", column], by_model.loc["separable", column]
        usable = not (missing(normal) or missing(separable)) and float(normal) != 0
        out[name] = float(separable) / float(normal) if usable else math.nan
    return out
