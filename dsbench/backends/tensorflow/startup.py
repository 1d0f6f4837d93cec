"""Starting TensorFlow quietly: the import, its devices, the fork server's preload.

Everything that must happen before TensorFlow starts its threads (malloc arenas, the
multi-worker strategy) happens in `load_tensorflow`, called once by every training entry point.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
import tempfile
from typing import Any

from dsbench.backends import host

M_ARENA_MAX = -8  # from glibc's malloc.h


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas; True if applied (False elsewhere, e.g. macOS or musl).

    glibc gives every thread that allocates its own arena (up to 8 per core); TensorFlow's
    many threads then keep freed blocks spread over many arenas. Measured on 5,000
    CIFAR-size images: capping at 2 lowered peak RSS from ~1,150 MiB to ~1,070 MiB.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


# True in a process forked from the fork server that imported TensorFlow without starting it
# (workers._spawn, dsbench/backends/tensorflow/preload.py): load_tensorflow then starts it, quietly.
PRELOADED = False


def preload_tensorflow() -> None:
    """Import TensorFlow and Keras quietly without starting TensorFlow's runtime (no device, no
    thread pool yet), in the fork server that bench's and compare's worker processes are
    forked from: each worker starts its own runtime, fresh, without paying the import."""
    global PRELOADED
    if "tensorflow" in sys.modules:
        return
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _quietly(lambda: _import_tensorflow(False))
    PRELOADED = True


def load_tensorflow(verbose: bool = False, multiworker: bool = False) -> None:
    """Import TensorFlow and Keras, silencing their C++ start-up log lines unless `verbose`.

    Those lines are written by absl before TF_CPP_MIN_LOG_LEVEL is read, so the only way to
    drop them is to point file descriptor 2 at /dev/null while the import runs.
    MultiWorkerMirroredStrategy must exist before TensorFlow starts its devices, so it is
    created here, first thing, when asked for. In a worker forked from the fork server
    (PRELOADED) TensorFlow is imported already and only its devices start here.
    """
    global PRELOADED
    if "tensorflow" in sys.modules and not multiworker and not PRELOADED:
        return
    limit_malloc_arenas()
    if PRELOADED:
        PRELOADED = False
        if verbose:
            _start_devices()
        else:
            _report(_quietly(_start_devices))
        return
    if verbose or "keras" in sys.modules:
        _import_tensorflow(multiworker)
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    def started() -> None:
        _import_tensorflow(multiworker)
        _start_devices()

    _report(_quietly(started))


def _start_devices() -> None:
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    tf.config.list_logical_devices()  # device start-up logs its own lines


def _quietly(work: Any) -> str:
    """Run `work()` with file descriptor 2 captured; what it wrote there."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            work()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        return captured.read().decode(errors="replace")


def _report(log: str) -> None:
    """The device errors among TensorFlow's start-up lines, on stderr."""
    for line in device_errors(log, gpu_machine=bool(glob.glob("/dev/nvidia[0-9]*"))):
        print(f"TensorFlow: {line}", file=sys.stderr)


def device_errors(log: str, gpu_machine: bool) -> list[str]:
    """The lines of TensorFlow's start-up log a user must see: errors about devices, on a
    machine that has an NVIDIA device (on a CPU box a CUDA build always fails cuInit)."""
    if not gpu_machine:
        return []
    wanted = ("cuinit", "cuda error", "driver", "libcud", "gpu will not be used", "failed")
    benign = ("unable to register", "cpu_feature_guard")
    return [
        line.strip()
        for line in log.splitlines()
        if any(w in line.lower() for w in wanted) and not any(b in line.lower() for b in benign)
    ][:8]


def device_line(described: dict[str, Any]) -> str:
    """'device: /device:CPU:0 (CPU: <model>), TensorFlow 2.21.0, 1 replica' for the log."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        kind = host.gpu_kind(details.get("device_name", "?"), details.get("compute_capability"))
    else:
        kind = host.cpu_kind()
    replicas = int(described.get("replicas", 1))
    line = (f"device: {', '.join(described.get('devices', []))} ({kind}), TensorFlow "
            f"{tf.__version__}, {replicas} replica{'s' if replicas != 1 else ''}")  # fmt: skip
    if not gpus and tf.test.is_built_with_cuda():
        line += " (this TensorFlow supports CUDA but found no GPU; --verbose shows why)"
    return line


def _import_tensorflow(multiworker: bool) -> Any:
    import keras  # noqa: F401
    import tensorflow as tf

    if multiworker:
        from dsbench.backends.tensorflow import distribute

        distribute.multiworker_strategy()
    return tf
