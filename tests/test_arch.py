"""--arch: your own network and its separable twin (dsbench/models/twin.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dsbench.errors import DsbenchError
from dsbench.models import costs
from dsbench.models import twin as arch

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.tf
def test_the_reference_vgg_through_arch_gives_dsbench_s_own_twin() -> None:
    rows, layers = costs.describe(f"{EXAMPLES / 'reference_vgg.py'}:build", (32, 32, 3), 10,
                                 ("normal", "separable"))  # fmt: skip
    by_model = {row["model"]: row for row in rows}
    assert (by_model["normal"]["params"], by_model["separable"]["params"]) == (1_186_378, 174_821)
    assert by_model["normal"]["macs_per_image"] == 152_805_376
    assert by_model["separable"]["macs_per_image"] == 18_295_808
    # the values each model writes, as dsbench counts them for its own VGG
    assert by_model["normal"]["activations_per_image"] == 258_058
    assert by_model["separable"]["activations_per_image"] == 400_394
    assert by_model["separable"]["swapped"] == 6 and not by_model["separable"]["kept"]
    swapped = [row["layer"] for row in layers if row.get("swapped")]
    assert swapped == [f"block{b}_conv{c}" for b in (1, 2, 3) for c in (1, 2)]


@pytest.mark.tf
def test_a_resnet_s_twin_keeps_its_1x1_shortcuts_and_keras_counts(tmp_path: Path) -> None:
    normal = arch.build_user(f"{EXAMPLES / 'resnet_cifar.py'}:build", (32, 32, 3), 10)
    twin = arch.separable_twin(normal)
    assert twin.model.count_params() == sum(
        r["params"] for r in costs.built_layer_costs(twin.model)
    )
    assert normal.count_params() == sum(r["params"] for r in costs.built_layer_costs(normal))
    assert len(twin.swapped) == 13 and not any("shortcut" in name for name in twin.swapped)
    layer = twin.model.get_layer("stage2_a_conv1")
    assert type(layer).__name__ == "SeparableConv2D" and tuple(layer.strides) == (2, 2)
    assert type(twin.model.get_layer("stage2_a_shortcut")).__name__ == "Conv2D"


@pytest.mark.tf
def test_what_cannot_be_swapped_is_named_with_the_reason() -> None:
    import keras

    class MyConv(keras.layers.Conv2D):
        pass

    class Wrapped(keras.layers.Layer):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.conv = keras.layers.Conv2D(8, 3, padding="same")

        def call(self, x: Any) -> Any:
            return self.conv(x)

    inputs = keras.Input((16, 16, 8))
    x = keras.layers.Conv2D(8, 3, dilation_rate=2, padding="same", name="dilated")(inputs)
    x = keras.layers.Conv2D(8, 3, groups=2, padding="same", name="grouped")(x)
    x = MyConv(8, 3, padding="same", name="custom")(x)
    x = Wrapped(name="wrapped")(x)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    twin = arch.separable_twin(model)
    assert twin.swapped == ["dilated"]
    assert tuple(twin.model.get_layer("dilated").dilation_rate) == (2, 2)
    assert dict(twin.kept) == {"grouped": "grouped convolution (groups=2)",
                               "custom": "MyConv is a subclass of Conv2D",
                               "wrapped": "a Conv2D inside a custom layer"}  # fmt: skip
    wrapped = next(r for r in costs.built_layer_costs(model) if r["layer"] == "wrapped")
    assert wrapped["macs"] is None  # weights of a layer dsbench cannot cost: not counted
    grouped = next(r for r in costs.built_layer_costs(model) if r["layer"] == "grouped")
    assert grouped["macs"] == 16 * 16 * 8 * 9 * 8 // 2


@pytest.mark.tf
@pytest.mark.parametrize(
    ("source", "words"),
    [("raise RuntimeError('boom')\n", "running .* failed: RuntimeError: boom"),
     ("def other(**kw):\n    return 1\n", "has no function 'build'"),
     ("def build(**kw):\n    return 3\n", "returned int, not a keras.Model"),
     ("def build(**kw):\n    raise ValueError('bad shape')\n", "the builder failed: ValueError")],
)  # fmt: skip
def test_a_broken_builder_is_one_line(tmp_path: Path, source: str, words: str) -> None:
    path = tmp_path / "model.py"
    path.write_text(source)
    with pytest.raises(DsbenchError, match=words):
        arch.build_user(f"{path}:build", (32, 32, 3), 10)
    with pytest.raises(DsbenchError, match="is not a file"):
        arch.build_user(f"{tmp_path / 'missing.py'}:build", (32, 32, 3), 10)
    with pytest.raises(DsbenchError, match=r"is not PATH\.py:FUNCTION"):
        arch.build_user("model", (32, 32, 3), 10)


@pytest.mark.tf
def test_a_keras_application_that_fails_is_not_blamed_on_your_code() -> None:
    with pytest.raises(DsbenchError, match="builder failed: ValueError") as raised:
        arch.build_user("keras.applications.MobileNetV2", (32, 32, 3), 10,
                        {"classifier_activation": "nope"})  # fmt: skip
    assert "your code" not in raised.value.hint
    assert "input_shape and arch_options" in raised.value.hint


@pytest.mark.slow
def test_summary_and_compare_take_your_network(invoke: Any, tmp_path: Path) -> None:
    builder = f"{EXAMPLES / 'resnet_cifar.py'}:build"
    shown = invoke(["summary", "--arch", builder, "--layers"])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "and its separable twin (13 convolutions swapped)" in text
    assert "698,858" in text and "99,109" in text and "depthwise" in text
    out = tmp_path / "run"
    run = invoke(["compare", "--arch", builder, "--dataset", "synthetic", "--train-size", "64",
                  "--test-size", "32", "--batch-size", "32", "--epochs", "1", "--no-progress",
                  "--output-dir", str(out)])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "698,858" in run.output and "99,109" in run.output
    assert "the separable twin swapped 13 convolutions" in " ".join(run.output.split())
    import json

    environment = json.loads((out / "environment.json").read_text())
    assert environment["arch_twin"] == {"swapped": 13, "kept": [], "direction": "separable"}
    assert len(environment["arch_sha256"]) == 64


@pytest.mark.tf
def test_the_examples_give_the_figures_docs_arch_shows() -> None:
    for name, swapped, params in (("plain_cnn", 4, (133_002, 17_525)),
                                  ("mobilenet_like", 1, (69_834, 69_093))):  # fmt: skip
        rows, _ = costs.describe(f"{EXAMPLES / name}.py:build", (32, 32, 3), 10,
                                ("normal", "separable"))  # fmt: skip
        assert tuple(row["params"] for row in rows) == params, name
        assert rows[1]["swapped"] == swapped, name
    doc = (EXAMPLES.parent / "docs" / "arch.md").read_text(encoding="utf-8")
    assert "133,002 / 17,525" in doc and "69,834 / 69,093" in doc


def small(input_shape: tuple[int, ...], num_classes: int) -> Any:
    import keras

    return keras.Sequential([keras.Input(input_shape), keras.layers.Conv2D(8, 3, name="conv"),
                             keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(num_classes, activation="softmax")])  # fmt: skip


@pytest.mark.slow
def test_python_takes_the_builder_function_itself(tiny_settings: dict[str, Any]) -> None:
    import dsbench

    frame = dsbench.summary(arch=small).set_index("model")
    assert frame.loc["normal", "params"] == 8 * 27 + 8 + 8 * 10 + 10
    assert frame.loc["separable", "params"] == 27 + 3 * 8 + 8 + 8 * 10 + 10
    mine = {k: v for k, v in tiny_settings.items() if k != "blocks"}  # the VGG's: refused here
    result = dsbench.compare(arch=small, **{**mine, "epochs": 1})
    assert result.document["settings"]["model"]["arch"] == "python:test_arch.small"
    assert result.summary.set_index("model").loc["separable", "params"] == 27 + 24 + 8 + 90
    with pytest.raises(DsbenchError, match="cannot be sent to fresh worker processes"):
        dsbench.compare(arch=small, **{**mine, "epochs": 1, "processes": 2})


@pytest.mark.slow
def test_a_sweep_passes_its_axes_to_your_builder_and_resumes(invoke: Any, tmp_path: Path) -> None:
    import json

    import pandas as pd

    builder = f"{EXAMPLES / 'resnet_cifar.py'}:build"
    shown = invoke(["sweep", "--arch", builder, "--kernel-size", "5", "--width", "0.25,0.5",
                    "--summary-only", "--json", "--output-dir", str(tmp_path / "only")])  # fmt: skip
    assert shown.exit_code == 0, shown.output
    rows = pd.DataFrame(json.loads(shown.stdout)["rows"])
    assert set(rows["convs_kept"]) == {0} and set(rows["layers_not_counted"]) == {0}
    reread = invoke(["report", str(tmp_path / "only")])  # the folder reads back
    assert reread.exit_code == 0 and "0.25" in reread.output, reread.output
    for width, point in rows.groupby("width"):
        normal = arch.build_user(builder, (32, 32, 3), 10, {"kernel_size": 5, "width": width})
        twin = arch.separable_twin(normal).model
        by_model = point.set_index("model")["params"]
        assert (by_model["normal"], by_model["separable"]) == (normal.count_params(),
                                                               twin.count_params())  # fmt: skip
    assert rows["params"].nunique() == 4  # each width builds its own pair
    refused = invoke(["sweep", "--arch", f"{EXAMPLES / 'plain_cnn.py'}:build", "--width",
                      "0.5,1", "--summary-only", "--output-dir", str(tmp_path / "no")])  # fmt: skip
    assert refused.exit_code == 2 and "build() has no parameter 'width'" in refused.output
    assert not (tmp_path / "no").exists()
    out = tmp_path / "s"
    args = ["sweep", "--arch", builder, "--width", "0.125,0.25", "--dataset", "synthetic",
            "--train-size", "64", "--test-size", "32", "--batch-size", "32", "--epochs", "1",
            "--no-inference", "--no-progress", "--output-dir", str(out)]  # fmt: skip
    assert invoke(args).exit_code == 0
    import shutil

    shutil.rmtree(out / "points" / "w0.25")  # as if it stopped after its first point
    document = json.loads((out / "sweep.json").read_text())
    (out / "sweep.json").write_text(json.dumps({**document, "status": "incomplete"}))
    refused = invoke(["resume", str(out), "--no-progress"])  # a folder runs no code by itself
    assert refused.exit_code == 2 and f"--arch {builder}" in " ".join(refused.output.split())
    resumed = invoke(["resume", str(out), "--no-progress", "--arch", builder])
    assert resumed.exit_code == 0, resumed.output
    assert "width 0.125 (kept from before)" in " ".join(resumed.output.split())
    trained = pd.read_csv(out / "sweep.csv").set_index(["width", "model"])["params"]
    expected = arch.build_user(builder, (32, 32, 3), 10, {"width": 0.25}).count_params()
    assert trained[0.25, "normal"] == expected
    settings = json.loads((out / "points" / "w0.25" / "summary.json").read_text())["settings"]
    assert settings["model"]["arch_options"] == {"width": 0.25}
    # a Keras application takes its own keyword arguments the same way
    import keras

    rows, _ = costs.describe("keras.applications.MobileNetV2", (32, 32, 3), 10, ("normal",),
                            options={"alpha": 0.5})  # fmt: skip
    half = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), classes=10,
                                          alpha=0.5)  # fmt: skip
    assert rows[0]["params"] == half.count_params() == 719_034


HELD_OUT = """
import keras


