"""Tests for Question 2 (hw1-q2.py): gradients, updates, analytic solution, runs and CLI.

Synthetic data only, except one test that skips when ames.npz is absent. PyTorch is used as an
independent reference and imported inside the tests that need it.
"""
import json
import os

import numpy as np
import pytest

from conftest import ROOT, load_script

q2 = load_script("hw1-q2.py")


# ---------------------------------------------------------------------------------------------
# Textbook steps: the obvious per-example SGD, fresh arrays every step and np.outer gradients.
# The project's optimised steps must reproduce them exactly; tools/bench_q2.py times them.

def textbook_linear_step(w, x, y, learning_rate):
    """SGD on 0.5 * (x . w - y)^2 for w (d,) (updated in place), x (d,), scalar y."""
    error = x @ w - y
    w -= learning_rate * error * x


def textbook_nn_step(params, x, y, learning_rate):
    """SGD on 0.5 * (y_hat - y)^2 for params {"W1": (h, d), "b1": (h,), "W2": (h,), "b2": float},
    updated in place; x (d,), scalar y."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    z1 = W1 @ x + b1
    h1 = np.maximum(z1, 0)
    y_hat = W2 @ h1 + b2
    error = y_hat - y
    grad_W2 = error * h1
    grad_b2 = error
    grad_z1 = error * W2 * (z1 > 0)
    grad_W1 = np.outer(grad_z1, x)
    grad_b1 = grad_z1
    W1 -= learning_rate * grad_W1
    b1 -= learning_rate * grad_b1
    W2 -= learning_rate * grad_W2
    params["b2"] = b2 - learning_rate * grad_b2


def nn_params(model):
    """A copy of the network's parameters in the textbook step's layout."""
    return {"W1": model.W1.copy(), "b1": model.b1.copy(), "W2": model.W2.copy(), "b2": model.b2}


def ames_like(n=120, n_numeric=6, groups=(3, 4, 5), seed=0):
    """Synthetic data shaped like ames.npz (no bias column): standardised numeric columns,
    one-hot groups, and log-price-like targets around 12. Returns X (n, d), y (n,)."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n, n_numeric))
    onehot = [np.eye(k)[rng.integers(k, size=n)] for k in groups]
    X = np.hstack([numeric] + onehot)
    y = 12 + X @ rng.normal(scale=0.1, size=X.shape[1]) + 0.05 * rng.normal(size=n)
    return X, y


def with_bias(X):
    return np.hstack([X, np.ones((X.shape[0], 1))])


@pytest.fixture
def ames_file(tmp_path):
    """A small synthetic ames.npz in the course's layout; returns its path."""
    X_train, y_train = ames_like(seed=1)
    X_test, y_test = ames_like(seed=2)
    path = tmp_path / "ames.npz"
    np.savez(path, Xtrain=X_train, ytrain=y_train, Xtest=X_test, ytest=y_test)
    return str(path)


def small_network(seed, n_features=5, hidden=6):
    """A network with random weights of both signs and an input x with some hidden units on
    and some off, none near the ReLU kink (so finite differences are valid)."""
    rng = np.random.default_rng(seed)
    while True:
        model = q2.NeuralRegression(n_features, hidden)
        model.W1 = rng.normal(size=(hidden, n_features))
        model.b1 = rng.normal(size=hidden)
        model.W2 = rng.normal(size=hidden)
        model.b2 = 0.3
        x = rng.normal(size=n_features)
        z1 = model.W1 @ x + model.b1
        if (z1 > 0).any() and (z1 < 0).any() and np.abs(z1).min() > 1e-2:
            return model, x, 0.7


def applied_gradients(model, x, y):
    """The gradients update_weight applies, recovered from one step with learning rate 1."""
    before = nn_params(model)
    model.update_weight(x, y, learning_rate=1.0)
    after = nn_params(model)
    return {k: before[k] - after[k] for k in before}


def nn_loss(model, x, y):
    return 0.5 * (model.predict(x[None, :])[0] - y) ** 2


# ---------------------------------------------------------------------------------------------
# Linear model.

