"""The one exception type the core raises; the CLI turns it into a red line and an exit code."""

from __future__ import annotations

USAGE = 2  # bad flags, bad config, bad or missing input files
RUNTIME = 1  # something failed while running (training diverged, disk full, ...)


class DsbenchError(Exception):
    """An error a user can act on: what was wrong (message) and what to do (hint)."""

    def __init__(self, message: str, hint: str = "", exit_code: int = USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message
