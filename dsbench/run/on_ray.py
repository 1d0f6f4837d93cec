"""`sweep --ray ADDRESS`: every point of the plan a Ray task that trains it into the sweep's
folder (run/sweep_worker.py), so that a Ray cluster fills one sweep folder as shards and
devices do. `local` starts a Ray instance on this machine, `auto` joins the cluster this
process runs in, anything else is Ray's own address (`ray://head:10001`).

A task asks for one GPU where the cluster has GPUs, else for every CPU of the cluster's
smallest node, so that no two points are timed on one device or one machine at once; each runs
in a fresh worker process (max_calls=1: a point's first epoch includes its own graph tracing,
as in any run). On a cluster of several machines the folder must be on a filesystem they share.
Ray's dashboard and logs are Ray's; dsbench counts the points as their tasks end.
"""

from __future__ import annotations

import warnings
from typing import Any

from dsbench.errors import DsbenchError
from dsbench.observer import Observer
from dsbench.run.devices import prepare, work
from dsbench.run.outcome import SweepResult
from dsbench.run.sweep_worker import train_points
from dsbench.spec.request import SweepRequest


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise DsbenchError("ray needs Ray, which is not installed",
                           'pip install "dsbench[ray]"', setting="ray") from None  # fmt: skip
    return ray


def resources(ray: Any) -> dict[str, float]:
    """One point's request: a GPU where the cluster has one, else the smallest node's CPUs."""
    if ray.cluster_resources().get("GPU", 0) >= 1:
        return {"num_gpus": 1}
    cpus = [node["Resources"].get("CPU", 0) for node in ray.nodes() if node.get("Alive")]
    return {"num_cpus": max(1, int(min(cpus, default=1)))}


def sweep(request: SweepRequest, observer: Observer) -> SweepResult:
    """Every point of `request` a Ray task on the cluster at `request.ray`; returns the
    SweepResult read back from the folder once every task has ended."""
    from dsbench.store import files as store

    ray = _ray()
    folder = prepare(request)
    document, points = work(request), list(request.points)
    address = str(request.ray)
    try:
        with warnings.catch_warnings():  # Ray warns, then raises: the error says it once
            warnings.simplefilter("ignore")
            ray.init(address=address, log_to_driver=request.verbose, configure_logging=False,
                     include_dashboard=False if address == "local" else None)  # fmt: skip
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise DsbenchError(f"cannot reach the Ray cluster at {address} "
                           f"({str(err).strip().splitlines()[0][:200]})",
                           "give local, auto, or the address of a running cluster") from None  # fmt: skip
    failed: list[tuple[str, str]] = []
    try:
        task = ray.remote(max_calls=1)(train_points).options(**resources(ray))
        waiting = {task.remote(document, (index, len(points))): point
                   for index, point in enumerate(points)}  # fmt: skip
        observer.points_start(len(points))
        while waiting:
            (ended,), _ = ray.wait(list(waiting), num_returns=1)
            point = waiting.pop(ended)
            try:
                said = ray.get(ended)
            except ray.exceptions.RayError as err:  # the task's process died, or Ray failed it
                said = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:200]}"
            if said is None:
                observer.point_done(point.label(request.spec.model))
            else:
                failed.append((point.slug, said))
    finally:
        ray.shutdown()
    if failed:
        slug, said = failed[0]
        raise DsbenchError(f"point {slug} failed on Ray: {said}",
                           f"the points finished are in {folder}; run the same command again "
                           "to finish the rest")  # fmt: skip
    return SweepResult(request.spec, store.read_sweep(folder), [], folder)
