"""Direct tests of modules the end-to-end tests reach only through a command: the request,
the preflight checks, what the API returns, the schema of results files and the tar reader."""

from __future__ import annotations

import dataclasses
import io
import math
import tarfile
from pathlib import Path
from typing import Any

import pytest

from dsbench.data import tarball
from dsbench.errors import DsbenchError
from dsbench.measure.records import Status
from dsbench.run import checks
from dsbench.run.outcome import Comparison, SweepResult
from dsbench.spec.config import run_spec
from dsbench.spec.request import Command, RunRequest
from dsbench.store import bounds, schema

# ---------------------------------------------------------------- request


def test_a_request_is_frozen_and_names_its_command() -> None:
    request = RunRequest(Command.compare, ("normal", "separable"), run_spec({}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.force = True  # type: ignore[misc]
    assert Command("compare") is Command.compare and str(Command.bench) == "bench"
    assert (request.output_dir, request.force, request.resuming) == (None, False, False)


# ---------------------------------------------------------------- checks


@pytest.mark.parametrize(("settings", "named"), [
    ({"processes": 2, "strategy": "multiworker"}, "strategy multiworker"),
    ({"processes": 2, "checkpoint": True}, "checkpoint"),
])  # fmt: skip
def test_processes_refuse_what_fresh_processes_cannot_serve(
    settings: dict[str, Any], named: str
) -> None:
    with pytest.raises(DsbenchError, match=named) as caught:
        checks.check_processes(run_spec(settings))
    assert "processes" in caught.value.settings


def test_a_function_given_from_python_cannot_go_to_worker_processes() -> None:
    spec = run_spec({"processes": 2})
    spec = dataclasses.replace(spec, model=dataclasses.replace(spec.model, arch=lambda: None))
    with pytest.raises(DsbenchError, match="cannot be sent to fresh worker processes"):
        checks.check_processes(spec)


def test_inputs_are_checked_before_the_framework_starts(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(DsbenchError, match="tensorboard"):
        checks.check_inputs(run_spec({"tensorboard": str(blocked / "logs")}))
    with pytest.raises(DsbenchError, match=r"missing\.py"):
        checks.check_inputs(run_spec({"arch": str(tmp_path / "missing.py") + ":build"}))
    checks.check_inputs(run_spec({"dataset": "synthetic"}))  # a plain run passes


# ---------------------------------------------------------------- outcome


def test_a_comparison_says_which_run_was_interrupted_or_diverged(made_results: Any) -> None:
    from dsbench.measure.summary import summarize

    results = made_results()
    results[0].status, results[1].status = Status.interrupted, Status.diverged
    record = summarize(results, "compare", ("normal", "separable"), {}, {}, False)
    comparison = Comparison(run_spec({}), results, record)
    assert comparison.interrupted is results[0] and comparison.diverged == [results[1]]
    assert not comparison.complete
    sweep = SweepResult(run_spec({}), None, last=results)  # type: ignore[arg-type]
    assert sweep.interrupted is results[0] and sweep.diverged == [results[1]]
    assert SweepResult(run_spec({}), None).interrupted is None  # type: ignore[arg-type]


# ---------------------------------------------------------------- schema


def test_a_summary_file_is_checked_whole(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    good = {"command": "compare", "status": "complete", "kinds": ["normal", "separable"],
            "models": [{"model": "normal", "params": 10}, {"model": "separable", "params": 3}],
            "settings": {}}  # fmt: skip
    assert schema.summary(good, path)["models"][1]["params"] == 3
    for broken, why in (
        ([], "not a JSON object"),
        ({**good, "status": "done"}, "status"),
        ({**good, "kinds": ["normal", "dense"]}, "kinds"),
        ({**good, "models": [good["models"][0]] * 2}, "lists a model twice"),
        ({**good, "ratios": {"time_ratio": {"median": -1.0, "n": 3}}}, "median"),
    ):
        with pytest.raises(DsbenchError, match="is not a dsbench results file") as caught:
            schema.summary(broken, path)
        assert why in caught.value.message, caught.value.message


def test_every_figure_has_its_range() -> None:
    assert bounds.out_of_range("best_val_acc", 1.5) == "1.5, outside [0, 1]"
    assert bounds.out_of_range("params", 2.5) == "2.5, not a whole number"
    assert bounds.out_of_range("ms_per_step", 0) == "0, outside (0, inf]"
    assert bounds.out_of_range("loss", math.inf) is None  # a diverged loss, as measured
    assert bounds.out_of_range("steady_epoch_s", math.nan) == "NaN"
    assert bounds.out_of_range("anything_else", 1e300) is None


# ---------------------------------------------------------------- tarball


def _archive(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


def test_the_tar_reader_returns_the_members_asked_for_and_nothing_more() -> None:
    archive = _archive({"./a": b"alpha", "b": b"beta" * 100, "long/" + "n" * 120: b"deep"})
    found = tarball.read_members(io.BytesIO(archive), {"a", "long/" + "n" * 120}, 100_000)
    assert found == {"a": b"alpha", "long/" + "n" * 120: b"deep"}
    with pytest.raises(tarball.Refused):
        tarball.read_members(io.BytesIO(archive), {"a"}, 1_000)  # more bytes than allowed
    seen: list[tuple[str, int]] = []
    tarball.read_members(io.BytesIO(archive), {"b"}, 100_000, lambda n, s: seen.append((n, s)))
    assert seen == [("b", 400)]
