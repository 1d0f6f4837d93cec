"""Progress callbacks while dsbench works: subclass `Observer` and override what you need.

The core calls these and never prints; the CLI's Rich observer renders them, tests record them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dsbench.measure.records import RunResult


class Observer:
    """Does nothing; every method is a hook. `batch_end` is called only if `wants_batches`."""

    wants_batches = False

    def device(self, line: str) -> None:
        """Where the models will run: 'device: ... , TensorFlow ..., N replicas'."""

    def decoding(self, done: int, total: int) -> None:
        """Images of an image-folder tree decoded so far."""

    def data_loaded(self, source: str, train_images: int, test_images: int, rescale: bool) -> None:
        """The images are in memory."""

    def points_start(self, total: int) -> None:
        """A sweep of `total` points begins."""

    def point_done(self, label: str) -> None:
        """A sweep point is finished (or was kept from before)."""

    def process_start(self, process: int, processes: int) -> None:
        """Worker process `process` (0-based) of `processes` starts (--processes >= 2 only)."""

    def run_start(self, kinds: tuple[str, ...], epochs: int, repeats: int, done: int) -> None:
        """Training begins: `done` of the len(kinds) x epochs x repeats epochs exist already."""

    def model_start(self, kind: str, repeat: int, epochs: int, steps: int) -> None:
        """A model starts training."""

    def epoch_start(self, kind: str, epoch: int) -> None:
        """An epoch of the `kind` model starts (1-based)."""

    def batch_end(self, kind: str, step: int, logs: dict[str, Any]) -> None:
        """A training step of the `kind` model ended, with Keras' running logs."""

    def epoch_end(self, kind: str, row: dict[str, Any]) -> None:
        """An epoch of the `kind` model ended: its history row (losses, accuracies, seconds)."""

    def working(self, what: str) -> None:
        """Work that is not an epoch has begun, e.g. 'measuring inference speed and model size'."""

    def model_end(self, result: RunResult) -> None:
        """A model finished training (complete, diverged or interrupted)."""

    def close(self) -> None:
        """All work is over."""
