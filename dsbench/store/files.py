"""Results on disk: one writer per results folder, atomic files, validated reading back.

A run folder holds history.csv (a row per model, repeat and epoch), runs.csv (a row per
training run), summary.csv and summary.json (the Summary: a row per model, ratios, warnings),
environment.json and curves.png. A sweep folder holds sweep.csv, sweep.json, sweep.png and
one run folder per point under points/; a bench folder bench.csv, bench.json and
environment.json; deploy's, deploy.json and deploy/. Storage serialises and reads back.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from dsbench.errors import RUNTIME, DsbenchError
from dsbench.measure.bench import BenchSummary
from dsbench.measure.deploy import Deployed
from dsbench.measure.records import (
    INFERENCE_COLUMNS,
    RunResult,
    Status,
    history_frame,
    runs_frame,
    to_jsonable,
)
from dsbench.measure.summary import FolderKind, Summary
from dsbench.store import folders, frames, schema

if TYPE_CHECKING:
    from dsbench.measure.sweep import SweepSummary

    Record = Summary | SweepSummary | BenchSummary | Deployed

_UMASK = os.umask(0)
os.umask(_UMASK)


# ---------------------------------------------------------------- writing


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
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
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_json(path: Path, document: Any) -> None:
    """Atomically write strict JSON (NaN as null)."""
    atomic_text(path, json.dumps(to_jsonable(document), indent=2) + "\n")


MAX_RESULTS_FILE_BYTES = folders.MAX_RESULTS_FILE_BYTES  # also bounds --force's marker reads


def read_json(path: Path, *keys: str) -> dict[str, Any]:
    """A JSON object from `path`; a clear error when it is unreadable or lacks one of `keys`."""
    path = Path(path)
    try:
        document = json.loads(_read_bytes(path).decode("utf-8"), parse_constant=_no_constant)
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        missing = [key for key in keys if key not in document]
        if missing:
            raise ValueError(f"it has no {', '.join(repr(k) for k in missing)}")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, MemoryError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:200]
        raise schema.broken(path, reason) from None
    return document


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON, and dsbench writes a missing figure as null."""
    raise ValueError(f"it holds {name}, which dsbench never writes (a missing figure is null)")


