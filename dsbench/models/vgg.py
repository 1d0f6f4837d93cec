"""The two VGG-style models from one spec, and their analytic per-layer cost.

`layer_costs` needs no TensorFlow: it computes output shapes, parameters and
multiply-accumulates (MACs) for one image's forward pass from the spec alone.
`build` makes the Keras model; tests check that both agree on every layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dsbench.spec.settings import KINDS, ModelSpec

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class LayerCost:
    """One layer's analytic cost for a single image (MACs, not FLOPs: FLOPs ~ 2 x MACs)."""

    name: str
    layer_type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    activations: int  # values the layer writes, intermediates included: a memory-traffic proxy
    # A separable conv's two halves: (name, type, params, MACs) of its depthwise k x k conv and
    # its pointwise 1x1 conv (with the bias), which add up to the layer's figures.
    parts: tuple[tuple[str, str, int, int], ...] = ()


def layer_costs(spec: ModelSpec, kind: str) -> list[LayerCost]:
    """Analytic per-layer output shape, params and MACs of the `kind` model for one image."""
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}")
    height, width, channels = spec.input_shape
    k2 = spec.kernel_size**2
    layers: list[LayerCost] = []
    for b, (filters, convs) in enumerate(spec.blocks, start=1):
        for c in range(1, convs + 1):
            written = height * width * filters
            parts: tuple[tuple[str, str, int, int], ...] = ()
            if kind == "normal":
                params = k2 * channels * filters + filters
                macs = height * width * channels * filters * k2
                layer_type = "Conv2D"
            else:  # depthwise (k x k per input channel) then pointwise 1x1, one bias
                parts = (
                    ("depthwise", "DepthwiseConv2D", k2 * channels, height * width * channels * k2),
                    ("pointwise", "Conv2D 1x1", channels * filters + filters,
                     height * width * channels * filters),
                )  # fmt: skip
                params, macs = sum(p[2] for p in parts), sum(p[3] for p in parts)
                layer_type = "SeparableConv2D"
                written += height * width * channels  # the depthwise output between the two
            channels = filters
            layers.append(
                LayerCost(
                    f"block{b}_conv{c}",
                    layer_type,
                    (height, width, channels),
                    params,
                    macs,
                    written,
                    parts,
                )
            )
        height, width = height // 2, width // 2
        pooled = (height, width, channels)
        layers.append(
            LayerCost(f"block{b}_pool", "MaxPooling2D", pooled, 0, 0, height * width * channels)
        )
    flat = height * width * channels
    layers.append(LayerCost("flatten", "Flatten", (flat,), 0, 0, 0))  # a view: nothing written
    layers.append(
        LayerCost(
            "predictions",
            "Dense",
            (spec.num_classes,),
            flat * spec.num_classes + spec.num_classes,
            flat * spec.num_classes,
            spec.num_classes,
        )
    )
    return layers


def total_macs(spec: ModelSpec, kind: str) -> int:
    """Forward-pass MACs per image (of the layers dsbench counts, for your own --arch)."""
    if spec.arch:
        return int(arch_rows(spec)[kind]["macs_per_image"])
    return sum(layer.macs for layer in layer_costs(spec, kind))


def total_params(spec: ModelSpec, kind: str) -> int:
    """Trainable parameters, counted analytically (Keras agrees: see tests/test_models.py)."""
    if spec.arch:
        return int(arch_rows(spec)[kind]["params"])
    return sum(layer.params for layer in layer_costs(spec, kind))


_ARCH_ROWS: dict[ModelSpec, dict[str, dict[str, Any]]] = {}


def arch_rows(spec: ModelSpec) -> dict[str, dict[str, Any]]:
    """Both models' rows of arch.describe for a spec with --arch, built once per spec."""
    if spec not in _ARCH_ROWS:
        _ARCH_ROWS[spec] = {row["model"]: row for row in describe(spec, KINDS)[0]}
    return _ARCH_ROWS[spec]


