"""Speed alone: `dsbench bench` (both models timed in alternating chunks of steps until the
ratio is known to ±5%), and inference latency, throughput and size of a trained model.

`bench` answers "how much faster?" without training to accuracy. Both models are built and
warmed up (tracing and a few steps apart from the timing), then timed in chunks of K steps in
the order N S S N N S ..., so each separable chunk has a normal chunk beside it measured in the
same state of the machine. The separable/normal ratio of each adjacent pair is one sample; the
median of the samples gets a 95% interval (stats.py, as `compare` uses), and
timing stops when the interval is within the precision target, or when the time budget is spent.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

LATENCY_CALLS = 50
THROUGHPUT_BATCH = 256
THROUGHPUT_CALLS = 7  # enough pairs for an interval of the throughput ratio
WARMUP_CALLS = 5


def inference(
    models: dict[str, keras.Model], input_shape: tuple[int, ...], jit: bool = False
) -> dict[str, dict[str, Any]]:
    """Batch-1 latency (median, p90 of 50 calls) and batch-256 images/s of each model, after
    warm-up, measured in alternating order (N S, S N, ...) so that with two models every call
    has a call of the other beside it; and each model's deployable size.

    Uses one compiled predict function per model (the backend's `predictor`), not
    `model.predict` per call, which would time Keras' per-call set-up instead of the model.
    With both models, the separable model's dict also holds the paired ratios with their 95%
    intervals: latency_ratio(_low, _high, _n) and infer_images_per_s_ratio(...).
    """
    from dsbench import backends
    from dsbench.measure import stats

    backend = backends.current()
    predict = {kind: backend.predictor(model, jit) for kind, model in models.items()}
    rng = np.random.default_rng(0)
    one = rng.uniform(size=(1, *input_shape)).astype(np.float32)
    many = rng.uniform(size=(THROUGHPUT_BATCH, *input_shape)).astype(np.float32)

    def timed(x: np.ndarray, calls: int) -> dict[str, np.ndarray]:
        for _ in range(WARMUP_CALLS):
            for function in predict.values():
                function(x)
        times = {kind: np.empty(calls) for kind in predict}
        for i in range(calls):
            for kind in list(predict) if i % 2 == 0 else list(predict)[::-1]:
                start = time.perf_counter()
                predict[kind](x)  # returns a host array: the call waits for the result
                times[kind][i] = time.perf_counter() - start
        return times

    latency = timed(one, LATENCY_CALLS)
    batch_times = timed(many, THROUGHPUT_CALLS)
    out = {
        kind: {
            "latency_b1_ms": float(np.median(latency[kind]) * 1e3),
            "latency_b1_p90_ms": float(np.percentile(latency[kind], 90) * 1e3),
            "infer_images_per_s": float(THROUGHPUT_BATCH / np.median(batch_times[kind])),
            "model_file_bytes": int(deployable_bytes(model)),
        }
        for kind, model in models.items()
    }
    if set(models) == {"normal", "separable"}:
        pairs = {
            "latency_ratio": latency["separable"] / latency["normal"],
            "infer_images_per_s_ratio": batch_times["normal"] / batch_times["separable"],
        }
        for name, ratios in pairs.items():
            out["separable"].update(stats.median_interval(list(ratios)).columns(name))
    return out


def deployable_bytes(model: keras.Model) -> int:
    """Size of the .keras file of an uncompiled copy of `model`: architecture and weights only."""

    # Rebuilt from its layer config alone: clone_model and model_from_json also restore the
    # compile config, and with it Adam's slots.
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    with tempfile.TemporaryDirectory(prefix="dsbench-") as folder:
        path = os.path.join(folder, f"{model.name}.keras")
        copy.save(path)
        return os.path.getsize(path)


# ---------------------------------------------------------------- dsbench bench

WARMUP_STEPS = 1  # traces the step; the timed step after it runs at steady speed here
CHUNK_SECONDS = 0.25  # a chunk's target length: long enough to time, short enough to interleave


def bench_cell(steppers: dict[str, Any], batch_size: int, budget_s: float, target: float,
               between_runs_sd: float, unit: bool = False) -> dict[str, Any]:  # fmt: skip
    """Time both models in alternating chunks of about CHUNK_SECONDS each (each model's chunk
    sized from its own step time, so both last alike) until the ratio's interval (widened by
    `between_runs_sd`) is within `target` on each side or `budget_s` is spent
    (stopping.sequential_ratio decides); a dict of per-model and ratio figures. A `unit` (one
    of several worker processes) times pairs until `budget_s` is spent, and its ratio is their
    median (stopping.timed_until): the parent's interval is over the processes."""
    from dsbench.measure import stats, stopping

    start = time.perf_counter()
    for stepper in steppers.values():
        stepper.run(WARMUP_STEPS)  # tracing and the first, slower steps
    one = {kind: stepper.run(1) for kind, stepper in steppers.items()}
    chunks = {kind: max(1, round(CHUNK_SECONDS / max(seconds, 1e-6)))
              for kind, seconds in one.items()}  # fmt: skip
    times: dict[str, list[float]] = {kind: [] for kind in steppers}

    def next_ratio() -> float:
        order = (
            ["normal", "separable"] if len(times["normal"]) % 2 == 0 else ["separable", "normal"]
        )
        for kind in order:
            times[kind].append(steppers[kind].run(chunks[kind]) / chunks[kind])
        return times["separable"][-1] / times["normal"][-1]

    def out_of_time(pairs: int) -> bool:
        return time.perf_counter() - start >= budget_s and pairs >= stats.MIN_STEADY

    if unit:
        ratios = stopping.timed_until(next_ratio, out_of_time)
        interval = stats.median_interval(ratios)
        reached = stats.within(interval, target)
    else:
        ratios, interval, reached = stopping.sequential_ratio(next_ratio, target, out_of_time,
                                                              between_runs_sd)  # fmt: skip
    row: dict[str, Any] = {"batch_size": batch_size, "normal_chunk_steps": chunks["normal"],
                           "separable_chunk_steps": chunks["separable"],
                           "pairs": len(ratios)}  # fmt: skip
    for kind, series in times.items():
        spread = stats.Spread.of(series)
        row[f"{kind}_ms_per_step"] = spread.median * 1e3
        row[f"{kind}_ms_per_step_low"] = spread.low * 1e3
        row[f"{kind}_ms_per_step_high"] = spread.high * 1e3
        row[f"{kind}_images_per_s"] = batch_size / spread.median
        row[f"{kind}_bimodal"] = stats.bimodal(series)
        row[f"{kind}_outliers"] = stats.tukey_outliers(series)
    low_side = interval.median / interval.low - 1 if interval.low > 0 else math.nan
    row.update({"ratio": interval.median, "ratio_low": interval.low, "ratio_high": interval.high,
                "ratio_half_width": max(low_side, interval.high / interval.median - 1),
                "target_reached": reached, "seconds": time.perf_counter() - start})  # fmt: skip
    return row
