"""The Q4 study (tools/study_q4.py) and the report generator (tools/make_report.py), on
synthetic records (no Fashion-MNIST). Each test names the bug it catches."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, load_script

pytest.importorskip("torch")  # the study reads hw1-q4.py's defaults from its parser
study = load_script("tools/study_q4.py")
make_report = load_script("tools/make_report.py")
LR = [("q4_1", f"learning_rate={lr}", {"model": "logistic_regression", "learning_rate": lr})
      for lr in (0.001, 0.01, 0.1)]


def config(learning_rate, epochs=2, **other):
    """A logistic-regression record's config as hw1-q4.py writes it."""
    return {"model": "logistic_regression", "epochs": epochs, "batch_size": 1, "l2_decay": 0.0,
            "learning_rate": learning_rate, "optimizer": "sgd", **other}


def write(folder, name, cfg, seed, dev, test=None, first=None):
    """A record under an arbitrary file name: the study must read its config, not its name.
    Validation accuracy `dev` at every epoch (`first` at the first, if given)."""
    epochs = [{"epoch": e + 1, "train_loss": 1.0 / (e + 1), "train_acc": dev, "train_eval_loss":
               0.5, "dev_acc": first if e == 0 and first is not None else dev}
              for e in range(cfg["epochs"])]
    record = {"config": {**cfg, "seed": seed}, "seed": seed, "epochs": epochs, "seconds": 1.0,
              "status": "ok", "final": {"dev_acc": dev, "test_acc": dev if test is None else test,
                                        "train_acc": dev, "train_loss": 0.5}}
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w") as f:
        json.dump(record, f)


def test_records_are_matched_to_configurations_by_their_config(tmp_path, monkeypatch):
    """Bugs: records found by recomputing file names from hw1-q4.py's parser (a renamed or
    differently named record is missed); a record of another configuration taken because its
    varied flag matches (an L2 penalty, other epochs, another seed not asked for)."""
    monkeypatch.setattr(study, "CONFIGS", LR[:1])
    runs = str(tmp_path / "runs")
    for n, seed in enumerate((42, 43)):
        write(runs, f"run{n}.json", config(0.001), seed, 0.8 + n / 100)
    write(runs, "plant-l2.json", config(0.001, l2_decay=0.1), 42, 0.1)
    write(runs, "plant-epochs.json", config(0.001, epochs=3), 43, 0.1)
    write(runs, "plant-seed.json", config(0.001), 44, 0.1)
    (tmp_path / "runs" / "notes.txt").write_text("not a record")
    rows = study.summarise([runs], (42, 43), 2)
    assert [(row["varied"], row["runs"]) for row in rows] == [("learning_rate=0.001", 2)]
    assert rows[0]["dev_acc"]["min"] == 0.8 and rows[0]["dev_acc"]["max"] == 0.81
    write(runs, "copy.json", config(0.001), 42, 0.8)  # two records of one run: say which
    with pytest.raises(study.utils.UserError, match="two records"):
        study.summarise([runs], (42, 43), 2)


def test_verdicts_follow_the_rule_over_all_runs_and_each_family_alone(tmp_path, monkeypatch):
    """Bugs: verdicts from one family only (one CPU's records decide a tie); a tie called where
    the six-run ranges do not overlap, or "below" where they do; per-family verdicts missing, so
    a verdict that differs between the families goes unsaid; the largest same-seed change or
    "identical" across families wrong; Table 1 naming configurations by their flags."""
    monkeypatch.setattr(study, "CONFIGS", LR)
    devs = {  # (family 1, family 2) per learning rate, seeds 42, 43, 44
        0.001: ([0.80, 0.81, 0.82], [0.80, 0.81, 0.83]),   # best on both
        0.01: ([0.70, 0.72, 0.74], [0.78, 0.79, 0.805]),  # below on 1, a tie on 2 and overall
        0.1: ([0.50, 0.50, 0.50], [0.50, 0.50, 0.50])}    # identical on both, below
    folders = [str(tmp_path / "a" / "runs"), str(tmp_path / "b" / "runs")]
    for lr, per_family in devs.items():
        for folder, values in zip(folders, per_family):
            for seed, dev in zip((42, 43, 44), values):
                write(folder, f"{lr}-{seed}.json", config(lr), seed, dev)
    rows = study.write_summary(folders, (42, 43, 44), 2, str(tmp_path))
    verdicts = {row["varied"]: (row["verdict"], [f["verdict"] for f in row["families"]])
                for row in rows}
    assert verdicts == {"learning_rate=0.001": ("best", ["best", "best"]),
                        "learning_rate=0.01": ("tie", ["below", "tie"]),
                        "learning_rate=0.1": ("below", ["below", "below"])}
    assert [row["runs"] for row in rows] == [6, 6, 6]
    assert rows[0]["dev_acc"]["mean"] == pytest.approx(4.87 / 6)
    assert rows[0]["change"] == {"dev_acc": 0.01, "test_acc": 0.01}
    assert [row["identical"] for row in rows] == [False, False, True]
    table = (tmp_path / "summary.tex").read_text()
    assert r"\textbf{learning rate 0.001} & 6 &" in table and "learning rate 0.01 (tie)" in table
    assert "learning_rate" not in table and "learning\\_rate" not in table
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rule"] == study.RULE
    assert summary["configurations"][1]["families"][1]["verdict"] == "tie"
    for moved in ({"first": 0.4}, {"test": 0.49}):  # an epoch's validation, the test accuracy
        write(folders[1], "0.1-44.json", config(0.1), 44, 0.5, **moved)
        row = study.summarise(folders, (42, 43, 44), 2)[2]
        assert not row["identical"] and row["change"]["dev_acc"] == 0.0


