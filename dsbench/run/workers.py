"""`--processes N`: the whole comparison trained N times, each time in a fresh Python process.

Why: on a noisy machine each process trains the two models at a speed ratio of its own, and
identical runs differ by more than one run's epochs suggest (docs/benchmarks.md). A
figure to quote needs several processes, with the process as the unit of its interval
(stats.process_interval), as pyperf does with its worker processes. The workers run one after
another, never two at once (they would share the cores); each trains every model and repeat
with the same seeds. The parent imports no TensorFlow: it relays each worker's progress to
the caller's Observer, numbers the workers' RunResults by `process` and hands them back after
each worker, so that what is done is saved even if a later worker fails or is interrupted.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsbench.errors import RUNTIME, DsbenchError
from dsbench.measure.records import RunResult, Status
from dsbench.observer import Observer
from dsbench.spec.request import BenchRequest, RunRequest
from dsbench.spec.settings import DEFAULT_BACKEND, RunSpec

if TYPE_CHECKING:
    from dsbench.run.saving import Saver

# Observer hooks a worker relays; the parent shows the one-off ones for the first worker only.
ONCE = ("device", "data_loaded", "run_start")
RELAYED = (*ONCE, "decoding", "model_start", "epoch_start", "batch_end", "epoch_end", "working",
           "model_end")  # fmt: skip


class _Relay(Observer):
    """In a worker: every relayed observer call becomes a message to the parent."""

    def __init__(self, events: Any, wants_batches: bool) -> None:
        self.events = events
        self.wants_batches = wants_batches


def _relayed(name: str) -> Callable[..., None]:
    def hook(self: _Relay, *args: Any) -> None:
        self.events.put((name, args))

    return hook


for _name in RELAYED:
    setattr(_Relay, _name, _relayed(_name))


def _work(job: Callable[..., Any], args: tuple[Any, ...], backend: str, verbose: bool,
          wants_batches: bool, events: Any) -> None:  # fmt: skip
    """A worker's whole life: start the framework, run `job(relay, started, *args)` (`started`:
    when the worker began, framework start included), then send ("result", what it returned)
    or why not. In a process group of its own, so that a terminal's Ctrl-C reaches the parent
    alone, which passes it on once."""
    started = time.perf_counter()
    os.setpgrp()
    try:
        from dsbench import backends

        backends.select(backend).start(verbose)
        events.put(("result", job(_Relay(events, wants_batches), started, *args)))
    except DsbenchError as error:
        events.put(("error", (error.message, error.hint, error.exit_code, error.settings)))
    except KeyboardInterrupt:  # before training began (TensorFlow's start): nothing to keep
        events.put(("interrupted", ()))
    except BaseException as error:  # reported to the parent, which raises it as DsbenchError
        events.put(("crash", (f"{type(error).__name__}: {error}",)))


def _compare_job(relay: Observer, started: float,
                 request: RunRequest) -> tuple[RunSpec, list[RunResult], dict[str, Any]]:  # fmt: skip
    """A compare or train worker: its spec as fitted, its results and its environment."""
    from dsbench.run import in_process

    fitted, shared = in_process.setup(request.spec, relay)
    results, environment = in_process.compare(dataclasses.replace(request, spec=fitted),
                                              shared, None, relay)  # fmt: skip
    return fitted, results, {**environment, "pid": os.getpid()}


def _bench_job(relay: Observer, started: float,
               request: BenchRequest) -> tuple[Any, list[str], dict[str, Any]]:  # fmt: skip
    """A bench worker: every cell within the request's max_time of the worker's start, timed
    until its share is spent (the process is the unit: no spread between runs added here);
    its rows, warnings and environment."""
    from dsbench.run import in_process
    from dsbench.spec.request import Command

    fitted, shared = in_process.setup(request.spec, relay)
    mine = dataclasses.replace(request, spec=fitted, between_runs_sd=0.0)
    rows, warnings = in_process.bench(mine, shared, started + request.max_time, unit=True)
    environment = in_process.run_environment(Command.bench, fitted, shared)
    return rows, warnings, {**environment, "pid": os.getpid()}


def _spawn(job: Callable[..., Any], args: tuple[Any, ...], spec: RunSpec, verbose: bool,
           observer: Observer, process: int) -> tuple[str, Any]:  # fmt: skip
    """Run `job` in worker process `process`, relaying its progress to `observer`, until it
    reports its end: (kind, payload) as _follow gives them. On TensorFlow the worker is forked
    from a fork server that has imported TensorFlow without starting it (dsbench/backends/tensorflow/preload.py:
    the import, 6-9 s on 2 cores, is paid once, and each worker still starts TensorFlow's
    runtime, devices and threads of its own); on another backend it is a fresh interpreter."""

    backend = spec.train.backend or DEFAULT_BACKEND
    context: Any
    if backend == "tensorflow" and spec.train.strategy != "multiworker":
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["dsbench.backends.tensorflow.preload"])
    else:
        context = multiprocessing.get_context("spawn")  # fresh interpreters: nothing inherited
    events = context.Queue()
    worker = context.Process(target=_work, name=f"dsbench-process-{process + 1}",
                             args=(job, args, backend, verbose, observer.wants_batches, events))  # fmt: skip
    worker.start()
    return _follow(worker, events, observer, process)


def _raise_failure(kind: str, payload: Any, process: int, processes: int, hint: str) -> None:
    """A worker's error as the DsbenchError it was; a crash as one line with `hint`."""
    if kind == "error":
        message, hint_there, exit_code, settings = payload
        raise DsbenchError(message, hint_there, exit_code, settings or None)
    if kind == "crash":
        raise DsbenchError(f"worker process {process + 1} of {processes} failed: {payload[0]}",
                           hint, exit_code=RUNTIME)  # fmt: skip


