"""Sweeps past one machine: the plan, shards (given, or from Slurm and Kubernetes), claims on
points that survive a killed worker, and one sweep folder that many workers fill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import fuzzed, write_sweep
from hypothesis import strategies as st

import dsbench
from dsbench.errors import DsbenchError
from dsbench.measure import sweep as sweeps
from dsbench.measure.summary import model_rows
from dsbench.spec import grid
from dsbench.spec.settings import ModelSpec, RunSpec
from dsbench.spec.shard import Shard, from_scheduler, parse_shard
from dsbench.store import claims as claims_module
from dsbench.store import folders
from dsbench.store.claims import Claims, states

TINY = ["--dataset", "synthetic", "--train-size", "256", "--test-size", "64", "--batch-size",
        "32", "--blocks", "8x1,16x1", "--no-inference", "--epochs", "2", "--no-progress"]  # fmt: skip


@fuzzed(fast=40, deep=400, count=st.integers(1, 12), points=st.integers(0, 40))
def _shards_split_the_plan(count: int, points: int) -> None:
    plan = list(range(points))
    chosen = [Shard(index, count).select(plan) for index in range(count)]
    assert sorted(p for share in chosen for p in share) == plan  # complete, none twice
    for share in chosen:
        assert share == sorted(share)  # each in the plan's order
    assert max(map(len, chosen)) - min(map(len, chosen)) <= 1  # as even as they can be


test_shards_split_the_plan, test_shards_split_the_plan_deep = _shards_split_the_plan


def test_a_shard_is_given_or_read_from_the_scheduler() -> None:
    assert parse_shard("2/5", {}) == Shard(2, 5)
    slurm = {"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "1",
             "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "4"}  # fmt: skip
    assert parse_shard("auto", slurm) == Shard(3, 4, "slurm")  # --array=1-7:2: tasks 1,3,5,7
    assert from_scheduler({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "8"}) == Shard(
        0, 8, "slurm"
    )
    assert parse_shard("auto/6", {"JOB_COMPLETION_INDEX": "5"}) == Shard(5, 6, "kubernetes")


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("3/3", {}, "shard 3/3: I must be from 0 to 2"),
        ("1/0", {}, "N must be a whole number of 1 or more"),
        ("first", {}, "'first' is not I/N, auto or auto/N"),
        ("auto", {}, "found no scheduler's task index"),
        ("auto", {"JOB_COMPLETION_INDEX": "2"}, "but not how many there are"),
        ("auto/2", {"JOB_COMPLETION_INDEX": "2"}, "JOB_COMPLETION_INDEX 2 is not below the 2"),
        ("auto", {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1",
                  "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "4"},
         "Slurm array task 4 is not one of 4 tasks from 1 in steps of 2"),
        ("auto/3", {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "4"},
         "--shard auto/3 in a Slurm job array of 4 tasks"),
        ("auto", {"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "4"},
         "SLURM_ARRAY_TASK_ID is 'x', not a whole number"),
    ],
)  # fmt: skip
def test_a_shard_that_cannot_be_is_one_line(
    text: str, environ: dict[str, str], message: str, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    result = invoke(["sweep", "--kernel-size", "3,5", "--plan", "--shard", text])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line, line


def test_the_plan_is_the_order_every_worker_computes(invoke: Any) -> None:
    plan = dsbench.plan(kernel_size="3,5", width=[0.5, 1], shard="1/3")
    assert plan["point"].tolist() == [
        "k3-w0.5-b64x2_128x2_256x2", "k3-w1-b64x2_128x2_256x2",
        "k5-w0.5-b64x2_128x2_256x2", "k5-w1-b64x2_128x2_256x2"]  # fmt: skip
    assert plan["shard"].tolist() == [0, 1, 2, 0]
    assert plan["this_shard"].tolist() == [False, True, False, False]
    assert plan.loc[0, "label"] == "kernel 3, width 0.5 (blocks 32x2,64x2,128x2)"
    shown = invoke(["sweep", "--kernel-size", "3,5", "--width", "0.5,1", "--plan", "--json"])
    assert shown.exit_code == 0
    assert [row["point"] for row in json.loads(shown.stdout)] == plan["point"].tolist()
    # a lone number is an axis of one value (batch_size=32 was a TypeError)
    lone = dsbench.plan(kernel_size=5, width=0.5, batch_size=32)
    assert lone["point"].tolist() == ["k5-w0.5-b64x2_128x2_256x2"]
    with pytest.raises(DsbenchError, match="summary_only trains nothing"):
        dsbench.sweep(kernel_size="3,5", summary_only=True, shard="0/2")


def _sweep_folder(root: Path, present: list[str], host: str = "a") -> Path:
    """A sweep folder of kernel sizes 3, 5, 7 (its plan) holding the points `present`."""
    base = ModelSpec()
    points = grid.points_for(base, "3,5,7", None, None)
    models = model_rows(_made())
    rows = [sweeps.trained_rows(p, base, models, {"hostname": f"{host}{i}", "device": "device: x"})
            for i, p in enumerate(points) if p.slug in present]  # fmt: skip
    frame = pd.concat(rows) if rows else pd.DataFrame(columns=["point", "model", "scaled_blocks"])
    record = sweeps.sweep_summary(RunSpec(model=base), points, frame, False)
    write_sweep(root, record)  # these tests read no plot
    return root


def _made() -> list[Any]:
    from conftest import epoch_rows

    from dsbench.measure.records import RunResult

    rows = epoch_rows([3.0, 2.0, 2.1, 1.9], [0.3, 0.5, 0.6, 0.55])
    return [RunResult("normal", 0, 0, 1_186_378, 152_805_376, 10, 32, rows),
            RunResult("separable", 0, 0, 174_821, 18_295_808, 10, 32, rows)]  # fmt: skip


def test_report_of_a_sweep_lists_its_missing_points_and_its_machines(
    tmp_path: Path, invoke: Any, one_line: Any
) -> None:
    folder = _sweep_folder(tmp_path / "s", ["k3-w1-b64x2_128x2_256x2", "k7-w1-b64x2_128x2_256x2"])
    _, record = dsbench.report([folder]).records[0]
    assert record.missing == ["k5-w1-b64x2_128x2_256x2"] and record.machines == ["a0", "a2"]
    shown = one_line(invoke(["report", str(folder)]).stdout)
    assert "1 of 3 points missing (not trained yet, or training elsewhere): k5-w1-b64x2" in shown
    assert "points ran on 2 machines" in shown and "a0 (x)" in shown and "a2 (x)" in shown
    document = json.loads((folder / "sweep.json").read_text())
    document["plan"] = ["k3", "k3"]
    (folder / "sweep.json").write_text(json.dumps(document))
    refused = invoke(["report", str(folder)])
    assert refused.exit_code == 2 and "'plan' lists a point twice" in refused.stderr


def test_a_claim_is_one_worker_s_until_its_process_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claims_module, "CLAIM_WAIT_S", 0.05)  # a held claim is given up sooner
    claims, other = Claims(tmp_path), Claims(tmp_path)  # two open locks: as two processes
    with claims.point("k3") as first, other.point("k3") as second:
        assert (first, second) == (True, False)
        assert other.holder("k3") == {"host": os.uname().nodename, "pid": os.getpid(),
                                      "since_unix_s": pytest.approx(time.time(), abs=60)}  # fmt: skip
    assert other.holder("k3") is None and other.holder("never") is None
    assert not (tmp_path / "claims" / "never.lock").exists()  # asking creates nothing
    # a worker killed mid-point (SIGKILL: nothing of its own runs) leaves the point free
    code = ("import sys, time; from dsbench.store.claims import Claims\n"
            f"with Claims({str(tmp_path)!r}).point('k5') as mine:\n"
            "    print(mine, flush=True); time.sleep(60)\n")  # fmt: skip
    worker = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None and worker.stdout.readline().strip() == "True"
    with claims.point("k5") as taken:
        assert not taken
    assert (claims.holder("k5") or {}).get("pid") == worker.pid
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    with claims.point("k5") as taken:
        assert taken


def test_states_say_where_each_point_stands(tmp_path: Path) -> None:
    folder = _sweep_folder(tmp_path / "s", [])
    from helpers import write_run

    write_run(folder / "points" / "k3-w1-b64x2_128x2_256x2", _made(), "compare",
              {"train": {"epochs": 4}}, {}, complete=True)  # fmt: skip
    write_run(folder / "points" / "k5-w1-b64x2_128x2_256x2", _made(), "compare",
              {"train": {"epochs": 8}}, {}, complete=False)  # fmt: skip
    slugs = [p.slug for p in grid.points_for(ModelSpec(), "3,5,7", None, None)]
    with Claims(folder).point(slugs[2]):
        found = states(folder, slugs)
    assert found[:2] == ["done", "interrupted"]
    assert found[2].startswith(f"training on {os.uname().nodename} (process {os.getpid()})")
    plan = dsbench.plan(kernel_size="3,5,7", output_dir=folder)
    assert plan["state"].tolist() == ["done", "interrupted", "to do"]


def test_claims_are_part_of_the_sweep_folder(tmp_path: Path) -> None:
    folder = _sweep_folder(tmp_path / "s", ["k3-w1-b64x2_128x2_256x2"])
    with Claims(folder).point("k5-w1-b64x2_128x2_256x2"):
        pass
    assert folders.is_results_folder(folder)
    assert folders.find_results(tmp_path) == [(folders.FolderKind.sweep, folder)]
    folders.prepare_run_dir(folder, force=True)  # force clears them with the rest
    assert list(folder.iterdir()) == []


def test_a_shard_joins_only_its_own_sweep(tmp_path: Path, invoke: Any) -> None:
    folder = _sweep_folder(tmp_path / "s", ["k3-w1-b64x2_128x2_256x2"])
    other = invoke(["sweep", "--kernel-size", "3,5", "--shard", "0/2", *TINY, "-o", str(folder)])
    assert other.exit_code == 2 and "holds another sweep" in other.stderr
    forced = invoke(["sweep", "--kernel-size", "3,5,7", "--shard", "0/2", "--force", *TINY,
                     "-o", str(folder)])  # fmt: skip
    assert forced.exit_code == 2 and "--force with --shard would let one worker remove" in (
        forced.stderr
    )
    (tmp_path / "mine.txt").write_text("x")
    theirs = invoke(["sweep", "--kernel-size", "3", "--shard", "0/2", *TINY, "-o", str(tmp_path)])
    assert theirs.exit_code == 2 and "holds what is not a sweep's" in theirs.stderr


WORKER = """
import sys
import dsbench

