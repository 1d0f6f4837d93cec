"""`--force` replaces what dsbench wrote and nothing else: a user's files always survive."""

from __future__ import annotations

from pathlib import Path

import pytest

import dsbench
from dsbench.store import folders


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _user_files(root: Path) -> dict[str, bytes]:
    """A user's own files in every place dsbench writes to."""
    files = {
        "notes.txt": b"mine",
        "checkpoints/model_epoch_50.ckpt": b"weights I trained for a week",
        "checkpoints/normal-r0-e5.keras.bak": b"a copy I made",
        "points/k3/my-plot.png": b"\x89PNG mine",
        "points/mine/data.csv": b"a,b\n1,2\n",
        "runs/summary.json": b"{}",
    }
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return files


def _dsbench_files(root: Path) -> None:
    for name in ("summary.json", "history.csv", "runs.csv", "curves.png", "sweep.json",
                 "checkpoints/normal-r0.json", "checkpoints/normal-r0-e5.keras",
                 "checkpoints/.normal-r0-e6.keras.abc123.tmp.keras",
                 "points/k3/summary.json", "points/k3/history.csv", "points/k5/summary.json",
                 ".summary.json.x1y2.tmp"):  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text('{"dsbench_version": "0.1.0"}')


def test_force_removes_only_what_dsbench_wrote(tmp_path: Path) -> None:
    _dsbench_files(tmp_path)
    mine = _user_files(tmp_path)
    with pytest.raises(dsbench.DsbenchError, match="already exists"):
        folders.prepare_run_dir(tmp_path, force=False)
    folders.prepare_run_dir(tmp_path, force=True)
    assert _tree(tmp_path) == mine  # every dsbench file gone, every user file as it was
    assert not (tmp_path / "points" / "k5").exists()  # a folder dsbench made, now empty


def test_force_refuses_a_folder_dsbench_did_not_write(tmp_path: Path, invoke) -> None:
    mine = _user_files(tmp_path)
    result = invoke(["compare", "--dataset", "synthetic", "--output-dir", str(tmp_path), "--force"])
    assert result.exit_code == 2
    assert "is not a dsbench results folder" in result.output
    assert "Traceback" not in result.output
    assert _tree(tmp_path) == mine


def test_force_refuses_to_replace_a_link_or_folder_under_its_own_names(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text('{"dsbench_version": "0.1.0"}')
    elsewhere = tmp_path.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep")
    (tmp_path / "checkpoints").symlink_to(elsewhere)
    with pytest.raises(dsbench.DsbenchError, match="not a file dsbench wrote"):
        folders.prepare_run_dir(tmp_path, force=True)
    (tmp_path / "checkpoints").unlink()
    (tmp_path / "history.csv").mkdir()
    (tmp_path / "history.csv" / "x").write_text("mine")
    with pytest.raises(dsbench.DsbenchError, match="not a file dsbench wrote"):
        folders.prepare_run_dir(tmp_path, force=True)
    assert (elsewhere / "precious.txt").read_text() == "keep"
    assert (tmp_path / "history.csv" / "x").read_text() == "mine"


def test_a_folder_of_only_dsbench_files_needs_no_marker(tmp_path: Path) -> None:
    # A sweep interrupted during its first point has points/ but no sweep.json yet.
    (tmp_path / "points" / "k3").mkdir(parents=True)
    (tmp_path / "points" / "k3" / "summary.json").write_text('{"dsbench_version": "0.1.0"}')
    folders.prepare_run_dir(tmp_path, force=True)
    assert list(tmp_path.iterdir()) == []
