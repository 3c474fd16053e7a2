"""The data: what the loaders return, the files they refuse (in one line), and the committed
ames.npz, the course's own."""
import hashlib
import os

import numpy as np
import pytest

import utils
from conftest import ROOT, data_for

LOADERS = {"q2": utils.load_regression_data, "q3": utils.load_classification_data}


@pytest.mark.parametrize("question", LOADERS)
def test_the_loaders_return_each_split_with_the_bias_last(tmp_path, question):
    """Catches splits swapped, a bias column of zeros or not last, a dtype not honoured."""
    path = data_for(question, tmp_path)
    with np.load(path) as npz:
        arrays = dict(npz)
    plain = LOADERS[question](path=path)
    with_bias = LOADERS[question](bias=True, path=path)
    assert list(plain) == (["train", "test"] if question == "q2" else ["train", "dev", "test"])
    for split, (X, y) in with_bias.items():
        np.testing.assert_array_equal(plain[split][0], arrays["X" + split])
        np.testing.assert_array_equal(X, np.hstack([arrays["X" + split], np.ones((len(X), 1))]))
        np.testing.assert_array_equal(y, arrays["y" + split].ravel())
        assert X.dtype == np.float64 and y.dtype == (np.float64 if question == "q2" else np.int64)
    X, y = utils.load_classification_data(path=data_for("q3", tmp_path), dtype=np.float32)["dev"]
    assert (X.dtype, X.shape, y.dtype) == (np.float32, (21, 784), np.int64)


DAMAGE = {
    "nan": lambda arrays: arrays["Xtrain"].__setitem__((2, 3), np.nan),
    "columns": lambda arrays: arrays.update(Xtest=arrays["Xtest"][:, :-1]),
    "label_10": lambda arrays: arrays["ydev"].__setitem__(1, 10),
    "label_minus_1": lambda arrays: arrays["ytest"].__setitem__(0, -1),
}


@pytest.mark.parametrize("question, damage", [
    *[(q, d) for q in LOADERS for d in ("other_questions_file", "nan", "columns")],
    ("q3", "label_10"), ("q3", "label_minus_1")])
def test_a_wrong_data_file_is_refused_in_one_line(tmp_path, question, damage):
    """Catches another question's file, a NaN, a column too few or labels outside 0..9 loaded
    as if valid (a run would train on nonsense), or a traceback instead of one line."""
    if damage == "other_questions_file":
        path = data_for({"q2": "q3", "q3": "q2"}[question], tmp_path)
    else:
        with np.load(data_for(question, tmp_path)) as npz:
            arrays = dict(npz)
        DAMAGE[damage](arrays)
        path = str(tmp_path / "damaged.npz")
        np.savez(path, **arrays)
    with pytest.raises(utils.UserError) as info:
        LOADERS[question](path=path)
    assert str(info.value).startswith(path) and "\n" not in str(info.value)


def test_the_committed_ames_is_the_courses_file():
    """ames.npz is the course's file byte for byte (../shared/data/ames/README.md)."""
    with open(os.path.join(ROOT, "ames.npz"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert digest == "131656074fe19ae3864c355aacbf350f6f0a3d40e90b1fcca7dd0f271e1f0598"
