"""dsbench as a library: compare, train, sweep, resume, report and summary from Python.

    import dsbench
    result = dsbench.compare(epochs=2, dataset="synthetic", train_size=512, test_size=128)
    result.summary          # a row per model: the comparison table's columns
    result.save("runs/x")   # the results folder the CLI writes

Settings are keyword arguments named like the TOML keys of a config file (epochs,
batch_size, kernel_size, blocks, dataset, ...); `config=` reads a TOML file under them.
Bad values raise DsbenchError naming the setting. Nothing here prints: pass an Observer for
progress. TensorFlow is imported only by the functions that train.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from dsbench.config import BENCH_MODES, KINDS, RunSpec, run_spec, validate_config
from dsbench.errors import DsbenchError
from dsbench.observer import Observer

if TYPE_CHECKING:
    import pandas as pd

    from dsbench.records import RunResult
    from dsbench.sweeps import AxisValues, Point

PathLike = str | Path


# ---------------------------------------------------------------- results


@dataclass
class Comparison:
    """The result of `compare`, `train` or `resume`: one RunResult per model and repeat."""

    command: str
    kinds: tuple[str, ...]
    spec: RunSpec
    results: list[RunResult]
    environment: dict[str, Any]
    run_dir: Path | None = None

    @property
    def complete(self) -> bool:
        """False when a model was interrupted (Ctrl-C, SIGTERM) before its last epoch."""
        return self.interrupted is None

    @property
    def interrupted(self) -> RunResult | None:
        """The run that was interrupted, if one was."""
        return next((r for r in self.results if r.status == "interrupted"), None)

    @property
    def diverged(self) -> list[RunResult]:
        """Runs whose loss became NaN or infinite."""
        return [r for r in self.results if r.status == "diverged"]

    @property
    def summary(self) -> pd.DataFrame:
        """A row per model: the comparison table's figures (means over repeats, *_std)."""
        from dsbench.records import summary_frame

        return summary_frame(self.results, self.spec.train.target_accuracy)

    @property
    def history(self) -> pd.DataFrame:
        """A row per model, repeat and epoch."""
        from dsbench.records import history_frame

        return history_frame(self.results)

    @property
    def runs(self) -> pd.DataFrame:
        """A row per model and repeat."""
        from dsbench.records import runs_frame

        return runs_frame(self.results, self.spec.train.target_accuracy)

    @property
    def ratios(self) -> dict[str, float]:
        """Separable/normal ratios of the summary's figures (empty unless both models ran)."""
        from dsbench.records import separable_over_normal

        summary = self.summary
        return separable_over_normal(summary.set_index("model")) if not summary.empty else {}

    @property
    def document(self) -> dict[str, Any]:
        """summary.json's content."""
        from dsbench.store import summary_document

        return summary_document(self.results, self.command, self.spec.as_dict(),
                                self.environment, self.complete, self.kinds)  # fmt: skip

    @property
    def warnings(self) -> list[str]:
        """What makes this comparison's timing doubtful (also in summary.json)."""
        return list(self.document["warnings"])

    def save(self, path: PathLike, force: bool = False) -> Path:
        """Write the results folder (history.csv, summary.json, curves.png, ...) to `path`."""
        from dsbench import store

        run_dir = store.prepare_run_dir(path, force)
        store.write_run(
            run_dir,
            self.results,
            self.command,
            self.spec.as_dict(),
            self.environment,
            self.complete,
            self.kinds,
        )
        self.run_dir = run_dir
        return run_dir


