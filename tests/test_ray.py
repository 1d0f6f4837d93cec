"""`sweep --ray`: every point a Ray task into one sweep folder (the Ray lane of .ci/run installs
dsbench[ray] and runs this file whole; elsewhere the Ray sweep is skipped)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

TINY = ["--dataset", "synthetic", "--train-size", "256", "--test-size", "64", "--batch-size",
        "32", "--blocks", "8x1,16x1", "--no-inference", "--epochs", "2", "--no-progress"]  # fmt: skip


def test_ray_is_an_extra_and_one_way_to_spread_a_sweep(
    invoke: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as where dsbench[ray] is not installed
    missing = invoke(["sweep", "--kernel-size", "3", *TINY, "--ray", "local", "-o", str(tmp_path)])
    assert missing.exit_code == 2
    assert (
        missing.stderr
        == 'error: --ray needs Ray, which is not installed (pip install "dsbench[ray]")\n'
    )
    both = invoke(["sweep", "--kernel-size", "3", *TINY, "--ray", "local", "--devices", "cpu:1"])
    assert both.exit_code == 2 and "--devices and --ray each start workers" in both.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_a_local_ray_instance_fills_one_sweep(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    folder = tmp_path / "sweep"
    shown = subprocess.run([sys.executable, "-m", "dsbench", "sweep", "--kernel-size", "3,5",
                            *TINY, "--ray", "local", "-o", str(folder)],
                           capture_output=True, text=True, timeout=900)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    document = json.loads((folder / "sweep.json").read_text())
    assert document["status"] == "complete" and len(document["plan"]) == 2
    for slug in document["plan"]:
        history = pd.read_csv(folder / "points" / slug / "history.csv")
        assert history.groupby("model").size().to_dict() == {"normal": 2, "separable": 2}
    assert "2 points" in " ".join(shown.stdout.split())
