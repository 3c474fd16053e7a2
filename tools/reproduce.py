#!/usr/bin/env python
"""Reproduce every result of the report, from nothing to report/report.pdf.

    python tools/reproduce.py [--source DIR] [--seeds 42 43 44] [--force] [--bench] [--no-pdf]

Stages: Fashion-MNIST.npz unless it exists; every Q2 and Q3 run into results/ one after the
other, beside the Q4 study (one worker per core, its progress relayed), reusing existing records
(--force reruns them); with --bench, the benchmarks; tools/make_report.py; latexmk. Logs go to
results/logs/ (a failed stage's last lines are printed); the stage table to results/reproduce.log
and a study that trained to results/q4/study-seeds=42-43-44.log. A run that trains nothing keeps
both, the README and the PDF as they are.
"""
import os
import shutil
import subprocess
import sys
import time

import common  # first: puts the project folder on sys.path
import utils

ROOT = common.ROOT  # every path below is relative to it (a test may point it elsewhere)
# (name, the record that marks it done, command); one after the other, beside the Q4 study.
NUMPY_RUNS = [
    *[(f"q3 {model}", f"results/q3/{model}.json", ["hw1-q3.py", model, "-output", "results/q3"])
      for model in ("mlp", "logistic_regression", "perceptron")],
    ("q3 analysis", "results/q3/analysis.json",
     ["tools/analyse_q3.py", "-records", "results/q3", "-output", "results/q3"]),
    *[(f"q2 {model}", f"results/q2/{model}.json", ["hw1-q2.py", model, "-output", "results/q2"])
      for model in ("linear_regression", "nn")],
    ("q2 nn seeds", "results/q2/nn-seeds=10.json",
     ["hw1-q2.py", "nn", "-seeds", "10", "-output", "results/q2"]),
    ("q2 analysis", "results/q2/analysis.json",
     ["tools/analyse_q2.py", "-study", "results/q2/nn-seeds=10.json",
      "-linear", "results/q2/linear_regression.json", "-output", "results/q2"])]
Q4_OUTPUT = "results/q4"
PYTHON = sys.executable


def at_root(path):
    return os.path.join(ROOT, path)


class Reproduction:
    """Runs commands in ROOT, each logged to results/logs/, times the stages, and relays the
    lines the Q4 study adds to its log (`watched`) while it waits for anything."""

    def __init__(self):
        self.start, self.lines, self.stages, self.failures = time.time(), [], [], 0
        self.watched, self.relayed = None, 0

    def say(self, line):
        print(line, flush=True)
        self.lines.append(line)

    def relay(self):
        if self.watched and os.path.exists(self.watched):
            with open(self.watched, errors="replace") as f:
                lines = f.read().split("\n")[:-1]  # whole lines only
            for line in lines[self.relayed:]:
                print(f"{'':12s}q4 study: {line}", flush=True)
            self.relayed = len(lines)

    def launch(self, name, argv, log_path=None, cwd=None):
        log_path = log_path or at_root(f"results/logs/{name.replace(' ', '_')}.log")
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        with open(log_path, "w") as log:
            process = subprocess.Popen(argv, cwd=cwd or ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       env=dict(os.environ, PYTHONUNBUFFERED="1"))
        return name, process, time.time(), log_path

    def wait(self, launched):
        name, process, started, log_path = launched
        while True:
            try:
                code = process.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                self.relay()
        self.relay()
        self.stages.append((name, time.time() - started, code))
        self.failures += code != 0
        self.say(f"[{time.time() - self.start:7.1f} s] {name}: " + ("ok" if code == 0 else
                 f"FAILED (exit {code}); last lines of {os.path.relpath(log_path, ROOT)}:"))
        if code:
            with open(log_path, errors="replace") as f:
                for line in f.read().splitlines()[-5:]:
                    self.say(f"    {line}")
        return code

    def run(self, name, argv, log_path=None, cwd=None):
        return self.wait(self.launch(name, argv, log_path, cwd))

    def table(self):
        self.say("\nstage                          seconds  status")
        for name, seconds, code in self.stages:
            self.say(f"{name:28s} {seconds:9.1f}  {'ok' if code == 0 else 'FAILED'}")
        self.say(f"{'total (wall)':28s} {time.time() - self.start:9.1f}")
        return "\n".join(self.lines) + "\n"


