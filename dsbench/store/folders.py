"""Results folders as places on disk: which folder a run may write, what `--force` may remove,
and which folders below a path hold results.

`--force` removes only what dsbench wrote (its file names, its checkpoints, its sweep points,
its temporary files) and refuses a folder that dsbench did not write. Nothing is created here
until store.ResultsFolder has something to write.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

from dsbench.errors import DsbenchError
from dsbench.measure.deploy import EXPORTS, export_name
from dsbench.measure.summary import FolderKind
from dsbench.spec.settings import KINDS


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
    if not output_dir.is_dir():
        _check_can_be_made(output_dir)
        return output_dir
    if not any(output_dir.iterdir()):
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
            "sweep.json or bench.json that dsbench wrote), so force will not clear it",
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


def _check_can_be_made(output_dir: Path) -> None:
    """Refuse, before anything runs, a folder that could not be made at the end of a run: one
    below a file, or below a folder this user cannot write to."""
    parent = output_dir.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise DsbenchError(
            f"cannot write to output_dir {output_dir}: {parent} is a file, not a folder",
            "choose a folder you can write to",
            setting="output_dir",
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DsbenchError(
            f"cannot write to output_dir {output_dir}: {parent} is not writable",
            "choose a folder you can write to",
            setting="output_dir",
        )


# What dsbench writes into a results folder, and nothing else is ever removed by force.
RESULT_FILES = ("history.csv", "runs.csv", "summary.csv", "summary.json", "environment.json",
                "curves.png", "sweep.csv", "sweep.json", "sweep.png", "bench.csv", "bench.json",
                "report.html", "deploy.json")  # fmt: skip
CHECKPOINTS, POINTS, CLAIMS, DEPLOY = "checkpoints", "points", "claims", "deploy"
# The models deploy exports: normal-litert-int8.tflite, separable-onnx-float32.onnx, ...
EXPORT_FILES = frozenset(export_name(kind, form, precision) for kind in KINDS
                         for form, precision in EXPORTS)  # fmt: skip
# A checkpoint (normal-r0-e5.keras, its pointer normal-r0.json) or a temporary file of an
# interrupted atomic write (.NAME.XXXX.tmp, and Keras' .NAME.XXXX.tmp.keras beside it).
_CHECKPOINT_FILE = re.compile(rf"^({'|'.join(KINDS)})-r\d+(-e\d+\.keras|\.json)$")
_TEMPORARY = re.compile(r"^\.(.+)\.[A-Za-z0-9_]+\.tmp(\.keras)?$")
# A sweep point's claim (its lock, and the note of who holds it) or the sweep's own lock.
_CLAIM_FILE = re.compile(r"^[\w.-]+\.(lock|json)$")


def is_results_folder(folder: Path) -> bool:
    """Whether dsbench wrote `folder`, judged by content, never by file names alone: it holds a
    marker dsbench wrote (written_marker), or it is a run or sweep interrupted before its
    first marker, holding only what dsbench writes and, in it, a sweep point dsbench wrote or
    a checkpoint pointer dsbench wrote. A user's summary.json or curves.png is no marker."""
    if written_marker(folder) is not None:
        return True
    entries = list(folder.iterdir())
    if not entries or not all(_owned(entry) for entry in entries):
        return False
    points, checkpoints = folder / POINTS, folder / CHECKPOINTS
    return (points in entries and any(is_results_folder(point) for point in points.iterdir())) or (
        checkpoints in entries and any(_is_pointer(file) for file in checkpoints.iterdir())
    )


def only_owned(folder: Path) -> bool:
    """Whether everything in `folder` is something dsbench writes (a sweep that other workers
    have begun: its points and claims, before its first sweep.json)."""
    return all(_owned(entry) for entry in folder.iterdir())


MAX_RESULTS_FILE_BYTES = 256 * 1024 * 1024  # a results file of many repeats is a few MB


