"""A run killed at any point and resumed holds every epoch of every model exactly once.

A kill is simulated in-process: at the chosen point an exception that nothing in dsbench
catches (as nothing runs after SIGKILL) leaves the folder exactly as it was then; `resume`
then continues it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import write_run

import dsbench
from dsbench.run import checkpoints
from dsbench.store import files as store


class Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so no handler of dsbench's sees it."""


def _kill_at(monkeypatch: pytest.MonkeyPatch, point: str, model: str, epoch: int) -> None:
    """Patch the checkpoint writer to die `point` (before / during / after) writing `model`'s
    checkpoint of `epoch`."""
    import dsbench.run.callbacks as callbacks

    original = checkpoints.save_checkpoint
    text = checkpoints.atomic_text

    def save(folder: Path, keras_model: Any, result: Any) -> None:
        mine = result.model == model and len(result.epochs) == epoch
        if mine and point == "before":
            raise Killed
        if mine and point == "during":  # the .keras file written, its pointer not yet
            monkeypatch.setattr(checkpoints, "atomic_text", _raise)
        original(folder, keras_model, result)
        monkeypatch.setattr(checkpoints, "atomic_text", text)
        if mine and point == "after":  # between the models of an interleaved round
            raise Killed

    monkeypatch.setattr(callbacks, "save_checkpoint", save)


def _raise(*args: Any) -> None:
    raise Killed


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "model", "epoch"),
    [("before", "normal", 3), ("during", "normal", 3), ("after", "normal", 3),
     ("after", "separable", 2), ("during", "separable", 4)],
)  # fmt: skip
def test_killed_then_resumed_holds_every_epoch_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_settings: dict[str, Any],
    point: str, model: str, epoch: int,
) -> None:  # fmt: skip
    out = tmp_path / "run"
    settings = {**tiny_settings, "epochs": 4, "checkpoint": True}
    _kill_at(monkeypatch, point, model, epoch)
    with pytest.raises(Killed):
        dsbench.compare(output_dir=out, **settings)
    monkeypatch.undo()
    assert json.loads((out / "summary.json").read_text())["status"] == "incomplete"
    resumed = dsbench.resume(out)
    assert isinstance(resumed, dsbench.api.Comparison) and resumed.complete
    history = pd.read_csv(out / "history.csv")
    runs = pd.read_csv(out / "runs.csv")
    for kind in ("normal", "separable"):
        assert history[history["model"] == kind]["epoch"].tolist() == [1, 2, 3, 4]
        assert runs[runs["model"] == kind]["status"].tolist() == ["complete"]
    assert json.loads((out / "summary.json").read_text())["status"] == "complete"
    with pytest.raises(dsbench.DsbenchError, match="already complete"):
        dsbench.resume(out)


