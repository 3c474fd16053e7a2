"""Numeric checks of the derivations in report/sections/q1.tex and q2_1.tex.

Every closed form the report derives (sigmoid derivative, binary logistic L' and L'',
softmax Jacobian, multinomial gradient and Hessian, the affine maps of Q1.5 / Q2.1) is
compared against central finite differences (and PyTorch autograd when available);
convexity of the linear-model losses is probed along random lines; the counterexamples of
Q1.5 (the tanh network whose sign-flipped global minima have a worse midpoint) is evaluated
with exactly the parameters in the report, and every decimal
the theory sections print is one of the values checked here.
Everything is float64 and tiny: the whole file runs in a few seconds.
"""
import os
import re

import numpy as np
import pytest

from gradcheck import numerical_gradient

LOG2, LOG3 = np.log(2.0), np.log(3.0)


# ---------------------------------------------------------------- the functions
def sigmoid(z):
    """Numerically stable logistic function, elementwise."""
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def binary_logistic_loss(z, y):
    """L(z; y) = -log sigma(y z) = log(1 + exp(-y z)) for y in {+1, -1}."""
    return np.logaddexp(0.0, -y * z)


def softmax(z):
    """z: (..., K) logits -> (..., K) probabilities."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def logsumexp(z):
    """z: (..., K) -> (...,)"""
    m = z.max(axis=-1)
    return m + np.log(np.exp(z - m[..., None]).sum(axis=-1))


def multinomial_loss(z, j):
    """L(z; y=j) = -log softmax(z)_j for one logit vector z: (K,)."""
    return logsumexp(z) - z[j]


def multinomial_loss_batch(Z, y):
    """Summed cross-entropy. Z: (N, K) logits, y: (N,) int labels -> scalar."""
    return float(np.sum(logsumexp(Z) - Z[np.arange(len(y)), y]))


# ------------------------------------------------------------ finite differences
def num_grad(f, x, h=1e-6):
    """Central-difference gradient of a scalar f at x: (n,) -> (n,) (tests/gradcheck.py)."""
    x = np.array(x, dtype=np.float64)
    return numerical_gradient(lambda: f(x), x, h)


def num_jacobian(f, x, h=1e-6):
    """Central-difference Jacobian of f: (n,) -> (m,) at x, shape (m, n)."""
    cols = []
    for i in range(x.size):
        d = np.zeros_like(x)
        d[i] = h
        cols.append((f(x + d) - f(x - d)) / (2 * h))
    return np.stack(cols, axis=1)


def num_hessian(f, x, h=1e-4):
    """Hessian of a scalar f from second differences of f itself (no gradient used)."""
    n = x.size
    H = np.zeros((n, n))
    E = np.eye(n) * h
    for i in range(n):
        for k in range(n):
            H[i, k] = (f(x + E[i] + E[k]) - f(x + E[i] - E[k])
                       - f(x - E[i] + E[k]) + f(x - E[i] - E[k])) / (4 * h * h)
    return H


# ------------------------------------------------------------------ Q1.1 - Q1.2
def test_sigmoid_derivative_matches_finite_differences():
    z = np.linspace(-12, 12, 97)
    fd = (sigmoid(z + 1e-6) - sigmoid(z - 1e-6)) / 2e-6
    closed = sigmoid(z) * (1 - sigmoid(z))
    np.testing.assert_allclose(closed, fd, rtol=1e-6, atol=1e-10)
    # the identity 1 - sigma(z) = sigma(-z) used for the y = -1 case
    np.testing.assert_allclose(1 - sigmoid(z), sigmoid(-z), atol=1e-15)


@pytest.mark.parametrize("y", [+1, -1])
def test_binary_logistic_first_and_second_derivatives(y):
    z = np.linspace(-10, 10, 81)
    s = sigmoid(z)
    # the loss as written in the assignment, equation (1)
    eq1 = -(1 + y) / 2 * np.log(s) - (1 - y) / 2 * np.log(1 - s)
    np.testing.assert_allclose(binary_logistic_loss(z, y), eq1, rtol=1e-10, atol=1e-12)

    L = lambda t: binary_logistic_loss(t, y)
    h1, h2 = 1e-6, 1e-3
    d1 = (L(z + h1) - L(z - h1)) / (2 * h1)
    d2 = (L(z + h2) - 2 * L(z) + L(z - h2)) / h2**2
    closed_d1 = s - 1 if y == +1 else s          # L'(z;+1) = sigma - 1, L'(z;-1) = sigma
    closed_d2 = s * (1 - s)                       # the same for both labels
    np.testing.assert_allclose(closed_d1, d1, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(closed_d2, d2, rtol=1e-4, atol=1e-7)
    assert np.all(closed_d2 > 0)
    assert np.all(d2 > 0)                         # strictly convex, numerically too


# ------------------------------------------------------------------ Q1.3 - Q1.4
def test_softmax_jacobian_matches_finite_differences():
    rng = np.random.default_rng(0)
    for K in (2, 3, 7):
        z = rng.normal(scale=2.0, size=K)
        p = softmax(z)
        J = np.diag(p) - np.outer(p, p)
        np.testing.assert_allclose(J, num_jacobian(softmax, z), atol=1e-9)


def test_multinomial_gradient_and_hessian_match_finite_differences():
    rng = np.random.default_rng(1)
    for K in (2, 4, 6):
        z = rng.normal(scale=2.0, size=K)
        p = softmax(z)
        H = np.diag(p) - np.outer(p, p)
        for j in range(K):
            f = lambda t: multinomial_loss(t, j)
            np.testing.assert_allclose(p - np.eye(K)[j], num_grad(f, z), atol=1e-8)
            np.testing.assert_allclose(H, num_hessian(f, z), atol=1e-6)


def test_multinomial_gradient_and_hessian_match_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    K, j = 5, 3
    z = rng.normal(scale=2.0, size=K)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    loss_fn = lambda t: -torch.log_softmax(t, dim=0)[j]
    (grad,) = torch.autograd.grad(loss_fn(zt), zt)
    hess = torch.autograd.functional.hessian(loss_fn, zt.detach())
    p = softmax(z)
    np.testing.assert_allclose(grad.numpy(), p - np.eye(K)[j], atol=1e-12)
    np.testing.assert_allclose(hess.numpy(), np.diag(p) - np.outer(p, p), atol=1e-12)


def test_multinomial_hessian_is_psd_with_ones_null_direction():
    rng = np.random.default_rng(3)
    for _ in range(200):
        K = int(rng.integers(2, 12))
        z = rng.normal(scale=rng.choice([0.1, 1.0, 5.0]), size=K)
        p = softmax(z)
        H = np.diag(p) - np.outer(p, p)
        eig = np.linalg.eigvalsh(H)
        assert eig[0] >= -1e-12                                  # PSD
        np.testing.assert_allclose(H @ np.ones(K), 0.0, atol=1e-15)  # H 1 = 0
        assert eig[1] > 1e-12                                    # rank K - 1: only 1 is null
        v = rng.normal(size=K)                                   # v^T H v = Var_p(v)
        var = p @ v**2 - (p @ v) ** 2
        np.testing.assert_allclose(v @ H @ v, var, rtol=1e-10, atol=1e-14)
        # the loss is constant along 1
        c = rng.normal()
        assert abs(multinomial_loss(z + c, 0) - multinomial_loss(z, 0)) < 1e-12


# ------------------------------------------------------- Q1.5 and Q2.1 convexity
def convexity_violations(F, dim, rng, pairs=300, scale=3.0, h=1e-3):
    """Probe a scalar F on R^dim along random lines.

    Returns (worst Jensen gap, most negative second difference), where the Jensen gap
    F(l a + (1-l) b) - [l F(a) + (1-l) F(b)] is <= 0 and the second difference
    F(c+hd) - 2F(c) + F(c-hd) over h^2 is >= 0 everywhere for a convex F.
    """
    worst_gap, worst_curv = -np.inf, np.inf
    for _ in range(pairs):
        a, b = rng.normal(scale=scale, size=(2, dim))
        lam = rng.uniform()
        gap = F(lam * a + (1 - lam) * b) - (lam * F(a) + (1 - lam) * F(b))
        d = (b - a) / np.linalg.norm(b - a)
        c = a + rng.uniform() * (b - a)
        curv = (F(c + h * d) - 2 * F(c) + F(c - h * d)) / h**2
        worst_gap, worst_curv = max(worst_gap, gap), min(worst_curv, curv)
    return worst_gap, worst_curv


def linear_multinomial_objective(Phi, y, K):
    """F(theta), theta = (W (K, D) flattened, b (K,)), z = W phi + b as in Q1.5."""
    N, D = Phi.shape

    def F(theta):
        W, b = theta[:K * D].reshape(K, D), theta[K * D:]
        return multinomial_loss_batch(Phi @ W.T + b, y)

    return F, K * D + K


def squared_objective(Phi, Y):
    """F(theta), theta = (W (D, K) flattened, b (K,)), z = W^T phi + b as in Q2.1."""
    N, D = Phi.shape
    K = Y.shape[1]

    def F(theta):
        W, b = theta[:D * K].reshape(D, K), theta[D * K:]
        return 0.5 * float(np.sum((Phi @ W + b - Y) ** 2))

    return F, D * K + K


def test_linear_model_multinomial_loss_is_convex_along_random_lines():
    rng = np.random.default_rng(4)
    N, D, K = 25, 4, 3
    Phi, y = rng.normal(size=(N, D)), rng.integers(0, K, size=N)
    F, dim = linear_multinomial_objective(Phi, y, K)
    gap, curv = convexity_violations(F, dim, rng)
    assert gap <= 1e-9
    assert curv >= -1e-4


def test_squared_loss_is_convex_along_random_lines():
    rng = np.random.default_rng(5)
    N, D, K = 25, 4, 2
    Phi, Y = rng.normal(size=(N, D)), rng.normal(size=(N, K))
    F, dim = squared_objective(Phi, Y)
    gap, curv = convexity_violations(F, dim, rng)
    assert gap <= 1e-9
    assert curv >= -1e-4


def test_affine_maps_and_parameter_hessians_of_the_report():
    """z = A theta with the Kronecker forms of Q1.5 / Q2.1 (vec stacks columns), and
    the parameter Hessians A^T (diag p - p p^T) A and A^T A."""
    rng = np.random.default_rng(6)
    D, K = 3, 4
    phi, b = rng.normal(size=D), rng.normal(size=K)
    vec = lambda M: M.flatten(order="F")

    # Q1.5: W (K, D), z = W phi + b, A = [phi^T kron I_K, I_K]
    W = rng.normal(size=(K, D))
    A = np.hstack([np.kron(phi[None, :], np.eye(K)), np.eye(K)])
    theta = np.concatenate([vec(W), b])
    np.testing.assert_allclose(A @ theta, W @ phi + b, atol=1e-12)
    j = 2
    loss = lambda t: multinomial_loss(A @ t, j)
    p = softmax(A @ theta)
    np.testing.assert_allclose(num_hessian(loss, theta),
                               A.T @ (np.diag(p) - np.outer(p, p)) @ A, atol=1e-6)

    # Q2.1: W (D, K), z = W^T phi + b, A = [I_K kron phi^T, I_K]
    W = rng.normal(size=(D, K))
    y = rng.normal(size=K)
    A = np.hstack([np.kron(np.eye(K), phi[None, :]), np.eye(K)])
    theta = np.concatenate([vec(W), b])
    np.testing.assert_allclose(A @ theta, W.T @ phi + b, atol=1e-12)
    sq = lambda t: 0.5 * np.sum((A @ t - y) ** 2)
    np.testing.assert_allclose(num_grad(sq, theta), A.T @ (A @ theta - y), atol=1e-7)
    np.testing.assert_allclose(num_hessian(sq, theta), A.T @ A, atol=1e-5)
    z = W.T @ phi + b                     # grad_W L = phi (z - y)^T, grad_b L = z - y
    np.testing.assert_allclose(num_grad(sq, theta)[:D * K],
                               vec(np.outer(phi, z - y)), atol=1e-7)


# ------------------------------------------ Q1.5 counterexamples (numbers of q1.tex)
# Six examples: x = +1 with labels 1, 1, 2 and x = -1 with labels 2, 2, 1 (0-based below).
X_CE = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0])
Y_CE = np.array([0, 0, 1, 1, 1, 0])
F_STAR = 6 * LOG3 - 4 * LOG2                    # lower bound, attained by theta_A and theta_B
THETA_A = np.array([LOG3 / 2, LOG2, -LOG2])     # (w, v1, v2)
THETA_B = -THETA_A                              # tanh is odd: the sign-flipped unit


def tanh_logits(theta, X=X_CE):
    """z = v tanh(w x): one tanh hidden unit, two classes, no biases. -> (N, 2)"""
    w, v = theta[0], theta[1:]
    return np.tanh(w * X)[:, None] * v[None, :]


def tanh_loss(theta):
    return multinomial_loss_batch(tanh_logits(theta), Y_CE)


def majority_cost(q):
    """g(q) = -2 log q - log(1 - q): one input's three examples, majority probability q."""
    return -2 * np.log(q) - np.log(1 - q)


