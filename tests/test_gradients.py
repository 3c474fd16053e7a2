"""Every hand-written gradient (Q2, Q3 and their cross-entropy): one update_weight step, read
back as (before - after) / learning_rate, against central differences and PyTorch autograd
(float64). Bugs caught: a wrong or missing term or sign, a parameter not updated, the learning
rate not (or twice) applied, a gradient after another parameter moved, the loss after the step."""
import warnings

import numpy as np
import pytest

from conftest import script

q2, q3 = script("q2"), script("q3")


def numerical_gradient(f, x, h=1e-6):
    """Central differences of f() (which reads the float64 array x) with respect to x."""
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        grad[i], x[i] = (plus - f()) / (2 * h), old
    return grad


def autograd_gradient(name, arrays):
    """PyTorch autograd's (loss, gradients) of the model `name` with parameters `arrays`, in
    float64; or None, None without torch."""
    try:
        import torch
    except ImportError:
        return None, None
    t = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    x, y = torch.tensor(X), MODELS[name][2]
    out = t[0] @ x if len(t) == 1 else t[2] @ torch.relu(t[0] @ x + t[1]) + t[3]
    loss = (0.5 * (out - y) ** 2 if name.startswith("q2") else
            torch.nn.functional.cross_entropy(out[None], torch.tensor([y])))
    return loss.item(), [g.numpy() for g in torch.autograd.grad(loss, t)]


X = np.random.default_rng(0).random(7) * (np.arange(7) % 3 > 0)  # with exact zeros
MODELS = {  # name: (the model, its parameters' names, y)
    "q2-linear": (lambda: q2.LinearRegression(7), ["w"], 1.3),
    "q2-nn": (lambda: q2.NeuralRegression(7, 6), ["W1", "b1", "w2", "b2"], 0.7),
    "q3-logistic": (lambda: q3.LogisticRegression(4, 7), ["W"], 2),
    "q3-mlp": (lambda: q3.MLP(4, 7, 6), ["W1", "b1", "W2", "b2"], 2),
}


def make(name, logits=None):
    """The model with random weights of both signs (hidden units on and off, none at the
    kink), its parameters as float64 arrays (a scalar bias as a 0-d array), and its loss."""
    (build, names, y), x = MODELS[name], X
    rng = np.random.default_rng(sorted(MODELS).index(name))
    while True:
        model = build()
        for p in names:
            setattr(model, p, rng.normal(0, 0.5, np.shape(getattr(model, p))))
        z1 = model.W1 @ x + model.b1 if hasattr(model, "W1") else np.array([-1.0, 1.0])
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


@pytest.mark.parametrize("name, logits", [(name, None) for name in MODELS] + [
    (name, 3e3) for name in MODELS if name.startswith("q3")])
def test_step_is_the_finite_difference_and_autograds_gradient(name, logits):
    """Catches every bug above; with logits of about 3,000 too (Q3): an overflow, NaN or warning
    of an unstable cross-entropy."""
    model, params, loss = make(name, logits)
    x, y = X, MODELS[name][2]
    numeric = None if logits else [numerical_gradient(loss, p) for p in params()]
    expected_loss, expected = autograd_gradient(name, params())
    lr = 1.0 if logits else 0.01  # 1: (before - after) / lr stays exact beside large weights
    before, first = [np.array(p, dtype=float) for p in params()], loss()
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        returned = model.update_weight(x, y, lr)
    assert returned == pytest.approx(first, rel=1e-12)  # the loss before the step
    assert expected_loss is None or first == pytest.approx(expected_loss, rel=1e-12)
    for i, (b, a) in enumerate(zip(before, params())):
        if expected:
            np.testing.assert_allclose((b - a) / lr, expected[i], rtol=1e-9, atol=1e-12)
        if numeric:  # torch-free too, and every parameter has a gradient to check
            assert np.abs(numeric[i]).max() > 0
            np.testing.assert_allclose((b - a) / lr, numeric[i], rtol=1e-5, atol=1e-8)
