"""One worker of a sweep spread over processes (`--devices`, which starts it as
`python -m dsbench.run.sweep_worker FILE`) or over Ray tasks (`--ray`, which calls
train_points): the sweep a JSON document describes, the points of its shard that it can claim,
into the sweep's folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from dsbench.errors import DsbenchError
from dsbench.observer import Observer
from dsbench.spec import grid
from dsbench.spec.request import SweepRequest
from dsbench.spec.shard import Shard


def train_points(document: dict[str, Any], shard: tuple[int, int] = (0, 1)) -> str | None:
    """Train the points of `shard` (index, count) of the sweep in `document` that this worker
    can claim. Returns None, or the one-line error that stopped it."""
    from dsbench.run import runner
    from dsbench.spec.config import spec_from_dict

    try:
        spec = spec_from_dict(document["settings"])
        points = tuple(grid.Point(**point) for point in document["points"])
        request = SweepRequest(spec, points, output_dir=Path(document["output_dir"]),
                               verbose=bool(document["verbose"]), shard=Shard(*shard))  # fmt: skip
        runner.sweep(request, Observer())
    except DsbenchError as error:
        return error.message
    return None


def main(work: str) -> int:
    """The sweep in the file `work`, every point this worker can claim; one error line."""
    said = train_points(json.loads(Path(work).read_text()))
    if said is not None:
        print(f"error: {said}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
