"""The JAX backend: models jitted by XLA (Keras' default on JAX), PyDataset feeds, data
parallelism through keras.distribution.DataParallel over this machine's devices."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from dsbench.backends.keras3 import *  # noqa: F403 (keras3.__all__: what both share)
from dsbench.backends.keras3 import LocalDevices
from dsbench.errors import DsbenchError
from dsbench.spec.settings import TrainSpec

NAME = "jax"
PACKAGE = "jax"


def refuse(train: TrainSpec) -> None:
    """Settings JAX cannot honour, refused before anything runs."""
    if train.strategy == "multiworker":
        raise DsbenchError("strategy multiworker is tf.distribute's, on the TensorFlow backend",
                           "use strategy mirrored (DataParallel over this machine's devices) or "
                           "backend tensorflow", setting=("strategy", "backend"))  # fmt: skip


def versions() -> dict[str, Any]:
    from importlib.metadata import version

    return {"jax": version("jax"), "jaxlib": version("jaxlib")}


def _jax() -> Any:
    """The jax module, untyped (its stubs differ between versions and may be absent)."""
    import importlib

    return importlib.import_module("jax")


def _accelerators() -> list[Any]:
    return [d for d in _jax().devices() if d.platform != "cpu"]


def gpus() -> list[dict[str, Any]]:
    return [{"name": str(d), "model": getattr(d, "device_kind", "unknown"),
             "compute_capability": _capability(d)} for d in _accelerators()]  # fmt: skip


def make_strategy(train: TrainSpec) -> LocalDevices:
    """One device, or DataParallel over this machine's devices (those named by `devices`)."""
    import keras

    devices = _jax().devices()
    if train.strategy != "mirrored":
        return LocalDevices("default", [_short(devices[0])], 1)
    chosen = [d for d in devices if not train.devices or _short(d) in
              {name.lower().lstrip("/") for name in train.devices}]  # fmt: skip
    if len(chosen) != (len(train.devices) or len(devices)):
        raise DsbenchError(f"devices {', '.join(train.devices)} not found on this machine",
                           f"it has {', '.join('/' + _short(d) for d in devices)}",
                           setting="devices")  # fmt: skip
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=chosen))
    return LocalDevices("DataParallel", [_short(d) for d in chosen], len(chosen))


def check_batches(train: TrainSpec, train_images: int, test_images: int, replicas: int) -> None:
    """DataParallel splits every batch, a last partial one too, evenly over the devices."""
    if replicas < 2:
        return
    last_train = train_images % train.batch_size if train.keep_partial_batch else 0
    sizes = {"batch_size": train.batch_size, "the last training batch": last_train,
             "the last validation batch": test_images % train.batch_size}  # fmt: skip
    for what, size in sizes.items():
        if size % replicas:
            raise DsbenchError(
                f"{what} ({size} images) does not split evenly over {replicas} devices",
                f"use a batch_size and test_size that {replicas} divides",
                setting=("batch_size", "test_size"),
            )


def _short(device: Any) -> str:
    """'cpu:0', 'gpu:1' (TensorFlow's spelling, as --devices takes it)."""
    return f"{'gpu' if device.platform in ('gpu', 'cuda', 'rocm') else device.platform}:{device.id}"


def _capability(device: Any) -> tuple[int, int] | None:
    """A CUDA device's compute capability ("9.0" in JAX), None elsewhere."""
    text = str(getattr(device, "compute_capability", "") or "")
    major, _, minor = text.partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


def device_line(described: dict[str, Any]) -> str:
    from dsbench.backends import host

    accelerators = _accelerators()
    kind = (host.gpu_kind(accelerators[0].device_kind, _capability(accelerators[0]))
            if accelerators else host.cpu_kind())  # fmt: skip
    replicas = int(described.get("replicas", 1))
    return (f"device: {', '.join(described.get('devices', []))} ({kind}), JAX {_jax().__version__}, "
            f"{replicas} replica{'s' if replicas != 1 else ''}")  # fmt: skip


def jit_compile(jit: bool | None) -> bool | str:
    """On JAX, jit off means op-by-op execution (about 3x slower): the default is on."""
    return "auto" if jit is None else jit


def deterministic() -> None:
    """XLA on CPU is deterministic; on GPUs, its deterministic kernels are asked for."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_gpu_deterministic_ops" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_deterministic_ops=true".strip()


def sync() -> None:
    """Wait for every array still being computed: JAX dispatches asynchronously on a CPU too,
    so a timestamp taken without waiting can fall before the steps it should follow.

    Keras calls batch-end callbacks in a thread of their own while the training thread goes
    on, so an array listed as live may be donated to the next step (or deleted) before it is
    waited for: its computation is then finished, and it is skipped."""
    jax = _jax()
    arrays = jax.live_arrays()
    try:
        jax.block_until_ready(arrays)
    except jax.errors.JaxRuntimeError:  # one of them donated or deleted since it was listed
        for array in arrays:
            with contextlib.suppress(jax.errors.JaxRuntimeError):
                array.block_until_ready()


def reset_memory() -> bool:
    """JAX keeps one peak per process and cannot reset it: False (callbacks.EpochRecorder then
    counts a peak only for the epoch that raised it)."""
    return False


def peak_memory_mib() -> float:
    accelerators = _accelerators()
    if not accelerators:
        return float("nan")
    stats = accelerators[0].memory_stats() or {}
    return float(stats.get("peak_bytes_in_use", float("nan"))) / 2**20


def profiler(log_dir: str, steps: tuple[int, int]) -> Any:
    """A JAX profiler trace of steps A..B (counted from 1 in the profiled epoch) into
    log_dir/plugins/profile/, where TensorBoard's profile plugin finds it."""
    import keras

    first, last = steps

    class Trace(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.step = 0

        def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            self.step += 1
            if self.step == first:
                _jax().profiler.start_trace(log_dir)

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            if self.step == last:
                sync()
                _jax().profiler.stop_trace()

    return Trace()
