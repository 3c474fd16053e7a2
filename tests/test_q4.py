"""Question 4 (hw1-q4.py): what the networks compute in training and evaluation, two SGD and
two Adam steps of each model against autograd's gradients applied by hand, the optimiser the
script builds, and the epoch loop. (What main does with them: test_runs.py.)"""
import pytest

from conftest import run_cli, script, write_fashion

torch = pytest.importorskip("torch")
nn = torch.nn
q4 = script("q4")


def images(n, d=784, seed=0):
    """(n, d) float32 pixels in [0, 1) with an always-zero border, like Fashion-MNIST; labels."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=gen)
    X[:, : d // 8] = 0
    return X, torch.randint(0, 10, (n,), generator=gen)


def build(model, **flags):
    """A model of the script with its defaults, dropout off unless given."""
    if model == "logistic_regression":
        return q4.LogisticRegression(n_classes=10, n_features=784)
    options = {"hidden_size": 32, "layers": 1, "activation_type": "relu", "dropout": 0.0, **flags}
    return q4.FeedforwardNetwork(n_classes=10, n_features=784, **options)


@pytest.mark.parametrize("activation, fn", [("relu", torch.relu), ("tanh", torch.tanh)])
def test_evaluation_is_the_plain_network_and_training_drops_units(activation, fn):
    """Catches dropout on in evaluation, -activation ignored or missing, a wrong argmax."""
    torch.manual_seed(0)
    net = q4.FeedforwardNetwork(10, 20, 64, 1, activation, 0.5)
    x = torch.rand(5, 20)
    W1, b1, W2, b2 = net.parameters()
    expected = fn(x @ W1.T + b1) @ W2.T + b2
    with torch.no_grad():
        a, b = net(x), net(x)
    assert not torch.allclose(a, b)  # training mode: a new dropout mask each call
    accuracy, loss = q4.evaluate(net, x, expected.argmax(1))
    assert accuracy == 1.0  # evaluate switches dropout off ...
    assert loss == pytest.approx(nn.functional.cross_entropy(expected, expected.argmax(1)).item())
    assert net.training  # ... and back on


# Two SGD steps (train_batch) against autograd's gradients applied by hand: two, so that
# gradients accumulated by a missing zero_grad() show. (Adam by hand would test torch's Adam.)

@pytest.mark.parametrize("name, flags", [("logistic_regression", {}), ("mlp", {}),
                                         ("mlp", {"layers": 2, "activation_type": "tanh"})],
                         ids=["logistic_regression", "mlp", "mlp-2-tanh"])
def test_two_steps_are_autograds_gradients_applied_by_hand(name, flags):
    """Catches: a parameter left out of the step, the gradient of a previous batch kept (no
    zero_grad), a -dropout not reaching the network, the loss misreported."""
    X, y = images(4, seed=1)
    torch.manual_seed(0)
    model, lr, decay = build(name, **flags), 0.05, 0.01
    expected = [p.detach().clone() for p in model.parameters()]
    step = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=decay, fused=True)
    for rows in (slice(0, 2), slice(2, 4)):
        reference = build(name, **flags)
        with torch.no_grad():
            for r, e in zip(reference.parameters(), expected):
                r.copy_(e)
        loss = nn.functional.cross_entropy(reference(X[rows]), y[rows])
        grads = torch.autograd.grad(loss, list(reference.parameters()))
        expected = [e - lr * (g + decay * e) for e, g in zip(expected, grads)]
        got = q4.train_batch(X[rows], y[rows], model, step, nn.CrossEntropyLoss())
        assert got == pytest.approx(loss.item(), rel=1e-5)
        for p, e in zip(model.parameters(), expected):
            torch.testing.assert_close(p.detach(), e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_script_builds_its_model_and_optimiser_from_the_flags(tmp_path, monkeypatch,
                                                                  optimizer):
    """Catches: -optimizer, -learning_rate or -l2_decay not reaching the optimiser, or the
    optimiser given another model's parameters."""
    built = {}
    Optimizer = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer]

    class Recording(Optimizer):
        def __init__(self, params, **kwargs):
            built["params"], built["kwargs"] = list(params), kwargs
            super().__init__(built["params"], **kwargs)

    class Network(q4.FeedforwardNetwork):
        def __init__(self, **kwargs):
            built["model"] = self
            super().__init__(**kwargs)
    monkeypatch.setattr(torch.optim, Optimizer.__name__, Recording)
    monkeypatch.setattr(q4, "FeedforwardNetwork", Network)
    monkeypatch.setattr(q4.utils, "plot", lambda *args, **kwargs: None)
    argv = ["mlp", "-hidden_size", 16, "-layers", 2, "-activation", "tanh", "-dropout", 0.1,
            "-optimizer", optimizer, "-learning_rate", 0.05, "-l2_decay", 0.01, "-epochs", 1,
            "-data", write_fashion(tmp_path / "f.npz"), "-output", tmp_path / "out"]
    assert run_cli(q4, argv) == 0
    assert {k: built["kwargs"][k] for k in ("lr", "weight_decay")} == {
        "lr": 0.05, "weight_decay": 0.01}
    assert built["params"] == list(built["model"].parameters())
    assert sum(isinstance(m, nn.Tanh) for m in built["model"].modules()) == 2  # -activation


def test_an_epoch_returns_the_mean_batch_loss_and_stops_at_a_non_finite_one(monkeypatch):
    """Catches the last batch's loss (or the sum) reported as the epoch's, a batch after NaN."""
    losses = iter([0.5, 0.25, 2.0, 0.5, 0.4, float("nan"), 0.3])
    monkeypatch.setattr(q4, "train_batch", lambda *args: next(losses))
    X, y = images(12, 10)

    def epoch(size):
        return q4.train_epoch(q4.LogisticRegression(10, 10), None, None, X, y, size,
                              torch.Generator().manual_seed(0))
    assert epoch(5) == pytest.approx((0.5 + 0.25 + 2.0) / 3)
    with pytest.raises(q4.utils.Diverged) as stop:
        epoch(4)
    assert stop.value.step == 3 and next(losses) == 0.3  # no batch after it
