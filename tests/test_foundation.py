"""Tests of the foundation: the Fashion-MNIST builder, the loaders, records, plots and ames.npz."""
import gzip
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import download_fashion_mnist as dfm
import utils
from conftest import ROOT

SHARED_FASHION = os.path.join(ROOT, "..", "shared", "data", "fashion-mnist")


# ------------------------------------------------------------------ synthetic IDX files

def idx_bytes(array, magic=None):
    """IDX encoding of a uint8 array of images (n, 28, 28) or labels (n,)."""
    if magic is None:
        magic = dfm.IMAGE_MAGIC if array.ndim == 3 else dfm.LABEL_MAGIC
    header = struct.pack(">ii", magic, array.shape[0])
    if array.ndim == 3:
        header += struct.pack(">ii", *array.shape[1:])
    return header + array.astype(np.uint8).tobytes()


def write_gz(path, data):
    with gzip.open(path, "wb") as f:
        f.write(data)


def make_folder(folder, counts, seed=0):
    """Write the four .gz files with random content; returns {split: (images, labels)}."""
    rng = np.random.RandomState(seed)
    raw = {}
    for split, n in counts.items():
        images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = rng.randint(0, 10, size=n).astype(np.uint8)
        write_gz(folder / dfm.FILES[split + "_images"], idx_bytes(images))
        write_gz(folder / dfm.FILES[split + "_labels"], idx_bytes(labels))
        raw[split] = (images, labels)
    return raw


SMALL = {"train": 30, "test": 12}


def test_read_folder_round_trip(tmp_path):
    raw = make_folder(tmp_path, SMALL)
    read = dfm.read_folder(str(tmp_path), SMALL)
    for split in SMALL:
        np.testing.assert_array_equal(read[split][0], raw[split][0])
        np.testing.assert_array_equal(read[split][1], raw[split][1])


def test_split_matches_train_test_split_definition():
    """train_test_split(test_size=10000, train_size=50000, random_state=42) on 60,000 rows takes
    the first 10,000 of RandomState(42).permutation(60000) as its test (our dev) part."""
    train, dev = dfm.split_train_dev(60000)
    perm = np.random.RandomState(42).permutation(60000)
    assert len(train) == 50000 and len(dev) == 10000
    np.testing.assert_array_equal(dev, perm[:10000])
    np.testing.assert_array_equal(train, perm[10000:])
    assert len(np.union1d(train, dev)) == 60000
    try:  # the original, when scikit-learn happens to be installed (it is not a dependency)
        from sklearn.model_selection import train_test_split
    except ImportError:
        return
    ids = np.arange(60000)
    sk_train, sk_dev = train_test_split(ids, train_size=50000, test_size=10000, random_state=42)
    np.testing.assert_array_equal(sk_train, train)
    np.testing.assert_array_equal(sk_dev, dev)


def test_build_arrays_layout_and_scaling(tmp_path):
    raw = make_folder(tmp_path, {"train": 25, "test": 7})
    arrays = dfm.build_arrays(raw, n_dev=5)
    train_idx, dev_idx = dfm.split_train_dev(25, 5)
    assert arrays["Xtrain"].shape == (20, 784) and arrays["Xdev"].shape == (5, 784)
    assert arrays["Xtest"].shape == (7, 784)
    for key in ("Xtrain", "Xdev", "Xtest"):
        assert arrays[key].dtype == np.float64
    for key in ("ytrain", "ydev", "ytest"):
        assert arrays[key].dtype == np.int64
    images, labels = raw["train"]
    np.testing.assert_array_equal(arrays["Xdev"] * 256, images[dev_idx].reshape(5, -1))
    np.testing.assert_array_equal(arrays["ytrain"], labels[train_idx])
    # The official test set keeps its order.
    np.testing.assert_array_equal(arrays["Xtest"] * 256, raw["test"][0].reshape(7, -1))
    assert arrays["Xtrain"].max() < 1.0  # pixel / 256, as the course did


