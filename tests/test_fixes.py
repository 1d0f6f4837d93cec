"""Figures that were wrong and inputs that got through: each fails without its fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dsbench
from dsbench.backends.tensorflow import startup as runtime
from dsbench.spec.config import run_spec
from dsbench.store import folders


@pytest.mark.slow
def test_the_multiworker_loop_updates_weights_as_fit_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """One step of the custom loop against one step of model.fit, same batch and weights,
    in float32 and in mixed_float16 (where the loss must be scaled before the gradients)."""
    import keras
    import tensorflow as tf

    from dsbench.backends.tensorflow.custom_loop import Trainer
    from dsbench.models.vgg import build
    from dsbench.spec.settings import ModelSpec

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(32, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, size=32)
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    for policy in ("float32", "mixed_float16"):
        keras.config.set_dtype_policy(policy)
        try:
            models = [build(ModelSpec(blocks=((8, 1),)), "separable") for _ in range(2)]
        finally:
            keras.config.set_dtype_policy("float32")
        models[1].set_weights(models[0].get_weights())
        start = [w.copy() for w in models[0].get_weights()]
        for model in models:
            model.compile(optimizer=keras.optimizers.Adam(1e-3),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # fmt: skip
        models[0].fit(batches, epochs=1, verbose=0, shuffle=False)
        trainer = Trainer(models[1], tf.distribute.get_strategy(), batches, batches, steps=1,
                          global_batch=32)  # fmt: skip
        trainer.epoch(0, [], step_logs=False)
        for fitted, looped, first in zip(models[0].get_weights(), models[1].get_weights(), start,
                                         strict=True):  # fmt: skip
            moved = np.abs(fitted - first).max()
            assert moved > 1e-4, policy  # Adam's first step moves weights by about lr
            np.testing.assert_allclose(looped, fitted, rtol=1e-2, atol=1e-5 + moved * 1e-2)


@pytest.mark.tf
def test_model_size_leaves_out_the_optimizer_state() -> None:
    import keras

    from dsbench.models.vgg import build
    from dsbench.run.speed import deployable_bytes
    from dsbench.spec.settings import ModelSpec

    model = build(ModelSpec(blocks=((32, 1),)), "normal")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((8, 32, 32, 3), "float32"), np.zeros(8, "int32"), verbose=0)  # Adam slots
    params = model.count_params()
    size = deployable_bytes(model)
    assert 4 * params < size < 4 * params + 60_000  # weights and architecture, not 3x for Adam
    assert isinstance(model.optimizer, keras.optimizers.Adam)  # the model itself is untouched


def test_force_starts_over_but_leaves_other_files(tmp_path: Path) -> None:
    (tmp_path / "points" / "k3").mkdir(parents=True)
    (tmp_path / "points" / "k3" / "summary.json").write_text('{"dsbench_version": "0.1.0"}')
    (tmp_path / "sweep.json").write_text('{"dsbench_version": "0.1.0"}')
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(dsbench.DsbenchError, match="already exists"):
        folders.prepare_run_dir(tmp_path, force=False)
    folders.prepare_run_dir(tmp_path, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_seed_config_is_faithful_to_the_reference() -> None:
    spec = run_spec(config=Path(__file__).resolve().parents[1] / "configs" / "seed.toml")
    assert spec.train.jit is None  # Keras' "auto": XLA with a GPU, as the reference compiled
    assert spec.train.keep_partial_batch  # model.fit's 391 steps of 128 on 50,000 images


@pytest.mark.tf
def test_the_partial_batch_can_be_kept() -> None:
    from dsbench.backends.tensorflow.tfdata import pipeline
    from dsbench.data import synthetic
    from dsbench.run.training import steps_per_epoch

    images = synthetic(250, 10, seed=0)
    for keep, steps in ((True, 8), (False, 7)):  # 7 full batches of 32, and one of 26 kept
        spec = run_spec({"batch_size": 32, "keep_partial_batch": keep})
        assert steps_per_epoch(spec, images) == steps
        batches = pipeline(images.x_train, images.y_train, 32, rescale=True, shuffle_seed=0,
                           drop_remainder=not keep)  # fmt: skip
        assert sum(1 for _ in batches) == steps


@pytest.mark.tf
@pytest.mark.parametrize(
    ("settings", "message", "setting"),
    [
        (
            {"num_classes": 100},
            "num_classes 100 does not match the data's 10 classes",
            "num_classes",
        ),
        ({"devices": "/gpu:7"}, "devices /gpu:7 not found on this machine", "devices"),
    ],
)
def test_settings_that_do_not_fit_the_data_or_machine_are_refused(
    settings: dict[str, Any],
    message: str,
    setting: str,
    tiny_settings: dict[str, Any],
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    with pytest.raises(dsbench.DsbenchError, match=message.replace("[", r"\[")) as info:
        dsbench.compare(epochs=1, output_dir=out, **{**tiny_settings, **settings})
    assert info.value.settings == (setting,)
    assert not out.exists()


def test_devices_alone_mean_mirrored() -> None:
    spec = run_spec({"devices": "/cpu:0"})
    assert spec.train.strategy == "mirrored" and spec.train.devices == ("/cpu:0",)
    assert run_spec({}).train.strategy == "default"


def test_usage_errors_are_one_line_from_the_console_script() -> None:
    proc = subprocess.run([sys.executable, "-m", "dsbench", "compare", "--epochs", "ten"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --epochs: ")
    assert "see: python -m dsbench compare --help" in lines[0]


def test_device_errors_are_shown_only_on_gpu_machines() -> None:
    log = (
        "I0000 port.cc:153] oneDNN custom operations are on.\n"
        "E0000 cuda_platform.cc:52] failed call to cuInit: CUDA_ERROR_NO_DEVICE\n"
        "E0000 cuda_fft.cc:477] Unable to register cuFFT factory\n"
    )
    assert runtime.device_errors(log, gpu_machine=False) == []
    assert runtime.device_errors(log, gpu_machine=True) == [
        "E0000 cuda_platform.cc:52] failed call to cuInit: CUDA_ERROR_NO_DEVICE"
    ]


def test_the_habits_of_a_good_cli(invoke: Any, one_line: Any) -> None:
    from typer.testing import CliRunner

    from dsbench import render
    from dsbench.cli.main import app

    help_text = CliRunner().invoke(app, ["compare", "-h"], env={"COLUMNS": "200"})
    assert help_text.exit_code == 0 and "Usage" in help_text.output
    assert "<bool>" not in help_text.output  # no type shown for a flag
    for flag in ("--[no-]deterministic", "--[no-]checkpoint", "--schedule", "--target-accuracy"):
        assert flag in help_text.output, flag
    several = invoke(["compare", "--kernel-size", "3,5"])
    assert several.exit_code == 2 and "dsbench sweep --kernel-size 3,5" in one_line(several.output)
    typo = invoke(["compare", "--kernel-size", "x"])  # not a list: no sweep hint
    assert typo.exit_code == 2 and "dsbench sweep" not in typo.output
    assert render.comparison_title("compare", "synthetic", 1, 32).endswith("1 epoch, batch 32")
    assert render.comparison_title("compare", "synthetic", 3, 32).endswith("3 epochs, batch 32")


@pytest.mark.slow
def test_tensorboard_logs_and_a_profile_for_each_model(
    tiny_settings: dict[str, Any], tmp_path: Path
) -> None:
    logs = tmp_path / "tb"
    dsbench.compare(epochs=2, tensorboard=str(logs), profile_steps="2,3", **tiny_settings)
    for kind in ("normal", "separable"):
        events = list((logs / kind).rglob("events.out.tfevents.*"))
        assert events, kind
        assert list((logs / kind).rglob("*.xplane.pb")), f"no profiler trace for {kind}"


MIRRORED_STEP = """
import sys
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from dsbench.spec.settings import ModelSpec
from dsbench.backends.tensorflow.custom_loop import Trainer
from dsbench.models.vgg import build
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
rng = np.random.default_rng(0)
x = rng.uniform(0, 1, size=(32, 32, 32, 3)).astype("float32")
y = rng.integers(0, 10, size=32)
batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
keras.config.set_dtype_policy(sys.argv[1])
with strategy.scope():
    models = [build(ModelSpec(blocks=((8, 1),)), "separable") for _ in range(2)]
    models[1].set_weights(models[0].get_weights())
    for model in models:
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
start = [w.copy() for w in models[0].get_weights()]
models[0].fit(batches, epochs=1, verbose=0, shuffle=False)
Trainer(models[1], strategy, batches, batches, steps=1, global_batch=32).epoch(0, [], False)
moved = max(float(np.abs(a - b).max()) for a, b in zip(models[0].get_weights(), start))
diff = max(float(np.abs(a - b).max()) for a, b in zip(models[0].get_weights(), models[1].get_weights()))
print(moved, diff)
"""


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])
def test_the_loop_matches_fit_on_two_mirrored_replicas(policy: str) -> None:
    proc = subprocess.run([sys.executable, "-c", MIRRORED_STEP, policy], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    moved, diff = (float(v) for v in proc.stdout.split()[-2:])
    assert moved > 1e-4 and diff < max(1e-5, moved * 1e-2), (moved, diff)


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["compare", "--dataset", "imagenet"], "error: --dataset: 'imagenet' is not one of 'cifar10', 'synthetic'"),
     (["compare", "--epochs", "x"], "error: --epochs: not a whole number"),
     (["compare", "--learning-rate", "x"], "error: --learning-rate: not a number"),
     (["summary", "--blocks", "64y2"], "error: malformed --blocks '64y2': '64y2' is not FILTERSxCONVS")],
)  # fmt: skip
def test_errors_are_in_dsbench_s_words_and_name_the_flag_once(
    invoke: Any, one_line: Any, args: list[str], expected: str
) -> None:
    result = invoke(args)
    text = one_line(result.output)
    assert result.exit_code == 2 and expected in text
    assert "Value error" not in text and "Input should be" not in text
    assert text.count(args[1]) == 1  # the flag named once
