"""RunResults to DataFrames, atomic writes of a results folder, and reading folders back.

A results folder holds history.csv (a row per model, repeat and epoch), summary.csv and
summary.json (a row per model: the comparison table's columns), environment.json and
curves.png. Column names carry units and are the same in CSV, JSON and the tables.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

from dsbench import __version__
from dsbench.config import KINDS
from dsbench.errors import RUNTIME, DsbenchError

if TYPE_CHECKING:
    from dsbench.train import RunResult

_UMASK = os.umask(0)
os.umask(_UMASK)
RESULT_FILES = ("history.csv", "runs.csv", "summary.csv", "summary.json", "environment.json")
INFERENCE_COLUMNS = ("latency_b1_ms", "latency_b1_p90_ms", "infer_images_per_s", "model_file_bytes")

# Measured per run; with --repeats they are shown as mean ± std over runs.
PER_RUN_METRICS = (
    "first_epoch_s",
    "steady_epoch_s",
    "steady_train_s",
    "steady_val_s",
    "ms_per_step",
    "train_images_per_s",
    "est_train_gflop_per_s",
    "best_val_acc",
    "best_epoch",
    "final_val_acc",
    "overfit_gap",
    "latency_b1_ms",
    "latency_b1_p90_ms",
    "infer_images_per_s",
)
STATUS_ORDER = ("complete", "diverged", "interrupted")


def history_frame(results: list[RunResult]) -> pd.DataFrame:
    """A row per model, repeat and completed epoch."""
    rows = [
        {"model": r.model, "repeat": r.repeat, "seed": r.seed, **epoch}
        for r in results
        for epoch in r.epochs
    ]
    columns = ["model", "repeat", "seed", "epoch", "loss", "accuracy", "val_loss",
               "val_accuracy", "train_s", "val_s", "epoch_s", "includes_tracing"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def run_metrics(result: RunResult) -> dict[str, Any]:
    """The figures of one training run: timing (first vs steady state), accuracy, inference.

    Steady state is the median over epochs 2..E (and, after a resume, without the first epoch
    of the new process, which traced again); with a single epoch it is undefined (NaN).
    Images/s counts training images only (steps x batch), from the steady-state train time.
    The GFLOP/s figure is an estimate: 3 (forward + backward) x 2 x forward MACs per image.
    """
    history = pd.DataFrame(result.epochs)
    out: dict[str, Any] = {name: math.nan for name in PER_RUN_METRICS}
    out["epochs_completed"] = len(history)
    if history.empty:
        return out
    traced = history["includes_tracing"].astype(bool) if "includes_tracing" in history else False
    steady = history[(history["epoch"] >= 2) & ~traced]
    out["first_epoch_s"] = float(history["epoch_s"].iloc[0])
    if not steady.empty:
        out["steady_epoch_s"] = float(steady["epoch_s"].median())
        out["steady_train_s"] = float(steady["train_s"].median())
        out["steady_val_s"] = float(steady["val_s"].median())
        out["ms_per_step"] = out["steady_train_s"] / result.steps_per_epoch * 1e3
        images_per_s = result.steps_per_epoch * result.batch_size / out["steady_train_s"]
        out["train_images_per_s"] = images_per_s
        out["est_train_gflop_per_s"] = 6 * result.macs_per_image * images_per_s / 1e9
    valid = history.dropna(subset=["val_accuracy"])
    if not valid.empty:
        best = valid.loc[valid["val_accuracy"].idxmax()]
        out["best_val_acc"] = float(best["val_accuracy"])
        out["best_epoch"] = int(best["epoch"])
        out["final_val_acc"] = float(valid["val_accuracy"].iloc[-1])
        out["overfit_gap"] = float(best["accuracy"] - best["val_accuracy"])
    out.update(result.inference)
    return out


def runs_frame(results: list[RunResult]) -> pd.DataFrame:
    """A row per training run (model x repeat) with its figures."""
    rows = []
    for r in results:
        rows.append(
            {
                "model": r.model,
                "repeat": r.repeat,
                "seed": r.seed,
                "status": r.status,
                "params": r.params,
                "macs_per_image": r.macs_per_image,
                "steps_per_epoch": r.steps_per_epoch,
                "batch_size": r.batch_size,
                "replicas": r.replicas,
                "jit": r.jit,
                "model_file_bytes": math.nan,
                **run_metrics(r),
            }
        )
    return pd.DataFrame(rows)


def summary_frame(results: list[RunResult]) -> pd.DataFrame:
    """A row per model: figures averaged over repeats (with *_std columns when runs >= 2)."""
    runs = runs_frame(results)
    rows = []
    for kind in [k for k in KINDS if k in set(runs["model"])]:
        group = runs[runs["model"] == kind]
        statuses = set(group["status"])
        row: dict[str, Any] = {
            "model": kind,
            "status": max(statuses, key=STATUS_ORDER.index),
            "runs": len(group),
            "epochs_completed": int(group["epochs_completed"].min()),
            "params": int(group["params"].iloc[0]),
            "macs_per_image": int(group["macs_per_image"].iloc[0]),
            "steps_per_epoch": int(group["steps_per_epoch"].iloc[0]),
            "batch_size": int(group["batch_size"].iloc[0]),
            "replicas": int(group["replicas"].iloc[0]),
            "jit": bool(group["jit"].iloc[0]),
            "model_file_bytes": group["model_file_bytes"].max(),
        }
        if row["status"] == "diverged":
            diverged = group[group["status"] == "diverged"]
            row["diverged_epoch"] = int(diverged["epochs_completed"].min())
        for name in PER_RUN_METRICS:
            values = group[name].astype(float)
            row[name] = float(values.mean()) if values.notna().any() else math.nan
            if len(group) >= 2:
                row[f"{name}_std"] = float(values.std(ddof=1)) if values.notna().sum() >= 2 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


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
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def to_jsonable(value: Any) -> Any:
    """NaN -> None and numpy scalars -> Python, recursively, so the JSON is strict."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def summary_document(
    summary: pd.DataFrame,
    command: str,
    settings: dict[str, Any],
    complete: bool,
    kinds: tuple[str, ...] = KINDS,
) -> dict[str, Any]:
    """The summary.json content (also what `--json` prints)."""
    return to_jsonable(
        {
            "dsbench_version": __version__,
            "command": command,
            "kinds": list(kinds),
            "status": "complete" if complete else "incomplete",
            "settings": settings,
            "models": summary.to_dict(orient="records"),
        }
    )


