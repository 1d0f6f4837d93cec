"""Which of a sweep's points one worker trains: `--shard I/N` takes the points whose position in
the plan is I modulo N, and `--shard auto` reads I and N from the scheduler that started the
worker (a Slurm job array or a Kubernetes Indexed Job). The plan's order is the grid's
(spec/grid.py), the same in every worker, so N workers given 0/N ... N-1/N train every point
exactly once between them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from dsbench.errors import DsbenchError

T = TypeVar("T")

SLURM = ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_STEP",
         "SLURM_ARRAY_TASK_COUNT")  # fmt: skip
KUBERNETES = "JOB_COMPLETION_INDEX"
_HINT = "give --shard I/N, I from 0 to N-1, or --shard auto in a Slurm job array or a "
_HINT += "Kubernetes Indexed Job"


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (0 <= index < count), and where the numbers came from."""

    index: int
    count: int
    source: str = "given"  # given, slurm or kubernetes

    def picks(self, position: int) -> bool:
        """Whether the plan's point at `position` (from 0) is this shard's."""
        return position % self.count == self.index

    def select(self, points: Sequence[T]) -> list[T]:
        """This shard's points, in the plan's order."""
        return [point for position, point in enumerate(points) if self.picks(position)]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str, environ: Mapping[str, str] | None = None) -> Shard:
    """`I/N`, `auto` or `auto/N` (N where the scheduler does not give it: Kubernetes)."""
    environ = os.environ if environ is None else environ
    text = str(text).strip()
    if text == "auto" or text.startswith("auto/"):
        given = text[len("auto/") :] if "/" in text else ""
        return from_scheduler(environ, _count(given, text) if given else None)
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if match is None:
        raise DsbenchError(f"shard {text!r} is not I/N, auto or auto/N", _HINT, setting="shard")
    index, count = int(match[1]), _count(match[2], text)
    if index >= count:
        raise DsbenchError(f"shard {text}: I must be from 0 to {count - 1}", _HINT,
                           setting="shard")  # fmt: skip
    return Shard(index, count)


def _count(value: str, text: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise DsbenchError(f"shard {text!r}: N must be a whole number of 1 or more", _HINT,
                           setting="shard")  # fmt: skip
    return int(value)


def from_scheduler(environ: Mapping[str, str], count: int | None = None) -> Shard:
    """The shard a Slurm job array task or a Kubernetes Indexed Job pod is: Slurm gives the
    task's index, the lowest index, the step and the number of tasks; Kubernetes the index
    alone (N from `auto/N`: in a manifest, `auto/$(SHARDS)` with SHARDS in the pod's env)."""
    if SLURM[0] in environ:
        task, low, step, total = (_integer(environ, name, default)
                                  for name, default in zip(SLURM, (None, 0, 1, None), strict=True))  # fmt: skip
        if (task - low) % step or not 0 <= (task - low) // step < total:
            raise DsbenchError(
                f"Slurm array task {task} is not one of {total} tasks from {low} in steps of "
                f"{step}",
                "submit the array as --array=0-(N-1) (a % limit is fine), or give --shard I/N",
                setting="shard",
            )
        index = (task - low) // step
        if count is not None and count != total:
            raise DsbenchError(f"--shard auto/{count} in a Slurm job array of {total} tasks",
                               "give --shard auto: Slurm says how many", setting="shard")  # fmt: skip
        return Shard(index, total, "slurm")
    if KUBERNETES in environ:
        index = _integer(environ, KUBERNETES, None)
        if count is None:
            raise DsbenchError(
                f"{KUBERNETES} gives this pod's index ({index}) but not how many there are",
                "give --shard auto/N, N the Job's completions; in a manifest, "
                "--shard auto/$(SHARDS) with SHARDS in the container's env",
                setting="shard",
            )
        if index >= count:
            raise DsbenchError(f"{KUBERNETES} {index} is not below the {count} of auto/{count}",
                               "make N the Job's completions", setting="shard")  # fmt: skip
        return Shard(index, count, "kubernetes")
    raise DsbenchError(
        f"--shard auto found no scheduler's task index ({SLURM[0]} of a Slurm job array, "
        f"{KUBERNETES} of a Kubernetes Indexed Job)",
        "give --shard I/N yourself",
        setting="shard",
    )


def _integer(environ: Mapping[str, str], name: str, default: int | None) -> int:
    value = environ.get(name)
    if value is None and default is not None:
        return default
    if value is None or not value.strip().isdigit():
        raise DsbenchError(f"{name} is {value!r}, not a whole number",
                           "run dsbench from the scheduler's own task, or give --shard I/N",
                           setting="shard")  # fmt: skip
    return int(value)
