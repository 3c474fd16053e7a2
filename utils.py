"""What the three homework scripts share: the data and its checks, seeding, the flags every script
takes, a run's log, record and figures. Default paths are in the project folder; torch is imported
only where Q4 needs it (ClassificationDataset), so that the numpy-only questions never load it.
"""
import argparse
import contextlib
import json
import math
import os
import platform
import random
import sys
import time

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

ROOT = os.path.dirname(os.path.abspath(__file__))
AMES_PATH = os.path.join(ROOT, "ames.npz")
FASHION_PATH = os.path.join(ROOT, "Fashion-MNIST.npz")
# A plain run is the user's experiment: it writes to runs/<question>/ (ignored by git). The
# committed results/ are written only through -output, by tools/reproduce.py.
RUNS = os.path.join(ROOT, "runs")
AMES_FEATURES, FASHION_FEATURES = 348, 784
MAX_SEED = 2**32 - 1  # numpy's seeds


class UserError(Exception):
    """A problem with the user's files (data, output folder, disk): one line, exit status 1."""


def run_main(main):
    """sys.exit(main()); a UserError ends with its one line on stderr instead of a traceback."""
    try:
        sys.exit(main())
    except UserError as exc:
        sys.exit(f"error: {exc}")


def configure_seed(seed):
    """Seed python's `random`, numpy and, when the caller has imported it, torch."""
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def _load_npz(path, splits, columns, label_kind, fix):
    """{"X<split>": (n, columns), "y<split>": (n,)} of each split of the .npz at `path`; a
    UserError naming `fix` if it is unreadable, or an array absent, misshapen or not finite."""
    def bad(why):
        return UserError(f"{path}: {why}; fix: {fix}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise UserError(f"{os.path.abspath(path)} not found; fix: {fix}") from None
    except Exception as exc:  # not a zip, truncated, a bare .npy (no .files), pickled objects
        raise bad(f"not a readable .npz file ({type(exc).__name__})") from None
    for split in splits:
        X, y = arrays.get("X" + split), arrays.get("y" + split)
        if X is None or y is None:
            raise bad(f"no X{split} and y{split} (it holds {sorted(arrays)})")
        if y.ndim == 2 and y.shape[1] == 1:  # ames.npz holds its targets as a column
            y = arrays["y" + split] = y[:, 0]
        if X.ndim != 2 or X.shape[1] != columns or len(X) == 0 or y.shape != (len(X),):
            raise bad(f"X{split} {X.shape} and y{split} {y.shape}, expected (n, {columns}) "
                      "and (n,) with n > 0")
        kind = "float" if np.issubdtype(y.dtype, np.floating) else "int"
        if kind != label_kind or not (np.isfinite(X).all() and np.isfinite(y).all()):
            raise bad(f"y{split} holds {y.dtype} values, or X{split} or y{split} a NaN or inf; "
                      f"expected finite features and {label_kind} targets")
    return arrays


def load_regression_data(bias=False, path=AMES_PATH):
    """The course's Ames houses: {"train": (X, y), "test": (X, y)}, X float64 (n, 348[+1]) of
    preprocessed features (a last column of ones with bias=True), y float64 (n,) the log price."""
    arrays = _load_npz(path, ("train", "test"), AMES_FEATURES, "float",
                       fix="the course's ames.npz (git checkout ames.npz), or -data FILE")
    data = {}
    for split in ("train", "test"):
        X, y = arrays["X" + split].astype(np.float64), arrays["y" + split].astype(np.float64)
        data[split] = (np.hstack([X, np.ones((len(X), 1), X.dtype)]) if bias else X, y)
    return data


def load_classification_data(bias=False, path=FASHION_PATH, dtype=np.float64):
    """The course's Fashion-MNIST: {"train": (X, y), "dev": (X, y), "test": (X, y)} of 50,000 /
    10,000 / 10,000 images, X `dtype` (n, 784[+1]) holding pixel / 256 (a last column of ones
    with bias=True), y int64 (n,) in 0..9."""
    fix = "python download_fashion_mnist.py (offline: --source DIR), or -data FILE"
    arrays = _load_npz(path, ("train", "dev", "test"), FASHION_FEATURES, "int", fix)
    data = {}
    for split in ("train", "dev", "test"):
        X, y = arrays["X" + split].astype(dtype, copy=False), arrays["y" + split].astype(np.int64)
        if y.min() < 0 or y.max() > 9:
            raise UserError(f"{path}: y{split} has labels outside 0..9; fix: {fix}")
        data[split] = (np.hstack([X, np.ones((len(X), 1), X.dtype)]) if bias else X, y)
    return data


class ClassificationDataset:
    """The course skeleton's dataset for a torch DataLoader over the training split, with every
    split as tensors: X, dev_X, test_X float32 (n, d); y, dev_y, test_y int64 (n,)."""

    def __init__(self, data):
        import torch  # here, so that Q2 and Q3 never load torch
        (self.X, self.y), (self.dev_X, self.dev_y), (self.test_X, self.test_y) = (
            (torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.long))
            for X, y in (data["train"], data["dev"], data["test"]))

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


