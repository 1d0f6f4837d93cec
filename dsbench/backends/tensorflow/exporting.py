"""`deploy`'s exports on TensorFlow: a Keras model as LiteRT (float32, dynamic-range int8
weights, full-integer int8 calibrated on representative images) and as ONNX (float32), through
Keras' own `model.export`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


def export(model: Any, path: Path, form: str, precision: str, representative: np.ndarray) -> None:
    """Write `model` to `path` in `form` ("litert" or "onnx") at `precision`; `representative`
    (float32 images, preprocessed as in training) calibrates the int8 activations."""
    import warnings

    import tensorflow as tf

    from dsbench.backends.host import quiet_native_output

    with warnings.catch_warnings(), quiet_native_output():
        warnings.simplefilter("ignore", FutureWarning)  # tf2onnx on numpy 2
        _export(model, path, form, precision, representative, tf)


def _export(model: Any, path: Path, form: str, precision: str, representative: np.ndarray,
            tf: Any) -> None:  # fmt: skip
    if form == "onnx":
        model.export(str(path), format="onnx", verbose=False)
        return
    options: dict[str, Any] = {}
    if precision in ("dynamic_int8", "int8"):
        options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    if precision == "int8":

        def images() -> Iterator[list[np.ndarray]]:
            for image in representative:
                yield [image[np.newaxis].astype(np.float32)]

        options["representative_dataset"] = images
        options["target_spec"] = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]}
    model.export(str(path), format="litert", verbose=False, **options)
