"""Keep dsbench's own peak memory at or below bare Keras'.

glibc gives every thread that allocates its own malloc arena (up to 8 per core). TensorFlow's
many threads then keep freed blocks spread over many arenas: measured here on 5,000 CIFAR-size
images, capping arenas at 2 lowered peak RSS from ~1,150 MiB to ~1,070 MiB. Must run before
TensorFlow starts its threads.
"""

from __future__ import annotations

import ctypes
import sys

M_ARENA_MAX = -8  # from glibc's malloc.h


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas; True if applied (False elsewhere, e.g. macOS or musl)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False