def number(kind, low, high, low_open=False, high_open=False):
    """An argparse type: a finite int or float in [low, high] (open ends when asked), so that a
    nonsense value ends with argparse's usage line before any work."""
    interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}")
        if not (math.isfinite(value) and (low < value if low_open else low <= value)
                and (value < high if high_open else value <= high)):
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text!r}")
        return value
    return parse


def add_run_flags(parser, data, question):
    """The flags every script ends with: -seed, -data, -output, -show."""
    parser.add_argument("-seed", type=number(int, 0, MAX_SEED), default=42,
                        help="fixes the initial weights and every random choice of the run")
    parser.add_argument("-data", default=data, help="the data file")
    parser.add_argument("-output", default=os.path.join(RUNS, question),
                        help="folder for the run's record and figures")
    parser.add_argument("-show", action="store_true", help="also show the figures")


def run_config(opt, parser, keys):
    """A run's config: the flags `keys` of opt, and the data file's stem when it is not the
    default one (so that a run on other data never overwrites a run on the course's)."""
    config = {key: getattr(opt, key) for key in keys}
    if os.path.abspath(opt.data) != parser.get_default("data"):
        config["data"] = os.path.splitext(os.path.basename(opt.data))[0]
    return config


def run_name(config, parser):
    """A run's file name: its model, then each config value that differs from its flag's
    default, in alphabetical order: "mlp", "mlp-layers=2-seed=43", "mlp-data=small"."""
    changed = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
               for k, v in sorted(config.items()) if k != "model" and v != parser.get_default(k)]
    return "-".join([config["model"]] + changed)


def check_output_folder(folder):
    """Check, before any work, that a file can be written in `folder`: a run must not train
    for minutes and then fail to save. Folders the check creates are removed again."""
    created, path = [], os.path.abspath(folder)
    while not os.path.exists(path):
        created.append(path)
        path = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        probe = os.path.join(folder, f".tmp-{os.getpid()}")
        open(probe, "w").close()
        os.remove(probe)
    except OSError as exc:
        reason = f"{path} is a file" if os.path.isfile(path) else exc.strerror
        raise UserError(f"cannot write to the output folder {folder} ({reason}); "
                        "fix: pass a writable folder with -output") from None
    finally:
        for made in created:  # deepest first
            with contextlib.suppress(OSError):
                os.rmdir(made)


class Log:
    """The epochs of one run: prints each epoch's line and keeps its metrics, until one of them
    is not finite (the run diverged)."""

    def __init__(self, n_epochs, prefix=""):
        self.n_epochs, self.prefix, self.epochs, self.diverged_at = n_epochs, prefix, [], None
        self.start = self.lap = time.perf_counter()

    def epoch(self, epoch, metrics):
        """Print and keep {name: float} of `epoch`; returns True when the run has diverged."""
        now = time.perf_counter()
        seconds, self.lap = now - self.lap, now
        not_finite = [name for name, value in metrics.items() if not math.isfinite(value)]
        if not_finite:
            self.diverged_at = {"epoch": epoch, "message": f"{', '.join(not_finite)} not finite"}
            print(f"{self.prefix}diverged in epoch {epoch}: {self.diverged_at['message']}")
            return True
        self.epochs.append({"epoch": epoch, **metrics, "seconds": seconds})
        print(self.prefix + " | ".join([f"epoch {epoch:{len(str(self.n_epochs))}d}/{self.n_epochs}"]
                                       + [f"{k} {v:.4f}" for k, v in metrics.items()]
                                       + [f"{seconds:.1f} s"]), flush=True)
        return False

    def record(self, final):
        """The run's epochs, its final metrics (none if it diverged), time and status."""
        return {"epochs": self.epochs, "final": {} if self.diverged_at else final,
                "seconds": time.perf_counter() - self.start, "diverged_at": self.diverged_at,
                "status": "diverged" if self.diverged_at else "ok"}