@pytest.mark.parametrize("damage, words", [
    ("missing", "missing"),
    ("truncated", "truncated"),
    ("not_gzip", "not a valid gzip"),
    ("gzip_cut", "not a valid gzip"),
    ("bad_magic", "magic number"),
    ("wrong_count", "expected"),
    ("bad_label", "labels 0-9"),
    ("wrong_shape", "expected 28x28"),
])
def test_bad_files_fail_with_one_clear_line(tmp_path, capsys, damage, words):
    make_folder(tmp_path, SMALL)
    images = tmp_path / dfm.FILES["train_images"]
    labels = tmp_path / dfm.FILES["train_labels"]
    if damage == "missing":
        images.unlink()
    elif damage == "truncated":
        write_gz(images, gzip.decompress(images.read_bytes())[:-100])
    elif damage == "not_gzip":
        images.write_bytes(b"this is not a gzip file at all")
    elif damage == "gzip_cut":
        images.write_bytes(images.read_bytes()[:200])
    elif damage == "bad_magic":
        write_gz(images, idx_bytes(np.zeros((30, 28, 28), np.uint8), magic=1234))
    elif damage == "wrong_count":
        write_gz(labels, idx_bytes(np.zeros(29, np.uint8)))
    elif damage == "bad_label":
        write_gz(labels, idx_bytes(np.full(30, 11, np.uint8)))
    elif damage == "wrong_shape":
        write_gz(images, struct.pack(">iiii", dfm.IMAGE_MAGIC, 30, 32, 32) + bytes(30 * 32 * 32))
    with pytest.raises(dfm.DatasetError, match=words) as info:
        dfm.read_folder(str(tmp_path), SMALL)
    assert dfm.FILES["train_images"] in str(info.value) or dfm.FILES["train_labels"] in str(info.value)
    assert "\n" not in str(info.value)


