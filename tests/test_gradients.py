"""Every hand-written gradient (Q2: linear regression and the network; Q3: logistic regression
and the MLP, and the cross-entropy they share): one update_weight step, read back as
(before - after) / learning_rate, against central finite differences and against PyTorch
autograd (float64). One table, MODELS: a new numpy model is covered by one line.

Bugs caught: a wrong or missing term of a gradient, a wrong sign, a parameter not updated, the
learning rate not (or twice) applied, a gradient taken after another parameter moved, the loss
returned after the step instead of before, a default learning rate standing in for the flag.
"""
import math
import warnings

import numpy as np
import pytest

from conftest import script
from gradcheck import autograd_gradient, numerical_gradient

q2, q3 = script("q2"), script("q3")


def relu_net(t, x, torch):
    """W1, b1, then the output layer of a one-hidden-layer ReLU network on x."""
    return torch.relu(t[0] @ torch.tensor(x) + t[1])


def squared(y):
    return lambda out: 0.5 * (out - y) ** 2


def xent(y):
    return lambda out, torch: torch.nn.functional.cross_entropy(out[None], torch.tensor([y]))


# name: (build(rng) -> model, its parameter names, x, y, torch's loss of the parameters)
X7, Y_CLASS = np.random.default_rng(0).random(7) * (np.arange(7) % 3 > 0), 2  # exact zeros
MODELS = {
    "q2-linear": (lambda rng: q2.LinearRegression(7), ["w"], X7, 1.3,
                  lambda t, torch: squared(1.3)(t[0] @ torch.tensor(X7))),
    "q2-nn": (lambda rng: q2.NeuralRegression(7, 6), ["W1", "b1", "w2", "b2"], X7, 0.7,
              lambda t, torch: squared(0.7)(t[2] @ relu_net(t, X7, torch) + t[3])),
    "q3-logistic": (lambda rng: q3.LogisticRegression(4, 7), ["W"], X7, Y_CLASS,
                    lambda t, torch: xent(Y_CLASS)(t[0] @ torch.tensor(X7), torch)),
    "q3-mlp": (lambda rng: q3.MLP(4, 7, 6), ["W1", "b1", "W2", "b2"], X7, Y_CLASS,
               lambda t, torch: xent(Y_CLASS)(t[2] @ relu_net(t, X7, torch) + t[3], torch)),
}


def make(name, logits=None):
    """The model with random weights of both signs (hidden units on and off, none at the
    kink), its parameters as float64 arrays (a scalar bias as a 0-d array), and its loss."""
    build, names, x, y, _ = MODELS[name]
    rng = np.random.default_rng(sorted(MODELS).index(name))
    while True:
        model = build(rng)
        for p in names:
            setattr(model, p, rng.normal(0, 0.5, np.shape(getattr(model, p))))
        if not hasattr(model, "W1"):
            break
        z1 = model.W1 @ x + model.b1
        if (z1 > 0).any() and (z1 < 0).any() and np.abs(z1).min() > 1e-2:
            break
    if logits:  # the output layer scaled until the largest logit is about `logits`
        out = getattr(model, "W2", getattr(model, "W", None))
        out *= logits / np.abs(model.scores(x[None])).max()

    def loss():
        if name.startswith("q2"):
            return 0.5 * (model.predict(x[None])[0] - y) ** 2
        return q3.cross_entropy(model.scores(x[None])[0], y)[0]
    return model, lambda: [getattr(model, p) for p in names], loss


def step(model, params, x, y, learning_rate):
    """update_weight once: (the loss it returned, the gradients it applied)."""
    before = [np.array(p, dtype=float) for p in params()]
    loss = model.update_weight(x, y, learning_rate)
    return loss, [(b - a) / learning_rate for b, a in zip(before, params())]


@pytest.mark.parametrize("name", MODELS)
def test_step_is_the_finite_difference_gradient(name):
    model, params, loss = make(name)
    _, _, x, y, _ = MODELS[name]
    numeric = [numerical_gradient(loss, p) for p in params()]
    expected_loss = loss()
    returned, applied = step(model, params, x, y, 0.1)
    assert returned == pytest.approx(expected_loss, rel=1e-12)  # the loss before the step
    for g, n in zip(applied, numeric):
        assert np.abs(n).max() > 0
        np.testing.assert_allclose(g, n, rtol=1e-5, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("name, logits", [(name, None) for name in MODELS] + [
    (name, 3e3) for name in MODELS if name.startswith("q3")])
def test_step_is_autograds_gradient(name, logits):
    """With logits of about 3,000 too (Q3): no overflow, NaN or warning, the same numbers."""
    model, params, _ = make(name, logits)
    _, _, x, y, torch_loss = MODELS[name]
    expected_loss, expected = autograd_gradient(torch_loss, params())
    lr = 1.0 if logits else 0.01  # 1: (before - after) / lr stays exact beside large weights
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        returned, applied = step(model, params, x, y, lr)
    assert returned == pytest.approx(expected_loss, rel=1e-12)
    for g, e in zip(applied, expected):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("name", MODELS)
def test_no_update_has_a_default_learning_rate(name):
    """Catches a default learning rate that could stand in for the flag."""
    model, params, _ = make(name)
    _, _, x, y, _ = MODELS[name]
    with pytest.raises(TypeError):
        model.update_weight(x, y)


# ---------------------------------------------------------------------------------------------
# The cross-entropy (Q3; the report's Q1.3 gradient softmax(z) - e_y)

def test_cross_entropy_is_its_finite_difference_and_autograd_gradient():
    logits = np.array([0.3, -1.2, 2.0, 0.5])
    numeric = numerical_gradient(lambda: q3.cross_entropy(logits, 2)[0], logits)
    loss, grad = q3.cross_entropy(logits, 2)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    value, (expected,) = autograd_gradient(lambda t, torch: xent(2)(t[0], torch), [logits])
    assert loss == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)


def test_cross_entropy_is_stable_for_logits_in_the_thousands():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grad = q3.cross_entropy(np.array([5000.0, -3000.0, 0.0]), 1)
        assert loss == pytest.approx(8000.0, rel=1e-15)
        np.testing.assert_allclose(grad, [1.0, -1.0, 0.0], atol=1e-300)
        loss, _ = q3.cross_entropy(np.array([2000.0, 2000.0 + math.log(3)]), 0)
        assert loss == pytest.approx(math.log(4), rel=1e-12)
