"""The course skeleton's interface stays callable (Q4's: test_q4.py), and the learning rate
reaches every update: no model has a default learning rate that could stand in for the flag."""
import numpy as np
import pytest

from conftest import script

q2, q3 = script("q2"), script("q3")
RNG = np.random.default_rng(0)
X_REG, Y_REG = RNG.normal(size=(6, 5)), RNG.normal(12, 0.4, size=6)
X_CLS, Y_CLS = RNG.random((6, 5)), np.array([0, 1, 2, 0, 1, 2])


def test_q2_skeleton_interface():
    for model in (q2.LinearRegression(5), q2.NeuralRegression(5, 4)):
        model.train_epoch(X_REG, Y_REG, learning_rate=0.001)
        model.update_weight(X_REG[0], Y_REG[0], learning_rate=0.001)
        assert model.predict(X_REG).shape == (6,)
        assert isinstance(model.evaluate(X_REG, Y_REG), float)
    assert q2.solve_analytically(X_REG, Y_REG).shape == (5,)


def test_q3_skeleton_interface():
    models = [q3.Perceptron(3, 5), q3.LogisticRegression(3, 5), q3.MLP(3, 5, 4, 1)]
    for model in models:
        model.train_epoch(X_CLS, Y_CLS, learning_rate=0.001)  # the skeleton passes it to all
        model.update_weight(X_CLS[0], Y_CLS[0], learning_rate=0.001)
        assert model.predict(X_CLS).shape == (6,) and set(model.predict(X_CLS)) <= {0, 1, 2}
        assert 0 <= model.evaluate(X_CLS, Y_CLS) <= 1
    models[0].update_weight(X_CLS[0], Y_CLS[0])  # the perceptron has no learning rate


def models():
    """[(name, model, X, y, parameters)]: every numpy model that takes a learning rate."""
    np.random.seed(0)
    return [("q2-linear", q2.LinearRegression(5), X_REG, Y_REG, lambda m: [m.w]),
            ("q2-nn", q2.NeuralRegression(5, 4), X_REG, Y_REG,
             lambda m: [m.W1, m.b1, m.w2, np.atleast_1d(m.b2)]),
            ("q3-logistic", q3.LogisticRegression(3, 5), X_CLS, Y_CLS, lambda m: [m.W]),
            ("q3-mlp", q3.MLP(3, 5, 4, 2), X_CLS, Y_CLS, lambda m: m.weights + m.biases)]


@pytest.mark.parametrize("index", range(4), ids=[m[0] for m in models()])
def test_the_step_of_an_epoch_scales_with_the_learning_rate(index):
    """One epoch of one example at learning rates 1e-3 and 2e-3: the second step is twice the
    first, parameter by parameter."""
    steps = []
    for learning_rate in (1e-3, 2e-3):
        _, model, X, y, parameters = models()[index]
        before = [p.copy() for p in parameters(model)]
        model.train_epoch(X[:1], y[:1], learning_rate=learning_rate)
        steps.append([p - b for p, b in zip(parameters(model), before)])
    for small, large in zip(*steps):
        assert np.abs(small).max() > 0
        np.testing.assert_allclose(large, 2 * small, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("index", range(4), ids=[m[0] for m in models()])
def test_no_update_has_a_default_learning_rate(index):
    _, model, X, y, parameters = models()[index]
    before = [p.copy() for p in parameters(model)]
    with pytest.raises(TypeError):
        model.update_weight(X[0], y[0])
    with pytest.raises(TypeError):
        model.train_epoch(X, y)
    for p, b in zip(parameters(model), before):
        np.testing.assert_array_equal(p, b)
