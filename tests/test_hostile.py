"""Hostile and careless input through the CLI: archives, pickles, images, configs, results
folders and flags. Each case gets one line on stderr, exit code 2, no traceback, no results
folder left behind, no other file changed, and ends in bounded time (a hang fails the test).

Every fixture is made here: tar headers, pickles and PNG headers are written byte by byte.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dsbench import data

TINY = ["--dataset", "synthetic", "--train-size", "64", "--test-size", "32", "--batch-size", "32",
        "--blocks", "8x1", "--epochs", "1", "--no-inference", "--no-progress"]  # fmt: skip
ROWS = 20  # images per tiny CIFAR batch (the loader is told to expect this many)


# ---------------------------------------------------------------- builders


def tar_header(name: str, size: int, kind: bytes = b"0", link: str = "") -> bytes:
    """One ustar header block with a correct checksum."""
    header = bytearray(512)
    header[: len(name.encode())] = name.encode()[:100]
    header[100:108] = b"0000644\0"
    header[108:124] = b"0000000\0" * 2
    header[124:136] = (b"%011o\0" % size) if size < 8**11 else (b"%012o" % size)
    header[136:148] = b"00000000000\0"
    header[156:157] = kind
    header[157 : 157 + len(link)] = link.encode()
    header[257:265] = b"ustar\x0000"
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def tar_member(name: str, content: bytes, kind: bytes = b"0") -> bytes:
    padding = -len(content) % 512
    return tar_header(name, len(content), kind) + content + bytes(padding)


def write_archive(path: Path, *members: bytes, raw: bool = False) -> Path:
    body = b"".join(members) + bytes(1024)
    path.write_bytes(body if raw else gzip.compress(body))
    return path


def batch_bytes(rows: int = ROWS, data: Any = None, labels: Any = None) -> bytes:
    batch = {b"data": np.zeros((rows, 3072), np.uint8) if data is None else data,
             b"labels": [i % 10 for i in range(rows)] if labels is None else labels}  # fmt: skip
    return pickle.dumps(batch, protocol=4)


def cifar_folder(root: Path, broken: str = "", content: bytes | None = None) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in (*data.TRAIN_FILES, data.TEST_FILE):
        if name != broken:
            (folder / name).write_bytes(batch_bytes())
        elif content is not None:
            (folder / name).write_bytes(content)
    return folder


class _Evil:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("echo pwned > pwned.txt",))


def png(width: int = 8, height: int = 8, mode: str = "RGB", declared: tuple[int, int] | None = None) -> bytes:  # fmt: skip
    """A small PNG; `declared` rewrites its header to claim another size (a bomb's trick)."""
    from PIL import Image

    stream = io.BytesIO()
    Image.new(mode, (width, height)).save(stream, format="PNG")
    raw = bytearray(stream.getvalue())
    if declared:
        raw[16:24] = struct.pack(">II", *declared)
        raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])))
    return bytes(raw)


def image_tree(root: Path, images: int = 4) -> Path:
    for split in ("train", "test"):
        for name in ("cat", "dog"):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(images):
                (folder / f"{i}.png").write_bytes(png())
    return root


def results_folder(root: Path, **documents: Any) -> Path:
    """A results folder of `compare` with its summary.json (and other files) as given."""
    root.mkdir(parents=True, exist_ok=True)
    summary = {"command": "compare", "status": "complete", "kinds": ["normal", "separable"],
               "models": [{"model": "normal", "params": 1, "ms_per_step": 2.0},
                          {"model": "separable", "params": 1, "ms_per_step": 1.0}],
               "settings": {"train": {"epochs": 1}}, "warnings": []}  # fmt: skip
    for name, content in {"summary.json": summary, **documents}.items():
        target = root / name.replace("__", ".")
        if isinstance(content, (bytes, str)):
            target.write_bytes(content if isinstance(content, bytes) else content.encode())
        else:
            target.write_text(json.dumps(content))
    return root


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# ---------------------------------------------------------------- the cases

Case = Callable[[Path], list[str]]


def _compare(data_dir: Path, *extra: str) -> list[str]:
    return ["compare", "--dataset", "cifar10", "--data-dir", str(data_dir), "--epochs", "1",
            "--no-progress", *extra]  # fmt: skip


