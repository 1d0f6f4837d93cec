"""What a built network costs, layer by layer (parameters by Keras' own count, analytic MACs,
the values each layer writes), and models.describe's rows for your own network and its twin,
in either direction (twin.py: separable, dense_twin.py: dense)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dsbench.models.dense_twin import dense_twin
from dsbench.models.twin import _flat, build_user, separable_twin

if TYPE_CHECKING:
    import keras


def built_layer_costs(model: keras.Model) -> list[dict[str, Any]]:
    """A row per layer: name, type, output shape, Keras' parameter count, analytic MACs for
    one image (None where dsbench does not cost the layer type; separable layers also their
    depthwise and pointwise halves) and the values it writes (activations)."""
    import keras

    rows: list[dict[str, Any]] = []
    for layer in _flat(model):
        shape = _output_shape(layer)
        spatial = math.prod(shape[:-1]) if shape else 0
        config = layer.get_config()
        # values the layer writes (as dsbench counts them for its VGG): its output, a view
        # (Flatten, Reshape) nothing, a separable conv its depthwise output too
        view = isinstance(layer, (keras.layers.Flatten, keras.layers.Reshape))
        row: dict[str, Any] = {"layer": layer.name, "type": type(layer).__name__,
                               "output_shape": "x".join(str(v) for v in shape),
                               "params": int(layer.count_params()), "macs": 0,
                               "activations": 0 if view or not shape else math.prod(shape)}  # fmt: skip
        if isinstance(layer, keras.layers.SeparableConv2D):
            k = math.prod(config["kernel_size"])
            channels = _input_channels(layer)
            multiplier = config.get("depth_multiplier", 1)
            row["depthwise_macs"] = spatial * channels * multiplier * k
            row["pointwise_macs"] = spatial * channels * multiplier * config["filters"]
            row["depthwise_params"] = channels * multiplier * k
            row["pointwise_params"] = row["params"] - row["depthwise_params"]
            row["macs"] = row["depthwise_macs"] + row["pointwise_macs"]
            row["activations"] += spatial * channels * multiplier
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            k = math.prod(config["kernel_size"])
            row["macs"] = spatial * _input_channels(layer) * config.get("depth_multiplier", 1) * k
        elif isinstance(layer, keras.layers.Conv2D):
            k = math.prod(config["kernel_size"])
            groups = config.get("groups", 1)
            row["macs"] = spatial * config["filters"] * k * _input_channels(layer) // groups
        elif isinstance(layer, keras.layers.Conv2DTranspose):  # each input value, scattered
            k = math.prod(config["kernel_size"])
            inputs = math.prod(int(v) for v in layer.input.shape[1:])
            row["macs"] = inputs * k * config["filters"]
        elif isinstance(layer, keras.layers.Dense):
            row["macs"] = spatial * config["units"] * _input_channels(layer)
        elif row["params"] and not isinstance(layer, keras.layers.BatchNormalization):
            row["macs"] = None  # weights dsbench does not know how to cost
        rows.append(row)
    return rows


def _output_shape(layer: Any) -> tuple[int, ...]:
    """One image's output shape (batch dimension dropped)."""
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return ()
    return tuple(int(v) for v in shape[1:] if v is not None)


def _input_channels(layer: Any) -> int:
    shape = layer.input.shape
    return int(shape[-1])


def describe(arch: str | Callable[..., Any], input_shape: tuple[int, ...], num_classes: int,
             kinds: tuple[str, ...], depthwise_init: str = "corrected",
             options: Mapping[str, Any] | None = None, direction: str = "separable",
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """models.describe's rows for the user's model and its twin (`direction`: separable, or
    dense: models/dense_twin.py): per model params, MACs (None when a layer is not counted),
    and per layer; the twin's layers say which were swapped."""
    user = build_user(arch, input_shape, num_classes, options)
    if direction == "dense":
        twin, made = dense_twin(user), "normal"
        built = {"normal": twin.model, "separable": user}
    else:
        twin, made = separable_twin(user, depthwise_init), "separable"
        built = {"normal": user, "separable": twin.model}
    # the layers made: their names, and for the dense twin what each was made of
    made_of = {entry.split(" = ")[0]: entry.partition(" = ")[2] for entry in twin.swapped}
    model_rows, layer_rows = [], []
    costs = {kind: built_layer_costs(built[kind]) for kind in ("normal", "separable")}
    totals = {kind: _totals(rows) for kind, rows in costs.items()}
    for kind in kinds:
        params, macs, uncounted = totals[kind]
        model_rows.append({"model": kind, "params": params, "macs_per_image": macs,
                           "flops_per_image": 2 * macs,
                           "activations_per_image": sum(r["activations"] for r in costs[kind]),
                           "params_ratio": params / totals["normal"][0],
                           "macs_ratio": macs / totals["normal"][1] if totals["normal"][1]
                           else None,
                           "not_counted": uncounted, "swapped": len(twin.swapped),
                           "kept": [f"{name}: {why}" for name, why in twin.kept]})  # fmt: skip
        for row in costs[kind]:
            swapped = kind == made and row["layer"] in made_of
            layer_rows.append({"model": kind, **row, **({"swapped": True} if swapped else {}),
                               **({"made_of": made_of[row["layer"]]}
                                  if swapped and made_of[row["layer"]] else {})})  # fmt: skip
    return model_rows, layer_rows


def _totals(rows: list[dict[str, Any]]) -> tuple[int, int, list[str]]:
    """(params, MACs of the layers counted, the layers not counted)."""
    uncounted = [row["layer"] for row in rows if row["macs"] is None]
    macs = sum(row["macs"] for row in rows if row["macs"] is not None)
    return sum(row["params"] for row in rows), macs, uncounted
