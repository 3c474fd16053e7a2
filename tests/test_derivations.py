"""The report's theory (report/sections/q1.tex, q2_1.tex) checked numerically where no other test
does: the binary logistic loss's L' and L'' (Q1.1-1.2), the multinomial loss's Hessian
diag(p) - p p^T, positive semi-definite with null direction 1 (Q1.3-1.4), the parameter
Hessians A^T H A of the linear models (Q1.5, Q2.1), and the tanh counterexample of Q1.5.
(The gradient softmax(z) - e_y is the script's cross_entropy: test_gradients.py.)"""
import numpy as np
import pytest

from gradcheck import numerical_gradient

LOG2, LOG3 = np.log(2.0), np.log(3.0)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def hessian(f, x):
    """Second derivatives of f(x) by finite differences of numerical gradients."""
    def grad_at(v):
        v = np.array(v, dtype=float)
        return numerical_gradient(lambda: f(v), v, h=1e-5)
    return np.stack([(grad_at(x + e) - grad_at(x - e)) / 2e-4 for e in np.eye(x.size) * 1e-4])


@pytest.mark.parametrize("y", [+1, -1])
def test_binary_logistic_derivatives(y):
    """L(z; y) = log(1 + exp(-y z)): L' = sigma(z) - 1 (y = +1) or sigma(z) (y = -1), and
    L'' = sigma(z) (1 - sigma(z)) > 0 for both labels."""
    z = np.linspace(-10, 10, 41)
    s = 1 / (1 + np.exp(-z))
    L = lambda t: np.logaddexp(0.0, -y * t)  # noqa: E731
    d1 = (L(z + 1e-6) - L(z - 1e-6)) / 2e-6
    d2 = (L(z + 1e-3) - 2 * L(z) + L(z - 1e-3)) / 1e-6
    np.testing.assert_allclose(s - 1 if y == 1 else s, d1, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(s * (1 - s), d2, rtol=1e-4, atol=1e-7)


def test_multinomial_hessian_is_psd_with_null_direction_ones():
    rng = np.random.default_rng(1)
    K, j = 5, 3
    z = rng.normal(scale=2.0, size=K)
    p = softmax(z)
    H = np.diag(p) - np.outer(p, p)
    loss = lambda t: float(np.log(np.exp(t).sum()) - t[j])  # noqa: E731
    np.testing.assert_allclose(hessian(loss, z), H, atol=1e-6)
    torch = pytest.importorskip("torch")
    exact = torch.autograd.functional.hessian(lambda t: -torch.log_softmax(t, 0)[j],
                                              torch.tensor(z))
    np.testing.assert_allclose(exact.numpy(), H, atol=1e-12)
    eig = np.linalg.eigvalsh(H)
    assert eig[0] >= -1e-12 and eig[1] > 1e-12  # PSD of rank K - 1 ...
    np.testing.assert_allclose(H @ np.ones(K), 0.0, atol=1e-15)  # ... its null direction 1


def test_parameter_hessians_of_the_linear_models():
    """z = A theta: Q1.5's A = [phi^T kron I_K, I_K] gives A^T (diag p - p p^T) A; Q2.1's
    A = [I_K kron phi^T, I_K] gives the squared loss's Hessian A^T A."""
    rng = np.random.default_rng(6)
    D, K, j = 3, 4, 2
    phi, theta, y = rng.normal(size=D), rng.normal(size=D * K + K), rng.normal(size=K)
    A = np.hstack([np.kron(phi[None, :], np.eye(K)), np.eye(K)])
    p = softmax(A @ theta)
    loss = lambda t: float(np.log(np.exp(A @ t).sum()) - (A @ t)[j])  # noqa: E731
    np.testing.assert_allclose(hessian(loss, theta), A.T @ (np.diag(p) - np.outer(p, p)) @ A,
                               atol=1e-6)
    A = np.hstack([np.kron(np.eye(K), phi[None, :]), np.eye(K)])
    W = theta[:D * K].reshape(D, K, order="F")
    np.testing.assert_allclose(A @ theta, W.T @ phi + theta[D * K:], atol=1e-12)
    np.testing.assert_allclose(hessian(lambda t: 0.5 * np.sum((A @ t - y) ** 2), theta),
                               A.T @ A, atol=1e-5)


# Q1.5's counterexample: x = +1 with labels 1, 1, 2 and x = -1 with labels 2, 2, 1 (0-based
# below); z = v tanh(w x). theta_A = (log 3 / 2, log 2, -log 2) and theta_B = -theta_A.
X_CE, Y_CE = np.array([1.0, 1, 1, -1, -1, -1]), np.array([0, 0, 1, 1, 1, 0])
THETA_A = np.array([LOG3 / 2, LOG2, -LOG2])
F_STAR = 6 * LOG3 - 4 * LOG2


def tanh_loss(theta):
    z = np.tanh(theta[0] * X_CE)[:, None] * theta[None, 1:]
    return float(np.sum(np.log(np.exp(z).sum(axis=1)) - z[np.arange(6), Y_CE]))


def test_tanh_counterexample_two_global_minima_and_a_worse_midpoint():
    rng = np.random.default_rng(7)
    assert min(tanh_loss(rng.normal(scale=s, size=3)) for s in (0.3, 1, 3)
               for _ in range(300)) >= F_STAR - 1e-12  # F* bounds the loss below
    for theta in (THETA_A, -THETA_A):
        assert tanh_loss(theta) == pytest.approx(F_STAR, abs=1e-12)  # attained: global minima
        grad = numerical_gradient(lambda: tanh_loss(theta), theta.copy())
        np.testing.assert_allclose(grad, 0.0, atol=1e-8)
    gap = tanh_loss(np.zeros(3)) - F_STAR  # the midpoint is worse: not convex
    assert gap == pytest.approx(10 * LOG2 - 6 * LOG3, abs=1e-12) and gap > 0.3
