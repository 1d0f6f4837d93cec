"""The Python API as a notebook uses it: dsbench.compare / summary / sweep / report / resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import dsbench
from dsbench.observer import Observer


class Recorder(Observer):
    """Records the progress calls a run makes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def data_loaded(self, source: str, train_images: int, test_images: int, rescale: bool) -> None:
        self.calls.append(("data", (train_images, test_images)))

    def model_start(self, kind: str, repeat: int, epochs: int, steps: int) -> None:
        self.calls.append(("model", (kind, epochs, steps)))

    def epoch_end(self, kind: str, row: dict[str, Any]) -> None:
        self.calls.append(("epoch", (kind, row["epoch"])))

    def working(self, what: str) -> None:
        self.calls.append(("working", what))


@pytest.mark.slow  # the CLI's shared compare (test_cli_train.py) runs api.compare in the fast suite
def test_compare_from_python_returns_frames_and_saves_the_cli_folder(
    tiny_settings: dict[str, Any], tmp_path: Path, invoke: Any
) -> None:
    recorder = Recorder()
    result = dsbench.compare(epochs=2, observer=recorder, **tiny_settings)
    assert isinstance(result, dsbench.Comparison) and result.complete and result.run_dir is None
    summary = result.summary.set_index("model")
    assert list(summary.index) == ["normal", "separable"]
    assert summary["epochs_completed"].tolist() == [2, 2]
    assert summary["steady_epoch_s"].notna().all()
    history = result.history
    assert len(history) == 4 and set(history.columns) >= {
        "model",
        "repeat",
        "epoch",
        "val_accuracy",
    }
    assert result.ratios["params_ratio"] == pytest.approx(
        summary.loc["separable", "params"] / summary.loc["normal", "params"]
    )
    assert recorder.calls[:3] == [("data", (256, 64)), ("model", ("normal", 2, 8)),
                                  ("model", ("separable", 2, 8))]  # fmt: skip
    # interleaved: epoch 1 normal then separable, epoch 2 separable then normal
    assert [c[1] for c in recorder.calls if c[0] == "epoch"] == [
        ("normal", 1), ("separable", 1), ("separable", 2), ("normal", 2)]  # fmt: skip
    # each model's predictions at its best epoch: as many right as its best val acc says,
    # and the accuracy difference paired over them
    from dsbench.measure.records import decode_correct

    for run in result.results:
        right = decode_correct(run.best_val_correct)
        assert len(right) == 64 and right.mean() == pytest.approx(
            summary.loc[run.model, "best_val_acc"]
        )
    assert summary.loc["separable", "acc_difference_method"] == "paired"
    assert summary.loc["separable", "acc_difference"] == pytest.approx(
        summary.loc["separable", "best_val_acc"] - summary.loc["normal", "best_val_acc"]
    )
    # those flags came from the best epoch's own validation pass: no second prediction pass
    # after the last epoch (progress would say "predicting the test images ...")
    working = [what for call, what in recorder.calls if call == "working"]
    assert not any("predicting" in w for w in working), working
    # save() writes the folder the CLI writes, and `report` reads it back
    folder = result.save(tmp_path / "x")
    assert json.loads((folder / "summary.json").read_text()) == result.document
    assert (folder / "history.csv").is_file() and (folder / "curves.png").is_file()
    rows = dsbench.report([folder]).rows
    assert rows["run"].tolist() == [str(folder)] * 2
    assert rows["best_val_acc"].tolist() == pytest.approx(summary["best_val_acc"].tolist())
    assert invoke(["report", str(folder)]).exit_code == 0
    with pytest.raises(dsbench.DsbenchError, match="already exists"):
        result.save(tmp_path / "x")


