"""`report NEW --baseline OLD`: each figure of a run against the same figure of another run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import write_run

from dsbench import api
from dsbench.errors import DsbenchError

SETTINGS = {"train": {"epochs": 4, "batch_size": 32}, "data": {"dataset": "synthetic"}}
ENVIRONMENT = {"device": "device: /CPU:0", "cpu": {"model": "AMD EPYC"},
               "data": {"test_images": 1000}}  # fmt: skip


def _folder(path: Path, results: list[Any], settings: dict[str, Any] = SETTINGS) -> Path:
    path.mkdir()
    write_run(path, results, "compare", settings, ENVIRONMENT, complete=True)
    return path


def test_a_run_against_itself_resolves_no_change(made_results: Any, tmp_path: Path) -> None:
    run = _folder(tmp_path / "a", made_results(normal_s=[3.0, 2.0, 2.2, 1.8, 2.1, 1.9]))
    rows = api.against(run, run).rows
    assert set(rows["verdict"]) == {"same", "no change resolved"}
    timed = rows[rows["figure"] == "train ms/step"]
    assert timed["change"].tolist() == pytest.approx([1.0, 1.0])
    assert (timed["change_low"] < 1).all() and (timed["change_high"] > 1).all()


def test_a_slower_run_is_slower_and_says_by_how_much(made_results: Any, tmp_path: Path) -> None:
    old = _folder(tmp_path / "old", made_results(normal_s=[3.0, 2.0, 2.2, 1.8, 2.1, 1.9]))
    slow = made_results(normal_s=[6.0, 4.0, 4.4, 3.6, 4.2, 3.8])  # every epoch 2x
    slow[1].epochs[2]["val_accuracy"] = 0.9  # separable: 0.90 against 0.60 on 1,000 images
    new = _folder(tmp_path / "new", slow)
    rows = api.against(new, old).rows.set_index(["model", "figure"])
    normal = rows.loc[("normal", "train ms/step")]
    assert normal["change"] == pytest.approx(2.0) and normal["verdict"] == "slower"
    assert normal["change_low"] < 2.0 < normal["change_high"]
    assert rows.loc[("separable", "train ms/step"), "verdict"] == "no change resolved"
    assert rows.loc[("separable", "best val acc"), "verdict"] == "higher"
    assert rows.loc[("separable", "best val acc"), "change"] == pytest.approx(0.3)
    # the separable/normal ratio fell from 0.5 to 1/4: its two intervals combined
    ratio = rows.loc[("separable", "separable/normal time/step")]
    assert ratio["change"] == pytest.approx(0.5) and ratio["verdict"] == "lower"


def test_a_change_within_what_whole_runs_move_gets_no_verdict(
    made_results: Any, tmp_path: Path
) -> None:
    # 1.3x slower in every epoch, so within-run intervals alone would call it: whole runs on
    # this machine move that much (two speeds), so it is not called
    old = _folder(tmp_path / "old", made_results(normal_s=[3.0, 2.0, 2.2, 1.8, 2.1, 1.9]))
    new = _folder(tmp_path / "new", made_results(normal_s=[3.9, 2.6, 2.86, 2.34, 2.73, 2.47]))
    found = api.against(new, old)
    normal = found.rows.set_index(["model", "figure"]).loc[("normal", "train ms/step")]
    assert normal["change"] == pytest.approx(1.3) and normal["verdict"] == "no change resolved"
    from dsbench.measure.baseline import timing_change

    _, low, _ = timing_change(
        [2.6, 2.86, 2.34, 2.73, 2.47], [2.0, 2.2, 1.8, 2.1, 1.9], 0.0
    ).interval()
    assert low > 1  # what the run's own epochs alone would have called "slower"
    assert any("rows tested together (Holm" in w for w in found.warnings)


def test_holm_calls_fewer_changes_than_rows_tested_alone() -> None:
    from dsbench.measure.baseline import holm

    assert holm([0.01, 0.04, 0.03, 0.2]) == [True, False, False, False]  # 0.01 <= 0.05/4 only
    assert holm([0.001, 0.012, 0.02]) == [True, True, True]  # 0.05/3, 0.05/2, 0.05/1
    assert holm([float("nan"), 0.04]) == [False, True]  # a NaN is not tested


def test_identical_recorded_runs_get_no_verdict() -> None:
    """A recorded pair of identical runs (benchmarks/data/stability-runs.json) replayed
    through the baseline's own functions: within-run intervals alone call a change, the
    verdicts do not."""
    import json

    import pandas as pd

    from dsbench.measure.baseline import BETWEEN_RUNS_SD, ratio_change, timing_change, verdicts

    data = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "stability-runs.json"
    runs = json.loads(data.read_text())["runs"]
    old, new = runs[2], runs[6]  # two identical sequential compares of the same hour
    _, low, _ = timing_change(new["ms_per_step"]["normal"], old["ms_per_step"]["normal"],
                              0.0).interval()  # fmt: skip
    assert low > 1.2  # the steady epochs alone: "slower" (1.52x [1.25, 1.84])
    changes = [timing_change(new["ms_per_step"][k], old["ms_per_step"][k], BETWEEN_RUNS_SD["model"])
               for k in ("normal", "separable")]  # fmt: skip
    ratios = [pd.Series({f"ms_per_step_ratio{s}": run["ratios"]["ms_per_step_ratio"][k]
                         for s, k in (("", "median"), ("_low", "low"), ("_high", "high"))})
              for run in (old, new)]  # fmt: skip
    changes.append(ratio_change(ratios[0], ratios[1], BETWEEN_RUNS_SD["ratio"]))
    words = [("slower", "faster"), ("slower", "faster"), ("higher", "lower")]
    assert verdicts(changes, words) == ["no change resolved"] * 3


def test_settings_that_matter_must_match_unless_forced(
    made_results: Any, tmp_path: Path, invoke: Any
) -> None:
    old = _folder(tmp_path / "old", made_results())
    other = {**SETTINGS, "train": {"epochs": 4, "batch_size": 64}}
    new = _folder(tmp_path / "new", made_results(), other)
    with pytest.raises(DsbenchError, match="differ in batch_size 32 -> 64"):
        api.against(new, old)
    forced = api.against(new, old, force=True)
    assert "the runs differ in batch_size 32 -> 64 (--force-baseline)" in forced.warnings
    refused = invoke(["report", str(new), "--baseline", str(old)])
    assert refused.exit_code == 2 and "--force-baseline" in refused.output
    shown = invoke(["report", str(new), "--baseline", str(old), "--force-baseline"])
    assert shown.exit_code == 0 and "no change resolved" in shown.output
    exported = invoke(["report", str(new), "--baseline", str(old), "--force-baseline", "--json"])
    assert exported.exit_code == 0 and '"verdict": "same"' in exported.stdout
    alone = invoke(["report", str(new), "--force-baseline"])
    assert alone.exit_code == 2 and "--force-baseline needs --baseline" in alone.output
    two = invoke(["report", str(new), str(old), "--baseline", str(old)])
    assert two.exit_code == 2 and "compares one run folder" in two.output


def test_compare_refuses_a_baseline_of_other_settings_before_training(
    made_results: Any, tmp_path: Path, invoke: Any
) -> None:
    old = _folder(tmp_path / "old", made_results())
    out = tmp_path / "new"
    args = ["compare", "--dataset", "synthetic", "--epochs", "2", "--batch-size", "32",
            "--output-dir", str(out)]  # fmt: skip
    refused = invoke([*args, "--baseline", str(old)])
    assert refused.exit_code == 2 and "would differ in epochs 4 -> 2" in refused.output
    missing = invoke([*args, "--baseline", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "--baseline" in missing.output
    assert not out.exists()


def test_report_rows_say_the_command_and_the_source_state(
    made_results: Any, tmp_path: Path
) -> None:
    from dsbench.run import environment as runtime

    environment = {**ENVIRONMENT, "command_line": ["dsbench", "compare", "--epochs", "4"],
                   "source": {"commit": "0123456789abcdef0123", "dirty": True}}  # fmt: skip
    folder = tmp_path / "run"
    folder.mkdir()
    write_run(folder, made_results(), "compare", SETTINGS, environment, complete=True)
    rows = api.report([folder]).rows
    assert set(rows["command_line"]) == {"dsbench compare --epochs 4"}
    assert set(rows["source"]) == {"0123456789ab+dirty"}
    # the working tree dsbench runs from: this checkout (a commit), or none outside git
    state = runtime.source_state()
    assert state is None or len(state["commit"]) == 40
    assert runtime.source_state(tmp_path) is None


def test_resume_refuses_a_builder_file_that_changed(made_results: Any, tmp_path: Path) -> None:
    import hashlib

    builder = tmp_path / "net.py"
    builder.write_text("def build(**kw):\n    pass\n")
    recorded = hashlib.sha256(builder.read_bytes()).hexdigest()
    settings = {**SETTINGS, "model": {"arch": f"{builder}:build"}}
    folder = tmp_path / "run"
    folder.mkdir()
    write_run(folder, made_results(), "compare", settings,
              {**ENVIRONMENT, "arch_sha256": recorded}, complete=False)  # fmt: skip
    builder.write_text("def build(**kw):\n    return None\n")  # edited after the run began
    with pytest.raises(DsbenchError, match="is not the builder file the run began with"):
        api.resume(folder, arch=f"{builder}:build")
    builder.unlink()
    with pytest.raises(DsbenchError, match="is not a file"):
        api.resume(folder, arch=f"{builder}:build")
