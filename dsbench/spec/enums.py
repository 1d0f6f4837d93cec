"""`StrEnum` for Python 3.10 too: members that are their own text ("complete", "compare")."""

from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    """A str Enum whose str() and f-string are its value, as enum.StrEnum (3.11+) does."""

    def __str__(self) -> str:
        return str(self.value)
