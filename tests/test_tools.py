"""The report generator, the submission archive and the reproduction driver's plan."""
import os
import re
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT, load_script

make_report = load_script("tools/make_report.py")
make_submission = load_script("tools/make_submission.py")
reproduce = load_script("tools/reproduce.py")


def test_generated_report_files_match_the_committed_records():
    """Rebuild values.tex, q4_table.tex and the README's results block from results/ alone."""
    stale = [os.path.relpath(path, ROOT) for path, text in make_report.outputs().items()
             if not os.path.exists(path) or open(path).read() != text]
    assert stale == [], f"stale generated files (run python tools/make_report.py): {stale}"


def test_every_value_the_report_quotes_is_generated():
    defined = set(re.findall(r"\\@namedef\{val@([^}]*)\}", open(
        os.path.join(ROOT, "report", "generated", "values.tex")).read()))
    quoted = set()
    for folder, _, files in os.walk(os.path.join(ROOT, "report")):
        for name in files:
            if name.endswith(".tex") and "generated" not in folder:
                text = re.sub(r"(?<!\\)%.*", "", open(os.path.join(folder, name)).read())
                quoted |= set(re.findall(r"\\val\{([^}]*)\}", text))
    assert quoted, "the report quotes no generated value"
    assert quoted <= defined, f"quoted but never generated: {sorted(quoted - defined)}"


def test_every_figure_the_report_includes_exists():
    """\\twofigs{a}{b}... and \\includegraphics{c} name files under results/ (graphicspath)."""
    text = ""
    for folder, _, files in os.walk(os.path.join(ROOT, "report")):
        text += "".join(re.sub(r"(?<!\\)%.*", "", open(os.path.join(folder, name)).read())
                        for name in files if name.endswith(".tex") and name != "_preview.tex")
    figures = set(re.findall(r"\\twofigs\{([^}]*)\}\{([^}]*)\}", text))
    paths = {p for pair in figures for p in pair}
    paths |= set(re.findall(r"\\includegraphics(?:\[[^]]*\])?\{([^}#]*)\}", text))
    assert len(paths) >= 10, paths  # Q2 (4), Q3 (5), Q4 (6)
    missing = sorted(p for p in paths if not os.path.isfile(os.path.join(ROOT, "results", p)))
    assert missing == [], f"figures the report includes but results/ lacks: {missing}"


def test_submission_archive_runs_where_it_is_unzipped(tmp_path):
    """What a grader needs and nothing else; unzipped anywhere, the quick start runs there."""
    if not os.path.exists(os.path.join(ROOT, "report", "report.pdf")):
        pytest.skip("report/report.pdf not built")
    path = make_submission.build(str(tmp_path / "submission.zip"))
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted([
            "report.pdf", "README.md", "hw1-q2.py", "hw1-q3.py", "hw1-q4.py", "utils.py",
            "download_fashion_mnist.py", "ames.npz", "requirements.txt", "environment.yml"])
        assert archive.read("report.pdf")[:5] == b"%PDF-"
        readme = archive.read("README.md").decode()
        assert "pip install -r requirements.txt" in readme and "download_fashion_mnist.py" in readme
        archive.extractall(tmp_path / "unzipped")

    folder, record = tmp_path / "unzipped", os.path.join("runs", "q2", "linear_regression.json")

    def project_record():
        path = os.path.join(ROOT, record)
        return os.path.exists(path) and os.stat(path).st_mtime_ns

    before = project_record()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "hw1-q2.py", "linear_regression", "-epochs", "1"],
                         cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (folder / record).is_file()
    assert project_record() == before, "the unzipped script wrote into the project's runs/"


def test_reproduction_plan_names_real_scripts_and_writes_results():
    for name, record, command in reproduce.NUMPY_RUNS:
        assert os.path.isfile(os.path.join(ROOT, command[0])), name
        assert record.startswith("results/") and record.endswith(".json")
        assert command[command.index("-output") + 1] == os.path.dirname(record), name
    folder, command = reproduce.Q4_STUDY
    assert os.path.isfile(os.path.join(ROOT, command[0]))
    assert command[command.index("-output") + 1] == folder == "results/q4"


def test_readme_quotes_wall_times_only_from_finished_logs(tmp_path, monkeypatch):
    monkeypatch.setattr(make_report, "RESULTS", str(tmp_path))
    (tmp_path / "q4").mkdir()
    study_log, log = tmp_path / "q4" / "study.log", tmp_path / "reproduce.log"
    study_log.write_text("12 runs to train, 0 already done; 2 workers\n")  # still running
    log.write_text("[    0.0 s] q4 study: started\n")
    assert make_report.timing_rows() == []
    study_log.write_text("12 runs to train, 0 already done; 2 workers\nstudy: 3600 s wall\n")
    log.write_text("stage                          seconds  status\n"
                   "q4 study                          30.0  ok\n"
                   "total (wall)                     600.0\n")
    assert [row[2] for row in make_report.timing_rows()] == [
        "60.0 min", "10.0 min, every run trained"]
    assert "12 runs on 2 workers" in make_report.timing_rows()[0][0]
    log.write_text("[    1.0 s] q2 nn: record exists, reused\n"
                   "            q4 study: 0 runs to train, 12 already done; 2 workers\n"
                   "total (wall)                      60.0\n")
    assert make_report.timing_rows()[1][2] == "1.0 min, reusing 13 run records"


def test_reproduction_keeps_its_stage_table_and_the_log_of_a_study_that_trained(
        tmp_path, monkeypatch, capsys):
    """reproduce.main with stand-in scripts: the first run trains and keeps the study's log;
    a second run reuses the records and keeps the first study log."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "Fashion-MNIST.npz").write_bytes(b"")
    (tmp_path / "train.py").write_text("import os\nos.makedirs('results', exist_ok=True)\n"
                                       "open('results/run.json', 'w').write('{}')\n")
    (tmp_path / "study.py").write_text(
        "import os\ndone = os.path.exists('results/q4/runs')\nos.makedirs('results/q4/runs', "
        "exist_ok=True)\nprint('0 runs to train' if done else '12 runs to train; 2 workers')\n"
        "print('study: 5 s wall')\n")
    (tmp_path / "tools" / "make_report.py").write_text("open('reports.txt', 'a').write('x')\n")
    monkeypatch.setattr(reproduce, "ROOT", str(tmp_path))
    monkeypatch.setattr(reproduce, "LOGS", str(tmp_path / "results" / "logs"))
    monkeypatch.setattr(reproduce, "NUMPY_RUNS", [("run", "results/run.json", ["train.py"])])
    monkeypatch.setattr(reproduce, "Q4_STUDY", ("results/q4", ["study.py"]))
    assert reproduce.main(["--no-pdf"]) == 0
    quoted = (tmp_path / "results" / "reproduce.log").read_text()
    assert "run: ok" in quoted and "total (wall)" in quoted
    study_log = (tmp_path / "results" / "q4" / "study.log").read_text()
    assert study_log.startswith("12 runs to train")
    assert (tmp_path / "reports.txt").read_text() == "xx"  # values, then the README row

    assert reproduce.main(["--no-pdf"]) == 0
    assert "run: record exists, reused" in (tmp_path / "results" / "reproduce.log").read_text()
    assert (tmp_path / "results" / "q4" / "study.log").read_text() == study_log