@dataclass
class SweepResult:
    """The result of `sweep`: a row per point and model, and the ratios per point."""

    spec: RunSpec
    points: list[Point]
    rows: pd.DataFrame
    complete: bool = True
    summary_only: bool = False
    last: list[RunResult] | None = None  # the last trained point's runs
    run_dir: Path | None = None

    @property
    def ratios(self) -> pd.DataFrame:
        """A row per point: separable/normal ratios of params, MACs, time, accuracy, ..."""
        from dsbench import sweeps

        return sweeps.ratios(self.rows)

    @property
    def document(self) -> dict[str, Any]:
        """sweep.json's content."""
        from dsbench.sweeps import sweep_document

        return sweep_document(self.spec, self.points, self.rows, self.complete)

    def save(self, path: PathLike, force: bool = False) -> Path:
        """Write sweep.csv, sweep.json and sweep.png to `path`."""
        from dsbench import store
        from dsbench.sweeps import write_sweep

        run_dir = store.prepare_run_dir(path, force)
        write_sweep(run_dir, self.spec, self.points, self.rows, self.complete)
        self.run_dir = run_dir
        return run_dir


# ---------------------------------------------------------------- training


def compare(
    *,
    config: PathLike | None = None,
    output_dir: PathLike | None = None,
    force: bool = False,
    observer: Observer | None = None,
    verbose: bool = False,
    **settings: Any,
) -> Comparison:
    """Train the normal and the separable model on the same data, seeds and batch order.

    With `output_dir`, the results folder is written as training goes (after every model).
    """
    spec = run_spec(settings, config)
    return _train("compare", KINDS, spec, output_dir, force, observer, verbose)


def train(
    model: str = "normal",
    *,
    config: PathLike | None = None,
    output_dir: PathLike | None = None,
    force: bool = False,
    observer: Observer | None = None,
    verbose: bool = False,
    **settings: Any,
) -> Comparison:
    """Train one model (`normal` or `separable`) and measure it."""
    if model not in KINDS:
        raise DsbenchError(
            f"model must be one of {', '.join(KINDS)}; got {model!r}", setting="model"
        )
    spec = run_spec(settings, config)
    return _train("train", (model,), spec, output_dir, force, observer, verbose)


def _train(
    command: str,
    kinds: tuple[str, ...],
    spec: RunSpec,
    output_dir: PathLike | None,
    force: bool,
    observer: Observer | None,
    verbose: bool,
    previous: list[RunResult] | None = None,
) -> Comparison:
    from dsbench import store

    if output_dir is not None and previous is None:
        store.check_run_dir(output_dir, force)  # before the slow TensorFlow start
    _check_inputs(spec)
    if spec.train.processes > 1:
        return _train_in_processes(command, kinds, spec, output_dir, force, observer, verbose,
                                   previous)  # fmt: skip
    backend = _start(spec, verbose)
    from dsbench import experiment

    observer = observer or Observer()
    spec, shared = experiment.setup(spec, observer)
    run_dir = None
    if output_dir is not None and backend.is_chief():  # only the chief of a cluster writes
        run_dir = (
            Path(output_dir) if previous is not None else store.prepare_run_dir(output_dir, force)
        )
    results, environment = experiment.compare(
        command, kinds, spec, shared, run_dir, observer, previous
    )
    return Comparison(command, kinds, spec, results, environment, run_dir)


def _train_in_processes(
    command: str,
    kinds: tuple[str, ...],
    spec: RunSpec,
    output_dir: PathLike | None,
    force: bool,
    observer: Observer | None,
    verbose: bool,
    previous: list[RunResult] | None,
) -> Comparison:
    """`_train` with --processes N: N fresh worker processes, one after another (workers.py);
    the results folder is written after each, and made only once the first has results."""
    from dsbench import store, workers

    _check_processes(spec)
    run_dir: Path | None = Path(output_dir) if output_dir is not None and previous else None
    before = store.read_environment(run_dir) if run_dir is not None else None

    def save(fitted: RunSpec, done: list[RunResult], environment: dict[str, Any],
             complete: bool) -> None:  # fmt: skip
        nonlocal run_dir
        if output_dir is None:
            return
        if run_dir is None:
            run_dir = store.prepare_run_dir(output_dir, force)
        store.write_run(run_dir, done, command, fitted.as_dict(), environment, complete, kinds)

    fitted, results, environment = workers.run(
        command, kinds, spec, observer or Observer(), verbose, save, previous, before
    )
    return Comparison(command, kinds, fitted, results, environment, run_dir)


