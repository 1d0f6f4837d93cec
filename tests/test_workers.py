"""The fast suite's sharing between pytest-xdist workers (tests/workers.py): the fast tf tests
go to one worker whole, before anything else; the rest a file at a time."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import workers

COLLECTED = [
    "tests/test_a.py::test_pure",
    "tests/test_a.py::test_trains",
    "tests/test_b.py::test_imports[1]",
    "tests/test_b.py::test_imports[2]",
    "tests/test_c.py::test_pure",
]
GROUPED = ["tests/test_a.py::test_trains", "tests/test_b.py::test_imports[1]"]


class Worker:
    """What the scheduler sees of a pytest-xdist worker: the tests it is sent."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[list[str]] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.append([COLLECTED[i] for i in indices])

    def shutdown(self) -> None:
        self.shutting_down = True


def scheduled(ids_file: Path) -> list[Worker]:
    config: Any = SimpleNamespace(
        getvalue=lambda name: ["2*popen"] if name == "tx" else None,
        option=SimpleNamespace(loadscopereorder=True),
    )
    scheduler = workers.TensorFlowInOneWorker(config, ids_file)
    nodes = [Worker("gw0"), Worker("gw1")]
    for node in nodes:
        scheduler.add_node(node)
        scheduler.add_node_collection(node, COLLECTED)
    scheduler.schedule()
    return nodes


def test_the_grouped_tests_go_first_to_one_worker_whole(tmp_path: Path) -> None:
    ids = tmp_path / "grouped.json"
    ids.write_text(str(GROUPED).replace("'", '"'), encoding="utf-8")
    first, second = scheduled(ids)
    assert first.sent[0] == GROUPED
    assert second.sent[0] == ["tests/test_a.py::test_pure"]  # then a file at a time
    sent = [nodeid for unit in first.sent + second.sent for nodeid in unit]
    assert sorted(sent) == sorted(COLLECTED)  # each test once


def test_without_the_ids_file_it_is_loadfile(tmp_path: Path) -> None:
    first, second = scheduled(tmp_path / "absent.json")
    assert first.sent[0] == ["tests/test_a.py::test_pure", "tests/test_a.py::test_trains"]
    assert second.sent[0] == [
        "tests/test_b.py::test_imports[1]",
        "tests/test_b.py::test_imports[2]",
    ]


@pytest.mark.parametrize(
    ("marks", "joins"), [(("tf",), True), (("tf", "slow"), False), ((), False)]
)
def test_fast_tf_tests_join_the_unit_and_slow_ones_keep_their_file(
    marks: tuple[str, ...], joins: bool, request: pytest.FixtureRequest
) -> None:
    for mark in marks:
        request.node.add_marker(mark)
    assert workers.grouped(request.node) is joins
