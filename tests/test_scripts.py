"""The three scripts' command lines, each behaviour one table across them: a seed study,
divergence, bad flags, both dash spellings, file problems, another working folder, the committed
records, a missing package, Ctrl-C. In-process (utils.run_main, as __main__ does) on tiny files,
except where a fresh process is the point."""
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
    """Catches a NaN run that goes on, or a record that does not say where it stopped."""
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


@pytest.mark.parametrize("question, argv", [  # the README's examples and one of each kind
    ("q2", "svm"), ("q2", "nn -learning_rate inf"), ("q2", "nn -learning_rate nan"),
    ("q2", "nn -seeds 0"), ("q3", "mlp -epochs 0"), ("q3", "mlp -learning_rate fast"),
    ("q3", "mlp -hidden_size 0"), ("q4", "mlp -dropout 1"), ("q4", "mlp -l2_decay -0.1"),
    ("q4", "mlp -batch_size 0"), ("q4", "mlp -optimizer rmsprop")])
def test_a_bad_flag_ends_with_the_usage_line_before_any_work(tmp_path, capsys, question, argv):
    """Catches a flag's value accepted (a run that fails later) or a traceback instead of usage."""
    argv = argv.split()
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


def files_under(folder):
    return sorted(os.path.join(d, f) for d, dirs, files in os.walk(folder) for f in dirs + files)


MODEL = {"q2": "linear_regression", "q3": "perceptron", "q4": "logistic_regression"}


class FullDisk(io.BufferedWriter):
    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("case", ["output_under_a_file", "output_a_file", "output_in_proc",
                                  "full_disk", "missing_data"])
@pytest.mark.parametrize("question", SCRIPTS)
def test_a_file_problem_is_one_line_and_leaves_no_file(tmp_path, capsys, monkeypatch, question,
                                                      case):
    """Catches a traceback, a half-written record, figure or temporary file, an empty output
    folder, an epoch before an unwritable -output, a -data path not made absolute."""
    monkeypatch.chdir(tmp_path)
    data = "missing.npz" if case == "missing_data" else data_for(question, tmp_path)
    (tmp_path / "file").write_text("")
    out = {"output_under_a_file": tmp_path / "file" / "out", "output_a_file": tmp_path / "file",
           "output_in_proc": "/proc/x"}.get(case, tmp_path / "out")  # /proc: even root can't
    if case == "full_disk":
        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: FullDisk(io.FileIO(fd, "w")))
    before = files_under(tmp_path)
    argv = [MODEL[question], "-epochs", 1, "-data", data, "-output", out]
    assert run_cli(script(question), argv) == 1
    printed, err = capsys.readouterr()
    assert err.startswith({"full_disk": f"error: no space left on device writing {out}{os.sep}",
                           "missing_data": f"error: {tmp_path / data} not found; fix: "}.get(
                               case, f"error: cannot write to the output folder {out} ("))
    assert len(err.splitlines()) == 1 and "final" not in printed
    assert printed == "" or case == "full_disk"
    assert files_under(tmp_path) == before


def test_run_from_another_folder_the_script_finds_the_projects_data(tmp_path):
    """The course's ames.npz by default; -output relative to where the command runs. Its first
    epoch is the committed record's, exactly (numpy float64 repeats on any CPU)."""
    done = subprocess.run([sys.executable, os.path.join(ROOT, "hw1-q2.py"), "linear_regression",
                           "-epochs", "1", "-output", "out"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    path = os.path.join("out", "linear_regression-epochs=1.json")
    assert done.stdout.splitlines()[-1].endswith(f" s | {path}")
    check_first_epoch(tmp_path / path, "q2/linear_regression.json", rel=1e-9)


def check_first_epoch(path, record, rel):
    """The run's first epoch is the committed record's: accuracies exactly, the rest to `rel`."""
    ours, committed = (json.loads(open(p).read())["epochs"][0]
                       for p in (path, os.path.join(ROOT, "results", record)))
    assert ours.keys() == committed.keys()
    for key in ours.keys() - {"seconds"}:
        exact = key.endswith("_acc") or key == "epoch"
        assert ours[key] == (committed[key] if exact else pytest.approx(committed[key], rel=rel))


# Catches committed results out of step with the code. Q4's float32 losses round differently
# per CPU family (about 2e-10 relative, measured): rel 1e-6; its accuracies at lr 0.001 agree.
@pytest.mark.skipif(not os.path.exists(utils.FASHION_PATH), reason="Fashion-MNIST.npz not built")
@pytest.mark.parametrize("question, args, record", [
    ("q3", ["perceptron"], "q3/perceptron.json"),
    ("q4", ["logistic_regression", "-learning_rate", 0.001],
     "q4/runs/logistic_regression-learning_rate=0.001.json")])
def test_the_committed_records_first_epoch_repeats(tmp_path, monkeypatch, question, args,
                                                   record):
    monkeypatch.setattr(utils, "plot", lambda *args, **kwargs: None)
    assert run_cli(script(question), args + ["-epochs", 1, "-output", tmp_path]) == 0
    (path,) = tmp_path.glob("*.json")
    check_first_epoch(path, record, rel=1e-6)


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


@pytest.mark.parametrize("when", ["torch_loads", "training"])
def test_ctrl_c_is_one_line_exit_130_and_no_record(tmp_path, when):
    """hw1-q4.py for 10,000 epochs on a tiny file, interrupted as soon as torch's first library
    is mapped (its import lasts seconds more) or after the first epoch. SIGINT back to its
    default in the child (a shell running the tests in the background ignores it)."""
    torch_folder = os.path.dirname(pytest.importorskip("torch").__file__)
    if when == "torch_loads" and not os.path.exists("/proc/self/maps"):
        pytest.skip("no /proc to see torch load")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "hw1-q4.py"), "logistic_regression", "-epochs",
         "10000", "-data", write_fashion(tmp_path / "f.npz"), "-output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for _ in range(6000 if when == "torch_loads" else 0):
        try:
            with open(f"/proc/{proc.pid}/maps") as f:
                if proc.poll() is not None or torch_folder in f.read():
                    break
        except OSError:
            break  # it ended: the assertions below say how
        time.sleep(0.005)
    if when == "training":
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        first = proc.stdout.readline() if ready else ""
        assert EPOCH_LINE.fullmatch(first.rstrip("\n")), (first, proc.poll())
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert (proc.returncode, stderr) == (130, "interrupted; nothing written\n")
    assert stdout == "" or when == "training"
    assert not out.exists()  # no record, no figure, no empty folder
