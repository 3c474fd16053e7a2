"""The reproduction driver and the submission archive. Each test names the bugs it catches."""
import filecmp
import os
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT, load_script
from test_entry_points import mini_project, run

make_submission = load_script("tools/make_submission.py")


def test_reproduce_fetches_and_logs_only_when_it_trains_and_shows_a_failed_stage(tmp_path):
    """Bugs: results/ written but through -output; a failed stage saying only "see its log";
    results/reproduce.log written when a stage failed, or not when all went well."""
    for record, command in load_script("tools/reproduce.py").NUMPY_RUNS:
        assert command[command.index("-output") + 1] == os.path.dirname(record)
    project, reproduce = tmp_path / "project", [tmp_path / "project/tools/reproduce.py", "--no-pdf"]
    mini_project(project)
    (project / "tools" / "study_q4.py").write_text(  # a study with nothing to train
        "CONFIGS, EPOCHS, find_records = [], 20, lambda *args: {}\nprint('0 runs to train')\n")
    (project / "results" / "q2" / "nn.json").unlink()  # hw1-q2.py must run, and fails
    (project / "hw1-q2.py").write_text("import sys\nsys.exit('error: the disk is on fire')\n")
    result = run(reproduce, tmp_path)
    assert result.returncode == 1 and "\n    error: the disk is on fire\n" in result.stdout
    assert (project / "marks").read_text() == "dr"  # the data, then make_report.py
    assert not (project / "results" / "reproduce.log").exists()
    (project / "hw1-q2.py").write_text("open('results/q2/nn.json', 'w').close()\n")
    assert run(reproduce, tmp_path).returncode == 0
    assert "total (wall)" in (project / "results" / "reproduce.log").read_text()


def test_archive_holds_what_make_report_reads(tmp_path, capsys):
    """Bugs: the report, the code, the data or make_report.py or a file its INPUTS name left out
    (the archive cannot run or recompute the PDF's numbers); the placeholder group line unsaid."""
    assert {"report/report.pdf", "hw1-q2.py", "hw1-q3.py", "hw1-q4.py", "utils.py", "ames.npz",
            "download_fashion_mnist.py", "tools/make_report.py"} <= set(make_submission.FILES)
    files = [p.replace("*", "x") for p in make_submission.FILES] + ["results/q2/a.json"]
    for path in files + ["tools/SUBMISSION_README.md"]:
        os.makedirs(tmp_path / os.path.dirname(path), exist_ok=True)
        (tmp_path / path).write_text("Student One (ist1xxxxx)")
    (tmp_path / "tools" / "make_report.py").write_text('INPUTS = ["results/*/*.json"]\n')
    make_submission.build(str(tmp_path / "s.zip"), str(tmp_path))
    assert sorted(zipfile.ZipFile(tmp_path / "s.zip").namelist()) == sorted(files + ["README.md"])
    assert "placeholder" in capsys.readouterr().err


def test_unzipped_archive_recomputes_every_value_of_the_report(tmp_path):
    """Bug: `python tools/make_report.py` in the unzipped archive did not write report/generated/
    again byte for byte (a file it reads left out, a path outside the archive)."""
    if "INPUTS" not in open(os.path.join(ROOT, "tools", "make_report.py")).read():
        pytest.skip("tools/make_report.py does not list its INPUTS yet")
    make_submission.build(str(tmp_path / "s.zip"))
    zipfile.ZipFile(tmp_path / "s.zip").extractall(tmp_path / "unzipped")
    generated = tmp_path / "unzipped" / "report" / "generated"
    names = os.listdir(f"{ROOT}/report/generated")
    for name in names:  # make_report.py must write them all again
        os.remove(generated / name)
    subprocess.run([sys.executable, "tools/make_report.py"], cwd=tmp_path / "unzipped",
                   check=True, timeout=300)
    assert filecmp.cmpfiles(generated, f"{ROOT}/report/generated", names, shallow=False)[0] == names