class Block(keras.layers.Layer):  # a custom layer holding a layer that holds a Conv2D
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = Inner()

    def call(self, x):
        return self.inner(x)


class Inner(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.convs = [keras.layers.Conv2D(8, 3, padding="same")]

    def call(self, x):
        return self.convs[0](x)


def build(input_shape, num_classes):
    stem = keras.Sequential([keras.Input(input_shape), keras.layers.Conv2D(8, 3, padding="same",
                             name="stem_conv"), keras.layers.BatchNormalization()], name="stem")
    inputs = keras.Input(input_shape)
    x = stem(inputs)
    shared = keras.layers.Conv2D(8, 3, padding="same", name="shared")
    y = shared(shared(x))  # one layer used twice
    x = keras.layers.Concatenate()([x, y])
    x = keras.layers.Conv2D(16, 3, strides=2, dilation_rate=1, name="down")(x)
    x = keras.layers.Conv2DTranspose(8, 2, strides=2, name="up")(x)
    x = Block(name="block")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))
"""


@pytest.mark.tf
def test_a_held_out_network_is_swapped_through_nested_models_and_says_what_it_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "held_out.py"
    path.write_text(HELD_OUT)
    builder = f"{path}:build"
    rows, layers = costs.describe(builder, (16, 16, 3), 5, ("normal", "separable"))
    up = next(row for row in layers if row["layer"] == "up")  # 7x7x16 in, each value to 2x2x8
    assert up["macs"] == 7 * 7 * 16 * 2 * 2 * 8
    normal = arch.build_user(builder, (16, 16, 3), 5)
    twin = arch.separable_twin(normal)
    # the Sequential stem's conv is swapped as well as the outer ones; the shared layer once
    assert sorted(twin.swapped) == ["down", "shared", "stem_conv"]
    assert twin.kept == [("block", "a Conv2D inside a custom layer")]
    assert [row["params"] for row in rows] == [normal.count_params(), twin.model.count_params()]
    assert type(twin.model.get_layer("stem").get_layer("stem_conv")).__name__ == "SeparableConv2D"
    # layers dsbench cannot cost are named, and the totals say they leave them out
    assert rows[0]["not_counted"] == ["block"]
    assert rows[1]["kept"] == ["block: a Conv2D inside a custom layer"]
