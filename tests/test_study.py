"""The Q4 study: real hw1-q4.py runs on tiny data, and the summary of synthetic records."""
import glob
import json
import os
import re
import statistics

import pytest

from conftest import ROOT, run_cli, write_fashion
from test_entry_points import q4_record, study

LR = [flags for _, _, flags in study.CONFIGS[:3]]  # logistic regression, lr 0.001, 0.01, 0.1


def test_study_from_another_folder_seeds_each_run_and_resumes(tmp_path, monkeypatch, capsys):
    """Bugs: -output read relative to the project folder, where the runs start (all FAILED); one
    seed for every run; no estimate of the time left; a rerun retraining finished runs."""
    monkeypatch.setattr(study, "CONFIGS", study.CONFIGS[:1])
    monkeypatch.chdir(tmp_path)
    argv = ["-seeds", 42, 43, "-epochs", 1, "-data", write_fashion("tiny.npz"), "-output", "rel"]
    assert run_cli(study, argv) == 0
    assert re.match(r"2 runs to train.*2/2 runs done.* elapsed, about \d+ min left",
                    capsys.readouterr().out, re.S)
    records = {r["seed"]: r for r in (json.load(open(p)) for p in glob.glob("rel/runs/*.json"))}
    assert sorted(records) == [42, 43] and records[42]["epochs"] != records[43]["epochs"]
    assert os.path.isfile("rel/q4_1-accuracy.pdf") and not os.path.exists(f"{ROOT}/rel")
    assert run_cli(study, argv) == 0
    assert capsys.readouterr().out.startswith("0 runs to train, 2 already done")


def test_summary_counts_each_run_once_and_compares_two_folders(tmp_path):
    """Bugs: records found by file name, or of another run (L2 penalty, epochs, seed); another
    machine's copies summarised too (runs counted twice); RULE, compare_families wrong."""
    runs, other = tmp_path / "q4" / "runs", tmp_path / "q4" / "second" / "runs"
    devs = [[0.80, 0.81, 0.83], [0.70, 0.80, 0.82], [0.5] * 3]
    for folder, moved in ((runs, 0.80), (other, 0.95)):  # lr 0.01, seed 43: 0.80, or 0.95
        for flags, values in zip(LR, devs):
            for seed, dev in zip((42, 43, 44), values):
                q4_record(folder, flags, seed, moved if flags is LR[1] and seed == 43 else dev, 2)
    for flags, seed, epochs in ({**LR[0], "l2_decay": 0.1}, 42, 2), (LR[0], 45, 2), (LR[0], 42, 3):
        q4_record(runs, flags, seed, 0.9, epochs)  # runs the summary must leave out
    assert run_cli(study, ["-summary_only", "-epochs", 2, "-output", tmp_path / "q4"]) == 0
    rows = json.loads((tmp_path / "q4" / "summary.json").read_text())["configurations"]
    assert [(r["runs"], r["verdict"]) for r in rows] == [(3, "best"), (3, "tie"), (3, "below")]
    assert rows[0]["dev_acc"]["std"] == pytest.approx(statistics.stdev(devs[0]))
    moved = study.compare_families(str(runs), str(other), epochs=2)
    assert moved["change"][("q4_1", "learning_rate=0.01")] == pytest.approx(0.15)
    assert moved["same_pick"] == {"q4_1": False, "q4_2": True, "q4_3": True}
    q4_record(runs, LR[0], 43, 0.81, 2)  # two records of one run: say which
    with pytest.raises(study.utils.UserError, match="two records"):
        study.summarise(str(runs), epochs=2)


def test_the_best_has_the_highest_mean_validation_accuracy_and_touching_ranges_tie(tmp_path):
    """Bugs: the best chosen by test accuracy, or by its best run's validation accuracy; ranges
    that only touch called apart."""
    devs = [[0.84, 0.84, 0.84], [0.70, 0.80, 0.86], [0.80, 0.82, 0.84]]  # means .84, .787, .82
    for flags, values in zip(LR, devs):
        for seed, dev in zip((42, 43, 44), values):
            q4_record(tmp_path, flags, seed, dev, 2)
    for path in glob.glob(f"{tmp_path}/*.json"):  # the second has the highest test accuracy
        record = json.load(open(path))
        record["final"]["test_acc"] = 0.99 if (
            record["config"]["learning_rate"] == LR[1]["learning_rate"]) else 0.5
        json.dump(record, open(path, "w"))
    assert [row["verdict"] for row in study.summarise(str(tmp_path), epochs=2)] == [
        "best", "tie", "tie"]