def _check_processes(spec: RunSpec) -> None:
    """Settings that --processes cannot serve."""
    if spec.train.strategy == "multiworker":
        raise DsbenchError(
            f"processes {spec.train.processes} cannot be combined with strategy multiworker",
            "each worker of a cluster is a process already: leave processes at 1",
            setting=("processes", "strategy"),
        )
    if spec.train.checkpoint:
        raise DsbenchError(
            f"processes {spec.train.processes} cannot be combined with checkpoint",
            "an interrupted run of several processes resumes from its last finished process; "
            "leave checkpoint off",
            setting=("processes", "checkpoint"),
        )


def _check_inputs(spec: RunSpec) -> None:
    """What the run would fail on later, refused before TensorFlow's slow start and before any
    results folder is made: a data_dir that does not exist, image folders that cannot or should
    not be decoded, synthetic data larger than the memory, a TensorBoard folder that cannot be
    written."""
    from dsbench import backends

    backend = spec.train.backend or backends.DEFAULT
    backends.check_installed(backend)
    backends.module(backend).refuse(spec.train)
    if spec.train.tensorboard:
        _check_writable(Path(spec.train.tensorboard).expanduser(), "tensorboard")
    from dsbench.models import total_params

    # Weights, gradients and Adam's two slots: four float32 copies of every parameter.
    params = total_params(spec.model, "normal")
    if 16 * params > _memory_bytes() // 2:
        raise DsbenchError(
            f"the normal model would have {params:,} parameters, {16 * params / 1e9:,.1f} GB to "
            f"train, more than half of this machine's {_memory_bytes() / 1e9:,.1f} GB",
            "use fewer or narrower blocks, or a smaller input_shape",
            setting=("blocks", "input_shape"),
        )
    if spec.data.dataset == "synthetic":
        from dsbench.data import SYNTHETIC_DEFAULT_SIZES, synthetic_bytes

        sizes = (spec.data.train_size or SYNTHETIC_DEFAULT_SIZES[0],
                 spec.data.test_size or SYNTHETIC_DEFAULT_SIZES[1])  # fmt: skip
        needed, memory = synthetic_bytes(sum(sizes)), _memory_bytes()
        if needed > memory // 2:
            raise DsbenchError(
                f"train_size {sizes[0]:,} and test_size {sizes[1]:,} synthetic images take "
                f"{needed / 1e9:,.1f} GB, more than half of this machine's {memory / 1e9:,.1f} GB",
                "use fewer images",
                setting=("train_size", "test_size"),
            )
    if spec.data.dataset != "synthetic" and spec.data.data_dir:
        from dsbench import data

        root = Path(spec.data.data_dir).expanduser()
        if not root.exists():
            raise DsbenchError(f"data dir {root} does not exist", data.OFFLINE_HINT,
                               setting=("data_dir", "dataset"))  # fmt: skip
        if data.is_image_tree(root):
            data.choose_images(root, (spec.data.train_size, spec.data.test_size), spec.train.seed)


def _start(spec: RunSpec, verbose: bool) -> ModuleType:
    """Start Keras on the run's backend (dsbench.backends) and return the backend's module."""
    from dsbench import backends

    backend = backends.select(spec.train.backend or backends.DEFAULT)
    backend.start(verbose, multiworker=spec.train.strategy == "multiworker")
    return backend


def _check_writable(folder: Path, setting: str) -> None:
    """`folder` is, or can be made as, a folder this user can write to."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        what = "is not a folder" if not existing.is_dir() else "cannot be written"
        raise DsbenchError(f"{setting} {folder}: {existing} {what}",
                           "choose a folder you can write to", setting=setting)  # fmt: skip


def _memory_bytes() -> int:
    """This machine's physical memory (a large number where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 50


