"""One comparison's record, computed once: `summarize(RunResults) -> Summary`.

A `Summary` holds what every consumer shows or stores about one train or compare run (or one
sweep point): a row per model (the table's columns), the paired separable/normal timing
ratios with their 95% intervals, the warnings, the settings and the environment. It is
frozen: the results folder saves and loads it (store/files.py), the tables and exporters display it
(render/), and nothing recomputes it. No TensorFlow.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from dsbench._version import __version__
from dsbench.measure import stats
from dsbench.measure.comparison import model_rows, ratio_intervals, separable_over_normal, warnings
from dsbench.measure.records import (
    RunResult,
    to_jsonable,
)
from dsbench.spec.enums import StrEnum
from dsbench.spec.request import Command
from dsbench.spec.settings import KINDS


class FolderKind(StrEnum):
    """The kind of a results folder, told by its marker file (store.MARKERS)."""

    run = "run"  # train or compare: summary.json
    sweep = "sweep"
    bench = "bench"
    deploy = "deploy"  # deploy.json alone: an untrained pair's exports (a run keeps its own)


@dataclass(frozen=True)
class Metric:
    """One figure of a comparison: its column, how the comparison table labels it and the short
    header of the report table (None: not in that table), and its format (render/format.py)."""

    column: str
    label: str | None
    short: str | None
    form: str


# The figures of a comparison, in the order the tables show them: the compare table as rows,
# the report table as columns (those with a short header).
METRICS = (
    Metric("status", "status", "status", "text"),
    Metric("params", "parameters", "params", "count"),
    Metric("macs_per_image", "MACs / image (forward)", "MACs/img", "si"),
    Metric("first_epoch_s", "first epoch s (train+val, incl. tracing)", "first ep s", "fixed2"),
    Metric("steady_epoch_s", "steady-state s/epoch (train+val; median, range)", "steady s/ep",
           "fixed2"),
    Metric("ms_per_step", "steady-state train ms/step (median, range)", "ms/step", "fixed1"),
    Metric("train_images_per_s", "train images/s (steady state; median, range)", "img/s",
           "fixed0"),
    Metric("est_train_gflop_per_s", "est. train GFLOP/s (nominal: 6 x MACs x images/s) *", None,
           "fixed1"),
    Metric("gflop_share_of_probe", "  as share of the measured matmul rate", None, "percent"),
    Metric("probe_gflop_per_s", "matmul probe GFLOP/s (best before an epoch)", None, "fixed0"),
    Metric("device_peak_mib", "peak GPU memory in an epoch, MiB", None, "fixed0"),
    Metric("best_val_acc", "best val acc (95% interval over the test images)", "best val acc",
           "fixed4"),
    Metric("best_epoch", "epoch of best val acc", "best ep", "epoch"),
    Metric("final_val_acc", "final val acc", None, "fixed4"),
    Metric("overfit_gap", "overfit: train - val acc at best epoch", "overfit", "fixed4"),
    Metric("time_to_target_s", "time to target val acc, train s", None, "fixed1"),
    Metric("epochs_to_target", "epochs to target val acc", None, "epoch"),
    Metric("latency_b1_ms", "inference latency, batch 1, median ms", "b1 ms", "fixed2"),
    Metric("latency_b1_p90_ms", "inference latency, batch 1, p90 ms", None, "fixed2"),
    Metric("infer_images_per_s", "inference images/s, batch 256", None, "fixed0"),
    Metric("model_file_bytes", ".keras size, weights + architecture (no optimizer)", None,
           "megabytes"),
    Metric("runs", None, "runs", "count"),
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class Summary:
    """One train or compare run, computed once (summarize) or read back (store.read_summary)."""

    kind: ClassVar[FolderKind] = FolderKind.run  # the folder it is saved as

    command: Command
    kinds: tuple[str, ...]
    settings: dict[str, Any]  # RunSpec.as_dict()
    environment: dict[str, Any]
    complete: bool
    models: pd.DataFrame  # a row per model: summary.csv, the comparison table's columns
    intervals: dict[str, stats.Interval]  # the paired timing ratios (PAIRED)
    warnings: tuple[str, ...]

    @property
    def ratios(self) -> dict[str, float]:
        """Every meaningful separable/normal ratio (empty unless both models ran)."""
        if self.models.empty:
            return {}
        return separable_over_normal(self.models.set_index("model"))

    @property
    def device(self) -> str:
        """Where it ran, as the device line says it ('' when not recorded)."""
        return str(self.environment.get("device") or "")

    @property
    def status(self) -> str:
        """'complete' or 'incomplete' (interrupted before its last epoch)."""
        return "complete" if self.complete else "incomplete"

    @property
    def document(self) -> dict[str, Any]:
        """summary.json's content (also what `--json` prints)."""
        document: dict[str, Any] = to_jsonable(
            {
                "dsbench_version": __version__,
                "command": self.command,
                "kinds": list(self.kinds),
                "status": self.status,
                "schedule": (self.settings.get("train") or {}).get("schedule"),
                "settings": self.settings,
                "models": self.models.to_dict(orient="records"),
                "ratios": {name: vars(interval) for name, interval in self.intervals.items()},
                "warnings": list(self.warnings),
            }
        )
        return document

    @classmethod
    def from_document(cls, document: dict[str, Any], environment: dict[str, Any]) -> Summary:
        """A Summary from a summary.json already checked by schema.summary."""

        def number(value: Any) -> float:
            return math.nan if value is None else float(value)

        intervals = {
            name: stats.Interval(number(value.get("median")), number(value.get("low")),
                                 number(value.get("high")), int(value.get("n") or 0),
                                 str(value.get("unit") or "paired epochs"))
            for name, value in (document.get("ratios") or {}).items()
        }  # fmt: skip
        return cls(
            command=Command(document.get("command", "compare")),
            kinds=tuple(document.get("kinds") or KINDS),
            settings=dict(document.get("settings") or {}),
            environment=environment,
            complete=document.get("status", "complete") == "complete",
            models=pd.DataFrame(document["models"]),
            intervals=intervals,
            warnings=tuple(document.get("warnings") or ()),
        )

    def report_rows(self) -> pd.DataFrame:
        """A row per model, the separable row carrying every separable/normal ratio."""
        frame = self.models.copy()
        if {"normal", "separable"} <= set(frame.get("model", [])):
            for name, value in self.ratios.items():
                if name not in frame.columns:
                    frame[name] = math.nan
                frame.loc[frame["model"] == "separable", name] = value
        return frame