def _tree_with(root: Path, name: str, content: bytes | None, fifo: bool = False) -> list[str]:
    tree = image_tree(root / "images")
    target = tree / "train" / "cat" / name
    if fifo:
        os.mkfifo(target)
    elif content is not None:
        target.write_bytes(content)
    return ["compare", "--data-dir", str(tree), "--epochs", "1", "--batch-size", "4",
            "--no-progress"]  # fmt: skip


def _archive(root: Path, *members: bytes, raw: bool = False) -> list[str]:
    return _compare(write_archive(root / "cifar-10-python.tar.gz", *members, raw=raw))


def _config(root: Path, content: bytes | None = None, fifo: bool = False) -> list[str]:
    path = root / "bad.toml"
    if fifo:
        os.mkfifo(path)
    else:
        path.write_bytes(content or b"")
    return ["compare", *TINY, "--config", str(path)]


def _report(root: Path, **documents: Any) -> list[str]:
    return ["report", str(results_folder(root / "res", **documents))]


def _resume_naming(root: Path, model: dict[str, Any] | None = None,
                   train: dict[str, Any] | None = None) -> list[str]:  # fmt: skip
    """An interrupted folder someone sent, naming a builder file or a folder outside it."""
    (root / "evil.py").write_text(
        "from pathlib import Path\nPath(__file__).with_name('pwned.txt').write_text('ran')\n"
        "def build(input_shape, num_classes):\n    raise SystemExit(0)\n"
    )
    args = _resume(root)
    folder = Path(args[1])
    summary = json.loads((folder / "summary.json").read_text())
    summary["settings"]["model"] = model or {}
    summary["settings"]["train"].update(train or {})
    (folder / "summary.json").write_text(json.dumps(summary))
    return args


def _one_model(**figures: Any) -> dict[str, Any]:
    """A summary.json whose normal model has these figures (JSON writes inf as Infinity)."""
    return {"command": "compare", "kinds": ["normal", "separable"], "settings": {},
            "models": [{"model": "normal", "params": 1, **figures},
                       {"model": "separable", "params": 1}]}  # fmt: skip


def _baseline_against(root: Path, **figures: Any) -> list[str]:
    old = results_folder(root / "old", summary__json=_one_model(**figures))
    new = results_folder(root / "new", summary__json=_one_model())
    return ["report", str(new), "--baseline", str(old), "--force-baseline"]


def _resume(root: Path, **documents: Any) -> list[str]:
    incomplete = {"command": "compare", "status": "incomplete", "kinds": ["normal", "separable"],
                  "models": [], "settings": {"data": {"dataset": "synthetic", "train_size": 64,
                  "test_size": 32}, "train": {"epochs": 2, "batch_size": 32}}}  # fmt: skip
    return ["resume", str(results_folder(root / "res", summary__json=incomplete, **documents))]


