"""The shape of every results file dsbench reads back, checked once, in one place.

A results folder may come from another machine, an older version or a careless edit. Each
file is checked against what dsbench writes before anything uses it, and anything else is
one line: "FILE is not a dsbench results file: what is wrong" (exit code 2). After these
checks, every figure is a number (or missing), every name one dsbench knows, every text a
string: display and analysis can trust what they get.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dsbench.errors import DsbenchError
from dsbench.spec.config import validate_config
from dsbench.spec.settings import BACKENDS, BENCH_MODES, KINDS, PRECISIONS
from dsbench.store.bounds import (
    LOSSES,
    NON_NEGATIVE,
    POSITIVE,
    TALLY,
    Bounds,
    bounds,
    outside,
)

STATUSES = ("complete", "diverged", "interrupted")  # of one model's run (records.Status)
# A summary row's status: its run's, or "incomplete" for a model saved while it trained.
ROW_STATUSES = (*STATUSES, "incomplete")
RUN_STATUSES = ("complete", "incomplete")  # of a whole results folder
RUN_COMMANDS = ("train", "compare")
# Text columns of the rows dsbench writes; every other value of a row is a number or missing.
TEXT = {"point", "blocks", "scaled_blocks", "hostname", "device"}
# a sweep of your own --arch has no VGG blocks; a point of an older sweep no machine
OPTIONAL_TEXT = {"blocks", "scaled_blocks", "hostname", "device"}
CHOICES: dict[str, tuple[str, ...]] = {
    "model": KINDS,
    "status": ROW_STATUSES,
    "mode": tuple(m for m in BENCH_MODES if m != "both"),
    "backend": BACKENDS,
    "precision": PRECISIONS,
    "acc_difference_method": ("paired", "runs", "unpaired"),  # comparison.accuracy_difference
}
OPTIONAL_CHOICES = {"acc_difference_method"}  # set on the separable row only
MAX_TEXT = 10_000  # characters in one text value; a warning or a device line is far shorter


def _in_range(name: str, value: Any, path: Path, where: str) -> None:
    _within(value, bounds(name), path, where, measured=name in LOSSES)


def _within(value: Any, found: Bounds | None, path: Path, where: str,
            measured: bool = False) -> None:  # fmt: skip
    if (why := outside(value, found, measured)) is not None:
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


def checked_choice(value: Any, choices: tuple[str, ...], path: Path, where: str) -> str:
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
                checked_choice(item, CHOICES[key], path, f"{here}.{key}")
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
    checked_choice(document.get("command", "compare"), RUN_COMMANDS, path, "'command'")
    checked_choice(document.get("status", "complete"), RUN_STATUSES, path, "'status'")
    kinds = document.get("kinds", list(KINDS))
    if not isinstance(kinds, list) or not kinds:
        raise broken(path, "'kinds' is not a list of models")
    for index, kind in enumerate(kinds):
        checked_choice(kind, KINDS, path, f"'kinds'[{index}]")
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
                _within(value, TALLY if key == "n" else POSITIVE, path,
                        f"'ratios'.{name}.{key}")  # fmt: skip
    _texts(document.get("warnings") or [], path, "'warnings'")
    if document.get("schedule") is not None:
        _text(document["schedule"], path, "'schedule'")
    return document


def sweep(document: Any, path: Path) -> dict[str, Any]:
    """sweep.json of a sweep folder."""
    document = _table(document, path, ("axes", "rows"))
    checked_choice(document.get("status", "complete"), RUN_STATUSES, path, "'status'")
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
    plan = _texts(document.get("plan", []), path, "'plan'")  # every point's name, in order
    if len(set(plan)) != len(plan):
        raise broken(path, "'plan' lists a point twice")
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
        _within(value, NON_NEGATIVE, path, f"'load_average'.{key}")
    for key in ("devices", "gpus"):
        if not isinstance(document.get(key) or [], list):
            raise broken(path, f"{key!r} is not a list")
    return document


def deploy(document: Any, path: Path) -> dict[str, Any]:
    """deploy.json: the weights used and a row per model, export and thread count, each figure
    a number (NaN where not measured), each name one deploy writes."""
    from dsbench.measure.deploy import COUNTED, EXPORTS, export_name

    formats = tuple(dict.fromkeys(form for form, _ in EXPORTS))
    document = _table(document, path, ("rows", "weights"))
    _text(document["weights"], path, "'weights'")
    rows = document["rows"]
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise broken(path, "'rows' is not a list of rows")
    for index, row in enumerate(rows):
        here = f"'rows'[{index}]"
        model = checked_choice(row.get("model"), KINDS, path, f"{here}.model")
        form = checked_choice(row.get("format"), formats, path, f"{here}.format")
        precision = checked_choice(row.get("precision"), tuple(p for f, p in EXPORTS if f == form),
                                   path, f"{here}.precision")  # fmt: skip
        if (
            _text(row.get("file"), path, f"{here}.file")
            != f"deploy/{export_name(model, form, precision)}"
        ):
            raise broken(path, f"{here}.file is not one of deploy's own files")
        for key, value in row.items():
            if key in ("model", "format", "precision", "file"):
                continue
            if not _is_number(value) or (value is None and key in ("threads", "size_bytes")):
                raise broken(path, f"{here}.{key} is not a number")
            if key in COUNTED and value is not None and not value >= 1:
                raise broken(path, f"{here}.{key} is {value}, not a positive count")
            signed = key.startswith("accuracy_difference")  # an export may lose accuracy
            if value is not None and not (-1 <= value <= 1 if signed else 0 <= value < 1e12):
                raise broken(path, f"{here}.{key} is {value}, out of range")
    _texts(document.get("warnings") or [], path, "'warnings'")
    if "environment" in document:
        environment(document["environment"], path)
    return document