def test_linear_update_matches_torch_sgd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y, w0 = rng.normal(size=7), 1.3, rng.normal(size=7)
    model = q2.LinearRegression(7)
    model.w = w0.copy()
    loss = model.update_weight(x, y, learning_rate=0.05)

    w = torch.tensor(w0, requires_grad=True)
    sgd = torch.optim.SGD([w], lr=0.05)
    torch_loss = 0.5 * (torch.tensor(x) @ w - y) ** 2
    torch_loss.backward()
    sgd.step()
    np.testing.assert_allclose(model.w, w.detach().numpy(), rtol=1e-13, atol=1e-15)
    assert loss == pytest.approx(torch_loss.item(), rel=1e-13)


def test_linear_train_epoch_matches_textbook_exactly():
    X, y = ames_like(n=200)
    X = with_bias(X)
    model = q2.LinearRegression(X.shape[1])
    w = np.zeros(X.shape[1])
    rng = np.random.default_rng(0)
    for _ in range(3):
        order = rng.permutation(len(y))
        model.train_epoch(X[order], y[order], learning_rate=0.001)
        for x_i, y_i in zip(X[order], y[order]):
            textbook_linear_step(w, x_i, y_i, 0.001)
    assert np.abs(w).max() > 0.1  # the weights did move
    np.testing.assert_array_equal(model.w, w)


def test_analytic_solution_solves_regularised_normal_equations():
    X, y = ames_like(n=50, seed=3)
    X = with_bias(np.hstack([X, np.zeros((50, 1))]))  # a constant-zero column: X^T X is singular
    assert np.linalg.matrix_rank(X.T @ X) < X.shape[1]
    w = q2.solve_analytically(X, y)
    np.testing.assert_allclose((X.T @ X + 1e-4 * np.eye(X.shape[1])) @ w, X.T @ y,
                               rtol=1e-10, atol=1e-10)


def test_sgd_converges_to_the_analytic_solution():
    rng = np.random.default_rng(4)
    X = with_bias(rng.normal(size=(100, 4)))          # well conditioned
    y = X @ rng.normal(size=5) + 0.01 * rng.normal(size=100)
    analytic = q2.solve_analytically(X, y)
    model = q2.LinearRegression(5)
    start = q2.distance(analytic, model.w)
    for _ in range(60):
        order = rng.permutation(100)
        model.train_epoch(X[order], y[order], learning_rate=0.01)
    assert q2.distance(analytic, model.w) < 1e-2 * start
    assert q2.distance(analytic, model.w) == pytest.approx(np.linalg.norm(analytic - model.w))


def test_analytic_solution_on_ames():
    path = os.path.join(ROOT, "ames.npz")
    if not os.path.exists(path):
        pytest.skip("ames.npz is absent")
    import utils
    X, y = utils.load_regression_data(bias=True, path=path)["train"]
    assert np.linalg.matrix_rank(X.T @ X) < X.shape[1]  # why solve_analytically regularises
    w = q2.solve_analytically(X, y)
    np.testing.assert_allclose((X.T @ X + 1e-4 * np.eye(X.shape[1])) @ w, X.T @ y,
                               rtol=1e-8, atol=1e-8)
    assert q2.LinearRegression(X.shape[1]).evaluate(X, y) > np.std(y)  # zero weights: no fit
    model = q2.LinearRegression(X.shape[1])
    model.w = w
    assert model.evaluate(X, y) < 0.5 * np.std(y)


# ---------------------------------------------------------------------------------------------
# Network.

def test_nn_gradients_match_central_finite_differences():
    model, x, y = small_network(seed=5)
    params = nn_params(model)
    grads = applied_gradients(model, x, y)
    eps = 1e-6

    def loss_with(name, index, delta):
        probe, _, _ = small_network(seed=5)  # same draws: the same weights as `model` had
        if name == "b2":
            probe.b2 += delta
        else:
            getattr(probe, name)[index] += delta
        return nn_loss(probe, x, y)

    for name in params:
        for index in np.ndindex(np.shape(params[name])):
            numeric = (loss_with(name, index, eps) - loss_with(name, index, -eps)) / (2 * eps)
            assert grads[name][index] == pytest.approx(numeric, rel=1e-6, abs=1e-8), (name, index)
    # Off units get no gradient: the check above covered both kinds of unit.
    off = params["W1"] @ x + params["b1"] < 0
    assert off.any() and not grads["b1"][off].any()