class Said(dsbench.Observer):
    def point_done(self, label):
        print(label, flush=True)

dsbench.sweep(kernel_size="3,5,7", shard=sys.argv[3], output_dir=sys.argv[1], observer=Said(),
              dataset="synthetic", train_size=256, test_size=64, batch_size=32,
              blocks="8x1,16x1", inference=False, epochs=int(sys.argv[2]))
"""


def _worker(folder: Path, epochs: int = 2, shard: str = "0/1") -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WORKER, str(folder), str(epochs), shard],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _trained(output: str) -> set[str]:
    """The points a worker trained itself, from the labels it reported."""
    return {line for line in output.splitlines() if line and "(" not in line.split("(blocks")[-1]}


def _each_point_trained_once(folder: Path, epochs: int) -> None:
    document = json.loads((folder / "sweep.json").read_text())
    assert document["status"] == "complete" and len(document["plan"]) == 3
    for slug in document["plan"]:
        history = pd.read_csv(folder / "points" / slug / "history.csv")
        assert history.groupby("model").size().to_dict() == {"normal": epochs, "separable": epochs}
        runs = pd.read_csv(folder / "points" / slug / "runs.csv")
        assert sorted(runs["model"]) == ["normal", "separable"]


@pytest.mark.slow
@pytest.mark.parametrize("shards", [("0/2", "1/2"), ("0/1", "0/1")], ids=["shards", "claims"])
def test_two_workers_fill_one_sweep_and_train_each_point_once(
    tmp_path: Path, shards: tuple[str, str]
) -> None:
    # two shards started together, or two workers of one shard splitting it by their claims
    folder = tmp_path / "sweep"
    workers = [_worker(folder, shard=shard) for shard in shards]
    said = [worker.communicate(timeout=600) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], said
    trained = [_trained(out) for out, _ in said]
    assert len(trained[0] | trained[1]) == 3 and not trained[0] & trained[1], said
    _each_point_trained_once(folder, 2)


@pytest.mark.slow
def test_a_worker_killed_mid_point_is_finished_by_the_next(tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    first = _worker(folder, epochs=3)
    second_point = folder / "points" / "k5-w1-b8x1_16x1" / "history.csv"
    deadline = time.monotonic() + 300
    while not second_point.is_file() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)  # mid-point: its claim's lock goes with the process
    first.wait(timeout=30)
    assert dsbench.plan(kernel_size="3,5,7", blocks=["8x1,16x1"], output_dir=folder,
                        dataset="synthetic")["state"].tolist()[:2] == ["done", "interrupted"]  # fmt: skip
    out, err = _worker(folder, epochs=3).communicate(timeout=600)
    assert "k3" not in " ".join(_trained(out)) and "(kept from before)" in out, (out, err)
    _each_point_trained_once(folder, 3)


def test_devices_are_gpus_the_machine_has_or_sets_of_its_cores(invoke: Any) -> None:
    from dsbench.run.devices import Device, parse_devices

    assert parse_devices("all", found=2) == [Device(gpu=0), Device(gpu=1)]
    assert parse_devices("1,0", found=2) == [Device(gpu=1), Device(gpu=0)]
    cores = sorted(os.sched_getaffinity(0))
    halves = parse_devices("cpu:2") if len(cores) >= 2 else []
    assert sorted(c for d in halves for c in d.cores) == (cores if halves else [])
    assert all(d.gpu is None and d.cores for d in halves)
    for text, found, message in (("all", 0, "this machine has no GPU"),
                                 ("0,3", 2, r"this machine has 2 GPUs \(0 to 1\), not 3"),
                                 ("0,0", 2, "is not a list of GPU numbers"),
                                 ("cpu:0", 2, "N must be from 1 to the")):  # fmt: skip
        with pytest.raises(DsbenchError, match=message):
            parse_devices(text, found=found)
    refused = invoke(["sweep", "--kernel-size", "3", "--devices", "cpu:0", *TINY])
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    both = invoke(["sweep", "--kernel-size", "3", "--devices", "cpu:1", "--shard", "0/2", *TINY])
    assert both.exit_code == 2 and "drop --summary-only and --shard" in both.stderr


@pytest.mark.slow
def test_one_worker_per_set_of_cores_fills_one_sweep(tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    shown = subprocess.run([sys.executable, "-m", "dsbench", "sweep", "--kernel-size", "3,5,7",
                            *TINY, "--devices", "cpu:2", "-o", str(folder)],
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    _each_point_trained_once(folder, 2)
    for slug in json.loads((folder / "sweep.json").read_text())["plan"]:
        environment = json.loads((folder / "points" / slug / "environment.json").read_text())
        assert environment["cores_in_use"] == max(1, len(os.sched_getaffinity(0)) // 2)


def test_a_look_at_a_claim_never_takes_the_point_from_its_worker(tmp_path: Path) -> None:
    import threading

    from filelock import FileLock

    claims = Claims(tmp_path)
    with claims.point("k3"):
        pass  # claims/ and the lock file exist, as after a point
    looking = FileLock(tmp_path / "claims" / "k3.lock", timeout=0, thread_local=False)
    looking.acquire()  # holder() (for --plan) holds the lock for a moment while it looks
    threading.Timer(0.2, looking.release).start()
    with claims.point("k3") as taken:  # a worker coming to the point in that moment
        assert taken
