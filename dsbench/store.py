"""Results on disk: atomic writes, run and sweep folders, checkpoints, one JSON reader.

A run folder holds history.csv (a row per model, repeat and epoch), runs.csv (a row per
training run), summary.csv and summary.json (a row per model: the comparison table's
columns), environment.json and curves.png. A sweep folder holds sweep.csv, sweep.json,
sweep.png and one run folder per point under points/.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from dsbench import schema, stats
from dsbench._version import __version__
from dsbench.config import KINDS
from dsbench.errors import RUNTIME, DsbenchError
from dsbench.records import (
    INFERENCE_COLUMNS,
    RunResult,
    Status,
    history_frame,
    ratio_intervals,
    runs_frame,
    summary_frame,
    to_jsonable,
    warnings,
)

if TYPE_CHECKING:
    import keras

_UMASK = os.umask(0)
os.umask(_UMASK)


# ---------------------------------------------------------------- writing


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write via a temporary file in the same folder, then rename: never a torn file."""
    path = Path(path)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_text(path: Path, text: str) -> None:
    """Atomically write a text file."""

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write)


def atomic_json(path: Path, document: Any) -> None:
    """Atomically write strict JSON (NaN as null)."""
    atomic_text(path, json.dumps(to_jsonable(document), indent=2) + "\n")


MAX_RESULTS_FILE_BYTES = 256 * 1024 * 1024  # a results file of many repeats is a few MB


def read_json(path: Path, *keys: str) -> dict[str, Any]:
    """A JSON object from `path`; a clear error when it is unreadable or lacks one of `keys`."""
    path = Path(path)
    try:
        document = json.loads(_read_bytes(path).decode("utf-8"))
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        missing = [key for key in keys if key not in document]
        if missing:
            raise ValueError(f"it has no {', '.join(repr(k) for k in missing)}")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, MemoryError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:200]
        raise schema.broken(path, reason) from None
    return document


def _read_bytes(path: Path) -> bytes:
    """A results file's bytes: a regular file of bounded size (a FIFO would block for ever)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise OSError(f"{path.name} is not a regular file")
    if info.st_size > MAX_RESULTS_FILE_BYTES:
        raise OSError(f"{info.st_size:,} bytes, more than dsbench ever writes")
    with open(path, "rb") as stream:
        return stream.read(MAX_RESULTS_FILE_BYTES + 1)


def default_run_dir(command: str) -> Path:
    """runs/<UTC timestamp>-<command>/."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path("runs") / f"{stamp}-{command}"


def check_run_dir(output_dir: str | Path, force: bool) -> Path:
    """Refuse an output folder that is a file, that holds files when not `force`, or that holds
    files dsbench did not write when `force` (force replaces dsbench's results, nothing else).

    Creates nothing: the folder is made (prepare_run_dir) only when there is something to
    write, so a run that fails on bad input leaves no empty folder behind.
    """
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise DsbenchError(
            f"output_dir {output_dir} exists and is not a folder",
            "choose another output_dir",
            setting="output_dir",
        )
    if not output_dir.is_dir() or not any(output_dir.iterdir()):
        return output_dir
    ours = is_results_folder(output_dir)
    if not force:
        raise DsbenchError(
            f"results folder {output_dir} already exists"
            if ours
            else f"output_dir {output_dir} already exists and holds files",
            "pass force to overwrite it, or choose another output_dir"
            if ours
            else "choose a new or empty output_dir",
            setting=("force", "output_dir") if ours else "output_dir",
        )
    if not ours:
        raise DsbenchError(
            f"output_dir {output_dir} is not a dsbench results folder (no summary.json, "
            "sweep.json or bench.json), so force will not clear it",
            "choose a new or empty output_dir",
            setting=("force", "output_dir"),
        )
    if foreign := _foreign_in_own_names(output_dir):
        raise DsbenchError(
            f"output_dir {output_dir}: {foreign} is not a file dsbench wrote, so force will not "
            "replace it",
            "move it away or choose another output_dir",
            setting=("force", "output_dir"),
        )
    return output_dir


# What dsbench writes into a results folder, and nothing else is ever removed by force.
RESULT_FILES = ("history.csv", "runs.csv", "summary.csv", "summary.json", "environment.json",
                "curves.png", "sweep.csv", "sweep.json", "sweep.png", "bench.csv", "bench.json")  # fmt: skip
