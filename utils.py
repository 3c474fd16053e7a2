"""Shared helpers for the homework scripts: seeding, data loading, plotting and run records.

Kept free of torch at import time so that the numpy-only questions (Q2, Q3) never load it.
"""
import contextlib
import json
import os
import platform
import random
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.abspath(__file__))
AMES_PATH = "ames.npz"
FASHION_PATH = "Fashion-MNIST.npz"


def configure_seed(seed):
    """Seed python's `random`, numpy and torch.

    torch is seeded only when the caller has already imported it: the numpy-only questions
    never pay its import (seconds, and over half a GiB of memory).
    """
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def load_script(path):
    """Import a script of the project by its path from the project root, e.g. "hw1-q4.py" or
    "tools/study_q4.py" (file names with dashes cannot be imported by name), once per process.
    The module is registered as, e.g., "hw1_q4"."""
    import importlib.util
    name = os.path.basename(path).replace("-", "_").removesuffix(".py")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


class DataError(SystemExit):
    """A missing or unreadable data file: exits with one line instead of a traceback."""

    def __init__(self, message):
        super().__init__(f"error: {message}")


def _load_npz(path, fix):
    if not os.path.exists(path):
        raise DataError(f"{path} not found; create it with: {fix}")
    try:
        return np.load(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable .npz file ({exc}); rebuild it with: {fix}")


def _add_bias(X):
    """(n, d) -> (n, d + 1): a column of ones appended as the last feature."""
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def load_regression_data(bias=False, path=AMES_PATH):
    """Ames housing (log sale price), the course's layout.

    Returns {"train": (X, y), "test": (X, y)} with X float64 (n, d[+1]) and y float64 (n,).
    With bias=True a column of ones is appended as the last feature.
    """
    data = _load_npz(path, "python tools/prepare_ames.py")
    out = {}
    for split in ("train", "test"):
        X = data["X" + split].astype(np.float64)
        y = data["y" + split].astype(np.float64).reshape(-1)
        out[split] = (_add_bias(X) if bias else X, y)
    return out


def load_classification_data(bias=False, path=FASHION_PATH):
    """Fashion-MNIST as the course distributed it.

    Returns {"train": (X, y), "dev": (X, y), "test": (X, y)}: X float64 (n, 784[+1]) holding
    pixel / 256, y int64 (n,) in 0..9; 50,000 / 10,000 / 10,000 examples.
    """
    data = _load_npz(path, "python download_fashion_mnist.py  (offline: --source DIR)")
    out = {}
    for split in ("train", "dev", "test"):
        X = data["X" + split]
        y = data["y" + split].astype(np.int64)
        out[split] = (_add_bias(X) if bias else X, y)
    return out


# ---------------------------------------------------------------------------------------------
# Files written atomically: a run interrupted half-way never leaves a partial file behind.

@contextlib.contextmanager
def atomic_file(path):
    """Open a temporary file beside `path` for binary writing; on success rename it to `path`.

    On any error (or Ctrl-C) the temporary file is removed and `path` is left as it was.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_bytes(path, data):
    """Write `data` to `path` atomically (see `atomic_file`)."""
    with atomic_file(path) as f:
        f.write(data)


def library_versions():
    """Versions of the libraries that shape the numbers, for the run record."""
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    if "torch" in sys.modules:
        versions["torch"] = sys.modules["torch"].__version__
    return versions


def save_record(path, record):
    """Save one run's record as JSON (atomically), adding the library versions.

    A record holds at least: "config" (dict of the run's flags), "seed", "epochs" (a list of
    per-epoch metric dicts), "final" (dict of final metrics), "seconds" and "status"
    ("ok" or "diverged").
    """
    record = dict(record, versions=library_versions())
    text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"
    atomic_write_bytes(path, text.encode())
    return path


def load_record(path):
    with open(path) as f:
        return json.load(f)


# ---------------------------------------------------------------------------------------------
# Plotting: files, never a window unless asked.

def plot(series, ylabel, path, xlabel="Epoch", title=None, show=False, logy=False):
    """Plot named curves against the epoch number and save them to `path` (PDF or PNG).

    series: {label: list of values}, value k belonging to epoch k + 1. Non-finite values are
    left as gaps. Returns the path.
    """
    import matplotlib
    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    for label, values in series.items():
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, np.asarray(values, dtype=float), label=label,
                marker="o" if len(values) <= 30 else None, markersize=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # Metadata without dates keeps a rerun's PDF byte-identical.
    metadata = {"CreationDate": None} if path.endswith(".pdf") else None
    fig.savefig(path, metadata=metadata)
    if show:
        plt.show()
    plt.close(fig)
    return path


def progress(iterable, desc=None, total=None, disable=None):
    """A tqdm progress bar on stderr, quiet when stderr is not a terminal (logs, CI)."""
    from tqdm.auto import tqdm
    if disable is None:
        disable = not sys.stderr.isatty()
    return tqdm(iterable, desc=desc, total=total, disable=disable, leave=False)