def test_summary_only_without_records_fails_in_one_line(tmp_path):
    """Bug: `-summary_only` with no records said "wrote summary.json" with exit 0 and wrote
    empty files."""
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "study_q4.py"),
                             "--summary_only", "-output", str(tmp_path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1 and result.stdout == "", result.stderr
    assert result.stderr.count("\n") == 1 and "no Q4 record" in result.stderr
    assert os.listdir(tmp_path) == []


def test_study_prints_progress_at_least_once_a_minute_and_resumes(tmp_path, monkeypatch,
                                                                  capsys):
    """Bugs: a study that printed nothing between two finished runs (31 minutes in a row);
    no estimate of what is left; a second study retraining runs whose record exists."""
    monkeypatch.setattr(study, "CONFIGS", LR[:2])
    fake = ("import json, os, sys; a = sys.argv; out = a[a.index('-output') + 1]; "
            "os.makedirs(out, exist_ok=True); f = open(out + '/r%d', 'w'); json.dump({'config': "
            "%r, 'seed': %d, 'epochs': [], 'final': {'dev_acc': 0.5, 'test_acc': 0.5}}, f); "
            "f.close(); os.replace(f.name, f.name + '.json')")  # whole, as hw1-q4.py saves
    monkeypatch.setattr(study, "command", lambda flags, seed, output, data: [
        sys.executable, "-c", fake % (hash((flags["learning_rate"], seed)) % 10**6,
                                      {**config(flags["learning_rate"]), "seed": seed}, seed),
        "-output", os.path.join(output, "runs")])
    timeouts, wait = [], study.futures.wait
    monkeypatch.setattr(study.futures, "wait", lambda jobs, timeout=None, **kw: (
        timeouts.append(timeout), wait(jobs, timeout=timeout, **kw))[1])
    study.run_study((42, 43), 2, 2, str(tmp_path), "unused.npz")
    out = capsys.readouterr().out
    assert timeouts and all(t is not None and t <= 60 for t in timeouts)
    assert out.startswith("4 runs to train, 0 already done; 2 workers")
    assert re.search(r"4/4 runs done, [\d.]+ min elapsed, about \d+ min left", out)
    study.run_study((42, 43), 2, 2, str(tmp_path), "unused.npz")
    assert capsys.readouterr().out.startswith("0 runs to train, 4 already done")


def test_generated_report_files_match_the_committed_records():
    """Bug: values.tex, q4_table.tex or the README's generated blocks (results, CPU families)
    out of step with the records in results/ (what `make_report.py --check` reports)."""
    stale = [os.path.relpath(path, ROOT) for path, text in make_report.outputs().items()
             if not os.path.exists(path) or open(path).read() != text]
    assert stale == [], f"stale generated files (run python tools/make_report.py): {stale}"


def test_every_value_the_report_quotes_is_generated():
    """Bug: a \\val{key} the report quotes that make_report.py no longer writes (a renamed key
    prints as nothing, or breaks the build)."""
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


def test_readme_quotes_wall_times_only_from_finished_logs(tmp_path, monkeypatch):
    """Bugs: a wall time quoted from a study or a reproduction still running (no "study: N s
    wall" / "total (wall)" line yet); a reproduction that reused records called "every run
    trained"."""
    monkeypatch.setattr(make_report, "RESULTS", str(tmp_path))
    (tmp_path / "q4").mkdir()
    study_log, log = tmp_path / "q4" / "study-seeds=43-44.log", tmp_path / "reproduce.log"
    study_log.write_text("24 runs to train, 0 already done; 2 workers\n")
    log.write_text("tools/reproduce.py --seeds 42: 0 run records in results/ at the start\n")
    assert make_report.timing_rows() == []
    study_log.write_text("24 runs to train, 0 already done; 2 workers\nstudy: 3600 s wall\n")
    log.write_text("tools/reproduce.py --seeds 42: 0 run records in results/ at the start\n"
                   "total (wall)                     600.0\n")
    rows = make_report.timing_rows()
    assert [row[2] for row in rows] == [
        "60.0 min", "10.0 min, every run trained, from an empty `results/`"]
    log.write_text("tools/reproduce.py : 37 run records in results/ at the start\n"
                   "[    1.0 s] q2 nn: record exists, reused\n"
                   "            q4 study: 0 runs to train, 36 already done; 2 workers\n"
                   "total (wall)                      60.0\n")
    assert make_report.timing_rows()[1][2] == "1.0 min, reusing 37 run records"


def test_every_figure_the_report_includes_exists():
    """Bug: the PDF names a figure (\\twofigs, \\includegraphics) missing from results/."""
    report = os.path.join(ROOT, "report")
    main = open(os.path.join(report, "report.tex")).read()
    roots = re.findall(r"\{([^{}]*)\}", re.search(r"\\graphicspath\{(.*)\}", main).group(1))
    tex = [os.path.join(report, "report.tex")] + [os.path.join(report, "sections", f) for f in
                                                  os.listdir(os.path.join(report, "sections"))]
    paths = [p for f in tex for m in re.findall(r"\\(?:twofigs|includegraphics)(?:\[[^]]*\])?"
                                                r"((?:\{[^{}]*\})+)", open(f).read())
             for p in re.findall(r"\{([^{}#]*\.pdf|[^{}#]*\.png)\}", m)]
    assert paths and all(any(os.path.exists(os.path.join(report, r, p)) for r in roots)
                         for p in paths), paths