CHECKPOINTS, POINTS = "checkpoints", "points"
# A checkpoint (normal-r0-e5.keras, its pointer normal-r0.json) or a temporary file of an
# interrupted atomic write (.NAME.XXXX.tmp, and Keras' .NAME.XXXX.tmp.keras beside it).
_CHECKPOINT_FILE = re.compile(rf"^({'|'.join(KINDS)})-r\d+(-e\d+\.keras|\.json)$")
_TEMPORARY = re.compile(r"^\.(.+)\.[A-Za-z0-9_]+\.tmp(\.keras)?$")


def is_results_folder(folder: Path) -> bool:
    """Whether dsbench wrote `folder`: it holds a marker file, or only what dsbench writes."""
    return folder_kind(folder) is not None or not any(
        not _owned(entry) for entry in folder.iterdir()
    )


def _owned(entry: Path, inside: str = "") -> bool:
    """Whether dsbench wrote `entry` (a file of a results folder, a checkpoint, a sweep point)."""
    name = entry.name
    temporary = _TEMPORARY.match(name)
    if entry.is_symlink() or not (entry.is_file() or entry.is_dir()):
        return False
    if entry.is_file():
        if inside == CHECKPOINTS:
            return bool(_CHECKPOINT_FILE.match(name) or (temporary and
                        _CHECKPOINT_FILE.match(temporary.group(1))))  # fmt: skip
        return name in RESULT_FILES or bool(temporary and temporary.group(1) in RESULT_FILES)
    if name == CHECKPOINTS and not inside:
        return all(_owned(child, CHECKPOINTS) for child in entry.iterdir())
    if name == POINTS and not inside:
        return all(_owned(child, POINTS) for child in entry.iterdir())
    if inside == POINTS:  # a sweep point: a run folder of its own
        return all(_owned(child) for child in entry.iterdir())
    return False


def _foreign_in_own_names(folder: Path) -> str | None:
    """An entry under one of dsbench's names that dsbench did not write (a folder called
    summary.csv, a link called checkpoints), which force would otherwise replace; else None.
    Other files, and files of other names inside checkpoints/ and points/, are left alone."""
    for entry in sorted(folder.iterdir()):
        if entry.name in RESULT_FILES and (entry.is_symlink() or not entry.is_file()):
            return str(entry)
        if entry.name in (CHECKPOINTS, POINTS) and (entry.is_symlink() or not entry.is_dir()):
            return str(entry)
    points = folder / POINTS
    if points.is_dir() and not points.is_symlink():
        for point in sorted(points.iterdir()):
            if (
                point.is_dir()
                and not point.is_symlink()
                and (found := _foreign_in_own_names(point))
            ):
                return found
    return None


def _remove_own(folder: Path, inside: str = "") -> None:
    """Remove what dsbench wrote in a results folder (and empty folders it made), nothing else."""
    for entry in folder.iterdir():
        if entry.is_symlink():
            continue
        if entry.is_dir() and entry.name in (CHECKPOINTS, POINTS) and not inside:
            _remove_own(entry, entry.name)
        elif entry.is_dir() and inside == POINTS:
            _remove_own(entry)
        elif entry.is_file() and _owned(entry, inside):
            entry.unlink()
        else:
            continue
        if entry.is_dir() and not any(entry.iterdir()):
            entry.rmdir()


def prepare_run_dir(output_dir: str | Path, force: bool) -> Path:
    """Create the results folder after check_run_dir's checks, and make sure it is writable.

    With `force`, what dsbench wrote there before (results, sweep points, checkpoints) is
    removed first, so a forced run starts over instead of reusing old points; every other
    file stays untouched.
    """
    output_dir = check_run_dir(output_dir, force)
    try:
        if force and output_dir.is_dir():
            _remove_own(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / ".dsbench-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise DsbenchError(
            f"cannot write to output_dir {output_dir}: {err.strerror}",
            "choose a folder you can write to",
            setting="output_dir",
        ) from None
    return output_dir


