"""A received results folder continued (`resume`): its settings are data, never code. A
builder file it names runs only when named again with the sha256 it recorded; a data or
TensorBoard folder it records outside itself is used only when given again."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dsbench.errors import DsbenchError
from dsbench.measure.bench import BenchSummary
from dsbench.measure.deploy import Deployed
from dsbench.observer import Observer
from dsbench.run.outcome import Comparison, SweepResult
from dsbench.run.runner import run, run_sweep
from dsbench.spec.config import spec_from_dict
from dsbench.spec.request import ResumeRequest, RunRequest, SweepRequest
from dsbench.spec.settings import RunSpec
from dsbench.store.files import ResultsFolder


def resume(request: ResumeRequest, observer: Observer) -> Comparison | SweepResult:
    """api.resume: an interrupted compare, train or sweep folder, continued with its own
    settings (a new `data_dir` may replace the old).

    The folder is data, never code: a builder file it names runs only when `arch` names it
    again (and its sha256 matches the one recorded), and a data or TensorBoard folder it records
    outside itself is used only when given again (`data_dir`, `tensorboard`)."""
    from dsbench.measure import sweep as sweeps
    from dsbench.spec import grid
    from dsbench.store import files as store

    run_dir, arch, tensorboard = request.run_dir, request.arch, request.tensorboard
    record = store.load(run_dir)
    if isinstance(record, (BenchSummary, Deployed)):
        raise DsbenchError(f"{run_dir} was written by {record.kind}; only train, compare and "
                           "sweep resume")  # fmt: skip
    if record.complete:
        raise DsbenchError(f"{run_dir} is already complete", "nothing to resume")
    is_sweep = isinstance(record, sweeps.SweepSummary)
    source = f"{run_dir}/{'sweep' if is_sweep else 'summary'}.json"
    recorded = recorded_hash(run_dir, record)
    settings = trusted_settings(record.settings, request, recorded)
    spec = saved_spec(settings, source, request.data_dir)
    if callable(arch):  # a function given from Python, checked against its recorded name
        spec = dataclasses.replace(spec, model=dataclasses.replace(spec.model, arch=arch))
    if tensorboard is not None:
        spec = dataclasses.replace(spec, train=dataclasses.replace(
            spec.train, tensorboard=str(tensorboard)))  # fmt: skip
    if isinstance(record, sweeps.SweepSummary):
        axes = record.axes
        try:
            points = grid.points_for(spec.model, axes.get("kernel_size"), axes.get("width"),
                                       axes.get("blocks"), axes.get("backend"),
                                       axes.get("batch_size"), axes.get("precision"))  # fmt: skip
        except DsbenchError as err:  # a sweep.json whose points dsbench could not have run
            from dsbench.store.schema import broken

            raise broken(source, f"its axes are invalid ({err.message})") from None
        continued_sweep = SweepRequest(spec, tuple(points), output_dir=run_dir,
                                       verbose=request.verbose)  # fmt: skip
        return run_sweep(continued_sweep, ResultsFolder(run_dir, existing=True), observer)
    continued = RunRequest(record.command, record.kinds, spec, run_dir, True, request.verbose, True)
    return run(continued, observer, store.load_results(run_dir))


def recorded_hash(run_dir: Path, record: Any) -> str | None:
    """The sha256 of the builder file a folder recorded: a run's environment.json, a sweep's
    sweep.json (or, for sweeps written before it held one, a finished point's environment)."""
    found = record.environment.get("arch_sha256") or getattr(record, "arch_sha256", None)
    if found or not (run_dir / "points").is_dir() or (run_dir / "points").is_symlink():
        return str(found) if found else None
    from dsbench.store import files as store

    for point in sorted((run_dir / "points").iterdir()):
        ours = point.is_dir() and not point.is_symlink() and (point / "environment.json").is_file()
        if ours and (mine := store.read_environment(point).get("arch_sha256")):
            return str(mine)
    return None


def trusted_settings(saved: dict[str, Any], request: ResumeRequest,
                     recorded_hash: str | None) -> dict[str, Any]:  # fmt: skip
    """A received folder's settings with nothing in them that runs code or reaches outside the
    folder unless the request names it again: the builder file (`arch`, same sha256 as
    recorded), the data folder (`data_dir`) and the TensorBoard folder (`tensorboard`). Refused
    otherwise, in one line that says what the folder names and how to use it knowingly."""
    run_dir, arch, data_dir, tensorboard = (request.run_dir, request.arch, request.data_dir,
                                            request.tensorboard)  # fmt: skip
    model = dict(saved.get("model") or {})
    named = model.get("arch")
    if arch is not None and not named:
        raise DsbenchError(f"{run_dir} was not made with --arch, so there is no builder to give",
                           "resume it without --arch", setting="arch")  # fmt: skip
    if named:
        model["arch"] = _trusted_arch(str(named), run_dir, recorded_hash, arch)
    train, data = dict(saved.get("train") or {}), dict(saved.get("data") or {})
    for recorded, given, setting, use in ((train.get("tensorboard"), tensorboard, "tensorboard",
                                           "writes TensorBoard logs"),
                                          (data.get("data_dir"), data_dir, "data_dir",
                                           "reads data")):  # fmt: skip
        if recorded and given is None and not _inside(recorded, run_dir):
            flag = f"--{setting.replace('_', '-')}"
            raise DsbenchError(
                f"{run_dir} records {setting} {recorded}, outside the folder; dsbench {use} "
                "there only when you say so",
                f"dsbench resume {run_dir} {flag} DIR (that folder, or another)",
                setting=setting,
            )
    return {**saved, "model": model, "train": train, "data": data}


def _trusted_arch(named: str, run_dir: Path, recorded_hash: str | None,
                  arch: str | Callable[..., Any] | None) -> str:  # fmt: skip
    """The builder a resumed folder may use: a Keras application by name as recorded; a file
    or a Python function only when the user names it again (a file with the recorded sha256)."""
    from dsbench.models import twin as arch_module

    if named.startswith(arch_module.APPLICATIONS) and (arch is None or arch == named):
        return named
    if arch is None:
        raise DsbenchError(
            f"{run_dir} names the builder {named!r}, which is code; dsbench runs no code that a "
            "results folder names",
            f"read that file, then name it yourself: dsbench resume {run_dir} --arch {named}"
            if not named.startswith("python:")
            else "resume it from Python: dsbench.resume(FOLDER, arch=your_function)",
            setting="arch",
        )
    if callable(arch):
        mine = f"python:{arch.__module__}.{arch.__qualname__}"
        if mine != named:
            raise DsbenchError(f"arch: {run_dir} was made with {named!r}, not {mine!r}",
                               "give the function the run began with", setting="arch")  # fmt: skip
        return named
    if arch.rpartition(":")[2] != named.rpartition(":")[2] or arch.startswith(
        arch_module.APPLICATIONS
    ) != named.startswith(arch_module.APPLICATIONS):
        raise DsbenchError(f"arch: {run_dir} was made with {named!r}, not {arch!r}",
                           "give the builder the run began with", setting="arch")  # fmt: skip
    arch_module.check_arch(arch)
    if not recorded_hash:
        raise DsbenchError(
            f"arch: {run_dir} records no sha256 of its builder file, so dsbench cannot tell "
            f"{arch} is the file the run began with",
            "start a new run with --arch",
            setting="arch",
        )
    if arch_module.content_hash(arch) != recorded_hash:
        raise DsbenchError(f"arch: {arch.rpartition(':')[0]} is not the builder file the run "
                           f"began with (sha256 {recorded_hash[:12]}... recorded)",
                           "give the file as it was, or start a new run", setting="arch")  # fmt: skip
    return arch


def _inside(path: str, run_dir: Path) -> bool:
    """Whether a recorded path lies inside the results folder (links resolved)."""
    where = Path(path).expanduser()
    where = where if where.is_absolute() else Path.cwd() / where
    try:
        return where.resolve().is_relative_to(run_dir.resolve())
    except (OSError, RuntimeError):
        return False


def saved_spec(saved: dict[str, Any], source: str, data_dir: str | Path | None) -> RunSpec:
    """The RunSpec a results folder was made with (a new `data_dir` may replace the old)."""
    try:
        return spec_from_dict(saved, source, data_dir=str(data_dir) if data_dir else None)
    except DsbenchError as err:  # settings each valid, but not together (kernel vs input, ...)
        if err.settings == ("data_dir",):
            raise
        from dsbench.store.schema import broken

        raise broken(source, f"its settings are invalid ({err.message})") from None
