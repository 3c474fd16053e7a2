"""Each step of a run of each model, on tiny synthetic files, by watching main() work: the model
it builds, what each epoch trains on, what it reports. A new model gets every check by one line
in RUNS. Bugs caught (each assertion names its own): splits mixed, labels out of step; the same
(or no) order every epoch; too few or many epochs; a flag not reaching the model or the step; a
metric computed on the wrong split or before the last update."""
import json
import os

import numpy as np
import pytest

import utils
from conftest import EPOCH_LINE, FINAL_LINE, data_for, metrics, run_cli, script

# (question, model, flags besides -epochs/-seed/-data/-output (flags that do not apply to the
# model are given too: they must change nothing), {attribute: expected shape}, the flags in its
# record, its figures). The classes main builds are found by name in the script (`CLASSES`).
Q4_FLAGS = "batch_size epochs l2_decay learning_rate optimizer seed"
RUNS = [
    ("q2", "linear_regression", ["-learning_rate", 0.003, "-hidden_size", 8], {"w": (349,)},
     "epochs learning_rate seed", "distance rmse"),
    ("q2", "nn", ["-hidden_size", 6, "-learning_rate", 0.003], {"W1": (6, 349), "w2": (6,)},
     "epochs hidden_size learning_rate seed", "rmse"),
    ("q3", "perceptron", ["-learning_rate", 0.5], {"W": (10, 785)}, "epochs seed",
     "accuracy loss"),
    ("q3", "logistic_regression", ["-learning_rate", 0.05, "-hidden_size", 9], {"W": (10, 785)},
     "epochs learning_rate seed", "accuracy loss"),
    ("q3", "mlp", ["-hidden_size", 7, "-learning_rate", 0.05],
     {"W1": (7, 784), "b1": (7,), "W2": (10, 7), "b2": (10,)},
     "epochs hidden_size learning_rate seed", "accuracy loss"),
    ("q4", "logistic_regression", ["-learning_rate", 0.05, "-batch_size", 5, "-dropout", 0.5],
     {}, Q4_FLAGS, "accuracy loss"),
    ("q4", "mlp", ["-hidden_size", 7, "-layers", 2, "-learning_rate", 0.05, "-batch_size", 5,
                   "-dropout", 0.2, "-threads", 2], {},
     Q4_FLAGS + " activation dropout hidden_size layers", "accuracy loss"),
]
IDS = [f"{q}-{m}" for q, m, *_ in RUNS]
CLASSES = {"q2": ["LinearRegression", "NeuralRegression"],
           "q3": ["Perceptron", "LogisticRegression", "MLP"],
           "q4": ["LogisticRegression", "FeedforwardNetwork"]}
EPOCHS = 3


def flag(argv, name, default=None):
    return argv[argv.index(name) + 1] if name in argv else default


def key(rows, columns):
    """Each row's first `columns` values as float64 bytes: which example it is."""
    return [np.asarray(r[:columns], dtype=np.float64).tobytes() for r in np.asarray(rows)]


def watch(monkeypatch, question, figures=False):
    """Patch the script so that a run keeps its models and, per epoch, the examples it trained
    on in the order it saw them: {"models": [...], "epochs": [[(x, y), ...], ...], "lr": [...]}."""
    module = script(question)
    seen = {k: [] for k in ("models", "epochs", "lr", "batch", "threads")}
    if not figures:  # slow: only where they are the point
        monkeypatch.setattr(utils, "plot", lambda *args, **kwargs: None)
    for name in CLASSES[question]:
        original = getattr(module, name)

        class Watched(original):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                seen["models"].append(self)
            if question != "q4":
                def train_epoch(self, X, y, *args, **kwargs):
                    seen["epochs"].append(list(zip(np.array(X), np.array(y))))
                    seen["lr"].append(args[0] if args else kwargs.get("learning_rate"))
                    return super().train_epoch(X, y, *args, **kwargs)
        Watched.__name__ = original.__name__
        monkeypatch.setattr(module, name, Watched)
        for k, v in list(getattr(module, "MODELS", {}).items()):
            if v is original:
                monkeypatch.setitem(module.MODELS, k, Watched)
    if question == "q4":
        train_epoch, train_batch = module.train_epoch, module.train_batch

        def epoch(model, optimizer, criterion, X, y, batch_size, generator):
            assert isinstance(criterion, module.nn.CrossEntropyLoss)  # the loss the task sets
            assert model is seen["models"][0] and optimizer.param_groups[0]["params"] == list(
                model.parameters())  # the optimiser steps the model it trains
            seen["epochs"].append([])
            seen["batch"].append([])
            seen["lr"].append(optimizer.param_groups[0]["lr"])
            return train_epoch(model, optimizer, criterion, X, y, batch_size, generator)

        def batch(X, y, *args):
            seen["epochs"][-1] += list(zip(X.numpy().copy(), y.numpy().copy()))
            seen["batch"][-1].append(len(y))
            return train_batch(X, y, *args)
        monkeypatch.setattr(module, "train_epoch", epoch)
        monkeypatch.setattr(module, "train_batch", batch)
        monkeypatch.setattr(module.torch, "set_num_threads", seen["threads"].append)
    return module, seen


