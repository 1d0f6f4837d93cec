"""The runtimes deployed models run in: LiteRT's interpreter (`ai-edge-litert`) for .tflite
files and ONNX Runtime's CPU provider for .onnx files, each opened with a number of threads and
called one image at a time (batch 1, as on a phone) or over a test set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dsbench.errors import DsbenchError

INSTALL = 'pip install "dsbench[deploy]"'


def check_installed() -> None:
    """One line naming the install command when a runtime, or Keras' ONNX exporter, is missing."""
    import importlib.util

    missing = [name for name in ("ai_edge_litert", "onnxruntime", "tf2onnx", "onnx")
               if importlib.util.find_spec(name) is None]  # fmt: skip
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise DsbenchError(f"deploy needs {', '.join(missing)}, which {verb} not installed",
                           f"install them: {INSTALL}")  # fmt: skip


def versions() -> dict[str, str]:
    """The runtimes' versions, for environment.json."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("ai-edge-litert", "onnxruntime", "tf2onnx", "onnx"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


@dataclass
class Runtime:
    """One exported model opened in its runtime: `run(batch)` returns the class scores."""

    path: Path
    threads: int
    run: Callable[[np.ndarray], np.ndarray]


def open_runtime(path: Path, threads: int) -> Runtime:
    """A .tflite file in LiteRT's interpreter or an .onnx file in ONNX Runtime (CPU), with
    `threads` intra-op threads."""
    if path.suffix == ".tflite":
        return Runtime(path, threads, _litert(path, threads))
    return Runtime(path, threads, _onnx(path, threads))


def _litert(path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    from dsbench.backends.host import quiet_native_output

    with quiet_native_output():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
        interpreter.invoke()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    shape: list[Any] = [list(source["shape"])]

    def run(batch: np.ndarray) -> np.ndarray:
        if list(batch.shape) != shape[0]:  # the interpreter is sized per batch shape
            interpreter.resize_tensor_input(source["index"], list(batch.shape))
            interpreter.allocate_tensors()
            shape[0] = list(batch.shape)
        interpreter.set_tensor(source["index"], batch.astype(source["dtype"], copy=False))
        interpreter.invoke()
        return np.asarray(interpreter.get_tensor(target["index"]))

    return run


def _onnx(path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    loaded = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = loaded.get_inputs()[0].name

    def run(batch: np.ndarray) -> np.ndarray:
        return np.asarray(loaded.run(None, {name: batch.astype(np.float32, copy=False)})[0])

    return run


def predict(runtime: Runtime, images: np.ndarray, batch: int = 50) -> np.ndarray:
    """Class indices for `images`, `batch` at a time."""
    out = [runtime.run(images[start:start + batch]).argmax(axis=-1)
           for start in range(0, len(images), batch)]  # fmt: skip
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