def sweep(
    *,
    kernel_size: AxisValues = None,
    width: AxisValues = None,
    blocks: AxisValues = None,
    backend: AxisValues = None,
    batch_size: AxisValues = None,
    precision: AxisValues = None,
    summary_only: bool = False,
    config: PathLike | None = None,
    output_dir: PathLike | None = None,
    force: bool = False,
    observer: Observer | None = None,
    verbose: bool = False,
    **settings: Any,
) -> SweepResult:
    """Compare both models at every point of kernel sizes x width multipliers x block lists x
    backends x batch sizes x precisions.

    Axes take lists ([3, 5, 7]) or text ("3,5,7"); `blocks` takes a list of block lists.
    Points on another backend than the first train in worker processes of their own.
    `summary_only` trains nothing: params and MACs per point, without TensorFlow.
    """
    from dsbench import store, sweeps

    training = {"backend": backend, "batch_size": batch_size, "precision": precision}
    first = {name: sweeps.first_value(values) for name, values in training.items() if values}
    # One value is the run's setting, as in compare; two or more are an axis.
    backend, batch_size, precision = (v if sweeps.several(v) else None for v in training.values())
    spec = run_spec({**settings, **first}, config)  # the run's own: each axis' first value
    if spec.train.processes > 1 and not summary_only:
        raise DsbenchError(
            f"processes {spec.train.processes}: sweep trains every point in one process",
            "use compare --processes at the points you want to quote",
            setting="processes",
        )
    points = sweeps.points_for(spec.model, kernel_size, width, blocks, backend, batch_size,
                               precision)  # fmt: skip
    if output_dir is not None:
        store.check_run_dir(output_dir, force)
    if summary_only:
        rows = sweeps.summary_rows(points, spec.model)
        result = SweepResult(spec, points, rows, summary_only=True)
        if output_dir is not None:
            result.save(output_dir, force)
        return result
    return _train_sweep(spec, points, output_dir, force, observer, verbose, resuming=False)


def _train_sweep(
    spec: RunSpec,
    points: list[Point],
    output_dir: PathLike | None,
    force: bool,
    observer: Observer | None,
    verbose: bool,
    resuming: bool,
) -> SweepResult:
    from dsbench import store

    for point_spec in dict.fromkeys(point.run_spec(spec) for point in points):
        _check_inputs(point_spec)  # every backend installed and able, before anything runs
    backend = _start(spec, verbose)
    from dsbench import experiment

    observer = observer or Observer()
    spec, shared = experiment.setup(spec, observer)
    run_dir = None
    if output_dir is not None and backend.is_chief():
        run_dir = Path(output_dir) if resuming else store.prepare_run_dir(output_dir, force)
    rows, last, complete = experiment.run_sweep(spec, points, shared, run_dir, observer,
                                                _in_a_worker)  # fmt: skip
    return SweepResult(spec, points, rows, complete, last=last, run_dir=run_dir)


def _in_a_worker(
    spec: RunSpec, run_dir: Path | None, observer: Observer, previous: list[RunResult] | None
) -> list[RunResult]:
    """One comparison (a sweep point on another backend) in a worker process of its own, as
    compare --processes runs them; its folder written after it."""
    from dsbench import store, workers

    def save(fitted: RunSpec, done: list[RunResult], environment: dict[str, Any],
             complete: bool) -> None:  # fmt: skip
        if run_dir is not None:
            store.write_run(run_dir, done, "compare", fitted.as_dict(), environment, complete)

    one = dataclasses.replace(spec, train=dataclasses.replace(spec.train, processes=1))
    return workers.run("compare", KINDS, one, observer, False, save, previous, None)[1]