def run(tmp_path, monkeypatch, question, model, argv, seed=7, folder="out", figures=False):
    module, seen = watch(monkeypatch, question, figures)
    data = data_for(question, tmp_path)
    out = tmp_path / folder
    assert run_cli(module, [model, *argv, "-epochs", EPOCHS, "-seed", seed, "-data", data,
                            "-output", out]) == 0
    (path,) = out.glob("*.json")
    with np.load(data) as arrays:
        splits = dict(arrays)
    return module, seen, {**json.loads(path.read_text()), "path": str(path)}, splits


def accuracy(question, module, model, X, y):
    """The model's accuracy (Q3, Q4) or RMSE (Q2) on X, y computed here, not by the script."""
    if question == "q4":
        torch = module.torch
        model.eval()
        with torch.no_grad():
            scores = model(torch.tensor(X, dtype=torch.float32))
        return float((scores.argmax(1).numpy() == y).mean())
    first = getattr(model, "W", getattr(model, "W1", getattr(model, "w", None)))
    if np.shape(first)[-1] > X.shape[1]:  # the model reads the bias as a last feature of ones
        X = np.hstack([X, np.ones((len(X), 1))])
    if question == "q2":
        return float(np.sqrt(np.mean((model.predict(X) - y.ravel()) ** 2)))
    return float((model.predict(X) == y).mean())


