"""What every backend provides: the `Backend` protocol that tensorflow/, jax.py and torch.py
each satisfy as a module (mypy checks all three against it, in backends/__init__.py), and the
small protocols of what its factories return. No framework imported here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from dsbench.spec.settings import TrainSpec


class Strategy(Protocol):
    """What models are built under: tf.distribute's strategies, or LocalDevices elsewhere."""

    @property
    def num_replicas_in_sync(self) -> int: ...

    def scope(self) -> Any: ...


class Probe(Protocol):
    """The calibration probe: a fixed float32 matmul, its rate in GFLOP/s."""

    def rate(self) -> float: ...


class Stepper(Protocol):
    """One model's compiled step on a fixed batch, as bench times it."""

    def run(self, steps: int) -> float: ...


class Backend(Protocol):
    """One Keras backend: how it starts, what it refuses, what it reports, and what it feeds.

    A module is the implementation: its module-level names are these members."""

    NAME: str
    PACKAGE: str

    def start(self, verbose: bool = False, multiworker: bool = False) -> None:
        """Import Keras on this backend, quietly."""

    def refuse(self, train: TrainSpec) -> None:
        """Raise DsbenchError for a setting this backend cannot honour."""

    def versions(self) -> dict[str, Any]:
        """Framework versions for environment.json."""
        ...

    def gpus(self) -> list[dict[str, Any]]:
        """The accelerators this backend sees."""
        ...

    def make_strategy(self, train: TrainSpec) -> Any:
        """The object models are built under (.scope(), .num_replicas_in_sync)."""

    def describe(self, strategy: Any) -> dict[str, Any]:
        """Strategy name, replicas, workers, devices."""
        ...

    def check_batches(self, train: TrainSpec, train_images: int, test_images: int,
                      replicas: int) -> None:  # fmt: skip
        """Refuse batches the strategy cannot split."""

    def device_line(self, described: dict[str, Any]) -> str:
        """'device: ... (CPU: ...), JAX 0.10.2, 1 replica' for the log."""
        ...

    def is_chief(self) -> bool:
        """Whether this process writes results."""
        ...

    def is_multiworker(self, strategy: Any) -> bool:
        """Whether training needs the custom loop instead of model.fit."""
        ...

    def jit_compile(self, jit: bool | None) -> bool | str:
        """What model.compile gets for the jit setting."""
        ...

    def deterministic(self) -> None:
        """Make ops deterministic where the backend can."""

    def sync(self) -> None:
        """Wait for the device."""

    def peak_memory_mib(self) -> float:
        """The device's peak memory so far (NaN where unknown)."""
        ...

    def reset_memory(self) -> bool:
        """Reset that peak; False where it cannot be reset."""
        ...

    def Probe(self) -> Probe:
        """A started calibration probe."""
        ...

    def feed(self, x: np.ndarray, y: np.ndarray, batch: int, *, rescale: bool,
             order: np.ndarray | None, drop_remainder: bool) -> Any:  # fmt: skip
        """Batches of `x[order]` for model.fit."""

    def Stepper(self, model: Any, x: Any, y: Any, mode: str, jit: bool) -> Stepper:
        """Bench's compiled step of `model` ("train" or "infer")."""
        ...

    def predictor(self, model: Any, jit: bool) -> Any:
        """Inference's compiled forward pass, returning host arrays."""

    def tensorboard(self, log_dir: str) -> Any:
        """--tensorboard's per-epoch scalars, as a Keras callback."""

    def profiler(self, log_dir: str, steps: tuple[int, int]) -> Any:
        """--profile-steps' trace, as a Keras callback."""

    def export(self, model: Any, path: Path, form: str, precision: str,
               representative: np.ndarray) -> None:  # fmt: skip
        """`deploy`: write `model` as `form` (litert, onnx) at `precision` (float32,
        dynamic_int8, int8), int8 activations calibrated on `representative` images."""

    def custom_trainer(self, model: Any, strategy: Any, validation: Any,
                       images: tuple[np.ndarray, np.ndarray], *, train: TrainSpec, rescale: bool,
                       seed: int, steps: int) -> Any:  # fmt: skip
        """The training loop on strategy.run over shuffled `images`, for a strategy model.fit
        cannot use (is_multiworker); refused where there is none."""
