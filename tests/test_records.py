"""Records, ratios, folders and tables from hand-made RunResults: exact figures, no TensorFlow."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import write_run
from rich.console import Console

from dsbench import render
from dsbench.measure import sweep as sweeps
from dsbench.measure.comparison import model_rows, separable_over_normal
from dsbench.measure.records import Status, run_metrics
from dsbench.measure.summary import summarize
from dsbench.spec import grid
from dsbench.spec.settings import ModelSpec
from dsbench.store import files as store


def test_metrics_follow_from_the_recorded_times(made_results: Any) -> None:
    normal, _ = made_results()
    metrics = run_metrics(normal)
    # steady state: median of epochs 2..4 (train 2.0, 2.2, 1.8 s; epoch = train + 0.5 s)
    assert metrics["first_epoch_s"] == 3.5
    assert metrics["steady_train_s"] == pytest.approx(2.0)
    assert metrics["steady_epoch_s"] == pytest.approx(2.5)
    assert metrics["ms_per_step"] == pytest.approx(2.0 / 10 * 1e3)  # 10 steps per epoch
    assert metrics["train_images_per_s"] == pytest.approx(10 * 32 / 2.0)
    assert metrics["est_train_gflop_per_s"] == pytest.approx(6 * 152_805_376 * 160 / 1e9)
    assert (metrics["best_val_acc"], metrics["best_epoch"]) == (0.6, 3)
    assert metrics["final_val_acc"] == 0.55
    assert metrics["overfit_gap"] == pytest.approx(0.05)


def test_steady_state_leaves_out_every_tracing_epoch(made_results: Any) -> None:
    normal, _ = made_results()
    normal.epochs[2]["includes_tracing"] = True  # the first epoch after a resume traced again
    assert run_metrics(normal)["steady_train_s"] == pytest.approx((2.0 + 1.8) / 2)
    one_epoch, _ = made_results(normal_s=[3.0])
    assert math.isnan(run_metrics(one_epoch)["steady_epoch_s"])


def test_ratios_are_separable_over_normal(made_results: Any) -> None:
    summary = model_rows(made_results()).set_index("model")
    ratios = separable_over_normal(summary)
    assert ratios["params_ratio"] == pytest.approx(174_821 / 1_186_378)
    assert ratios["ms_per_step_ratio"] == pytest.approx(1.0 / 2.0)
    assert ratios["images_per_s_ratio"] == pytest.approx(2.0)
    assert math.isnan(ratios["latency_ratio"])  # no inference measured
    assert separable_over_normal(summary.loc[["normal"]]) == {}


def test_repeats_average_with_std_and_the_worst_status_wins(made_results: Any) -> None:
    first = made_results()
    second = made_results(normal_s=[3.0, 4.0, 4.4, 3.6], separable_s=[1.5, 1.0, 1.1, 0.9])
    for result in second:
        result.repeat, result.seed = 1, 1
    second[1].status = Status.diverged
    summary = model_rows(first + second).set_index("model")
    assert summary.loc["normal", "runs"] == 2
    assert summary.loc["normal", "steady_train_s"] == pytest.approx(3.0)
    assert summary.loc["normal", "steady_train_s_std"] == pytest.approx(pd.Series([2.0, 4.0]).std())
    assert summary.loc["separable", "status"] == "diverged"
    assert summary.loc["separable", "diverged_epoch"] == 4


def test_a_folder_round_trips_through_store(made_results: Any, tmp_path: Path) -> None:
    results = made_results()
    results[1].status = Status.interrupted
    write_run(tmp_path, results, "compare", {"train": {"epochs": 4}}, {}, complete=False)
    loaded = store.load_results(tmp_path)
    assert [(r.model, r.status, len(r.epochs)) for r in loaded] == [
        ("normal", Status.complete, 4),
        ("separable", Status.interrupted, 4),
    ]
    assert loaded[0].epochs[1]["train_s"] == results[0].epochs[1]["train_s"]
    assert store.read_summary(tmp_path).status == "incomplete"


def test_compare_table_shows_each_figure_and_its_ratio(made_results: Any) -> None:
    summary = model_rows(made_results())
    console = Console(file=io.StringIO(), width=160, force_terminal=True, color_system=None)
    console.print(render.compare_table(summary, "t"))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "1,186,378" in text and "174,821" in text and "0.147x" in text
    assert "200.0" in text and "100.0" in text  # ms/step, and their paired ratio with 4 digits:
    assert "0.5000x [0.5000, 0.5000]" in text  # a zero-width interval earns them
    assert "0.57x" in text and "0.571x" not in text  # a single pair's ratio (first epoch): two
    # the interval covers this run's epochs, not the spread between processes (docs/benchmarks.md)
    assert "from this run's epochs; separate runs vary more" in " ".join(text.split())
    # time to accuracy, from whole epochs: the range it lies in, not a point
    assert "0.32x–0.78x (whole-epoch bounds)" in text and "whole epochs, no tracing" in text
    assert "outliers" not in text and "Tukey" not in text  # 3 steady epochs: no quartiles
    five = model_rows(made_results(normal_s=[3.0, 2.0, 2.1, 2.0, 4.0, 2.1],
                                      separable_s=[1.5, 1.0, 1.1, 0.9, 1.0, 1.2]))  # fmt: skip
    console.print(render.compare_table(five, "t"))
    caption = " ".join(console.file.getvalue().split())  # type: ignore[attr-defined]
    assert (
        "steady epochs beyond Tukey's fences (1.5 IQR): normal 1 of 5, separable 0 of 5" in caption
    )


def test_sweep_rows_and_ratios_from_constructed_points(made_results: Any) -> None:
    base = ModelSpec(blocks=((8, 1), (16, 1)))
    points = grid.points_for(base, "3,5", None, None)
    frames = [sweeps.trained_rows(p, base, model_rows(made_results())) for p in points]
    rows = pd.concat(frames, ignore_index=True)
    ratios = sweeps.ratios(rows)
    assert ratios["kernel_size"].tolist() == [3, 5]
    assert ratios["time_ratio"].tolist() == pytest.approx([1.5 / 2.5] * 2)
    assert grid.swept_of(grid.axes(points)) == ["kernel_size"]


def test_time_to_accuracy_counts_whole_epochs_without_tracing(made_results: Any) -> None:
    from dsbench.measure.records import default_target, time_to_accuracy

    normal, separable = made_results()
    # val acc per epoch 0.3, 0.5, 0.6, 0.55; train s 3.0 (traced), 2.0, 2.2, 1.8 (normal): the
    # traced epoch counts at the steady median, 2.0 s
    assert time_to_accuracy(normal, 0.5) == (4.0, 2.0, 2.0)
    assert time_to_accuracy(normal, 0.6) == pytest.approx((6.2, 3.0, 4.0))
    assert all(math.isnan(v) for v in time_to_accuracy(normal, 0.9))
    normal.epochs[2]["includes_tracing"] = (
        True  # traced again after a resume: both traced epochs count 1.9 s
    )
    assert time_to_accuracy(normal, 0.6) == pytest.approx((5.8, 3.0, 3.9))  # 1.9 + 2.0 + 1.9
    normal, _ = made_results()
    one_epoch, _ = made_results(normal_s=[3.0])  # no steady epoch, no figure
    assert all(math.isnan(v) for v in time_to_accuracy(one_epoch, 0.1))
    assert default_target([normal, separable]) == pytest.approx(0.95 * 0.6)
    summary = model_rows([normal, separable]).set_index("model")
    assert summary.loc["separable", "time_to_target_s"] == pytest.approx(3.1)  # 1.0+1.0+1.1
    assert separable_over_normal(summary)["time_to_target_ratio"] == pytest.approx(3.1 / 6.2)
    # whole epochs: separable crossed within (2.0, 3.1] s, normal within (4.0, 6.2] s
    low, high = (summary.loc["separable", f"time_to_target_ratio_{s}"] for s in ("low", "high"))
    assert (low, high) == pytest.approx((2.0 / 6.2, 3.1 / 4.0))
    chosen = model_rows([normal, separable], target=0.5).set_index("model")
    assert chosen.loc["normal", "time_to_target_s"] == 4.0
    first = model_rows([normal, separable], target=0.3).set_index("model")  # at epoch 1
    assert math.isinf(first.loc["separable", "time_to_target_ratio_high"])


def test_summary_holds_paired_intervals_and_steady_ranges(made_results: Any) -> None:
    summary = model_rows(made_results()).set_index("model")
    separable = summary.loc["separable"]
    assert separable["ms_per_step_ratio"] == pytest.approx(0.5)
    assert separable["ms_per_step_ratio_low"] == pytest.approx(0.5)
    assert separable["ms_per_step_ratio_n"] == 3  # epochs 2, 3, 4
    assert summary.loc["normal", "ms_per_step_low"] == pytest.approx(180.0)
    assert summary.loc["normal", "ms_per_step_high"] == pytest.approx(220.0)


def test_warnings_and_the_document_on_a_two_epoch_run(made_results: Any) -> None:
    results = made_results(normal_s=[3.0, 2.0], separable_s=[1.5, 1.0])
    settings = {"train": {"schedule": "interleaved", "target_accuracy": None}}
    document = summarize(results, "compare", ("normal", "separable"), settings, {}, True).document
    assert document["schedule"] == "interleaved"
    assert document["ratios"]["ms_per_step_ratio"]["n"] == 1
    assert document["ratios"]["ms_per_step_ratio"]["low"] is None  # not resolvable from one pair
    text = " ".join(document["warnings"])
    assert "1 steady epoch per model: no timing ratio is resolved (use --epochs 4" in text
    assert len(document["warnings"]) == 1  # one cause, said once, not again for the ratio


def test_verdict_line(made_results: Any) -> None:
    line = render.verdict(model_rows(made_results()))
    # every paired ratio is exactly 0.5: a zero-width interval earns four digits
    assert line == (
        "separable vs normal: 0.147x params, 0.120x MACs, 0.5000x [0.5000, 0.5000] time/step, "
        "best val acc 0.600 vs 0.600"
    )
    two = render.verdict(model_rows(made_results(normal_s=[3.0, 2.0], separable_s=[1.5, 1.0])))
    assert "time/step not resolved (1 pair)" in two and "x [" not in two


def test_a_ratio_is_shown_no_surer_than_it_is(made_results: Any) -> None:
    wide = made_results(normal_s=[3.0, 2.0, 2.2, 1.8], separable_s=[1.5, 0.5, 1.8, 0.6])
    cell = render.comparison.ratio_cell(model_rows(wide), "ms_per_step")
    assert cell.endswith(", not resolved") and "–" in cell and "[" not in cell
    short = made_results(normal_s=[3.0, 2.0, 2.2], separable_s=[1.5, 1.0, 1.1])
    assert (
        render.comparison.ratio_cell(model_rows(short), "ms_per_step") == "not resolved (2 pairs)"
    )
    # the estimated GFLOP/s ratio is as resolved as the time ratio it comes from
    assert (
        render.comparison.ratio_cell(model_rows(short), "est_train_gflop_per_s") == "not resolved"
    )


def test_accuracy_carries_its_interval_and_the_verdict_its_resolution(made_results: Any) -> None:
    results = made_results()
    environment = {"data": {"test_images": 100}}
    models = summarize(results, "compare", ("normal", "separable"), {}, environment, True).models
    low, high = models.loc[0, "best_val_acc_low"], models.loc[0, "best_val_acc_high"]
    assert low == pytest.approx(0.502, abs=0.001) and high == pytest.approx(0.691, abs=0.001)
    assert "(difference not resolved)" in render.verdict(models)  # 0.60 vs 0.60 on 100 images
    results[1].epochs[2]["val_accuracy"] = 0.95  # 0.95 vs 0.60 on 100 images: resolved
    models = summarize(results, "compare", ("normal", "separable"), {}, environment, True).models
    assert "best val acc 0.950 vs 0.600" in render.verdict(models)
    assert "not resolved" not in render.verdict(models).split("best val acc")[1]


@pytest.mark.tf
@pytest.mark.tf
def test_timestamps_wait_for_the_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import tensorflow as tf

    from dsbench.backends.tensorflow import probe
    from dsbench.run import callbacks

    calls: list[str] = []
    monkeypatch.setattr(probe, "_GPU", [True])  # as if a GPU were present
    monkeypatch.setattr(tf.test.experimental, "sync_devices", lambda: calls.append("sync"))
    callbacks.now()
    assert calls == ["sync"]
    monkeypatch.setattr(probe, "_GPU", [False])
    callbacks.now()
    assert calls == ["sync"]  # no GPU: no sync


@pytest.mark.tf
@pytest.mark.tf
def test_the_epoch_recorder_leaves_keras_batch_callbacks_asynchronous(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On JAX and PyTorch Keras hands batch-end callbacks to a thread unless one of them is not
    # async-safe; then every step's logs would be read back on the training thread (a device
    # wait per step).
    from keras.src.callbacks import callback_list

    from dsbench.measure.records import RunResult
    from dsbench.observer import Observer
    from dsbench.run.callbacks import EpochRecorder

    monkeypatch.setattr(callback_list.backend, "IS_THREAD_SAFE", True)  # as on JAX and PyTorch
    recorder = EpochRecorder(RunResult("normal", 0, 0, 1, 1, 10, 32), Observer(), None)
    assert callback_list.CallbackList([recorder])._async_train


def test_images_per_second_counts_the_images_an_epoch_sees(made_results: Any) -> None:
    # --keep-partial-batch on 5,000 images: 40 steps of 128 see 5,000 images, not 5,120
    result = made_results()[0]
    result.images_per_epoch = 5000
    steady = run_metrics(result)["steady_train_s"]
    assert run_metrics(result)["train_images_per_s"] == pytest.approx(5000 / steady)
    result.images_per_epoch = 0  # a folder of an older version: steps x batch
    assert run_metrics(result)["train_images_per_s"] == pytest.approx(10 * 32 / steady)


def test_the_share_of_the_probe_only_where_the_probe_compares(made_results: Any) -> None:
    results = made_results()
    for r in results:
        for row in r.epochs:
            row["probe_gflop_per_s"] = 100.0
    settings = {"train": {"precision": "float32"}}
    shares = summarize(results, "compare", ("normal", "separable"), settings, {}, True).models
    assert shares["gflop_share_of_probe"].notna().all()
    mixed = {"train": {"precision": "mixed_bfloat16"}}  # a float32 probe is no yardstick
    models = summarize(results, "compare", ("normal", "separable"), mixed, {}, True).models
    assert models["gflop_share_of_probe"].isna().all()
    results[0].replicas = 2  # nor is one device's probe for two replicas
    assert math.isnan(run_metrics(results[0])["gflop_share_of_probe"])


def test_a_zero_time_does_not_divide_by_zero(made_results: Any) -> None:
    from dsbench.measure.comparison import ratio_intervals

    results = made_results(separable_s=[1.5, 0.0, 1.1, 0.9])
    intervals = ratio_intervals(results)  # images/s is 1 / time: a zero time is left out
    assert intervals["images_per_s_ratio"].n == 2 and intervals["ms_per_step_ratio"].n == 3


def test_bench_keeps_jit_auto_as_keras_does() -> None:
    from types import SimpleNamespace

    from dsbench.backends import resolved_jit

    cpu = SimpleNamespace(NAME="tensorflow", gpus=lambda: [])
    gpu = SimpleNamespace(NAME="tensorflow", gpus=lambda: [{"model": "H200"}])
    jax = SimpleNamespace(NAME="jax", gpus=lambda: [])
    assert [resolved_jit(None, b) for b in (cpu, gpu, jax)] == [False, True, True]
    assert resolved_jit(False, gpu) is False and resolved_jit(True, cpu) is True


def test_cores_in_use_follow_the_affinity() -> None:
    import os

    from dsbench.backends import host as runtime

    assert runtime.cores_in_use() == len(os.sched_getaffinity(0))


def test_a_moving_probe_raises_no_warning(made_results: Any) -> None:
    # The probe's moves neither flagged the recorded runs whose ratio moved nor stayed quiet on
    # steady ones (benchmarks/probe_drift.py): it is shown, not judged.
    from dsbench.measure.comparison import warnings

    results = made_results()
    for r in results:
        for row, rate in zip(r.epochs, [180.0, 90.0, 175.0, 120.0], strict=True):
            row["probe_gflop_per_s"] = rate
    assert not [w for w in warnings(results) if "probe" in w]


def test_which_images_were_right_round_trips_and_is_checked() -> None:
    import numpy as np

    from dsbench.measure.records import decode_correct, encode_correct

    flags = np.array([True, False, True, True, False, False, True, False, True, True])
    assert decode_correct(encode_correct(flags)).tolist() == flags.tolist()
    for bad in ("", "10", "x:AAA=", "10:!!!!", "100:AAA="):  # not N:base64, or the wrong length
        with pytest.raises(ValueError):
            decode_correct(bad)


def test_the_accuracy_difference_is_paired_over_the_test_images(made_results: Any) -> None:
    import numpy as np

    from dsbench.measure.records import encode_correct

    results = made_results()
    normal = np.zeros(100, dtype=bool)
    normal[:60] = True  # 60 right
    separable = np.zeros(100, dtype=bool)
    separable[10:85] = True  # 75 right: 10 only normal got right, 25 only separable
    results[0].best_val_correct, results[1].best_val_correct = map(
        encode_correct, (normal, separable)
    )
    environment = {"data": {"test_images": 100}}
    models = summarize(results, "compare", ("normal", "separable"), {}, environment, True).models
    row = models.set_index("model").loc["separable"]
    assert row["acc_difference"] == pytest.approx(0.15)
    assert row["acc_difference_method"] == "paired" and row["acc_discordant"] == 35
    assert (row["acc_difference_low"], row["acc_difference_high"]) == pytest.approx(
        (0.0337, 0.2604), abs=1e-4
    )
    assert render.comparison.ratio_cell(models, "best_val_acc") == "diff +0.150 [+0.034, +0.260]"
    assert "(difference +0.150 [+0.034, +0.260])" in render.verdict(models)
    # a run of each model per repeat: the mean difference over the repeats, t over the repeats
    second = made_results()
    for r in second:
        r.repeat = 1
    second[0].best_val_correct = encode_correct(normal)
    second[1].best_val_correct = encode_correct(normal)  # same images right: difference 0
    both = summarize(results + second, "compare", ("normal", "separable"), {}, environment, True)
    row = both.models.set_index("model").loc["separable"]
    assert row["acc_difference"] == pytest.approx(0.075) and row["acc_difference_n"] == 2
    assert row["acc_difference_method"] == "runs"
    assert "not resolved" in render.comparison.ratio_cell(both.models, "best_val_acc")
    # no predictions recorded: the unpaired interval from the two accuracies
    for r in results:
        r.best_val_correct = ""
    models = summarize(results, "compare", ("normal", "separable"), {}, environment, True).models
    assert models.set_index("model").loc["separable", "acc_difference_method"] == "unpaired"


def test_which_images_were_right_is_saved_and_checked(made_results: Any, tmp_path: Path) -> None:
    import numpy as np

    from dsbench.errors import DsbenchError
    from dsbench.measure.records import encode_correct

    results = made_results()
    results[0].best_val_correct = encode_correct(np.arange(30) % 3 == 0)
    write_run(tmp_path, results, "compare", {}, {"data": {"test_images": 30}}, complete=True)
    loaded = store.load_results(tmp_path)
    assert [r.best_val_correct for r in loaded] == [results[0].best_val_correct, ""]
    runs = pd.read_csv(tmp_path / "runs.csv")
    runs.loc[0, "best_val_correct"] = "30:not base64!"
    runs.to_csv(tmp_path / "runs.csv", index=False)
    with pytest.raises(DsbenchError, match="best_val_correct"):
        store.load_results(tmp_path)


@pytest.mark.tf
@pytest.mark.tf
@pytest.mark.parametrize("resets", [True, False])
def test_each_model_s_peak_memory_is_its_own_when_the_models_alternate(
    monkeypatch: pytest.MonkeyPatch, resets: bool
) -> None:
    # JAX keeps one peak per process: the separable model (smaller) would have shown the
    # normal model's peak, set in the epoch before its own.
    from types import SimpleNamespace

    from dsbench import backends
    from dsbench.measure.comparison import memory_warnings
    from dsbench.measure.records import RunResult
    from dsbench.observer import Observer
    from dsbench.run import callbacks

    device = {"peak": 10.0}

    def reset() -> bool:
        if resets:
            device["peak"] = 0.0
        return resets

    fake = SimpleNamespace(sync=lambda: None, reset_memory=reset,
                           peak_memory_mib=lambda: device["peak"])  # fmt: skip
    monkeypatch.setattr(backends, "current", lambda: fake)
    recorders = {kind: callbacks.EpochRecorder(RunResult(kind, 0, 0, 1, 1, 1, 1), Observer(), None)
                 for kind in ("normal", "separable")}  # fmt: skip
    own = {"normal": 800.0, "separable": 500.0}  # what each model's epoch needs
    for epoch in range(2):
        for kind, recorder in recorders.items():  # normal, separable, normal, separable
            recorder.on_epoch_begin(epoch)
            device["peak"] = max(device["peak"], own[kind])
            recorder.on_epoch_end(epoch, {"loss": 1.0})
    peaks = {k: [e["device_peak_mib"] for e in r.result.epochs] for k, r in recorders.items()}
    results = [r.result for r in recorders.values()]
    if resets:
        assert peaks == {"normal": [800.0, 800.0], "separable": [500.0, 500.0]}
        assert memory_warnings(results) == []
    else:
        assert peaks["normal"][0] == 800.0 and all(math.isnan(p) for p in peaks["normal"][1:])
        assert all(math.isnan(p) for p in peaks["separable"])  # not 800: never its own
        (warning,) = memory_warnings(results)
        assert warning.startswith("peak GPU memory of separable: not measured") and "800" in warning
