"""Q2 and Q3 runs through main on tiny files, each against the course skeleton's own flow run
here, call by call: its constructors (positional), a fresh permutation of the training set per
epoch from the numpy RNG seeded once per run, train_epoch(X, y, learning_rate=...), evaluate on
each split; Q2's solve_analytically, distance and model.w. Every model of a script's MODELS
table is run, so a new model is covered by adding it there. Also: the record and its name, a
seed study, a diverged run, and the committed records' first epochs and names."""
import glob
import json
import os
import statistics

import numpy as np
import pytest

import utils
from conftest import NUMPY_MODELS, ROOT, data_for, parse, run, script

FLAGS = ["-epochs", 3, "-seed", 7, "-learning_rate", 0.02, "-hidden_size", 7]  # none a default


def course_run(question, opt):
    """The skeleton's main on opt's flags and data: (metrics per epoch, final metrics, model)."""
    q2, q3, name = script("q2"), script("q3"), opt.model
    utils.configure_seed(opt.seed)
    if question == "q2":  # the network reads the features alone, as the skeleton's add_bias
        data = utils.load_regression_data(bias=name != "nn", path=opt.data)
    else:
        data = utils.load_classification_data(bias=name != "mlp", path=opt.data)
    (X, y), *evaluation = data.values()  # train, then (dev and) test
    n_classes, n_feats = np.unique(y).size, X.shape[1]
    model = {"linear_regression": lambda: q2.LinearRegression(n_feats),
             "nn": lambda: q2.NeuralRegression(n_feats, opt.hidden_size),
             "perceptron": lambda: q3.Perceptron(n_classes, n_feats),
             "logistic_regression": lambda: q3.LogisticRegression(n_classes, n_feats),
             "mlp": lambda: q3.MLP(n_classes, n_feats, opt.hidden_size, 1),
             }.get(name, lambda: script(question).MODELS[name][1](opt, n_feats))()
    w_ls = q2.solve_analytically(X, y) if name == "linear_regression" else None
    rows = []
    for _ in range(opt.epochs):
        order = np.random.permutation(len(y))
        loss = model.train_epoch(X[order], y[order], learning_rate=opt.learning_rate)
        if question == "q2":
            rows.append({"train_rmse": model.evaluate(X, y),
                         "test_rmse": model.evaluate(*evaluation[0])})
            if w_ls is not None:
                rows[-1]["distance"] = q2.distance(w_ls, model.w)
        else:
            rows.append({"train_loss": loss, "train_acc": model.evaluate(X, y),
                         "dev_acc": model.evaluate(*evaluation[0])})
    (test_X, test_y), final = evaluation[-1], dict(rows[-1])
    if question == "q3":
        predicted = model.predict(test_X)
        final.update(test_acc=model.evaluate(test_X, test_y), test_confusion=[
            [int(np.sum((test_y == g) & (predicted == p))) for p in range(10)] for g in range(10)])
    elif w_ls is not None:
        final.update({f"analytic_{split}_rmse": np.sqrt(np.mean((X_ @ w_ls - y_) ** 2))
                      for split, (X_, y_) in (("train", (X, y)), ("test", (test_X, test_y)))})
    elif question == "q2":  # the network: units off for every training row, those on for a test row
        h_train, h_test = (np.maximum(A @ model.W1.T + model.b1, 0) for A in (X, test_X))
        dead = (h_train == 0).all(axis=0)
        final["dead_units"] = [int(dead.sum()), int((dead & (h_test > 0).any(axis=0)).sum())]
    return rows, final, model


def check_run(question, seed_run, opt):
    """A run of main (one seed's) repeats the course's flow, epoch by epoch, and its final."""
    rows, final, model = course_run(question, opt)
    assert [row["epoch"] for row in seed_run["epochs"]] == list(range(1, opt.epochs + 1))
    assert [{k: v for k, v in row.items() if k not in ("epoch", "seconds")}
            for row in seed_run["epochs"]] == pytest.approx(rows, rel=1e-9)
    assert seed_run["final"] == pytest.approx(final, rel=1e-9)
    assert (seed_run["status"], seed_run["diverged_at"]) == ("ok", None)
    return final, model


