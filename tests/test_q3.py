"""Question 3 (hw1-q3.py): the perceptron's rule, the cross-entropy, the MLP's start and an epoch.
(The gradients of logistic regression and the MLP: test_gradients.py.)"""
import math

import numpy as np
import pytest

import utils
from conftest import script

q3 = script("q3")


def test_perceptron_moves_two_rows_on_a_mistake_and_nothing_when_right():
    """Catches: a missing or swapped row update, an update when right, a learning rate."""
    W = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]])
    model, x = q3.Perceptron(3, 4), np.array([0.1, 0.2, 0.9, 1.0])  # predicts 2
    model.W = W.copy()
    assert model.update_weight(x, 2) == 0.0 and np.array_equal(model.W, W)
    assert model.update_weights(x, 0) == 1.0  # the assignment's name for the method
    np.testing.assert_array_equal(model.W, W + np.outer([1, 0, -1], x))


def test_perceptron_epoch_loss_is_its_mistake_rate_and_it_separates_separable_data():
    """Catches the mistakes' sum as the epoch's loss, a prediction along the wrong axis."""
    rng = np.random.default_rng(0)
    X = np.hstack([rng.normal(size=(300, 5)), np.ones((300, 1))])
    scores = X @ rng.normal(size=(4, 6)).T
    top2 = np.sort(scores, axis=1)[:, -2:]
    keep = top2[:, 1] - top2[:, 0] > 0.5  # a margin, so that it converges quickly
    X, y = X[keep], scores[keep].argmax(axis=1)
    model, twin = q3.Perceptron(4, 6), q3.Perceptron(4, 6)
    mistakes = sum(twin.update_weight(x_i, y_i) for x_i, y_i in zip(X, y))
    assert model.train_epoch(X, y) == mistakes / len(y) > 0
    for _ in range(20):
        if model.train_epoch(X, y) == 0.0:
            break
    assert model.evaluate(X, y) == 1.0


def test_mlp_initialisation_is_as_prescribed():
    """Catches: another mean or spread, a transposed layer, non-zero biases (or linear models'
    weights)."""
    utils.configure_seed(0)
    model = q3.MLP(10, 300, 200)
    assert (model.W1.shape, model.W2.shape) == ((200, 300), (10, 200))
    for W in (model.W1, model.W2):
        assert abs(W.mean() - 0.1) < 0.01 and abs(W.std() - 0.1) < 0.01
    assert (model.b1.shape, model.b2.shape) == ((200,), (10,))
    assert not model.b1.any() and not model.b2.any()
    assert not q3.Perceptron(10, 7).W.any() and not q3.LogisticRegression(10, 7).W.any()


def test_an_epoch_returns_the_mean_loss_and_stops_at_a_non_finite_one(monkeypatch):
    """Catches the sum (or the last) as the epoch's loss, other steps, a step after NaN."""
    rng = np.random.default_rng(4)  # pixel-like: in [0, 1), half of them exactly zero
    X, y = rng.random((50, 7)) * (rng.random((50, 7)) >= 0.5), rng.integers(0, 4, size=50)
    model, twin = q3.LogisticRegression(4, 7), q3.LogisticRegression(4, 7)
    losses = [twin.update_weight(x_i, y_i, 0.01) for x_i, y_i in zip(X, y)]
    assert model.train_epoch(X, y, 0.01) == pytest.approx(np.mean(losses))
    np.testing.assert_array_equal(model.W, twin.W)  # the same steps, in the same order

    real, calls = q3.cross_entropy, []

    def poisoned(logits, y_i):  # the 7th example's loss is NaN
        calls.append(1)
        loss, grad = real(logits, y_i)
        return (math.nan if len(calls) == 7 else loss), grad
    monkeypatch.setattr(q3, "cross_entropy", poisoned)
    with pytest.raises(utils.Diverged) as stop:
        model.train_epoch(X, y, 0.01)
    assert stop.value.step == 7 and len(calls) == 7
