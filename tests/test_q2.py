"""Tests for Question 2 (hw1-q2.py): SGD steps, the least-squares solution, runs and the CLI.

Synthetic data written by the tests, except one test on the committed ames.npz. PyTorch, where
installed, is an independent reference for the gradients; finite differences are the other.
"""
import json
import os

import numpy as np
import pytest

import utils
from conftest import load_script
from gradcheck import numerical_gradient

q2 = load_script("hw1-q2.py")


def rank_deficient(n=60, seed=0):
    """X (n, 9) shaped like the Ames features, with the ones column last: 3 standardised numeric
    columns, a one-hot group of 3 (it sums to the ones column), a duplicate of column 0 and a
    never-seen category (all zeros). Rank 6 of 9. Targets y (n,) around 12."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n, 3))
    onehot = np.eye(3)[rng.integers(3, size=n)]
    X = np.hstack([numeric, onehot, numeric[:, :1], np.zeros((n, 1)), np.zeros((n, 1)) + 1])
    y = 12 + numeric @ [0.3, -0.2, 0.1] + onehot @ [0.1, 0.0, -0.1] + 0.05 * rng.normal(size=n)
    return X, y


REAL_PLOT = utils.plot


@pytest.fixture
def ames_file(tmp_path, monkeypatch):
    """A small synthetic data file in the course's layout (y as a column); returns its path.
    Figures become empty files (matplotlib is slow); one test restores REAL_PLOT."""
    monkeypatch.setattr(utils, "plot", lambda series, ylabel, path, *a, **k: open(path, "w").close())
    (X_train, y_train), (X_test, y_test) = rank_deficient(seed=1), rank_deficient(seed=2)
    # The course's 348 columns: the loader checks them and appends the ones column.
    X_train, X_test = (np.pad(X[:, :-1], ((0, 0), (0, 348 - 8))) for X in (X_train, X_test))
    path = tmp_path / "ames.npz"
    np.savez(path, Xtrain=X_train, ytrain=y_train[:, None], Xtest=X_test, ytest=y_test[:, None])
    return str(path)


def run(tmp_path, ames_file, *argv):
    """main() on the synthetic file, writing to tmp_path/out; returns the record it wrote."""
    model = argv[0]
    name = model + ("-seeds" if "-seeds" in argv else "")
    assert q2.main([*argv, "-data", ames_file, "-output", str(tmp_path / "out")]) == 0
    return json.loads((tmp_path / "out" / f"{name}.json").read_text())


# ---------------------------------------------------------------------------------------------
# One SGD step of each model, against autograd and finite differences.

def small_network(seed=0, n_features=5, hidden=6):
    """A network with weights of both signs and an input x leaving some hidden units on and
    some off, none near the ReLU kink (where finite differences are not valid)."""
    rng = np.random.default_rng(seed)
    model = q2.NeuralRegression(n_features, hidden)
    while True:
        model.W1 = rng.normal(size=(hidden, n_features))
        model.b1 = rng.normal(size=hidden)
        model.w2 = rng.normal(size=hidden)
        model.b2 = np.array(0.3)  # a 0-d array, so that finite differences can perturb it
        x = rng.normal(size=n_features)
        z1 = model.W1 @ x + model.b1
        if (z1 > 0).any() and (z1 < 0).any() and np.abs(z1).min() > 1e-2:
            return model, x, 0.7


NN_PARAMS = ("W1", "b1", "w2", "b2")


def step_gradients(model, names, x, y, learning_rate=0.1):
    """The gradients one update_weight step applied: (before - after) / learning_rate."""
    before = {k: np.array(getattr(model, k), dtype=float) for k in names}
    model.update_weight(x, y, learning_rate)
    return {k: (before[k] - getattr(model, k)) / learning_rate for k in names}, before


def torch_gradients(params, loss_of):
    """Autograd's gradients of loss_of(tensors, torch) at params {name: array}."""
    torch = pytest.importorskip("torch")
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    loss_of(tensors, torch).backward()
    return {k: t.grad.numpy() for k, t in tensors.items()}


def test_linear_step_is_the_gradient_step():
    rng = np.random.default_rng(0)
    model, x, y = q2.LinearRegression(7), rng.normal(size=7), 1.3
    model.w = rng.normal(size=7)
    loss_before = 0.5 * (model.predict(x[None])[0] - y) ** 2
    numerical = numerical_gradient(lambda: 0.5 * (model.predict(x[None])[0] - y) ** 2, model.w)
    applied, before = step_gradients(model, ["w"], x, y)
    np.testing.assert_allclose(applied["w"], numerical, rtol=1e-6, atol=1e-8)
    model.w = before["w"].copy()
    assert model.update_weight(x, y, 0.1) == pytest.approx(loss_before, rel=1e-14)
    expected = torch_gradients(before, lambda t, torch: 0.5 * (t["w"] @ torch.tensor(x) - y) ** 2)
    np.testing.assert_allclose(applied["w"], expected["w"], rtol=1e-12)


