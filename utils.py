"""Shared helpers for the homework scripts: seeding, data loading, plotting and run records.

Kept free of torch at import time so that the numpy-only questions (Q2, Q3) never load it.
"""
import argparse
import contextlib
import json
import math
import os
import platform
import random
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.abspath(__file__))
AMES_PATH = "ames.npz"
FASHION_PATH = "Fashion-MNIST.npz"
# A plain run of a script is a student's experiment: its record and figures go to runs/<q>/
# (ignored by git). Only tools/reproduce.py writes the committed results/ (it passes -output).
RUNS = "runs"
FASHION_FEATURES = 784


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
    """A missing or unreadable data file: exits with status 1 and one line, no traceback."""

    def __init__(self, message):
        super().__init__(f"error: {message}")


AMES_FIX = ("copy the course's ames.npz (it ships with the homework; here: "
            "../shared/data/ames/ames.npz) to the project root")
FASHION_FIX = "python download_fashion_mnist.py  (offline: --source DIR)"


def _load_npz(path, fix, spec):
    """Read every array of `spec` from the .npz at `path`, eagerly, and check it.

    spec: {key: (columns, "float" or "int")}; columns is a number (a 2-D array with that many
    columns), "any" (2-D) or None (1-D or one column). Arrays must be finite and non-empty.
    Any problem (missing, truncated, not a zip, corrupted member, pickled objects, wrong keys,
    shapes or dtypes, NaN or inf) raises DataError naming the file and the fix.
    """
    def bad(why):
        return DataError(f"{path}: {why}; fix: {fix}")

    if not os.path.exists(path):
        raise DataError(f"{path} not found; fix: {fix}")
    arrays = {}
    try:
        # np.load would take anything else for a .npy or a pickle, and advise unpickling it.
        with open(path, "rb") as f:
            if f.read(2) != b"PK":
                raise bad("not a .npz file (no zip header)")
        with np.load(path, allow_pickle=False) as data:
            missing = sorted(set(spec) - set(data.files))
            if missing:
                raise bad(f"missing arrays {missing} (has {sorted(data.files)})")
            for key in spec:
                arrays[key] = data[key]  # reads and decompresses the member now
    except DataError:
        raise
    except Exception as exc:  # BadZipFile, zlib.error, EOFError, ValueError (pickles), OSError
        raise bad(f"not a readable .npz file ({type(exc).__name__}: {exc})")
    for key, (columns, kind) in spec.items():
        a = arrays[key]
        expected = np.floating if kind == "float" else np.integer
        if not (np.issubdtype(a.dtype, expected)
                or (kind == "float" and np.issubdtype(a.dtype, np.integer))):
            raise bad(f"{key} has dtype {a.dtype}, expected {kind}")
        if columns is None:
            ok = a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1)
        else:
            ok = a.ndim == 2 and (columns == "any" or a.shape[1] == columns)
        if not ok or a.shape[0] == 0:
            want = "(n,)" if columns is None else f"(n, {'d' if columns == 'any' else columns})"
            raise bad(f"{key} has shape {a.shape}, expected {want} with n > 0")
        if kind == "float" and not np.isfinite(a).all():
            raise bad(f"{key} holds NaN or infinite values")
    return arrays


def _check_rows(path, fix, arrays, splits):
    """Each split's X and y have as many rows, and every split's X as many columns."""
    for split in splits:
        if len(arrays["X" + split]) != len(arrays["y" + split]):
            raise DataError(f"{path}: X{split} and y{split} have different numbers of rows; "
                            f"fix: {fix}")
    if len({arrays["X" + split].shape[1] for split in splits}) > 1:
        raise DataError(f"{path}: the splits have different numbers of features; fix: {fix}")


def _add_bias(X):
    """(n, d) -> (n, d + 1): a column of ones appended as the last feature."""
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def load_regression_data(bias=False, path=AMES_PATH):
    """Ames housing (log sale price), the course's file.

    Returns {"train": (X, y), "test": (X, y)} with X float64 (n, d[+1]) and y float64 (n,).
    With bias=True a column of ones is appended as the last feature.
    """
    spec = {}
    for split in ("train", "test"):
        spec["X" + split], spec["y" + split] = ("any", "float"), (None, "float")
    arrays = _load_npz(path, AMES_FIX, spec)
    _check_rows(path, AMES_FIX, arrays, ("train", "test"))
    out = {}
    for split in ("train", "test"):
        X = arrays["X" + split].astype(np.float64)
        y = arrays["y" + split].astype(np.float64).reshape(-1)
        out[split] = (_add_bias(X) if bias else X, y)
    return out


def load_classification_data(bias=False, path=FASHION_PATH, dtype=np.float64):
    """Fashion-MNIST as the course distributed it.

    Returns {"train": (X, y), "dev": (X, y), "test": (X, y)}: X `dtype` (n, 784[+1]) holding
    pixel / 256, y int64 (n,) in 0..9; 50,000 / 10,000 / 10,000 examples.
    """
    spec = {}
    for split in ("train", "dev", "test"):
        spec["X" + split], spec["y" + split] = (FASHION_FEATURES, "float"), (None, "int")
    arrays = _load_npz(path, FASHION_FIX, spec)
    _check_rows(path, FASHION_FIX, arrays, ("train", "dev", "test"))
    out = {}
    for split in ("train", "dev", "test"):
        y = arrays["y" + split].astype(np.int64).reshape(-1)
        if y.min() < 0 or y.max() > 9:
            raise DataError(f"{path}: y{split} has labels outside 0..9; fix: {FASHION_FIX}")
        X = arrays["X" + split].astype(dtype, copy=False)
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