def build(spec: ModelSpec, kind: str, precision: str | None = None) -> keras.Model:
    """Build the uncompiled `normal` (Conv2D) or `separable` (SeparableConv2D) VGG model.

    Inputs may be uint8 or float; the first layer casts them to the compute dtype.
    The softmax output stays float32 under mixed precision, for a stable loss.
    `precision` (a Keras dtype policy) applies to this model only; Keras' global policy is
    restored afterwards.
    """
    import keras

    if precision is None:
        return _build(spec, kind)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        return _build(spec, kind)
    finally:
        keras.config.set_dtype_policy(previous)


def _build(spec: ModelSpec, kind: str) -> keras.Model:
    import keras

    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}")
    if spec.arch:  # your own network, or its separable twin
        from dsbench.models import twin as arch

        model = arch.build_user(spec.arch, spec.input_shape, spec.num_classes,
                                dict(spec.arch_options))  # fmt: skip
        if spec.twin == "dense":  # yours is the separable model, its dense twin the normal one
            from dsbench.models.dense_twin import dense_twin

            return model if kind == "separable" else dense_twin(model).model
        return model if kind == "normal" else arch.separable_twin(model, spec.depthwise_init).model
    conv = keras.layers.Conv2D if kind == "normal" else keras.layers.SeparableConv2D
    options = {}
    if kind == "separable" and spec.depthwise_init == "corrected":
        # Glorot uniform with fan_in = fan_out = k*k (each depthwise output sums k*k inputs
        # of one channel): keeps the activation variance from layer to layer.
        limit = math.sqrt(3.0) / spec.kernel_size
        options["depthwise_initializer"] = keras.initializers.RandomUniform(-limit, limit)
    inputs = keras.Input(shape=spec.input_shape, name="image")
    x = inputs
    for b, (filters, convs) in enumerate(spec.blocks, start=1):
        for c in range(1, convs + 1):
            x = conv(
                filters,
                spec.kernel_size,
                padding="same",
                activation="relu",
                name=f"block{b}_conv{c}",
                **options,
            )(x)
        x = keras.layers.MaxPooling2D(2, strides=2, name=f"block{b}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(
        spec.num_classes, activation="softmax", dtype="float32", name="predictions"
    )(x)
    return keras.Model(inputs, outputs, name=f"{kind}_vgg")


def describe(
    spec: ModelSpec, kinds: tuple[str, ...] = KINDS
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-model and per-layer facts, analytic only (no TensorFlow): (models, layers) rows.

    A model row has params, macs_per_image, flops_per_image (2 x MACs),
    activations_per_image and params/MACs as ratios to the normal model of the same spec
    (even when only the separable model is shown). A layer row has its params and MACs, and a
    separable layer those of its two halves too (depthwise_params, depthwise_macs,
    pointwise_params, pointwise_macs). Tests check every count against Keras.
    """
    if spec.arch:  # your own network: built (Keras) and costed layer by layer
        from dsbench.models import costs as built

        return built.describe(spec.arch, spec.input_shape, spec.num_classes, kinds,
                             spec.depthwise_init, dict(spec.arch_options), spec.twin)  # fmt: skip
    model_rows: list[dict[str, Any]] = []
    layer_rows: list[dict[str, Any]] = []
    for kind in kinds:
        costs = layer_costs(spec, kind)
        for cost in costs:
            row: dict[str, Any] = {"model": kind, "layer": cost.name, "type": cost.layer_type,
                   "output_shape": "x".join(map(str, cost.output_shape)),
                   "params": cost.params, "macs": cost.macs}  # fmt: skip
            for name, _, params, macs in cost.parts:  # a separable layer's two halves
                row[f"{name}_params"], row[f"{name}_macs"] = params, macs
            layer_rows.append(row)
        macs = sum(c.macs for c in costs)
        model_rows.append(
            {
                "model": kind,
                "params": sum(c.params for c in costs),
                "macs_per_image": macs,
                "flops_per_image": 2 * macs,
                "activations_per_image": sum(c.activations for c in costs),
            }
        )
    normal_params = total_params(spec, "normal")
    normal_macs = total_macs(spec, "normal")
    for row in model_rows:
        row["params_ratio"] = row["params"] / normal_params
        row["macs_ratio"] = row["macs_per_image"] / normal_macs
    return model_rows, layer_rows
