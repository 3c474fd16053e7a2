"""The numpy models of Q2 and Q3 as the assignment fixes them, each of a script's MODELS table:
their defaults and start, an epoch of updates, the perceptron's rule, a stable cross-entropy,
the least-squares solution, the skeleton's names for the update. (Their gradients:
test_gradients.py; their runs: test_runs.py.)"""
import copy

import numpy as np
import pytest

import utils
from conftest import NUMPY_MODELS, parse, script

# The assignment's values (homework1.md: Q2.2, Q3, and Q4's Table 1): tests of the spec.
SPEC = {"q2": {"epochs": 150, "learning_rate": 0.001, "hidden_size": 150},
        "q3": {"epochs": 20, "learning_rate": 0.001, "hidden_size": 200},
        "q4": {"epochs": 20, "batch_size": 1, "learning_rate": 0.01, "hidden_size": 200,
               "layers": 1, "dropout": 0.3, "activation": "relu", "optimizer": "sgd",
               "l2_decay": 0}}


@pytest.mark.parametrize("question", SPEC)
def test_the_defaults_are_the_assignments(question):
    opt = parse(question, [next(iter(script(question).MODELS))])
    assert {key: getattr(opt, key) for key in SPEC[question]} == SPEC[question]


def build(question, name, n_features, argv=()):
    """The script's model `name` as its MODELS table builds it from the flags argv."""
    return script(question).MODELS[name][1](parse(question, [name, *argv]), n_features)


@pytest.mark.parametrize("question, name", NUMPY_MODELS)
def test_the_initialisation_is_the_assignments(question, name):
    """Linear models start from zero; the networks' weights ~ N(0.1, 0.1^2), biases zero.
    Catches another mean or spread (a variance given as the spread), non-zero biases."""
    utils.configure_seed(0)
    params = {k: v for k, v in vars(build(question, name, 348)).items()
              if isinstance(v, (np.ndarray, float))}
    for key, value in params.items():
        if key.startswith("b") or "W1" not in params:
            assert not np.any(value), key
        else:  # 4 standard errors
            assert abs(np.mean(value) - 0.1) < 0.4 / np.sqrt(np.size(value)), key
            assert abs(np.std(value) - 0.1) < 0.4 / np.sqrt(np.size(value)), key
    if "W1" in params:  # drawn first, in its own shape: the committed records' numbers depend on it
        np.random.seed(0)
        assert np.array_equal(params["W1"], np.random.normal(0.1, 0.1, params["W1"].shape))


@pytest.mark.parametrize("question, name", NUMPY_MODELS)
def test_an_epoch_is_one_update_per_example_in_order(question, name):
    """train_epoch(X, y, learning_rate=...) is update_weight on each row in turn (Q3: returns
    the mean of their losses); update_weights, the assignment's name, is the same step.
    Catches a row skipped, a sum or last loss, the learning rate not passed on, predict along
    the wrong axis, evaluate not the RMSE (Q2) or accuracy (Q3) of predict."""
    rng = np.random.default_rng(2)
    X = rng.random((30, 7)) * (rng.random((30, 7)) < 0.5)
    y = rng.normal(12, 1, 30) if question == "q2" else rng.integers(0, 10, 30)
    utils.configure_seed(0)
    model = build(question, name, 7, ["-hidden_size", 5])
    twin, alias = copy.deepcopy(model), copy.deepcopy(model)
    losses = [twin.update_weight(x_i, y_i, 0.01) for x_i, y_i in zip(X, y)]
    for x_i, y_i in zip(X, y):
        alias.update_weights(x_i, y_i, 0.01)
    mean_loss = model.train_epoch(X, y, learning_rate=0.01)
    for key, value in vars(model).items():
        np.testing.assert_array_equal(value, vars(twin)[key], err_msg=key)
        np.testing.assert_array_equal(value, vars(alias)[key], err_msg=key)
    predicted = model.predict(X)
    assert predicted.shape == (30,)
    if question == "q2":
        assert model.evaluate(X, y) == pytest.approx(np.sqrt(np.mean((predicted - y) ** 2)))
    else:
        assert mean_loss == pytest.approx(np.mean(losses))
        assert model.evaluate(X, y) == np.mean(predicted == y)


