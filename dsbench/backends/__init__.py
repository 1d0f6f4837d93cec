"""The Keras backend a run trains on (TensorFlow, JAX or PyTorch), behind one small interface.

What differs between backends lives in one module each (tensorflow.py, jax.py, torch.py; the
last two share keras3.py); nothing else in dsbench imports a framework directly. Every module
provides the same names:

    NAME, PACKAGE                     the backend's name and the package it needs
    start(verbose, multiworker)       import Keras on this backend, quietly
    refuse(train)                     raise DsbenchError for a setting it cannot honour
    versions() -> dict                framework versions for environment.json
    gpus() -> list[dict]              the accelerators it sees
    make_strategy(train)              the object models are built under (.scope(), replicas)
    describe(strategy) -> dict        strategy name, replicas, devices
    check_batches(train, n, m, replicas)  refuse batches the strategy cannot split
    device_line(described) -> str     'device: ... (CPU: ...), JAX 0.10.2, 1 replica'
    is_chief(), is_multiworker(s)     who writes results; whether fit can be used
    jit_compile(jit)                  what model.compile gets for the jit setting
    deterministic()                   make ops deterministic where the backend can
    sync(), peak_memory_mib()         wait for the device; its peak memory so far
    reset_memory() -> bool            reset that peak (False where it cannot be: JAX)
    Probe                             the calibration probe (a timed matmul)
    feed(x, y, batch, rescale=, order=, drop_remainder=)   batches for model.fit
    Stepper, predictor(model, jit)    bench's steps and inference's forward pass
    tensorboard(dir), profiler(dir, steps)   --tensorboard's scalars, --profile-steps' trace

The backend is chosen once per process, before Keras is first imported: the `backend` setting
(flag or config), else KERAS_BACKEND, else TensorFlow.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

from dsbench.errors import DsbenchError
from dsbench.spec.settings import resolve_backend

PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
INSTALL = {
    "tensorflow": 'pip install "dsbench"',
    "jax": 'pip install "dsbench[jax]"',
    "torch": 'pip install "dsbench[torch]"',
}
NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def check_installed(name: str) -> None:
    """Refuse a backend whose package is missing, naming the install command."""
    if importlib.util.find_spec(PACKAGES[name]) is None:
        raise DsbenchError(
            f"backend {name} needs the {PACKAGES[name]} package, which is not installed",
            f"install it with: {INSTALL[name]}",
            setting="backend",
        )


def select(name: str) -> ModuleType:
    """Make `name` this process's Keras backend (before Keras is imported) and return its module.

    Keras reads KERAS_BACKEND once, when first imported: a process that already imported
    Keras on another backend cannot switch, and says so."""
    check_installed(name)
    if "keras" in sys.modules:
        import keras

        current = keras.backend.backend()
        if current != name:
            raise DsbenchError(
                f"Keras is already running on {current} in this process, not {name}",
                "start a new Python process (or set KERAS_BACKEND before importing keras)",
                setting="backend",
            )
    os.environ["KERAS_BACKEND"] = name
    return module(name)


def module(name: str) -> ModuleType:
    """The dsbench module for backend `name`."""
    return importlib.import_module(f"dsbench.backends.{name}")


def current() -> ModuleType:
    """The module of the backend Keras runs on in this process (TensorFlow if not started)."""
    if "keras" in sys.modules:
        import keras

        return module(keras.backend.backend())
    return module(resolve_backend(None))


def resolved_jit(jit: bool | None, backend: ModuleType) -> bool:
    """XLA on or off for a step dsbench compiles itself (bench): as given, or for jit "auto"
    (None) what Keras' own "auto" does in `model.compile`: on with JAX, elsewhere with a GPU."""
    if jit is not None:
        return jit
    return backend.NAME == "jax" or bool(backend.gpus())
