"""The one exception type the core raises; the CLI turns it into a red line and an exit code."""

from __future__ import annotations

USAGE = 2  # bad settings, bad config, bad or missing input files
RUNTIME = 1  # something failed while running (training diverged, disk full, ...)


class DsbenchError(Exception):
    """An error a user can act on: what was wrong (message) and what to do (hint).

    `setting` names the setting(s) the message is about, in the library's words (TOML keys
    such as "batch_size"); the CLI rewrites those words into its flags ("--batch-size").
    """

    def __init__(
        self,
        message: str,
        hint: str = "",
        exit_code: int = USAGE,
        setting: str | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
        self.settings: tuple[str, ...] = (setting,) if isinstance(setting, str) else setting or ()

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message
