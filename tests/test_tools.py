"""The tools of tools/: the reproduction driver, the submission archive, the textbook yardstick
and the benchmarks. Each test names the bug it catches."""
import importlib.util
import os
import re
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT, load_script, write_fashion

HAVE_TORCH = importlib.util.find_spec("torch") is not None
make_submission = load_script("tools/make_submission.py")
reproduce = load_script("tools/reproduce.py")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def run(argv, cwd):
    return subprocess.run([sys.executable] + argv, cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=300)


# ---------------------------------------------------------------------------------------------
# The reproduction driver, with stand-in scripts in a folder that ROOT is patched to.

STUDY = """import os, sys
assert sys.argv[sys.argv.index('-seeds') + 1] == '42'
done = os.path.exists('results/q4/runs')
os.makedirs('results/q4/runs', exist_ok=True)
print('0 runs to train, 12 already done' if done else '12 runs to train; 2 workers')
print('[ 60 s] 1/12 progress line')
print('study: 5 s wall')
"""


def stand_ins(tmp_path, monkeypatch, train):
    (tmp_path / "tools").mkdir()
    (tmp_path / "download_fashion_mnist.py").write_text(
        "open('downloads.txt', 'a').write('x')\nopen('Fashion-MNIST.npz', 'w').close()\n")
    (tmp_path / "train.py").write_text(train)
    (tmp_path / "tools" / "study_q4.py").write_text(STUDY)
    (tmp_path / "tools" / "make_report.py").write_text("open('reports.txt', 'a').write('x')\n")
    monkeypatch.setattr(reproduce, "ROOT", str(tmp_path))
    monkeypatch.setattr(reproduce, "NUMPY_RUNS", [("run", "results/run.json", ["train.py"])])


def test_reproduce_keeps_its_log_when_it_trained_nothing_and_follows_a_patched_root(
        tmp_path, monkeypatch, capsys):
    """Bugs: a run that reuses every record rewrote results/reproduce.log and the README row
    (a dirty fresh clone); the data check looked at the real project, not ROOT (FASHION_PATH is
    absolute); the study's progress lines never reached the screen."""
    stand_ins(tmp_path, monkeypatch, "import os\nos.makedirs('results', exist_ok=True)\n"
                                     "open('results/run.json', 'w').write('{}')\n")
    assert reproduce.main(["--no-pdf", "--seeds", "42"]) == 0
    out = capsys.readouterr().out
    assert "q4 study: [ 60 s] 1/12 progress line" in out  # relayed from the study's log
    log = (tmp_path / "results" / "reproduce.log").read_text()
    assert log.startswith("tools/reproduce.py --no-pdf --seeds 42: 0 run records")
    assert "run: ok" in log and "total (wall)" in log
    study_log = (tmp_path / "results" / "q4" / "study-seeds=42.log").read_text()
    assert study_log.startswith("12 runs to train")
    assert (tmp_path / "reports.txt").read_text() == "xx"  # values, then the README row

    assert reproduce.main(["-no-pdf", "-seeds", "42"]) == 0  # both spellings
    out = capsys.readouterr().out
    assert "run: record exists, reused" in out and "--force" in out
    assert (tmp_path / "results" / "reproduce.log").read_text() == log
    assert (tmp_path / "results" / "q4" / "study-seeds=42.log").read_text() == study_log
    assert (tmp_path / "reports.txt").read_text() == "xxx"  # no README row
    assert (tmp_path / "downloads.txt").read_text() == "x"  # data built once, in ROOT


def test_reproduce_shows_why_a_stage_failed(tmp_path, monkeypatch, capsys):
    """Bug: a failed stage said only "see results/logs/run.log"."""
    stand_ins(tmp_path, monkeypatch, "import sys\nsys.exit('error: the disk is on fire')\n")
    assert reproduce.main(["--no-pdf", "--seeds", "42"]) == 1
    assert "    error: the disk is on fire" in capsys.readouterr().out
    assert not (tmp_path / "results" / "reproduce.log").exists()


def test_reproduction_plan_names_real_scripts_and_writes_results():
    """Bug: a stage that names a moved script, or writes outside results/."""
    for name, record, command in reproduce.NUMPY_RUNS:
        assert os.path.isfile(os.path.join(ROOT, command[0])), name
        assert record.startswith("results/") and record.endswith(".json")
        assert command[command.index("-output") + 1] == os.path.dirname(record), name


# ---------------------------------------------------------------------------------------------
# The submission archive.

TOOLS = ["tools/common.py", "tools/analyse_q2.py", "tools/analyse_q3.py", "tools/study_q4.py"]
ARCHIVE = ["report.pdf", "README.md", "hw1-q2.py", "hw1-q3.py", "hw1-q4.py", "utils.py",
           "download_fashion_mnist.py", "ames.npz", "requirements.txt", "environment.yml"] + TOOLS
