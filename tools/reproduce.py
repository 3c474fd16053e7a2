#!/usr/bin/env python
"""Reproduce every result of the report, and report/report.pdf.

    python tools/reproduce.py [--source DIR] [--seeds 42 43 44] [--force] [--no-pdf]

Each Q2 and Q3 run without its record in results/ (NUMPY_RUNS; --force: all) runs
beside the Q4 study (tools/study_q4.py -output results/q4 trains the runs it lacks); then
tools/make_report.py. Only if something must train are Fashion-MNIST.npz built (offline:
--source), the PDF rebuilt and results/reproduce.log written. Logs go to results/logs/.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import time

from common import ROOT, load_script  # first: puts the project folder on sys.path
import utils

# (the record that marks it done, its command: every output goes to results/ through -output)
NUMPY_RUNS = [
    *[(f"results/q3/{model}.json", ["hw1-q3.py", model, "-output", "results/q3"])
      for model in ("perceptron", "logistic_regression", "mlp")],
    *[(f"results/q2/{model}{'-seeds=10' * bool(seeds)}.json",
       ["hw1-q2.py", model, *seeds, "-output", "results/q2"])
      for model in ("linear_regression", "nn") for seeds in ([], ["-seeds", "10"])]]


class Stages:
    """Commands run in ROOT, each logged to results/logs/, and the lines said about them."""

    def __init__(self):
        self.start, self.lines, self.failures = time.time(), [], 0

    def say(self, *lines):
        self.lines += lines
        print("\n".join(lines), flush=True)

    def launch(self, name, argv, cwd=ROOT):
        log = os.path.join(ROOT, "results", "logs", name.replace(" ", "_") + ".log")
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "w") as f:
            return name, subprocess.Popen(argv, cwd=cwd, stdout=f, stderr=subprocess.STDOUT), log

    def wait(self, launched):
        """Wait for a launched command and say how it ended; returns its exit status."""
        name, process, log = launched
        code = process.wait()
        self.failures += code != 0
        with open(log, errors="replace") as f:  # on failure: the end of its log
            tail = [f"    {line}" for line in f.read().splitlines()[-5:]] if code else []
        self.say(f"[{time.time() - self.start:7.1f} s] {name}: " + (
            f"FAILED (exit {code}); the end of {os.path.relpath(log, ROOT)}:" if code else "ok"),
            *tail)
        return code

    def run(self, name, argv, cwd=ROOT):
        return self.wait(self.launch(name, argv, cwd))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", metavar="DIR",
                        help="offline Fashion-MNIST folder (the four .gz IDX files)")
    parser.add_argument("--seeds", type=utils.number(int, 0, utils.MAX_SEED), nargs="+",
                        default=[42, 43, 44], help="seeds of the Q4 study (42: the assignment's)")
    parser.add_argument("--force", action="store_true", help="rerun the runs that have records")
    parser.add_argument("--no-pdf", action="store_true", help="do not build the PDF")
    args = parser.parse_args(argv)
    study, q4_runs = load_script("tools/study_q4.py"), os.path.join(ROOT, "results", "q4", "runs")
    if args.force:  # the study trains only the runs without a record
        shutil.rmtree(q4_runs, ignore_errors=True)
    stages, python, seeds = Stages(), sys.executable, [str(seed) for seed in args.seeds]
    records = glob.glob(os.path.join(ROOT, "results", "**", "*.json"), recursive=True)
    stages.say(f"tools/reproduce.py {' '.join(sys.argv[1:] if argv is None else argv)}: "
               f"{len(records)} run records in results/ at the start; {os.cpu_count()} cores")
    missing = [record for record, _ in NUMPY_RUNS
               if args.force or not os.path.exists(os.path.join(ROOT, record))]
    q4_done = study.find_records(q4_runs, args.seeds, study.EPOCHS)
    must_train = bool(missing) or len(q4_done) < len(study.CONFIGS) * len(args.seeds)
    if must_train and not os.path.exists(utils.FASHION_PATH):
        source = ["--source", os.path.abspath(args.source)] if args.source else []
        if stages.run("data", [python, "download_fashion_mnist.py"] + source):
            return 1

    q4 = stages.launch("q4 study", [python, "tools/study_q4.py", "-output", "results/q4",
                                    "-seeds", *seeds, "-workers", str(os.cpu_count())])
    stages.say(f"q4 study: started, its progress in {os.path.relpath(q4[2], ROOT)}")
    for record, command in NUMPY_RUNS:
        if record in missing:
            name = os.path.splitext(record)[0].removeprefix("results/").replace("/", " ")
            stages.run(name, [python] + command)
        else:
            stages.say(f"{record}: record exists, reused")
    if stages.wait(q4) == 0:
        with open(q4[2]) as f:
            transcript = f.read()
        stages.say(f"q4 study: {transcript.splitlines()[0]}")
        if not transcript.startswith("0 runs to train"):  # it trained: keep its wall time
            path = os.path.join(ROOT, "results", "q4", f"study-seeds={'-'.join(seeds)}.log")
            utils.write_atomically(path, lambda f: f.write(transcript.encode()))
    stages.run("report values", [python, "tools/make_report.py"])
    if stages.failures:
        return 1
    if not must_train:
        print("nothing trained, every record reused: results/reproduce.log and "
              "report/report.pdf kept. To retrain: --force.")
        return 0
    latexmk = ["latexmk", "-pdf", "-interaction=nonstopmode", "-quiet", "report.tex"]
    if not args.no_pdf and stages.run("pdf", latexmk, cwd=os.path.join(ROOT, "report")):
        return 1
    stages.say(f"total (wall) {time.time() - stages.start:.1f}")
    text = "\n".join(stages.lines) + "\n"
    utils.write_atomically(os.path.join(ROOT, "results", "reproduce.log"),
                           lambda f: f.write(text.encode()))
    return stages.run("README timing row", [python, "tools/make_report.py"])


if __name__ == "__main__":
    utils.run_main(main)
