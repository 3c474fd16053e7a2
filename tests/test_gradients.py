"""Every hand-written gradient of the numpy models (Q2: linear regression and the network; Q3:
logistic regression and MLPs of 1 and 2 hidden layers): one update_weight step against central
finite differences and against PyTorch autograd (float64), and the parameters after it against
the same SGD step taken by hand in torch. Runs without torch (the autograd tests skip)."""
import warnings
from collections import namedtuple

import numpy as np
import pytest

from conftest import script
from gradcheck import numerical_gradient

q2, q3 = script("q2"), script("q3")
Case = namedtuple("Case", "model params x y loss torch_loss")  # params() -> the live arrays


def q2_linear(rng):
    model, x, y = q2.LinearRegression(7), rng.normal(size=7), 1.3
    model.w = rng.normal(size=7)
    return Case(model, lambda: [model.w], x, y,
                lambda: 0.5 * (model.predict(x[None])[0] - y) ** 2,
                lambda t, torch: 0.5 * (t[0] @ torch.tensor(x) - y) ** 2)


def q2_network(rng):
    """Weights of both signs and an x that leaves some hidden units on and some off, none
    near the kink (where finite differences are not valid)."""
    model = q2.NeuralRegression(5, 6)
    while True:
        model.W1, model.b1 = rng.normal(size=(6, 5)), rng.normal(size=6)
        model.w2 = rng.normal(size=6)
        model.b2 = np.array(0.3)  # a 0-d array, so that finite differences can perturb it
        x, y = rng.normal(size=5), 0.7
        z1 = model.W1 @ x + model.b1
        if (z1 > 0).any() and (z1 < 0).any() and np.abs(z1).min() > 1e-2:
            break

    def torch_loss(t, torch):
        return 0.5 * (t[2] @ torch.relu(t[0] @ torch.tensor(x) + t[1]) + t[3] - y) ** 2
    return Case(model, lambda: [model.W1, model.b1, model.w2, model.b2], x, y,
                lambda: 0.5 * (model.predict(x[None])[0] - y) ** 2, torch_loss)


def q3_model(layers):
    """Logistic regression (layers=0) or an MLP, on an example with exact zeros (like pixels);
    the MLP's weights centred so that relu's derivative is met where it is 0 as well as 1."""
    def case(rng):
        x, y = rng.random(7) * (rng.random(7) > 0.3), int(rng.integers(4))
        if layers == 0:
            model = q3.LogisticRegression(4, 7)
            model.W = rng.normal(0, 0.5, size=(4, 7))
            params = lambda: [model.W]  # noqa: E731
        else:
            model = q3.MLP(4, 7, 6, layers)
            for W, b in zip(model.weights, model.biases):
                W[...], b[...] = rng.normal(0, 0.5, W.shape), rng.normal(0, 0.1, b.shape)
            hidden = np.concatenate([z for _, z in model.forward(x)[1][:-1]])
            assert (hidden > 0).any() and (hidden < 0).any()
            params = lambda: model.weights + model.biases  # noqa: E731

        def torch_loss(t, torch):
            h, n = torch.tensor(x), layers + 1
            for l in range(n):  # noqa: E741
                h = t[l] @ h + (t[n + l] if layers else 0)
                h = torch.relu(h) if l < n - 1 else h
            return torch.nn.functional.cross_entropy(h[None], torch.tensor([y]))
        return Case(model, params, x, y,
                    lambda: q3.cross_entropy(model.scores(x[None])[0], y)[0], torch_loss)
    return case


CASES = {"q2-linear": q2_linear, "q2-nn": q2_network, "q3-logistic": q3_model(0),
         "q3-mlp": q3_model(1), "q3-mlp-2-layers": q3_model(2)}


def make(name, logits=None):
    case = CASES[name](np.random.default_rng(sorted(CASES).index(name)))
    if logits:  # the last layer scaled until the largest logit is about `logits`
        last = case.params()[len(case.params()) // 2 - 1 if "mlp" in name else 0]
        last *= logits / np.abs(case.model.scores(case.x[None])).max()
    return case


def step(case, learning_rate):
    """update_weight once: (the loss it returned, the gradients it applied)."""
    before = [np.array(p, dtype=float) for p in case.params()]
    loss = case.model.update_weight(case.x, case.y, learning_rate=learning_rate)
    return loss, [(b - a) / learning_rate for b, a in zip(before, case.params())]


@pytest.mark.parametrize("name", CASES)
def test_step_is_the_finite_difference_gradient(name):
    case = make(name)
    numeric = [numerical_gradient(case.loss, p) for p in case.params()]
    expected_loss = case.loss()
    loss, applied = step(case, 0.1)
    assert loss == pytest.approx(expected_loss, rel=1e-12)  # the loss before the step
    for g, n in zip(applied, numeric):
        assert np.abs(g).max() > 0
        np.testing.assert_allclose(g, n, rtol=1e-5, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("name, logits", [(name, None) for name in CASES] + [
    (name, 3e3) for name in CASES if name.startswith("q3")])
def test_step_is_autograds_gradient_and_torchs_sgd_step(name, logits):
    """With logits of about 3,000 too (Q3): no overflow, NaN or warning, the same numbers."""
    torch = pytest.importorskip("torch")
    case = make(name, logits)
    tensors = [torch.tensor(np.array(p, dtype=float), requires_grad=True) for p in case.params()]
    expected = case.torch_loss(tensors, torch)
    expected.backward()
    lr = 1.0 if logits else 0.01  # 1: (before - after) / lr stays exact beside large weights
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss, applied = step(case, lr)
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    with torch.no_grad():
        for g, p, t in zip(applied, case.params(), tensors):
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
            t -= lr * t.grad  # the same SGD step, by hand in torch
            np.testing.assert_allclose(p, t.numpy(), rtol=1e-12, atol=1e-15, err_msg=name)