def test_the_perceptron_moves_two_rows_on_a_mistake_and_ignores_the_learning_rate():
    """Catches a missing or swapped row update, an update when right, a learning rate used."""
    q3 = script("q3")
    W = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]])
    model, x = q3.Perceptron(3, 4), np.array([0.1, 0.2, 0.9, 1.0])  # predicts 2
    model.W = W.copy()
    assert model.update_weight(x, 2, 0.5) == 0.0 and np.array_equal(model.W, W)
    assert model.update_weights(x, 0, learning_rate=0.5) == 1.0
    np.testing.assert_array_equal(model.W, W + np.outer([1, 0, -1], x))
    assert model.train_epoch(x[None], np.array([1]), learning_rate=0.5) == 1.0  # predicts 0
    model = q3.Perceptron(3, 4)  # from zero every score ties: argmax, as predict, takes class 0
    model.update_weight(x, 2)
    np.testing.assert_array_equal(model.W, np.outer([-1, 0, 1], x))


def test_the_cross_entropy_is_stable_for_large_logits():
    """Catches exp() overflowing (NaN, inf or a warning) where logits reach the thousands."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grad = script("q3").cross_entropy(np.array([3000.0, 0.0, -3000.0]), 1)
    assert loss == pytest.approx(3000.0) and grad == pytest.approx([1.0, -1.0, 0.0])


def test_the_mlp_takes_the_skeletons_layers_argument():
    """MLP(n_classes, n_feats, hidden_size, layers) as the skeleton calls it: layers=1, and a
    ValueError of one line for another number of layers."""
    q3 = script("q3")
    assert q3.MLP(10, 7, 5, 1).W1.shape == (5, 7)
    with pytest.raises(ValueError) as info:
        q3.MLP(10, 7, 5, 2)
    assert "\n" not in str(info.value)


def test_solve_analytically_is_the_minimum_norm_least_squares_solution():
    """X like the Ames features with the ones column last: numeric columns, a one-hot group (it
    sums to the ones column), a duplicate column and a never-seen category: rank 6 of 9.
    Catches the normal equations with a ridge or an inverse, a solution not of least norm, and
    a distance that is not Euclidean."""
    q2, rng = script("q2"), np.random.default_rng(0)
    numeric, onehot = rng.normal(size=(60, 3)), np.eye(3)[rng.integers(3, size=60)]
    X = np.hstack([numeric, onehot, numeric[:, :1], np.zeros((60, 1)), np.ones((60, 1))])
    y = 12 + numeric @ [0.3, -0.2, 0.1] + onehot @ [0.1, 0.0, -0.1] + 0.05 * rng.normal(size=60)
    w = q2.solve_analytically(X, y)
    np.testing.assert_allclose(X.T @ (X @ w - y), 0, atol=1e-9)  # a least-squares solution
    np.testing.assert_allclose(np.linalg.svd(X)[2][6:] @ w, 0, atol=1e-10)  # of least norm
    assert q2.distance(w, np.zeros(9)) == pytest.approx(np.sqrt(np.sum(w ** 2)))


def test_dead_units_are_off_for_every_training_row_and_counted_again_if_on_for_a_test_row():
    model = script("q2").NeuralRegression(1, 4)
    # on for training rows (1, 2): units 0 and 3 (at x = 2); for the test row (-1): unit 1 only
    model.W1, model.b1 = np.array([[1.0], [-1.0], [0.0], [2.0]]), np.array([0, 0, 0, -3.0])
    assert model.dead_units(np.array([[1.0], [2.0]]), np.array([[-1.0]])) == [2, 1]
