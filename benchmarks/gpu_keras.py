"""dsbench's two models on a GPU without TensorFlow: Keras 3 on the JAX (XLA) or torch backend.

For GPU machines that have JAX or PyTorch with CUDA but no TensorFlow and no package registry,
where only a small upload fits (TensorFlow's
wheel alone is about 600 MB, 1.9 GB installed, before its CUDA 12 libraries). Keras 3 runs
dsbench's own model definitions (`dsbench.models.vgg.build`) on either backend, so this measures the
models dsbench builds, trained by `keras.Model.fit` as dsbench trains them (Adam 1e-3, sparse
categorical cross-entropy, dsbench's synthetic data scaled to [0, 1]). It does not measure
dsbench itself: not its tf.data pipeline, callbacks or the TensorFlow runtime.

Both models train in alternating epochs (N S, S N, ...), as `dsbench compare` does. Each epoch is
timed around `fit(epochs=1)` (Keras pulls the epoch's logs to the host at its end, which waits
for the device) and validation around `evaluate`. Steady epochs are the 2nd onwards (the first
compiles). The ratio is the median of the paired epoch ratios with dsbench's 95% interval.

    python benchmarks/gpu_keras.py --backend jax --epochs 10 --out gpu-jax.json
    python benchmarks/gpu_keras.py --backend jax --memory-only --model separable
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VARIANTS: dict[str, dict[str, Any]] = {
    "fp32-b128": {"batch": 128, "precision": None, "spe": 1},
    "bf16-b128": {"batch": 128, "precision": "mixed_bfloat16", "spe": 1},
    "fp16-b128": {"batch": 128, "precision": "mixed_float16", "spe": 1},
    "fp32-b512": {"batch": 512, "precision": None, "spe": 1},
    "fp32-b128-spe8": {"batch": 128, "precision": None, "spe": 8},
}
KINDS = ("normal", "separable")
PRECISIONS = {"fp32": None, "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def variant(name: str) -> dict[str, Any]:
    """A variant by name: the ones above, or any PRECISION-bBATCH[-speK], e.g. bf16-b512."""
    if name in VARIANTS:
        return VARIANTS[name]
    parts = name.split("-")
    if len(parts) not in (2, 3) or parts[0] not in PRECISIONS or not parts[1].startswith("b"):
        raise SystemExit(f"unknown variant {name!r}: use e.g. fp32-b256, bf16-b512, fp32-b128-spe8")
    spe = int(parts[2].removeprefix("spe")) if len(parts) == 3 else 1
    return {"batch": int(parts[1][1:]), "precision": PRECISIONS[parts[0]], "spe": spe}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="jax", choices=["jax", "torch", "tensorflow"])
    parser.add_argument("--train-size", type=int, default=50_000)
    parser.add_argument("--test-size", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the first variant")
    parser.add_argument("--variant-epochs", type=int, default=3, help="epochs of the others")
    parser.add_argument("--variants", default="fp32-b128", help=", ".join(VARIANTS))
    parser.add_argument("--deadline", type=float, default=1e9, help="start no variant after S s")
    parser.add_argument("--memory-only", action="store_true", help="one model's peak memory")
    parser.add_argument("--model", default="normal", choices=KINDS)
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args()


def device_info(backend: str) -> dict[str, Any]:
    info: dict[str, Any] = {"backend": backend, "python": platform.python_version()}
    if backend == "jax":
        import jax

        info["jax"] = jax.__version__
        info["devices"] = [f"{d.platform}:{d.device_kind}" for d in jax.devices()]
    elif backend == "torch":
        import torch

        info["torch"] = torch.__version__
        info["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    import keras

    info["keras"] = keras.__version__
    return info


def peak_bytes(backend: str, reset: bool = False) -> int | None:
    """Peak device memory so far (torch: since the last reset; JAX: since the process began)."""
    if backend == "torch":
        import torch

        if not torch.cuda.is_available():
            return None
        peak = int(torch.cuda.max_memory_allocated())
        if reset:
            torch.cuda.reset_peak_memory_stats()
        return peak
    if backend == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        return int(stats["peak_bytes_in_use"]) if "peak_bytes_in_use" in stats else None
    return None


def make_model(kind: str, precision: str | None, spe: int) -> Any:
    import keras

    from dsbench.models.vgg import build
    from dsbench.spec.settings import ModelSpec

    model = build(ModelSpec(), kind, precision)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=spe,
    )
    return model


def run_variant(name: str, epochs: int, data: Any, backend: str) -> dict[str, Any]:
    import keras

    from dsbench.measure.stats import median_interval, paired_ratios
    from dsbench.models.vgg import total_macs, total_params
    from dsbench.render.format import format_interval
    from dsbench.spec.settings import ModelSpec

    v = variant(name)
    keras.utils.set_random_seed(0)
    models = {k: make_model(k, v["precision"], v["spe"]) for k in KINDS}
    x, y, xt, yt = data
    steps = -(-len(x) // v["batch"])
    rows: list[dict[str, Any]] = []
    for epoch in range(1, epochs + 1):
        order = KINDS if epoch % 2 else KINDS[::-1]
        for kind in order:
            peak_bytes(backend, reset=True)
            start = time.perf_counter()
            history = models[kind].fit(
                x, y, batch_size=v["batch"], epochs=1, verbose=0, shuffle=True
            )
            train_s = time.perf_counter() - start
            start = time.perf_counter()
            result = models[kind].evaluate(
                xt, yt, batch_size=v["batch"], verbose=0, return_dict=True
            )
            val_s = time.perf_counter() - start
            row = {
                "variant": name,
                "epoch": epoch,
                "model": kind,
                "train_s": train_s,
                "val_s": val_s,
                "ms_per_step": 1000 * train_s / steps,
                "loss": float(history.history["loss"][-1]),
                "val_accuracy": float(result["accuracy"]),
                "peak_bytes": peak_bytes(backend),
            }
            rows.append(row)
            print(
                f"{name} epoch {epoch} {kind:9s} train {train_s:7.2f} s "
                f"({row['ms_per_step']:6.2f} ms/step) val {val_s:5.2f} s "
                f"acc {row['val_accuracy']:.3f}",
                flush=True,
            )
    steady = {
        k: [r["ms_per_step"] for r in rows if r["model"] == k and r["epoch"] > 1] for k in KINDS
    }
    ratio = median_interval(paired_ratios(steady["separable"], steady["normal"]).tolist())
    spec = ModelSpec()
    summary: dict[str, Any] = {"variant": name, **v, "epochs": epochs, "steps_per_epoch": steps}
    for kind in KINDS:
        ms = statistics.median(steady[kind]) if steady[kind] else float("nan")
        images_s = 1000 * v["batch"] / ms if steady[kind] else float("nan")
        summary[kind] = {
            "params": total_params(spec, kind),
            "steady_ms_per_step_median": ms,
            "steady_ms_per_step_min_max": [min(steady[kind]), max(steady[kind])]
            if steady[kind]
            else None,
            "first_epoch_s": next(r["train_s"] for r in rows if r["model"] == kind),
            "images_per_s": images_s,
            "nominal_train_tflops": 6 * total_macs(spec, kind) * images_s / 1e12,
            "best_val_accuracy": max(r["val_accuracy"] for r in rows if r["model"] == kind),
            "median_val_s": statistics.median(r["val_s"] for r in rows if r["model"] == kind),
        }
    summary["ratio_ms_per_step"] = {
        "median": ratio.median,
        "low": ratio.low,
        "high": ratio.high,
        "pairs": ratio.n,
        "text": format_interval(ratio),
    }
    print(
        f"{name}: separable/normal ms/step {format_interval(ratio)} ({ratio.n} pairs)", flush=True
    )
    return {"summary": summary, "epochs": rows}


def memory_only(args: argparse.Namespace) -> dict[str, Any]:
    x, y, _, _ = load(args.train_size, 0)
    model = make_model(args.model, None, 1)
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    result = {"model": args.model, "batch": 128, "peak_bytes": peak_bytes(args.backend)}
    print(json.dumps(result), flush=True)
    return result


def load(train_size: int, test_size: int) -> tuple[Any, Any, Any, Any]:
    from dsbench.data import synthetic

    data = synthetic(train_size, test_size, seed=0)
    scale = 1 / 255

    def f(a: Any) -> Any:
        return (a * scale).astype("float32")

    return f(data.x_train), data.y_train, f(data.x_test), data.y_test


def main() -> None:
    args = parse()
    os.environ["KERAS_BACKEND"] = args.backend
    began = time.perf_counter()
    info = device_info(args.backend)
    print(json.dumps(info), flush=True)
    if args.memory_only:
        result: dict[str, Any] = {"info": info, "memory": memory_only(args)}
        if args.out:
            args.out.write_text(json.dumps(result, indent=1))
        return
    data = load(args.train_size, args.test_size)
    result = {"info": info, "args": {k: str(v) for k, v in vars(args).items()}, "variants": []}
    for i, name in enumerate(n.strip() for n in args.variants.split(",")):
        if time.perf_counter() - began > args.deadline:
            print(f"{name}: skipped (past the {args.deadline:.0f} s deadline)", flush=True)
            continue
        try:
            result["variants"].append(
                run_variant(
                    name, args.epochs if i == 0 else args.variant_epochs, data, args.backend
                )
            )
        except Exception as error:  # a variant that fails on this backend is a finding, not the end
            print(f"{name}: failed: {type(error).__name__}: {error}", flush=True)
            result["variants"].append({"summary": {"variant": name, "error": repr(error)[:2000]}})
        result["wall_s"] = time.perf_counter() - began
        if args.out:
            args.out.write_text(json.dumps(result, indent=1))
    print(f"wall {time.perf_counter() - began:.1f} s", flush=True)


if __name__ == "__main__":
    main()