def bench(request: BenchRequest, deadline: float,
          observer: Observer) -> tuple[list[Any], list[list[str]], dict[str, Any]]:  # fmt: skip
    """`bench` in spec.train.processes fresh processes, one after another, sharing the time
    left until `deadline` (time.perf_counter()) equally among those still to run, each
    process's start included: every process's rows (DataFrames) and warnings, and the first
    one's environment with every worker's own figures under "processes". Interrupted:
    KeyboardInterrupt."""
    spec, processes = request.spec, request.spec.train.processes
    rows: list[Any] = []
    warnings: list[list[str]] = []
    environment: dict[str, Any] = {}
    for process in range(processes):
        observer.process_start(process, processes)
        share = max(1.0, (deadline - time.perf_counter()) / (processes - process))
        mine_request = dataclasses.replace(
            request, spec=_worker_spec(spec, process), max_time=share
        )
        kind, payload = _spawn(
            _bench_job, (mine_request,), spec, request.verbose, observer, process
        )
        if kind == "interrupted":
            raise KeyboardInterrupt
        _raise_failure(kind, payload, process, processes,
                       "--processes 1 runs it in this process, where --debug shows the traceback")  # fmt: skip
        mine, said, own = payload
        rows.append(mine)
        warnings.append(list(said))
        environment = environment or {**own, "processes": []}
        # each process's own ratio per mode and batch size, the values its interval is over
        ratios = [float(r) for r in mine["ratio"]]
        environment["processes"].append({**_own_figures(process, own), "ratios": ratios})
    return rows, warnings, environment


