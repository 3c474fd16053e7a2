"""Q4 tests on tiny synthetic data: the models, train_batch and one optimiser step against
autograd by hand, the epoch loop, records, the command line and the study runner."""
import json
import os
import re

import numpy as np
import pytest
import torch
import torch.nn as nn

from conftest import ROOT, load_script

q4 = load_script("hw1-q4.py")


def images(n, d=784, seed=0):
    """(n, d) float32 pixels in [0, 1) with an always-zero border, like Fashion-MNIST, and labels."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=gen)
    X[:, : d // 8] = 0
    return X, torch.randint(0, 10, (n,), generator=gen)


def config(**changes):
    return dict(dict(model="mlp", hidden_size=32, layers=1, activation="relu", dropout=0.3,
                     optimizer="sgd", learning_rate=0.01, l2_decay=0.0), **changes)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------
# Models

def test_layers_units_and_dropout_follow_the_flags():
    net = q4.FeedforwardNetwork(10, 784, 50, 3, "tanh", 0.4)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(50, 784), (50, 50), (50, 50), (10, 50)]
    assert [m.p for m in net.modules() if isinstance(m, nn.Dropout)] == [0.4] * 3
    assert sum(isinstance(m, nn.Tanh) for m in net.modules()) == 3
    assert not any(isinstance(m, nn.ReLU) for m in net.modules())
    logistic = q4.LogisticRegression(10, 784)
    assert [tuple(p.shape) for p in logistic.parameters()] == [(10, 784), (10,)]
    assert logistic(torch.zeros(3, 784)).shape == (3, 10)


@pytest.mark.parametrize("activation, fn", [("relu", torch.relu), ("tanh", torch.tanh)])
def test_eval_mode_is_the_plain_network_and_training_mode_drops_units(activation, fn):
    torch.manual_seed(0)
    net = q4.FeedforwardNetwork(10, 20, 64, 1, activation, 0.5)
    x = torch.rand(5, 20)
    W1, b1, W2, b2 = net.parameters()
    expected = fn(x @ W1.T + b1) @ W2.T + b2
    net.eval()
    with torch.no_grad():
        assert torch.allclose(net(x), expected, atol=1e-6)
        net.train()
        a, b = net(x), net(x)
    assert not torch.allclose(a, b)  # dropout draws a new mask each call
    accuracy, loss = q4.evaluate(net, x, expected.argmax(1))
    assert accuracy == 1.0  # evaluate switches dropout off ...
    assert loss == pytest.approx(nn.functional.cross_entropy(expected, expected.argmax(1)).item())
    assert net.training  # ... and back on


def test_predict_and_evaluate():
    model = q4.LogisticRegression(3, 2)
    with torch.no_grad():
        model.linear.weight.copy_(torch.tensor([[1.0, 0], [0, 1], [-1, -1]]))
        model.linear.bias.zero_()
    X = torch.tensor([[2.0, 0], [0, 2], [-1, -1], [1, 0]])
    assert q4.predict(model, X).tolist() == [0, 1, 2, 0]
    assert q4.evaluate(model, X, torch.tensor([0, 1, 2, 1]))[0] == 0.75


def test_dead_units_counts_units_that_are_zero_on_every_row():
    net = q4.FeedforwardNetwork(10, 2, 4, 2, "relu", 0.5)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        first, second = net.net[0], net.net[3]
        first.weight[0, 0] = 1.0   # unit 0 lights up on the first row only: alive
        first.weight[1, 1] = -1.0  # unit 1 lives on x1 < 0: dead on the data below
        first.bias[2] = 1.0        # unit 2 always on; unit 3 always 0
        second.weight[0, 2] = 1.0  # layer 2: unit 0 always on, unit 1 on the first row only
        second.weight[1, 0] = 1.0
    X = torch.tensor([[1.0, 0.0], [-2.0, 5.0]])
    assert q4.dead_units(net, X) == [2, 2]
    assert net.training


# ---------------------------------------------------------------------------------------------
# One optimiser step against autograd's gradient applied by hand

def parameters_after_one_step(model_config, X, y):
    torch.manual_seed(0)
    model = q4.make_model(dict(model_config, dropout=0.0))
    optimizer = q4.make_optimizer(model, model_config)
    q4.train_batch(X, y, model, optimizer, nn.CrossEntropyLoss())
    return [p.detach() for p in model.parameters()]


@pytest.mark.parametrize("model_config", [
    config(model="logistic_regression", learning_rate=0.1),
    config(learning_rate=0.05, l2_decay=0.01),
    config(layers=2, activation="tanh", learning_rate=0.05)])
def test_one_sgd_step_is_w_minus_lr_times_the_autograd_gradient(model_config):
    X, y = images(1, 784, seed=1)
    torch.manual_seed(0)
    model = q4.make_model(dict(model_config, dropout=0.0))
    params = list(model.parameters())
    loss = nn.functional.cross_entropy(model(X), y)
    grads = torch.autograd.grad(loss, params)
    lr, decay = model_config["learning_rate"], model_config["l2_decay"]
    expected = [p.detach() - lr * (g + decay * p.detach()) for p, g in zip(params, grads)]
    for got, want in zip(parameters_after_one_step(model_config, X, y), expected):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)


def test_one_adam_step_is_the_textbook_adam_update():
    X, y = images(1, 784, seed=2)
    model_config = config(optimizer="adam", learning_rate=0.01)
    torch.manual_seed(0)
    model = q4.make_model(dict(model_config, dropout=0.0))
    params = list(model.parameters())
    grads = torch.autograd.grad(nn.functional.cross_entropy(model(X), y), params)
    beta1, beta2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    expected = []
    for p, g in zip(params, grads):  # step 1: m = (1 - b1) g, v = (1 - b2) g^2, bias-corrected
        m_hat = (1 - beta1) * g / (1 - beta1)
        v_hat = (1 - beta2) * g * g / (1 - beta2)
        expected.append(p.detach() - lr * m_hat / (v_hat.sqrt() + eps))
    for got, want in zip(parameters_after_one_step(model_config, X, y), expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_train_batch_reduces_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    X, y = images(16, 30)
    model = q4.FeedforwardNetwork(10, 30, 32, 1, "relu", 0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = [q4.train_batch(X, y, model, optimizer, nn.CrossEntropyLoss()) for _ in range(60)]
    assert isinstance(losses[0], float)
    assert losses[-1] < 0.75 * losses[0]


# ---------------------------------------------------------------------------------------------
# The epoch loop

def test_an_epoch_visits_every_example_once_in_a_new_order_each_epoch():
    X, y = torch.arange(12.0).reshape(12, 1), torch.zeros(12, dtype=torch.long)
    seen = []
    model = q4.LogisticRegression(2, 1)
    model.register_forward_hook(lambda m, args, out: seen.extend(args[0][:, 0].tolist()))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    generator = torch.Generator().manual_seed(0)
    for _ in range(2):
        q4.train_epoch(model, optimizer, nn.CrossEntropyLoss(), X, y, 5, generator)
    first, second = seen[:12], seen[12:]
    assert sorted(first) == sorted(second) == list(range(12))
    assert first != second and first != list(range(12))


def test_a_non_finite_loss_raises_diverged_at_its_step(monkeypatch):
    calls = iter([0.5, 0.4, float("nan"), 0.3])
    monkeypatch.setattr(q4, "train_batch", lambda *args: next(calls))
    X, y = images(4, 10)
    with pytest.raises(q4.utils.Diverged) as exc:
        q4.train_epoch(q4.LogisticRegression(10, 10), None, None, X, y, 1,
                       torch.Generator().manual_seed(0))
    assert exc.value.step == 3


# ---------------------------------------------------------------------------------------------
# Command line, records and the study

def write_tiny_npz(path, n_train=40):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", n_train), ("dev", 12), ("test", 12)):
        arrays["X" + split] = rng.integers(0, 256, (n, 784)) / 256.0
        arrays["y" + split] = rng.integers(0, 10, n)
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize("argv", [
    ["cnn"], ["mlp", "-activation", "sigmoid"], ["mlp", "-optimizer", "rmsprop"],
    ["mlp", "-dropout", "1"], ["mlp", "-dropout", "-0.1"], ["mlp", "-epochs", "0"],
    ["mlp", "-learning_rate", "-1"], ["mlp", "-learning_rate", "0"],
    ["mlp", "-learning_rate", "inf"], ["mlp", "-learning_rate", "nan"],
    ["mlp", "-learning_rate", "1e300"], ["mlp", "-hidden_size", "big"],
    ["mlp", "-layers", "0"], ["mlp", "-batch_size", "0"], ["mlp", "-l2_decay", "-0.1"],
    ["mlp", "-l2_decay", "inf"], ["mlp", "-seed", "-1"],
])
def test_bad_flags_end_with_the_usage_line_before_any_work(argv, capsys, monkeypatch):
    monkeypatch.setattr(q4, "run_and_save", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(SystemExit) as exc:
        q4.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage:") and len(err.strip().splitlines()[-1]) < 200


def test_flags_defaults_and_the_course_spelling():
    opt = q4.build_parser().parse_args(["mlp"])
    assert (opt.epochs, opt.batch_size, opt.learning_rate, opt.l2_decay, opt.hidden_size,
            opt.layers, opt.dropout, opt.activation, opt.optimizer, opt.seed) == (
        20, 1, 0.01, 0.0, 200, 1, 0.3, "relu", "sgd", 42)
    assert q4.build_parser().parse_args(["mlp", "-hidden_sizes", "100"]).hidden_size == 100
    assert opt.output == os.path.join("runs", "q4")  # never the committed results/


def test_command_line_run_writes_its_record_and_figures(tmp_path, capsys):
    data = write_tiny_npz(tmp_path / "tiny.npz")
    out = tmp_path / "runs"
    assert q4.main(["mlp", "-epochs", "2", "-data", data, "-output", str(out),
                    "-hidden_size", "16"]) == 0
    key = "mlp-lr0.01-h16-l1-d0.3-relu-sgd-l20-bs1-e2-s42"
    record = json.load(open(out / f"{key}.json"))
    assert record["question"] == "q4" and record["status"] == "ok"
    assert record["config"]["hidden_size"] == 16 and record["seed"] == 42
    assert [e["epoch"] for e in record["epochs"]] == [1, 2]
    assert set(record["epochs"][0]) == {"epoch", "train_loss", "train_acc", "train_eval_loss",
                                        "dev_acc", "seconds"}
    final = record["final"]
    assert final["best_dev_acc"] == max(e["dev_acc"] for e in record["epochs"])
    assert 0 <= final["test_acc"] <= 1 and len(final["dead_units"]) == 1
    assert (out / f"{key}-loss.pdf").exists() and (out / f"{key}-accuracy.pdf").exists()
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"epoch 1/2 \| train_loss [\d.]+ \| train_acc [\d.]+ \| "
                        r"train_eval_loss [\d.]+ \| dev_acc [\d.]+ \| [\d.]+ s", lines[0])


def test_a_record_holds_only_the_flags_of_its_model(tmp_path):
    data = write_tiny_npz(tmp_path / "tiny.npz")
    q4.main(["logistic_regression", "-epochs", "1", "-data", data, "-output", str(tmp_path)])
    (path,) = tmp_path.glob("logistic_regression-*.json")
    config_ = json.load(open(path))["config"]
    assert set(config_) == {"model", "epochs", "batch_size", "learning_rate", "l2_decay",
                            "optimizer", "seed"}


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path):
    data = write_tiny_npz(tmp_path / "tiny.npz")
    runs = [q4.run(dict(config(hidden_size=16), epochs=2, batch_size=1, seed=seed), data,
                   verbose=False) for seed in (1, 1, 2)]
    curves = [[(e["train_loss"], e["dev_acc"]) for e in r["epochs"]] for r in runs]
    assert curves[0] == curves[1] and curves[0] != curves[2]


def test_divergence_stops_the_run_and_is_recorded(tmp_path, monkeypatch):
    data = write_tiny_npz(tmp_path / "tiny.npz")
    monkeypatch.setattr(q4, "train_batch", lambda *args: float("inf"))
    record = q4.run(dict(config(model="logistic_regression"), epochs=3, batch_size=1, seed=0),
                    data, verbose=False)
    assert record["status"] == "diverged" and record["epochs"] == []
    assert record["diverged_at"] == {"epoch": 1, "step": 1, "message": "non-finite training loss"}
    assert record["final"]["test_acc"] is None
    q4.utils.save_record(str(tmp_path / "r.json"), record)  # still valid JSON


def test_ctrl_c_ends_with_one_line_exit_130_and_writes_nothing(tmp_path, monkeypatch, capsys):
    data = write_tiny_npz(tmp_path / "tiny.npz")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(q4, "train_epoch", interrupted)
    with pytest.raises(SystemExit) as exc:
        q4.utils.run_main(lambda: q4.main(["mlp", "-data", data, "-output", str(tmp_path / "o")]))
    assert exc.value.code == 130
    assert capsys.readouterr().err == "interrupted; nothing written\n"
    assert not (tmp_path / "o").exists()


def test_the_script_uses_public_torch_api_only():
    source = open(os.path.join(ROOT, "hw1-q4.py")).read()
    assert not re.search(r"torch\._[a-z]|_execution_engine|\._foreach", source)


def test_study_runs_everything_writes_the_summary_and_skips_finished_runs(tmp_path, capsys):
    study = load_script("tools/study_q4.py")
    data = write_tiny_npz(tmp_path / "tiny.npz", n_train=24)
    out = str(tmp_path / "q4")
    runs = study.study_runs(epochs=1)
    assert len(runs) == 12 and len({q4.run_key(c) for _, _, c in runs}) == 12
    summary = study.run_study(data, out, epochs=1, workers=2)
    paths = [study.record_path(out, c) for _, _, c in runs]
    assert all(os.path.exists(p) for p in paths)
    with open(os.path.join(out, "summary.csv")) as f:
        lines = f.read().splitlines()
    assert len(lines) == 13 and lines[0].startswith("group,model,varied")
    assert lines[1].startswith("q4_1,logistic_regression,learning_rate=0.001,")
    assert [r["group"] for r in summary["rows"]].count("q4_2") == 7
    best = json.load(open(os.path.join(out, "best.json")))
    assert set(best) == {"q4_1", "q4_2", "q4_3"}
    for group, key in best.items():  # the best by final validation accuracy
        rows = [r for r in summary["rows"] if r["group"] == group]
        assert max(r["final_dev_acc"] for r in rows) == next(
            r["final_dev_acc"] for r in rows if r["key"] == key)
    tex = open(os.path.join(out, "summary.tex")).read()
    assert r"\toprule" in tex and tex.count(r"\\") == 13
    for group in ("q4_1", "q4_2", "q4_3"):
        assert os.path.exists(os.path.join(out, f"{group}-loss.pdf"))

    mtimes = [os.path.getmtime(p) for p in paths]
    capsys.readouterr()
    study.run_study(data, out, epochs=1, workers=2)
    assert "0 runs to train, 12 already done" in capsys.readouterr().out
    assert mtimes == [os.path.getmtime(p) for p in paths]
    os.remove(os.path.join(out, "summary.csv"))  # rebuilt from the records alone
    study.write_summary(out, epochs=1, figures=False)
    assert open(os.path.join(out, "summary.csv")).read().splitlines() == lines
