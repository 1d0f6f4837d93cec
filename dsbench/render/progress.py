"""Live progress while dsbench trains: Rich progress bars and a line per epoch (RichObserver)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from dsbench.observer import Observer
from dsbench.render.format import inert, plural
from dsbench.render.layout import fit
from dsbench.render.tables import epoch_table

if TYPE_CHECKING:
    from dsbench.measure.records import RunResult


class RichObserver(Observer):
    """Progress bars per model and epoch (and over sweep points), a line per epoch, and each
    model's per-epoch table. The bars show only when `show_progress` (a terminal)."""

    def __init__(self, console: Console, show_progress: bool) -> None:
        self.console = console
        self.progress: Progress | None = None
        if show_progress:
            self.progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[metrics]}", markup=False),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self.progress.start()
        self.wants_batches = self.progress is not None
        self.done: dict[str, int] = {}  # epochs finished per model, for the time estimate
        self.last_s: dict[str, float] = {}
        self.estimated = False
        self.repeat, self.repeats, self.kinds = 0, 1, 1
        self.process, self.processes = 0, 1
        self.run_task: TaskID | None = None
        self.task: TaskID | None = None
        self.overall: TaskID | None = None
        self.epochs = 0
        self.steps = 0

    def close(self) -> None:
        """Stop the live display (call once, when all training is over)."""
        if self.progress:
            self.progress.stop()
            self.progress = None

    def device(self, line: str) -> None:
        self.console.print(inert(line))

    def decoding(self, done: int, total: int) -> None:
        if self.progress is None:
            return
        if self.task is None:
            self.task = self.progress.add_task("decoding images", total=total, metrics="")
        self.progress.update(self.task, completed=done)
        if done >= total:
            self.progress.remove_task(self.task)
            self.task = None

    def data_loaded(self, source: str, train_images: int, test_images: int, rescale: bool) -> None:
        self.console.print(
            f"data: {inert(source)}, {train_images:,} train / {test_images:,} validation images"
            + ("" if rescale else " (raw 0..255 pixels)")
        )

    def points_start(self, total: int) -> None:
        """An overall bar over sweep points."""
        if self.progress:
            self.overall = self.progress.add_task("sweep points", total=total, metrics="")

    def point_done(self, label: str) -> None:
        self.console.print(f"[bold]point done[/]: {inert(label)}")
        if self.progress and self.overall is not None:
            self.progress.advance(self.overall)

    def process_start(self, process: int, processes: int) -> None:
        self.process, self.processes = process, processes
        self.console.print(f"[bold]process {process + 1} of {processes}[/] (a fresh Python "
                           "process: Keras starts again)")  # fmt: skip

    def run_start(self, kinds: tuple[str, ...], epochs: int, repeats: int, done: int) -> None:
        self.repeats, self.kinds = repeats, len(kinds)
        if self.progress and self.run_task is None:  # the whole run, every process included
            # counted as the user asked for them: --epochs 2 is 2 epochs, whatever the models
            total = epochs * repeats * self.processes
            label = "epochs" + (f" ({len(kinds)} models each)" if len(kinds) > 1 else "")
            self.run_task = self.progress.add_task(label, total=total, metrics="")
            self.progress.update(self.run_task, completed=done / len(kinds))

    def model_start(self, kind: str, repeat: int, epochs: int, steps: int) -> None:
        self.epochs, self.steps, self.repeat = epochs, steps, repeat
        self.done[kind], self.last_s[kind] = 0, 0.0
        label = f"training {kind}" + (f" (repeat {repeat + 1})" if repeat else "")
        self.console.print(f"[bold]{label}[/]: {plural(epochs, 'epoch')} x {plural(steps, 'step')}")

    def epoch_start(self, kind: str, epoch: int) -> None:
        if self.progress:
            self.task = self.progress.add_task(
                f"{kind} epoch {epoch}/{self.epochs}", total=self.steps, metrics=""
            )

    def batch_end(self, kind: str, step: int, logs: dict[str, Any]) -> None:
        if self.progress and self.task is not None:
            loss, acc = float(logs.get("loss", math.nan)), float(logs.get("accuracy", math.nan))
            self.progress.update(
                self.task, completed=step, metrics=f"loss {loss:.4f} acc {acc:.4f}"
            )

    def epoch_end(self, kind: str, row: dict[str, Any]) -> None:
        if self.progress and self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        self.console.print(
            f"  {kind} epoch {row['epoch']}/{self.epochs}: loss {row['loss']:.4f} "
            f"acc {row['accuracy']:.4f} val_acc {row['val_accuracy']:.4f} "
            f"(train {row['train_s']:.2f} s, val {row['val_s']:.2f} s)"
        )
        self.done[kind], self.last_s[kind] = int(row["epoch"]), float(row["epoch_s"])
        if self.progress and self.run_task is not None:
            self.progress.advance(self.run_task, 1 / self.kinds)
        if not self.estimated and all(self.done.values()):
            # after every model's first epoch: the rest, repeats included, at each model's
            # latest epoch time (epoch 1 traced, so the estimate errs long)
            left = sum((self.epochs - self.done[k]) * self.last_s[k] for k in self.done)
            runs_left = (self.repeats - self.repeat - 1
                         + (self.processes - self.process - 1) * self.repeats)  # fmt: skip
            left += runs_left * self.epochs * sum(self.last_s.values())
            more = f", {self.processes} processes" if self.processes > 1 else ""
            self.console.print(f"[dim]about {left / 60:.1f} min of training left "
                               f"(all models, {plural(self.repeats, 'repeat')}{more})[/]")  # fmt: skip
            self.estimated = True

    def working(self, what: str) -> None:
        self.console.print(f"[dim]{inert(what)}[/]")

    def model_end(self, result: RunResult) -> None:
        if self.progress and self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        self.console.print(fit(self.console, epoch_table(result)))
