"""Tests for hw1-q3.py: perceptron, logistic regression and MLP, on small synthetic data.

Every gradient is checked against finite differences (tests/gradcheck.py) and PyTorch autograd
(float64), one SGD step against the same step in PyTorch, and the script end to end on a tiny
Fashion-MNIST-shaped file.
"""
import json
import math
import os
import warnings

import numpy as np
import pytest

import utils
from conftest import load_script
from gradcheck import numerical_gradient

q3 = load_script("hw1-q3.py")


# ---------------------------------------------------------------------------------------------
# Helpers

def synthetic(n, d, n_classes, seed, zeros=0.5):
    """X (n, d) in [0, 1) with a fraction `zeros` of exact zeros (like pixels), y (n,)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, d)) * (rng.random((n, d)) >= zeros)
    return X, rng.integers(0, n_classes, size=n)


def params(model):
    """The model's parameter arrays themselves (not copies), in a fixed order."""
    if isinstance(model, q3.MLP):
        return model.weights + model.biases
    return [model.W]


def small_models():
    """(name, model, x, y): logistic regression and MLPs of 1 and 2 hidden layers."""
    X, y = synthetic(3, 7, 4, seed=1)
    linear = q3.LogisticRegression(4, 7)
    linear.W = np.random.default_rng(2).normal(0, 0.5, size=(4, 7))
    np.random.seed(0)
    models = [("logistic_regression", linear, X[0], y[0]),
              ("mlp", q3.MLP(4, 7, 6, layers=1), X[1], y[1]),
              ("mlp-L2", q3.MLP(4, 7, 5, layers=2), X[2], y[2])]
    rng = np.random.default_rng(3)
    for _, model, x, _ in models[1:]:
        # The course's start makes every hidden unit active; centred weights and biases switch
        # some off, so that relu's derivative is tested where it is 0 as well as 1.
        for W, b in zip(model.weights, model.biases):
            W[...], b[...] = rng.normal(0, 0.5, W.shape), rng.normal(0, 0.1, b.shape)
        _, cache = model.forward(x)
        hidden = np.concatenate([z for _, z in cache[:-1]])
        assert (hidden > 0).any() and (hidden < 0).any()
    return models


MODELS = ["logistic_regression", "mlp", "mlp-L2"]


def model_loss(model, x, y):
    """The model's loss on one example, through its batch path (scores), not update_weight."""
    return q3.cross_entropy(model.scores(x[None])[0], y)[0]


def step_gradients(model, x, y):
    """The gradients one update_weight applied, read back with learning rate 1: before - after."""
    before = [p.copy() for p in params(model)]
    loss = model.update_weight(x, y, learning_rate=1.0)
    return loss, [b - a for b, a in zip(before, params(model))]


def torch_loss_and_grads(model, x, y):
    """Loss and gradients of one example by PyTorch autograd, from the model's parameters."""
    import torch
    tensors = [torch.tensor(p, requires_grad=True) for p in params(model)]
    h = torch.tensor(x)
    if isinstance(model, q3.MLP):
        n = len(model.weights)
        for layer, (W, b) in enumerate(zip(tensors[:n], tensors[n:])):
            h = W @ h + b
            if layer < n - 1:
                h = torch.relu(h)
    else:
        h = tensors[0] @ h
    loss = torch.nn.functional.cross_entropy(h[None], torch.tensor([int(y)]))
    loss.backward()
    return loss.item(), tensors, [t.grad.numpy() for t in tensors]


# ---------------------------------------------------------------------------------------------
# Perceptron

def perceptron():
    model = q3.Perceptron(3, 4)
    model.W = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]])
    return model


def test_perceptron_no_update_when_right():
    model = perceptron()
    before = model.W.copy()
    assert model.update_weight(np.array([0.1, 0.9, 0.2, 1.0]), 1) is None
    np.testing.assert_array_equal(model.W, before)


def test_perceptron_update_on_mistake():
    model = perceptron()
    x = np.array([0.1, 0.2, 0.9, 1.0])   # predicted class 2, gold class 0
    expected = model.W.copy()
    expected[0] += x
    expected[2] -= x
    model.update_weights(x, 0)            # the assignment's name for the method
    np.testing.assert_array_equal(model.W, expected)


