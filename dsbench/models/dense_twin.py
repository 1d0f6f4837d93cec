"""The other direction (`--twin dense`): the dense twin of a network that is separable already
(MobileNet, Xception, your own), so that what its depthwise separable layers buy can be
measured against the same network built of full convolutions (the MobileNet paper's
"Conv MobileNet").

Each depthwise separable pair becomes one Conv2D: a SeparableConv2D(k), or a
DepthwiseConv2D(k) whose output, through at most a BatchNormalization and an activation, feeds
only a 1x1 Conv2D. The Conv2D has the pointwise layer's filters, bias and activation and the
depthwise layer's kernel, strides, padding and dilation; the normalization and activation
between the two are dropped, those after the pointwise kept. A DepthwiseConv2D with no such
partner becomes a Conv2D(k) with as many filters as it has input channels. What cannot be
fused (a depth multiplier above 1, a depthwise output used twice, a subclass) is kept and
named with the reason. The network is cloned (keras.models.clone_model); parameters are Keras'
own counts of the built twin.
"""

from __future__ import annotations

from typing import Any

from dsbench.errors import DsbenchError
from dsbench.models.twin import Twin, _flat

# Between a depthwise and its pointwise layer, at most one of each of these is dropped.
BETWEEN = ("BatchNormalization", "ReLU", "Activation")


def dense_twin(model: Any) -> Twin:
    """`model` with its depthwise separable layers as full Conv2D (see above); `swapped` names
    each Conv2D made and what it replaced ('conv_pw_1 = conv_dw_1 + conv_pw_1')."""
    import keras

    if isinstance(model, keras.Sequential):  # call_function needs a functional graph
        model = keras.Model(model.inputs, model.outputs, name=model.name)
    twin = Twin(None)
    fused, skipped, lone = _plan(model, twin)
    if not (fused or lone or any(_exactly(layer, "SeparableConv2D") for layer in _flat(model))):
        raise DsbenchError(
            f"arch: {model.name!r} has no depthwise separable layer to make dense "
            "(SeparableConv2D, or DepthwiseConv2D)",
            "twin dense is for a network that is separable already; leave it out to make "
            "your Conv2D separable",
            setting=("twin", "arch"),
        )
    originals = {layer.name: layer for layer in _flat(model)}

    def clone(layer: Any) -> Any:
        config = layer.get_config()
        if layer.name in fused:
            depthwise = originals[fused[layer.name][0]]
            return _conv(depthwise.get_config(), config["filters"], config, layer.name)
        if layer.name in lone:
            return _conv(config, _channels(originals[layer.name]), config, layer.name)
        if isinstance(layer, keras.layers.SeparableConv2D) and not _exactly(
            layer, "SeparableConv2D"
        ):  # a subclass: its own behaviour
            twin.kept.append((layer.name, f"{type(layer).__name__} is a subclass of "
                                          "SeparableConv2D"))  # fmt: skip
        elif _exactly(layer, "SeparableConv2D"):
            if config.get("depth_multiplier", 1) != 1:
                twin.kept.append((layer.name, f"depth multiplier {config['depth_multiplier']}"))
                return layer.__class__.from_config(config)
            twin.swapped.append(f"{layer.name} = {layer.name}")
            pointwise = {**config, "kernel_regularizer": config.get("pointwise_regularizer")}
            return _conv(config, config["filters"], pointwise, layer.name)
        return layer.__class__.from_config(config)

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        if layer.name in skipped:  # a depthwise layer fused into its pointwise, or between them
            return args[0]
        return layer(*args, **kwargs)

    twin.swapped += [f"{pw} = {' + '.join(chain)}" for pw, chain in fused.items()]
    twin.swapped += [f"{name} = {name}" for name in lone]
    try:
        twin.model = keras.models.clone_model(model, clone_function=clone, call_function=call,
                                              recursive=True)  # fmt: skip
    except Exception as err:
        raise DsbenchError(f"arch: the dense twin of {model.name!r} could not be built: "
                           f"{type(err).__name__}: {err}",
                           "a subclassed model cannot be cloned: build it with the functional or "
                           "Sequential API", setting=("twin", "arch")) from err  # fmt: skip
    return twin


def _plan(model: Any, twin: Twin) -> tuple[dict[str, list[str]], set[str], list[str]]:
    """(pointwise name -> the chain it replaces, the layers skipped, the lone depthwise
    layers that become Conv2D); what cannot be fused goes to twin.kept."""
    fused: dict[str, list[str]] = {}
    skipped: set[str] = set()
    lone: list[str] = []
    import keras

    for layer in _flat(model):
        if not isinstance(layer, keras.layers.DepthwiseConv2D):
            continue
        if not _exactly(layer, "DepthwiseConv2D"):
            twin.kept.append((layer.name, f"{type(layer).__name__} is a subclass of "
                                          "DepthwiseConv2D"))  # fmt: skip
            continue
        if layer.get_config().get("depth_multiplier", 1) != 1:
            twin.kept.append(
                (layer.name, f"depth multiplier {layer.get_config()['depth_multiplier']}")
            )
            continue
        if len(layer._inbound_nodes) != 1 or len(_consumers(layer)) > 1:
            twin.kept.append((layer.name, "its output is used more than once"))
            continue
        chain = [layer.name]
        partner = _pointwise_after(layer, chain)
        if partner is None:
            lone.append(layer.name)
            continue
        fused[partner.name] = [*chain, partner.name]
        skipped.update(chain)
    return fused, skipped, lone


def _pointwise_after(layer: Any, chain: list[str]) -> Any:
    """The 1x1 Conv2D that alone reads `layer`'s output through at most one of each BETWEEN
    layer (added to `chain`), or None."""
    seen: set[str] = set()
    current = layer
    while True:
        consumers = _consumers(current)
        if len(consumers) != 1 or len(consumers[0]._inbound_nodes) != 1:
            return None
        after = consumers[0]
        kind = type(after).__name__
        if _exactly(after, "Conv2D"):
            config = after.get_config()
            one = tuple(config["kernel_size"]) == (1, 1) and tuple(config["strides"]) == (1, 1)
            return after if one and config.get("groups", 1) == 1 else None
        group = "normalization" if kind == "BatchNormalization" else "activation"
        if kind not in BETWEEN or group in seen:
            return None
        seen.add(group)
        chain.append(after.name)
        current = after


def _conv(spatial: dict[str, Any], filters: int, pointwise: dict[str, Any], name: str) -> Any:
    """A Conv2D with `spatial`'s kernel, strides, padding and dilation and `pointwise`'s
    activation, bias and regularizers."""
    import keras

    return keras.layers.Conv2D(
        filters, tuple(spatial["kernel_size"]), strides=spatial["strides"],
        padding=spatial["padding"], data_format=spatial.get("data_format"),
        dilation_rate=spatial["dilation_rate"], activation=pointwise["activation"],
        use_bias=pointwise["use_bias"], kernel_regularizer=pointwise.get("kernel_regularizer"),
        bias_regularizer=pointwise.get("bias_regularizer"),
        activity_regularizer=pointwise.get("activity_regularizer"), name=name,
        dtype=pointwise.get("dtype"),
    )  # fmt: skip


def _consumers(layer: Any) -> list[Any]:
    return [node.operation for node in layer._outbound_nodes]


def _exactly(layer: Any, name: str) -> bool:
    import keras

    return type(layer) is getattr(keras.layers, name)


def _channels(layer: Any) -> int:
    return int(layer.input.shape[-1])
