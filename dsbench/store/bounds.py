"""The range of every figure dsbench records, by name, and why a value falls outside it: what
schema.py and frames.py check every number read back against."""

from __future__ import annotations

import math
from typing import Any

# What each figure can be, by name: outside it a number is no measurement (an accuracy of 5,
# a negative time, 0 steps per epoch), and would crash or mislead whatever computes with it.
# (lowest, highest, whole, lowest excluded); figures not named here must only be finite.
Bounds = tuple[float, float, bool, bool]
FRACTION: Bounds = (0.0, 1.0, False, False)
DIFFERENCE: Bounds = (-1.0, 1.0, False, False)
COUNT: Bounds = (1.0, math.inf, True, False)  # at least one
TALLY: Bounds = (0.0, math.inf, True, False)  # zero or more
POSITIVE: Bounds = (0.0, math.inf, False, True)
NON_NEGATIVE: Bounds = (0.0, math.inf, False, False)
AT_LEAST_ONE: Bounds = (1.0, math.inf, False, False)  # an epoch number, a mean over repeats
BOUNDS: dict[str, Bounds] = {
    **dict.fromkeys(
        (
            "accuracy",
            "val_accuracy",
            "best_val_acc",
            "best_val_acc_low",
            "best_val_acc_high",
            "final_val_acc",
            "target_val_acc",
            "acc_mcnemar_p",
            "precision_target",
        ),
        FRACTION,
    ),
    **dict.fromkeys(
        ("acc_difference", "acc_difference_low", "acc_difference_high", "overfit_gap"), DIFFERENCE
    ),
    **dict.fromkeys(
        (
            "params",
            "steps_per_epoch",
            "batch_size",
            "runs",
            "processes",
            "replicas",
            "epoch",
            "pairs",
            "kernel_size",
            "chunk_steps",
            "normal_chunk_steps",
            "separable_chunk_steps",
            "logical_cores",
            "cores_in_use",
        ),
        COUNT,
    ),
    **dict.fromkeys(
        (
            "macs_per_image",
            "epochs_completed",
            "steady_epochs",
            "steady_outliers",
            "normal_outliers",
            "separable_outliers",
            "repeat",
            "seed",
            "process",
            "images_per_epoch",
            "acc_discordant",
            "model_file_bytes",
            "test_images",
            "train_images",
            "activations_per_image",
        ),
        TALLY,
    ),
    **dict.fromkeys(("best_epoch", "epochs_to_target"), AT_LEAST_ONE),
    **dict.fromkeys(
        (
            "acc_ratio",
            "final_acc_ratio",
            "ratio_half_width",
            "seconds",
            "time_before_target_s",
            "setup_s",
            "gflop_share_of_probe",
            "device_peak_mib",
            "peak_rss_mib",
        ),
        NON_NEGATIVE,
    ),
    "width": POSITIVE,
}
LOSSES = ("loss", "val_loss")  # a diverged model's loss is infinite or NaN, as measured


def bounds(name: str) -> Bounds | None:
    """The range of the figure called `name` (None: any finite number)."""
    if name in BOUNDS:
        return BOUNDS[name]
    if name.endswith("_std") or name.startswith("time_to_target_ratio"):
        return NON_NEGATIVE  # a spread over repeats; a target reached in the first epoch
    if name.endswith("_n"):  # how many pairs, epochs or runs an interval is from
        return TALLY
    if "ratio" in name or "ms_per_step" in name or "images_per_s" in name:
        return POSITIVE
    if name.startswith(("steady_", "first_epoch")) or name.endswith(("latency_b1_ms",
                                                                      "latency_b1_p90_ms")):  # fmt: skip
        return POSITIVE
    if name.endswith(("_s", "_ms", "_mib", "_bytes")) or "gflop" in name:
        return NON_NEGATIVE
    return None


def out_of_range(name: str, value: Any) -> str | None:
    """Why `value` cannot be the figure `name` (None when it can, or is missing)."""
    return outside(value, bounds(name), measured=name in LOSSES)


def outside(value: Any, found: Bounds | None, measured: bool = False) -> str | None:
    """Why `value` is no number within `found` (None: it is, or it is missing); `measured`
    lets a non-finite value through (a diverged loss)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    if math.isnan(number):
        return None if measured else "NaN"
    if not math.isfinite(number):
        return None if measured else f"{number}"
    if found is None:
        return None
    low, high, whole, open_low = found
    if whole and not number.is_integer():
        return f"{number:g}, not a whole number"
    if number < low or number > high or (open_low and number <= low):
        shown = f"({low:g}" if open_low else f"[{low:g}"
        return f"{number:g}, outside {shown}, {high:g}]"
    return None