def watch_models(monkeypatch, module):
    """The models main builds through the script's MODELS table, as a list it fills."""
    built = []
    for name, (flags, build) in list(module.MODELS.items()):
        monkeypatch.setitem(module.MODELS, name, (flags, lambda opt, n_features, build=build: (
            built.append(build(opt, n_features)) or built[-1])))
    return built


@pytest.mark.parametrize("question, name", NUMPY_MODELS)
def test_main_repeats_the_course_flow(tmp_path, monkeypatch, question, name):
    """Catches no shuffle, one order for every epoch, labels out of step, composed orders, a
    metric on the wrong split, the wrong number of epochs, a flag (-learning_rate,
    -hidden_size, -seed) not reaching the model, the network given the ones column."""
    argv, built = [name, *FLAGS, "-data", data_for(question, tmp_path)], watch_models(
        monkeypatch, script(question))
    record, opt = run(question, argv, tmp_path / "out"), parse(question, argv)
    final, model = check_run(question, record, opt)
    (trained,) = built  # one model, its final weights the course flow's
    for key, value in vars(model).items():
        np.testing.assert_array_equal(vars(trained)[key], value, err_msg=key)
    if name == "nn":  # the features alone, as the skeleton: no ones column
        assert trained.W1.shape == (7, 348)
    if name == "linear_regression":
        assert trained.w.shape == (349,)
    if question == "q3":  # the tiny splits tell train, dev and test apart
        assert len({final["train_acc"], final["dev_acc"], final["test_acc"]}) == 3
    flags = script(question).MODELS[name][0] + (["learning_rate"] if question == "q2" else [])
    config = {"model": name, "epochs": 3, "seed": 7, "data": question,
              **{flag: vars(opt)[flag] for flag in flags}}
    assert record.keys() == {"question", "config", "seed", "epochs", "final", "seconds",
                             "status", "diverged_at", "versions", "machine", "name"}
    assert record["config"] == config and (record["question"], record["seed"]) == (question, 7)
    assert record["name"] == "-".join(
        [name] + [f"{k}={v}" for k, v in sorted(config.items()) if k != "model"])
    assert sorted(os.listdir(tmp_path / "out")) == sorted(
        [record["name"] + ".json"] + [f"{record['name']}-{suffix}.pdf" for suffix in {
            "linear_regression": ["rmse", "distance"], "nn": ["rmse"]}.get(
                name, ["accuracy", "loss"])])


def test_a_seed_study_seeds_each_run_as_a_single_run(tmp_path):
    """Catches a study seeded once (seed 8's run would start where seed 7's ended), a summary
    that is not the spread of the seeds' final RMSEs."""
    argv = ["nn", *FLAGS, "-seeds", 2, "-data", data_for("q2", tmp_path)]
    record = run("q2", argv, tmp_path / "out")
    assert record["name"] == "nn-data=q2-epochs=3-hidden_size=7-learning_rate=0.02-seed=7-seeds=2"
    assert record["seeds"] == [seed_run["seed"] for seed_run in record["runs"]] == [7, 8]
    for seed, seed_run in zip((7, 8), record["runs"]):
        check_run("q2", seed_run, parse("q2", argv[:-4] + ["-seed", seed] + argv[-2:]))
    assert record["runs"][0]["epochs"][0]["train_rmse"] != record["runs"][1]["epochs"][0][
        "train_rmse"]
    for split in ("train_rmse", "test_rmse"):
        values = [seed_run["final"][split] for seed_run in record["runs"]]
        assert record["summary"][split] == pytest.approx({
            "mean": statistics.mean(values), "std": statistics.stdev(values),
            "min": min(values), "max": max(values), "median": statistics.median(values)})
    assert (record["summary"]["n_seeds"], record["summary"]["n_ok"]) == (2, 2)


