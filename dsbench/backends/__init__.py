"""The Keras backend a run trains on (TensorFlow, JAX or PyTorch), behind one typed interface.

What differs between backends lives in one module or package each (tensorflow/, jax.py,
torch.py; the last two share keras3.py), and each provides every member of
`interface.Backend` (mypy checks all three, below); nothing else in dsbench imports a
framework (tests/test_architecture.py walks every module). host.py holds what is the same on
every backend: the CPU's name and the cores in use.

The backend is chosen once per process, before Keras is first imported: the `backend` setting
(flag or config), else KERAS_BACKEND, else TensorFlow.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import TYPE_CHECKING, cast

from dsbench.backends.interface import Backend
from dsbench.errors import DsbenchError
from dsbench.spec.settings import resolve_backend

PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
INSTALL = {
    "tensorflow": 'pip install "dsbench"',
    "jax": 'pip install "dsbench[jax]"',
    "torch": 'pip install "dsbench[torch]"',
}


def check_installed(name: str) -> None:
    """Refuse a backend whose package is missing, naming the install command."""
    if importlib.util.find_spec(PACKAGES[name]) is None:
        raise DsbenchError(
            f"backend {name} needs the {PACKAGES[name]} package, which is not installed",
            f"install it with: {INSTALL[name]}",
            setting="backend",
        )


def select(name: str) -> Backend:
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


def module(name: str) -> Backend:
    """The dsbench module for backend `name`."""
    return cast("Backend", importlib.import_module(f"dsbench.backends.{name}"))


def current() -> Backend:
    """The module of the backend Keras runs on in this process (TensorFlow if not started)."""
    if "keras" in sys.modules:
        import keras

        return module(keras.backend.backend())
    return module(resolve_backend(None))


def resolved_jit(jit: bool | None, backend: Backend) -> bool:
    """XLA on or off for a step dsbench compiles itself (bench): as given, or for jit "auto"
    (None) what Keras' own "auto" does in `model.compile`: on with JAX, elsewhere with a GPU."""
    if jit is not None:
        return jit
    return backend.NAME == "jax" or bool(backend.gpus())


if TYPE_CHECKING:  # mypy checks that each backend module provides every member of Backend
    from dsbench.backends import jax as _jax
    from dsbench.backends import tensorflow as _tensorflow
    from dsbench.backends import torch as _torch

    _CHECKED: tuple[Backend, ...] = (_tensorflow, _jax, _torch)
