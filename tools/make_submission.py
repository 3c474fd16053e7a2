#!/usr/bin/env python
"""Build submission.zip: the report PDF and what a grader needs to run each script.

    python tools/make_submission.py [--output submission.zip]

The PDF, the three scripts, utils.py, the Fashion-MNIST builder, ames.npz, the environment files
and a short README (tools/SUBMISSION_README.md), all at the archive's top level. No tests, tools,
results or Fashion-MNIST data.
"""
import argparse
import os
import zipfile

from common import ROOT  # first: puts the project folder on sys.path
from utils import atomic_file

FILES = ["hw1-q2.py", "hw1-q3.py", "hw1-q4.py", "utils.py", "download_fashion_mnist.py",
         "ames.npz", "requirements.txt", "environment.yml"]
# name in the archive: path in the project
CONTENTS = {"report.pdf": "report/report.pdf", "README.md": "tools/SUBMISSION_README.md",
            **{path: path for path in FILES}}


def build(output):
    missing = [p for p in CONTENTS.values() if not os.path.isfile(os.path.join(ROOT, p))]
    if missing:
        raise SystemExit(f"error: missing {', '.join(missing)} (the PDF is built by "
                         "python tools/reproduce.py)")
    with atomic_file(output) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in CONTENTS.items():
            archive.write(os.path.join(ROOT, path), name)
    return output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=os.path.join(ROOT, "submission.zip"))
    args = parser.parse_args(argv)
    build(args.output)
    print(f"wrote {args.output}: {', '.join(CONTENTS)}")


if __name__ == "__main__":
    main()
