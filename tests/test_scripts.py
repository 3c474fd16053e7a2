"""The three scripts' command lines, each behaviour one table across them: what a run prints and
writes, its record and file name, divergence, bad flags, both dash spellings, an unwritable
output folder, a full disk, a missing data file or package, another working folder, the
committed records, Ctrl-C.

Each script runs in-process (utils.run_main, as its __main__ does) on tiny synthetic files,
except where a fresh process is the point (another working folder, Ctrl-C).
"""
import errno
import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

import pytest

import utils
from conftest import (EPOCH_LINE, FINAL_LINE, ROOT, SCRIPTS, data_for, metrics, run_cli, script,
                      write_fashion)

def test_a_seed_study_runs_each_seed_and_prints_their_medians(tmp_path, capsys):
    """hw1-q2.py nn -seeds 2: seeds 7 and 8, each seed's epochs printed with its seed, the
    medians on the final line, both figures. (Single runs: test_runs.py.)"""
    out, name = tmp_path / "out", "nn-epochs=2-hidden_size=8-seed=7-seeds=2"
    assert run_cli(script("q2"), ["nn", "-hidden_size", 8, "-seeds", 2, "-epochs", 2, "-seed", 7,
                                  "-data", data_for("q2", tmp_path), "-output", out]) == 0
    assert sorted(os.listdir(out)) == [f"{name}-test.pdf", f"{name}-train.pdf", f"{name}.json"]
    record = json.loads((out / f"{name}.json").read_text())
    assert [run["seed"] for run in record["runs"]] == [7, 8]
    rmses = [[row["train_rmse"] for row in run["epochs"]] for run in record["runs"]]
    assert rmses[0] != rmses[1]  # each seed its own start and order
    *lines, last = capsys.readouterr().out.splitlines()
    seeds = [EPOCH_LINE.fullmatch(line)[1] for line in lines]
    assert seeds == ["seed 7 | "] * 2 + ["seed 8 | "] * 2
    medians = {f"{k}_median": record["summary"][k]["median"] for k in ("train_rmse", "test_rmse")}
    assert metrics(FINAL_LINE.fullmatch(last)[1]) == {k: f"{v:.4f}" for k, v in medians.items()}


@pytest.mark.parametrize("question, model, patch", [
    ("q2", "linear_regression", "LinearRegression.update_weight"),
    ("q3", "logistic_regression", "LogisticRegression.update_weight"),
    ("q4", "logistic_regression", "train_batch")])
def test_a_diverged_run_stops_and_records_where(tmp_path, capsys, monkeypatch, question, model,
                                               patch):
    module = script(question)
    owner, _, name = patch.rpartition(".")
    monkeypatch.setattr(getattr(module, owner) if owner else module, name,
                        lambda *args, **kwargs: float("nan"))
    out = tmp_path / "out"
    assert run_cli(module, [model, "-epochs", 2, "-data", data_for(question, tmp_path),
                            "-output", out]) == 0
    (path,) = out.glob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "diverged" and record["epochs"] == []
    assert (record["diverged_at"]["epoch"], record["diverged_at"]["step"]) == (1, 1)
    assert record["final"].get("test_acc") is None and record["final"].get("train_rmse") is None
    printed = capsys.readouterr().out
    assert re.search(r"^diverged at epoch 1, (example|batch) 1: ", printed, re.M)
    assert "epoch 1/2" not in printed


# ---------------------------------------------------------------------------------------------
# Bad flags, -h and the default paths

BAD_FLAGS = [  # (question, arguments): the README's examples and one of each kind
    ("q2", ["svm"]), ("q2", ["nn", "-learning_rate", "inf"]),
    ("q2", ["nn", "-learning_rate", "nan"]), ("q2", ["nn", "-seeds", "0"]),
    ("q3", ["mlp", "-epochs", "0"]), ("q3", ["mlp", "-learning_rate", "fast"]),
    ("q3", ["mlp", "-hidden_size", "0"]),
    ("q4", ["mlp", "-dropout", "1"]), ("q4", ["mlp", "-l2_decay", "-0.1"]),
    ("q4", ["mlp", "-batch_size", "0"]), ("q4", ["mlp", "-optimizer", "rmsprop"])]


@pytest.mark.parametrize("question, argv", BAD_FLAGS,
                         ids=[f"{q}-{' '.join(a)}" for q, a in BAD_FLAGS])
