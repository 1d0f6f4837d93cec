"""The PyTorch backend: eager by default (jit means torch.compile), one device, PyDataset feeds."""

from __future__ import annotations

from typing import Any

from dsbench.backends.keras3 import *  # noqa: F403 (keras3.__all__: what both share)
from dsbench.backends.keras3 import LocalDevices
from dsbench.errors import DsbenchError
from dsbench.spec.settings import TrainSpec

NAME = "torch"
PACKAGE = "torch"


def refuse(train: TrainSpec) -> None:
    """Settings PyTorch (through Keras) cannot honour, refused before anything runs."""
    if train.strategy != "default":
        raise DsbenchError(f"strategy {train.strategy}: Keras has no distribution for PyTorch",
                           "use backend jax (DataParallel) or tensorflow (tf.distribute)",
                           setting=("strategy", "backend"))  # fmt: skip
    if train.steps_per_execution > 1:
        raise DsbenchError("steps_per_execution above 1 is not supported by Keras on PyTorch",
                           "leave steps_per_execution at 1, or use backend jax or tensorflow",
                           setting=("steps_per_execution", "backend"))  # fmt: skip
    if train.profile_steps:
        raise DsbenchError("profile_steps records a TensorFlow or JAX profiler trace",
                           "use backend tensorflow or jax for a trace",
                           setting=("profile_steps", "backend"))  # fmt: skip


def versions() -> dict[str, Any]:
    import torch

    return {"torch": torch.__version__, "cuda": torch.version.cuda}


def gpus() -> list[dict[str, Any]]:
    import torch

    if not torch.cuda.is_available():
        return []
    return [{"name": f"cuda:{i}", "model": torch.cuda.get_device_name(i),
             "compute_capability": list(torch.cuda.get_device_capability(i))}
            for i in range(torch.cuda.device_count())]  # fmt: skip


def make_strategy(train: TrainSpec) -> LocalDevices:
    import torch

    return LocalDevices("default", ["gpu:0" if torch.cuda.is_available() else "cpu:0"], 1)


def device_line(described: dict[str, Any]) -> str:
    import torch

    from dsbench.backends import host

    kind = (host.gpu_kind(torch.cuda.get_device_name(0), torch.cuda.get_device_capability(0))
            if torch.cuda.is_available() else host.cpu_kind())  # fmt: skip
    return (f"device: {', '.join(described.get('devices', []))} ({kind}), PyTorch "
            f"{torch.__version__}, 1 replica")  # fmt: skip


def jit_compile(jit: bool | None) -> bool | str:
    """On PyTorch, jit means torch.compile (minutes of compiling on a first epoch): off unless asked."""
    return "auto" if jit is None else jit


def deterministic() -> None:
    import torch

    torch.use_deterministic_algorithms(True, warn_only=True)


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_memory() -> bool:
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    return True


def peak_memory_mib() -> float:
    import torch

    if not torch.cuda.is_available():
        return float("nan")
    return float(torch.cuda.max_memory_allocated()) / 2**20


def check_batches(train: TrainSpec, train_images: int, test_images: int, replicas: int) -> None:
    """One device: nothing to split."""


def profiler(log_dir: str, steps: tuple[int, int]) -> Any:
    """Refused up front (`refuse`): Keras on PyTorch has no trace dsbench can write."""
    raise DsbenchError("profile_steps is not available on backend torch", setting="profile_steps")
