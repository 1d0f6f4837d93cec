"""Claims on a sweep's points, so that any number of workers (shards of a job array, one
process per device) fill one sweep folder and never train one point twice at once.

A claim is an operating-system file lock (filelock: flock on Linux and macOS) on
claims/<point>.lock, held while the point trains. The kernel drops a lock when the process
holding it ends, however it ends (SIGKILL included), so a point whose worker died is claimed
by the next worker that comes to it, which continues it from its own folder. On a shared
filesystem the lock is the filesystem's (NFS: its lock manager; a crashed client's locks go
when its lease ends). claims/<point>.json says who holds a claim (host, process, since when),
for people and `sweep --plan`; the lock alone decides.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from dsbench.errors import DsbenchError
from dsbench.store.files import atomic_json, read_json
from dsbench.store.folders import CLAIMS

SWEEP_LOCK = "sweep.lock"  # held while sweep.json, sweep.csv and sweep.png are rebuilt
REBUILD_WAIT_S = 600.0
# A claim waits this long for a lock held a moment (holder() looking, for `--plan`) before it
# takes the point for another worker's; a worker holds its point for the point's whole run.
CLAIM_WAIT_S = 1.0


class Claims:
    """The claims of the sweep folder `root` (claims/ is made on first use)."""

    def __init__(self, root: Path) -> None:
        self.folder = Path(root) / CLAIMS

    def _lock(self, name: str, timeout: float) -> FileLock:
        self.folder.mkdir(exist_ok=True)
        return FileLock(self.folder / name, timeout=timeout, thread_local=False)

    @contextlib.contextmanager
    def point(self, slug: str) -> Iterator[bool]:
        """Claim point `slug` for as long as the block runs: yields True when this process
        holds it, False when another process does (waited for CLAIM_WAIT_S at most)."""
        lock = self._lock(f"{slug}.lock", timeout=CLAIM_WAIT_S)
        try:
            lock.acquire()
        except Timeout:
            yield False
            return
        note = self.folder / f"{slug}.json"
        try:
            atomic_json(note, {"host": socket.gethostname(), "pid": os.getpid(),
                               "since_unix_s": time.time()})  # fmt: skip
            yield True
        finally:
            note.unlink(missing_ok=True)
            lock.release()

    @contextlib.contextmanager
    def rebuilding(self) -> Iterator[None]:
        """Hold the sweep's own lock while its files are rebuilt from the points present, so
        that two workers' sweep.json and sweep.csv are never mixed."""
        with self._lock(SWEEP_LOCK, timeout=REBUILD_WAIT_S):
            yield

    def holder(self, slug: str) -> dict[str, Any] | None:
        """Who claims point `slug` now (host, pid, since_unix_s), or None when no one does."""
        if not (self.folder / f"{slug}.lock").is_file():  # never claimed: nothing is made
            return None
        lock = self._lock(f"{slug}.lock", timeout=0)
        try:
            with lock:
                return None
        except Timeout:
            note = self.folder / f"{slug}.json"
            try:
                return read_json(note)
            except DsbenchError:  # written a moment after the lock is taken
                return {}


def states(folder: Path, slugs: list[str]) -> list[str]:
    """Each point's state in the sweep folder `folder`: training (and where), done,
    interrupted, or to do."""
    from dsbench.store.files import read_summary
    from dsbench.store.folders import POINTS

    claims, found = Claims(folder), []
    for slug in slugs:
        point = folder / POINTS / slug
        holder = claims.holder(slug)
        if holder is not None:
            where = f" on {holder.get('host')} (process {holder.get('pid')})" if holder else ""
            found.append(f"training{where}")
        elif (point / "summary.json").is_file():
            found.append("done" if read_summary(point).complete else "interrupted")
        else:
            found.append("to do")
    return found
