#!/usr/bin/env python
"""Build submission.zip: the report, the code a grader runs, and what recomputes every number of
the PDF (tools/make_report.py, the files its INPUTS name, the report's sources), laid out as in
the project. Warns while report/report.tex's group line is the placeholder.

    python tools/make_submission.py [--output submission.zip]
"""
import argparse
import glob
import os
import runpy
import sys
import tempfile
import zipfile

from common import ROOT  # first: puts the project folder on sys.path
import utils

FILES = ["report/report.pdf", "hw1-q2.py", "hw1-q3.py", "hw1-q4.py", "utils.py",
         "download_fashion_mnist.py", "ames.npz", "requirements.txt", "environment.yml",
         "tools/make_report.py", "tools/common.py", "tools/study_q4.py",  # and what it imports
         "report/report.tex", "report/sections/*.tex", "report/generated/*"]


def build(output, root=ROOT):
    """Write to `output` the archive of README.md and each file under `root` that FILES or
    make_report's INPUTS (glob patterns relative to root) name; returns {name: path}."""
    folder = os.path.dirname(os.path.abspath(output))
    try:
        tempfile.TemporaryFile(dir=folder).close()  # can a file be written there?
    except OSError as exc:
        raise utils.UserError(f"cannot write in {folder} ({exc.strerror}); fix: --output "
                              "FILE.zip in a writable folder") from None
    if os.path.isdir(output):
        raise utils.UserError(f"{output} is a folder; fix: --output {output}/submission.zip")
    names = {"README.md": os.path.join(root, "tools", "SUBMISSION_README.md")}
    for pattern in FILES + runpy.run_path(os.path.join(root, "tools/make_report.py"))["INPUTS"]:
        paths = sorted(glob.glob(os.path.join(root, pattern)))
        if not paths:
            raise utils.UserError(f"no file {pattern} in {root}; fix: python tools/reproduce.py "
                                  "builds every record and the PDF")
        names.update((os.path.relpath(path, root), path) for path in paths)
    with open(os.path.join(root, "report", "report.tex")) as f:
        if "ist1xxxxx" in f.read():  # the placeholder of the \group line
            print("warning: the group line of report/report.tex is still a placeholder; fill it "
                  "in and rebuild the PDF", file=sys.stderr)

    def write(f):
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, path in names.items():
                archive.write(path, name)
    utils.write_atomically(output, write)
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=os.path.join(ROOT, "submission.zip"),
                        help="the archive to write")
    output = parser.parse_args(argv).output
    print(f"wrote {output}: {len(build(output))} files")
    return 0


if __name__ == "__main__":
    utils.run_main(main)
