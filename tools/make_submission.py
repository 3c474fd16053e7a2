#!/usr/bin/env python
"""Build submission.zip: the report PDF, what a grader needs to run each script, and the tools
that regenerate every number of the PDF (CONTENTS). Warns while report/report.tex's group line is
the placeholder.

    python tools/make_submission.py [--output submission.zip]
"""
import os
import sys
import zipfile

from common import ROOT  # first: puts the project folder on sys.path
import utils

FILES = ["hw1-q2.py", "hw1-q3.py", "hw1-q4.py", "utils.py", "download_fashion_mnist.py",
         "ames.npz", "requirements.txt", "environment.yml", "tools/common.py",
         "tools/analyse_q2.py", "tools/analyse_q3.py", "tools/study_q4.py"]
# name in the archive: path in the project
CONTENTS = {"report.pdf": "report/report.pdf", "README.md": "tools/SUBMISSION_README.md",
            **{path: path for path in FILES}}
PLACEHOLDER = "ist1xxxxx"  # in report/report.tex's \group line until it is filled in


def build(output):
    """Write the archive to `output` (checked first)."""
    if os.path.isdir(output):
        raise utils.UserError(f"{output} is a folder; fix: name the archive, e.g. "
                              f"{os.path.join(output, 'submission.zip')}")
    utils.check_output_folder(os.path.dirname(os.path.abspath(output)))
    missing = [p for p in CONTENTS.values() if not os.path.isfile(os.path.join(ROOT, p))]
    if missing:
        raise utils.UserError(f"missing {', '.join(missing)}; fix: python tools/reproduce.py "
                              "builds the PDF")
    with open(os.path.join(ROOT, "report", "report.tex")) as f:
        if PLACEHOLDER in f.read():
            print("warning: the group line of report/report.tex is still a placeholder; fill it "
                  "in and rebuild the PDF", file=sys.stderr)
    with utils.atomic_file(output) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in CONTENTS.items():
            archive.write(os.path.join(ROOT, path), name)


def main(argv=None):
    parser = utils.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=os.path.join(ROOT, "submission.zip"),
                        help="the archive to write")
    output = parser.parse_args(argv).output
    build(output)
    print(f"wrote {output}: {', '.join(CONTENTS)}")


if __name__ == "__main__":
    utils.run_main(main)