def summary_document(
    results: list[RunResult],
    command: str,
    settings: dict[str, Any],
    environment: dict[str, Any],
    complete: bool,
    kinds: tuple[str, ...] = KINDS,
    summary: pd.DataFrame | None = None,
    intervals: dict[str, stats.Interval] | None = None,
) -> dict[str, Any]:
    """The summary.json content (also what `--json` prints): a row per model, the paired
    timing ratios with their 95% intervals, and every warning about the timing.

    `summary` and `intervals` are summary_frame's and ratio_intervals' results, when the caller
    has them already: one interval computation serves the rows, the ratios and the warnings."""
    train = settings.get("train", {})
    if intervals is None:
        intervals = ratio_intervals(results)
    if summary is None:
        summary = summary_frame(results, train.get("target_accuracy"), intervals)
    load = environment.get("load_average") or {}
    cores = int(environment.get("cores_in_use") or os.cpu_count() or 1)
    return to_jsonable(
        {
            "dsbench_version": __version__,
            "command": command,
            "kinds": list(kinds),
            "status": "complete" if complete else "incomplete",
            "schedule": train.get("schedule"),
            "settings": settings,
            "models": summary.to_dict(orient="records"),
            "ratios": {name: vars(interval) for name, interval in intervals.items()},
            "warnings": warnings(results, intervals)
            + stats.load_warning(
                float(load.get("start", math.nan)), float(load.get("end") or math.nan), cores
            ),
        }
    )


def write_run(
    run_dir: Path,
    results: list[RunResult],
    command: str,
    settings: dict[str, Any],
    environment: dict[str, Any],
    complete: bool,
    kinds: tuple[str, ...] = KINDS,
    draw: bool = True,
) -> dict[str, Any]:
    """Write every results file for what has been measured so far; return the summary doc.

    `draw=False` leaves curves.png for later (saves between epochs need only the data)."""
    from dsbench import plot

    history = history_frame(results)
    target = settings.get("train", {}).get("target_accuracy")
    runs = runs_frame(results, target)
    intervals = ratio_intervals(results)
    summary = summary_frame(results, target, intervals)
    document = summary_document(
        results, command, settings, environment, complete, kinds, summary, intervals
    )
    try:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        atomic_write(run_dir / "history.csv", lambda p: history.to_csv(p, index=False))
        atomic_write(run_dir / "runs.csv", lambda p: runs.to_csv(p, index=False))
        atomic_write(run_dir / "summary.csv", lambda p: summary.to_csv(p, index=False))
        atomic_json(run_dir / "summary.json", document)
        atomic_json(run_dir / "environment.json", environment)
        if draw and not history.empty:
            title = _curves_title(settings, environment)
            atomic_write(run_dir / "curves.png", lambda p: plot.curves(history, p, title))
    except OSError as err:
        raise DsbenchError(
            f"cannot write results to {run_dir}: {err.strerror}", exit_code=RUNTIME
        ) from None
    return document


def _curves_title(settings: dict[str, Any], environment: dict[str, Any]) -> str:
    """'synthetic, 5,000 train images, batch 128, /CPU:0 (AMD EPYC ...)' for curves.png."""
    data = environment.get("data") or {}
    devices = environment.get("devices") or []
    gpus = environment.get("gpus") or []
    device = (
        gpus[0].get("model", "GPU") if gpus else (environment.get("cpu") or {}).get("model", "")
    )
    parts = [
        str(settings.get("data", {}).get("dataset", "")),
        f"{data['train_images']:,} train images" if "train_images" in data else "",
        f"batch {settings.get('train', {}).get('batch_size', '?')}",
        f"{', '.join(devices)} ({device})" if devices else device,
    ]
    return ", ".join(part for part in parts if part)


def write_bench(run_dir: Path, rows: pd.DataFrame, document: dict[str, Any],
                environment: dict[str, Any]) -> None:  # fmt: skip
    """bench.csv (a row per mode and batch size), bench.json and environment.json."""
    atomic_write(run_dir / "bench.csv", lambda p: rows.to_csv(p, index=False))
    atomic_json(run_dir / "bench.json", document)
    atomic_json(run_dir / "environment.json", environment)


# ---------------------------------------------------------------- reading back


def is_sweep_dir(run_dir: Path) -> bool:
    """A folder written by `sweep` (its points' own results live below it, under points/)."""
    return folder_kind(Path(run_dir)) == "sweep"


# The file that marks each kind of results folder, in the order they are looked for (a folder
# with summary.json is a run, whatever else it holds).
MARKERS = {"summary.json": "run", "sweep.json": "sweep", "bench.json": "bench"}


MAX_FOLDERS_SEARCHED = 100_000  # a walk of more folders than this is not a results tree


