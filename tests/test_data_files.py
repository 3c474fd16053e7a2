"""Every way a data file can be broken ends with one line naming the file and the fix.

Both loaders, each kind of damage, on small synthetic files written into tmp_path. A
`utils.DataError` is a SystemExit whose code is the message: Python prints it as one line on
stderr and exits with status 1, no traceback. The last tests check that through a script's
command line.
"""
import io
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest

import utils
from conftest import ROOT

REGRESSION = (utils.load_regression_data, ("train", "test"), 348,  # the course file's width
              utils.AMES_FIX)
CLASSIFICATION = (utils.load_classification_data, ("train", "dev", "test"),
                  utils.FASHION_FEATURES, utils.FASHION_FIX)
LOADERS = {"regression": REGRESSION, "classification": CLASSIFICATION}


def valid_arrays(kind, n=6):
    """The smallest file each loader accepts: n rows per split."""
    _, splits, features, _ = LOADERS[kind]
    rng = np.random.default_rng(0)
    arrays = {}
    for split in splits:
        arrays["X" + split] = rng.random((n, features))
        arrays["y" + split] = (rng.integers(0, 10, n) if kind == "classification"
                               else rng.normal(12, 0.4, n))
    return arrays


def corrupt_member(data, member="Xtrain.npy"):
    """Flip bytes in the middle of a compressed member's deflate stream."""
    data = bytearray(data)
    offset = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(member).header_offset
    name_length, extra_length = struct.unpack("<HH", data[offset + 26:offset + 30])
    start = offset + 30 + name_length + extra_length + 10
    for i in range(start, start + 50):
        data[i] ^= 0xFF
    return bytes(data)


def damaged(kind, damage, path):
    """Write a file with one kind of damage at `path` (a pathlib.Path)."""
    arrays = valid_arrays(kind)
    if damage == "empty":
        path.write_bytes(b"")
        return
    if damage == "npy_not_npz":
        with open(path, "wb") as f:
            np.save(f, arrays["Xtrain"])
        return
    if damage in ("missing", "truncated", "not_a_zip", "corrupted_member"):
        np.savez_compressed(path, **arrays)
        data = path.read_bytes()
        if damage == "missing":
            path.unlink()
        elif damage == "truncated":
            path.write_bytes(data[:len(data) // 2])
        elif damage == "not_a_zip":
            path.write_bytes(np.random.default_rng(1).bytes(len(data)))
        else:
            path.write_bytes(corrupt_member(data))
        return
    if damage == "wrong_keys":
        arrays["X_train"] = arrays.pop("Xtrain")
    elif damage == "wrong_shape_X":
        arrays["Xtest"] = arrays["Xtest"][:, :-1]
    elif damage == "wrong_shape_y":
        arrays["ytrain"] = np.stack([arrays["ytrain"]] * 2, axis=1)
    elif damage == "empty_split":
        arrays["Xtest"], arrays["ytest"] = arrays["Xtest"][:0], arrays["ytest"][:0]
    elif damage == "strings":
        arrays["ytrain"] = arrays["ytrain"].astype(str)
    elif damage == "objects":  # saved with a pickle: the loaders never unpickle
        arrays["Xtrain"] = arrays["Xtrain"].astype(object)
    elif damage == "nan":
        arrays["Xtrain"][2, 3] = np.nan
    elif damage == "inf":
        arrays["Xtest"][0, 0] = -np.inf
    elif damage == "row_counts":
        arrays["ytest"] = arrays["ytest"][:-1]
    elif damage == "labels":
        arrays["ydev"][1] = 10
    elif damage == "negative_labels":
        arrays["ytest"][0] = -1
    elif damage == "float_labels":
        arrays["ytrain"] = arrays["ytrain"] + 0.5
    else:
        raise ValueError(damage)
    np.savez(path, **arrays)


COMMON = ["missing", "empty", "truncated", "not_a_zip", "npy_not_npz", "corrupted_member",
          "wrong_keys", "wrong_shape_X", "wrong_shape_y", "empty_split", "strings", "objects",
          "nan", "inf", "row_counts"]
CASES = ([("regression", d) for d in COMMON]
         + [("classification", d) for d in COMMON + ["labels", "negative_labels", "float_labels"]])


def one_line_error(exc, path, fix):
    """The checks on a DataError: exit status 1, one line naming the file and the fix."""
    assert isinstance(exc, utils.DataError), type(exc)
    message = exc.code  # what Python prints on stderr; a str code means exit status 1
    assert isinstance(message, str) and "\n" not in message, repr(message)
    assert message.startswith(f"error: {path}") and message.endswith(f"; fix: {fix}"), message
    return message


def test_the_fixes_name_the_course_file_and_the_download():
    assert "../shared/data/ames/ames.npz" in utils.AMES_FIX
    assert "python download_fashion_mnist.py" in utils.FASHION_FIX


@pytest.mark.parametrize("kind", LOADERS)
def test_the_valid_baseline_loads(tmp_path, kind):
    load, splits, features, _ = LOADERS[kind]
    path = tmp_path / "data.npz"
    np.savez_compressed(path, **valid_arrays(kind))
    data = load(path=str(path))
    assert sorted(data) == sorted(splits)
    assert all(X.shape == (6, features) and y.shape == (6,) for X, y in data.values())


def test_the_corrupted_member_really_breaks_zlib(tmp_path):
    """Without the guard, the corrupted member fails inside zlib (or zipfile's CRC check)."""
    path = tmp_path / "data.npz"
    damaged("regression", "corrupted_member", path)
    with np.load(path) as data:  # the zip's directory is intact: the file opens
        assert "Xtrain" in data.files
        with pytest.raises((zlib.error, zipfile.BadZipFile)):
            data["Xtrain"]


@pytest.mark.parametrize("kind, damage", CASES)
def test_a_broken_file_ends_with_one_line_naming_it_and_the_fix(tmp_path, kind, damage):
    load, _, _, fix = LOADERS[kind]
    path = tmp_path / "data.npz"
    damaged(kind, damage, path)
    with pytest.raises(SystemExit) as info:
        load(path=str(path))
    message = one_line_error(info.value, path, fix)
    if damage in ("empty", "not_a_zip", "npy_not_npz"):  # not numpy's advice to unpickle it
        assert "not a .npz file" in message and "pickle" not in message, message


# ------------------------------------------------------------------ through a command line

def run(args, cwd=ROOT, timeout=120):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("damage", ["corrupted_member", "nan"])
def test_a_script_prints_one_line_and_exits_1(tmp_path, damage):
    path = tmp_path / "ames.npz"
    damaged("regression", damage, path)
    out = run(["hw1-q2.py", "linear_regression", "-data", path, "-epochs", "1",
               "-output", str(tmp_path / "out")])
    assert out.returncode == 1, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), out.stderr
    assert "fix: " in lines[0] and "Traceback" not in out.stderr
    assert not (tmp_path / "out").exists()


def test_a_loader_run_directly_prints_one_line_and_exits_1(tmp_path):
    path = tmp_path / "Fashion-MNIST.npz"
    damaged("classification", "labels", path)
    out = run(["-c", f"import utils; utils.load_classification_data(path={str(path)!r})"])
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert out.stderr.startswith(f"error: {path}: ydev")
