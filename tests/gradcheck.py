"""The tests' one numerical-gradient helper (the idea of CS231n's eval_numerical_gradient)."""
import numpy as np


def numerical_gradient(f, x, h=1e-6):
    """Central differences of the scalar function f() with respect to the array x, in place.

    f takes no argument and reads x (a float64 array, perturbed one entry at a time and
    restored). Returns an array shaped like x: (f(x + h e_i) - f(x - h e_i)) / 2h per entry.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        plus = f()
        x[index] = old - h
        minus = f()
        x[index] = old
        grad[index] = (plus - minus) / (2 * h)
    return grad


def autograd_gradient(f, arrays):
    """PyTorch autograd's gradient of f(tensors) (a float64 scalar) at `arrays`: (value, grads).
    Skips the calling test when torch is not installed."""
    import pytest
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    value = f(tensors, torch)
    return value.item(), [g.numpy() for g in torch.autograd.grad(value, tensors)]
