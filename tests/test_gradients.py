"""Every hand-written gradient (Q2 and Q3): one update_weight step of each differentiable model
of a script's MODELS table, read back as (before - after) / learning_rate, against central
differences of the model's own loss and against PyTorch autograd of the textbook model (float64).
Catches a wrong or missing term or sign, a missing ReLU mask, a parameter not updated, the
learning rate not (or twice) applied, a gradient taken after another parameter moved, the loss
after the step, a prediction that is not the model's output."""
import copy

import numpy as np
import pytest

from conftest import NUMPY_MODELS, parse, script

torch = pytest.importorskip("torch")

NOT_DIFFERENTIABLE = {"perceptron"}
MODELS = [(question, name) for question, name in NUMPY_MODELS if name not in NOT_DIFFERENTIABLE]
X = np.random.default_rng(0).random(7) * (np.arange(7) % 3 > 0)  # pixel-like, exact zeros
TARGET = {"q2": 1.3, "q3": 2}


def hidden(p, x):
    """The hidden ReLU units (h,) for one example x (d,)."""
    return torch.relu(p["W1"] @ x + p["b1"])


# The model's output for one example x (d,), from its parameters p: a prediction (Q2), logits
# (Q3). A new differentiable model fails here (KeyError) until its textbook line is added.
TEXTBOOK = {
    "linear_regression": lambda p, x: p["w"] @ x,
    "nn": lambda p, x: p["w2"] @ hidden(p, x) + p["b2"],
    "logistic_regression": lambda p, x: p["W"] @ x,
    "mlp": lambda p, x: p["W2"] @ hidden(p, x) + p["b2"],
}


def parameters(model):
    """The model's parameter arrays (and scalars), by attribute name."""
    return {k: v for k, v in vars(model).items() if isinstance(v, (np.ndarray, float))}


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


@pytest.mark.parametrize("question, name", MODELS)
def test_a_step_is_the_gradient_of_the_loss(question, name):
    module, y, lr = script(question), TARGET[question], 0.01
    model = module.MODELS[name][1](parse(question, [name, "-hidden_size", 6]), len(X))
    rng = np.random.default_rng(1)  # weights of both signs: hidden units on and off
    for key, value in parameters(model).items():
        setattr(model, key, rng.normal(0, 0.5, np.shape(value)))
    before = copy.deepcopy(parameters(model))
    if "W1" in before:  # units on both sides of the ReLU's kink, none near it
        z1 = before["W1"] @ X + before["b1"]
        assert (z1 > 0.01).any() and (z1 < -0.01).any() and np.abs(z1).min() > 0.01

    def own_loss():  # the model's loss at its current weights, as its step returns it
        return copy.deepcopy(model).update_weight(X, y, lr)
    numeric = {key: numerical_gradient(own_loss, value) for key, value in parameters(model).items()}
    tensors = {key: torch.tensor(value, requires_grad=True) for key, value in before.items()}
    out = TEXTBOOK[name](tensors, torch.tensor(X))
    loss = (0.5 * (out - y) ** 2 if question == "q2" else
            torch.nn.functional.cross_entropy(out[None], torch.tensor([y])))
    autograd = dict(zip(tensors, torch.autograd.grad(loss, list(tensors.values()))))
    predicted = model.predict(X[None])[0]
    assert predicted == (pytest.approx(out.item()) if question == "q2" else out.argmax().item())

    assert model.update_weight(X, y, lr) == pytest.approx(loss.item(), rel=1e-12)
    for key, value in before.items():
        step = (value - getattr(model, key)) / lr
        np.testing.assert_allclose(step, autograd[key].numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=key)
        np.testing.assert_allclose(step, numeric[key], rtol=1e-5, atol=1e-8, err_msg=key)
        assert np.abs(step).max() > 0, key  # each parameter has a gradient to check