def test_lower_bound_of_the_counterexample_data():
    q = np.linspace(1e-4, 1 - 1e-4, 20001)
    assert abs(q[np.argmin(majority_cost(q))] - 2 / 3) < 1e-4      # minimal at q = 2/3
    assert abs(2 * majority_cost(2 / 3) - F_STAR) < 1e-12
    rng = np.random.default_rng(7)
    for _ in range(2000):                      # no parameter value of the model beats F*
        assert tanh_loss(rng.normal(scale=rng.choice([0.3, 1.0, 3.0]), size=3)) >= F_STAR - 1e-12


def test_tanh_counterexample_two_global_minima_and_a_worse_midpoint():
    assert abs(np.tanh(LOG3 / 2) - 0.5) < 1e-15                    # tanh(w_A) = 1/2
    expected = np.array([[2 / 3, 1 / 3]] * 3 + [[1 / 3, 2 / 3]] * 3)
    for theta in (THETA_A, THETA_B):
        margins = tanh_logits(theta) @ np.array([1.0, -1.0])
        np.testing.assert_allclose(np.abs(margins), LOG2, atol=1e-15)
        np.testing.assert_allclose(softmax(tanh_logits(theta)), expected, atol=1e-15)
        assert abs(tanh_loss(theta) - F_STAR) < 1e-12
        np.testing.assert_allclose(num_grad(tanh_loss, theta), 0.0, atol=1e-8)  # stationary
    assert not np.allclose(THETA_A, THETA_B)

    mid = (THETA_A + THETA_B) / 2
    np.testing.assert_array_equal(mid, 0.0)
    np.testing.assert_array_equal(tanh_logits(mid), 0.0)
    F_A, F_B, F_M = tanh_loss(THETA_A), tanh_loss(THETA_B), tanh_loss(mid)
    assert abs(F_M - 6 * LOG2) < 1e-12
    gap = F_M - (F_A + F_B) / 2                # Jensen gap: <= 0 if F were convex
    assert abs(gap - (10 * LOG2 - 6 * LOG3)) < 1e-12
    assert abs(gap - np.log(1024 / 729)) < 1e-12
    assert gap > 0.3


