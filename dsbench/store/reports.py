"""Many results folders at once: each folder's record, and all of them as one set of rows.

`report(paths)` finds every results folder under the paths (run, sweep, bench, deploy, or a
parent holding many), reads each as its record (store.load) and lays them out as a row per
folder, point and model, with the columns that say where and how each was measured and the
separable/normal ratios; deploy's rows (a run's, or an untrained pair's) apart, a row per
folder, model, export and thread count; its warnings say when the folders differ in settings
that change the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from dsbench.measure.deploy import Deployed
from dsbench.measure.summary import FolderKind, Summary, mark_unfinished
from dsbench.spec.settings import network_name
from dsbench.store import files as store
from dsbench.store import folders

if TYPE_CHECKING:
    from dsbench.store.files import Record

# The columns that say where and how a row was measured, first in every report.
CONTEXT = ("run", "kind", "point", "mode", "batch_size", "model", "network", "dataset",
           "train_images", "epochs", "backend", "device", "host", "schedule", "status")  # fmt: skip
# Settings that change the numbers: rows that differ in them are not comparable.
COMPARABLE = ("dataset", "train_images", "epochs", "batch_size", "backend", "device", "precision",
              "jit")  # fmt: skip


@dataclass(frozen=True, eq=False)
class Report:
    """Results folders read back: each folder's record, their rows, and the warnings (each
    folder's own, prefixed by the folder, then what makes the folders not comparable)."""

    records: list[tuple[Path, Record]] = field(default_factory=list)
    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["run"]))
    warnings: tuple[str, ...] = ()
    deploy: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["run"]))


def find(paths: Sequence[str | Path]) -> list[tuple[FolderKind, Path]]:
    """Every results folder under `paths`, each once however it is reached."""
    seen: set[tuple[int, int]] = set()
    return [hit for path in paths for hit in folders.find_results(Path(path), seen)]


def report(paths: Sequence[str | Path]) -> Report:
    """The records of every results folder under `paths`, and their rows."""
    from dsbench.errors import DsbenchError

    found = find(paths)
    records, frames, skipped = [], [], []
    for kind, folder in found:
        try:
            record = store.load(folder, kind)
            frames.append(rows_of(folder, record))
            records.append((folder, record))
        except DsbenchError as err:  # one broken folder among many: the others are shown
            if len(found) == 1:
                raise
            skipped.append(f"{folder} left out: {err.message}")
    if not records:
        raise DsbenchError(f"no folder under {', '.join(map(str, paths))} could be read: "
                           f"{skipped[0]}", "rerun the commands that wrote them")  # fmt: skip
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["run"])
    first = [c for c in CONTEXT if c in rows.columns]
    rows = rows[first + [c for c in rows.columns if c not in first]]
    own = [f"{folder}: {warning}" for folder, record in records for warning in record.warnings]
    return Report(records, rows, tuple(skipped + own + not_comparable(rows)),
                  deploy_rows(records))  # fmt: skip


def deploy_rows(records: Sequence[tuple[Path, Record]]) -> pd.DataFrame:
    """deploy's rows of every folder that has them (a run's deploy.json, or a deploy folder),
    each with the folder, the weights, the network and where it was measured."""
    frames = []
    for folder, record in records:
        found = (record if isinstance(record, Deployed)
                 else store.read_deploy(folder) if isinstance(record, Summary) else None)  # fmt: skip
        if found is None or not found.rows:
            continue
        environment = found.environment
        frames.append(found.frame().assign(
            run=str(folder), kind=str(FolderKind.deploy),
            network=network_name(found.settings.get("model") or {}),
            device=device_name(environment), host=environment.get("hostname")))  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=["run"])
    rows = pd.concat(frames, ignore_index=True)
    first = ["run", "kind", "network", "device", "host", "weights"]
    return rows[first + [c for c in rows.columns if c not in first]]


def against(new: Path, old: Path, force: bool = False) -> Report:
    """The run folder `new` against the run folder `old` (baseline.compare): a row per figure
    and model. Refused when they differ in settings that change the numbers, unless `force`
    (then each difference is a warning)."""
    from dsbench.errors import DsbenchError
    from dsbench.measure import baseline

    records = []
    for path in (new, old):
        kinds = find([path])
        if len(kinds) != 1 or kinds[0][0] != FolderKind.run:
            raise DsbenchError(f"{path} is not one train or compare results folder",
                               "give one run folder as NEW and one as --baseline")  # fmt: skip
        records.append((kinds[0][1], store.load(kinds[0][1], FolderKind.run)))
    (new_folder, mine), (old_folder, theirs) = records
    assert isinstance(mine, Summary) and isinstance(theirs, Summary)
    for folder, record in ((new_folder, mine), (old_folder, theirs)):
        if "model" not in record.models.columns or record.models.empty:
            raise DsbenchError(f"{folder} holds no model that finished an epoch, so there is "
                               "nothing to compare", "give a run that trained")  # fmt: skip
    differ = baseline.differences(mine.settings, theirs.settings)
    here, there = device_name(mine.environment), device_name(theirs.environment)
    if here != there:
        differ.append(f"device {there!r} -> {here!r}")
    _refuse(differ, force, f"{new_folder} and its baseline {old_folder} differ in",
            "compare runs of the same settings, or add --force-baseline")  # fmt: skip
    rows = baseline.compare(mine, store.load_results(new_folder), theirs,
                            store.load_results(old_folder))  # fmt: skip
    said = [f"the runs differ in {'; '.join(differ)} (--force-baseline)"] if differ else []
    between = baseline.BETWEEN_RUNS_SD
    said.append(
        f"verdicts: {baseline.tested_rows(rows)} rows tested together (Holm, 5% family-wise "
        "error); timing intervals count how much whole runs move on this machine beyond their "
        f"own epochs (identical runs differ by up to x{baseline.spread(between['model']):.2f} "
        f"per model, x{baseline.spread(between['ratio']):.2f} in the separable/normal ratio: "
        "docs/methodology.md), so only a larger change gets a verdict"
    )
    return Report(records, rows.assign(run=str(new_folder), baseline=str(old_folder)), tuple(said))