HEADER = "cifar-10-batches-py/"
CASES: dict[str, Case] = {
    # archives
    "archive: pax header that loops tarfile": lambda r: _archive(
        r, tar_header("././@PaxHeader", 60, b"x") + b"1 " * 30 + bytes(452)),
    "archive: hard link to a large member": lambda r: _archive(
        r, tar_member(HEADER + "big", bytes(4096)),
        tar_header(HEADER + "data_batch_1", 0, b"1", HEADER + "big")),
    "archive: symbolic link": lambda r: _archive(
        r, tar_header(HEADER + "data_batch_1", 0, b"2", "/etc/passwd")),
    "archive: GNU long name of 2 GB": lambda r: _archive(r, tar_header("././@LongLink", 2**31, b"L")),
    "archive: member of 10 GB": lambda r: _archive(r, tar_header(HEADER + "data_batch_1", 10 * 2**30)),
    "archive: FIFO member": lambda r: _archive(r, tar_header(HEADER + "data_batch_1", 0, b"6")),
    "archive: device member": lambda r: _archive(r, tar_header(HEADER + "data_batch_1", 0, b"3")),
    "archive: bad header checksum": lambda r: _archive(
        r, tar_header(HEADER + "x", 0)[:148] + b"0000001\0" + tar_header(HEADER + "x", 0)[156:]),
    "archive: not gzip": lambda r: _archive(r, b"just some text" * 40, raw=True),
    "archive: cut short": lambda r: _compare(write_archive(
        r / "cifar-10-python.tar.gz", tar_member(HEADER + "data_batch_1", batch_bytes()))),
    "archive: path traversal": lambda r: _archive(r, tar_member("../../evil.txt", b"x")),
    "archive: member too large for a batch": lambda r: _archive(
        r, tar_header(HEADER + "data_batch_1", 40_000_000)),
    "archive: FIFO in its place": lambda r: (os.mkfifo(r / "cifar-10-python.tar.gz"),
                                             _compare(r))[1],
    # pickles
    "pickle: runs code": lambda r: _compare(cifar_folder(
        r, "data_batch_1", pickle.dumps({b"data": _Evil(), b"labels": []}, protocol=4)).parent),
    "pickle: float pixels": lambda r: _compare(cifar_folder(r, "data_batch_2", batch_bytes(
        data=np.zeros((ROWS, 3072), np.float64))).parent),
    "pickle: labels a nested list": lambda r: _compare(cifar_folder(r, "data_batch_2", batch_bytes(
        labels=[[1] * 1000] * ROWS)).parent),
    "pickle: nested 100,000 deep": lambda r: _compare(cifar_folder(
        r, "data_batch_1", b"(" * 100_000 + b"l" * 100_000 + b".").parent),
    "pickle: labels out of range": lambda r: _compare(cifar_folder(
        r, "test_batch", batch_bytes(labels=[12] * ROWS)).parent),
    "pickle: truncated": lambda r: _compare(cifar_folder(r, "data_batch_3", batch_bytes()[:999]).parent),
    "pickle: FIFO": lambda r: (os.mkfifo((f := cifar_folder(r, "data_batch_4")) / "data_batch_4"),
                               _compare(f.parent))[1],
    "pickle: sparse file of 4 GB": lambda r: (os.truncate(
        (f := cifar_folder(r, "data_batch_5", b"")) / "data_batch_5", 4 * 2**30), _compare(f.parent))[1],
    # images
    "image: declares 50000x50000": lambda r: _tree_with(r, "bomb.png", png(declared=(50000, 50000))),
    "image: declares 8000x8000 (x16)": lambda r: _many_bombs(r),
    "image: FIFO named x.png": lambda r: _tree_with(r, "x.png", None, fifo=True),
    "image: text named x.png": lambda r: _tree_with(r, "x.png", b"not an image at all"),
    "image: truncated PNG": lambda r: _tree_with(r, "x.png", png(8, 8)[:45]),
    "image: another size": lambda r: _tree_with(r, "x.png", png(16, 16)),
    "image: folder named x.png": lambda r: (image_tree(r / "images"),
        (r / "images" / "test" / "dog" / "x.png").mkdir(),
        ["compare", "--data-dir", str(r / "images"), "--epochs", "1"])[2],
    # configs
    "config: FIFO": lambda r: _config(r, fifo=True),
    "config: 2 MB": lambda r: _config(r, b"# " + b"x" * 2_000_000 + b"\n"),
    "config: nested 100,000 deep": lambda r: _config(r, b"[train]\nepochs = " + nested(100_000).encode()),
    "config: not UTF-8": lambda r: _config(r, b"[train]\nepochs = \xff\xfe\n"),
    "config: wrong type": lambda r: _config(r, b'[train]\nepochs = "ten"\n'),
    "config: unknown section": lambda r: _config(r, b"[trian]\nepochs = 1\n"),
    # results folders
    "results: summary.json nested 100,000 deep": lambda r: _report(r, summary__json=nested(100_000)),
    "results: params as text": lambda r: _report(r, summary__json={"models": [
        {"model": "normal", "params": "1,186,378"}]}),
    "results: model name with Rich markup": lambda r: _report(r, summary__json={"models": [
        {"model": "[/x]", "params": 1}]}),
    "results: model name with escape codes": lambda r: _report(r, summary__json={"models": [
        {"model": "\x1b[2J\x1b]0;owned\x07", "params": 1}]}),
    "results: settings of the wrong type": lambda r: _report(r, summary__json={
        "models": [], "settings": {"train": {"epochs": "many"}}}),
    "results: warnings not text": lambda r: _report(r, summary__json={"models": [], "warnings": [{}]}),
    "results: history epochs twice": lambda r: _report(
        r, history__csv="model,repeat,epoch,loss\nnormal,0,1,1.0\nnormal,0,1,0.9\n"),
    "results: environment device a list": lambda r: _report(r, environment__json={"device": [1]}),
    "results: bench.json without rows": lambda r: ["report", str(_bench(r, {"rows": [{"mode": "train"}]}))],
    "results: sweep.json axes wrong": lambda r: ["report", str(_sweep(r, {"axes": {"kernel_size": "3"},
                                                                         "rows": []}))],
    "results: summary.json is a FIFO": lambda r: ["report", str(_fifo_summary(r))],
    "results: params Infinity": lambda r: _report(r, summary__json=_one_model(params=float("inf"))),
    "results: runs NaN": lambda r: _report(r, summary__json=_one_model(runs=float("nan"))),
    "results: best val acc 5": lambda r: _report(r, summary__json=_one_model(best_val_acc=5.0)),
    "results: a negative time": lambda r: _report(r, summary__json=_one_model(ms_per_step=-2.0)),
    "baseline: steps per epoch 0": lambda r: _baseline_against(r, steps_per_epoch=0),
    "baseline: params 0": lambda r: _baseline_against(r, params=0),
    "results: bench row without target_reached": lambda r: ["report", str(_bench(r, {"rows": [
        {"mode": "train", "batch_size": 8, "ratio": 0.3, "pairs": 9, "normal_ms_per_step": 2.0,
         "separable_ms_per_step": 1.0}]}))],
    "archive: a negative size cancels the cap": lambda r: _archive(
        r, tar_header("././@PaxHeader", -(8**10 - 1), b"x"),
        tar_member(HEADER + "data_batch_1", bytes(4096))),
    "archive: a member twice": lambda r: _archive(
        r, tar_member(HEADER + "test_batch", b"x"), tar_member("./" + HEADER + "test_batch", b"y")),
    "resume: runs.csv of text": lambda r: _resume(r, runs__csv="model,repeat\nnormal,zero\n"),
    "resume: a builder file the folder names": lambda r: _resume_naming(
        r, {"arch": f"{r / 'evil.py'}:build"}),
    "resume: a keras application that is not one": lambda r: _resume_naming(
        r, {"arch": "keras.applications.__class__"}),
    "resume: a TensorBoard folder outside it": lambda r: _resume_naming(
        r, train={"tensorboard": str(r / "elsewhere")}),
    "resume: a link at checkpoints/": lambda r: (
        (r / "elsewhere").mkdir(), (r / "res").mkdir(),
        (r / "res" / "checkpoints").symlink_to(r / "elsewhere"),
        _resume_naming(r, train={"checkpoint": True}))[-1],
    "resume: pointer outside checkpoints": lambda r: _resume_pointer(r),
    "resume: sweep axes it could not have run": lambda r: ["resume", str(_sweep(r, {
        "status": "incomplete", "axes": {"kernel_size": [1000], "width": [1.0],
        "blocks": ["64x2"]}, "rows": [], "settings": {"data": {"dataset": "synthetic"}}}))],
    # flags
    "flag: a model of 2 trillion parameters": lambda r: ["compare", *TINY, "--blocks", "65536x64"],
    "flag: profile steps without a tensorboard folder": lambda r: ["compare", *TINY,
                                                                   "--profile-steps", "2,3"],
    "flag: seed 2**32": lambda r: ["compare", *TINY, "--seed", str(2**32)],
    "flag: seed + repeats beyond 2**32": lambda r: ["compare", *TINY, "--seed", str(2**32 - 1),
                                                    "--repeats", "2"],
    "flag: kernel size 1,000,000": lambda r: ["compare", *TINY, "--kernel-size", "1000000"],
    "flag: steps per execution 2**31": lambda r: ["compare", *TINY, "--steps-per-execution",
                                                  str(2**31)],
    "flag: tensorboard under a file": lambda r: ((r / "file").write_text("x"),
        ["compare", *TINY, "--tensorboard", str(r / "file" / "logs")])[1],
    "flag: synthetic larger than the memory": lambda r: ["compare", *TINY, "--train-size",
                                                         str(10**9)],
    "flag: output dir not dsbench's, forced": lambda r: ((r / "mine").mkdir(),
        (r / "mine" / "a.txt").write_text("x"),
        ["compare", *TINY, "--output-dir", str(r / "mine"), "--force"])[2],
}  # fmt: skip


