"""tf.distribute strategies for `--strategy default|mirrored|multiworker`."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from dsbench.errors import DsbenchError
from dsbench.spec.settings import TrainSpec

_multiworker: tf.distribute.Strategy | None = None


def make_strategy(train: TrainSpec) -> tf.distribute.Strategy:
    """The strategy `train.strategy` names; `--batch-size` is the global batch under all three."""
    if train.strategy == "mirrored":
        check_devices(train.devices)
        return tf.distribute.MirroredStrategy(devices=list(train.devices) or None)
    if train.strategy == "multiworker":
        return multiworker_strategy()
    return tf.distribute.get_strategy()


def _short(name: str) -> str:
    """'/job:localhost/replica:0/task:0/device:GPU:0' or '/gpu:0' -> 'gpu:0'."""
    return name.rsplit("/", 1)[-1].lower().removeprefix("device:")


def check_devices(devices: tuple[str, ...]) -> None:
    """Refuse device names this machine does not have, listing the ones it has."""
    present = {_short(d.name): d.name for d in tf.config.list_logical_devices()}
    missing = [d for d in devices if _short(d) not in present]
    if missing:
        have = ", ".join("/" + short for short in present)
        raise DsbenchError(
            f"devices {', '.join(missing)} not found on this machine",
            f"it has {have}",
            setting="devices",
        )


def multiworker_strategy() -> tf.distribute.Strategy:
    """One MultiWorkerMirroredStrategy per process (TensorFlow allows only one), from TF_CONFIG."""
    global _multiworker
    if _multiworker is None:
        if "TF_CONFIG" not in os.environ:
            raise DsbenchError(
                "strategy multiworker needs the TF_CONFIG environment variable",
                "set TF_CONFIG on every worker (see docs/distributed.md)",
                setting="strategy",
            )
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError:
            raise DsbenchError(
                "TF_CONFIG is not valid JSON", "see the example in docs/distributed.md"
            ) from None
        _multiworker = tf.distribute.MultiWorkerMirroredStrategy()
    return _multiworker


def is_chief(strategy: tf.distribute.Strategy | None = None) -> bool:
    """True unless this process is a non-chief worker of a multi-worker cluster."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = config.get("task", {})
    if not task or not config.get("cluster"):
        return True
    if task.get("type") == "chief":
        return True
    return (
        "chief" not in config["cluster"] and task.get("type") == "worker" and task.get("index") == 0
    )


def describe(strategy: tf.distribute.Strategy) -> dict[str, object]:
    """Strategy name, replica count and devices, for the results' environment record."""
    try:
        devices = list(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy: one device, TensorFlow's choice
        gpus = tf.config.list_logical_devices("GPU")
        devices = [(gpus or tf.config.list_logical_devices("CPU"))[0].name]
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        name = "MultiWorkerMirroredStrategy"  # TF's class is CollectiveAllReduceStrategy
    elif isinstance(strategy, tf.distribute.MirroredStrategy):
        name = "MirroredStrategy"
    else:
        name = "default"
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}").get("cluster", {})
    return {
        "strategy": name,
        "replicas": strategy.num_replicas_in_sync,
        "workers": max(1, sum(len(v) for v in cluster.values())) if name != "default" else 1,
        "devices": devices,  # this worker's devices
    }
