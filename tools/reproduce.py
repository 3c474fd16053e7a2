#!/usr/bin/env python
"""Reproduce every result of the report, from nothing to report/report.pdf.

    python tools/reproduce.py [--source DIR] [--force] [--bench] [--no-pdf]

Stages: build Fashion-MNIST.npz (online, or from --source DIR) unless it exists; run every
experiment of Q2, Q3 and Q4, reusing the run records that already exist (--force reruns them);
with --bench, run the three benchmarks alone on the machine, their output going to
results/bench/ (the report's appendix prints it); regenerate the report's tables
(tools/make_report.py); build the PDF with latexmk. The Q4 study
keeps one worker per core busy while the Q2 and Q3 runs go through one after the other beside it,
so the independent runs share the two cores. Every command's output goes to results/logs/; the
run ends with a table of per-stage wall times, kept in results/logs/reproduce.log. A run that
trained every experiment from scratch (nothing reused) is also kept as results/reproduce.log,
the reproduction whose wall time the README quotes; the README's row is then regenerated.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import utils  # noqa: E402
LOGS = os.path.join(ROOT, "results", "logs")
FULL_RUN_LOG = os.path.join(ROOT, "results", "reproduce.log")  # the last from-scratch run
PY = sys.executable
TRANSCRIPT = []  # this run's own output lines


def say(line):
    print(line, flush=True)
    TRANSCRIPT.append(line)

# (name, record that marks it done, command); run one after the other, beside the Q4 study.
NUMPY_RUNS = [
    ("q3 mlp", "results/q3/mlp.json", ["hw1-q3.py", "mlp"]),
    ("q3 logistic_regression", "results/q3/logistic_regression.json", ["hw1-q3.py", "logistic_regression"]),
    ("q3 perceptron", "results/q3/perceptron.json", ["hw1-q3.py", "perceptron"]),
    ("q2 nn seeds", "results/q2/nn-seeds.json", ["hw1-q2.py", "nn", "-seeds", "10"]),
    ("q2 nn", "results/q2/nn.json", ["hw1-q2.py", "nn"]),
    ("q2 linear_regression", "results/q2/linear_regression.json", ["hw1-q2.py", "linear_regression"]),
]
Q4_STUDY = ["tools/study_q4.py", "-workers", str(os.cpu_count() or 2)]
BENCHMARKS = [("bench q2", ["tools/bench_q2.py"]), ("bench q3", ["tools/bench_q3.py"]),
              ("bench q4", ["tools/bench_q4.py"])]


def start(name, args, log_path=None):
    """Start `python args...` in the project root, its output going to results/logs/NAME.log
    (or to log_path)."""
    log_path = log_path or os.path.join(LOGS, name.replace(" ", "_") + ".log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    log = open(log_path, "w")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen([PY] + args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    process.log_path = log.name
    return process


def finish(name, process, started, timings):
    code = process.wait()
    timings.append((name, time.time() - started, code))
    status = "ok" if code == 0 else f"FAILED (exit {code}; see {os.path.relpath(process.log_path, ROOT)})"
    say(f"[{time.time() - T0:7.1f} s] {name}: {status}")
    return code


def run(name, args, timings, log_path=None):
    return finish(name, start(name, args, log_path), time.time(), timings)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Reproduce every result and the report PDF.")
    parser.add_argument("--source", metavar="DIR", help="offline Fashion-MNIST folder (four .gz files)")
    parser.add_argument("--force", action="store_true", help="rerun experiments that have records")
    parser.add_argument("--bench", action="store_true",
                        help="also run the benchmarks (alone, after the experiments)")
    parser.add_argument("--no-pdf", action="store_true", help="stop before building the PDF")
    args = parser.parse_args(argv)
    timings, failures = [], 0

    if not os.path.exists(os.path.join(ROOT, "Fashion-MNIST.npz")):
        data_args = ["download_fashion_mnist.py"] + (["--source", args.source] if args.source else [])
        if run("data", data_args, timings):
            return 1
    q4_runs = os.path.join(ROOT, "results", "q4", "runs")
    if args.force:
        for _, record, _ in NUMPY_RUNS:
            if os.path.exists(os.path.join(ROOT, record)):
                os.remove(os.path.join(ROOT, record))
        shutil.rmtree(q4_runs, ignore_errors=True)
    from_scratch = not (any(os.path.exists(os.path.join(ROOT, r)) for _, r, _ in NUMPY_RUNS)
                        or (os.path.isdir(q4_runs) and os.listdir(q4_runs)))

    study_started = time.time()
    study = start("q4 study", Q4_STUDY)
    say(f"[{time.time() - T0:7.1f} s] q4 study: started (log in results/logs/)")
    for name, record, command in NUMPY_RUNS:
        if os.path.exists(os.path.join(ROOT, record)):
            say(f"[{time.time() - T0:7.1f} s] {name}: record exists, skipped")
            continue
        failures += run(name, command, timings) != 0
    failures += finish("q4 study", study, study_started, timings) != 0
    if args.bench:
        for name, command in BENCHMARKS:
            path = os.path.join(ROOT, "results", "bench", name.split()[1] + ".txt")
            failures += run(name, command, timings, log_path=path) != 0

    failures += run("report tables", ["tools/make_report.py"], timings) != 0
    if not args.no_pdf and not failures:
        started = time.time()
        code = subprocess.call(["latexmk", "-pdf", "-interaction=nonstopmode", "-quiet", "report.tex"],
                               cwd=os.path.join(ROOT, "report"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        timings.append(("pdf", time.time() - started, code))
        failures += code != 0

    say("\nstage                          seconds  status")
    for name, seconds, code in timings:
        say(f"{name:28s} {seconds:9.1f}  {'ok' if code == 0 else 'FAILED'}")
    say(f"{'total (wall)':28s} {time.time() - T0:9.1f}")
    text = "\n".join(TRANSCRIPT) + "\n"
    os.makedirs(LOGS, exist_ok=True)
    utils.atomic_write_bytes(os.path.join(LOGS, "reproduce.log"), text.encode())
    if from_scratch and not failures:
        utils.atomic_write_bytes(FULL_RUN_LOG, text.encode())
        failures += run("README timing row", ["tools/make_report.py"], []) != 0
    return 1 if failures else 0


T0 = time.time()
if __name__ == "__main__":
    sys.exit(main())