def save_run(folder, name, record, figures=(), show=False):
    """Write a run: folder/name.json (atomically) and each figure as folder/name-<suffix>.pdf.

    figures: [(suffix, series, ylabel, title)] as `plot` takes them, optionally with a fifth
    item, a dict of more `plot` arguments (e.g. {"logy": True}). Returns the record's path.
    """
    path = save_record(os.path.join(folder, name + ".json"), record)
    for suffix, series, ylabel, title, *options in figures:
        plot(series, ylabel, os.path.join(folder, f"{name}-{suffix}.pdf"), title, show=show,
             **(options[0] if options else {}))
    return path


# ---------------------------------------------------------------------------------------------
# Plotting: files, never a window unless asked.

def plot(series, ylabel, path, title, xlabel="Epoch", show=False, logy=False):
    """Plot named curves against the epoch number and save them to `path` (PDF or PNG).

    series: {label: list of values}, value k belonging to epoch k + 1. Non-finite values are
    left as gaps. Every figure has a title, axis labels, a legend and integer epoch ticks.
    Returns the path.
    """
    import matplotlib
    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    many = len(series) > 4  # then the legend goes beside the axes, where it covers no curve
    fig, ax = plt.subplots(figsize=(6.2 if many else 5, 3.4))
    for label, values in series.items():
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, np.asarray(values, dtype=float), label=label,
                marker="o" if len(values) <= 30 else None, markersize=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if logy:
        ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if many:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7, frameon=False)
    else:
        ax.legend(loc="best", fontsize=8, framealpha=0.8)
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


# ---------------------------------------------------------------------------------------------
# What the three scripts share: flag types, the epoch loop, divergence, Ctrl-C.

def number(kind, low, high, low_open=False, high_open=False):
    """An argparse type: a finite `kind` (int or float) in [low, high] (open ends when asked).

    A bad value ends with argparse's usage line and exit status 2, before any work starts:
    "argument -learning_rate: must be a float in (0, 10], got 'inf'".
    """
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}")
        inside = (math.isfinite(value)
                  and (low < value if low_open else low <= value)
                  and (value < high if high_open else value <= high))
        if not inside:
            raise argparse.ArgumentTypeError(
                f"must be {'an' if kind is int else 'a'} {kind.__name__} in {interval}, "
                f"got {text!r}")
        return value
    parse.__name__ = kind.__name__
    return parse


# The flags the scripts share, with the ranges where they mean something.
EPOCHS = number(int, 1, 10_000)
LEARNING_RATE = number(float, 0, 10, low_open=True)
HIDDEN_SIZE = number(int, 1, 10_000)
LAYERS = number(int, 1, 100)
SEED = number(int, 0, 2**32 - 1)


class Diverged(Exception):
    """Training met a non-finite loss or prediction. `step` is the 1-based example of the epoch
    (None when found after the epoch), `epoch` is filled in by `train_epochs`."""

    def __init__(self, message, step=None, epoch=None):
        super().__init__(message)
        self.message, self.step, self.epoch = message, step, epoch

    def as_dict(self):
        return {"epoch": self.epoch, "step": self.step, "message": self.message}


def epoch_line(row, epochs):
    """The one per-epoch line of all three scripts:
    "epoch   3/20 | train_loss 0.4321 | dev_acc 0.8612 | 12.3 s"."""
    width = len(str(epochs))
    parts = [f"epoch {row['epoch']:{width}d}/{epochs}"]
    parts += [f"{k} {v:.4f}" for k, v in row.items() if k not in ("epoch", "seconds")]
    return " | ".join(parts + [f"{row['seconds']:.1f} s"])


def train_epochs(epochs, train_epoch, evaluate, verbose=True):
    """The epoch loop the scripts share: train, evaluate, print one line, keep the metrics.

    train_epoch(epoch) -> dict of training metrics (may be empty); it raises Diverged at the
    first non-finite loss. evaluate() -> dict of evaluation metrics. A non-finite metric also
    counts as divergence. Returns (history, diverged): history is the list of per-epoch dicts
    {"epoch", **metrics, "seconds"} of the epochs that finished, diverged is None or
    Diverged.as_dict().
    """
    history = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        try:
            row = {"epoch": epoch, **train_epoch(epoch)}
            with np.errstate(over="ignore", invalid="ignore"):
                row.update(evaluate())
            bad = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
            if bad:
                raise Diverged(f"{', '.join(bad)} not finite after the epoch")
        except Diverged as exc:
            exc.epoch = epoch
            print(f"diverged at epoch {epoch}"
                  + (f", example {exc.step}" if exc.step else "") + f": {exc.message}",
                  flush=True)
            return history, exc.as_dict()
        row["seconds"] = time.perf_counter() - start
        history.append(row)
        if verbose:
            print(epoch_line(row, epochs), flush=True)
    return history, None


def run_main(main, interrupted="interrupted; nothing written"):
    """Call main(); Ctrl-C ends with one line on stderr and exit status 130, no traceback.

    Records are written atomically at the end of a run, so an interrupted run leaves none.
    """
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        sys.exit(130)