def test_nn_step_matches_finite_differences():
    model, x, y = small_network()
    loss = lambda: 0.5 * (model.predict(x[None])[0] - y) ** 2  # noqa: E731
    numerical = {k: numerical_gradient(loss, getattr(model, k)) for k in NN_PARAMS}
    applied, _ = step_gradients(model, NN_PARAMS, x, y)
    for k in NN_PARAMS:
        np.testing.assert_allclose(applied[k], numerical[k], rtol=1e-6, atol=1e-8, err_msg=k)
    assert (applied["W1"] == 0).any(axis=1).any()  # the units that were off got no update


def test_nn_step_matches_autograd():
    model, x, y = small_network(seed=1)
    applied, before = step_gradients(model, NN_PARAMS, x, y)

    def loss_of(t, torch):
        h = torch.relu(t["W1"] @ torch.tensor(x) + t["b1"])
        return 0.5 * (t["w2"] @ h + t["b2"] - y) ** 2
    expected = torch_gradients(before, loss_of)
    for k in NN_PARAMS:
        np.testing.assert_allclose(applied[k], expected[k], rtol=1e-12, atol=1e-14, err_msg=k)


def test_nn_initialisation_is_as_prescribed():
    utils.configure_seed(0)
    model = q2.NeuralRegression(300, 200)
    assert model.W1.shape == (200, 300) and model.w2.shape == (200,)
    assert abs(model.W1.mean() - 0.1) < 0.002 and abs(model.W1.std() - 0.1) < 0.002
    assert not model.b1.any() and model.b2 == 0


# ---------------------------------------------------------------------------------------------
# The least-squares solution.

