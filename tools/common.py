"""What the tools and tests share (utils.py ships in the submission; this need not): the project
folder on sys.path, importing a script by its path, reading a record, timing commands."""
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


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
        raise SystemExit(f"error: {path} not found; fix: {fix}")
    with open(path) as f:
        return json.load(f)


@contextlib.contextmanager
def figure(path, figsize, panels=1):
    """A row of `panels` axes to draw on, finished on exit as utils.plot finishes its axes (x:
    integer epochs; grid, legend) and saved to `path`, a PDF without a date (reruns identical)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import utils
    fig, axes = plt.subplots(1, panels, figsize=figsize)
    yield axes
    for ax in fig.axes:
        ax.set_xlabel("Epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8, framealpha=0.8)
    fig.tight_layout()
    with utils.atomic_file(path) as f:
        fig.savefig(f, format="pdf", metadata={"CreationDate": None})
    plt.close(fig)


# Starts a command and prints its resource usage. A small process of its own: a child started by
# a big benchmark process would count the benchmark's memory in its peak (Linux keeps the
# high-water mark across fork and exec).
LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), time.perf_counter() - start, usage.ru_utime,
      usage.ru_stime, usage.ru_maxrss, usage.ru_minflt)
"""


def median_times(argvs, repeats):
    """{name: {"wall", "user", "sys": seconds, "rss": peak MiB, "faults": minor page faults}}:
    medians over `repeats` runs of `python argv...` for each {name: argv}, each in a fresh
    process in ROOT (os.wait4), the order alternating to cancel drifts in load."""
    runs = {name: [] for name in argvs}
    for repeat in range(repeats):
        for name in list(argvs)[::1 if repeat % 2 == 0 else -1]:
            out = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable] + argvs[name],
                                 cwd=ROOT, check=True, capture_output=True, text=True).stdout
            code, wall, user, system, rss_kib, faults = map(float, out.split())
            if code:
                raise SystemExit(f"error: {' '.join(argvs[name])} exited with {code:.0f}")
            runs[name].append({"wall": wall, "user": user, "sys": system, "rss": rss_kib / 1024,
                               "faults": faults})
    return {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            for name, rs in runs.items()}
