"""The data layer on CIFAR-format files written here, on broken ones, and on synthetic data."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dsbench import data
from dsbench.backends.tensorflow import tfdata
from dsbench.errors import DsbenchError
from dsbench.spec.settings import DataSpec


def test_folder_loads_in_nhwc_with_planes_in_cifar_order(
    cifar_dir: Path, make_split: Any, images_per_batch: Any
) -> None:
    loaded = data.load_cifar10(cifar_dir)
    assert loaded.x_train.shape == (5 * images_per_batch, 32, 32, 3)
    assert loaded.x_test.shape == (images_per_batch, 32, 32, 3)
    assert loaded.x_train.dtype == np.uint8 and loaded.y_train.dtype == np.int64
    expected_images, expected_labels = make_split(0)
    np.testing.assert_array_equal(loaded.x_train[:images_per_batch], expected_images)
    assert loaded.y_train[:images_per_batch].tolist() == expected_labels
    # the marker pixel: R = label, G = 100 + label, B = 200 + label
    assert loaded.x_test[3, 0, 0].tolist() == [3, 103, 203]


def test_folder_itself_or_its_parent_can_be_given(cifar_dir: Path) -> None:
    inner = data.load_cifar10(cifar_dir / "cifar-10-batches-py")
    outer = data.load_cifar10(cifar_dir)
    np.testing.assert_array_equal(inner.x_train, outer.x_train)


def test_archive_loads_the_same_images(cifar_dir: Path, cifar_archive: Path) -> None:
    from_folder = data.load_cifar10(cifar_dir)
    for source in (cifar_archive.parent, cifar_archive):
        from_archive = data.load_cifar10(source)
        np.testing.assert_array_equal(from_archive.x_train, from_folder.x_train)
        np.testing.assert_array_equal(from_archive.y_test, from_folder.y_test)


def test_env_variable_names_the_data_dir(cifar_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSBENCH_DATA_DIR", str(cifar_dir))
    assert data.load_cifar10(None).source == str(cifar_dir / "cifar-10-batches-py")


def _batches(cifar_dir: Path) -> Path:
    return cifar_dir / "cifar-10-batches-py"


class Payload:
    """Unpickling this would write a marker file: the restricted unpickler must refuse it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def test_malicious_pickle_is_refused_and_its_payload_does_not_run(
    cifar_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    with open(_batches(cifar_dir) / "data_batch_2", "wb") as stream:
        pickle.dump({b"data": Payload(marker), b"labels": [0]}, stream, protocol=4)
    with pytest.raises(DsbenchError, match=r"data_batch_2.*refuses"):
        data.load_cifar10(cifar_dir)
    assert not marker.exists()


def test_truncated_batch_names_the_file(cifar_dir: Path) -> None:
    path = _batches(cifar_dir) / "data_batch_3"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DsbenchError, match=r"data_batch_3 is truncated or corrupt"):
        data.load_cifar10(cifar_dir)


def test_truncated_archive_is_a_clear_error(cifar_archive: Path) -> None:
    cifar_archive.write_bytes(cifar_archive.read_bytes()[:3000])
    with pytest.raises(DsbenchError, match=r"cifar-10-python.tar.gz is truncated or corrupt"):
        data.load_cifar10(cifar_archive.parent)


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((4, 32, 32, 3), np.uint8), [0, 1, 2], r"4 images but 3 labels"),
        (np.zeros((3, 32, 32, 3), np.uint8), [0, 1, 10], r"labels must be 0..9"),
        (np.zeros((3, 32, 32, 3), np.uint8), [0, -1, 2], r"labels must be 0..9"),
    ],
)
def test_inconsistent_batches_are_refused(
    cifar_dir: Path, images: np.ndarray, labels: list[int], message: str, write_batch: Any
) -> None:
    write_batch(_batches(cifar_dir) / "test_batch", images, labels)
    with pytest.raises(DsbenchError, match=rf"test_batch: {message}"):
        data.load_cifar10(cifar_dir)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((3, 3000), np.uint8), r"3072 values"),
        (np.zeros((3, 3072), np.float32), r"an array of float32, not of whole numbers"),
        (np.zeros((3, 32, 32, 3), np.uint8), r"uint8 array of shape \(N, 3072\)"),
    ],
)
def test_wrong_shape_or_dtype_is_refused(cifar_dir: Path, array: np.ndarray, message: str) -> None:
    with open(_batches(cifar_dir) / "data_batch_1", "wb") as stream:
        pickle.dump({b"data": array, b"labels": [0, 1, 2]}, stream, protocol=3)
    with pytest.raises(DsbenchError, match=message):
        data.load_cifar10(cifar_dir)