def find_results(path: Path, seen: set[tuple[int, int]] | None = None) -> list[tuple[str, Path]]:
    """(kind, folder) for a results folder, or for every results folder below `path` (a
    parent holding many runs); a sweep's own points and checkpoints are not listed apart.

    Each folder is visited once however links lead to it (`seen` holds the (device, inode) of
    the folders visited, and can be shared between calls so that no run is listed twice)."""
    path = Path(path)
    if not path.is_dir():
        raise DsbenchError(f"{path} is not a folder", "give a results folder written by dsbench")
    seen = set() if seen is None else seen
    top = path.stat()
    if (top.st_dev, top.st_ino) in seen:
        return []  # given twice, or inside a folder given before
    found: list[tuple[str, Path]] = []
    waiting = [path]
    while waiting:
        folder = waiting.pop()
        try:
            info = folder.stat()
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            if len(seen) > MAX_FOLDERS_SEARCHED:
                raise DsbenchError(f"{path} holds more than {MAX_FOLDERS_SEARCHED:,} folders",
                                   "give the results folders themselves")  # fmt: skip
            kind = folder_kind(folder)
            if kind:
                found.append((kind, folder))
                continue
            children = sorted((p for p in folder.iterdir() if p.is_dir()), reverse=True)
        except OSError:
            continue  # a folder that cannot be read holds no results dsbench can show
        waiting += [child for child in children if child.name not in (POINTS, CHECKPOINTS)]
    if not found:
        raise DsbenchError(
            f"{path} is not a dsbench results folder (no summary.json) and holds none",
            "give a folder written by dsbench train, compare, sweep or bench",
        )
    return found


def folder_kind(path: Path) -> str | None:
    """'run', 'sweep' or 'bench' for a results folder, None for any other folder."""
    return next((kind for name, kind in MARKERS.items() if (path / name).is_file()), None)


def read_environment(run_dir: Path) -> dict[str, Any]:
    """A results folder's environment.json ({} when it has none, as folders of old versions)."""
    path = Path(run_dir) / "environment.json"
    return schema.environment(read_json(path), path) if path.exists() else {}


def read_run(run_dir: Path) -> dict[str, Any]:
    """Read a results folder: its summary document, with summary/history DataFrames."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DsbenchError(f"{run_dir} is not a folder", "give a results folder written by dsbench")
    if not (run_dir / "summary.json").is_file():
        raise DsbenchError(
            f"{run_dir} is not a dsbench results folder (no summary.json)",
            "give a folder written by dsbench train, compare or sweep",
        )
    path = run_dir / "summary.json"
    document = schema.summary(read_json(path, "models"), path)
    history = _read_csv(run_dir / "history.csv")
    return {
        "document": document,
        "summary": pd.DataFrame(document["models"]),
        "history": schema.history(history, run_dir / "history.csv")
        if history is not None
        else None,
        "path": run_dir,
    }


def _read_csv(path: Path) -> pd.DataFrame | None:
    """A CSV results file, None when absent, a clear error when broken."""
    if not path.exists() and not path.is_symlink():
        return None
    try:
        return pd.read_csv(io.BytesIO(_read_bytes(path)))
    except (OSError, ValueError, pd.errors.ParserError, RecursionError, MemoryError) as err:
        raise schema.broken(
            path, str(err).splitlines()[0][:200] if str(err) else "unreadable"
        ) from None


def load_results(run_dir: Path) -> list[RunResult]:
    """Rebuild the RunResults of a results folder (runs.csv + history.csv), e.g. to resume it."""
    run_dir = Path(run_dir)
    history = read_run(run_dir)["history"]
    runs = _read_csv(run_dir / "runs.csv")
    if runs is None:
        return []
    runs = schema.runs(runs, run_dir / "runs.csv")
    results = []
    if history is not None and "process" not in history.columns:
        history = history.assign(process=0)  # folders written before --processes existed
    for row in runs.to_dict(orient="records"):
        rows = []
        process = int(row["process"]) if pd.notna(row.get("process")) else 0
        if history is not None and not history.empty:
            mine = history[
                (history["model"] == row["model"])
                & (history["repeat"] == row["repeat"])
                & (history["process"] == process)
            ]
            epochs = mine.drop(columns=["model", "process", "repeat", "seed"])
            rows = epochs.to_dict(orient="records")
        inference = {k: row[k] for k in INFERENCE_COLUMNS if k in row and pd.notna(row[k])}
        results.append(
            RunResult(
                model=str(row["model"]),
                repeat=int(row["repeat"]),
                seed=int(row["seed"]),
                params=int(row["params"]),
                macs_per_image=int(row["macs_per_image"]),
                steps_per_epoch=int(row["steps_per_epoch"]),
                batch_size=int(row["batch_size"]),
                epochs=rows,
                status=Status(str(row["status"])),
                inference=inference,
                replicas=int(row["replicas"]),
                jit=bool(row["jit"]),
                process=process,
            )
        )
    return results


# ---------------------------------------------------------------- sweep folders


def write_sweep(
    run_dir: Path,
    document: dict[str, Any],
    rows: pd.DataFrame,
    plot_png: Callable[[Path], None] | None,
) -> None:
    """sweep.csv, sweep.json and (when there is something to draw) sweep.png."""
    atomic_write(run_dir / "sweep.csv", lambda p: rows.to_csv(p, index=False))
    atomic_json(run_dir / "sweep.json", document)
    if plot_png is not None:
        atomic_write(run_dir / "sweep.png", plot_png)


def read_sweep(run_dir: Path) -> dict[str, Any]:
    """A sweep folder's sweep.json, checked (schema.sweep)."""
    path = Path(run_dir) / "sweep.json"
    return schema.sweep(read_json(path), path)