def resume(
    path: PathLike,
    *,
    data_dir: PathLike | None = None,
    observer: Observer | None = None,
    verbose: bool = False,
) -> Comparison | SweepResult:
    """Continue an interrupted compare, train or sweep folder with its own settings.

    `data_dir` may point to the data anew (e.g. on another machine).
    """
    from dsbench import store, sweeps

    run_dir = Path(path)
    if store.is_sweep_dir(run_dir):
        document = store.read_sweep(run_dir)
        if document.get("status") == "complete":
            raise DsbenchError(f"{run_dir} is already complete", "nothing to resume")
        spec = _saved_spec(document, f"{run_dir}/sweep.json", data_dir)
        axes = document["axes"]
        try:
            points = sweeps.points_for(spec.model, axes["kernel_size"], axes["width"],
                                   axes["blocks"], axes.get("backend"), axes.get("batch_size"),
                                   axes.get("precision"))  # fmt: skip
        except DsbenchError as err:  # a sweep.json whose points dsbench could not have run
            from dsbench.schema import broken

            raise broken(run_dir / "sweep.json", f"its axes are invalid ({err.message})") from None
        return _train_sweep(spec, points, run_dir, True, observer, verbose, resuming=True)
    document = store.read_run(run_dir)["document"]
    if document.get("status") == "complete":
        raise DsbenchError(f"{run_dir} is already complete", "nothing to resume")
    command = document.get("command")
    if command not in ("train", "compare"):
        raise DsbenchError(f"{run_dir} was written by {command!r}; only train and compare resume")
    spec = _saved_spec(document, f"{run_dir}/summary.json", data_dir)
    kinds = tuple(document.get("kinds") or KINDS)
    previous = store.load_results(run_dir)
    return _train(command, kinds, spec, run_dir, True, observer, verbose, previous)


def _saved_spec(document: dict[str, Any], source: str, data_dir: PathLike | None) -> RunSpec:
    """The RunSpec a results document was made with (a new `data_dir` may replace the old)."""
    saved = document.get("settings") or {}
    if not isinstance(saved, dict):
        raise DsbenchError(f"{source} is broken (settings is not a table)")
    settings = {
        section: {
            key: ("auto" if key == "jit" and value is None else value)  # None is Keras' auto
            for key, value in values.items()
            if value is not None or key == "jit"
        }
        for section, values in saved.items()
        if isinstance(values, dict)
    }
    settings.setdefault("train", {}).setdefault("backend", "tensorflow")  # before backends existed
    try:
        return run_spec(
            {"data_dir": str(data_dir) if data_dir else None},
            base=validate_config(settings, source),
        )
    except DsbenchError as err:  # settings each valid, but not together (kernel vs input, ...)
        if err.settings == ("data_dir",):
            raise
        from dsbench.schema import broken

        raise broken(source, f"its settings are invalid ({err.message})") from None


@dataclass
class BenchResult:
    """The result of `bench`: a row per mode and batch size with both models' speed and the
    separable/normal ratio with its 95% interval."""

    spec: RunSpec
    rows: pd.DataFrame
    environment: dict[str, Any]
    warnings: list[str]
    target: float
    run_dir: Path | None = None

    @property
    def document(self) -> dict[str, Any]:
        """bench.json's content."""
        from dsbench._version import __version__
        from dsbench.records import to_jsonable

        return to_jsonable({
            "dsbench_version": __version__, "command": "bench", "status": "complete",
            "precision_target": self.target, "settings": self.spec.as_dict(),
            "rows": self.rows.to_dict(orient="records"), "warnings": self.warnings,
        })  # fmt: skip

    def save(self, path: PathLike, force: bool = False) -> Path:
        """Write bench.csv, bench.json and environment.json to `path`."""
        from dsbench import store

        run_dir = store.prepare_run_dir(path, force)
        store.write_bench(run_dir, self.rows, self.document, self.environment)
        self.run_dir = run_dir
        return run_dir