def test_cli_bad_source_exits_nonzero_without_output(tmp_path, capsys):
    output = tmp_path / "out.npz"
    assert dfm.main(["--source", str(tmp_path / "nowhere"), "--output", str(output)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "nowhere" in err and len(err.splitlines()) == 1
    assert not output.exists()
    # A real folder, but the counts are not Fashion-MNIST's: rejected before anything is written.
    make_folder(tmp_path, SMALL)
    assert dfm.main(["--source", str(tmp_path), "--output", str(output)]) == 1
    assert "expected 60000" in capsys.readouterr().err
    assert not output.exists() and not list(tmp_path.glob(".tmp-*"))


def test_no_network_and_no_source_is_one_clear_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torchvision")
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried mirrors...")

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", offline)
    output = tmp_path / "out.npz"
    assert dfm.main(["--root", str(tmp_path / "raw"), "--output", str(output)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--source" in err
    assert not output.exists()


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
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


@pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "Fashion-MNIST.npz")),
                    reason="Fashion-MNIST.npz not built")
def test_built_fashion_mnist_matches_the_idx_files():
    data = utils.load_classification_data()
    shapes = {k: v[0].shape for k, v in data.items()}
    assert shapes == {"train": (50000, 784), "dev": (10000, 784), "test": (10000, 784)}
    assert all(np.bincount(y, minlength=10).sum() == len(y) for _, y in data.values())
    if os.path.isdir(SHARED_FASHION):
        images = dfm.read_idx(os.path.join(SHARED_FASHION, dfm.FILES["test_images"]), 10000)
        np.testing.assert_array_equal(data["test"][0][:50] * 256, images[:50].reshape(50, -1))
        labels = dfm.read_idx(os.path.join(SHARED_FASHION, dfm.FILES["train_labels"]), 60000)
        train_idx, dev_idx = dfm.split_train_dev(60000)
        np.testing.assert_array_equal(data["train"][1], labels[train_idx])
        np.testing.assert_array_equal(data["dev"][1], labels[dev_idx])


# ------------------------------------------------------------------ utils

def test_loaders_add_bias_as_last_column(tmp_path):
    path = tmp_path / "reg.npz"
    X = np.arange(12.0).reshape(4, 3)
    np.savez(path, Xtrain=X, ytrain=np.arange(4.0), Xtest=X[:2], ytest=np.arange(2.0))
    data = utils.load_regression_data(bias=True, path=str(path))
    assert data["train"][0].shape == (4, 4)
    np.testing.assert_array_equal(data["train"][0][:, -1], 1.0)
    np.testing.assert_array_equal(data["train"][0][:, :3], X)
    assert utils.load_regression_data(path=str(path))["test"][0].shape == (2, 3)

    path = tmp_path / "cls.npz"
    arrays = {f"X{s}": np.full((3, 784), 0.5) for s in ("train", "dev", "test")}
    arrays.update({f"y{s}": np.array([0, 1, 9], dtype=np.uint8) for s in ("train", "dev", "test")})
    np.savez(path, **arrays)
    data = utils.load_classification_data(bias=True, path=str(path))
    assert data["dev"][0].shape == (3, 785) and data["dev"][1].dtype == np.int64


def test_missing_data_file_names_the_command(tmp_path):
    with pytest.raises(SystemExit) as info:
        utils.load_classification_data(path=str(tmp_path / "Fashion-MNIST.npz"))
    message = str(info.value.code)
    assert "download_fashion_mnist.py" in message and "\n" not in message
    with pytest.raises(SystemExit) as info:
        utils.load_regression_data(path=str(tmp_path / "ames.npz"))
    message = str(info.value.code)
    assert "../shared/data/ames/ames.npz" in message and "prepare_ames" not in message


def test_configure_seed_makes_numpy_and_torch_repeat():
    utils.configure_seed(7)
    a = np.random.rand(3)
    utils.configure_seed(7)
    np.testing.assert_array_equal(a, np.random.rand(3))
    torch = pytest.importorskip("torch")  # imported by the caller, so seeded too
    utils.configure_seed(7)
    t = torch.rand(3)
    utils.configure_seed(7)
    assert torch.equal(t, torch.rand(3))


def test_configure_seed_does_not_import_torch():
    code = "import sys, utils; utils.configure_seed(1); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_save_record_is_json_with_versions_and_refuses_nan(tmp_path):
    path = tmp_path / "runs" / "run.json"
    utils.save_record(str(path), {"config": {"lr": 0.1}, "epochs": [{"epoch": 1, "loss": 0.5}]})
    record = json.loads(path.read_text())
    assert record["config"] == {"lr": 0.1} and "numpy" in record["versions"]
    with pytest.raises(ValueError):
        utils.save_record(str(tmp_path / "nan.json"), {"final": {"loss": float("nan")}})
    assert not (tmp_path / "nan.json").exists()
    assert sorted(os.listdir(tmp_path)) == ["runs"]


def test_plot_writes_a_figure_file(tmp_path):
    path = utils.plot({"train": [1.0, 0.5, 0.25], "test": [1.1, 0.7, float("nan")]},
                      "RMSE", str(tmp_path / "fig.pdf"), title="t")
    assert open(path, "rb").read(5) == b"%PDF-"
    png = utils.plot({"acc": [0.1, 0.2]}, "Accuracy", str(tmp_path / "fig.png"), title="t")
    assert open(png, "rb").read(4) == b"\x89PNG"


# ------------------------------------------------------------------ ames.npz

def test_committed_ames_is_the_courses_file():
    """ames.npz is the course's file byte for byte (../shared/data/ames/README.md)."""
    import hashlib
    with open(os.path.join(ROOT, "ames.npz"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert digest == "131656074fe19ae3864c355aacbf350f6f0a3d40e90b1fcca7dd0f271e1f0598"
    with np.load(os.path.join(ROOT, "ames.npz"), allow_pickle=False) as data:
        assert {k: (data[k].shape, data[k].dtype) for k in data.files} == {
            "Xtrain": ((1465, 348), np.float64), "ytrain": ((1465, 1), np.float64),
            "Xtest": ((1465, 348), np.float64), "ytest": ((1465, 1), np.float64)}


def test_a_figure_says_what_it_shows_with_integer_epoch_ticks(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to look at it
    utils.plot({"validation": [0.5, 0.6]}, "Accuracy", str(tmp_path / "f.png"), "Q4.1: accuracy")
    ax = figures[0].axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == (
        "Q4.1: accuracy", "Epoch", "Accuracy")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["validation"]
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 2]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks  # never 1.2, 1.4, ...
