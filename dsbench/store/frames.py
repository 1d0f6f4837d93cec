"""The tables a results folder holds, read back: runs.csv and history.csv, every column and
value checked (names, counts, ranges) and checked against summary.json, in one place."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from dsbench.measure.records import decode_correct
from dsbench.spec.settings import KINDS
from dsbench.store.bounds import out_of_range
from dsbench.store.schema import CHOICES, STATUSES, broken, checked_choice

# Columns of runs.csv that resume rebuilds RunResults from, with their kinds.
RUN_COLUMNS = {"model": "name", "repeat": "count", "seed": "count", "status": "name",
               "params": "count", "macs_per_image": "count", "steps_per_epoch": "count",
               "batch_size": "count", "replicas": "count", "jit": "flag"}  # fmt: skip
# Columns of history.csv that the figures are computed from (every version wrote them).
HISTORY_COLUMNS = ("model", "repeat", "epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                   "train_s", "val_s", "epoch_s")  # fmt: skip


def runs(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """runs.csv: a row per model and repeat with whole numbers where RunResult needs them."""
    missing = [c for c in RUN_COLUMNS if c not in frame.columns]
    if missing:
        raise broken(path, f"it lacks the columns {', '.join(missing)}")
    for column, kind in RUN_COLUMNS.items():
        values = frame[column]
        if kind == "name":
            choices = STATUSES if column == "status" else CHOICES[column]
            for value in values:
                checked_choice(value, choices, path, f"column {column}")
        elif kind == "flag":
            if not all(str(v) in ("True", "False", "1", "0", "1.0", "0.0") for v in values):
                raise broken(path, f"column {column} is not true/false")
        elif not all(_whole(v) for v in values):
            raise broken(path, f"column {column} is not whole numbers >= 0")
        else:
            for value in values:
                if (why := out_of_range(column, float(value))) is not None:
                    raise broken(path, f"column {column} holds {why}")
    for column in ("process", "images_per_epoch"):  # newer columns: checked when present
        if column in frame.columns and not all(_whole(v) for v in frame[column].dropna()):
            raise broken(path, f"column {column} is not whole numbers >= 0")
    for value in frame.get("best_val_correct", pd.Series(dtype=object)).dropna():
        try:
            decode_correct(value)
        except ValueError as err:
            raise broken(
                path, f"column best_val_correct is not dsbench's encoding ({err})"
            ) from None
    _numbers(frame, path, set(RUN_COLUMNS) | {"process", "images_per_epoch", "best_val_correct"})
    if frame.duplicated([c for c in ("model", "repeat", "process") if c in frame]).any():
        raise broken(path, "it lists one model's run twice")
    return frame


def history(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """history.csv: a row per model, repeat and epoch; each run's epochs numbered 1..n once."""
    missing = [c for c in HISTORY_COLUMNS if c not in frame.columns]
    if missing and not frame.empty:
        raise broken(path, f"it lacks the columns {', '.join(missing)}")
    if frame.empty:
        return frame
    for value in frame["model"]:
        checked_choice(value, KINDS, path, "column model")
    for column in ("repeat", "epoch", "process", "seed"):
        if column in frame.columns and not all(_whole(v) for v in frame[column]):
            raise broken(path, f"column {column} is not whole numbers >= 0")
    _numbers(frame, path, {"model"})
    keys = [c for c in ("model", "process", "repeat") if c in frame.columns]
    for key, group in frame.groupby(keys, sort=False):
        if group["epoch"].astype(int).tolist() != list(range(1, len(group) + 1)):
            raise broken(path, f"the epochs of {key} are not numbered 1..{len(group)} once each")
    return frame


def _whole(value: Any) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number.is_integer() and 0 <= number < 2**63


def _numbers(frame: pd.DataFrame, path: Path, names: set[str]) -> None:
    """Every column not in `names` holds numbers (or booleans, or nothing)."""
    for column in frame.columns:
        if column in names:
            continue
        values = frame[column]
        if not pd.api.types.is_numeric_dtype(values) and not all(
            str(v) in ("True", "False") for v in values.dropna()
        ):
            raise broken(path, f"column {str(column)[:40]!r} is not numbers")
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            for value in values.dropna():
                if (why := out_of_range(str(column), value)) is not None:
                    raise broken(path, f"column {str(column)[:40]!r} holds {why}")


def consistent(document: dict[str, Any], history: pd.DataFrame | None, path: Path) -> None:
    """summary.json agrees with history.csv where both hold a figure: for a model trained
    once, its epochs completed and its best validation accuracy are its history's."""
    if history is None or history.empty or "val_accuracy" not in history.columns:
        return
    for row in document["models"]:
        if row.get("runs", 1) != 1 or row.get("processes", 1) not in (1, None):
            continue  # figures averaged over repeats: not one history's
        mine = history[history["model"] == row["model"]]
        if mine.empty:
            continue
        done = row.get("epochs_completed")
        if done is not None and done != len(mine):
            raise broken(path, f"{row['model']} completed {done:g} epochs, and history.csv "
                               f"holds {len(mine)}")  # fmt: skip
        best, accuracies = row.get("best_val_acc"), mine["val_accuracy"].dropna()
        if best is not None and not accuracies.empty and abs(best - accuracies.max()) > 1e-9:
            raise broken(path, f"{row['model']}'s best_val_acc is {best:g}, and its best in "
                               f"history.csv is {accuracies.max():g}")  # fmt: skip