def main(argv=None):
    parser = utils.parser("Reproduce every result and the report PDF.")
    parser.add_argument("--source", metavar="DIR",
                        help="offline Fashion-MNIST folder (the four .gz IDX files)")
    parser.add_argument("--seeds", type=utils.SEED, nargs="+", default=[42, 43, 44],
                        help="seeds of the Q4 study (42 alone: what the assignment asks)")
    parser.add_argument("--force", action="store_true", help="rerun experiments that have records")
    parser.add_argument("--bench", action="store_true",
                        help="also run the benchmarks (alone, after the experiments)")
    parser.add_argument("--no-pdf", action="store_true", help="stop before building the PDF")
    args = parser.parse_args(argv)
    repro = Reproduction()
    existing = sum(name.endswith(".json")
                   for _, _, names in os.walk(at_root("results")) for name in names)
    repro.say(f"tools/reproduce.py {' '.join(sys.argv[1:] if argv is None else argv)}: "
              f"{existing} run records in results/ at the start; {os.cpu_count()} cores")

    if not os.path.exists(at_root("Fashion-MNIST.npz")):
        source = ["--source", args.source] if args.source else []
        if repro.run("data", [PYTHON, "download_fashion_mnist.py"] + source):
            return 1
    if args.force:
        for record in [at_root(r) for _, r, _ in NUMPY_RUNS if os.path.exists(at_root(r))]:
            os.remove(record)
        shutil.rmtree(at_root(Q4_OUTPUT + "/runs"), ignore_errors=True)

    study = repro.launch("q4 study", [PYTHON, "tools/study_q4.py", "-output", Q4_OUTPUT, "-seeds",
                                      *map(str, args.seeds), "-workers", str(os.cpu_count() or 2)])
    repro.watched = study[3]
    repro.say(f"[{time.time() - repro.start:7.1f} s] q4 study: started")
    trained = False
    for name, record, command in NUMPY_RUNS:
        if os.path.exists(at_root(record)):
            repro.say(f"[{time.time() - repro.start:7.1f} s] {name}: record exists, reused")
        else:
            trained = True
            repro.run(name, [PYTHON] + command)
    if repro.wait(study) == 0:
        with open(study[3]) as f:
            transcript = f.read()
        repro.lines.append(f"{'':12s}q4 study: {transcript.splitlines()[0]}")
        if not transcript.startswith("0 runs to train"):  # it trained: keep its wall time
            trained = True
            utils.atomic_write_bytes(at_root(f"{Q4_OUTPUT}/study-seeds="
                                             f"{'-'.join(map(str, args.seeds))}.log"),
                                     transcript.encode())
    for q in ("q3", "q4") if args.bench else ():
        repro.run(f"bench {q}", [PYTHON, f"tools/bench_{q}.py"], at_root(f"results/bench/{q}.txt"))

    repro.run("report values", [PYTHON, "tools/make_report.py"])
    if not trained and not repro.failures:
        print("everything was reused, nothing trained: results/reproduce.log, the README's timing "
              "row and report/report.pdf kept.\nTo retrain: --force, or an empty results/.")
        return 0
    if not args.no_pdf and not repro.failures:
        repro.run("pdf", ["latexmk", "-pdf", "-interaction=nonstopmode", "-quiet", "report.tex"],
                  cwd=at_root("report"))
    text = repro.table()
    if repro.failures:
        return 1
    utils.atomic_write_bytes(at_root("results/reproduce.log"), text.encode())
    return repro.run("README timing row", [PYTHON, "tools/make_report.py"])


if __name__ == "__main__":
    utils.exit_on_ctrl_c("interrupted; finished runs are kept, rerun to resume")
    utils.run_main(main)
