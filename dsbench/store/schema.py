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

from dsbench.errors import DsbenchError
from dsbench.measure.records import decode_correct
from dsbench.spec.config import validate_config
from dsbench.spec.settings import BACKENDS, BENCH_MODES, KINDS, PRECISIONS

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


# What each figure can be, by name: outside it a number is no measurement (an accuracy of 5,
# a negative time, 0 steps per epoch), and would crash or mislead whatever computes with it.
# (lowest, highest, whole, lowest excluded); figures not named here must only be finite.
Bounds = tuple[float, float, bool, bool]
_FRACTION: Bounds = (0.0, 1.0, False, False)
_DIFFERENCE: Bounds = (-1.0, 1.0, False, False)
_COUNT: Bounds = (1.0, math.inf, True, False)  # at least one
_TALLY: Bounds = (0.0, math.inf, True, False)  # zero or more
_POSITIVE: Bounds = (0.0, math.inf, False, True)
_NON_NEGATIVE: Bounds = (0.0, math.inf, False, False)
_AT_LEAST_ONE: Bounds = (1.0, math.inf, False, False)  # an epoch number, a mean over repeats
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
        _FRACTION,
    ),
    **dict.fromkeys(
        ("acc_difference", "acc_difference_low", "acc_difference_high", "overfit_gap"), _DIFFERENCE
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
        _COUNT,
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
        _TALLY,
    ),
    **dict.fromkeys(("best_epoch", "epochs_to_target"), _AT_LEAST_ONE),
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
        _NON_NEGATIVE,
    ),
    "width": _POSITIVE,
}
LOSSES = ("loss", "val_loss")  # a diverged model's loss is infinite or NaN, as measured


def bounds(name: str) -> Bounds | None:
    """The range of the figure called `name` (None: any finite number)."""
    if name in BOUNDS:
        return BOUNDS[name]
    if name.endswith("_std") or name.startswith("time_to_target_ratio"):
        return _NON_NEGATIVE  # a spread over repeats; a target reached in the first epoch
    if name.endswith("_n"):  # how many pairs, epochs or runs an interval is from
        return _TALLY
    if "ratio" in name or "ms_per_step" in name or "images_per_s" in name:
        return _POSITIVE
    if name.startswith(("steady_", "first_epoch")) or name.endswith(("latency_b1_ms",
                                                                      "latency_b1_p90_ms")):  # fmt: skip
        return _POSITIVE
    if name.endswith(("_s", "_ms", "_mib", "_bytes")) or "gflop" in name:
        return _NON_NEGATIVE
    return None


def out_of_range(name: str, value: Any) -> str | None:
    """Why `value` cannot be the figure `name` (None when it can, or is missing)."""
    return _outside(value, bounds(name), measured=name in LOSSES)


def _outside(value: Any, found: Bounds | None, measured: bool = False) -> str | None:
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


def _in_range(name: str, value: Any, path: Path, where: str) -> None:
    _within(value, bounds(name), path, where, measured=name in LOSSES)


def _within(value: Any, found: Bounds | None, path: Path, where: str,
            measured: bool = False) -> None:  # fmt: skip
    if (why := _outside(value, found, measured)) is not None:
        raise broken(path, f"{where} is {why}")


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
    value: Any, path: Path, where: str, required: tuple[str, ...] = (),
    nullable: tuple[str, ...] = (),
) -> list[dict[str, Any]]:  # fmt: skip
    """A list of flat rows: names from CHOICES, text in TEXT columns, numbers elsewhere; the
    `required` keys in every row, not null unless `nullable` (or optional text)."""
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise broken(path, f"{where} is not a list of rows")
    for index, row in enumerate(value):
        here = f"{where}[{index}]"
        for key in required:
            if key not in row:
                raise broken(path, f"{here} has no {key!r}")
            if row[key] is None and key not in OPTIONAL_TEXT and key not in nullable:
                raise broken(path, f"{here}.{key} is missing (null)")
        for key, item in row.items():
            if not isinstance(key, str):
                raise broken(path, f"{here} has a key that is not text")
            if key in CHOICES and (item is not None or key not in OPTIONAL_CHOICES):
                _choice(item, CHOICES[key], path, f"{here}.{key}")
            elif key in TEXT and (item is not None or key not in OPTIONAL_TEXT):
                _text(item, path, f"{here}.{key}")
            elif not _is_number(item):
                raise broken(path, f"{here}.{key} is not a number")
            else:
                _in_range(key, item, path, f"{here}.{key}")
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
    for name, interval in ratios.items():  # median, low, high > 0; n whole (0: no interval)
        for key, value in interval.items():
            if key != "unit":
                _within(value, _TALLY if key == "n" else _POSITIVE, path,
                        f"'ratios'.{name}.{key}")  # fmt: skip
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
    needed = (
        "mode",
        "batch_size",
        "ratio",
        "pairs",
        "target_reached",
        *(f"{kind}_ms_per_step" for kind in KINDS),
    )  # measured in every row
    unresolved = ("ratio_low", "ratio_high", *(n for n in per_model if n not in needed))
    _rows(document["rows"], path, "'rows'", (*needed, *unresolved), nullable=unresolved)
    target = document.get("precision_target", 0.05)
    if not _is_number(target) or target is None or not 0 < target < 1 or target != target:
        raise broken(path, "'precision_target' is not a fraction")
    spread = document.get("between_runs_sd")
    if spread is not None and (not _is_number(spread) or not 0 <= spread < 1):
        raise broken(path, "'between_runs_sd' is not a spread in [0, 1)")
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
    for key in ("train_images", "test_images"):
        _in_range(key, data.get(key), path, f"'data'.{key}")
    for key in ("cores_in_use", "replicas", "peak_rss_mib"):
        if not _is_number(document.get(key)):
            raise broken(path, f"{key!r} is not a number")
        _in_range(key, document.get(key), path, repr(key))
    load = document.get("load_average") or {}
    if not isinstance(load, dict) or not all(_is_number(v) for v in load.values()):
        raise broken(path, "'load_average' is not a table of numbers")
    for key, value in load.items():
        _within(value, _NON_NEGATIVE, path, f"'load_average'.{key}")
    for key in ("devices", "gpus"):
        if not isinstance(document.get(key) or [], list):
            raise broken(path, f"{key!r} is not a list")
    return document


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
                _choice(value, choices, path, f"column {column}")
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
