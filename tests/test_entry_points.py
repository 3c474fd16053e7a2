"""Every entry point (a .py with a __main__) run from another folder holding tiny inputs: -h,
relative paths, the other question's data, the seed bound; none may write into the project."""
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, load_script, write_ames, write_fashion

ENTRY_POINTS = sorted(os.path.relpath(path, ROOT) for path in glob.glob(f"{ROOT}/*.py")
                      + glob.glob(f"{ROOT}/tools/*.py") if "__main__" in open(path).read())
AMES, FASHION = (["-data", name, "-output", "out"] for name in ("ames.npz", "fashion.npz"))
E1 = ["-epochs", "1"]
# entry point -> [(argv, the file it must write in the folder it runs from, or the exit status
# of its refusal: 1, one line "error: ..."; 2, argparse's usage)]
CASES = {
    "hw1-q2.py": [(["linear_regression", *E1, *AMES],
                   "out/linear_regression-data=ames-epochs=1.json"), (["nn", *E1, *FASHION], 1),
                  (["nn", "-seed", "4294967295", "-seeds", "2", *AMES], 2)],
    "hw1-q3.py": [(["perceptron", *E1, *FASHION], "out/perceptron-data=fashion-epochs=1.json"),
                  (["mlp", *E1, *AMES], 1), (["logistic_regression", "-learning_rate", "0"], 2)],
    "hw1-q4.py": [(["logistic_regression", *E1, *FASHION],
                   "out/logistic_regression-data=fashion-epochs=1.json"), (["mlp", *E1, *AMES], 1)],
    "download_fashion_mnist.py": [(["--source", "records", "--output", "out.npz"], 1)],
    "tools/make_report.py": [],  # it reads and writes the project only: see test_tools
    "tools/make_submission.py": [(["--output", "missing/s.zip"], 1)],
    # run in project/ (a mini_project), every record present, no data: trains and fetches nothing
    "tools/reproduce.py": [(["--seeds", "42", "--no-pdf"], "project/results/q4/summary.json")],
    "tools/study_q4.py": [(["-summary_only", "-seeds", "42", "-runs", "project/results/q4/runs",
                           "-output", "q4"], "q4/summary.json"), (["-seeds", "42", *E1, *AMES], 1)]}
q4, study = load_script("hw1-q4.py"), load_script("tools/study_q4.py")


def q4_record(folder, flags, seed, dev, epochs=20):
    """Write hw1-q4.py's record of `flags` under a name of its own, `dev` its every accuracy."""
    defaults = vars(q4.build_parser().parse_args([flags["model"]]))
    config = {k: defaults[k] for k in ["model", "batch_size", "learning_rate", "l2_decay",
                                       "optimizer", *q4.MODELS[flags["model"]][0]]}
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{len(os.listdir(folder))}.json"), "w") as f:
        json.dump({"config": {**config, **flags, "epochs": epochs, "seed": seed}, "seed": seed,
                   "epochs": [{"train_loss": 1 / e, "train_eval_loss": 1 / e, "train_acc": dev,
                               "dev_acc": dev}
                              for e in range(1, epochs + 1)], "status": "ok", "final": {
                       "dev_acc": dev, "test_acc": dev, "train_acc": dev, "train_loss": 0.5}}, f)


def mini_project(folder):
    """The reproduction code copied to `folder`, with every record, but no Fashion-MNIST.npz and
    a downloader and a make_report.py that only add a letter to `marks`."""
    copies = ["utils.py", "hw1-q4.py", "tools/common.py", "tools/study_q4.py", "tools/reproduce.py"]
    for path in copies + [record for record, _ in load_script("tools/reproduce.py").NUMPY_RUNS]:
        os.makedirs(folder / os.path.dirname(path), exist_ok=True)
        (folder / path).write_text(open(os.path.join(ROOT, path)).read() if path in copies else "")
    for path, letter in (("download_fashion_mnist.py", "d"), ("tools/make_report.py", "r")):
        (folder / path).write_text(f"open('marks', 'a').write('{letter}')\n")
    for _, _, flags in study.CONFIGS:
        q4_record(folder / "results" / "q4" / "runs", flags, 42, 0.5)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Tiny inputs: ames.npz, fashion.npz, project/ (a mini_project), records/ (empty)."""
    folder = tmp_path_factory.mktemp("inputs")
    write_ames(folder / "ames.npz"), write_fashion(folder / "fashion.npz")
    mini_project(folder / "project")
    os.makedirs(folder / "records")
    return folder


def listing(folder):  # `find . -path ./.git -prune -o -print | sort`, without __pycache__
    return sorted(os.path.relpath(os.path.join(parent, name), folder)
                  for parent, folders, files in os.walk(folder) for name in folders + files
                  if not {".git", "__pycache__"} & {name, *parent.split(os.sep)})


def run(argv, cwd):
    return subprocess.run([sys.executable, *argv], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"), timeout=120)


# -h, then the entry point's CASES (a KeyError here: a new entry point wants its rows)
@pytest.mark.parametrize("entry_point, argv, expected", [
    row for entry_point in ENTRY_POINTS
    for row in [(entry_point, ["-h"], 0)] + [(entry_point, *case) for case in CASES[entry_point]]])
def test_from_another_folder(entry_point, argv, expected, inputs, tmp_path):
    shutil.copytree(inputs, tmp_path, dirs_exist_ok=True)
    path = (tmp_path / "project" / entry_point if entry_point == "tools/reproduce.py"
            else os.path.join(ROOT, entry_point))
    before = listing(ROOT), listing(tmp_path)
    result = run([path, *argv], tmp_path)
    assert listing(ROOT) == before[0]
    if isinstance(expected, str):
        assert result.returncode == 0 and (tmp_path / expected).is_file(), result.stderr
    else:  # -h, or refused before any work: the folder as it was
        out, err = result.stdout, result.stderr
        assert result.returncode == expected and listing(tmp_path) == before[1], err
        assert {0: "usage:" in out, 1: err.startswith("error:") and err.count("\n") == 1,
                2: err.startswith("usage:") and "e+" not in err}[expected], out + err
    if entry_point == "tools/reproduce.py" and expected != 0:
        assert (tmp_path / "project" / "marks").read_text() == "r"  # make_report.py, no data
        assert not (tmp_path / "project" / "results" / "reproduce.log").exists()
