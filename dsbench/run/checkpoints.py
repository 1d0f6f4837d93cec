"""A model's saved state between epochs (`--checkpoint`): save, find, restore, verify.

After every epoch the weights and optimizer state go to `checkpoints/{kind}-r{repeat}-e{N}.keras`
in the results folder, then a pointer `{kind}-r{repeat}.json` naming that file and holding the
epochs so far (the commit point). On resume the pointer and the model are trusted only as far
as they check out.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsbench.errors import RUNTIME, DsbenchError
from dsbench.measure.records import RunResult, to_jsonable
from dsbench.models.vgg import build
from dsbench.spec.settings import RunSpec
from dsbench.store.files import atomic_text, atomic_write, read_json

if TYPE_CHECKING:
    import keras


def _checkpoint_name(kind: str, repeat: int) -> str:
    return f"{kind}-r{repeat}"


def save_checkpoint(folder: Path, model: keras.Model, result: RunResult) -> None:
    """Save weights + optimizer state after an epoch, then the epochs so far as the commit point.

    The .keras file is named by its epoch and written before the JSON that points to it, so
    a kill at any moment leaves a JSON whose model file and history agree; Ctrl-C and SIGTERM
    wait until both are written. A failed write (a full disk) leaves no temporary file behind
    and becomes one line naming the folder.
    """
    name = _checkpoint_name(result.model, result.repeat)
    epoch = len(result.epochs)
    model_file = folder / f"{name}-e{epoch}.keras"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _signals_held():
            atomic_write(model_file, lambda tmp: _save_keras(model, tmp))
            atomic_text(folder / f"{name}.json", json.dumps(to_jsonable(
                {"model_file": model_file.name, "epochs": result.epochs})))  # fmt: skip
        for old in folder.glob(f"{name}-e*.keras"):
            if old != model_file:
                old.unlink(missing_ok=True)
    except OSError as err:
        raise DsbenchError(
            f"cannot write a checkpoint to {folder}: {err.strerror or err}",
            "free some space or leave checkpoint off; the epochs before this one are saved",
            exit_code=RUNTIME,
        ) from None


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM held while a checkpoint is written and delivered once it is whole: an
    interrupt inside Keras' HDF5 writer would surface as an OSError (a failed write, exit 1)
    and leave no checkpoint of the epoch just trained. (Python runs handlers in the main
    thread, whichever thread the signal reached: held there by handlers that only note it.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    before = {signum: signal.signal(signum, lambda signum, _: caught.append(signum))
              for signum in held}  # fmt: skip
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        for number in caught[:1]:
            signal.raise_signal(number)


def _save_keras(model: keras.Model, tmp: Path) -> None:
    # Keras insists on the .keras suffix; write beside the temporary name, then move onto it.
    path = tmp.with_name(tmp.name + ".keras")
    try:
        model.save(path)
        os.replace(path, tmp)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


_EPOCH_KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "train_s", "val_s",
               "epoch_s")  # fmt: skip


def load_checkpoint(
    folder: Path, kind: str, repeat: int
) -> tuple[Path, list[dict[str, Any]]] | None:
    """The last complete checkpoint of a run: (model file, its epochs), or None.

    The pointer is trusted only as far as it checks out: its model file must be this run's
    file for exactly its number of epochs, inside `folder`, and its epochs numbered 1..n."""
    name = _checkpoint_name(kind, repeat)
    pointer = folder / f"{name}.json"
    if not pointer.is_file():
        return None
    document = read_json(pointer, "model_file", "epochs")
    epochs = document["epochs"]
    broken = f"{pointer} is not a dsbench checkpoint pointer"
    hint = "delete the checkpoints folder to train this model from its start"
    if not isinstance(epochs, list) or not all(isinstance(row, dict) for row in epochs):
        raise DsbenchError(f"{broken}: 'epochs' is not a list of epoch rows", hint)
    expected_file = f"{name}-e{len(epochs)}.keras"
    if document["model_file"] != expected_file:
        raise DsbenchError(
            f"{broken}: it names {str(document['model_file'])[:80]!r}, not {expected_file} "
            f"(its own file for {len(epochs)} epochs in {folder})",
            hint,
        )
    for number, row in enumerate(epochs, start=1):
        values = [row.get(key) for key in _EPOCH_KEYS]
        if row.get("epoch") != number or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values
        ):
            raise DsbenchError(f"{broken}: epoch row {number} is not epoch {number}'s figures",
                               hint)  # fmt: skip
        row.update({k: math.nan for k, v in row.items() if v is None})
    model_file = folder / expected_file
    if not model_file.is_file() or model_file.is_symlink():
        raise DsbenchError(f"checkpoint {pointer} points to missing {model_file.name}", hint)
    return model_file, epochs


def max_checkpoint_bytes(params: int) -> int:
    """The most a checkpoint of a model of `params` parameters can hold: the weights and
    Adam's two moments in float32 (3x), with room to spare (4x), and 1 MiB of config."""
    return 4 * params * 4 + (1 << 20)


def _check_size(model_file: Path, params: int, hint: str) -> None:
    """Refuse, before Keras reads it, a checkpoint larger than the model it should hold: on
    disk, or once unpacked (a .keras file is a zip, whose members could unpack to far more)."""
    import zipfile

    bound = max_checkpoint_bytes(params)
    try:
        size = model_file.stat().st_size
        with zipfile.ZipFile(model_file) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (OSError, zipfile.BadZipFile, ValueError) as err:
        raise DsbenchError(f"checkpoint {model_file} cannot be loaded ({err})", hint) from None
    if max(size, unpacked) > bound:
        raise DsbenchError(f"checkpoint {model_file} holds {max(size, unpacked):,} bytes, more "
                           f"than a model of {params:,} parameters can ({bound:,})", hint)  # fmt: skip


def restore(
    model_file: Path, epochs: list[dict[str, Any]], spec: RunSpec, kind: str
) -> keras.Model:
    """A model from its checkpoint, refused unless it is the `kind` model this run trains
    (same layers, same weight shapes) and holds no more epochs than the run asks for."""
    hint = "delete the run's checkpoints folder to train this model from its start"
    if len(epochs) > spec.train.epochs:
        raise DsbenchError(f"checkpoint {model_file} holds {len(epochs)} epochs, the run asks "
                           f"for {spec.train.epochs}", hint)  # fmt: skip
    import keras

    expected = build(spec.model, kind, spec.train.precision)
    _check_size(model_file, expected.count_params(), hint)
    try:
        model = keras.models.load_model(model_file, safe_mode=True)
    except Exception as err:  # a damaged zip, a foreign config, a refused Lambda: all unusable
        reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise DsbenchError(f"checkpoint {model_file} cannot be loaded ({reason})", hint) from None

    def shape(m: keras.Model) -> list[Any]:
        return [(type(layer).__name__, [tuple(w.shape) for w in layer.weights])
                for layer in m.layers]  # fmt: skip

    if shape(model) != shape(expected) or model.count_params() != expected.count_params():
        raise DsbenchError(
            f"checkpoint {model_file} does not hold the {kind} model this run trains "
            f"({model.count_params():,} parameters, expected {expected.count_params():,})",
            hint,
        )
    return model
