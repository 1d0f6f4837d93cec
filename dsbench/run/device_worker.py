"""One worker of `sweep --devices` (run/devices.py starts it on its device): the sweep in the
JSON file it is given, every point it can claim, into the sweep's folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dsbench.errors import DsbenchError
from dsbench.observer import Observer
from dsbench.spec import grid
from dsbench.spec.request import SweepRequest
from dsbench.spec.shard import Shard


def main(work: str) -> int:
    """The sweep in `work`, every point this worker can claim; one error line and its code."""
    from dsbench.run import runner
    from dsbench.spec.config import spec_from_dict

    document = json.loads(Path(work).read_text())
    try:
        spec = spec_from_dict(document["settings"])
        points = tuple(grid.Point(**point) for point in document["points"])
        request = SweepRequest(spec, points, output_dir=Path(document["output_dir"]),
                               verbose=bool(document["verbose"]), shard=Shard(0, 1))  # fmt: skip
        runner.sweep(request, Observer())
    except DsbenchError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
