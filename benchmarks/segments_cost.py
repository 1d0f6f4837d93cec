"""Does taking turns inside epochs cost training speed? `segments` 4 against 1, whole processes.

Each process runs one `compare` (synthetic data, both models, interleaved schedule) with
segments 1 (the models alternate by whole epochs) or 4 (they also take turns every quarter
epoch, each in its own thread, handing over at the boundaries); the two settings alternate
process by process (1 4, 4 1, ...). Printed per process: each model's median steady ms/step
and the median calibration probe (GFLOP/s), which shows how fast the machine was in that
process.

    python benchmarks/segments_cost.py --pairs 3 --out benchmarks/segments-cost-runs.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = r"""
import json, sys, tempfile
from pathlib import Path
from dsbench import api
from dsbench.config import run_spec
from dsbench.records import steady_epochs
segments, train_size, epochs = (int(v) for v in sys.argv[1:4])
spec = run_spec({"dataset": "synthetic", "train_size": train_size, "test_size": 512,
                 "epochs": epochs, "inference": False, "segments": segments})
with tempfile.TemporaryDirectory() as folder:
    result = api._train("compare", ("normal", "separable"), spec, Path(folder) / "run", False,
                        None, False)
out = {r.model: [float(s) / r.steps_per_epoch * 1e3 for s in steady_epochs(r)["train_s"]]
       for r in result.results}
out["probe"] = [e["probe_gflop_per_s"] for r in result.results for e in r.epochs]
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=2560)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for pair in range(args.pairs):
        for segments in (1, 4) if pair % 2 == 0 else (4, 1):
            command = [sys.executable, "-c", WORKER, str(segments), str(args.train_size),
                       str(args.epochs)]  # fmt: skip
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            row = json.loads(out.strip().splitlines()[-1]) | {"segments": segments}
            rows.append(row)
            medians = {k: round(statistics.median(row[k])) for k in ("normal", "separable")}
            print(segments, medians, "probe", round(statistics.median(row["probe"])), flush=True)
            if args.out:
                args.out.write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