def prepare_run_dir(output_dir: Path | None, command: str, force: bool) -> Path:
    """Create the results folder (default runs/<UTC timestamp>-<command>/); refuse to overwrite."""
    if output_dir is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        output_dir = Path("runs") / f"{stamp}-{command}"
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise DsbenchError(f"--output-dir {output_dir} exists and is not a folder")
    if output_dir.is_dir() and any(output_dir.iterdir()) and not force:
        raise DsbenchError(
            f"results folder {output_dir} already exists",
            "pass --force to overwrite it, or choose another --output-dir",
        )
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / ".dsbench-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise DsbenchError(
            f"cannot write to --output-dir {output_dir}: {err.strerror}",
            "choose a folder you can write to",
        ) from None
    return output_dir


def write_run(
    run_dir: Path,
    results: list[RunResult],
    command: str,
    settings: dict[str, Any],
    environment: dict[str, Any],
    complete: bool,
    kinds: tuple[str, ...] = KINDS,
) -> dict[str, Any]:
    """Write every results file for what has been measured so far; return the summary doc."""
    from dsbench import plot

    history = history_frame(results)
    runs = runs_frame(results)
    summary = summary_frame(results)
    document = summary_document(summary, command, settings, complete, kinds)
    try:
        atomic_write(run_dir / "history.csv", lambda p: history.to_csv(p, index=False))
        atomic_write(run_dir / "runs.csv", lambda p: runs.to_csv(p, index=False))
        atomic_write(run_dir / "summary.csv", lambda p: summary.to_csv(p, index=False))
        atomic_text(run_dir / "summary.json", json.dumps(document, indent=2) + "\n")
        atomic_text(run_dir / "environment.json", json.dumps(to_jsonable(environment), indent=2) + "\n")
        if not history.empty:
            atomic_write(run_dir / "curves.png", lambda p: plot.curves(history, p))
    except OSError as err:
        raise DsbenchError(
            f"cannot write results to {run_dir}: {err.strerror}", exit_code=RUNTIME
        ) from None
    return document


