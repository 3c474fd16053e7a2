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
def figure(path, figsize, panels=1, below=0):
    """A row of `panels` axes to draw on; on exit, epochs from 1 to the last (both labelled), grid,
    legends (below > 0: one under the axes, in `below` columns), saved to `path` (a PDF without a
    date: reruns are identical). Text: 9 pt, as the report places the figures at about 1:1."""
    with matplotlib.rc_context({"font.size": 9, "axes.titlesize": 9}):
        fig, axes = plt.subplots(1, panels, figsize=figsize, layout="constrained")
        yield axes
        for ax in fig.axes:
            last, step = round(ax.dataLim.x1), 5 if ax.dataLim.x1 <= 30 else 50  # ticks apart
            ax.set(xlabel="Epoch", xlim=(1, max(last, 2)),
                   xticks=sorted({1, *range(step, last - step // 2, step), last}))
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0] and not below:  # no box without labels
                ax.legend(loc="best", framealpha=0.8)
        if below:  # one legend of every axes' labels
            fig.legend(loc="outside lower center", ncol=below)
        utils.write_atomically(path, lambda f: fig.savefig(f, format="pdf",
                                                           metadata={"CreationDate": None}))
    plt.close(fig)
