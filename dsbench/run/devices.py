"""`sweep --devices`: one worker process per device of this machine, all filling one sweep
folder, each pulling the next unclaimed point of the plan (run/sweeping.py's claims), so that
no two points are timed on one device at once.

A GPU worker sees its GPU alone (CUDA_VISIBLE_DEVICES). `cpu:N` splits this machine's cores
into N disjoint sets, a worker pinned to each (sched_setaffinity): its two models still
alternate epoch by epoch on its own cores, so each point's ratio is measured within one worker,
but the workers share memory bandwidth and caches, so absolute times are not a lone run's.

A worker is `python -m dsbench.run.sweep_worker FILE`, its sweep read from FILE (JSON).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dsbench.errors import USAGE, DsbenchError
from dsbench.observer import Observer
from dsbench.run.outcome import SweepResult
from dsbench.spec.request import SweepRequest
from dsbench.spec.shard import Shard

POLL_S = 2.0


@dataclass(frozen=True)
class Device:
    """One worker's device: a GPU's index, or a set of CPU cores."""

    gpu: int | None = None
    cores: tuple[int, ...] = ()

    def __str__(self) -> str:
        if self.gpu is not None:
            return f"GPU {self.gpu}"
        return f"CPU cores {','.join(map(str, self.cores))}"


def gpus() -> int:
    """How many NVIDIA GPUs this machine has (nvidia-smi -L), 0 without the tool."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return 0
    try:
        listed = subprocess.run([tool, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(line.startswith("GPU ") for line in listed.stdout.splitlines())


def parse_devices(text: str, found: int | None = None) -> list[Device]:
    """`0,1,3` or `all` (GPUs, as nvidia-smi numbers them), or `cpu:N` (this machine's cores
    in N disjoint sets). Refused in one line when the machine lacks them."""
    text = str(text).strip().lower()
    if text.startswith("cpu:"):
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        count = text[4:]
        if not count.isdigit() or not 1 <= int(count) <= len(cores):
            raise DsbenchError(f"devices {text}: N must be from 1 to the {len(cores)} cores here",
                               "give --devices cpu:N", setting="devices")  # fmt: skip
        sets = [tuple(cores[i :: int(count)]) for i in range(int(count))]
        return [Device(cores=cores_set) for cores_set in sets]
    found = gpus() if found is None else found
    if found == 0:
        raise DsbenchError(
            f"devices {text}: this machine has no GPU (nvidia-smi finds none)",
            "on a CPU, --devices cpu:N runs N workers on disjoint sets of cores",
            setting="devices",
        )
    if text == "all":
        return [Device(gpu=index) for index in range(found)]
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() for part in parts) or len(set(parts)) != len(parts):
        raise DsbenchError(f"devices {text!r} is not a list of GPU numbers, all or cpu:N",
                           "e.g. --devices 0,1 or --devices all", setting="devices")  # fmt: skip
    if missing := [int(p) for p in parts if int(p) >= found]:
        raise DsbenchError(f"devices: this machine has {found} GPUs (0 to {found - 1}), not "
                           f"{', '.join(map(str, missing))}", "give GPUs it has, or all",
                           setting="devices")  # fmt: skip
    return [Device(gpu=int(part)) for part in parts]


def prepare(request: SweepRequest) -> Path:
    """What a sweep run by workers of its own (--devices, --ray) checks first, once: its
    settings, and its folder (cleared here under force, then filled by the workers)."""
    from dsbench.run import checks, runner
    from dsbench.store import files as store

    if request.summary_only or request.shard is not None:
        raise DsbenchError("devices and ray run the whole sweep in workers of their own",
                           "drop summary_only and shard", setting=("summary_only", "shard"))  # fmt: skip
    folder = request.output_dir
    if folder is None:
        raise DsbenchError("devices and ray write one sweep folder that their workers fill",
                           "give an output_dir", setting="output_dir")  # fmt: skip
    if callable(request.spec.model.arch):
        raise DsbenchError("a function given from Python cannot go to worker processes",
                           "put it in a file and give arch as FILE.py:FUNCTION",
                           setting="arch")  # fmt: skip
    checks.check_points(request.spec, request.points)
    if request.force:
        store.ResultsFolder(folder, force=True).ready()
    runner.sweep_writer(dataclasses.replace(request, force=False, shard=Shard(0, 1)))
    return folder


def work(request: SweepRequest) -> dict[str, Any]:
    """The sweep every worker runs, as a JSON document: settings, points, folder."""
    return {"settings": request.spec.as_dict(), "output_dir": str(request.output_dir),
            "points": [dataclasses.asdict(point) for point in request.points],
            "verbose": request.verbose}  # fmt: skip


def sweep(request: SweepRequest, observer: Observer) -> SweepResult:
    """Run `request` in one worker per device of `request.devices`, into its folder; returns
    the SweepResult read back from the folder once every worker has ended."""
    from dsbench.store import files as store

    devices = parse_devices(str(request.devices))
    folder = prepare(request)
    work = _work_file(request)
    try:
        with contextlib.ExitStack() as stack:  # each worker's stderr: a pipe would fill, block
            logs = [stack.enter_context(tempfile.TemporaryFile("w+")) for _ in devices]
            workers = [_start(work, device, log) for device, log in zip(devices, logs,
                                                                          strict=True)]  # fmt: skip
            _follow(request, [worker for worker, _ in workers], observer)
            _raise_failed(workers, logs, folder)
    finally:
        Path(work).unlink(missing_ok=True)
    return SweepResult(request.spec, store.read_sweep(folder), [], folder)


def _follow(request: SweepRequest, workers: list[subprocess.Popen[str]],
            observer: Observer) -> None:  # fmt: skip
    """Wait for the workers, reporting each point as its folder says it is done; Ctrl-C
    stops every worker (each keeps what it finished)."""
    assert request.output_dir is not None
    slugs = [point.slug for point in request.points]
    labels = {point.slug: point.label(request.spec.model) for point in request.points}
    reported: set[str] = set()
    observer.points_start(len(slugs))
    try:
        while any(worker.poll() is None for worker in workers):
            time.sleep(POLL_S)
            _report(request.output_dir, slugs, labels, reported, observer)
    except KeyboardInterrupt:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            worker.wait()
        raise
    _report(request.output_dir, slugs, labels, reported, observer)


def _raise_failed(workers: list[tuple[subprocess.Popen[str], Device]], logs: list[Any],
                  folder: Path) -> None:  # fmt: skip
    """The first failed worker's error line, as this process's error."""
    for (worker, device), log in zip(workers, logs, strict=True):
        if worker.returncode == 0:
            continue
        log.seek(0)
        said = [line for line in log.read().splitlines() if line.startswith("error: ")]
        raise DsbenchError(
            f"the worker on {device} failed: "
            + (said[-1].removeprefix("error: ") if said else f"exit code {worker.returncode}"),
            f"the points finished are in {folder}; run the same command again to finish the rest",
            exit_code=worker.returncode if worker.returncode == USAGE else 1,
        )


def _report(folder: Path, slugs: list[str], labels: dict[str, str], reported: set[str],
            observer: Observer) -> None:  # fmt: skip
    """Report the points done since the last look (a point reported is not read again; the
    claims are not looked at, so that looking never holds a worker's lock)."""
    from dsbench.store.files import read_summary
    from dsbench.store.folders import POINTS

    for slug in [slug for slug in slugs if slug not in reported]:
        point = folder / POINTS / slug
        if (point / "summary.json").is_file() and read_summary(point).complete:
            reported.add(slug)
            observer.point_done(labels[slug])


def _work_file(request: SweepRequest) -> str:
    """The sweep every worker runs, in a file (work)."""
    handle, path = tempfile.mkstemp(prefix="dsbench-sweep-", suffix=".json")
    with os.fdopen(handle, "w") as stream:
        json.dump(work(request), stream)
    return path


def _start(work: str, device: Device, log: Any) -> tuple[subprocess.Popen[str], Device]:
    environment = dict(os.environ)
    if device.gpu is not None:
        environment["CUDA_VISIBLE_DEVICES"] = str(device.gpu)
    cores = set(device.cores)

    def pin() -> None:  # in the worker, before Python starts
        if cores:
            os.sched_setaffinity(0, cores)

    worker = subprocess.Popen([sys.executable, "-m", "dsbench.run.sweep_worker", work],
                              env=environment, preexec_fn=pin, stdout=subprocess.DEVNULL,
                              stderr=log, text=True)  # fmt: skip
    return worker, device
