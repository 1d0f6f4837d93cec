"""The shape of every results file dsbench reads back, checked once, in one place.

A results folder may come from another machine, an older version or a careless edit. Each
file is checked against what dsbench writes before anything uses it, and anything else is
one line: "FILE is not a dsbench results file: what is wrong" (exit code 2). After these
checks, every figure is a number (or missing), every name one dsbench knows, every text a
string: display and analysis can trust what they get.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from dsbench.config import validate_config
from dsbench.errors import DsbenchError
from dsbench.records import decode_correct
from dsbench.settings import BACKENDS, BENCH_MODES, KINDS, PRECISIONS

STATUSES = ("complete", "diverged", "interrupted")  # of one model's run (records.Status)
# A summary row's status: its run's, or "incomplete" for a model saved while it trained.
ROW_STATUSES = (*STATUSES, "incomplete")
RUN_STATUSES = ("complete", "incomplete")  # of a whole results folder
RUN_COMMANDS = ("train", "compare")
# Text columns of the rows dsbench writes; every other value of a row is a number or missing.
TEXT = {"point", "blocks", "scaled_blocks"}
OPTIONAL_TEXT = {"blocks", "scaled_blocks"}  # a sweep of your own --arch has no VGG blocks
CHOICES: dict[str, tuple[str, ...]] = {
    "model": KINDS,
    "status": ROW_STATUSES,
    "mode": tuple(m for m in BENCH_MODES if m != "both"),
    "backend": BACKENDS,
    "precision": PRECISIONS,
    "acc_difference_method": ("paired", "runs", "unpaired"),  # figures.accuracy_difference
}
OPTIONAL_CHOICES = {"acc_difference_method"}  # set on the separable row only
MAX_TEXT = 10_000  # characters in one text value; a warning or a device line is far shorter


def broken(path: Path | str, what: str) -> DsbenchError:
    """The one error for a results file that is not what dsbench writes."""
    return DsbenchError(
        f"{path} is not a dsbench results file: {what}",
        "rerun the command that wrote it, or leave the folder out",
    )


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, str))


def _text(value: Any, path: Path, where: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise broken(path, f"{where} is not a short text")
    return value


def _texts(value: Any, path: Path, where: str) -> list[str]:
    if not isinstance(value, list):
        raise broken(path, f"{where} is not a list")
    return [_text(item, path, f"{where}[{i}]") for i, item in enumerate(value)]


def _choice(value: Any, choices: tuple[str, ...], path: Path, where: str) -> str:
    if value not in choices:
        raise broken(path, f"{where} is {str(value)[:40]!r}, not one of {', '.join(choices)}")
    return str(value)


def _rows(
    value: Any, path: Path, where: str, required: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """A list of flat rows: names from CHOICES, text in TEXT columns, numbers elsewhere."""
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise broken(path, f"{where} is not a list of rows")
    for index, row in enumerate(value):
        here = f"{where}[{index}]"
        for key in required:
            if key not in row:
                raise broken(path, f"{here} has no {key!r}")
        for key, item in row.items():
            if not isinstance(key, str):
                raise broken(path, f"{here} has a key that is not text")
            if key in CHOICES and (item is not None or key not in OPTIONAL_CHOICES):
                _choice(item, CHOICES[key], path, f"{here}.{key}")
            elif key in TEXT and (item is not None or key not in OPTIONAL_TEXT):
                _text(item, path, f"{here}.{key}")
            elif not _is_number(item):
                raise broken(path, f"{here}.{key} is not a number")
    return value


def _table(document: Any, path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise broken(path, "not a JSON object")
    missing = [key for key in keys if key not in document]
    if missing:
        raise broken(path, f"it has no {', '.join(repr(k) for k in missing)}")
    return document


def settings(document: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    """The document's settings, validated as a config file's would be (None: not set)."""
    saved = document.get("settings") or {}
    if not isinstance(saved, dict) or not all(isinstance(v, dict) for v in saved.values()):
        raise broken(path, "'settings' is not a table of sections")
    given = {
        section: {key: value for key, value in values.items() if value is not None}
        for section, values in saved.items()
    }
    try:
        return validate_config(given, str(path))
    except DsbenchError as err:
        raise broken(path, f"its settings are invalid ({err.message})") from None


def summary(document: Any, path: Path) -> dict[str, Any]:
    """summary.json of a train or compare folder."""
    document = _table(document, path, ("models",))
    _choice(document.get("command", "compare"), RUN_COMMANDS, path, "'command'")
    _choice(document.get("status", "complete"), RUN_STATUSES, path, "'status'")
    kinds = document.get("kinds", list(KINDS))
    if not isinstance(kinds, list) or not kinds:
        raise broken(path, "'kinds' is not a list of models")
    for index, kind in enumerate(kinds):
        _choice(kind, KINDS, path, f"'kinds'[{index}]")
    models = _rows(document["models"], path, "'models'", ("model", "params"))
    if len({row["model"] for row in models}) != len(models):
        raise broken(path, "'models' lists a model twice")
    settings(document, path)
    ratios = document.get("ratios") or {}
    if not isinstance(ratios, dict) or not all(
        isinstance(r, dict) and all(_is_number(v) or k == "unit" for k, v in r.items())
        for r in ratios.values()
    ):
        raise broken(path, "'ratios' is not a table of intervals")
    _texts(document.get("warnings") or [], path, "'warnings'")
    if document.get("schedule") is not None:
        _text(document["schedule"], path, "'schedule'")
    return document


def sweep(document: Any, path: Path) -> dict[str, Any]:
    """sweep.json of a sweep folder."""
    document = _table(document, path, ("axes", "rows"))
    _choice(document.get("status", "complete"), RUN_STATUSES, path, "'status'")
    axes = document["axes"]
    if not isinstance(axes, dict):
        raise broken(path, "'axes' is not a table")
    saved = document.get("settings")
    model = saved.get("model") if isinstance(saved, dict) else None
    own = isinstance(model, dict) and bool(model.get("arch"))  # your --arch: axes given only
    for key, kind in (("kernel_size", int), ("width", (int, float)), ("blocks", str)):
        values = axes.get(key)
        if own and key in ("kernel_size", "width") and values is None:
            continue
        if own and key == "blocks":
            if values is not None:
                raise broken(path, "'axes'.blocks are the VGG's, and this sweep has an arch")
            continue
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, kind) and not isinstance(v, bool) for v in values)
        ):
            raise broken(path, f"'axes'.{key} is not a list of values")
    for key, kind in (("backend", str), ("batch_size", int), ("precision", str)):
        values = axes.get(key, [])  # swept training settings, when there are any
        if not isinstance(values, list) or not all(
            v is None or (isinstance(v, kind) and not isinstance(v, bool)) for v in values
        ):
            raise broken(path, f"'axes'.{key} is not a list of values")
    rows = _rows(document["rows"], path, "'rows'", ("point", "model", "scaled_blocks"))
    ratios = _rows(document.get("ratios") or [], path, "'ratios'",
                   ("point", "params_ratio", "macs_ratio",
                    *(() if own else ("kernel_size", "width"))))  # fmt: skip
    for index, ratio in enumerate(ratios):  # each point's ratio stands on one row per model
        models = sorted(row["model"] for row in rows if row["point"] == ratio["point"])
        if models != sorted(KINDS):
            raise broken(path, f"'ratios'[{index}] has not one row per model in 'rows'")
    if len({r["point"] for r in ratios}) != len(ratios):
        raise broken(path, "'ratios' lists a point twice")
    if document.get("arch_sha256") is not None:
        _text(document["arch_sha256"], path, "'arch_sha256'")
    settings(document, path)
    return document


def bench(document: Any, path: Path) -> dict[str, Any]:
    """bench.json of a bench folder."""
    document = _table(document, path, ("rows",))
    measured = ("ms_per_step", "ms_per_step_low", "ms_per_step_high", "images_per_s",
                "est_gflop_per_s")  # fmt: skip
    per_model = tuple(f"{kind}_{name}" for kind in KINDS for name in measured)
    needed = ("mode", "batch_size", "ratio", "ratio_low", "ratio_high", "pairs", *per_model)
    _rows(document["rows"], path, "'rows'", needed)
    target = document.get("precision_target", 0.05)
    if not _is_number(target) or target is None or not 0 < target < 1:
        raise broken(path, "'precision_target' is not a fraction")
    _texts(document.get("warnings") or [], path, "'warnings'")
    settings(document, path)
    return document


def environment(document: Any, path: Path) -> dict[str, Any]:
    """environment.json: free text where it describes the machine, numbers where it counts."""
    document = _table(document, path, ())
    for key in ("device", "hostname", "command", "schedule"):
        if document.get(key) is not None:
            _text(document[key], path, f"{key!r}")
    data = document.get("data") or {}
    if not isinstance(data, dict) or not _is_number(data.get("train_images")):
        raise broken(path, "'data' is not a table with a number of train_images")
    for key in ("cores_in_use",):
        if not _is_number(document.get(key)):
            raise broken(path, f"{key!r} is not a number")
    load = document.get("load_average") or {}
    if not isinstance(load, dict) or not all(_is_number(v) for v in load.values()):
        raise broken(path, "'load_average' is not a table of numbers")
    for key in ("devices", "gpus"):
        if not isinstance(document.get(key) or [], list):
            raise broken(path, f"{key!r} is not a list")
    return document


# Columns of runs.csv that resume rebuilds RunResults from, with their kinds.
RUN_COLUMNS = {"model": "name", "repeat": "count", "seed": "count", "status": "name",
               "params": "count", "macs_per_image": "count", "steps_per_epoch": "count",
               "batch_size": "count", "replicas": "count", "jit": "flag"}  # fmt: skip
HISTORY_COLUMNS = ("model", "repeat", "epoch")


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
                _choice(value, choices, path, f"column {column}")
        elif kind == "flag":
            if not all(str(v) in ("True", "False", "1", "0", "1.0", "0.0") for v in values):
                raise broken(path, f"column {column} is not true/false")
        elif not all(_whole(v) for v in values):
            raise broken(path, f"column {column} is not whole numbers >= 0")
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
        _choice(value, KINDS, path, "column model")
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
        if values.dtype == object and not all(str(v) in ("True", "False") for v in values.dropna()):
            raise broken(path, f"column {str(column)[:40]!r} is not numbers")
