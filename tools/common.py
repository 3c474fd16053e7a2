"""What the tools and tests share that the question scripts do not need (utils.py ships in the
submission; this does not): the project folder on sys.path, importing a script by its path,
reading a record, timing a command."""
import importlib.util
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def load_script(path):
    """Import a script of the project by its path from the project root, e.g. "hw1-q4.py"
    (file names with dashes cannot be imported by name), once per process. The module is
    registered as, e.g., "hw1_q4"."""
    name = os.path.basename(path).replace("-", "_").removesuffix(".py")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def load_record(path):
    """A run's JSON record."""
    with open(path) as f:
        return json.load(f)


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


def time_command(argv):
    """Run `python argv...` in the project root, a fresh process: {"wall", "user", "sys":
    seconds, "rss": peak memory in MiB, "faults": minor page faults}, from os.wait4 on it."""
    out = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable] + argv, cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout.split()
    if int(out[0]):
        raise SystemExit(f"error: {' '.join(argv)} exited with {out[0]}")
    wall, user, system, rss_kib, faults = map(float, out[1:])
    return {"wall": wall, "user": user, "sys": system, "rss": rss_kib / 1024, "faults": faults}
