"""`dsbench bench`: the interleaved chunk timing on a fake stepper (exact), and for real."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dsbench
from dsbench.run import speed


class FakeStepper:
    """Times from a script instead of a model, as hyperfine tests its exporters."""

    def __init__(self, seconds_per_step: float, factors: list[float] | None = None) -> None:
        self.seconds = seconds_per_step
        self.factors = itertools.cycle(factors or [1.0])
        self.calls: list[int] = []

    def run(self, steps: int) -> float:
        self.calls.append(steps)
        return steps * self.seconds * next(self.factors)


def test_a_steady_machine_reaches_the_target_after_the_pilot_and_its_check() -> None:
    from dsbench.measure import stopping

    steppers = {"normal": FakeStepper(0.010), "separable": FakeStepper(0.004)}
    row = speed.bench_cell(steppers, 32, budget_s=60, target=0.05, between_runs_sd=0.0)  # type: ignore[arg-type]
    # a pilot, then as many pairs again for the second stage that checks the pilot's spread
    assert row["target_reached"] and row["pairs"] == 2 * stopping.PILOT_PAIRS
    assert row["ratio"] == pytest.approx(0.4) and row["ratio_half_width"] == pytest.approx(0)
    assert row["normal_ms_per_step"] == pytest.approx(10.0)
    assert row["separable_images_per_s"] == pytest.approx(32 / 0.004)
    # each model's chunk sized from its own step: both last about CHUNK_SECONDS
    assert row["normal_chunk_steps"] == round(speed.CHUNK_SECONDS / 0.010)
    assert row["separable_chunk_steps"] == round(speed.CHUNK_SECONDS / 0.004)
    assert row["normal_chunk_steps"] * 0.010 == pytest.approx(
        row["separable_chunk_steps"] * 0.004, rel=0.05
    )
    # warm-up, one timing step, then chunks
    assert steppers["normal"].calls[:2] == [speed.WARMUP_STEPS, 1]
    assert set(steppers["normal"].calls[2:]) == {row["normal_chunk_steps"]}


def test_a_machine_that_changes_speed_for_both_models_alike_cancels_out() -> None:
    # both models slow down 1.7x together every other chunk pair: the times are bimodal...
    slow = [1.0, 1.0, 1.7, 1.7]
    steppers = {"normal": FakeStepper(0.010, slow), "separable": FakeStepper(0.004, slow)}
    row = speed.bench_cell(steppers, 32, budget_s=60, target=0.05, between_runs_sd=0.0)  # type: ignore[arg-type]
    # ...but each pair is measured in one state of the machine, so the ratio holds
    assert row["target_reached"] and row["ratio"] == pytest.approx(0.4)


def test_noise_that_does_not_cancel_runs_until_the_budget() -> None:
    steppers = {"normal": FakeStepper(0.010, [1.0, 1.6, 0.9]), "separable": FakeStepper(0.004)}
    row = speed.bench_cell(steppers, 32, budget_s=0.0, target=0.01, between_runs_sd=0.0)  # type: ignore[arg-type]
    assert not row["target_reached"] and row["pairs"] == 3  # the least that gives an interval


def test_a_spread_between_runs_wider_than_the_target_times_until_the_budget() -> None:
    from dsbench.measure import stats

    # a steady machine would stop after the pilot and its check (the first test), but the
    # spread between runs alone (sd 0.04: ±8.2%) is beyond ±5%: no pair count reaches it
    steppers = {"normal": FakeStepper(0.010), "separable": FakeStepper(0.004)}
    row = speed.bench_cell(steppers, 32, budget_s=0.0, target=0.05, between_runs_sd=0.04)  # type: ignore[arg-type]
    assert not row["target_reached"] and row["pairs"] == 3
    assert row["ratio"] == pytest.approx(0.4)
    assert row["ratio_high"] / row["ratio"] == pytest.approx(math.exp(stats.Z * 0.04))
    assert row["ratio"] / row["ratio_low"] == pytest.approx(math.exp(stats.Z * 0.04))


def test_a_worker_process_times_until_its_share_and_gives_its_median() -> None:
    from dsbench.measure import stopping

    given = iter([0.30, 0.20, 0.40, 0.29, 0.31])
    ratios = stopping.timed_until(lambda: next(given), lambda n: n >= 5)
    assert ratios == [0.30, 0.20, 0.40, 0.29, 0.31]  # however precise the first ones look
    steppers = {"normal": FakeStepper(0.010, [1.0, 1.0, 1.0, 1.2]),
                "separable": FakeStepper(0.004)}  # fmt: skip
    row = speed.bench_cell(steppers, 32, budget_s=0.0, target=0.05, between_runs_sd=0.04,
                           unit=True)  # type: ignore[arg-type]  # fmt: skip
    assert row["pairs"] == 3 and row["ratio"] == pytest.approx(0.4)  # the median, not widened


def test_the_rule_plans_for_what_the_spread_between_runs_leaves_of_the_target() -> None:
    from dsbench.measure import stats, stopping

    rng = np.random.default_rng(3)
    ratios = list(0.28 * np.exp(rng.normal(0, 0.05, 2000)))
    pilot = ratios[: stopping.PILOT_PAIRS]
    for sd in (0.0, 0.02):
        values = iter(ratios)
        used, interval, reached = stopping.sequential_ratio(lambda v=values: next(v), 0.05,
                                                            lambda n: n >= 2000, sd)  # fmt: skip
        assert reached and interval.half_width <= 0.05
        left = math.expm1((math.log1p(0.05) ** 2 - (stats.Z * sd) ** 2) ** 0.5)
        assert len(used) >= stopping.pairs_needed(pilot, left)
    # with sd 0.02 the run's own part must be within about ±3.1%: more pairs than with none
    assert stopping.pairs_needed(pilot, left) > stopping.pairs_needed(pilot, 0.05)


@pytest.mark.slow  # times for 3 s and 1 s by design
def test_bench_from_python_and_the_cli(
    tmp_path: Path, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(speed, "CHUNK_SECONDS", 0.05)  # short chunks: the test checks plumbing
    result = dsbench.bench(mode="both", batch_size=[4], max_time=3, blocks="8x1,16x1",
                           processes=1)  # fmt: skip
    rows = result.rows
    assert list(zip(rows["mode"], rows["batch_size"], strict=True)) == [("train", 4), ("infer", 4)]
    assert (rows["normal_ms_per_step"] > 0).all() and (rows["ratio"] > 0).all()
    assert (rows["ratio_low"] <= rows["ratio"]).all() and (
        rows["ratio"] <= rows["ratio_high"]
    ).all()
    folder = result.save(tmp_path / "b")
    assert {p.name for p in folder.iterdir()} >= {"bench.csv", "bench.json", "environment.json"}
    report = invoke(["report", str(folder)])
    assert report.exit_code == 0 and "separable / normal time" in report.output
    out = tmp_path / "c"
    cli = invoke(["bench", "--batch-size", "2", "--max-time", "1", "--blocks", "8x1",
                  "--processes", "1", "--json", "--no-progress", "--output-dir", str(out)])  # fmt: skip
    assert cli.exit_code == 0, cli.output
    document = json.loads(cli.stdout)
    assert document["command"] == "bench"
    assert [row["batch_size"] for row in document["rows"]] == [2]
    assert json.loads((out / "bench.json").read_text()) == document
    assert document["between_runs_sd"] == 0.04
    quiet = invoke(["sweep", "--kernel-size", "3,5", "--summary-only", "--quiet",
                    "--output-dir", str(tmp_path / "q")])  # fmt: skip
    assert quiet.exit_code == 0 and quiet.output.strip() == str(tmp_path / "q")


def test_bench_refuses_bad_modes_and_targets() -> None:
    with pytest.raises(dsbench.DsbenchError, match="mode must be one of train, infer, both"):
        dsbench.bench(mode="fast")
    with pytest.raises(dsbench.DsbenchError, match="precision_target must be in"):
        dsbench.bench(precision_target=2.0)


@pytest.fixture
def spec_of_bench(monkeypatch: Any) -> Any:
    """api.bench's RunSpec for the given settings, stopped before anything trains."""
    from dsbench import api
    from dsbench.run import runner

    seen = {}

    def stop(spec: Any, verbose: bool) -> None:
        seen["spec"] = spec
        raise api.DsbenchError("stopped before training")

    monkeypatch.setattr(runner, "start", stop)
    monkeypatch.setattr(runner, "load_first", lambda spec, observer: None)  # no data read

    def spec_of(**settings: Any) -> Any:
        with pytest.raises(api.DsbenchError, match="stopped"):
            api.bench(**settings)
        return seen["spec"]

    return spec_of