def _markers(folder: Path) -> list[tuple[Path, FolderKind]]:
    """The marker files in `folder` by their exact names (summary.json, not Summary.JSON,
    which a case-insensitive disk would also find), in the order MARKERS gives them."""
    try:
        names = set(os.listdir(folder))
    except OSError:
        return []
    return [(folder / name, kind) for name, kind in MARKERS.items() if name in names]


def written_marker(folder: Path) -> FolderKind | None:
    """The kind of results folder whose marker file dsbench wrote: a regular file named
    exactly, a JSON object carrying dsbench's `dsbench_version`."""
    return next((kind for marker, kind in _markers(folder)
                 if isinstance(_json_object(marker).get("dsbench_version"), str)), None)  # fmt: skip


def _is_pointer(path: Path) -> bool:
    """A checkpoint pointer dsbench wrote: {kind}-r{repeat}.json naming its model file."""
    if not _CHECKPOINT_FILE.match(path.name) or path.suffix != ".json":
        return False
    model_file = _json_object(path).get("model_file")
    return isinstance(model_file, str) and model_file.startswith(path.stem + "-e")


def _json_object(path: Path) -> dict[str, object]:
    """A small regular file's JSON object, or {} for anything else (a link, a FIFO, not JSON)."""
    import json

    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_RESULTS_FILE_BYTES:
            return {}
        document = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    return document if isinstance(document, dict) else {}


def _owned(entry: Path, inside: str = "") -> bool:
    """Whether dsbench wrote `entry` (a file of a results folder, a checkpoint, a sweep point)."""
    name = entry.name
    temporary = _TEMPORARY.match(name)
    if entry.is_symlink() or not (entry.is_file() or entry.is_dir()):
        return False
    if entry.is_file():
        if inside == CLAIMS:
            return bool(_CLAIM_FILE.match(name) or (temporary and
                        _CLAIM_FILE.match(temporary.group(1))))  # fmt: skip
        if inside == CHECKPOINTS:
            return bool(_CHECKPOINT_FILE.match(name) or (temporary and
                        _CHECKPOINT_FILE.match(temporary.group(1))))  # fmt: skip
        if inside == DEPLOY:
            return name in EXPORT_FILES
        return name in RESULT_FILES or bool(temporary and temporary.group(1) in RESULT_FILES)
    if name == CHECKPOINTS and not inside:
        return all(_owned(child, CHECKPOINTS) for child in entry.iterdir())
    if name in (POINTS, CLAIMS, DEPLOY) and not inside:
        return all(_owned(child, name) for child in entry.iterdir())
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
        if entry.name in (CHECKPOINTS, POINTS, CLAIMS) and (
            entry.is_symlink() or not entry.is_dir()
        ):
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
        if entry.is_dir() and entry.name in (CHECKPOINTS, POINTS, CLAIMS) and not inside:
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


# The file that marks each kind of results folder, in the order they are looked for (a folder
# with summary.json is a run, whatever else it holds, deploy.json included).
MARKERS = {"summary.json": FolderKind.run, "sweep.json": FolderKind.sweep,
           "bench.json": FolderKind.bench, "deploy.json": FolderKind.deploy}  # fmt: skip


MAX_FOLDERS_SEARCHED = 100_000  # a walk of more folders than this is not a results tree


def find_results(
    path: Path, seen: set[tuple[int, int]] | None = None
) -> list[tuple[FolderKind, Path]]:
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
    found: list[tuple[FolderKind, Path]] = []
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
        waiting += [child for child in children
                    if child.name not in (POINTS, CHECKPOINTS, CLAIMS)]  # fmt: skip
    if not found:
        raise DsbenchError(
            f"{path} is not a dsbench results folder (no summary.json) and holds none",
            "give a folder written by dsbench train, compare, sweep or bench",
        )
    return found


def folder_kind(path: Path) -> FolderKind | None:
    """The kind of a results folder (its marker file, named exactly), None for any other
    folder. Reading needs no more: what is read is checked whole (schema.py)."""
    return next((kind for marker, kind in _markers(path) if marker.is_file()), None)
