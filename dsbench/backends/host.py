"""The machine a run runs on, framework aside: the CPU's model name, the features that change
the answer (matrix units, low-precision vector instructions) and the cores in use."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Iterator
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (the platform's processor name elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# CPU flags (/proc/cpuinfo: "flags" on x86, "Features" on ARM) that change which model is
# faster: matrix units and bfloat16/float16 vector math speed up dense convolutions (the normal
# model) far more than depthwise ones. Names as the device line shows them, in this order.
FEATURES = (("amx_bf16", "AMX"), ("avx512_bf16", "AVX512-BF16"), ("avx512_fp16", "AVX512-FP16"),
            ("avx512f", "AVX-512"), ("sme", "SME"), ("bf16", "BF16"), ("sve", "SVE"),
            ("asimd", "NEON"))  # fmt: skip
# Of those, the ones that make mixed_bfloat16 fast on a CPU.
FAST_BFLOAT16 = ("AMX", "AVX512-BF16", "SME", "BF16")


def cpu_features(cpuinfo: str | None = None) -> list[str]:
    """The features of FEATURES this CPU has (its first processor's flags)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return []
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith(("flags", "Features")):
            flags = set(line.split(":", 1)[1].split())
            break
    return [name for flag, name in FEATURES if flag in flags]


def cpu_kind() -> str:
    """'CPU: <model> with AMX, AVX512-BF16, AVX-512' for the device line."""
    features = cpu_features()
    return f"CPU: {cpu_model()}" + (f" with {', '.join(features)}" if features else "")


def gpu_kind(model: str, capability: tuple[int, int] | None) -> str:
    """'GPU: <model>, compute capability 9.0' for the device line."""
    shown = f", compute capability {capability[0]}.{capability[1]}" if capability else ""
    return f"GPU: {model}{shown}"


def cores_in_use() -> int:
    """The cores this process may run on (its CPU affinity), as the load warnings count them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextlib.contextmanager
def quiet_native_output() -> Iterator[None]:
    """Keep what native libraries print straight to file descriptors 1 and 2 (TensorFlow's
    converters, LiteRT's delegates) off the terminal and off --json's stdout; Python's own
    output and exceptions are untouched (the streams are flushed before and after)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
