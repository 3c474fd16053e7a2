"""Shared test helpers: the scripts as modules, tiny data files, the command line in-process."""
import os
import re
import signal
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tools")]

import utils  # noqa: E402
from common import load_script  # noqa: E402 (tools/common.py; the tests import it from here)

SCRIPTS = {"q2": "hw1-q2.py", "q3": "hw1-q3.py", "q4": "hw1-q4.py"}
METRICS = r"((?: \| [a-z_]+ \d+\.\d{4})+)"  # " | name 0.1234" once or more
EPOCH_LINE = re.compile(r"(seed \d+ \| )?epoch +(\d+)/(\d+)" + METRICS + r" \| \d+\.\d s")
FINAL_LINE = re.compile(r"final" + METRICS + r" \| \d+\.\d s \| (\S+)")


def metrics(text):
    """' | train_loss 0.1234 | dev_acc 0.5000' -> {'train_loss': '0.1234', 'dev_acc': '0.5000'}"""
    return dict(re.findall(r" \| ([a-z_]+) (\d+\.\d{4})", text))


def script(question):
    """The question's script as a module; Q4 needs torch (its tests skip without it)."""
    if question == "q4":
        pytest.importorskip("torch")
    return load_script(SCRIPTS[question])


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


@pytest.fixture(autouse=True)
def restore_sigint():
    """run_main installs the scripts' Ctrl-C handler: pytest gets its own back after each test."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)