def mark_unfinished(models: pd.DataFrame, epochs: Any) -> None:
    """In an incomplete folder, say "incomplete" for each model saved while it trained (its run
    says "complete" with fewer epochs than asked: records.RunResult.finished)."""
    if isinstance(epochs, int) and {"status", "epochs_completed"} <= set(models.columns):
        short = (models["status"] == "complete") & (models["epochs_completed"] < epochs)
        models.loc[short, "status"] = "incomplete"


def summarize(
    results: list[RunResult],
    command: Command | str,
    kinds: tuple[str, ...],
    settings: dict[str, Any],
    environment: dict[str, Any],
    complete: bool,
) -> Summary:
    """The one analysis of a comparison: intervals computed once serve the rows, the ratios
    and the warnings."""
    train = settings.get("train") or {}
    intervals = ratio_intervals(results)
    models = model_rows(results, train.get("target_accuracy"), intervals)
    test_images = int((environment.get("data") or {}).get("test_images") or 0)
    if test_images and "best_val_acc" in models:  # over the test images, a binomial count
        bounds = [stats.wilson(acc * test_images, test_images) if acc == acc else (math.nan,) * 2
                  for acc in models["best_val_acc"]]  # fmt: skip
        models["best_val_acc_low"] = [low for low, _ in bounds]
        models["best_val_acc_high"] = [high for _, high in bounds]
        models["test_images"] = test_images
        unpaired(models, test_images)
    if train.get("precision", "float32") != "float32" and "gflop_share_of_probe" in models:
        for column in ("gflop_share_of_probe", "gflop_share_of_probe_std"):
            if column in models:  # the probe's float32 matmul is not the yardstick
                models[column] = math.nan
    if not complete:
        mark_unfinished(models, train.get("epochs"))
    load = environment.get("load_average") or {}
    cores = int(environment.get("cores_in_use") or os.cpu_count() or 1)
    found = (
        warnings(results, intervals)
        + stats.load_warning(
            float(load.get("start", math.nan)), float(load.get("end") or math.nan), cores
        )
        + precision_note(settings, environment)
    )
    return Summary(Command(command), tuple(kinds), settings, environment, complete, models,
                   intervals, tuple(found))  # fmt: skip


def precision_note(settings: dict[str, Any], environment: dict[str, Any]) -> list[str]:
    """One line where a float32 run's answer depends on precision: on a CPU with bfloat16 matrix
    or vector units (AMX, AVX512-BF16), or a GPU with tensor cores (compute capability 7.0 and
    up), mixed precision speeds up the dense convolutions of the normal model far more than the
    depthwise ones, so the separable/normal ratio changes (docs/benchmarks.md measures it)."""
    from dsbench.backends.host import FAST_BFLOAT16

    if ((settings.get("train") or {}).get("precision") or "float32") != "float32":
        return []
    gpus = [g for g in environment.get("gpus") or [] if isinstance(g, dict)]
    sweep = "dsbench sweep --precision float32,mixed_bfloat16"
    if gpus:
        capability = gpus[0].get("compute_capability") or ()
        if isinstance(capability, (list, tuple)) and capability and int(capability[0]) >= 7:
            major, minor = [*capability, 0][:2]
            return [f"float32 on a GPU with tensor cores (compute capability {major}.{minor}): "
                    "the separable/normal answer changes with precision; see it with "
                    f"{sweep.replace('mixed_bfloat16', 'mixed_float16,mixed_bfloat16')}"]  # fmt: skip
        return []
    cpu = environment.get("cpu") if isinstance(environment.get("cpu"), dict) else {}
    fast = [f for f in (cpu or {}).get("features") or [] if f in FAST_BFLOAT16]
    if not fast:
        return []
    return [
        f"float32 on a CPU with {', '.join(fast)} (fast bfloat16): the separable/normal "
        f"answer changes with precision (docs/benchmarks.md); see it with {sweep}"
    ]


def unpaired(models: pd.DataFrame, test_images: int) -> None:
    """Where the runs recorded no predictions (an older folder, a run resumed after its best
    epoch): the accuracy difference from the two accuracies alone (Newcombe's unpaired
    interval, wider than a paired one: it errs towards "not resolved")."""
    if "acc_difference" in models or not {"normal", "separable"} <= set(models["model"]):
        return
    by_model = models.set_index("model")["best_val_acc"]
    if by_model.isna().any():
        return
    separable, normal = float(by_model["separable"]), float(by_model["normal"])
    low, high = stats.difference_interval(separable, normal, test_images)
    on = models["model"] == "separable"
    for column, value in (("acc_difference", separable - normal), ("acc_difference_low", low),
                          ("acc_difference_high", high), ("acc_difference_n", 1),
                          ("acc_difference_method", "unpaired")):  # fmt: skip
        models.loc[on, column] = value