def test_missing_dir_and_missing_files(tmp_path: Path, make_split: Any, write_batch: Any) -> None:
    with pytest.raises(DsbenchError, match=r"does not exist"):
        data.load_cifar10(tmp_path / "nowhere")
    with pytest.raises(DsbenchError, match=r"holds neither cifar-10-batches-py/"):
        data.load_cifar10(tmp_path)
    partial = tmp_path / "cifar-10-batches-py"
    partial.mkdir()
    write_batch(partial / "data_batch_1", *make_split(0))
    with pytest.raises(DsbenchError, match=r"lacks data_batch_2, .*test_batch"):
        data.load_cifar10(tmp_path)


def test_archive_without_the_batches_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "cifar-10-python.tar.gz"
    other = tmp_path / "readme.txt"
    other.write_text("hello")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(other, arcname="readme.txt")
    with pytest.raises(DsbenchError, match=r"lacks cifar-10-batches-py/data_batch_1"):
        data.load_cifar10(archive)


@pytest.mark.tf
def test_download_failure_points_to_offline_options(monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    def offline() -> None:
        print("Downloading data from https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
        raise OSError("Name or service not known")

    monkeypatch.delenv("DSBENCH_DATA_DIR", raising=False)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(DsbenchError) as info:
        data.load_cifar10(None)
    assert "could not download CIFAR-10" in info.value.message
    assert "Name or service not known" in info.value.message  # the cause, not only its type
    assert isinstance(info.value.__cause__, OSError)  # --debug shows the chain
    # the library names settings; the CLI turns the words in `settings` into flags
    assert "data_dir" in info.value.hint and "dataset synthetic" in info.value.hint
    assert set(info.value.settings) == {"data_dir", "dataset"}
    assert info.value.exit_code == 1


@pytest.mark.tf
def test_keras_download_messages_stay_off_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import keras

    def offline() -> None:
        print("Downloading data from https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
        raise OSError("Name or service not known")

    monkeypatch.delenv("DSBENCH_DATA_DIR", raising=False)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(DsbenchError):
        data.load_cifar10(None)
    captured = capsys.readouterr()
    assert captured.out == "" and "Downloading data" in captured.err  # stdout is --json's alone


def test_synthetic_is_deterministic_per_seed_and_balanced() -> None:
    first, again, other = (data.synthetic(200, 50, s) for s in (3, 3, 4))
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.x_train, other.x_train)
    assert np.bincount(first.y_train).tolist() == [20] * 10
    assert first.x_train.dtype == np.uint8 and first.x_train.shape == (200, 32, 32, 3)


def test_subsets_are_seeded_and_class_balanced(cifar_dir: Path) -> None:
    spec = DataSpec(data_dir=str(cifar_dir), train_size=35, test_size=10)
    a, b, c = data.load(spec, seed=1), data.load(spec, seed=1), data.load(spec, seed=2)
    assert len(a.y_train) == 35 and len(a.y_test) == 10
    counts = np.bincount(a.y_train, minlength=10)
    assert counts.max() - counts.min() <= 1
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)


def test_subset_larger_than_the_source_is_refused(cifar_dir: Path) -> None:
    with pytest.raises(DsbenchError, match=r"train_size 101 is larger than the 100 train images"):
        data.load(DataSpec(data_dir=str(cifar_dir), train_size=101), seed=0)


@pytest.mark.tf
def test_pipeline_keeps_uint8_in_memory_and_converts_per_batch() -> None:
    synthetic = data.synthetic(50, 10, 0)
    scaled = tfdata.pipeline(
        synthetic.x_train, synthetic.y_train, 16, rescale=True, shuffle_seed=0, drop_remainder=True
    )
    raw = tfdata.pipeline(
        synthetic.x_train, synthetic.y_train, 16, rescale=False, shuffle_seed=0, drop_remainder=True
    )
    scaled_batches = [(x.numpy(), y.numpy()) for x, y in scaled]
    raw_batches = [(x.numpy(), y.numpy()) for x, y in raw]
    assert len(scaled_batches) == 3  # 50 // 16: the partial batch is dropped
    assert scaled_batches[0][0].dtype == np.float32 and scaled_batches[0][0].max() <= 1.0
    np.testing.assert_allclose(scaled_batches[0][0] * 255, raw_batches[0][0], rtol=1e-5)
    epoch1 = np.concatenate([x for x, _ in scaled_batches])
    epoch2 = np.concatenate([x.numpy() for x, _ in scaled])
    assert not np.array_equal(epoch1, epoch2)  # reshuffled every epoch
    same_seed = tfdata.pipeline(
        synthetic.x_train, synthetic.y_train, 16, rescale=True, shuffle_seed=0, drop_remainder=True
    )
    np.testing.assert_array_equal(np.concatenate([x.numpy() for x, _ in same_seed]), epoch1)


@pytest.mark.tf
def test_loaded_images_are_aligned_and_shared_with_tensorflow_not_copied(cifar_dir: Path) -> None:
    folder = data.load_cifar10(cifar_dir)
    subset = data.load(
        DataSpec(dataset="cifar10", data_dir=str(cifar_dir), train_size=20, test_size=10), seed=0
    )
    synthetic = data.synthetic(30, 10, seed=0)
    for loaded in (folder, subset, synthetic):
        for images in (loaded.x_train, loaded.x_test):
            assert images.ctypes.data % data.TENSOR_ALIGNMENT == 0 and images.flags.c_contiguous
    images = synthetic.x_train
    tensor = tfdata.shared_tensor(images)
    images[0, 0, 0, 0] = 255 - images[0, 0, 0, 0]  # the tensor sees the array's own memory
    assert int(tensor[0, 0, 0, 0]) == images[0, 0, 0, 0]


@pytest.mark.tf
def test_unaligned_arrays_are_copied_instead() -> None:
    buffer = np.zeros(4 * 3072 + 65, dtype=np.uint8)
    start = (-buffer.ctypes.data % 64) + 1  # one byte past a 64-byte boundary
    unaligned = buffer[start : start + 4 * 3072].reshape(4, 32, 32, 3)
    assert unaligned.ctypes.data % data.TENSOR_ALIGNMENT != 0
    tensor = tfdata.shared_tensor(unaligned)
    unaligned[0, 0, 0, 0] = 9
    assert int(tensor[0, 0, 0, 0]) == 0
    assert data.aligned(unaligned).ctypes.data % data.TENSOR_ALIGNMENT == 0


# ---------------------------------------------------------------- crafted files (denial of service)


class _Crafted:
    """Pickles as a call numpy.ndarray(*args): what a crafted batch file asks the unpickler to do."""

    def __init__(self, *args: Any) -> None:
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return (np.ndarray, self.args)


def test_a_zero_stride_array_is_refused_before_it_is_materialised(cifar_dir: Path) -> None:
    # numpy.ndarray((100000, 3072), 'u1', b'\0', 0, (0, 0)): 307 MB of zeros from one byte
    target = cifar_dir / "cifar-10-batches-py" / "data_batch_1"
    crafted = _Crafted((100_000, 3072), "u1", b"\0", 0, (0, 0))
    target.write_bytes(pickle.dumps({b"data": crafted, b"labels": []}, protocol=3))
    assert target.stat().st_size < 200
    with pytest.raises(DsbenchError, match="is not a plain array") as info:
        data.load_cifar10(cifar_dir)
    assert "data_batch_1" in info.value.message


def test_labels_made_of_one_memoised_list_are_refused_at_once(cifar_dir: Path) -> None:
    # pickle's memo makes every level one shared list: a few hundred bytes, 20,000 values
    inner = [0] * 10
    nested = [[[inner] * 10] * 10] * 20
    target = cifar_dir / "cifar-10-batches-py" / "data_batch_2"
    target.write_bytes(pickle.dumps({b"data": np.zeros((20, 3072), np.uint8), b"labels": nested}))
    with pytest.raises(DsbenchError, match="must be a flat list of integers"):
        data.load_cifar10(cifar_dir)


def test_a_batch_must_hold_exactly_its_number_of_images(
    cifar_dir: Path, write_batch: Any, make_split: Any, images_per_batch: int
) -> None:
    images, labels = make_split(0, images_per_batch - 1)
    write_batch(cifar_dir / "cifar-10-batches-py" / "data_batch_3", images, labels)
    with pytest.raises(DsbenchError, match=f"holds exactly {images_per_batch} images, this one"):
        data.load_cifar10(cifar_dir)
    assert images_per_batch == data.cifar.BATCH_ROWS  # the fixture's; real files must hold 10,000


def test_the_real_batch_size_is_10000_and_large_files_are_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert data.BATCH_ROWS == 10_000
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in (*data.TRAIN_FILES, data.TEST_FILE):
        (folder / name).write_bytes(b"")
    huge = folder / "data_batch_1"
    with open(huge, "wb") as stream:
        stream.truncate(40_000_000)  # sparse: 40 MB that take no disk
    read: list[str] = []
    monkeypatch.setattr(data.cifar, "_read_batch", lambda stream, label: read.append(label))
    with pytest.raises(DsbenchError, match="not a CIFAR-10 batch: 40,000,000 bytes"):
        data.load_cifar10(tmp_path)
    assert read == []  # refused before a byte was unpickled


def test_running_out_of_memory_is_one_clear_error(
    cifar_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_memory(batch: Any, label: str) -> Any:
        raise MemoryError

    monkeypatch.setattr(data.cifar, "_check_batch", no_memory)
    with pytest.raises(DsbenchError, match="not enough memory to read it"):
        data.load_cifar10(cifar_dir)


@pytest.mark.slow
def test_iterating_the_pipeline_does_not_copy_the_images() -> None:
    """Resident memory while building and iterating the pipeline over a 300 MB image array
    grows by far less than the array: the images are held once (DLPack), not copied."""
    import subprocess
    import sys

    code = (
        "import numpy as np, tensorflow as tf\n"
        "from dsbench.data import aligned_empty\nfrom dsbench.backends.tensorflow.tfdata import pipeline\n"
        "def rss(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20\n"
        "x = aligned_empty((100_000, 32, 32, 3), np.uint8); x[...] = 7\n"
        "y = np.zeros(100_000, np.int64)\n"
        "tf.constant(1.0) + 1; before = rss()\n"
        "ds = pipeline(x, y, 128, rescale=True, shuffle_seed=0, drop_remainder=True)\n"
        "for i, (a, b) in enumerate(ds):\n"
        "    if i == 20: break\n"
        "print(rss() - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    grown_mib = float(out.stdout.strip().splitlines()[-1])
    assert grown_mib < 120, f"RSS grew {grown_mib:.0f} MiB for a 293 MiB array"


@pytest.mark.skipif(shutil.which("tar") is None, reason="no tar program on this machine")
@pytest.mark.parametrize("form", ["gnu", "oldgnu", "ustar", "posix", "v7"])
def test_archives_written_by_tar_in_every_format_load(cifar_dir: Path, form: str) -> None:
    # The original archive was written by GNU tar; dsbench reads tar headers itself, so every
    # format tar writes (GNU long names, pax records, a ./ prefix) must load the same images.
    archive = cifar_dir / "cifar-10-python.tar.gz"
    folder_data = data.load_cifar10(cifar_dir)
    subprocess.run(["tar", f"--format={form}", "-czf", str(archive), "-C", str(cifar_dir),
                    "./cifar-10-batches-py"], check=True)  # fmt: skip
    from_archive = data.load_cifar10(archive)
    np.testing.assert_array_equal(from_archive.x_train, folder_data.x_train)
    np.testing.assert_array_equal(from_archive.y_test, folder_data.y_test)


def test_synthetic_images_take_the_model_s_shape() -> None:
    import hashlib

    from dsbench.data.generated import synthetic

    same = synthetic(16, 8, 3)  # CIFAR-10's shape: the images every earlier run trained on
    digest = hashlib.sha256(same.x_train.tobytes() + same.x_test.tobytes()).hexdigest()
    assert digest.startswith("4b7684e500f516c3")
    wide = synthetic(6, 2, 0, (96, 80, 1))
    assert wide.x_train.shape == (6, 96, 80, 1) and wide.x_test.shape == (2, 96, 80, 1)
    assert wide.x_train.std() > 20  # a pattern with noise, not a blank image


def test_a_broken_archive_is_refused_before_the_framework_starts(tmp_path: Path) -> None:
    # read (and refused) before Keras starts: neither TensorFlow nor Keras is imported
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"not a tar archive at all")
    code = ("import sys\nsys.argv = ['dsbench', *sys.argv[1:]]\n"
            "from dsbench.cli.main import main\ntry:\n    main()\nfinally:\n"
            "    print('tensorflow' in sys.modules, 'keras' in sys.modules)\n")  # fmt: skip
    shown = subprocess.run([sys.executable, "-c", code, "compare", "--data-dir", str(archive),
                            "--epochs", "1", "--output-dir", str(tmp_path / "out")],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert shown.returncode == 2, shown.stderr
    (line,) = shown.stderr.strip().splitlines()
    assert line.startswith("error: ") and "cifar-10-python.tar.gz" in line, line
    assert shown.stdout.split() == ["False", "False"]
    assert not (tmp_path / "out").exists()
