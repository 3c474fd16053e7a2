"""What the tools share: the project on sys.path, a script imported by path, records, figures."""
import contextlib
import importlib.util
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import matplotlib  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

import utils  # noqa: E402 (found through ROOT)


def load_script(path):
    """Import a script by its path from ROOT, e.g. "hw1-q4.py" (dashes cannot be imported by
    name), once per process, as e.g. "hw1_q4"."""
    name = os.path.basename(path).replace("-", "_").removesuffix(".py")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def load_record(path, fix="rerun the run that writes it"):
    """A run's JSON record; a one-line error naming `fix` if the file is missing."""
    if not os.path.exists(path):
        raise utils.UserError(f"{path} not found; fix: {fix}")
    with open(path) as f:
        return json.load(f)


@contextlib.contextmanager
def figure(path, figsize, panels=1):
    """A row of `panels` axes to draw on; on exit, x in integer epochs, grid and legend, saved to
    `path` (a PDF without a date: reruns are identical). Text: 9 pt, 8.5 pt where the report
    shows a 3.2-inch-wide figure at 0.48\\textwidth."""
    with matplotlib.rc_context({"font.size": 9, "axes.titlesize": 9}):
        fig, axes = plt.subplots(1, panels, figsize=figsize)
        yield axes
        for ax in fig.axes:
            ax.set_xlabel("Epoch")
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:  # no empty box on a panel without labels
                ax.legend(loc="best", framealpha=0.8)
        fig.tight_layout()
        utils.write_atomically(path, lambda f: fig.savefig(f, format="pdf",
                                                           metadata={"CreationDate": None}))
    plt.close(fig)