def _many_bombs(root: Path) -> list[str]:
    """16 PNGs of a few hundred bytes each that say they are 8000x8000 (3 GB decoded)."""
    tree = image_tree(root / "images", images=4)
    for path in tree.rglob("*.png"):
        path.write_bytes(png(declared=(8000, 8000)))
    return ["compare", "--data-dir", str(tree), "--epochs", "1", "--no-progress"]


def _bench(root: Path, document: dict[str, Any]) -> Path:
    folder = root / "bench"
    folder.mkdir()
    (folder / "bench.json").write_text(json.dumps(document))
    return folder


def _sweep(root: Path, document: dict[str, Any]) -> Path:
    folder = root / "sweep"
    folder.mkdir()
    (folder / "sweep.json").write_text(json.dumps(document))
    return folder


def _fifo_summary(root: Path) -> Path:
    folder = root / "res"
    folder.mkdir()
    os.mkfifo(folder / "summary.json")
    return folder


def _resume_pointer(root: Path) -> list[str]:
    args = _resume(root)
    folder = Path(args[1])
    summary = json.loads((folder / "summary.json").read_text())
    summary["settings"]["train"]["checkpoint"] = True
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "normal-r0.json").write_text(
        json.dumps({"model_file": "../../../etc/passwd", "epochs": [{"epoch": 1}]})
    )
    (folder / "runs.csv").write_text(
        "model,repeat,seed,status,params,macs_per_image,steps_per_epoch,batch_size,replicas,jit\n"
        "normal,0,0,complete,1,1,2,32,1,False\n"
    )
    (folder / "history.csv").write_text("model,repeat,seed,epoch,loss\nnormal,0,0,1,1.0\n")
    return args


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in root.rglob("*")
        if "out" not in p.relative_to(root).parts
    }