def test_a_bad_flag_ends_with_the_usage_line_before_any_work(tmp_path, capsys, question, argv):
    with pytest.raises(SystemExit) as exit_:
        script(question).main([*argv, "-output", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == ""
    what = argv[-2] if len(argv) > 1 else "model"
    assert err.startswith("usage:") and f"error: argument {what}" in err.splitlines()[-1]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("question, model", [("q2", "nn"), ("q3", "mlp"), ("q4", "mlp")])
def test_every_flag_takes_two_dashes_too(question, model):
    """Catches a flag that only one spelling reaches (--epochs: "unrecognized arguments")."""
    parser = script(question).build_parser()
    flags = [a.option_strings[0].lstrip("-") for a in parser._actions
             if a.option_strings and a.dest not in ("help", "show")]
    values = {flag: "3" for flag in flags} | {"activation": "tanh", "optimizer": "adam",
                                              "data": "d.npz", "output": "o", "dropout": "0.5"}
    one = vars(parser.parse_args([model] + [x for f in flags for x in (f"-{f}", values[f])]))
    two = vars(parser.parse_args([model] + [x for f in flags for x in (f"--{f}", values[f])]))
    assert one == two and one["epochs"] == 3


# ---------------------------------------------------------------------------------------------
# Files: the output folder, a full disk, the data, the working folder

def files_under(folder):
    return sorted(os.path.join(d, f) for d, dirs, files in os.walk(folder) for f in dirs + files)


MODEL = {"q2": "linear_regression", "q3": "perceptron", "q4": "logistic_regression"}


@pytest.mark.parametrize("where", ["under_a_file", "a_file", "proc"])
@pytest.mark.parametrize("question", SCRIPTS)
def test_an_unwritable_output_folder_ends_before_any_epoch(tmp_path, capsys, question, where):
    data = data_for(question, tmp_path)
    (tmp_path / "file").write_text("")
    folder = {"under_a_file": tmp_path / "file" / "out", "a_file": tmp_path / "file",
              "proc": "/proc/x"}[where]  # /proc: refused even to root
    before = files_under(tmp_path)
    assert run_cli(script(question), [MODEL[question], "-data", data, "-output", folder]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"error: cannot write to the output folder {folder} (")
    assert len(err.splitlines()) == 1
    assert files_under(tmp_path) == before


class FullDisk(io.BufferedWriter):
    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("question", SCRIPTS)
def test_a_full_disk_while_saving_is_one_line_and_leaves_no_file(tmp_path, capsys, monkeypatch,
                                                                 question):
    monkeypatch.setattr(os, "fdopen", lambda fd, *args, **kwargs: FullDisk(io.FileIO(fd, "w")))
    out = tmp_path / "out"
    argv = [MODEL[question], "-epochs", 1, "-data", data_for(question, tmp_path), "-output", out]
    assert run_cli(script(question), argv) == 1
    printed, err = capsys.readouterr()
    assert err.startswith(f"error: no space left on device writing {out}{os.sep}")
    assert len(err.splitlines()) == 1 and "final" not in printed
    assert not out.exists()  # no record, no figure, no temporary file, no empty folder


@pytest.mark.parametrize("question", SCRIPTS)
def test_a_missing_data_file_is_named_by_its_absolute_path(tmp_path, capsys, monkeypatch,
                                                           question):
    monkeypatch.chdir(tmp_path)
    assert run_cli(script(question), [MODEL[question], "-data", "missing.npz",
                                      "-output", "out"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith(f"error: {tmp_path / 'missing.npz'} not found; fix: ")
    assert os.listdir(tmp_path) == []  # no empty output folder


def test_run_from_another_folder_the_script_finds_the_projects_data(tmp_path):
    """The course's ames.npz by default; -output relative to where the command runs. Its first
    epoch is the committed record's, exactly (numpy float64 repeats on any CPU)."""
    done = subprocess.run([sys.executable, os.path.join(ROOT, "hw1-q2.py"), "linear_regression",
                           "-epochs", "1", "-output", "out"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    path = os.path.join("out", "linear_regression-epochs=1.json")
    assert done.stdout.splitlines()[-1].endswith(f" s | {path}")
    ours = json.loads((tmp_path / path).read_text())
    with open(os.path.join(ROOT, "results", "q2", "linear_regression.json")) as f:
        committed = json.load(f)
    assert {**ours["epochs"][0], "seconds": 0} == {**committed["epochs"][0], "seconds": 0}
    for key in ("analytic_train_rmse", "analytic_test_rmse"):
        assert ours["final"][key] == pytest.approx(committed["final"][key], rel=1e-9), key


# The committed records are in step with the code: the first epoch of two runs, rerun now, is
# the record's. Accuracies must agree exactly: the perceptron's (numpy float64, exact on every
# CPU) and Q4 logistic regression's at lr 0.001 (identical across the two CPU families measured).
# Float losses are compared to rel 1e-6: Q4's float32 kernels round differently per CPU family
# (measured across families: about 2e-10 relative), while a changed model or data moves them by
# far more than 1e-6.
@pytest.mark.skipif(not os.path.exists(utils.FASHION_PATH), reason="Fashion-MNIST.npz not built")
@pytest.mark.parametrize("question, args, record", [
    ("q3", ["perceptron"], "q3/perceptron.json"),
    ("q4", ["logistic_regression", "-learning_rate", 0.001],
     "q4/runs/logistic_regression-learning_rate=0.001.json")])
def test_the_committed_records_first_epoch_repeats(tmp_path, monkeypatch, question, args,
                                                   record):
    monkeypatch.setattr(utils, "plot", lambda *args, **kwargs: None)
    assert run_cli(script(question), args + ["-epochs", 1, "-output", tmp_path]) == 0
    (ours,) = [json.loads(p.read_text())["epochs"][0] for p in tmp_path.glob("*.json")]
    with open(os.path.join(ROOT, "results", record)) as f:
        committed = json.load(f)["epochs"][0]
    assert ours.keys() == committed.keys()
    for key in ours.keys() - {"seconds"}:
        if key.endswith("_acc") or key == "epoch":
            assert ours[key] == committed[key], key  # exact on every CPU
        else:
            assert ours[key] == pytest.approx(committed[key], rel=1e-6), key  # see above


@pytest.mark.parametrize("question, package", [("q2", "matplotlib"), ("q3", "tqdm"),
                                               ("q4", "matplotlib")])
def test_a_missing_package_is_one_line_before_the_data_loads(tmp_path, question, package):
    """A Python without the package (simulated: sys.modules[package] = None); the data file is
    missing too, so a check after the data's would name the data instead."""
    shim = (f"import os, runpy, sys; sys.modules[{package!r}] = None; sys.argv = sys.argv[1:]; "
            "sys.path[0] = os.path.dirname(sys.argv[0]); "
            "runpy.run_path(sys.argv[0], run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", shim, os.path.join(ROOT, SCRIPTS[question]),
                           MODEL[question], "-data", "missing.npz", "-output", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"error: {package} is not installed; fix: pip install")
    assert len(done.stderr.splitlines()) == 1 and os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Ctrl-C: one line, exit status 130, no record

def start_q4(tmp_path):
    """hw1-q4.py training for 10,000 epochs on a tiny file; SIGINT back to its default in the
    child (a shell running the tests in the background ignores it)."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "hw1-q4.py"), "logistic_regression", "-epochs",
         "10000", "-data", write_fashion(tmp_path / "f.npz"), "-output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return proc, out


def interrupt(proc):
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=60)
    finally:
        proc.kill()


def test_ctrl_c_while_torch_loads_is_one_line_and_exit_130(tmp_path):
    torch_folder = os.path.dirname(pytest.importorskip("torch").__file__)
    if not os.path.exists("/proc/self/maps"):
        pytest.skip("no /proc to see torch load")
    proc, out = start_q4(tmp_path)
    # Interrupted as soon as torch's first library is mapped: its import lasts seconds more.
    for _ in range(6000):
        if proc.poll() is not None:
            break  # it ended: the assertions below say how
        try:
            with open(f"/proc/{proc.pid}/maps") as f:
                if torch_folder in f.read():
                    break
        except OSError:
            break  # it ended: the assertions below say how
        time.sleep(0.005)
    stdout, stderr = interrupt(proc)
    assert (proc.returncode, stderr, stdout) == (130, "interrupted; nothing written\n", "")
    assert not out.exists()  # main had not started


def test_ctrl_c_while_training_is_one_line_exit_130_and_no_record(tmp_path):
    pytest.importorskip("torch")
    proc, out = start_q4(tmp_path)
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    first = proc.stdout.readline() if ready else ""
    assert EPOCH_LINE.fullmatch(first.rstrip("\n")), (first, proc.poll())
    _, stderr = interrupt(proc)
    assert (proc.returncode, stderr) == (130, "interrupted; nothing written\n")
    assert not out.exists()  # no record, no figure, no empty folder