def test_line_probe_detects_the_nonconvexity_it_accepts_for_linear_models():
    """The probe that passes the linear models must fail on the tanh network."""
    rng = np.random.default_rng(8)
    gap, curv = convexity_violations(tanh_loss, 3, rng, pairs=300, scale=2.0)
    assert gap > 1e-3 or curv < -1e-3


# ------------------------------------------- the report's numbers are these numbers
SECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "report", "sections")
# Every decimal the theory sections print, and the exact value it stands for.
PRINTED = {
    "3.8191": F_STAR,                        # F* = 6 log 3 - 4 log 2
    "4.1589": 6 * LOG2,                      # F at the midpoint
    "0.3398": np.log(1024 / 729),            # the Jensen gap
}


def test_every_decimal_in_the_theory_sections_is_checked_here():
    text = "".join(open(os.path.join(SECTIONS, name)).read()
                   for name in ("q1.tex", "q2_1.tex", "q3_2a.tex"))
    text = "\n".join(line.split("%")[0] for line in text.splitlines())   # drop comments
    printed = set(re.findall(r"(?<![Q\d.])\d+\.\d+", text))   # not Q1.5
    assert printed == set(PRINTED), "update PRINTED and its checks with the text"
    for shown, exact in PRINTED.items():
        assert f"{exact:.4f}" == shown
    # the values above are those the tests compute from the models
    assert abs(tanh_loss(THETA_A) - PRINTED["3.8191"]) < 1e-12
    assert abs(tanh_loss(np.zeros(3)) - PRINTED["4.1589"]) < 1e-12


def test_the_parameters_the_text_gives_are_the_ones_tested():
    """The examples' parameters and closed forms, as q1.tex writes them (whitespace aside)."""
    text = re.sub(r"\s+", "", open(os.path.join(SECTIONS, "q1.tex")).read())
    for snippet in (r"w_A=\frac12\log3", r"\mathbf{v}_A=(\log2,-\log2)",   # THETA_A
                    r"\bm{\theta}_B=-\bm{\theta}_A",                        # THETA_B
                    r"F^\star=2g(\frac23)=6\log3-4\log2",                   # F_STAR
                    r"10\log2-6\log3=\log\frac{1024}{729}"):              # the gap
        assert re.sub(r"\s+", "", snippet) in text, snippet
