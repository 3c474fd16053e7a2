"""Shared test helpers: the scripts as modules, tiny data files, a script's main in-process."""
import json
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tools")]

import utils  # noqa: E402
from common import load_script  # noqa: E402 (tools/common.py; the tests import it from here)

SCRIPTS = {"q2": "hw1-q2.py", "q3": "hw1-q3.py", "q4": "hw1-q4.py"}


def script(question):
    """The question's script as a module; Q4 needs torch (its tests skip without it)."""
    if question == "q4":
        pytest.importorskip("torch")
    return load_script(SCRIPTS[question])


# Every numpy model, (question, model argument), as the scripts' MODELS tables list them.
NUMPY_MODELS = [(question, name) for question in ("q2", "q3") for name in script(question).MODELS]


def write_fashion(path, n=(64, 21, 17), seed=0):
    """A Fashion-MNIST-shaped .npz: n train / dev / test rows of 784 pixels / 256, labels 0-9.
    The default sizes are pairwise coprime: two splits' accuracies can only agree at 0 or 1, so
    a metric computed on the wrong split shows."""
    rng, arrays = np.random.default_rng(seed), {}
    for split, rows in zip(("train", "dev", "test"), n):
        X = rng.integers(0, 256, (rows, 784)) * (rng.random((rows, 784)) < 0.5)
        arrays["X" + split], arrays["y" + split] = X / 256, rng.integers(0, 10, rows)
    np.savez(path, **arrays)
    return str(path)


def write_ames(path, n=(40, 30), seed=0):
    """An Ames-shaped .npz (348 columns, y a column of log prices): n train and test rows."""
    rng, arrays = np.random.default_rng(seed), {}
    for split, rows in zip(("train", "test"), n):
        X = arrays["X" + split] = rng.normal(0, 0.05, (rows, 348))
        arrays["y" + split] = 12 + X[:, :5].sum(1, keepdims=True) + rng.normal(0, 0.05, (rows, 1))
    np.savez(path, **arrays)
    return str(path)


def data_for(question, tmp_path):
    """A tiny data file for the question's script."""
    return (write_ames if question == "q2" else write_fashion)(tmp_path / f"{question}.npz")


def run_cli(module, argv):
    """module.main(argv) the way the command line runs it (utils.run_main): the exit status."""
    with pytest.raises(SystemExit) as exit_:
        utils.run_main(lambda: module.main([str(a) for a in argv]))
    return exit_.value.code


def run(question, argv, output):
    """Run the question's main on argv with -output `output`, as the command line does; it must
    exit 0 and write one record, all numbers finite. Returns the record, with its file's "name"."""
    assert run_cli(script(question), [*argv, "-output", output]) == 0
    (path,) = [os.path.join(output, f) for f in os.listdir(output) if f.endswith(".json")]
    with open(path) as f:
        record = json.load(f, parse_constant=lambda constant: pytest.fail(f"{constant} in JSON"))
    return {**record, "name": os.path.basename(path)[:-len(".json")]}


def parse(question, argv):
    """The script's flags parsed from argv (its defaults for the rest)."""
    return script(question).build_parser().parse_args([str(a) for a in argv])