def final_line(final, seconds, path):
    """The last line of a run: "final | <each float of final> | 118.9 s | runs/q3/mlp.json"."""
    return " | ".join(["final"] + [f"{k} {v:.4f}" for k, v in final.items()
                                   if isinstance(v, float)] + [f"{seconds:.1f} s", path])


def write_atomically(path, write):
    """Call write(f) on a temporary file beside `path`, then rename it to `path`: a record or
    figure is written whole or not at all (a full disk, Ctrl-C)."""
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), ".tmp-" + os.path.basename(path))
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def save_run(folder, name, record, figures=(), show=False):
    """Write each figure [(suffix, series, ylabel, title[, plot options])] to folder/name-<suffix>
    .pdf, then the record, with versions and machine, to folder/name.json (last: it marks the run
    finished); on failure nothing is left. Returns the record's path."""
    written, made_folder = [], not os.path.isdir(folder)
    torch = sys.modules.get("torch")
    record = dict(record, versions={"python": platform.python_version(), "numpy": np.__version__,
                                    **({"torch": torch.__version__} if torch else {})},
                  machine={"cpu": platform.processor() or platform.machine(),
                           "cpu_capability": torch and torch.backends.cpu.get_cpu_capability()})
    text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"
    path = os.path.join(folder, name + ".json")
    try:
        os.makedirs(folder, exist_ok=True)
        for suffix, series, ylabel, title, *options in figures:
            written.append(os.path.join(folder, f"{name}-{suffix}.pdf"))
            plot(series, ylabel, written[-1], title, show=show, **(options[0] if options else {}))
        write_atomically(path, lambda f: f.write(text.encode()))
    except BaseException as exc:
        for figure in written:
            with contextlib.suppress(OSError):
                os.remove(figure)
        if made_folder:
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        if isinstance(exc, OSError):
            raise UserError(f"cannot save the run in {folder} ({exc.strerror})") from None
        raise
    return path


def plot(series, ylabel, path, title, show=False, logy=False):
    """Plot named curves against the epoch and save them to `path` (a PDF without a date, so a
    rerun's file is identical). series: {label: [value of epoch 1, 2, ...]}."""
    many = len(series) > 4  # then the legend goes beside the axes, where it covers no curve
    fig, ax = plt.subplots(figsize=(6.2 if many else 5, 3.4))
    for label, values in series.items():
        ax.plot(range(1, len(values) + 1), values, label=label,
                marker="o" if len(values) <= 30 else None, markersize=3)
    ax.set(xlabel="Epoch", ylabel=ylabel, yscale="log" if logy else "linear")
    ax.set_title(title, fontsize=10)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, **({"loc": "upper left", "bbox_to_anchor": (1.01, 1), "frameon": False}
                             if many else {"loc": "best", "framealpha": 0.8}))
    fig.tight_layout()
    write_atomically(path, lambda f: fig.savefig(f, format="pdf", metadata={"CreationDate": None}))
    if show:
        plt.show()
    plt.close(fig)


def progress(iterable, total=None):
    """A progress bar over an epoch's steps, on stderr when it is a terminal (not in logs)."""
    return tqdm(iterable, total=total, disable=not sys.stderr.isatty(), leave=False)


def spread(values):
    """Mean, sample standard deviation (0 for one value), min, max and median of floats."""
    return {"mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "median": float(np.median(values))}