@pytest.mark.parametrize("question, model, argv, shapes, flags, figures", RUNS, ids=IDS)
def test_each_step_of_a_run(tmp_path, capsys, monkeypatch, question, model, argv, shapes, flags,
                            figures):
    module, seen, record, data = run(tmp_path, monkeypatch, question, model, argv, figures=True)
    # What it writes: the record named by the model and every flag that differs from its
    # default and applies to it (alphabetically), and its figures; what it prints: one line
    # per epoch with the epoch's metrics as recorded, then the final line.
    config = record["config"]
    assert sorted(config) == sorted(flags.split() + ["model"]) and config["seed"] == 7
    name = "-".join([model] + [f"{k}={config[k]:g}" for k in sorted(config)
                               if k in {"epochs", "seed"} or f"-{k}" in argv])
    assert record["path"].endswith(os.sep + name + ".json")
    assert sorted(os.listdir(tmp_path / "out")) == sorted(
        [name + ".json"] + [f"{name}-{f}.pdf" for f in figures.split()])
    *lines, last = capsys.readouterr().out.splitlines()
    assert len(lines) == EPOCHS
    for line, row in zip(lines, record["epochs"]):
        match = EPOCH_LINE.fullmatch(line)
        assert match and (int(match[2]), int(match[3])) == (row["epoch"], EPOCHS), line
        assert metrics(match[4]) == {k: f"{v:.4f}" for k, v in row.items()
                                     if k not in ("epoch", "seconds")}
    match = FINAL_LINE.fullmatch(last)
    assert match and match[2] == record["path"], last
    assert metrics(match[1]) == {k: f"{v:.4f}" for k, v in record["final"].items()
                                 if isinstance(v, float)}
    X, y = data["Xtrain"], data["ytrain"].ravel()
    (built,) = seen["models"]  # one model, built once (not once per epoch)
    # Flags reach the model: its parameters' shapes follow -hidden_size (and -layers).
    for name, shape in shapes.items():
        assert np.shape(getattr(built, name)) == shape, name
    if question == "q4":
        layers = int(flag(argv, "-layers", 0))
        linears = [m for m in built.modules() if isinstance(m, module.nn.Linear)]
        assert len(linears) == layers + 1
        assert all(m.out_features == int(flag(argv, "-hidden_size")) for m in linears[:-1])
        drops = [m.p for m in built.modules() if isinstance(m, module.nn.Dropout)]
        assert drops == [float(flag(argv, "-dropout", 0))] * layers
        assert seen["threads"] == [int(flag(argv, "-threads", 1))]  # -threads
        size, n = int(flag(argv, "-batch_size")), len(data["ytrain"])  # -batch_size
        assert seen["batch"] == [[size] * (n // size) + [n % size] * (n % size > 0)] * EPOCHS
        # float32 results depend on the CPU family: the record names the machine.
        assert {"cpu", "cpu_capability"} <= record["machine"].keys() and record["machine"]["cpu"]
    # Exactly -epochs epochs, each recorded.
    assert len(seen["epochs"]) == EPOCHS
    assert [row["epoch"] for row in record["epochs"]] == list(range(1, EPOCHS + 1))
    # The learning rate of the flag reaches every epoch (the perceptron has none).
    expected_lr = None if model == "perceptron" else float(flag(argv, "-learning_rate"))
    assert seen["lr"] == [expected_lr] * EPOCHS
    # Each epoch trains on the training set, every example once with its own label, in a
    # fresh order: not the file's order, not the previous epoch's.
    index = {k: i for i, k in enumerate(key(X, X.shape[1]))}
    orders = []
    for examples in seen["epochs"]:
        rows = key([x for x, _ in examples], X.shape[1])
        assert all(r in index for r in rows), "an example from outside the training set"
        order = [index[r] for r in rows]
        assert sorted(order) == list(range(len(y))), "not every training example once"
        assert np.array_equal([label for _, label in examples], y[order]), "labels out of step"
        orders.append(order)
    assert orders[0] != list(range(len(y))), "the file's order: not shuffled"
    assert all(a != b for a, b in zip(orders, orders[1:])), "the same order in two epochs"
    # What it reports is the final model measured on the right split.
    last, final = record["epochs"][-1], record["final"]
    if question == "q2":
        assert last["train_rmse"] == pytest.approx(accuracy(question, module, built, X, y))
        test = accuracy(question, module, built, data["Xtest"], data["ytest"])
        assert last["test_rmse"] == pytest.approx(test) and final["test_rmse"] == last["test_rmse"]
        if model == "linear_regression":  # the least-squares solution of the training set
            Xb = np.hstack([X, np.ones((len(X), 1))])
            w = np.linalg.lstsq(Xb, y, rcond=None)[0]
            assert final["distance"] == pytest.approx(np.linalg.norm(built.w - w), rel=1e-6)
            Xt = np.hstack([data["Xtest"], np.ones((len(data["Xtest"]), 1))])
            rmse = np.sqrt(np.mean((Xt @ w - data["ytest"].ravel()) ** 2))
            assert final["analytic_test_rmse"] == pytest.approx(rmse, rel=1e-6)
        return
    accs = {split: accuracy(question, module, built, data["X" + split], data["y" + split])
            for split in ("train", "dev", "test")}
    assert len({accs["dev"], accs["test"]}) == 2, accs  # the data can tell the splits apart
    assert last["train_acc"] == pytest.approx(accs["train"]), "train_acc not on the train set"
    assert last["dev_acc"] == pytest.approx(accs["dev"]), "dev_acc not on the dev set"
    assert final["test_acc"] == pytest.approx(accs["test"]), "test_acc not on the test set"


@pytest.mark.parametrize("question, model, argv", [r[:3] for r in RUNS], ids=IDS)
def test_the_seed_fixes_the_start_and_the_order(tmp_path, monkeypatch, question, model, argv):
    """-seed: the same seed gives the same first model and the same orders; another seed
    another order (and, for the networks, other initial weights)."""
    runs = []
    for i, seed in enumerate((3, 3, 4)):
        _, seen, record, _ = run(tmp_path, monkeypatch, question, model, argv, seed, str(i))
        monkeypatch.undo()
        rows = [{k: v for k, v in row.items() if k != "seconds"} for row in record["epochs"]]
        runs.append(([np.array([x for x, _ in epoch]) for epoch in seen["epochs"]], rows))
    assert all(np.array_equal(a, b) for a, b in zip(runs[0][0], runs[1][0]))
    assert runs[0][1] == runs[1][1] and not np.array_equal(runs[0][0][0], runs[2][0][0])