def test_solve_analytically_is_the_minimum_norm_least_squares_solution():
    X, y = rank_deficient()
    assert np.linalg.matrix_rank(X) == 6 < X.shape[1]
    w = q2.solve_analytically(X, y)
    np.testing.assert_allclose(w, np.linalg.pinv(X) @ y, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(X.T @ (X @ w - y), 0, atol=1e-9)  # a least-squares solution
    null_space = np.linalg.svd(X)[2][6:]  # rows spanning the null space of X
    np.testing.assert_allclose(null_space @ w, 0, atol=1e-10)  # of minimum norm


def test_sgd_from_zero_converges_toward_the_analytic_solution():
    X, y = rank_deficient(n=40)
    w_analytic = q2.solve_analytically(X, y)
    model, rng, distances = q2.LinearRegression(X.shape[1]), np.random.default_rng(0), []
    for _ in range(300):
        order = rng.permutation(len(y))
        model.train_epoch(X[order], y[order], learning_rate=0.02)
        distances.append(np.linalg.norm(model.w - w_analytic))
    # A constant step leaves SGD noise of about its size: the distance falls 300-fold, not to 0.
    assert distances[-1] < distances[0] / 300 and distances[-1] < 0.01


def test_least_squares_on_the_course_file(root):
    data = utils.load_regression_data(bias=True, path=os.path.join(root, "ames.npz"))
    X, y = data["train"]
    assert X.shape == (1465, 349)
    w = q2.solve_analytically(X, y)
    assert q2.rmse(X @ w, y) == pytest.approx(0.0964, abs=5e-5)  # the README's figure


# ---------------------------------------------------------------------------------------------
# Runs, records and the command line.

def test_divergence_is_caught_at_the_first_non_finite_loss():
    X = np.ones((5, 2))
    X[2] = 1e200  # its squared error overflows
    with pytest.raises(utils.Diverged) as info:
        q2.LinearRegression(2).train_epoch(X, np.ones(5), learning_rate=0.001)
    assert info.value.step == 3


def test_a_diverged_run_stops_cleanly_and_says_where(tmp_path, ames_file, capsys):
    record = run(tmp_path, ames_file, "linear_regression", "-learning_rate", "10", "-epochs", "5")
    assert record["status"] == "diverged"
    where = record["diverged_at"]
    assert where["epoch"] == len(record["epochs"]) + 1 and 1 <= where["step"] <= 60
    assert record["final"]["train_rmse"] is None
    assert f"diverged at epoch {where['epoch']}, example {where['step']}" in capsys.readouterr().out


@pytest.mark.parametrize("flag", ["-epochs", "-learning_rate", "-hidden_size", "-seeds"])
@pytest.mark.parametrize("value", ["inf", "nan", "1e300", "0", "-1"])
def test_bad_flags_exit_2_before_any_work(flag, value, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        q2.main(["nn", flag, value, "-data", str(tmp_path / "missing.npz")])
    assert info.value.code == 2 and "usage:" in capsys.readouterr().err


def test_records_hold_only_the_flags_of_their_model(tmp_path, ames_file):
    linear = run(tmp_path, ames_file, "linear_regression", "-epochs", "2")
    assert set(linear["config"]) == {"model", "epochs", "learning_rate", "data"}
    assert set(linear["final"]) == {"train_rmse", "test_rmse", "distance",
                                    "analytic_train_rmse", "analytic_test_rmse"}
    nn = run(tmp_path, ames_file, "nn", "-epochs", "2", "-hidden_size", "4")
    assert nn["config"]["hidden_size"] == 4 and "distance" not in nn["final"]
    assert nn["status"] == "ok" and nn["seed"] == 42 and len(nn["epochs"]) == 2


def test_the_command_line_writes_to_runs_or_to_output(tmp_path, ames_file, monkeypatch):
    monkeypatch.setattr(utils, "plot", REAL_PLOT)
    monkeypatch.chdir(tmp_path)
    assert q2.main(["nn", "-epochs", "1", "-hidden_size", "3", "-data", ames_file]) == 0
    assert sorted(os.listdir(tmp_path / "runs" / "q2")) == ["nn-rmse.pdf", "nn.json"]
    run(tmp_path, ames_file, "linear_regression", "-epochs", "1")
    assert sorted(os.listdir(tmp_path / "out")) == [
        "linear_regression-distance.pdf", "linear_regression-rmse.pdf", "linear_regression.json"]
    assert (tmp_path / "out" / "linear_regression-rmse.pdf").read_bytes()[:5] == b"%PDF-"


def test_ctrl_c_exits_130_and_writes_nothing(tmp_path, ames_file, monkeypatch, capsys):
    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(q2.NeuralRegression, "train_epoch", interrupted)
    with pytest.raises(SystemExit) as info:
        utils.run_main(lambda: q2.main(["nn", "-data", ames_file, "-output", str(tmp_path / "o")]))
    assert info.value.code == 130 and "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_same_seed_same_numbers(tmp_path, ames_file):
    first, second, other = (run(tmp_path, ames_file, "nn", "-epochs", "2", "-hidden_size", "5",
                                "-seed", seed) for seed in ("3", "3", "4"))
    without_time = lambda r: [{k: v for k, v in row.items() if k != "seconds"}  # noqa: E731
                              for row in r["epochs"]]
    assert without_time(first) == without_time(second) != without_time(other)


def test_seed_study_reports_every_seed_and_the_spread(tmp_path, ames_file):
    study = run(tmp_path, ames_file, "nn", "-epochs", "2", "-hidden_size", "5", "-seed", "3",
                "-seeds", "3")
    assert study["seeds"] == [3, 4, 5] and study["config"]["seeds"] == 3
    single = run(tmp_path, ames_file, "nn", "-epochs", "2", "-hidden_size", "5", "-seed", "4")
    assert study["runs"][1]["final"] == single["final"]
    tests = sorted(r["final"]["test_rmse"] for r in study["runs"])
    summary = study["summary"]["test_rmse"]
    assert summary["median"] == tests[1] and (summary["min"], summary["max"]) == (tests[0], tests[2])
    assert os.path.exists(tmp_path / "out" / "nn-seeds-test.pdf")


def test_analysis_tool_reproduces_the_seeds_it_retrains(tmp_path, ames_file):
    analyse = load_script("tools/analyse_q2.py")
    run(tmp_path, ames_file, "linear_regression", "-epochs", "2")
    run(tmp_path, ames_file, "nn", "-epochs", "2", "-hidden_size", "5", "-seeds", "2")
    out = tmp_path / "out"
    assert analyse.main(["-study", str(out / "nn-seeds.json"), "-data", ames_file, "-all",
                         "-linear", str(out / "linear_regression.json"),
                         "-output", str(tmp_path / "analysis")]) == 0
    analysis = json.loads((tmp_path / "analysis" / "analysis.json").read_text())
    assert set(analysis["models"]) == {"least squares", "linear SGD", "network seed 42",
                                       "network seed 43"}
    assert analysis["linear_story"]["n_epochs"] == 2
