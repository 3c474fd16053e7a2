"""What the three homework scripts share: data loading and checks, flag types, records, figures,
progress and Ctrl-C. The training loops themselves live in the scripts.

Paths: a default path (the data files, runs/) is in the project folder, the folder of this file,
wherever the command is run from; a path given on the command line is taken as given (relative
to the current folder).

Kept free of torch at import time so that the numpy-only questions (Q2, Q3) never load it.
"""
import sys

try:  # a script's imports take a fifth of a second: Ctrl-C meanwhile ends with one line too
    import argparse
    import contextlib
    import errno
    import importlib.util
    import json
    import math
    import os
    import platform
    import random
    import signal
    import tempfile

    import numpy as np
except KeyboardInterrupt:
    print("interrupted; nothing written", file=sys.stderr)
    sys.exit(130)
except ImportError as missing:  # numpy
    sys.exit(f"error: {missing.name} is not installed; fix: pip install -r requirements.txt")

ROOT = os.path.dirname(os.path.abspath(__file__))
AMES_PATH = os.path.join(ROOT, "ames.npz")
FASHION_PATH = os.path.join(ROOT, "Fashion-MNIST.npz")
# A plain run of a script is a student's experiment: its record and figures go to runs/<q>/
# (ignored by git). The committed results/ are written only through -output.
RUNS = os.path.join(ROOT, "runs")
FASHION_FEATURES = 784


# ---------------------------------------------------------------------------------------------
# Start-up: Ctrl-C, packages, seeds.

