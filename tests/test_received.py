"""A results folder someone sent you is data: it runs no code, writes nowhere outside itself,
and `--force` tells dsbench's own folders from look-alikes by what they hold."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import write_run

from dsbench.store import folders

EVIL = """
from pathlib import Path
Path(__file__).with_name("RAN").write_text("the folder's code ran")

def build(input_shape, num_classes):
    raise SystemExit("built")
"""


def _received(root: Path, made_results: Any, model: dict[str, Any] | None = None,
              train: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
              environment: dict[str, Any] | None = None, name: str = "recv") -> Path:  # fmt: skip
    """An interrupted compare folder as someone might send it, naming what they chose."""
    folder = root / name
    folder.mkdir()
    settings = {"model": model or {}, "data": {"dataset": "synthetic", "train_size": 64,
                                               "test_size": 32, **(data or {})},
                "train": {"epochs": 6, "batch_size": 32, **(train or {})}}  # fmt: skip
    write_run(folder, made_results(), "compare", settings, environment or {}, complete=False)
    return folder


@pytest.fixture
def evil(tmp_path: Path) -> Path:
    """A builder file that leaves RAN beside itself when it is imported."""
    path = tmp_path / "evil.py"
    path.write_text(EVIL)
    return path


def _one_error_line(result: Any) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error:"), result.output
    return " ".join(result.output.split())


def test_resume_never_runs_a_builder_the_folder_names(
    tmp_path: Path, made_results: Any, invoke: Any, evil: Path
) -> None:
    folder = _received(tmp_path, made_results, {"arch": f"{evil}:build"})
    said = _one_error_line(invoke(["resume", str(folder), "--no-progress"]))
    assert "which is code" in said and f"--arch {evil}:build" in said
    assert not (tmp_path / "RAN").exists()
    # named again, but the folder recorded no sha256: it cannot be the file the run began with
    said = _one_error_line(invoke(["resume", str(folder), "--arch", f"{evil}:build"]))
    assert "records no sha256" in said
    assert not (tmp_path / "RAN").exists()


def test_resume_runs_a_named_builder_only_with_the_recorded_hash(
    tmp_path: Path, made_results: Any, invoke: Any, evil: Path
) -> None:
    recorded = {"arch_sha256": "0" * 64}  # the sender's own file, not this one
    folder = _received(tmp_path, made_results, {"arch": f"{evil}:build"}, environment=recorded)
    said = _one_error_line(invoke(["resume", str(folder), "--arch", f"{evil}:build"]))
    assert "is not the builder file the run began with" in said
    other = _one_error_line(invoke(["resume", str(folder), "--arch", f"{evil}:other"]))
    assert "was made with" in other
    assert not (tmp_path / "RAN").exists()


def test_resume_of_a_run_without_arch_refuses_one(
    tmp_path: Path, made_results: Any, invoke: Any
) -> None:
    folder = _received(tmp_path, made_results)
    said = _one_error_line(invoke(["resume", str(folder), "--arch", "x.py:build"]))
    assert "was not made with --arch" in said


def test_report_of_a_folder_naming_a_builder_runs_nothing(
    tmp_path: Path, made_results: Any, invoke: Any, evil: Path
) -> None:
    folder = _received(tmp_path, made_results, {"arch": f"{evil}:build"})
    baseline = _received(tmp_path, made_results, {"arch": f"{evil}:build"}, name="old")
    for args in (["report", str(folder)], ["report", str(folder), "--format", "json"],
                 ["report", str(folder), "--baseline", str(baseline), "--force-baseline"]):  # fmt: skip
        result = invoke(args)
        assert result.exit_code == 0, result.output
    assert not (tmp_path / "RAN").exists()


@pytest.mark.parametrize("setting", ["tensorboard", "data_dir"])
def test_resume_uses_a_recorded_folder_outside_only_when_given_again(
    setting: str, tmp_path: Path, made_results: Any, invoke: Any
) -> None:
    outside = tmp_path / "elsewhere"
    section = {"tensorboard": "train", "data_dir": "data"}[setting]
    given = {section: {setting: str(outside)}}
    if setting == "data_dir":
        given["data"]["dataset"] = "cifar10"
    folder = _received(tmp_path, made_results, **given)
    said = _one_error_line(invoke(["resume", str(folder), "--no-progress"]))
    assert "outside the folder" in said and f"--{setting.replace('_', '-')} DIR" in said
    assert not outside.exists()


def test_a_recorded_folder_inside_the_results_folder_is_kept(tmp_path: Path) -> None:
    from dsbench.run.received import trusted_settings
    from dsbench.spec.request import ResumeRequest

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    saved = {"train": {"tensorboard": str(run_dir / "logs")}, "model": {}, "data": {}}
    assert trusted_settings(saved, ResumeRequest(run_dir), None)["train"] == saved["train"]
    linked = run_dir / "link"
    linked.symlink_to(tmp_path)  # inside by name, outside once the link is followed
    saved["train"]["tensorboard"] = str(linked / "logs")
    with pytest.raises(Exception, match="outside the folder"):
        trusted_settings(saved, ResumeRequest(run_dir), None)


# ---------------------------------------------------------------- --force


def _marker(path: Path, **extra: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"dsbench_version": "0.1.0", "models": [], **extra}))


def test_force_does_not_take_a_users_summary_json_for_a_marker(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text('{"my": "own summary"}')
    (tmp_path / "history.csv").write_text("epoch,loss\n1,0.5\n")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="is not a dsbench results folder"):
        folders.prepare_run_dir(tmp_path, force=True)
    assert (tmp_path / "summary.json").read_text() == '{"my": "own summary"}'
    assert (tmp_path / "history.csv").exists()


def test_force_does_not_empty_a_folder_of_only_a_users_plot(tmp_path: Path) -> None:
    (tmp_path / "curves.png").write_bytes(b"\x89PNG my own plot")
    with pytest.raises(Exception, match="is not a dsbench results folder"):
        folders.prepare_run_dir(tmp_path, force=True)
    assert (tmp_path / "curves.png").read_bytes() == b"\x89PNG my own plot"


def test_force_takes_the_marker_by_its_exact_name(tmp_path: Path) -> None:
    _marker(tmp_path / "Summary.JSON")  # on a case-insensitive disk this is summary.json
    (tmp_path / "history.csv").write_text("mine")
    assert not folders.is_results_folder(tmp_path)
    _marker(tmp_path / "summary.json")
    assert folders.is_results_folder(tmp_path)


def test_force_replaces_a_folder_dsbench_wrote(tmp_path: Path, made_results: Any) -> None:
    write_run(tmp_path, made_results(), "compare", {}, {}, complete=True)
    (tmp_path / "notes.txt").write_text("mine")
    folders.prepare_run_dir(tmp_path, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def _my_builder(input_shape: Any, num_classes: int) -> None:
    """A builder given from Python (recorded by its name)."""


def test_a_function_given_from_python_resumes_only_when_given_again(tmp_path: Path) -> None:
    from dsbench.run.received import trusted_settings
    from dsbench.spec.request import ResumeRequest

    saved = {"model": {"arch": f"python:{__name__}._my_builder"}, "data": {}, "train": {}}
    kept = trusted_settings(saved, ResumeRequest(tmp_path, arch=_my_builder), None)
    assert kept["model"]["arch"] == saved["model"]["arch"]
    with pytest.raises(Exception, match=r"dsbench.resume\(FOLDER, arch=your_function\)"):
        trusted_settings(saved, ResumeRequest(tmp_path), None)
    with pytest.raises(Exception, match="was made with"):
        trusted_settings(saved, ResumeRequest(tmp_path, arch=_one_error_line), None)


def test_force_clears_a_run_stopped_before_its_first_summary(tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    (checkpoints / "normal-r0-e1.keras").write_bytes(b"PK weights")
    (checkpoints / "normal-r0.json").write_text('{"model_file": "normal-r0-e1.keras"}')
    assert folders.is_results_folder(tmp_path)
    (checkpoints / "normal-r0.json").write_text("{}")  # a look-alike names no model file
    assert not folders.is_results_folder(tmp_path)


# ---------------------------------------------------------------- inert output

HOSTILE_TEXT = ["[/]", "[link=https://evil.example/]AMD EPYC[/link]", "[conceal]x[/conceal]",
                "\x1b]8;;https://evil.example/\x1b\\AMD\x1b]8;;\x1b\\", "a\x1b[2Jb", "[bold"]  # fmt: skip


@pytest.fixture(scope="module")
def hostile_folders(tmp_path_factory: pytest.TempPathFactory, made_results: Any) -> Path:
    """runs/ holding a folder named after each hostile text, with every hostile text in every
    field a table shows, and one plain folder; relative names stay short (not wrapped away)."""
    root = tmp_path_factory.mktemp("inert")
    everything = "".join(HOSTILE_TEXT)
    environment = {"cpu": {"model": everything}, "device": f"device: {everything}",
                   "hostname": everything}  # fmt: skip
    for name in (*_hostile_names(), "plain"):
        (root / "runs" / name).mkdir(parents=True)
        write_run(root / "runs" / name, made_results(), "compare", {"train": {"epochs": 4}},
                  environment, complete=True)  # fmt: skip
    return root


def _hostile_names() -> list[str]:
    return [f"x{text.replace('/', '')}" for text in HOSTILE_TEXT]  # a folder's own name too


@pytest.mark.parametrize("columns", ["60", "160"])  # row by row or sideways; wide
def test_text_from_folders_reaches_the_terminal_inert(
    columns: str, hostile_folders: Path, monkeypatch: Any
) -> None:
    from typer.testing import CliRunner

    from dsbench.cli.main import app

    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.chdir(hostile_folders)  # short relative paths: a name is not wrapped away
    parent, names = Path("runs"), _hostile_names()
    first = parent / names[0]
    for args in (["report", str(parent)], ["report", str(first)],
                 ["report", str(first), "--baseline", str(parent / "plain")]):  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        shown = result.output
        assert "\x1b]" not in shown  # no OSC sequence (a hyperlink, a title) from a file
        assert "\x1b[2J" not in shown  # no CSI of the file's own
        if columns == "160" and args == ["report", str(parent)]:  # names as written, not markup
            visible = " ".join(re.sub("\x1b\\[[0-9;]*m", "", shown).split())  # dsbench's colours
            assert all(name in visible for name in names if "\x1b" not in name), visible


def test_report_csv_cells_are_no_formulas(
    tmp_path: Path, made_results: Any, invoke: Any, monkeypatch: Any
) -> None:
    import io

    import pandas as pd

    monkeypatch.chdir(tmp_path)
    folder = Path("=HYPERLINK(evil)")
    folder.mkdir()
    environment = {"cpu": {"model": "@SUM(A1)"}, "device": "device: +cmd|calc"}
    write_run(folder, made_results(), "compare", {}, environment, complete=True)
    result = invoke(["report", str(folder), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(io.StringIO(result.stdout))
    text = [v for c in rows.columns if not pd.api.types.is_numeric_dtype(rows[c])
            for v in rows[c].dropna()]  # fmt: skip
    assert not any(str(v).startswith(("=", "+", "-", "@")) for v in text), text
    assert "'=HYPERLINK(evil)" in text  # the folder's name, as text
    assert rows["params"].tolist() == [1_186_378, 174_821]  # numbers stay numbers


# ---------------------------------------------------------------- data readers


def _tar_header(name: str, size_field: bytes, kind: bytes = b"0") -> bytes:
    """A ustar header whose size field says `size_field`, with a checksum that holds."""
    import tarfile

    info = tarfile.TarInfo(name)
    info.type = kind
    header = bytearray(info.tobuf(format=tarfile.USTAR_FORMAT))
    header[124:136] = size_field.ljust(11, b" ")[:11] + b"\0"
    header[148:156] = b" " * 8
    header[148:156] = f"{sum(header):06o}\0 ".encode()
    return bytes(header)


def test_a_negative_tar_size_does_not_cancel_the_cap() -> None:
    import io

    from dsbench.data import tarball

    member = b"x" * 200_000
    archive = (_tar_header("pax", b"-7777777777", b"x") + _tar_header("a", f"{len(member):o}".encode())
               + member + bytes(512 - len(member) % 512) + bytes(1024))  # fmt: skip
    with pytest.raises(tarball.Refused, match="is not a tar archive"):
        tarball.read_members(io.BytesIO(archive), {"a"}, 100_000)


def test_a_pax_size_of_other_digits_is_refused() -> None:
    import io

    from dsbench.data import tarball

    record = "size=²\n".encode()
    record = f"{len(record) + 3} ".encode() + record
    body = record + bytes(512 - len(record))
    archive = _tar_header("pax", f"{len(record):o}".encode(), b"x") + body + bytes(1024)
    with pytest.raises(tarball.Refused, match="bad size"):
        tarball.read_members(io.BytesIO(archive), {"a"}, 100_000)


def test_a_member_given_twice_is_refused() -> None:
    import io
    import tarfile

    from dsbench.data import tarball

    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as tar:
        for content in (b"first", b"second"):
            info = tarfile.TarInfo("./a" if content == b"second" else "a")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    with pytest.raises(tarball.Refused, match="holds 'a' twice"):
        tarball.read_members(io.BytesIO(stream.getvalue()), {"a"}, 100_000)


def test_a_damaged_byte_in_a_stored_gzip_block_is_refused(cifar_archive: Path) -> None:
    import gzip

    from dsbench import data
    from dsbench.errors import DsbenchError

    raw = bytearray(gzip.compress(gzip.decompress(cifar_archive.read_bytes()), compresslevel=0))
    raw[len(raw) // 3] ^= 0x01  # inside a batch's pixels: decompresses, but the CRC differs
    cifar_archive.write_bytes(bytes(raw))
    with pytest.raises(DsbenchError, match=r"damaged|CRC|corrupt"):
        data.load_cifar10(cifar_archive.parent)


def test_a_tiny_pickle_cannot_allocate_a_huge_array(cifar_dir: Path) -> None:
    import pickle
    import tracemalloc

    import numpy as np

    from dsbench import data
    from dsbench.errors import DsbenchError

    class Huge:
        def __reduce__(self) -> Any:
            from numpy._core.multiarray import _reconstruct

            return _reconstruct, (np.ndarray, (50_000_000,), np.dtype("O"))

    path = cifar_dir / "cifar-10-batches-py" / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Huge(), b"labels": []}, protocol=3))
    assert path.stat().st_size < 300
    tracemalloc.start()
    try:
        with pytest.raises(DsbenchError, match="is not a CIFAR-10 batch"):
            data.load_cifar10(cifar_dir)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, f"{peak / 2**20:.0f} MiB"


def test_an_image_file_is_decoded_only_by_an_image_decoder(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from PIL import EpsImagePlugin

    from dsbench.data.images import check_image_budget
    from dsbench.errors import DsbenchError

    opened: list[str] = []
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open",
                        lambda self: opened.append("eps") or 1 / 0)  # fmt: skip
    fake = tmp_path / "x.png"
    fake.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 32 32\nshowpage\n")
    with pytest.raises(DsbenchError):
        check_image_budget([fake])
    assert opened == []  # the PostScript decoder (Ghostscript) was never asked


# ---------------------------------------------------------------- links and checkpoints


@pytest.mark.parametrize("name", ["checkpoints", "points"])
def test_dsbench_writes_through_no_link_in_a_results_folder(name: str, tmp_path: Path) -> None:
    from dsbench.errors import DsbenchError
    from dsbench.store.files import ResultsFolder

    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / name).symlink_to(outside)
    writer = ResultsFolder(folder, existing=True)
    with pytest.raises(DsbenchError, match="is a symbolic link"):
        writer.checkpoints() if name == "checkpoints" else writer.point("k3")
    (folder / name).unlink()
    if name == "points":  # a link one level down, as a point's own folder
        (folder / "points").mkdir()
        (folder / "points" / "k3").symlink_to(outside)
        with pytest.raises(DsbenchError, match="is a symbolic link"):
            writer.point("k3")
    assert list(outside.iterdir()) == []


def test_a_checkpoint_larger_than_its_model_is_refused_before_loading(tmp_path: Path) -> None:
    import zipfile

    from dsbench.errors import DsbenchError
    from dsbench.run.checkpoints import _check_size, max_checkpoint_bytes

    bomb = tmp_path / "normal-r0-e1.keras"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model.weights.h5", bytes(max_checkpoint_bytes(1000) + 1))
    assert bomb.stat().st_size < max_checkpoint_bytes(1000)  # small on disk, large unpacked
    with pytest.raises(DsbenchError, match="more than a model of 1,000 parameters can"):
        _check_size(bomb, 1000, "hint")
    _check_size(bomb, 100_000, "hint")  # a model large enough may hold it