@pytest.mark.slow
def test_resume_refuses_a_swapped_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_settings: dict[str, Any]
) -> None:
    out = tmp_path / "run"
    _kill_at(monkeypatch, "after", "normal", 2)  # round 2 runs S N: both have epoch 2
    with pytest.raises(Killed):
        dsbench.compare(output_dir=out, **tiny_settings, epochs=3, checkpoint=True)
    monkeypatch.undo()
    folder = out / "checkpoints"
    # the normal model's pointer and file replaced by the separable model's
    (folder / "normal-r0-e2.keras").write_bytes((folder / "separable-r0-e2.keras").read_bytes())
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(dsbench.DsbenchError, match="does not hold the normal model"):
        dsbench.resume(out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    # a pointer that names a file outside checkpoints/ is refused before anything is loaded
    pointer = folder / "normal-r0.json"
    document = json.loads(pointer.read_text())
    pointer.write_text(json.dumps({**document, "model_file": "../../elsewhere.keras"}))
    with pytest.raises(dsbench.DsbenchError, match="not a dsbench checkpoint pointer"):
        dsbench.resume(out)


@pytest.mark.parametrize("jit", [False, True, None])
def test_a_resumed_run_keeps_its_jit_setting(jit: bool | None) -> None:
    from dsbench.run.received import saved_spec
    from dsbench.spec.config import run_spec

    settings = run_spec({"jit": "auto" if jit is None else jit}).as_dict()
    assert saved_spec(settings, "summary.json", None).train.jit is jit


def test_a_run_saved_while_training_is_not_finished(made_results: Any, tmp_path: Path) -> None:
    from dsbench.measure.records import Status

    results = made_results()  # 4 epochs each, status "complete" as while training
    write_run(tmp_path, results, "compare", {"train": {"epochs": 6}}, {}, complete=False,
                    draw=False)  # fmt: skip
    loaded = store.load_results(tmp_path)
    assert [r.status for r in loaded] == [Status.complete] * 2
    assert not any(r.finished(6) for r in loaded) and all(r.finished(4) for r in loaded)
    loaded[0].status = Status.diverged
    assert loaded[0].finished(6)


def test_a_failed_checkpoint_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    from dsbench.measure.records import RunResult

    class FullDisk:
        def save(self, path: Path) -> None:
            Path(path).write_bytes(b"half a model")
            raise OSError(28, "No space left on device")

    result = RunResult("normal", 0, 0, 1, 1, 1, 32, epochs=[{"epoch": 1, "loss": 1.0}])
    folder = tmp_path / "checkpoints"
    with pytest.raises(dsbench.DsbenchError, match=f"cannot write a checkpoint to {folder}"):
        checkpoints.save_checkpoint(folder, FullDisk(), result)
    assert list(folder.iterdir()) == []


@pytest.mark.slow
def test_resume_refuses_a_checkpoint_behind_its_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_settings: dict[str, Any]
) -> None:
    out = tmp_path / "run"
    _kill_at(monkeypatch, "after", "normal", 2)
    with pytest.raises(Killed):
        dsbench.compare(output_dir=out, **tiny_settings, epochs=3, checkpoint=True)
    monkeypatch.undo()
    history = pd.read_csv(out / "history.csv")
    assert (history["model"] == "separable").sum() == 1  # round 1 written, round 2 not yet
    folder = out / "checkpoints"
    pointer = json.loads((folder / "separable-r0.json").read_text())  # epochs 1-2
    (folder / "separable-r0-e2.keras").rename(folder / "separable-r0-e0.keras")
    (folder / "separable-r0.json").write_text(
        json.dumps({"model_file": "separable-r0-e0.keras", "epochs": pointer["epochs"][:0]})
    )
    with pytest.raises(
        dsbench.DsbenchError, match="holds 0 epochs, the results folder's history 1"
    ):
        dsbench.resume(out)


def test_ctrl_c_while_a_checkpoint_is_written_waits_until_it_is_whole(
    tmp_path: Path, made_results: Any
) -> None:
    import os
    import signal

    class Interrupting:
        """A model whose save is interrupted as Keras' HDF5 writer is: Ctrl-C arriving
        mid-write surfaces as an OSError ("Can't write data"), the file half written."""

        def save(self, path: Path) -> None:
            os.kill(os.getpid(), signal.SIGINT)
            try:
                for chunk in range(200):  # Python runs a signal's handler between steps
                    with open(path, "ab") as stream:
                        stream.write(bytes([chunk]) * 64)
            except KeyboardInterrupt:
                raise OSError("Can't write data") from None

    result = made_results()[0]
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):  # delivered, once the checkpoint is whole
            checkpoints.save_checkpoint(tmp_path, Interrupting(), result)  # type: ignore[arg-type]
    finally:
        signal.signal(signal.SIGINT, previous)
    pointer = json.loads((tmp_path / "normal-r0.json").read_text())
    assert pointer["model_file"] == f"normal-r0-e{len(result.epochs)}.keras"
    assert (tmp_path / pointer["model_file"]).stat().st_size == 200 * 64