def _read_bytes(path: Path) -> bytes:
    """A results file's bytes: a regular file of bounded size (a FIFO would block for ever)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise OSError(f"{path.name} is not a regular file")
    if info.st_size > MAX_RESULTS_FILE_BYTES:
        raise OSError(f"{info.st_size:,} bytes, more than dsbench ever writes")
    with open(path, "rb") as stream:
        return stream.read(MAX_RESULTS_FILE_BYTES + 1)


class ResultsFolder:
    """The one writer of a results folder.

    Checked when made, before anything slow runs (folders.check_run_dir), and created when
    dsbench first has something to put in it (results, or the checkpoints folder as training
    with checkpoints starts): a run that fails before then leaves no folder behind. With
    `force`, what dsbench wrote there before is removed at that moment and nothing else.
    `existing` is a folder being continued (resume, a sweep's point): written where it is.
    """

    def __init__(self, path: str | Path, force: bool = False, existing: bool = False) -> None:
        self.path = Path(path)
        self.force = force
        self._existing = existing
        self._made = False
        if not existing:
            folders.check_run_dir(self.path, force)

    @classmethod
    def shared(cls, path: str | Path) -> ResultsFolder:
        """The folder of a sweep that several workers fill (shards): new, empty, or holding
        only what dsbench writes (the sweep itself; run.sweeping checks it is the same
        sweep). A folder holding anything else is refused."""
        path = Path(path)
        if not path.is_dir() or not any(path.iterdir()):
            folders.check_run_dir(path, force=False)  # creates nothing: ready() makes it
            return cls(path, existing=True)  # made by whichever shard comes first
        if folders.written_marker(path) not in (None, FolderKind.sweep) or not (
            folders.is_results_folder(path) or folders.only_owned(path)
        ):
            raise DsbenchError(f"output_dir {path} already exists and holds what is not a "
                               "sweep's", "give every shard of one sweep the same new or empty "
                               "output_dir", setting="output_dir")  # fmt: skip
        return cls(path, existing=True)

    def ready(self) -> Path:
        """The folder, made (or cleared under force) on first use."""
        if not self._made:
            if self._existing:
                self.path.mkdir(parents=True, exist_ok=True)
            else:
                folders.prepare_run_dir(self.path, self.force)
            self._made = True
        return self.path

    def checkpoints(self) -> Path:
        """Where the models' checkpoints go (checkpoints.py)."""
        return _no_link(self.ready() / folders.CHECKPOINTS)

    def point(self, slug: str) -> ResultsFolder:
        """The results folder of one sweep point, under points/."""
        points = _no_link(self.ready() / folders.POINTS)
        return ResultsFolder(_no_link(points / slug), existing=True)

    def write_run(self, summary: Summary, results: list[RunResult], draw: bool = True) -> None:
        """Every file of a train or compare folder, for what has been measured so far.

        `draw=False` leaves curves.png for later (saves between epochs need only the data)."""
        from dsbench.store import plot

        history = history_frame(results)
        runs = runs_frame(results, (summary.settings.get("train") or {}).get("target_accuracy"))
        run_dir = self.ready()
        try:
            atomic_write(run_dir / "history.csv", lambda p: history.to_csv(p, index=False))
            atomic_write(run_dir / "runs.csv", lambda p: runs.to_csv(p, index=False))
            atomic_write(run_dir / "summary.csv", lambda p: summary.models.to_csv(p, index=False))
            atomic_json(run_dir / "summary.json", summary.document)
            atomic_json(run_dir / "environment.json", summary.environment)
            if draw and not history.empty:
                title = plot.curves_title(summary.settings, summary.environment)
                atomic_write(run_dir / "curves.png", lambda p: plot.curves(history, p, title))
        except OSError as err:
            raise DsbenchError(f"cannot write results to {run_dir}: {err.strerror}",
                               exit_code=RUNTIME) from None  # fmt: skip

    def write_sweep(self, sweep: SweepSummary) -> None:
        """sweep.csv, sweep.json and (when a point has ratios to draw) sweep.png: the time, MAC
        and parameter ratios against each swept axis."""
        from dsbench.spec.grid import swept_of
        from dsbench.store import plot

        run_dir = self.ready()
        atomic_write(run_dir / "sweep.csv", lambda p: sweep.rows.to_csv(p, index=False))
        atomic_json(run_dir / "sweep.json", sweep.document)
        ratios = sweep.ratios
        if not ratios.empty:
            axes = swept_of(sweep.axes)
            atomic_write(run_dir / "sweep.png", lambda p: plot.sweep(ratios, axes, p))

    def write_bench(self, bench: BenchSummary) -> None:
        """bench.csv (a row per mode and batch size), bench.json and environment.json."""
        run_dir = self.ready()
        atomic_write(run_dir / "bench.csv", lambda p: bench.rows.to_csv(p, index=False))
        atomic_json(run_dir / "bench.json", bench.document)
        atomic_json(run_dir / "environment.json", bench.environment)


def _no_link(path: Path) -> Path:
    """`path` inside a results folder, refused when it is a symbolic link: dsbench writes and
    removes only inside the folder, never where a link in a received folder points."""
    if path.is_symlink():
        raise DsbenchError(
            f"{path} is a symbolic link; dsbench writes only inside the results folder",
            "remove the link (or copy what it points to into the folder), then run again",
        )
    return path


# ---------------------------------------------------------------- reading back


def load(folder: Path, kind: FolderKind | None = None) -> Record:
    """A results folder of any kind as its record, checked (schema.py): the one place where
    the kind of a folder decides how it is read."""
    folder = Path(folder)
    kind = kind or folders.folder_kind(folder)
    if kind == FolderKind.deploy and (deployed := read_deploy(folder)) is not None:
        return deployed
    if kind == FolderKind.bench:
        return read_bench(folder)
    if kind == FolderKind.sweep:
        return read_sweep(folder)
    return read_summary(folder)


def read_environment(run_dir: Path) -> dict[str, Any]:
    """A results folder's environment.json ({} when it has none, as folders of old versions)."""
    path = Path(run_dir) / "environment.json"
    return schema.environment(read_json(path), path) if path.exists() else {}


def read_summary(run_dir: Path) -> Summary:
    """A train or compare folder's Summary (summary.json and environment.json, checked)."""
    document = _summary_document(Path(run_dir))
    history = read_history(run_dir)  # the folder is checked whole, whatever is shown of it
    frames.consistent(document, history, Path(run_dir) / "summary.json")
    return Summary.from_document(document, read_environment(run_dir))


def _summary_document(run_dir: Path) -> dict[str, Any]:
    """summary.json of a train or compare folder, checked (schema.summary)."""
    if not run_dir.is_dir():
        raise DsbenchError(f"{run_dir} is not a folder", "give a results folder written by dsbench")
    if not (run_dir / "summary.json").is_file():
        raise DsbenchError(f"{run_dir} is not a dsbench results folder (no summary.json)",
                           "give a folder written by dsbench train, compare or sweep")  # fmt: skip
    path = run_dir / "summary.json"
    return schema.summary(read_json(path, "models"), path)


def read_history(run_dir: Path) -> pd.DataFrame | None:
    """history.csv of a run folder, checked (None when it has none)."""
    history = _read_csv(Path(run_dir) / "history.csv")
    return frames.history(history, Path(run_dir) / "history.csv") if history is not None else None


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
    _summary_document(run_dir)  # a folder whose summary does not check out is not resumed
    history = read_history(run_dir)
    runs = _read_csv(run_dir / "runs.csv")
    if runs is None:
        return []
    runs = frames.runs(runs, run_dir / "runs.csv")
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
            epochs = mine.drop(columns=["model", "process", "repeat", "seed"], errors="ignore")
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
                images_per_epoch=int(row["images_per_epoch"])
                if pd.notna(row.get("images_per_epoch"))
                else 0,
                best_val_correct=str(row["best_val_correct"])
                if pd.notna(row.get("best_val_correct"))
                else "",
            )
        )
    return results


def read_sweep(run_dir: Path) -> SweepSummary:
    """A sweep folder's record from its sweep.json, checked (schema.sweep)."""
    from dsbench.measure.sweep import SweepSummary

    path = Path(run_dir) / "sweep.json"
    return SweepSummary.from_document(schema.sweep(read_json(path), path))


def read_bench(run_dir: Path) -> BenchSummary:
    """A bench folder's record from bench.json and environment.json, checked (schema.bench)."""
    path = Path(run_dir) / "bench.json"
    return BenchSummary.from_document(schema.bench(read_json(path), path),
                                      read_environment(run_dir))  # fmt: skip


def read_deploy(run_dir: Path) -> Deployed | None:
    """A folder's deploy.json as deploy's record, checked (schema.deploy); None without one."""
    path = Path(run_dir) / "deploy.json"
    if not path.is_file() or path.is_symlink():
        return None
    found = schema.deploy(read_json(path), path)
    return Deployed(found["rows"], found["weights"], found.get("environment") or {}, run_dir)