def test_summary_needs_neither_tensorflow_nor_training() -> None:
    code = (
        "import sys, dsbench\n"
        "frame = dsbench.summary()\n"
        "layers = dsbench.layers(model='separable', kernel_size=5)\n"
        "print(frame.set_index('model')['params'].to_dict(), len(layers))\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    counts, imported = proc.stdout.splitlines()
    assert counts == "{'normal': 1186378, 'separable': 174821} 11"
    assert imported == "False False"


def test_summary_and_bench_refuse_settings_they_would_not_use() -> None:
    # training settings change no count: silently accepted, they would look counted in
    with pytest.raises(dsbench.DsbenchError, match=r"summary\(\) got epochs, learning_rate, "
                       "which summary does not use"):  # fmt: skip
        dsbench.summary(epochs=5, learning_rate=3)
    with pytest.raises(dsbench.DsbenchError, match=r"layers\(\) got train_size, which"):
        dsbench.layers(train_size=100)
    assert dsbench.summary(kernel_size=5, num_classes=100)["params"].gt(0).all()
    # a bench times steps: refused before anything starts (it used to run and ignore them)
    with pytest.raises(dsbench.DsbenchError, match=r"bench\(\) got epochs, learning_rate, "):
        dsbench.bench(epochs=3, learning_rate=0.1, max_time=1)


def test_each_function_s_help_lists_the_settings_it_takes_with_their_defaults() -> None:
    import inspect
    import pydoc

    from dsbench.spec.request import BENCH_SETTINGS, COUNT_SETTINGS, SWEEP_SETTINGS
    from dsbench.spec.settings import SETTINGS, default, describe

    takes = {dsbench.compare: SETTINGS, dsbench.train: SETTINGS, dsbench.sweep: SWEEP_SETTINGS,
             dsbench.plan: SWEEP_SETTINGS, dsbench.bench: BENCH_SETTINGS,
             dsbench.summary: COUNT_SETTINGS, dsbench.layers: COUNT_SETTINGS,
             dsbench.api.describe: COUNT_SETTINGS}  # fmt: skip
    for function, names in takes.items():
        text = pydoc.render_doc(function, renderer=pydoc.plaintext)
        parameters = inspect.signature(function).parameters
        for name in names:
            assert f"    {name}: " in text, (function.__name__, name)
            assert parameters[name].default == default(name), (function.__name__, name)
            assert describe(name).help.split()[0].replace("\\[", "[") in text
        assert set(names) <= set(parameters)
        left_out = [name for name in SETTINGS if name not in names and name not in parameters]
        assert all(f"    {name}: " not in text.split("Settings (")[-1] for name in left_out)
    help_text = pydoc.render_doc(dsbench.compare, renderer=pydoc.plaintext)
    assert "epochs: int = 10" in help_text and "precision: str = 'float32'" in help_text
    assert "One of: float32, mixed_float16, mixed_bfloat16" in help_text or (
        "float32, mixed_float16, mixed_bfloat16" in help_text)  # fmt: skip
    assert 'blocks: str | Sequence[tuple[int, int]] = "64x2,128x2,256x2"' in help_text
    for name in ("bench", "against", "plan", "layers"):
        assert name in dsbench.__doc__ or name in (dsbench.api.__doc__ or ""), name


def test_sweep_summary_only_from_python(tmp_path: Path) -> None:
    result = dsbench.sweep(kernel_size=[3, 5], width="1,2", summary_only=True)
    assert len(result.rows) == 8 and len(result.ratios) == 4
    reference = result.rows[(result.rows["kernel_size"] == 3) & (result.rows["width"] == 1.0)]
    assert reference.set_index("model")["params"].to_dict() == {
        "normal": 1_186_378,
        "separable": 174_821,
    }
    folder = result.save(tmp_path / "s")
    assert (folder / "sweep.json").is_file() and (folder / "sweep.png").is_file()
    rows = dsbench.report([folder]).rows
    assert len(rows) == 8 and set(rows["run"]) == {str(folder)}
    # it trained nothing: no dataset, epochs or batch size of its own, and it says so
    assert rows[["dataset", "epochs"]].isna().all().all() and "batch_size" not in rows
    assert set(rows["status"]) == {"params and MACs only"}
    from dsbench.spec.grid import points_for
    from dsbench.spec.settings import ModelSpec

    (halved,) = points_for(ModelSpec(), "3", "0.5", None)
    assert halved.label(ModelSpec()) == "kernel 3, width 0.5 (blocks 32x2,64x2,128x2)"


@pytest.mark.parametrize(
    ("settings", "message", "setting"),
    [
        ({"epoch": 3}, "unknown setting 'epoch' (did you mean 'epochs'?)", None),
        ({"batch_size": 0}, "batch_size must be >= 1, got 0", "batch_size"),
        ({"learning_rate": -1.0}, "learning_rate must be a positive number", "learning_rate"),
        ({"dataset": "mnist"}, "dataset must be one of cifar10, synthetic", "dataset"),
        ({"blocks": "64x"}, "malformed blocks '64x'", "blocks"),
        ({"jit": "sometimes"}, "jit must be true or false", "jit"),
    ],
)
def test_bad_settings_raise_an_error_naming_the_setting(
    settings: dict[str, Any], message: str, setting: str | None
) -> None:
    with pytest.raises(dsbench.DsbenchError) as info:
        dsbench.compare(**settings)
    assert message in info.value.message
    assert info.value.settings == ((setting,) if setting else ())
    assert "--" not in info.value.message + info.value.hint  # a library caller sees no flags


def test_a_config_file_works_as_config_does(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[model]\nkernel_size = 5\nblocks = "8x1"\n')
    frame = dsbench.summary(config=config)
    assert frame["params"].tolist() == [25 * 3 * 8 + 8 + 16 * 16 * 8 * 10 + 10,
                                        25 * 3 + 3 * 8 + 8 + 16 * 16 * 8 * 10 + 10]  # fmt: skip
    assert dsbench.summary(config=config, kernel_size=3)["params"][0] == 9 * 3 * 8 + 8 + 20490


@pytest.mark.slow
def test_the_readme_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's Python API block, executed as a notebook would, in a scratch folder."""
    monkeypatch.chdir(tmp_path)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    assert "dsbench.compare(" in block and "result.save(" in block
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert isinstance(namespace["result"].summary, pd.DataFrame)
    assert (tmp_path / "runs" / "x" / "summary.json").is_file()


@pytest.mark.slow
def test_interleaving_trains_each_model_exactly_as_alone(tiny_settings: dict[str, Any]) -> None:
    """Deterministic ops: each model's per-epoch history in an interleaved compare equals
    training it alone, so alternating the models changes when they run, not what they learn."""
    settings = dict(tiny_settings, epochs=3, deterministic=True)
    both = dsbench.compare(**settings).history
    assert set(dsbench.compare(schedule="sequential", **settings).summary["status"]) == {"complete"}
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    for kind in ("normal", "separable"):
        alone = dsbench.train(kind, **settings).history[columns].reset_index(drop=True)
        mine = both[both["model"] == kind][columns].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone)