def bench(
    *,
    mode: str = "train",
    batch_size: int | str | Sequence[int] | None = None,
    precision_target: float = 0.05,
    max_time: float = 60.0,
    width: float = 1.0,
    config: PathLike | None = None,
    output_dir: PathLike | None = None,
    force: bool = False,
    observer: Observer | None = None,
    verbose: bool = False,
    **settings: Any,
) -> BenchResult:
    """How much faster is the separable model? Speed only, to ±`precision_target` (95%).

    Both models run in alternating chunks of steps on the same batches until the ratio's
    interval is within the target or `max_time` seconds (from this call, TensorFlow's start
    included) are spent. `mode` is train (forward, backward, Adam), infer (forward) or both;
    `batch_size` may list several ("1,32,128"); `width` multiplies every block's filters.
    Data default to synthetic batches.
    """
    import time

    from dsbench import store
    from dsbench.config import parse_number_list, whole_number

    start = time.perf_counter()
    if mode not in BENCH_MODES:
        raise DsbenchError(f"mode must be one of {', '.join(BENCH_MODES)}; got {mode!r}",
                           setting="mode")  # fmt: skip
    if not (0 < precision_target < 1) or not (max_time > 0):
        raise DsbenchError("precision_target must be in (0, 1) and max_time positive",
                           setting=("precision_target", "max_time"))  # fmt: skip
    sizes = [batch_size] if isinstance(batch_size, int) else batch_size
    batch_sizes = parse_number_list(sizes, "batch_size", whole_number) if sizes else [128]
    if config is None and "dataset" not in settings:
        # enough images for one batch of the largest size (a batch larger than the data fails)
        images = max(512, *batch_sizes)
        settings = {"dataset": "synthetic", "train_size": images, "test_size": 10, **settings}
    spec = run_spec({**settings, "batch_size": max(batch_sizes)}, config)
    if not width > 0:
        raise DsbenchError(f"width must be a positive number, got {width}", setting="width")
    spec = dataclasses.replace(spec, model=spec.model.scaled(width))
    if spec.train.strategy != "default":
        raise DsbenchError("bench times one device", "use compare for tf.distribute runs",
                           setting="strategy")  # fmt: skip
    if output_dir is not None:
        store.check_run_dir(output_dir, force)
    _check_inputs(spec)
    _start(spec, verbose)
    from dsbench import experiment

    spec, shared = experiment.setup(spec, observer or Observer())
    modes = ["train", "infer"] if mode == "both" else [mode]
    rows, warnings = experiment.bench(spec, shared, modes, batch_sizes, precision_target,
                                      start + max_time)  # fmt: skip
    environment = experiment.run_environment("bench", spec, shared)
    result = BenchResult(spec, rows, environment, warnings, precision_target)
    if output_dir is not None:
        result.save(output_dir, force)
    return result


# ---------------------------------------------------------------- reading and describing


def report(paths: Sequence[PathLike]) -> pd.DataFrame:
    """Results folders of every kind (run, sweep, bench, or a parent folder holding many) as one
    DataFrame: a row per folder, point and model, with the columns that say where and how it
    was measured (dataset, images, epochs, device, host) and the separable/normal ratios.

    `frame.attrs["warnings"]` holds each folder's own warnings (prefixed with the folder), then
    says when the rows differ in settings that change the numbers.
    """
    import pandas as pd

    from dsbench import store

    frames, own = [], []
    seen: set[tuple[int, int]] = set()  # a folder given twice, or reached twice, is shown once
    for path in paths:
        for kind, folder in store.find_results(Path(path), seen):
            frame, warnings = _report_rows(kind, folder)
            frames.append(frame)
            own += [f"{folder}: {warning}" for warning in warnings]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["run"])
    first = [c for c in REPORT_CONTEXT if c in rows.columns]
    rows = rows[first + [c for c in rows.columns if c not in first]]
    rows.attrs["warnings"] = own + _report_warnings(rows)  # each folder's own, then across them
    return rows


REPORT_CONTEXT = ("run", "kind", "point", "mode", "batch_size", "model", "dataset",
                  "train_images", "epochs", "backend", "device", "host", "schedule", "status")  # fmt: skip
# Settings that change the numbers: rows that differ in them are not comparable.
COMPARABLE = ("dataset", "train_images", "epochs", "batch_size", "backend", "device", "precision",
              "jit")  # fmt: skip


