"""The data: the loaders' layout, every way a file can be broken (one table per loader), and the
committed ames.npz."""
import hashlib
import io
import os
import struct
import zipfile

import numpy as np
import pytest

import utils
from conftest import ROOT, data_for, write_ames, write_fashion


def test_the_loaders_append_the_bias_as_the_last_column(tmp_path):
    """Catches a bias of zeros or not last, dev and test swapped, a dtype not honoured."""
    with np.load(write_ames(tmp_path / "a.npz")) as arrays:
        X = arrays["Xtrain"]
    data = utils.load_regression_data(bias=True, path=str(tmp_path / "a.npz"))
    assert data["train"][0].shape == (40, 349) and data["train"][1].shape == (40,)
    np.testing.assert_array_equal(data["train"][0], np.hstack([X, np.ones((40, 1))]))
    assert utils.load_regression_data(path=str(tmp_path / "a.npz"))["test"][0].shape == (30, 348)

    path = write_fashion(tmp_path / "f.npz")
    data = utils.load_classification_data(bias=True, path=path, dtype=np.float32)
    assert [(X.shape, X.dtype, y.dtype) for X, y in data.values()] == [
        ((n, 785), np.float32, np.int64) for n in (64, 21, 17)]
    assert (data["dev"][0][:, -1] == 1).all()
    assert utils.load_classification_data(path=path)["test"][0].shape == (17, 784)


def corrupt_member(data, member="Xtrain.npy"):
    """Flip bytes in the middle of a compressed member's deflate stream."""
    data = bytearray(data)
    offset = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(member).header_offset
    name_length, extra_length = struct.unpack("<HH", data[offset + 26:offset + 30])
    start = offset + 30 + name_length + extra_length + 10
    for i in range(start, start + 50):
        data[i] ^= 0xFF
    return bytes(data)


NPY = io.BytesIO()
np.save(NPY, np.zeros(3))
FILE_DAMAGE = {  # damage to the file's bytes (None: no file)
    "missing": None, "empty": lambda data: b"", "truncated": lambda data: data[:len(data) // 2],
    "not_a_zip": lambda data: np.random.default_rng(1).bytes(len(data)),
    "npy_not_npz": lambda data: NPY.getvalue(),  # an .npy: np.load reads it without complaint
    "corrupted_member": corrupt_member}
ARRAY_DAMAGE = {  # damage to the arrays of a valid file
    "wrong_keys": lambda a: a.update(X_train=a.pop("Xtrain")),
    "wrong_columns": lambda a: a.update(Xtest=a["Xtest"][:, :-1]),
    "y_two_columns": lambda a: a.update(ytrain=np.hstack([a["ytrain"].reshape(-1, 1)] * 2)),
    "empty_split": lambda a: a.update(Xtest=a["Xtest"][:0], ytest=a["ytest"][:0]),
    "strings": lambda a: a.update(ytrain=a["ytrain"].astype(str)),
    "objects": lambda a: a.update(Xtrain=a["Xtrain"].astype(object)),  # pickled: never loaded
    "nan": lambda a: a["Xtrain"].__setitem__((2, 3), np.nan),
    "inf": lambda a: a["Xtest"].__setitem__((0, 0), -np.inf),
    "row_counts": lambda a: a.update(ytest=a["ytest"][:-1])}
LABEL_DAMAGE = {  # Fashion-MNIST's labels are classes 0..9
    "label_10": lambda a: a["ydev"].__setitem__(1, 10),
    "label_minus_1": lambda a: a["ytest"].__setitem__(0, -1),
    "float_labels": lambda a: a.update(ytrain=a["ytrain"] + 0.5)}


@pytest.mark.parametrize("question, damage", [
    *[("q2", d) for d in [*FILE_DAMAGE, *ARRAY_DAMAGE]],
    *[("q3", d) for d in [*FILE_DAMAGE, *ARRAY_DAMAGE, *LABEL_DAMAGE]]])
def test_a_broken_data_file_is_one_line_naming_it_and_the_fix(tmp_path, question, damage):
    """Catches a traceback, a damaged file loaded as if valid, numpy's advice to unpickle."""
    path = tmp_path / f"{question}.npz"
    with np.load(data_for(question, tmp_path)) as valid:
        arrays = dict(valid)
    if damage in FILE_DAMAGE:
        np.savez_compressed(path, **arrays)
        if FILE_DAMAGE[damage] is None:
            path.unlink()
        else:
            path.write_bytes(FILE_DAMAGE[damage](path.read_bytes()))
    else:
        {**ARRAY_DAMAGE, **LABEL_DAMAGE}[damage](arrays)
        np.savez(path, **arrays)
    load, fix = {"q2": (utils.load_regression_data, utils.AMES_FIX),
                 "q3": (utils.load_classification_data, utils.FASHION_FIX)}[question]
    with pytest.raises(utils.DataError) as info:
        load(path=str(path))
    message = str(info.value)
    assert isinstance(info.value, Exception) and "\n" not in message  # not a SystemExit
    assert message.startswith(str(path)) and message.endswith(f"; fix: {fix}"), message
    if damage in ("empty", "not_a_zip", "npy_not_npz"):  # not numpy's advice to unpickle it
        assert "not a .npz file" in message and "pickle" not in message, message


def test_committed_ames_is_the_courses_file():
    """ames.npz is the course's file byte for byte (../shared/data/ames/README.md)."""
    with open(os.path.join(ROOT, "ames.npz"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert digest == "131656074fe19ae3864c355aacbf350f6f0a3d40e90b1fcca7dd0f271e1f0598"