def exit_on_ctrl_c(message="interrupted; nothing written"):
    """From now on Ctrl-C prints `message` (one line on stderr) and exits with status 130.

    The scripts call this before their slow imports (torch takes seconds). The exit unwinds
    like any exception, so a file being written is removed (`atomic_file`) and none is left.
    """
    def interrupted(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not interrupt this
        print(message, file=sys.stderr, flush=True)
        sys.exit(130)
    signal.signal(signal.SIGINT, interrupted)


def require(*packages):
    """Exit with one line naming the first of `packages` (import names) that is not installed,
    before any data is loaded: a run must not train and then fail to draw its figures."""
    for package in packages:
        if importlib.util.find_spec(package) is None:
            print(f"error: {package} is not installed; fix: pip install -r requirements.txt",
                  file=sys.stderr)
            sys.exit(1)


def configure_seed(seed):
    """Seed python's `random`, numpy and, when the caller has imported it, torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:  # the numpy-only questions never pay torch's import
        torch.manual_seed(seed)


# ---------------------------------------------------------------------------------------------
# Errors a user can fix: one line, exit status 1 (see run_main).

class UserError(Exception):
    """A problem with the user's files (data, output folder, disk): one line with the fix."""


class DataError(UserError):
    """A missing or unreadable data file."""


AMES_FIX = ("put the course's ames.npz back in the project folder (in a git clone: "
            "git checkout ames.npz), or pass -data FILE")
FASHION_FIX = ("python download_fashion_mnist.py  (offline: --source DIR), or pass -data FILE")


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
        raise DataError(f"{os.path.abspath(path)} not found; fix: {fix}")
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
# Output: checked before any work, written atomically.

def check_output_folder(folder):
    """Check that a file can be written in `folder`, before any data is loaded or any epoch
    runs: a run must not train for minutes and then fail to save. Folders this check creates
    are removed again, so a run that fails later leaves no empty folder behind."""
    created, path = [], os.path.abspath(folder)
    while not os.path.exists(path) and path != os.path.dirname(path):
        created.append(path)  # deepest first
        path = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        if os.path.exists(path) and not os.path.isdir(path):
            reason = f"{path} is a file, not a folder"
        raise UserError(f"cannot write to the output folder {folder} ({reason}); "
                        "fix: pass a writable folder with -output") from None
    finally:
        for made in created:
            with contextlib.suppress(OSError):
                os.rmdir(made)
    return folder


@contextlib.contextmanager
def atomic_file(path):
    """Open a temporary file beside `path` for binary writing; on success rename it to `path`.

    On any error (or Ctrl-C) the temporary file is removed and `path` is left as it was; a
    failed write (disk full, no permission) becomes a UserError naming the file.
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    except OSError as exc:
        raise _write_error(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.remove(tmp)
        # A library may hide the OSError behind its own error (matplotlib does, on a full disk).
        cause = exc if isinstance(exc, OSError) else exc.__context__
        if isinstance(cause, OSError):
            raise _write_error(cause, path) from None
        raise


def _write_error(exc, path):
    reason = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return UserError(f"{reason.lower()} writing {path}")


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


def machine():
    """The processor that made a run and, when torch is loaded, the CPU capability its kernels
    were chosen for (float32 results of Q4 differ between CPU families)."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:  # Linux: the marketing name
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    torch = sys.modules.get("torch")
    capability = torch.backends.cpu.get_cpu_capability() if torch is not None else None
    return {"cpu": cpu, "cpu_capability": capability}


def save_run(folder, name, record, figures=(), show=False):
    """Write a run: each figure as folder/name-<suffix>.pdf, then folder/name.json, all
    atomically. The record goes last: it marks the run as finished.

    record: a JSON-able dict with at least "config" (the run's flags), "seed", "epochs" (a list
    of per-epoch metric dicts), "final" (final metrics), "seconds" and "status" ("ok" or
    "diverged"); the library versions and the machine are added. figures: [(suffix, series,
    ylabel, title)] as `plot` takes them, optionally with a fifth item, a dict of more `plot`
    arguments. If anything fails, what was written is removed. Returns the record's path.
    """
    made_folder, written = not os.path.isdir(folder), []
    try:
        for suffix, series, ylabel, title, *options in figures:
            written.append(plot(series, ylabel, os.path.join(folder, f"{name}-{suffix}.pdf"),
                                title, show=show, **(options[0] if options else {})))
        path = os.path.join(folder, name + ".json")
        record = dict(record, versions=library_versions(), machine=machine())
        text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"
        atomic_write_bytes(path, text.encode())
    except BaseException:  # a full disk, Ctrl-C: no figures without their record, no empty folder
        for figure in written:
            with contextlib.suppress(OSError):
                os.remove(figure)
        if made_folder:
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        raise
    return path


def run_name(config, parser):
    """A run's file name: its model, then every flag whose value differs from the parser's
    default in alphabetical order, e.g. "mlp", "mlp-layers=2-seed=43". Runs with different flags
    get different names."""
    changed = [f"{k}={v:g}" if isinstance(v, float) and float(f"{v:g}") == v else f"{k}={v}"
               for k, v in sorted(config.items()) if k != "model" and v != parser.get_default(k)]
    return "-".join([config["model"]] + changed)


# ---------------------------------------------------------------------------------------------
# Figures: files, never a window unless asked.

def plot(series, ylabel, path, title, xlabel="Epoch", show=False, logy=False, bands=None,
         styles=None):
    """Plot named curves against the epoch number and save them to `path` (PDF or PNG).

    series: {label: list of values}, value k belonging to epoch k + 1. Non-finite values are
    left as gaps. bands: {label: (low, high)}, a shaded band around that curve. styles:
    {label: dict of matplotlib line options}. Every figure has a title, axis labels, a legend
    and integer epoch ticks. Returns the path.
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
        style = {"marker": "o" if len(values) <= 30 else None, "markersize": 3,
                 **(styles or {}).get(label, {})}
        line, = ax.plot(epochs, np.asarray(values, dtype=float), label=label, **style)
        if bands and label in bands:
            low, high = (np.asarray(b, dtype=float) for b in bands[label])
            ax.fill_between(epochs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
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
    # Metadata without dates keeps a rerun's PDF byte-identical.
    metadata = {"CreationDate": None} if path.endswith(".pdf") else None
    with atomic_file(path) as f:
        fig.savefig(f, format=os.path.splitext(path)[1][1:], metadata=metadata)
    if show:
        plt.show()
    plt.close(fig)
    return path


def progress(iterable, desc=None, total=None):
    """A tqdm progress bar on stderr, quiet when stderr is not a terminal (logs, CI)."""
    from tqdm.auto import tqdm
    return tqdm(iterable, desc=desc, total=total, disable=not sys.stderr.isatty(), leave=False)


# ---------------------------------------------------------------------------------------------
# The command line: flag types, help, the printed lines, errors.

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


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose -h shows every flag's default, and which takes every flag with
    one dash or two, however it is declared (-epochs and --epochs, --source and -source)."""

    def __init__(self, description):
        super().__init__(description=description,
                         formatter_class=argparse.ArgumentDefaultsHelpFormatter)

    def add_argument(self, *names, **kwargs):
        spellings = list(names)
        for name in names:
            if name.startswith("-") and len(name.lstrip("-")) > 1:  # not -h
                other = name[1:] if name.startswith("--") else "-" + name
                spellings += [] if other in spellings else [other]
        return super().add_argument(*spellings, **kwargs)


def parser(description):
    """The command line of a script or tool (see Parser)."""
    return Parser(description)


def add_run_flags(parser, data, question):
    """The flags every script ends with: -seed, -data, -output, -show."""
    parser.add_argument("-seed", type=SEED, default=42,
                        help="fixes the initial weights and every random choice of the run")
    parser.add_argument("-data", default=data, help="the data file")
    parser.add_argument("-output", default=os.path.join(RUNS, question),
                        help="folder for the run's record and figures")
    parser.add_argument("-show", action="store_true", help="also show the figures")
    return parser


class Diverged(Exception):
    """Training met a non-finite loss. `step` is the 1-based step of the epoch (an example, or
    in Q4 a batch)."""

    def __init__(self, message, step=None):
        super().__init__(message)
        self.message, self.step = message, step


def spread(values):
    """Mean, sample standard deviation (0 for one value), min, max and median of a non-empty
    list of floats: how much a result varies over seeds or machines."""
    return {"mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "median": float(np.median(values))}


def not_finite(metrics):
    """The names of the float metrics that are NaN or infinite (a diverged run)."""
    return [k for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)]


def epoch_line(epoch, epochs, metrics, seconds):
    """The per-epoch line of all three scripts: "epoch  3/20 | train_loss 0.4321 | ... | 12.3 s"."""
    return " | ".join([f"epoch {epoch:{len(str(epochs))}d}/{epochs}"]
                      + [f"{k} {v:.4f}" for k, v in metrics.items()] + [f"{seconds:.1f} s"])


def final_line(metrics, seconds, path):
    """The last line of a run: "final | test_acc 0.8431 | 118.9 s | runs/q3/mlp.json"."""
    return " | ".join(["final"] + [f"{k} {v:.4f}" for k, v in metrics.items()
                                   if isinstance(v, float)] + [f"{seconds:.1f} s", path])


def run_main(main):
    """Call main(); a UserError ends with its one line on stderr and exit status 1, Ctrl-C
    with one line and exit status 130 (exit_on_ctrl_c)."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        exit_on_ctrl_c()
    try:
        sys.exit(main())
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