def environment(settings: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Versions, CPU and accelerator names, and every setting used."""
    import keras
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        gpus.append({"name": device.name, "model": details.get("device_name", "unknown")})
    return to_jsonable(
        {
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": {
                "dsbench": __version__,
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "python": sys.version.split()[0],
                "numpy": np.__version__,
                "pandas": pd.__version__,
            },
            "platform": platform.platform(),
            "cpu": {"model": cpu, "logical_cores": os.cpu_count()},
            "gpus": gpus,
            "settings": settings,
            **extra,
        }
    )


# ---------------------------------------------------------------- reading back


def read_run(run_dir: Path) -> dict[str, Any]:
    """Read a results folder: its summary document, with summary/history DataFrames."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DsbenchError(f"{run_dir} is not a folder", "give a results folder written by dsbench")
    if not (run_dir / "summary.json").is_file():
        raise DsbenchError(
            f"{run_dir} is not a dsbench results folder (no summary.json)",
            "give a folder written by dsbench train or compare",
        )
    try:
        document = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        models = document["models"]
        if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
            raise ValueError("'models' is not a list of rows")
        summary = pd.DataFrame(models)
        if not summary.empty and not {"model", "params"} <= set(summary.columns):
            raise ValueError("rows lack 'model' or 'params'")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise DsbenchError(
            f"{run_dir / 'summary.json'} is broken ({err})",
            "rerun the command that wrote it",
        ) from None
    history = None
    if (run_dir / "history.csv").is_file():
        try:
            history = pd.read_csv(run_dir / "history.csv")
        except (OSError, ValueError, pd.errors.ParserError) as err:
            raise DsbenchError(f"{run_dir / 'history.csv'} is broken ({err})") from None
    return {"document": document, "summary": summary, "history": history, "path": run_dir}


def load_results(run_dir: Path) -> list[RunResult]:
    """Rebuild the RunResults of a results folder (runs.csv + history.csv), e.g. to resume it."""
    from dsbench.train import RunResult

    run = read_run(run_dir)
    history = run["history"]
    try:
        runs = pd.read_csv(Path(run_dir) / "runs.csv")
    except FileNotFoundError:
        return []
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise DsbenchError(f"{Path(run_dir) / 'runs.csv'} is broken ({err})") from None
    results = []
    for row in runs.to_dict(orient="records"):
        rows = []
        if history is not None and not history.empty:
            mine = history[(history["model"] == row["model"]) & (history["repeat"] == row["repeat"])]
            rows = mine.drop(columns=["model", "repeat", "seed"]).to_dict(orient="records")
        inference = {k: row[k] for k in INFERENCE_COLUMNS if k in row and pd.notna(row[k])}
        results.append(
            RunResult(
                model=str(row["model"]), repeat=int(row["repeat"]), seed=int(row["seed"]),
                params=int(row["params"]), macs_per_image=int(row["macs_per_image"]),
                steps_per_epoch=int(row["steps_per_epoch"]), batch_size=int(row["batch_size"]),
                epochs=rows, status=str(row["status"]), inference=inference,
                replicas=int(row["replicas"]), jit=bool(row["jit"]),
            )  # fmt: skip
        )
    return results