@pytest.fixture
def hang_guard() -> Iterator[None]:
    """Fail a case that does not end within 60 s (a hang), instead of blocking the suite."""

    def stop(signum: int, frame: Any) -> None:
        raise TimeoutError("the command did not end within 60 s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_the_matrix_is_large() -> None:
    assert len(CASES) >= 40


@pytest.mark.tf
@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_gets_one_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hang_guard: None, invoke: Any
) -> None:
    monkeypatch.setattr(data.cifar, "BATCH_ROWS", ROWS)
    monkeypatch.chdir(tmp_path)
    args = CASES[case](tmp_path)
    if "--output-dir" not in args and args[0] not in ("report", "resume"):
        args = [*args, "--output-dir", str(tmp_path / "out")]
    before = _snapshot(tmp_path)
    result = invoke(args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not any(ch in result.stderr for ch in "\x1b\x07"), "control characters printed"
    assert not (tmp_path / "out").exists(), "a results folder was left behind"
    assert _snapshot(tmp_path) == before, "a file outside the run's folder changed"
    assert not (tmp_path / "pwned.txt").exists()


# Cases whose input is small and whose refusal must not cost memory either: each is run as
# its own process, with its peak resident memory read from the kernel.
BOUNDED = ["archive: GNU long name of 2 GB", "archive: member of 10 GB",
           "archive: hard link to a large member", "image: declares 50000x50000",
           "image: declares 8000x8000 (x16)", "pickle: sparse file of 4 GB",
           "results: summary.json nested 100,000 deep", "config: nested 100,000 deep",
           "flag: synthetic larger than the memory"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", BOUNDED)
def test_hostile_input_is_bounded_in_memory_and_time(case: str, tmp_path: Path) -> None:
    args = CASES[case](tmp_path)
    if "--output-dir" not in args and args[0] not in ("report", "resume"):
        args = [*args, "--output-dir", str(tmp_path / "out")]
    # VmHWM is this process's own peak (ru_maxrss would carry over the parent's across fork).
    code = (
        "import re, sys\nfrom dsbench.data import cifar\n"
        f"cifar.BATCH_ROWS = {ROWS}\nfrom dsbench.cli.main import app\n"
        "try:\n    app(sys.argv[1:])\nexcept SystemExit as exit:\n"
        "    status = open('/proc/self/status').read()\n"
        "    print(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n    raise\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=env)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    peak_mib = int(proc.stdout.split()[-1]) / 1024
    assert peak_mib < 1024, f"{case}: peak RSS {peak_mib:.0f} MiB"
