"""tf.distribute for real on this CPU machine: MirroredStrategy over two logical CPU devices,
and MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

MIRRORED = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from typer.testing import CliRunner
from dsbench.cli.main import app
result = CliRunner().invoke(app, sys.argv[1:])
print(result.output)
sys.exit(result.exit_code)
"""


@pytest.mark.slow
def test_mirrored_over_two_logical_cpus_trains_both_models(tmp_path: Path, tiny: list[str]) -> None:
    out = tmp_path / "mirrored"
    args = [
        "compare",
        "--strategy",
        "mirrored",
        "--devices",
        "/cpu:0,/cpu:1",
        *tiny,
        "--epochs",
        "2",
        "--output-dir",
        str(out),
    ]
    proc = subprocess.run(
        [sys.executable, "-c", MIRRORED, *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    environment = json.loads((out / "environment.json").read_text())
    assert environment["strategy"] == "MirroredStrategy"
    assert environment["replicas"] == 2 and len(environment["devices"]) == 2
    summary = pd.read_csv(out / "summary.csv").set_index("model")
    assert summary.loc["normal", "params"] == 11_642  # same as without a strategy
    assert summary.loc["separable", "params"] == 10_525
    assert (summary["replicas"] == 2).all()
    assert (summary["epochs_completed"] == 2).all()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_two_workers_train_and_only_the_chief_writes(tmp_path: Path, tiny: list[str]) -> None:
    workers = [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]
    procs = []
    for index in (0, 1):
        cwd = tmp_path / f"worker{index}"
        cwd.mkdir()
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config))
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dsbench",
                    "compare",
                    "--strategy",
                    "multiworker",
                    *tiny,
                    "--epochs",
                    "2",
                ],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=300)[0])
    finally:
        for proc in procs:
            proc.kill()
    assert [p.returncode for p in procs] == [0, 0], outputs
    chief_runs = list((tmp_path / "worker0" / "runs").iterdir())
    assert len(chief_runs) == 1
    assert not (tmp_path / "worker1" / "runs").exists()
    environment = json.loads((chief_runs[0] / "environment.json").read_text())
    assert environment["strategy"] == "MultiWorkerMirroredStrategy"
    assert environment["replicas"] == 2
    history = pd.read_csv(chief_runs[0] / "history.csv")
    assert len(history) == 4 and history["loss"].notna().all()
    assert "non-chief worker" in outputs[1]