def read_bench(run_dir: Path) -> dict[str, Any]:
    """A bench folder's bench.json, checked (schema.bench)."""
    path = Path(run_dir) / "bench.json"
    return schema.bench(read_json(path), path)


# ---------------------------------------------------------------- checkpoints


def _checkpoint_name(kind: str, repeat: int) -> str:
    return f"{kind}-r{repeat}"


def save_checkpoint(folder: Path, model: keras.Model, result: RunResult) -> None:
    """Save weights + optimizer state after an epoch, then the epochs so far as the commit point.

    The .keras file is named by its epoch and written before the JSON that points to it, so
    a kill at any moment leaves a JSON whose model file and history agree. A failed write
    (a full disk) leaves no temporary file behind and becomes one line naming the folder.
    """
    name = _checkpoint_name(result.model, result.repeat)
    epoch = len(result.epochs)
    model_file = folder / f"{name}-e{epoch}.keras"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(model_file, lambda tmp: _save_keras(model, tmp))
        atomic_text(
            folder / f"{name}.json",
            json.dumps(to_jsonable({"model_file": model_file.name, "epochs": result.epochs})),
        )
        for old in folder.glob(f"{name}-e*.keras"):
            if old != model_file:
                old.unlink(missing_ok=True)
    except OSError as err:
        raise DsbenchError(
            f"cannot write a checkpoint to {folder}: {err.strerror or err}",
            "free some space or leave checkpoint off; the epochs before this one are saved",
            exit_code=RUNTIME,
        ) from None


def _save_keras(model: keras.Model, tmp: Path) -> None:
    # Keras insists on the .keras suffix; write beside the temporary name, then move onto it.
    path = tmp.with_name(tmp.name + ".keras")
    try:
        model.save(path)
        os.replace(path, tmp)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


_EPOCH_KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "train_s", "val_s",
               "epoch_s")  # fmt: skip


def load_checkpoint(
    folder: Path, kind: str, repeat: int
) -> tuple[Path, list[dict[str, Any]]] | None:
    """The last complete checkpoint of a run: (model file, its epochs), or None.

    The pointer is trusted only as far as it checks out: its model file must be this run's
    file for exactly its number of epochs, inside `folder`, and its epochs numbered 1..n."""
    name = _checkpoint_name(kind, repeat)
    pointer = folder / f"{name}.json"
    if not pointer.is_file():
        return None
    document = read_json(pointer, "model_file", "epochs")
    epochs = document["epochs"]
    broken = f"{pointer} is not a dsbench checkpoint pointer"
    hint = "delete the checkpoints folder to train this model from its start"
    if not isinstance(epochs, list) or not all(isinstance(row, dict) for row in epochs):
        raise DsbenchError(f"{broken}: 'epochs' is not a list of epoch rows", hint)
    expected_file = f"{name}-e{len(epochs)}.keras"
    if document["model_file"] != expected_file:
        raise DsbenchError(
            f"{broken}: it names {str(document['model_file'])[:80]!r}, not {expected_file} "
            f"(its own file for {len(epochs)} epochs in {folder})",
            hint,
        )
    for number, row in enumerate(epochs, start=1):
        values = [row.get(key) for key in _EPOCH_KEYS]
        if row.get("epoch") != number or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values
        ):
            raise DsbenchError(f"{broken}: epoch row {number} is not epoch {number}'s figures",
                               hint)  # fmt: skip
        row.update({k: math.nan for k, v in row.items() if v is None})
    model_file = folder / expected_file
    if not model_file.is_file() or model_file.is_symlink():
        raise DsbenchError(f"checkpoint {pointer} points to missing {model_file.name}", hint)
    return model_file, epochs