def test_perceptron_separates_separable_data():
    rng = np.random.default_rng(0)
    X = np.hstack([rng.normal(size=(300, 5)), np.ones((300, 1))])
    scores = X @ rng.normal(size=(4, 6)).T
    top2 = np.sort(scores, axis=1)[:, -2:]
    keep = top2[:, 1] - top2[:, 0] > 0.5   # a margin, so that it converges quickly
    X, y = X[keep], scores[keep].argmax(axis=1)
    model = q3.Perceptron(4, 6)
    for _ in range(20):
        assert model.train_epoch(X, y) is None   # no loss
        if model.evaluate(X, y) == 1.0:
            break
    assert model.evaluate(X, y) == 1.0


# ---------------------------------------------------------------------------------------------
# Gradients: finite differences and autograd

def test_cross_entropy_gradient_matches_finite_differences():
    logits = np.array([0.3, -1.2, 2.0, 0.5])
    numeric = numerical_gradient(lambda: q3.cross_entropy(logits, 2)[0], logits)
    np.testing.assert_allclose(q3.cross_entropy(logits, 2)[1], numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("index", range(3), ids=MODELS)
def test_gradients_match_finite_differences(index):
    name, model, x, y = small_models()[index]
    start = [p.copy() for p in params(model)]
    numeric = [numerical_gradient(lambda: model_loss(model, x, y), p) for p in params(model)]
    _, grads = step_gradients(model, x, y)
    assert all(np.abs(p - s).max() > 0 for p, s in zip(params(model), start))  # it stepped
    for g, n in zip(grads, numeric):
        np.testing.assert_allclose(g, n, rtol=1e-5, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("index", range(3), ids=MODELS)
def test_loss_and_gradients_match_autograd(index):
    name, model, x, y = small_models()[index]
    torch_loss, _, torch_grads = torch_loss_and_grads(model, x, y)
    loss, grads = step_gradients(model, x, y)
    assert loss == pytest.approx(torch_loss, rel=1e-12)
    for g, t in zip(grads, torch_grads):
        np.testing.assert_allclose(g, t, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("index", range(3), ids=MODELS)
def test_one_update_equals_one_torch_sgd_step(index):
    import torch
    name, model, x, y = small_models()[index]
    _, tensors, _ = torch_loss_and_grads(model, x, y)
    with torch.no_grad():   # plain SGD: p <- p - lr * grad
        for t in tensors:
            t -= 0.001 * t.grad
    model.update_weight(x, y, learning_rate=0.001)
    for p, t in zip(params(model), tensors):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-15, err_msg=name)


# ---------------------------------------------------------------------------------------------
# Stability: logits in the thousands

def test_cross_entropy_stable_for_logits_in_the_thousands():
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # exp(-8000) = 0 is fine
        loss, grad = q3.cross_entropy(np.array([5000.0, -3000.0, 0.0]), 1)
        assert loss == pytest.approx(8000.0, rel=1e-15)
        np.testing.assert_allclose(grad, [1.0, -1.0, 0.0], atol=1e-300)
        loss, grad = q3.cross_entropy(np.array([2000.0, 2000.0 + math.log(3)]), 0)
        assert loss == pytest.approx(math.log(4), rel=1e-12)


@pytest.mark.parametrize("index", range(3), ids=MODELS)
def test_models_stable_for_logits_in_the_thousands(index):
    """Scaled so that the logits reach about 3,000: same loss and gradients as autograd, with
    no overflow, NaN or warning."""
    name, model, x, y = small_models()[index]
    last = model.weights[-1] if isinstance(model, q3.MLP) else model.W
    last *= 3e3 / np.abs(model.scores(x[None])).max()
    assert np.ptp(model.scores(x[None])) > 1000
    torch_loss, _, torch_grads = torch_loss_and_grads(model, x, y)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss, grads = step_gradients(model, x, y)
    assert math.isfinite(loss) and loss == pytest.approx(torch_loss, rel=1e-12)
    for g, t in zip(grads, torch_grads):
        np.testing.assert_allclose(g, t, rtol=1e-9, atol=1e-9, err_msg=name)


# ---------------------------------------------------------------------------------------------
# The training loop

def test_train_epoch_mean_loss_and_divergence(monkeypatch):
    X, y = synthetic(50, 7, 4, seed=4)
    model, twin = q3.LogisticRegression(4, 7), q3.LogisticRegression(4, 7)
    losses = [twin.update_weight(x_i, y_i, learning_rate=0.01) for x_i, y_i in zip(X, y)]
    assert model.train_epoch(X, y, learning_rate=0.01) == pytest.approx(np.mean(losses))
    np.testing.assert_array_equal(model.W, twin.W)

    real = q3.cross_entropy
    calls = []

    def poisoned(logits, y_i):    # the 7th example's loss is NaN
        calls.append(1)
        loss, grad = real(logits, y_i)
        return (math.nan if len(calls) == 7 else loss), grad
    monkeypatch.setattr(q3, "cross_entropy", poisoned)
    with pytest.raises(utils.Diverged) as stop:
        model.train_epoch(X, y, learning_rate=0.01)
    assert stop.value.step == 7 and len(calls) == 7


# ---------------------------------------------------------------------------------------------
# The script, on a tiny Fashion-MNIST-shaped file

@pytest.fixture
def tiny_fashion(tmp_path):
    """A Fashion-MNIST-shaped file with 200 / 60 / 60 examples of 784 pixels."""
    rng = np.random.default_rng(10)
    arrays = {}
    for split, n in (("train", 200), ("dev", 60), ("test", 60)):
        X, y = synthetic(n, 784, 10, seed=rng.integers(1 << 30))
        arrays["X" + split], arrays["y" + split] = np.floor(X * 256) / 256, y
    path = tmp_path / "tiny.npz"
    np.savez(path, **arrays)
    return path, arrays


CASES = [("perceptron", [], "perceptron", {"model", "epochs", "seed"}),
         ("logistic_regression", [], "logistic_regression",
          {"model", "epochs", "seed", "learning_rate"}),
         ("mlp", ["-layers", 1], "mlp",
          {"model", "epochs", "seed", "learning_rate", "hidden_size", "layers"}),
         ("mlp", ["-layers", 2], "mlp-L2",
          {"model", "epochs", "seed", "learning_rate", "hidden_size", "layers"})]


@pytest.mark.parametrize("model, extra, name, flags", CASES, ids=[c[2] for c in CASES])
def test_script_writes_record_and_figures(tmp_path, capsys, tiny_fashion, model, extra, name,
                                          flags):
    data, arrays = tiny_fashion
    out = tmp_path / "out"
    args = [model, "-epochs", 2, "-hidden_size", 16, "-data", data, "-seed", 3, *extra]
    assert q3.main([*map(str, args), "-output", str(out)]) == 0
    record = json.loads((out / f"{name}.json").read_text())
    assert record["model"] == name and record["status"] == "ok" and record["seed"] == 3
    assert set(record["config"]) == flags   # only the flags that apply to the model
    assert [row["epoch"] for row in record["epochs"]] == [1, 2]
    has_loss = model != "perceptron"
    for row in record["epochs"]:
        assert 0 <= row["dev_acc"] <= 1 and 0 <= row["train_acc"] <= 1
        assert ("train_loss" in row) == has_loss
    confusion = np.array(record["final"]["test_confusion"])
    assert confusion.shape == (10, 10)
    np.testing.assert_array_equal(confusion.sum(1), np.bincount(arrays["ytest"], minlength=10))
    assert np.trace(confusion) / 60 == pytest.approx(record["final"]["test_acc"])
    assert record["final"]["dev_acc"] == record["epochs"][-1]["dev_acc"]
    assert (out / f"{name}-accuracy.pdf").stat().st_size > 0
    assert (out / f"{name}-loss.pdf").exists() == has_loss
    titles = [figure[3] for figure in q3.figures(record)]
    assert titles[0].startswith("Q3.") and "accuracy per epoch" in titles[0]
    assert all("hw1-q3" not in t and "python" not in t for t in titles)
    printed = capsys.readouterr().out
    assert "epoch 2/2 |" in printed and "dev_acc" in printed

    if name == "mlp-L2":   # the same seed gives the same numbers
        q3.main([*map(str, args), "-output", str(tmp_path / "again")])
        again = json.loads((tmp_path / "again" / f"{name}.json").read_text())
        for ours, theirs in zip(again["epochs"], record["epochs"], strict=True):
            assert {**ours, "seconds": 0} == {**theirs, "seconds": 0}
        assert again["final"] == record["final"]


def test_script_stops_cleanly_on_divergence(tmp_path, capsys, tiny_fashion):
    """Pixels of 1e200 make the second example's logits overflow to inf."""
    _, arrays = tiny_fashion
    arrays["Xtrain"] = arrays["Xtrain"] * 1e200
    data, out = tmp_path / "huge.npz", tmp_path / "out"
    np.savez(data, **arrays)
    assert q3.main(["logistic_regression", "-learning_rate", "10", "-data", str(data),
                    "-output", str(out)]) == 0
    record = json.loads((out / "logistic_regression.json").read_text())
    assert record["status"] == "diverged" and record["epochs"] == [] and record["final"] == {}
    assert record["diverged_at"]["epoch"] == 1 and record["diverged_at"]["step"] == 2
    assert not list(out.glob("*.pdf"))
    printed = capsys.readouterr()
    assert "diverged at epoch 1, example 2" in printed.out and "Warning" not in printed.err


def test_ctrl_c_exits_130_and_writes_nothing(tmp_path, monkeypatch, capsys, tiny_fashion):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(q3.Model, "train_epoch", interrupted)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        utils.run_main(lambda: q3.main(["mlp", "-data", str(tiny_fashion[0]),
                                        "-output", str(out)]))
    assert stop.value.code == 130
    assert capsys.readouterr().err.strip() == "interrupted; nothing written"
    assert not out.exists()


@pytest.mark.parametrize("flag, value, message", [
    ("-learning_rate", "inf", "argument -learning_rate: must be a float in (0, 10], got 'inf'"),
    ("-learning_rate", "nan", "argument -learning_rate: must be a float in (0, 10], got 'nan'"),
    ("-learning_rate", "1e300", "argument -learning_rate: must be a float in (0, 10], got '1e300'"),
    ("-learning_rate", "0", "argument -learning_rate: must be a float in (0, 10], got '0'"),
    ("-learning_rate", "-1", "argument -learning_rate: must be a float in (0, 10], got '-1'"),
    ("-learning_rate", "fast", "argument -learning_rate: invalid float value: 'fast'"),
    ("-epochs", "0", "argument -epochs: must be an int in [1, 10000], got '0'"),
    ("-epochs", "1e300", "argument -epochs: invalid int value: '1e300'"),
    ("-hidden_size", "-1", "argument -hidden_size: must be an int in [1, 10000], got '-1'"),
    ("-layers", "0", "argument -layers: must be an int in [1, 100], got '0'"),
    ("-seed", "-1", "argument -seed: must be an int in [0, 4.29497e+09], got '-1'"),
    ("-seed", "nan", "argument -seed: invalid int value: 'nan'"),
])
def test_bad_flags_exit_2_before_any_work(tmp_path, capsys, flag, value, message):
    with pytest.raises(SystemExit) as stop:
        q3.main(["mlp", flag, value, "-data", str(tmp_path / "absent.npz")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage:") and f"error: {message}" in err


def test_unknown_model_exits_2(capsys):
    with pytest.raises(SystemExit) as stop:
        q3.main(["svm"])
    assert stop.value.code == 2 and "invalid choice" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Real data (skipped when Fashion-MNIST.npz is absent)

def test_real_data_logistic_regression_learns(root):
    """One pass over the 10,000 dev images beats 70% test accuracy."""
    path = os.path.join(root, utils.FASHION_PATH)
    if not os.path.exists(path):
        pytest.skip("Fashion-MNIST.npz not built (python download_fashion_mnist.py)")
    with np.load(path) as data:   # only the two small splits
        dev_X, dev_y, test_X, test_y = (data[k] for k in ("Xdev", "ydev", "Xtest", "ytest"))
    with_bias = lambda X: np.hstack([X, np.ones((len(X), 1))])  # noqa: E731
    model = q3.LogisticRegression(10, 785)
    loss = model.train_epoch(with_bias(dev_X), dev_y, learning_rate=0.001)
    assert 0.4 < loss < 1.5
    assert model.evaluate(with_bias(test_X), test_y) > 0.7