def torch_network(params):
    import torch
    return {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}


def torch_loss(t, x, y):
    import torch
    h1 = torch.relu(t["W1"] @ torch.tensor(x) + t["b1"])
    return 0.5 * (t["W2"] @ h1 + t["b2"] - y) ** 2


def test_nn_gradients_match_autograd():
    pytest.importorskip("torch")
    model, x, y = small_network(seed=6)
    t = torch_network(nn_params(model))
    torch_loss(t, x, y).backward()
    grads = applied_gradients(model, x, y)
    for name in t:
        np.testing.assert_allclose(grads[name], t[name].grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


def test_nn_update_matches_torch_sgd_step():
    torch = pytest.importorskip("torch")
    model, x, y = small_network(seed=7)
    t = torch_network(nn_params(model))
    sgd = torch.optim.SGD(list(t.values()), lr=0.01)
    loss = torch_loss(t, x, y)
    loss.backward()
    sgd.step()
    returned = model.update_weight(x, y, learning_rate=0.01)
    assert returned == pytest.approx(loss.item(), rel=1e-13)
    for name, value in nn_params(model).items():
        np.testing.assert_allclose(value, t[name].detach().numpy(), rtol=1e-13, atol=1e-15,
                                   err_msg=name)


def test_nn_train_epoch_matches_textbook_exactly():
    X, y = ames_like(n=200)
    X = with_bias(X)
    np.random.seed(0)
    model = q2.NeuralRegression(X.shape[1], 20)
    rng = np.random.default_rng(1)
    model.W1 = rng.normal(0, 0.3, size=model.W1.shape)  # both signs: units on and off
    model.W2 = rng.normal(0.5, 0.3, size=20)
    off = (X @ model.W1.T + model.b1) <= 0
    assert 0.2 < off.mean() < 0.8
    params = nn_params(model)
    for _ in range(3):
        order = rng.permutation(len(y))
        model.train_epoch(X[order], y[order], learning_rate=0.001)
        for x_i, y_i in zip(X[order], y[order]):
            textbook_nn_step(params, x_i, y_i, 0.001)
    for name, value in nn_params(model).items():
        np.testing.assert_array_equal(value, params[name], err_msg=name)
    assert model.evaluate(X, y) < 0.5 * abs(float(np.mean(y)))  # it did learn something


def test_predict_agrees_with_the_training_step():
    model, x, y = small_network(seed=8)
    X = np.vstack([x, -x, 2 * x])
    rows = [model.W2 @ np.maximum(model.W1 @ row + model.b1, 0) + model.b2 for row in X]
    np.testing.assert_allclose(model.predict(X), rows, rtol=1e-12)
    expected = 0.5 * (model.predict(x[None, :])[0] - y) ** 2
    assert model.update_weight(x, y) == pytest.approx(expected, rel=1e-12)
    assert model.evaluate(X, np.zeros(3)) == pytest.approx(np.sqrt(np.mean(model.predict(X) ** 2)))


def test_nn_initialisation_is_as_prescribed():
    np.random.seed(0)
    model = q2.NeuralRegression(300, 150)
    weights = np.concatenate([model.W1.ravel(), model.W2])
    assert weights.mean() == pytest.approx(0.1, abs=0.002)
    assert weights.std() == pytest.approx(0.1, abs=0.002)
    assert not model.b1.any() and model.b2 == 0


# ---------------------------------------------------------------------------------------------
# Divergence.

def test_divergence_is_caught_at_the_first_non_finite_loss():
    X, y = ames_like(n=200)
    X = with_bias(X)
    w = np.zeros(X.shape[1])
    first_bad = None
    with np.errstate(over="ignore", invalid="ignore"):
        for step, (x_i, y_i) in enumerate(zip(X, y), start=1):
            error = x_i @ w - y_i
            if not np.isfinite(0.5 * error * error):
                first_bad = step
                break
            textbook_linear_step(w, x_i, y_i, 5.0)
    assert first_bad is not None
    with pytest.raises(q2.Diverged) as caught:
        q2.LinearRegression(X.shape[1]).train_epoch(X, y, learning_rate=5.0)
    assert caught.value.step == first_bad


def test_diverged_run_is_reported_and_recorded(tmp_path, ames_file, capsys):
    out = tmp_path / "out"
    record = q2.main(["nn", "-epochs", "3", "-hidden_size", "8", "-learning_rate", "5",
                      "-data", ames_file, "-output", str(out)])
    assert record["status"] == "diverged"
    where = record["diverged_at"]
    assert where["epoch"] == 1 and 1 <= where["step"] <= 120
    assert f"diverged at epoch 1, step {where['step']}: loss is" in capsys.readouterr().out
    saved = json.loads((out / "nn.json").read_text())  # valid JSON: no NaN in it
    assert saved["status"] == "diverged"
    assert saved["final"] == {"train_rmse": None, "test_rmse": None}
    assert saved["epochs"] == []


# ---------------------------------------------------------------------------------------------
# Runs and command line.

@pytest.mark.parametrize("model", ["linear_regression", "nn"])
def test_same_seed_same_numbers(tmp_path, ames_file, model):
    def run(folder, seed):
        return q2.main([model, "-epochs", "3", "-hidden_size", "16", "-seed", str(seed),
                        "-data", ames_file, "-output", str(tmp_path / folder)])
    first, second, other = run("a", 1), run("b", 1), run("c", 2)
    assert first["status"] == "ok" and len(first["epochs"]) == 3
    assert first["epochs"] == second["epochs"] and first["final"] == second["final"]
    assert first["epochs"] != other["epochs"]
    saved = json.loads((tmp_path / "a" / f"{model}.json").read_text())
    assert saved["epochs"] == first["epochs"] and saved["seed"] == 1
    assert saved["config"]["epochs"] == 3
    assert (tmp_path / "a" / f"{model}-rmse.pdf").exists()
    if model == "linear_regression":
        assert (tmp_path / "a" / "linear_regression-distance.pdf").exists()
        assert {"distance", "analytic_train_rmse", "analytic_test_rmse"} <= set(saved["final"])
        assert all("distance" in row for row in saved["epochs"])


def test_seed_study_matches_single_runs(tmp_path, ames_file):
    common = ["-epochs", "2", "-hidden_size", "16", "-data", ames_file]
    study = q2.main(["nn", "-seeds", "3", "-seed", "5", "-output", str(tmp_path / "s")] + common)
    single = q2.main(["nn", "-seed", "6", "-output", str(tmp_path / "one")] + common)
    saved = json.loads((tmp_path / "s" / "nn-seeds.json").read_text())
    assert saved["model"] == "nn-seeds" and [r["seed"] for r in saved["runs"]] == [5, 6, 7]
    assert saved["runs"][1]["train_rmse"] == single["final"]["train_rmse"]
    assert saved["runs"][1]["epochs"] == single["epochs"]
    assert (tmp_path / "s" / "nn-seeds-test.pdf").exists() and (tmp_path / "s" / "nn-seeds-train.pdf").exists()
    ok = [r for r in saved["runs"] if r["status"] == "ok"]
    summary = saved["summary"]
    assert summary["n_seeds"] == 3 and summary["n_converged"] == len(ok) == 3
    assert summary["test_rmse_mean"] == pytest.approx(np.mean([r["test_rmse"] for r in ok]))
    assert summary["test_rmse_std"] == pytest.approx(np.std([r["test_rmse"] for r in ok], ddof=1))


def test_defaults_are_the_assignments():
    opt = q2.parse_args(["nn"])
    assert (opt.epochs, opt.learning_rate, opt.hidden_size, opt.seeds) == (150, 0.001, 150, 1)


@pytest.mark.parametrize("argv", [
    ["svm"], ["nn", "-epochs", "0"], ["nn", "-epochs", "-3"], ["nn", "-epochs", "2.5"],
    ["nn", "-learning_rate", "0"], ["nn", "-learning_rate", "-0.1"],
    ["nn", "-learning_rate", "nan"], ["nn", "-hidden_size", "0"], ["nn", "-seeds", "0"],
])
def test_bad_input_ends_with_argparse_error(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        q2.parse_args(argv)
    assert caught.value.code == 2
    assert "error: argument" in capsys.readouterr().err
