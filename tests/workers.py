"""How the fast suite's tests are shared between pytest-xdist's workers (`--dist loadfile`):
every fast test marked `tf` in one work unit, so one worker imports TensorFlow (seconds per
process) and trains, while the other runs the pure tests, a file at a time, and both take files
from the queue until it is empty. Slow tests stay a unit per file: they are all `tf`, and two
workers share them.

pytest-xdist's own `--dist loadgroup` would do this with an `xdist_group` marker, but it tags a
test by rewriting `Item._nodeid`, which pytest 9.2 no longer reads, so its groups never form.
The controller does not collect tests: the first worker writes the ids of the tests it groups
to a file the controller named, and the scheduler reads it once every worker has collected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling

UNIT = "tf"  # the work unit holding every fast test marked tf
_KEY = "dsbench_grouped_ids"  # the file's path, in each worker's workerinput


def grouped(item: pytest.Item) -> bool:
    """Whether a test joins the tf unit: marked tf (it imports a framework) and not slow."""
    return bool(item.get_closest_marker("tf")) and not item.get_closest_marker("slow")


def tell_worker(node: Any, ids_file: Path) -> None:
    """Controller side: where the first worker is to write the grouped tests' ids."""
    node.workerinput[_KEY] = str(ids_file)


def write_grouped(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Worker side, after collection: the first worker writes the grouped ids (every worker
    collects the same tests, the controller checks that)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput and _KEY in workerinput and workerinput.get("workerid") == "gw0":
        ids = [item.nodeid for item in items if grouped(item)]
        Path(workerinput[_KEY]).write_text(json.dumps(ids), encoding="utf-8")


class TensorFlowInOneWorker(LoadFileScheduling):
    """`--dist loadfile`, except that the grouped tests form one unit, the largest, which
    pytest-xdist therefore hands out first."""

    def __init__(self, config: pytest.Config, ids_file: Path, log: Any = None) -> None:
        super().__init__(config, log)
        self._ids_file = ids_file
        self._grouped: set[str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._grouped is None:  # first called once every worker has collected
            try:
                self._grouped = set(json.loads(self._ids_file.read_text(encoding="utf-8")))
            except (OSError, ValueError):  # no worker wrote it: plain loadfile
                self._grouped = set()
        return UNIT if nodeid in self._grouped else super()._split_scope(nodeid)
