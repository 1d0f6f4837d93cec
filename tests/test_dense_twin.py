"""`--twin dense`: the dense twin of a network that is separable already, checked layer by
layer on a small network and against the MobileNet paper's Table 4 (Conv MobileNet)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import dsbench
from dsbench.errors import DsbenchError

HERE = Path(__file__).resolve().parent


def small(input_shape: tuple[int, ...], num_classes: int) -> Any:
    """A stem, a depthwise/BN/ReLU/pointwise pair, a lone depthwise, a SeparableConv2D, a
    depthwise read twice and one with a depth multiplier of 2."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(8, 3, padding="same", name="stem")(inputs)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False, name="dw1")(x)
    x = layers.BatchNormalization(name="dw1_bn")(x)
    x = layers.ReLU(name="dw1_relu")(x)
    x = layers.Conv2D(16, 1, use_bias=False, name="pw1")(x)
    x = layers.BatchNormalization(name="pw1_bn")(x)
    x = layers.DepthwiseConv2D(3, padding="same", name="lone")(x)
    x = layers.SeparableConv2D(24, 5, padding="same", activation="relu", name="sep")(x)
    twice = layers.DepthwiseConv2D(3, padding="same", name="twice")(x)
    x = layers.Add()([layers.Conv2D(24, 1, name="pw_a")(twice), twice])
    x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="mult")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(num_classes, name="head")(x), name="small")


@pytest.mark.tf
def test_each_separable_pair_becomes_one_conv_and_the_rest_says_why_not() -> None:
    rows = {r["model"]: r for r in dsbench.summary(arch=small, input_shape=[16, 16, 3],
                                                    num_classes=4, twin="dense").to_dict("records")}  # fmt: skip
    separable, dense = rows["separable"], rows["normal"]
    stem, head = 3 * 3 * 3 * 8 + 8, 48 * 4 + 4
    bn = 4 * 8 + 4 * 16  # dw1_bn, pw1_bn
    mine = (stem + 3 * 3 * 8 + bn + 8 * 16 + 3 * 3 * 16 + 16 + (5 * 5 * 16 + 16 * 24 + 24)
            + (9 * 24 + 24) + (24 * 24 + 24) + (9 * 24 * 2 + 48) + head)  # fmt: skip
    assert separable["params"] == mine
    # dw1 + dw1_bn + dw1_relu + pw1 -> one 3x3 conv 8->16, strides 2, no bias (pw1's); the
    # normalization after pw1 stays, the one between goes; lone -> a 3x3 conv 16->16 with bias
    fused = 3 * 3 * 8 * 16 + 4 * 16 + (3 * 3 * 16 * 16 + 16) + (5 * 5 * 16 * 24 + 24)
    kept = (9 * 24 + 24) + (24 * 24 + 24) + (9 * 24 * 2 + 48)
    assert dense["params"] == stem + fused + kept + head
    assert dense["swapped"] == 3
    assert dense["kept"] == ["twice: its output is used more than once", "mult: depth multiplier 2"]
    layers = dsbench.layers(arch=small, input_shape=[16, 16, 3], num_classes=4, twin="dense",
                            model="normal")  # fmt: skip
    made = layers[layers["swapped"].fillna(False).astype(bool)]
    assert made["layer"].tolist() == ["pw1", "lone", "sep"]
    assert (made["type"] == "Conv2D").all()
    with pytest.raises(DsbenchError, match="has no depthwise separable layer to make dense"):
        dsbench.summary(arch=f"{HERE.parent / 'examples' / 'resnet_cifar.py'}:build", twin="dense")
    with pytest.raises(DsbenchError, match="and no arch was given"):
        dsbench.summary(twin="dense")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("alpha", "paper_params", "paper_macs", "dense_params", "dense_macs"),
    [(1.0, 4.2e6, 569e6, 29.3e6, 4866e6), (0.5, 1.3e6, 149e6, None, None)],
)
def test_mobilenet_and_its_dense_twin_are_the_paper_s_rows(
    alpha: float, paper_params: float, paper_macs: float, dense_params: Any, dense_macs: Any
) -> None:
    # arXiv 1704.04861, Table 4 (Conv MobileNet against MobileNet) and Table 6 (width 0.5)
    rows = dsbench.summary(arch="keras.applications.MobileNet", input_shape=[224, 224, 3],
                           num_classes=1000, arch_options=f"alpha={alpha}", twin="dense")  # fmt: skip
    by_model = rows.set_index("model")
    assert by_model.loc["separable", "params"] == pytest.approx(paper_params, rel=0.04)
    assert by_model.loc["separable", "macs_per_image"] == pytest.approx(paper_macs, rel=0.02)
    if dense_params is not None:
        assert by_model.loc["normal", "params"] == pytest.approx(dense_params, rel=0.02)
        assert by_model.loc["normal", "macs_per_image"] == pytest.approx(dense_macs, rel=0.02)
    assert by_model.loc["normal", "swapped"] == 13 and by_model.loc["normal", "kept"] == []


def test_a_baseline_of_the_other_direction_is_not_compared() -> None:
    from dsbench.measure.baseline import differences

    mobilenet = {"arch": "keras.applications.MobileNet"}
    # an older folder records no twin: it made the separable twin
    assert differences({"model": {**mobilenet, "twin": "dense"}}, {"model": mobilenet}) == [
        "twin 'separable' -> 'dense'"
    ]


@pytest.mark.slow
def test_compare_trains_your_separable_network_against_its_dense_twin(tmp_path: Path) -> None:
    settings = dict(arch=small, input_shape=[16, 16, 3], twin="dense")
    counted = dsbench.summary(**settings).set_index("model")["params"]
    result = dsbench.compare(**settings, dataset="synthetic", train_size=64, test_size=32,
                             batch_size=32, epochs=1, inference=False, output_dir=tmp_path / "r")  # fmt: skip
    trained = result.summary.set_index("model")["params"]
    assert trained.to_dict() == counted.to_dict()  # the dense twin is the normal model
    assert result.environment["arch_twin"]["direction"] == "dense"
    shown = dsbench.report([tmp_path / "r"]).rows
    assert set(shown["model"]) == {"normal", "separable"}


@pytest.mark.tf
def test_a_subclass_of_a_separable_layer_is_kept_and_named() -> None:
    import keras

    class MyDepthwise(keras.layers.DepthwiseConv2D):
        pass

    class MySeparable(keras.layers.SeparableConv2D):
        pass

    def build(input_shape: tuple[int, ...], num_classes: int) -> Any:
        inputs = keras.Input(shape=input_shape)
        x = MyDepthwise(3, padding="same", name="mine_dw")(inputs)
        x = keras.layers.Conv2D(8, 1, name="mine_pw")(x)
        x = MySeparable(8, 3, padding="same", name="mine_sep")(x)
        x = keras.layers.SeparableConv2D(8, 3, padding="same", name="sep")(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, keras.layers.Dense(num_classes)(x))

    rows = dsbench.summary(arch=build, input_shape=[8, 8, 3], twin="dense").set_index("model")
    assert rows.loc["normal", "swapped"] == 1  # sep alone
    assert rows.loc["normal", "kept"] == [
        "mine_dw: MyDepthwise is a subclass of DepthwiseConv2D",
        "mine_sep: MySeparable is a subclass of SeparableConv2D",
    ]