@pytest.mark.parametrize("question, argv, nan_from", [
    ("q2", ["nn", "-learning_rate", 10, "-epochs", 6], None),  # overflows in epoch 4
    ("q2", ["nn", "-learning_rate", 10, "-epochs", 6, "-seeds", 2], None),
    ("q3", ["logistic_regression", "-epochs", 2], "LogisticRegression.update_weight"),
    ("q4", ["logistic_regression", "-epochs", 2], "train_batch")])
def test_a_diverged_run_is_recorded_as_diverged(tmp_path, monkeypatch, question, argv, nan_from):
    """Catches a run that goes on after NaN, a NaN or inf in the JSON (run() refuses it), a
    record that says "ok", final metrics of a diverged model, an exit status other than 0."""
    if nan_from:
        owner, _, name = nan_from.rpartition(".")
        module = script(question)
        monkeypatch.setattr(getattr(module, owner) if owner else module, name,
                            lambda *args, **kwargs: float("nan"))
    record = run(question, [*argv, "-data", data_for(question, tmp_path)], tmp_path / "out")
    for seed_run in record.get("runs", [record]):
        assert seed_run["status"] == "diverged" and seed_run["final"] == {}
        assert len(seed_run["epochs"]) == seed_run["diverged_at"]["epoch"] - 1
    if "runs" in record:
        assert record["summary"] == {"n_seeds": 2, "n_ok": 0, "train_rmse": None,
                                     "test_rmse": None}


def read(path):
    with open(path) as f:
        return json.load(f)


FASHION = pytest.mark.skipif(not os.path.exists(utils.FASHION_PATH),
                             reason="Fashion-MNIST.npz not built")


@pytest.mark.parametrize("question, argv, committed", [
    ("q2", ["linear_regression"], "q2/linear_regression.json"),
    ("q2", ["nn"], "q2/nn.json"),
    ("q2", ["nn", "-seeds", 2], "q2/nn-seeds=10.json"),
    pytest.param("q3", ["perceptron"], "q3/perceptron.json", marks=FASHION),
    pytest.param("q4", ["logistic_regression", "-learning_rate", 0.001],
                 "q4/runs/logistic_regression-learning_rate=0.001.json", marks=FASHION)])
def test_the_committed_records_first_epoch_repeats(tmp_path, monkeypatch, question, argv,
                                                   committed):
    """Catches committed records out of step with the code (Q3 and Q4 only with the data)."""
    monkeypatch.setattr(utils, "plot", lambda *args, **kwargs: None)
    ours, theirs = (record.get("runs", [record]) for record in (
        run(question, [*argv, "-epochs", 1], tmp_path / "out"),
        read(os.path.join(ROOT, "results", committed))))
    for mine, reference in zip(ours, theirs):  # -seeds 2: the study's first two seeds
        mine, reference = mine["epochs"][0], reference["epochs"][0]
        assert mine.keys() == reference.keys()
        for key in mine.keys() - {"seconds", "epoch"}:
            # Accuracies exactly. Losses: numpy's float64 repeats on any CPU (rel 1e-9); Q4's
            # float32 rounds differently across CPU families (about 2e-10 relative, measured).
            rel = 0 if key.endswith("_acc") else 1e-6 if question == "q4" else 1e-9
            assert mine[key] == pytest.approx(reference[key], rel=rel, abs=0), key


@pytest.mark.parametrize("question", ["q2", "q3", "q4"])
def test_the_committed_records_keep_their_names(question):
    """A run with the committed record's flags gets the committed name (so the defaults are
    the flags those records were run with); catches a default changed or a name format."""
    parser = script(question).build_parser()
    paths = glob.glob(os.path.join(ROOT, "results", question, "**", "*.json"), recursive=True)
    named = [(os.path.basename(path)[:-len(".json")], utils.run_name(record["config"], parser))
             for path, record in ((path, read(path)) for path in paths) if "config" in record]
    assert named and all(stem == name for stem, name in named), named