FILE = r"[\w./=-]+\.(?:py|npz|txt|yml|pdf|md|json)"


def test_the_archive_holds_every_tool_behind_a_number_of_the_report():
    """Bugs: the archive lacked the code that regenerates a number of the PDF (a script that
    reproduce runs, the Q4 study, their common.py); its README named a file it does not hold."""
    needed = {command[0] for _, _, command in reproduce.NUMPY_RUNS} | set(TOOLS)
    assert needed <= set(make_submission.CONTENTS)
    assert sorted(make_submission.CONTENTS) == sorted(ARCHIVE)
    readme = open(os.path.join(ROOT, make_submission.CONTENTS["README.md"])).read()
    named = set(re.findall(r"`(?:python )?(" + FILE + r")", readme))
    assert named - set(ARCHIVE) - {"Fashion-MNIST.npz", "runs/q4/summary.json"} == set()
    for name in ("requirements.txt", "environment.yml"):  # no tests inside: no pytest
        assert "pytest" not in re.sub(r"#.*", "", open(os.path.join(ROOT, name)).read())


@pytest.mark.parametrize("parent", ["a file", "/proc"])
def test_submission_names_an_output_folder_it_cannot_write(tmp_path, parent):
    """Bug: --output README.md/x.zip said "file exists" (or a traceback), /proc/x.zip a
    traceback, after the archive was built."""
    (tmp_path / "a file").write_text("")
    folder = tmp_path / parent if parent == "a file" else parent
    result = run(["tools/make_submission.py", "--output", f"{folder}/x.zip"], ROOT)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert ("is a file, not a folder" if parent == "a file" else "/proc") in result.stderr


def test_submission_archive_runs_where_it_is_unzipped(tmp_path):
    """Bug: the unzipped archive's scripts and tools did not run from another folder (a path
    relative to the current folder, a tool that imports a file the archive lacks); the
    placeholder group line went unnoticed."""
    if not os.path.exists(os.path.join(ROOT, "report", "report.pdf")):
        pytest.skip("report/report.pdf not built")
    result = run(["tools/make_submission.py", "--output", str(tmp_path / "s.zip")], ROOT)
    assert result.returncode == 0, result.stderr
    placeholder = make_submission.PLACEHOLDER in open(
        os.path.join(ROOT, "report", "report.tex")).read()
    assert ("warning: the group line" in result.stderr) == placeholder
    with zipfile.ZipFile(tmp_path / "s.zip") as archive:
        assert archive.testzip() is None and sorted(archive.namelist()) == sorted(ARCHIVE)
        assert archive.read("report.pdf")[:5] == b"%PDF-"
        archive.extractall(tmp_path / "unzipped")
    folder = tmp_path / "unzipped"
    write_fashion(folder / "Fashion-MNIST.npz")  # what the downloader would have written
    runs = [("hw1-q2.py", "linear_regression", "q2"), ("hw1-q3.py", "perceptron", "q3")]
    runs += [("hw1-q4.py", "logistic_regression", "q4")] if HAVE_TORCH else []
    for script, model, question in runs:
        result = run([str(folder / script), model, "-epochs", "1"], tmp_path)
        assert result.returncode == 0, result.stderr
        assert (folder / "runs" / question / f"{model}-epochs=1.json").is_file()
    for tool in TOOLS[1:] if HAVE_TORCH else TOOLS[1:3]:
        result = run([str(folder / tool), "-h"], tmp_path)
        assert result.returncode == 0 and "default" in result.stdout, result.stderr


# ---------------------------------------------------------------------------------------------
# The textbook yardstick and the benchmarks.

BENCHES = ["tools/textbook_q3.py", "tools/bench_q3.py"] + (["tools/bench_q4.py"] if HAVE_TORCH
                                                           else [])


@pytest.mark.parametrize("tool", BENCHES)
def test_bench_tools_help_and_missing_data_from_another_folder(tmp_path, tool):
    """Bugs: -h failed outside the project folder (the data read relative to the current
    folder, at import) or hid flags' defaults; a missing data file gave a traceback."""
    result = run([os.path.join(ROOT, tool), "-h"], tmp_path)
    assert result.returncode == 0, result.stderr
    default = f"(default:{os.path.join(ROOT, 'Fashion-MNIST.npz')})"  # the project's file
    assert default in "".join(result.stdout.split())
    flags = re.findall(r"^  (-\w+)", result.stdout, re.M)
    assert len(re.findall(r"\(default:", result.stdout)) >= len(flags) - 1  # -h has none
    model = ["mlp"] if "textbook" in tool else []
    result = run([os.path.join(ROOT, tool)] + model + ["-data", "missing.npz"], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "missing.npz" in result.stderr and result.stderr.count("\n") == 1