@pytest.mark.tf
def test_bench_has_images_for_its_largest_batch(spec_of_bench: Any) -> None:
    spec = spec_of_bench(batch_size="128,2048", processes=1)
    assert spec.data.train_size == 2048 and spec.train.batch_size == 2048


@pytest.mark.tf
def test_bench_runs_three_processes_unless_told(spec_of_bench: Any, tmp_path: Path,
                                                monkeypatch: Any) -> None:  # fmt: skip
    from dsbench.run import workers

    def stop(request: Any, *args: Any) -> Any:
        raise dsbench.DsbenchError(f"stopped: {request.spec.train.processes} processes")

    monkeypatch.setattr(workers, "bench", stop)
    with pytest.raises(dsbench.DsbenchError, match="stopped: 3 processes"):
        dsbench.bench()
    config = tmp_path / "one.toml"
    config.write_text("[train]\nprocesses = 2\n")
    with pytest.raises(dsbench.DsbenchError, match="stopped: 2 processes"):
        dsbench.bench(config=config)
    assert spec_of_bench(processes=1).train.processes == 1  # one process: no worker
    with pytest.raises(dsbench.DsbenchError, match="between_runs_sd must be in"):
        dsbench.bench(between_runs_sd=-0.1)


@pytest.mark.tf
def test_bench_times_the_images_of_the_data_dir_given(
    spec_of_bench: Any, cifar_dir: Path, invoke: Any
) -> None:
    data = spec_of_bench(data_dir=cifar_dir, processes=1).data
    assert (data.dataset, data.data_dir) == ("cifar10", str(cifar_dir))  # not synthetic
    missing = invoke(["bench", "--data-dir", str(cifar_dir / "nowhere")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    both = invoke(["compare", "--dataset", "synthetic", "--data-dir", str(cifar_dir)])
    assert both.exit_code == 2 and "would not be read" in " ".join(both.output.split())


def _bench_row(ratio: float, normal_ms: float, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"mode": "train", "batch_size": 128, "normal_chunk_steps": 1,
                           "separable_chunk_steps": 3, "pairs": 20, "ratio": ratio,
                           "ratio_low": ratio * 0.97, "ratio_high": ratio * 1.03,
                           "ratio_half_width": 0.03, "target_reached": True, "seconds": 50.0}  # fmt: skip
    for kind, ms in (("normal", normal_ms), ("separable", normal_ms * ratio)):
        row.update({f"{kind}_ms_per_step": ms, f"{kind}_ms_per_step_low": ms * 0.9,
                    f"{kind}_ms_per_step_high": ms * 1.2, f"{kind}_images_per_s": 128e3 / ms,
                    f"{kind}_est_gflop_per_s": 100.0, f"{kind}_bimodal": False,
                    f"{kind}_outliers": 1})  # fmt: skip
    return {**row, **extra}


def test_bench_processes_take_the_process_as_the_unit() -> None:
    import pandas as pd

    from dsbench.measure import stats
    from dsbench.measure.bench import bench_warnings, combine_bench

    frames = [
        pd.DataFrame([_bench_row(r, ms)]) for r, ms in ((0.27, 600), (0.29, 640), (0.28, 500))
    ]
    row = combine_bench(frames, 0.05, 0.0).iloc[0]
    assert row["ratio"] == pytest.approx(0.28) and row["processes"] == 3
    expected = stats.process_interval([[0.27], [0.29], [0.28]])
    assert (row["ratio_low"], row["ratio_high"]) == pytest.approx((expected.low, expected.high))
    assert row["normal_ms_per_step"] == 600 and row["normal_ms_per_step_low"] == pytest.approx(450)
    assert row["normal_ms_per_step_high"] == pytest.approx(768)
    assert (row["pairs"], row["normal_outliers"], row["seconds"]) == (60, 3, 150.0)
    # the processes' own intervals were within ±3%, but they disagree by more: not within ±5%
    assert not row["target_reached"] and row["ratio_half_width"] > 0.05
    combined = combine_bench(frames, 0.05, 0.0)
    assert bench_warnings(combined, 0.05) == [
        f"train, batch 128: ratio ±{row['ratio_half_width']:.0%} over 3 processes, not within "
        "±5%: run more processes or give them more max_time"
    ]
    agreeing = [pd.DataFrame([_bench_row(r, 600)]) for r in (0.280, 0.281, 0.279)]
    assert combine_bench(agreeing, 0.05, 0.0).iloc[0]["target_reached"]
    # the spread between runs that three processes within a minute cannot see, added
    widened = combine_bench(agreeing, 0.05, 0.04).iloc[0]
    alone = stats.process_interval([[0.280], [0.281], [0.279]])
    assert widened["ratio"] == alone.median and not widened["target_reached"]
    side = (math.log(alone.high / alone.median) ** 2 + (stats.Z * 0.04) ** 2) ** 0.5
    assert widened["ratio_high"] == pytest.approx(alone.median * math.exp(side))
    assert "no single run narrows" in bench_warnings(combine_bench(agreeing, 0.05, 0.04),
                                                     0.05, 0.04)[0]  # fmt: skip


@pytest.mark.slow
def test_bench_in_three_processes_by_default(tmp_path: Path, invoke: Any) -> None:
    out = tmp_path / "b"
    result = invoke(["bench", "--batch-size", "2", "--max-time", "1", "--blocks", "8x1",
                     "--no-progress", "--output-dir", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert "process 3 of 3" in shown and "over 3 fresh processes" in shown
    assert "widened by the spread between runs at different times (sd 0.04" in shown
    document = json.loads((out / "bench.json").read_text())
    assert document["settings"]["train"]["processes"] == 3
    assert document["rows"][0]["processes"] == 3 and document["between_runs_sd"] == 0.04
    environment = json.loads((out / "environment.json").read_text())
    assert [p["process"] for p in environment["processes"]] == [0, 1, 2]
    assert len({p["pid"] for p in environment["processes"]}) == 3  # three processes
    ratios = [p["ratios"][0] for p in environment["processes"]]  # what the interval is over
    assert document["rows"][0]["ratio"] == pytest.approx(float(np.median(ratios)))
