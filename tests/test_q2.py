"""Question 2 (hw1-q2.py): the models' start, an epoch's stop at divergence, the least-squares
solution. (The gradients: test_gradients.py; the committed record: test_scripts.py.)"""
import numpy as np
import pytest

import utils
from conftest import script

q2 = script("q2")


def test_nn_initialisation_is_as_prescribed():
    """Catches another mean or spread per layer, a transposed layer, non-zero biases."""
    utils.configure_seed(0)
    model = q2.NeuralRegression(300, 200)
    assert model.W1.shape == (200, 300) and model.w2.shape == (200,)
    for W in (model.W1, model.w2):  # each layer, not only the two together
        assert abs(W.mean() - 0.1) < 0.02 and abs(W.std() - 0.1) < 0.02
    assert not model.b1.any() and model.b2 == 0
    assert not q2.LinearRegression(7).w.any()


def test_an_epoch_stops_at_the_first_non_finite_loss():
    X = np.ones((5, 2))
    X[2] = 1e200  # its squared error overflows
    with pytest.raises(utils.Diverged) as info:
        q2.LinearRegression(2).train_epoch(X, np.ones(5), 0.001)
    assert info.value.step == 3


def rank_deficient(n=60, seed=0):
    """X (n, 9) like the Ames features with the ones column last: 3 numeric columns, a one-hot
    group of 3 (it sums to the ones column), a duplicate column and a never-seen category.
    Rank 6 of 9."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n, 3))
    onehot = np.eye(3)[rng.integers(3, size=n)]
    X = np.hstack([numeric, onehot, numeric[:, :1], np.zeros((n, 1)), np.ones((n, 1))])
    y = 12 + numeric @ [0.3, -0.2, 0.1] + onehot @ [0.1, 0.0, -0.1] + 0.05 * rng.normal(size=n)
    return X, y


def test_solve_analytically_is_the_minimum_norm_least_squares_solution():
    X, y = rank_deficient()
    assert np.linalg.matrix_rank(X) == 6
    w = q2.solve_analytically(X, y)
    np.testing.assert_allclose(X.T @ (X @ w - y), 0, atol=1e-9)  # a least-squares solution
    null_space = np.linalg.svd(X)[2][6:]
    np.testing.assert_allclose(null_space @ w, 0, atol=1e-10)  # ... of minimum norm