def check_baseline(settings: dict[str, Any], old: Path, force: bool = False) -> None:
    """Before a run: `old` is a run folder whose settings that matter are the run's `settings`
    (RunSpec.as_dict), unless `force` (`compare --baseline OLD`)."""
    from dsbench.errors import DsbenchError
    from dsbench.measure import baseline

    try:
        theirs = store.read_summary(old)
    except DsbenchError as err:
        raise DsbenchError(f"--baseline {old}: {err.message}", err.hint) from None
    _refuse(baseline.differences(settings, theirs.settings), force,
            f"this run and its baseline {old} would differ in",
            "use the baseline's settings, or add --force-baseline")  # fmt: skip


def _refuse(differ: list[str], force: bool, what: str, hint: str) -> None:
    """A run and its baseline that differ in settings that matter are not compared (unless
    forced): one line naming every difference."""
    from dsbench.errors import DsbenchError

    if differ and not force:
        raise DsbenchError(f"{what} {'; '.join(differ)}: their figures are not comparable", hint)


def rows_of(folder: Path, record: Record) -> pd.DataFrame:
    """One record's rows (a row per point and model) with the context columns."""
    frame = record.report_rows()
    kind = record.kind
    train, data = record.settings.get("train") or {}, record.settings.get("data") or {}
    environment = record.environment
    model = record.settings.get("model") or {}
    # a VGG sweep's points differ in kernel and blocks: its point column says how
    network = "VGG" if kind == FolderKind.sweep and not model.get("arch") else network_name(model)
    context = {
        "run": str(folder), "kind": str(kind),
        "network": network, "dataset": data.get("dataset"),
        "train_images": (environment.get("data") or {}).get("train_images"),
        "epochs": None if kind == FolderKind.bench else train.get("epochs"),
        "backend": train.get("backend") or "tensorflow",  # folders from before backends: TF
        "device": device_name(environment), "host": environment.get("hostname"),
        "schedule": train.get("schedule"), "precision": train.get("precision"),
        "jit": train.get("jit"), "status": record.status,
        "command_line": _command_line(environment.get("command_line")),
        "source": _source(environment.get("source")),
    }  # fmt: skip
    if getattr(record, "summary_only", False):  # trained nothing: no data, epochs or batch
        context.update(dataset=None, train_images=None, epochs=None, schedule=None, jit=None,
                       status="params and MACs only")  # fmt: skip
    for key, setting in context.items():
        if key not in frame.columns or key in ("run", "kind"):
            frame[key] = setting
    if record.status != "complete":  # summary.json of older versions said "complete" here
        mark_unfinished(frame, context["epochs"])
    if (
        kind != FolderKind.bench
        and "batch_size" not in frame.columns
        and not getattr(record, "summary_only", False)
    ):
        frame["batch_size"] = train.get("batch_size")
    return frame


def _command_line(words: Any) -> str | None:
    """The command line a folder recorded, as one string (None when it recorded none)."""
    return " ".join(str(w) for w in words) if isinstance(words, list) and words else None


def _source(state: Any) -> str | None:
    """The git state of dsbench's working tree a folder recorded: 'abc1234' or 'abc1234+dirty'."""
    if not isinstance(state, dict) or not state.get("commit"):
        return None
    return str(state["commit"])[:12] + ("+dirty" if state.get("dirty") else "")


def not_comparable(rows: pd.DataFrame) -> list[str]:
    """A warning when the rows differ in settings that change the numbers."""
    differing = []
    for column in COMPARABLE:
        if column in rows.columns:
            values = sorted({str(v) for v in rows[column].dropna()})
            if len(values) > 1:
                differing.append(f"{column} ({', '.join(values)})")
    if not differing:
        return []
    return [f"the folders differ in {'; '.join(differing)}: compare their ratios, not their times"]


def device_name(environment: dict[str, Any]) -> str | None:
    """The processor a folder's figures were measured on, short ('GPU: NVIDIA H200', 'CPU: AMD
    EPYC'), for a report's column; the device line itself where only it was recorded."""
    gpus = environment.get("gpus") or []
    if gpus and isinstance(gpus[0], dict) and gpus[0].get("model"):
        return f"GPU: {gpus[0]['model']}"
    cpu = environment.get("cpu") or {}
    if isinstance(cpu, dict) and cpu.get("model"):
        return f"CPU: {cpu['model']}"
    line = environment.get("device")
    return str(line).removeprefix("device: ") if line else None