def _report_rows(kind: str, folder: Path) -> tuple[pd.DataFrame, list[str]]:
    import pandas as pd

    from dsbench import store
    from dsbench.records import separable_over_normal

    environment = store.read_environment(folder)
    if kind == "bench":
        document = store.read_bench(folder)
        frame = _bench_rows(pd.DataFrame(document["rows"]))
    elif kind == "sweep":
        document = store.read_sweep(folder)
        frame = pd.DataFrame(document["rows"])
    else:
        run = store.read_run(folder)
        document, frame = run["document"], run["summary"].copy()
        if {"normal", "separable"} <= set(frame.get("model", [])):
            ratios = separable_over_normal(frame.set_index("model"))
            for name, value in ratios.items():
                if name not in frame.columns:
                    frame[name] = float("nan")
                frame.loc[frame["model"] == "separable", name] = value
    settings = document.get("settings") or {}
    train, data = settings.get("train") or {}, settings.get("data") or {}
    context = {
        "run": str(folder), "kind": kind, "dataset": data.get("dataset"),
        "train_images": (environment.get("data") or {}).get("train_images"),
        "epochs": None if kind == "bench" else train.get("epochs"),
        "backend": train.get("backend") or "tensorflow",  # folders from before backends: TF
        "device": environment.get("device"), "host": environment.get("hostname"),
        "schedule": train.get("schedule"), "precision": train.get("precision"),
        "jit": train.get("jit"), "status": document.get("status"),
    }  # fmt: skip
    for key, setting in context.items():
        if key not in frame.columns or key in ("run", "kind"):
            frame[key] = setting
    if kind != "bench" and "batch_size" not in frame.columns:
        frame["batch_size"] = train.get("batch_size")
    return frame, list(document.get("warnings") or [])


def _bench_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """A bench.json row (both models side by side) as two rows, one per model."""
    import pandas as pd

    out = []
    for row in rows.to_dict(orient="records"):
        for kind in KINDS:
            mine = {k.removeprefix(f"{kind}_"): v for k, v in row.items() if k.startswith(kind)}
            record = {"mode": row["mode"], "batch_size": row["batch_size"], "model": kind, **mine}
            if kind == "separable":
                record.update({"ms_per_step_ratio": row["ratio"],
                               "ms_per_step_ratio_low": row["ratio_low"],
                               "ms_per_step_ratio_high": row["ratio_high"]})  # fmt: skip
            out.append(record)
    return pd.DataFrame(out)


def _report_warnings(rows: pd.DataFrame) -> list[str]:
    differing = []
    for column in COMPARABLE:
        if column in rows.columns:
            values = sorted({str(v) for v in rows[column].dropna()})
            if len(values) > 1:
                differing.append(f"{column} ({', '.join(values)})")
    if not differing:
        return []
    return [f"the folders differ in {'; '.join(differing)}: compare their ratios, not their times"]


def describe(
    model: str = "both", *, config: PathLike | None = None, **settings: Any
) -> tuple[RunSpec, list[dict[str, Any]], list[dict[str, Any]]]:
    """(spec, a row per model, a row per layer): params, MACs and activations, analytic only.

    Plain rows, no pandas and no TensorFlow, so the CLI's `summary` starts fast.
    """
    from dsbench.models import describe as describe_models

    if model not in ("both", *KINDS):
        raise DsbenchError(
            f"model must be one of both, {', '.join(KINDS)}; got {model!r}", setting="model"
        )
    spec = run_spec(settings, config)
    kinds = KINDS if model == "both" else (model,)
    models, layers = describe_models(spec.model, kinds)
    return spec, models, layers


def summary(
    model: str = "both", *, config: PathLike | None = None, **settings: Any
) -> pd.DataFrame:
    """Params, MACs, FLOPs and activations per image of each model, and ratios to normal."""
    import pandas as pd

    return pd.DataFrame(describe(model, config=config, **settings)[1])


def layers(model: str = "both", *, config: PathLike | None = None, **settings: Any) -> pd.DataFrame:
    """The per-layer breakdown: output shape, params and MACs for one image."""
    import pandas as pd

    return pd.DataFrame(describe(model, config=config, **settings)[2])
