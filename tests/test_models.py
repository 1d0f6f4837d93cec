"""The two models: exact parameter counts, analytic costs that agree with Keras, MACs by hand."""

from __future__ import annotations

import pytest

from dsbench.models.vgg import build, describe, layer_costs, total_macs
from dsbench.spec.settings import ModelSpec

REFERENCE = ModelSpec()


@pytest.mark.tf
def test_reference_parameter_counts_are_exact() -> None:
    assert build(REFERENCE, "normal").count_params() == 1_186_378
    assert build(REFERENCE, "separable").count_params() == 174_821


@pytest.mark.tf
def test_models_use_the_right_layer_types() -> None:
    normal = [type(layer).__name__ for layer in build(REFERENCE, "normal").layers]
    separable = [type(layer).__name__ for layer in build(REFERENCE, "separable").layers]
    assert normal.count("Conv2D") == 6 and "SeparableConv2D" not in normal
    assert separable.count("SeparableConv2D") == 6 and "Conv2D" not in separable
    assert normal.count("MaxPooling2D") == 3 and normal[-2:] == ["Flatten", "Dense"]


@pytest.mark.tf
@pytest.mark.parametrize(
    "spec",
    [
        REFERENCE,
        ModelSpec(kernel_size=5),
        ModelSpec(blocks=((32, 3), (48, 1))),
        ModelSpec(blocks=((8, 1),) * 5, kernel_size=7),
    ],
)
@pytest.mark.parametrize("kind", ["normal", "separable"])
def test_analytic_params_and_shapes_agree_with_keras(spec: ModelSpec, kind: str) -> None:
    model = build(spec, kind)
    layers = [layer for layer in model.layers if layer.name != "image"]
    costs = layer_costs(spec, kind)
    assert [c.name for c in costs] == [layer.name for layer in layers]
    assert [c.params for c in costs] == [layer.count_params() for layer in layers]
    assert [c.output_shape for c in costs] == [tuple(layer.output.shape[1:]) for layer in layers]


def test_macs_by_hand_for_one_layer_of_each_kind() -> None:
    normal = {c.name: c for c in layer_costs(REFERENCE, "normal")}
    separable = {c.name: c for c in layer_costs(REFERENCE, "separable")}
    # conv: H*W*Cin*Cout*k^2 ; block2_conv1 sees 16x16x64 and makes 128 channels
    assert normal["block2_conv1"].macs == 16 * 16 * 64 * 128 * 9
    # separable: depthwise H*W*Cin*k^2 + pointwise H*W*Cin*Cout
    assert separable["block2_conv1"].macs == 16 * 16 * 64 * 9 + 16 * 16 * 64 * 128
    assert separable["block1_conv1"].params == 283
    # dense: in*out
    assert normal["predictions"].macs == 4 * 4 * 256 * 10
    # activations written: a separable layer also writes its depthwise output
    assert normal["block1_conv2"].activations == 32 * 32 * 64
    assert separable["block1_conv2"].activations == 32 * 32 * 64 + 32 * 32 * 64


def test_total_macs_match_an_independent_flop_count() -> None:
    # TF's profiler on a frozen batch-1 graph counts 305,954,876 and 36,935,740 FLOPs: 2 x MACs
    # plus 344,124 for BiasAdd, MaxPool and Softmax, which MACs leave out.
    assert 2 * total_macs(REFERENCE, "normal") + 344_124 == 305_954_876
    assert 2 * total_macs(REFERENCE, "separable") + 344_124 == 36_935_740


def test_describe_ratios_are_relative_to_the_normal_model() -> None:
    models, layers = describe(REFERENCE)
    rows = {row["model"]: row for row in models}
    assert rows["normal"]["params_ratio"] == 1.0
    assert rows["separable"]["params_ratio"] == pytest.approx(174_821 / 1_186_378)
    assert rows["separable"]["macs_ratio"] == pytest.approx(18_295_808 / 152_805_376)
    assert {kind: sum(r["params"] for r in layers if r["model"] == kind) for kind in rows} == {
        "normal": 1_186_378,
        "separable": 174_821,
    }
    # only the separable model shown: its ratios are still to the normal model
    (alone,), _ = describe(REFERENCE, ("separable",))
    assert alone["params_ratio"] == rows["separable"]["params_ratio"]


@pytest.mark.tf
@pytest.mark.parametrize(
    "spec",
    [
        REFERENCE,
        ModelSpec(kernel_size=5),
        ModelSpec(kernel_size=7),
        ModelSpec(blocks=((32, 3), (48, 1)), kernel_size=1),
    ],
)
def test_describe_counts_agree_with_keras(spec: ModelSpec) -> None:
    models, _ = describe(spec)
    for row in models:
        assert row["params"] == build(spec, row["model"]).count_params()
