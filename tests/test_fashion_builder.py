"""download_fashion_mnist.py: the course's split and scaling from the four IDX files, every bad
input as one line, and nothing half-written."""
import gzip
import os
import struct
import sys
import types

import numpy as np
import pytest

import download_fashion_mnist as dfm
import utils
from conftest import ROOT, run_cli

SHARED_FASHION = os.path.join(ROOT, "..", "shared", "data", "fashion-mnist")
SMALL = {"train": 30, "test": 12}


def idx_bytes(array, magic=None):
    """IDX encoding of a uint8 array of images (n, 28, 28) or labels (n,)."""
    magic = magic or (dfm.IMAGE_MAGIC if array.ndim == 3 else dfm.LABEL_MAGIC)
    return struct.pack(f">{array.ndim + 1}i", magic, *array.shape) + array.tobytes()


def make_folder(folder, counts=SMALL, seed=0):
    """Write the four .gz files with random content; returns {split: (images, labels)}."""
    rng = np.random.default_rng(seed)
    raw = {}
    for split, n in counts.items():
        raw[split] = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                      rng.integers(0, 10, n, dtype=np.uint8))
        for kind, array in zip(("images", "labels"), raw[split]):
            (folder / dfm.FILES[f"{split}_{kind}"]).write_bytes(gzip.compress(idx_bytes(array)))
    return raw


def test_the_arrays_are_the_files_split_and_scaled(tmp_path):
    """The course's split: train_test_split(train_size=50000, test_size=10000, random_state=42)
    takes the first 10,000 of RandomState(42).permutation(60000) as its test (our dev) part."""
    train, dev = dfm.split_train_dev(60000)
    perm = np.random.RandomState(42).permutation(60000)
    assert np.array_equal(dev, perm[:10000]) and np.array_equal(train, perm[10000:])
    raw = make_folder(tmp_path, {"train": 25, "test": 7})
    read = dfm.read_folder(str(tmp_path), {"train": 25, "test": 7})
    for split in raw:
        assert all(np.array_equal(a, b) for a, b in zip(read[split], raw[split]))
    arrays = dfm.build_arrays(read, n_dev=5)
    train_idx, dev_idx = dfm.split_train_dev(25, 5)
    (images, labels), (test_images, test_labels) = raw["train"], raw["test"]
    assert {k: (v.shape, v.dtype) for k, v in arrays.items()} == {
        k + s: ((n, 784), np.float64) if k == "X" else ((n,), np.int64)
        for s, n in (("train", 20), ("dev", 5), ("test", 7)) for k in "Xy"}
    np.testing.assert_array_equal(arrays["Xdev"] * 256, images[dev_idx].reshape(5, -1))
    np.testing.assert_array_equal(arrays["ytrain"], labels[train_idx])
    np.testing.assert_array_equal(arrays["Xtest"] * 256, test_images.reshape(7, -1))  # in order
    np.testing.assert_array_equal(arrays["ytest"], test_labels)


IMAGES, LABELS = dfm.FILES["train_images"], dfm.FILES["train_labels"]
BAD_FILES = {  # damage: (file, its new content or None to delete it, words of the message)
    "missing": (IMAGES, None, "missing"),
    "truncated": (IMAGES, lambda f: gzip.compress(gzip.decompress(f)[:-100]), "truncated"),
    "not_gzip": (IMAGES, lambda f: b"this is not a gzip file at all", "not a valid gzip"),
    "wrong_count": (LABELS, lambda f: gzip.compress(idx_bytes(np.zeros(29, np.uint8))),
                    "holds 29 items, expected 30"),
    "bad_label": (LABELS, lambda f: gzip.compress(idx_bytes(np.full(30, 11, np.uint8))),
                  "labels 0-9"),
}


@pytest.mark.parametrize("damage", BAD_FILES)
def test_a_bad_idx_file_is_one_line_naming_it(tmp_path, damage):
    make_folder(tmp_path)
    name, content, words = BAD_FILES[damage]
    path = tmp_path / name
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content(path.read_bytes()))
    with pytest.raises(dfm.DatasetError, match=words) as info:
        dfm.read_folder(str(tmp_path), SMALL)
    assert name in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("case, words", [("no_source", "nowhere"), ("not_60000", "expected 60000"),
                                         ("output_is_a_folder", "a-folder"),
                                         ("no_network", "download failed (RuntimeError")])
def test_a_bad_input_or_output_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch,
                                                              case, words):
    monkeypatch.chdir(tmp_path)
    make_folder(tmp_path)  # the counts are not Fashion-MNIST's
    output = tmp_path / "out.npz"
    if case == "output_is_a_folder":
        output = tmp_path / "a-folder"
        output.mkdir()
        monkeypatch.setattr(dfm, "read_folder", lambda folder: None)
        monkeypatch.setattr(dfm, "build_arrays", lambda raw: {"Xtrain": np.zeros((2, 784))})
    if case == "no_network":  # torchvision whose download fails as it does offline
        def fail(*args, **kwargs):
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried mirrors...")
        datasets = types.SimpleNamespace(FashionMNIST=fail)
        monkeypatch.setitem(sys.modules, "torchvision", types.SimpleNamespace(datasets=datasets))
        monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)
    before = sorted(tmp_path.rglob("*"))
    argv = {"no_source": ["--source", tmp_path / "nowhere"], "no_network": ["--root", "raw"]
            }.get(case, ["--source", tmp_path])
    assert run_cli(dfm, [*argv, "--output", output]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and words in err, err
    assert sorted(tmp_path.rglob("*")) == before


def test_an_interrupted_write_leaves_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "Fashion-MNIST.npz"
    target.write_bytes(b"previous content")

    def crash(f, **arrays):
        f.write(b"half of an npz")
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "savez_compressed", crash)
    with pytest.raises(KeyboardInterrupt):
        dfm.save_npz_atomically(str(target), {"a": np.zeros(3)})
    assert target.read_bytes() == b"previous content"
    assert os.listdir(tmp_path) == ["Fashion-MNIST.npz"]


@pytest.mark.skipif(not os.path.exists(utils.FASHION_PATH), reason="Fashion-MNIST.npz not built")
def test_the_built_fashion_mnist_is_the_courses():
    data = utils.load_classification_data(dtype=np.float32)
    assert {k: X.shape for k, (X, _) in data.items()} == {
        "train": (50000, 784), "dev": (10000, 784), "test": (10000, 784)}
    assert all(set(np.unique(y)) == set(range(10)) for _, y in data.values())
    if os.path.isdir(SHARED_FASHION):
        images = dfm.read_idx(os.path.join(SHARED_FASHION, dfm.FILES["test_images"]), 10000)
        np.testing.assert_array_equal(data["test"][0][:50] * 256, images[:50].reshape(50, -1))
        labels = dfm.read_idx(os.path.join(SHARED_FASHION, dfm.FILES["train_labels"]), 60000)
        train_idx, dev_idx = dfm.split_train_dev(60000)
        np.testing.assert_array_equal(data["train"][1], labels[train_idx])
        np.testing.assert_array_equal(data["dev"][1], labels[dev_idx])
