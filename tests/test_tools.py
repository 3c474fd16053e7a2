"""The tools: the Q4 study (names, spread, verdicts, a tiny end-to-end run), the report
generator, the submission archive and the reproduction driver."""
import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from conftest import ROOT, load_script

HAVE_TORCH = importlib.util.find_spec("torch") is not None
make_report = load_script("tools/make_report.py")
make_submission = load_script("tools/make_submission.py")
reproduce = load_script("tools/reproduce.py")
study = load_script("tools/study_q4.py")


def tiny_fashion(path, seed=0):
    """A Fashion-MNIST-shaped .npz with 30 / 10 / 10 examples."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", 30), ("dev", 10), ("test", 10)):
        arrays["X" + split] = rng.random((n, 784)) * (rng.random((n, 784)) < 0.5)
        arrays["y" + split] = rng.integers(0, 10, n)
    np.savez(path, **arrays)
    return str(path)


# ---------------------------------------------------------------------------------------------
# The Q4 study.

def fake_record(dev, test, epochs=3):
    rows = [{"epoch": e + 1, "train_loss": 1.0 / (e + 1), "train_acc": dev + 0.01,
             "train_eval_loss": 0.5, "dev_acc": dev} for e in range(epochs)]
    return {"epochs": rows, "seconds": 1.0, "status": "ok", "config": {},
            "final": {"dev_acc": dev, "test_acc": test, "train_acc": dev + 0.01,
                      "train_loss": 1.0 / epochs}}


def test_study_spread_best_by_mean_and_ties_by_overlapping_ranges(tmp_path, monkeypatch):
    """Three configurations x three seeds: the highest mean wins, an overlapping range ties,
    a disjoint one is below; the table marks them and the figures are drawn."""
    configs = [("q4_1", f"learning_rate={lr}", {"model": "logistic_regression",
                                                "learning_rate": lr})
               for lr in (0.001, 0.01, 0.1)]
    monkeypatch.setattr(study, "CONFIGS", configs)
    devs = {0.001: [0.80, 0.82, 0.84], 0.01: [0.83, 0.85, 0.87], 0.1: [0.50, 0.60, 0.70]}
    parser = study.q4_parser()
    for _, _, flags in configs:
        for seed, dev in zip((42, 43, 44), devs[flags["learning_rate"]]):
            path = study.record_path({**flags, "epochs": 3}, seed, str(tmp_path), parser)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                json.dump(fake_record(dev, dev - 0.01), f)
    rows = study.write_summary((42, 43, 44), 3, str(tmp_path))
    verdicts = {row["varied"]: row["verdict"] for row in rows}
    assert verdicts == {"learning_rate=0.01": "best", "learning_rate=0.001": "tie",
                        "learning_rate=0.1": "below"}
    best = rows[1]
    assert best["dev_acc"]["mean"] == pytest.approx(0.85)
    assert best["dev_acc"]["std"] == pytest.approx(0.02)
    assert (best["dev_acc"]["min"], best["dev_acc"]["max"]) == (0.83, 0.87)
    table = (tmp_path / "summary.tex").read_text()
    assert r"\textbf{learning\_rate=0.01}" in table and r"learning\_rate=0.001 (tie)" in table
    assert "0.8500 $\\pm$ 0.0200 (0.8300--0.8700)" in table
    assert json.loads((tmp_path / "summary.json").read_text())[1]["verdict"] == "best"
    assert (tmp_path / "q4_1-accuracy.pdf").stat().st_size > 0


def test_study_runs_each_configuration_and_seed_as_a_command_and_resumes(tmp_path, monkeypatch):
    """Two configurations x two seeds of one epoch on a tiny file: every run's record lands
    where the study looks for it (the script's run_name), and a second study trains nothing."""
    torch = pytest.importorskip("torch")  # noqa: F841 (the runs need it)
    monkeypatch.setattr(study, "CONFIGS", [
        ("q4_1", "learning_rate=0.001", {"model": "logistic_regression", "learning_rate": 0.001}),
        ("q4_3", "layers=2", {"model": "mlp", "layers": 2, "hidden_size": 8})])
    data = tiny_fashion(tmp_path / "tiny.npz")
    output = str(tmp_path / "study")
    study.run_study((42, 43), 1, 2, output, data)
    names = sorted(os.listdir(os.path.join(output, "runs")))
    assert [n for n in names if n.endswith(".json")] == [
        "logistic_regression-epochs=1-learning_rate=0.001-seed=43.json",
        "logistic_regression-epochs=1-learning_rate=0.001.json",
        "mlp-epochs=1-hidden_size=8-layers=2-seed=43.json",
        "mlp-epochs=1-hidden_size=8-layers=2.json"]
    record = json.loads(open(os.path.join(output, "runs", names[-1])).read())
    assert record["config"]["layers"] == 2 and record["seed"] == 42
    rows = study.summarise((42, 43), 1, output)
    assert [len(row["seeds"]) for row in rows] == [2, 2]
    mtimes = {n: os.stat(os.path.join(output, "runs", n)).st_mtime_ns for n in names}
    study.run_study((42, 43), 1, 2, output, data)  # resumes: nothing left to train
    assert {n: os.stat(os.path.join(output, "runs", n)).st_mtime_ns for n in names} == mtimes


def test_study_configurations_are_the_assignments():
    """Q4.1 three learning rates; Q4.2 the defaults and each hyperparameter alone; Q4.3 depth."""
    parser = study.q4_parser()
    defaults = {k: parser.get_default(k) for k in ("learning_rate", "hidden_size", "dropout",
                                                   "activation", "optimizer", "layers")}
    assert defaults == {"learning_rate": 0.01, "hidden_size": 200, "dropout": 0.3,
                        "activation": "relu", "optimizer": "sgd", "layers": 1}
    varied = [(group, sorted(set(flags) - {"model"})) for group, _, flags in study.CONFIGS]
    assert varied.count(("q4_1", ["learning_rate"])) == 3
    assert ("q4_2", []) in varied and varied.count(("q4_3", ["layers"])) == 2
    assert len({study.utils.run_name(flags, parser) for _, _, flags in study.CONFIGS}) == 12


# ---------------------------------------------------------------------------------------------
# The report and the README.

def test_generated_report_files_match_the_committed_records():
    """Rebuild values.tex, q4_table.tex and the README's results block from results/ alone."""
    stale = [os.path.relpath(path, ROOT) for path, text in make_report.outputs().items()
             if not os.path.exists(path) or open(path).read() != text]
    assert stale == [], f"stale generated files (run python tools/make_report.py): {stale}"


def report_sources():
    text = ""
    for folder, _, files in os.walk(os.path.join(ROOT, "report")):
        text += "".join(re.sub(r"(?<!\\)%.*", "", open(os.path.join(folder, name)).read())
                        for name in files if name.endswith(".tex") and "generated" not in folder
                        and name != "_preview.tex")
    return text


def test_every_value_the_report_quotes_is_generated():
    defined = set(re.findall(r"\\@namedef\{val@([^}]*)\}", open(
        os.path.join(ROOT, "report", "generated", "values.tex")).read()))
    quoted = set(re.findall(r"\\val\{([^}]*)\}", report_sources()))
    assert quoted, "the report quotes no generated value"
    assert quoted <= defined, f"quoted but never generated: {sorted(quoted - defined)}"


def test_every_figure_the_report_includes_exists():
    """\\twofigs{a}{b}... and \\includegraphics{c} name files under results/ (graphicspath)."""
    text = report_sources()
    paths = {p for pair in re.findall(r"\\twofigs\{([^}]*)\}\{([^}]*)\}", text) for p in pair}
    paths |= set(re.findall(r"\\includegraphics(?:\[[^]]*\])?\{([^}#]*)\}", text))
    assert len(paths) >= 10, paths
    missing = sorted(p for p in paths if not os.path.isfile(os.path.join(ROOT, "results", p)))
    assert missing == [], f"figures the report includes but results/ lacks: {missing}"


def test_readme_quotes_wall_times_only_from_finished_logs(tmp_path, monkeypatch):
    monkeypatch.setattr(make_report, "RESULTS", str(tmp_path))
    (tmp_path / "q4").mkdir()
    study_log, log = tmp_path / "q4" / "study-seeds=43-44.log", tmp_path / "reproduce.log"
    study_log.write_text("24 runs to train, 0 already done; 2 workers\n")  # still running
    log.write_text("tools/reproduce.py --seeds 42: 0 run records in results/ at the start\n"
                   "[    0.0 s] q4 study: started\n")
    assert make_report.timing_rows() == []
    study_log.write_text("24 runs to train, 0 already done; 2 workers\nstudy: 3600 s wall\n")
    log.write_text("tools/reproduce.py --seeds 42: 0 run records in results/ at the start\n"
                   "stage                          seconds  status\n"
                   "q4 study                          30.0  ok\n"
                   "total (wall)                     600.0\n")
    rows = make_report.timing_rows()
    assert [row[2] for row in rows] == [
        "60.0 min", "10.0 min, every run trained, from an empty `results/`"]
    assert "seeds 43, 44: 24 runs on 2 workers" in rows[0][0]
    assert "`tools/reproduce.py --seeds 42`" in rows[1][0]
    log.write_text("tools/reproduce.py : 37 run records in results/ at the start\n"
                   "[    1.0 s] q2 nn: record exists, reused\n"
                   "            q4 study: 0 runs to train, 36 already done; 2 workers\n"
                   "total (wall)                      60.0\n")
    assert make_report.timing_rows()[1][2] == "1.0 min, reusing 37 run records"


# ---------------------------------------------------------------------------------------------
# The submission archive.

ARCHIVE = ["report.pdf", "README.md", "hw1-q2.py", "hw1-q3.py", "hw1-q4.py", "utils.py",
           "download_fashion_mnist.py", "ames.npz", "requirements.txt", "environment.yml"]
# Files that the archive's code writes, so a README may name them without shipping them.
WRITTEN = {"Fashion-MNIST.npz"}
FILE = r"[\w./=-]+\.(?:py|npz|txt|yml|pdf|md|json)"


def test_the_archive_names_only_what_it_holds():
    """Every file the archive's README names is in the archive (or written by its code); the
    environment installs only what the archive's code imports (no pytest: no tests inside);
    the report names files of the project's repository only through \\repo."""
    readme = open(os.path.join(ROOT, make_submission.CONTENTS["README.md"])).read()
    named = set(re.findall(r"`(?:python )?(" + FILE + r")", readme))
    assert named - set(ARCHIVE) - WRITTEN == set()
    assert sorted(make_submission.CONTENTS) == sorted(ARCHIVE)
    for name in ("requirements.txt", "environment.yml"):
        assert "pytest" not in re.sub(r"#.*", "", open(os.path.join(ROOT, name)).read())
    outside = [m for m in re.findall(r"\\texttt\{([^}]*)\}", report_sources())
               if re.fullmatch(r"[\w/.=-]+", m.replace("\\_", "_"))
               and "/" in m and not m.startswith(("runs/",))]
    assert outside == [], f"report names repository paths outside \\repo: {outside}"
    in_repository = [p.replace("\\_", "_") for p in re.findall(r"\\repo\{([^}]*)\}", report_sources())]
    assert in_repository and all(os.path.exists(os.path.join(ROOT, p)) for p in in_repository), \
        [p for p in in_repository if not os.path.exists(os.path.join(ROOT, p))]


def test_submission_archive_runs_where_it_is_unzipped(tmp_path):
    """Unzipped anywhere, the quick start runs there and writes there."""
    if not os.path.exists(os.path.join(ROOT, "report", "report.pdf")):
        pytest.skip("report/report.pdf not built")
    path = make_submission.build(str(tmp_path / "submission.zip"))
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted(ARCHIVE)
        assert archive.read("report.pdf")[:5] == b"%PDF-"
        archive.extractall(tmp_path / "unzipped")
    folder = tmp_path / "unzipped"
    tiny_fashion(folder / "Fashion-MNIST.npz")  # what the downloader would have written
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    runs = [("hw1-q2.py", "linear_regression", "q2"), ("hw1-q3.py", "perceptron", "q3")]
    runs += [("hw1-q4.py", "logistic_regression", "q4")] if HAVE_TORCH else []
    for script, model, question in runs:
        out = subprocess.run([sys.executable, str(folder / script), model, "-epochs", "1"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert (folder / "runs" / question / f"{model}-epochs=1.json").is_file()


# ---------------------------------------------------------------------------------------------
# The reproduction driver.

def test_reproduction_plan_names_real_scripts_and_writes_results():
    for name, record, command in reproduce.NUMPY_RUNS:
        assert os.path.isfile(os.path.join(ROOT, command[0])), name
        assert record.startswith("results/") and record.endswith(".json")
        assert command[command.index("-output") + 1] == os.path.dirname(record), name
    assert reproduce.Q4_OUTPUT == "results/q4"


def test_reproduction_keeps_its_stage_table_and_the_log_of_a_study_that_trained(
        tmp_path, monkeypatch):
    """reproduce.main with stand-in scripts: the first run trains and keeps the study's log;
    a second run reuses the records and keeps the first study log."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "Fashion-MNIST.npz").write_bytes(b"")
    (tmp_path / "train.py").write_text("import os\nos.makedirs('results', exist_ok=True)\n"
                                       "open('results/run.json', 'w').write('{}')\n")
    (tmp_path / "tools" / "study_q4.py").write_text(
        "import os, sys\nassert sys.argv[sys.argv.index('-seeds') + 1] == '42'\n"
        "done = os.path.exists('results/q4/runs')\nos.makedirs('results/q4/runs', "
        "exist_ok=True)\nprint('0 runs to train' if done else '12 runs to train; 2 workers')\n"
        "print('study: 5 s wall')\n")
    (tmp_path / "tools" / "make_report.py").write_text("open('reports.txt', 'a').write('x')\n")
    monkeypatch.setattr(reproduce, "ROOT", str(tmp_path))
    monkeypatch.setattr(reproduce, "LOGS", str(tmp_path / "results" / "logs"))
    monkeypatch.setattr(reproduce, "NUMPY_RUNS", [("run", "results/run.json", ["train.py"])])
    assert reproduce.main(["--no-pdf", "--seeds", "42"]) == 0
    quoted = (tmp_path / "results" / "reproduce.log").read_text()
    assert "run: ok" in quoted and "total (wall)" in quoted
    assert quoted.startswith("tools/reproduce.py --no-pdf --seeds 42: 0 run records")
    study_log = (tmp_path / "results" / "q4" / "study-seeds=42.log").read_text()
    assert study_log.startswith("12 runs to train")
    assert (tmp_path / "reports.txt").read_text() == "xx"  # values, then the README row

    assert reproduce.main(["--no-pdf", "--seeds", "42"]) == 0
    assert "run: record exists, reused" in (tmp_path / "results" / "reproduce.log").read_text()
    assert "1 run records in results/ at the start" in (
        tmp_path / "results" / "reproduce.log").read_text()
    assert (tmp_path / "results" / "q4" / "study-seeds=42.log").read_text() == study_log