def run(
    request: RunRequest,
    observer: Observer,
    save: Saver,
    previous: list[RunResult] | None = None,
    previous_environment: dict[str, Any] | None = None,
) -> tuple[RunSpec, list[RunResult], dict[str, Any]]:
    """Train the request in spec.train.processes fresh processes, one after another.

    Returns the spec as the workers fitted it, every worker's results (numbered by `process`)
    and the first worker's environment with every worker's own figures under "processes".
    `save(spec, results, environment)` is called after each worker. When resuming, `previous`
    processes that finished are kept and the rest are trained again from the start.
    """
    spec, kinds = request.spec, request.kinds
    processes = spec.train.processes
    results = _finished_processes(previous or [], len(kinds) * spec.train.repeats,
                                  spec.train.epochs)  # fmt: skip
    first = len({r.process for r in results})
    environment: dict[str, Any] = {}
    if results and previous_environment:
        environment = {**previous_environment}
        environment["processes"] = list(environment.get("processes", []))[:first]
    fitted = spec
    for process in range(first, processes):
        observer.process_start(process, processes)
        mine_request = dataclasses.replace(request, spec=_worker_spec(spec, process))
        kind, payload = _spawn(_compare_job, (mine_request,), spec, request.verbose, observer,
                               process)  # fmt: skip
        if kind == "result":
            worker_fitted, mine, own = payload
            # in_process.fitted_spec changes the model alone (an image tree's shape, classes)
            fitted = dataclasses.replace(spec, model=worker_fitted.model)
            for result in mine:
                result.process = process
            results += mine
            environment = environment or {**own, "processes": []}
            environment["processes"].append(_own_figures(process, own))
        interrupted = kind == "interrupted" or any(r.status == Status.interrupted for r in results)
        if kind != "result" or process < processes - 1:  # the runner saves the end (finish)
            save(fitted, results, environment)
        _raise_failure(kind, payload, process, processes,
                       "the processes before it are saved; --processes 1 runs it in this "
                       "process, where --debug shows the traceback")  # fmt: skip
        if interrupted:
            if not results or results[-1].status != Status.interrupted:  # stopped before training
                raise KeyboardInterrupt
            break
    return fitted, results, environment


def _finished_processes(previous: list[RunResult], runs: int, epochs: int) -> list[RunResult]:
    """The results of the processes 0, 1, ... that trained all `runs` runs to their end."""
    kept: list[RunResult] = []
    for process in itertools.count():
        mine = [r for r in previous if r.process == process]
        if len(mine) < runs or not all(r.finished(epochs) for r in mine):
            break
        kept += mine
    return kept


def _worker_spec(spec: RunSpec, process: int) -> RunSpec:
    """One process's spec: processes 1, and its own TensorBoard folder (process-2/...)."""
    logs = spec.train.tensorboard
    if logs and spec.train.processes > 1:
        logs = str(Path(logs) / f"process-{process + 1}")
    return dataclasses.replace(spec, train=dataclasses.replace(spec.train, processes=1,
                                                               tensorboard=logs))  # fmt: skip


def _own_figures(process: int, environment: dict[str, Any]) -> dict[str, Any]:
    """What differs between workers' environments: load, memory, start time."""
    keys = ("pid", "created_utc", "load_average", "peak_rss_mib")
    return {"process": process, **{k: environment[k] for k in keys if k in environment}}


def _follow(worker: Any, events: Any, observer: Observer, process: int) -> tuple[str, Any]:
    """Relay a worker's events until it reports its end. Ctrl-C and SIGTERM are passed on to
    the worker, which stops training and reports what it measured, as one process would."""
    main = threading.current_thread() is threading.main_thread()
    forward = {signum: signal.signal(signum, lambda signum, _: os.kill(worker.pid, signum))
               for signum in (signal.SIGINT, signal.SIGTERM)} if main else {}  # fmt: skip
    try:
        while True:
            try:
                name, args = events.get(timeout=0.5)
            except queue.Empty:
                if not worker.is_alive() and events.empty():
                    worker.join()
                    return "crash", (f"it exited with code {worker.exitcode} and no result",)
                continue
            if name in ("result", "error", "crash", "interrupted"):
                worker.join()
                return name, args
            if name in ONCE and process > 0:
                continue
            if name == "model_end":
                args[0].process = process
            getattr(observer, name)(*args)
    finally:
        for signum, handler in forward.items():
            signal.signal(signum, handler)
