"""Q4 tests on tiny synthetic data: models, train_batch, the fast loop against the textbook loop,
the command line, and the study runner."""
import json
import os

import numpy as np
import pytest
import torch
import torch.nn as nn

from conftest import ROOT, load_script

q4 = load_script("hw1-q4.py")
TINY = torch.finfo(torch.float32).tiny


def images(n, d=784, seed=0):
    """(n, d) float32 pixels in [0, 1) with an always-zero border, like Fashion-MNIST, and labels."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=gen)
    X[:, : d // 8] = 0
    X[torch.rand(n, d, generator=gen) < 0.3] = 0
    return X, torch.randint(0, 10, (n,), generator=gen)


def config(**changes):
    c = dict(hidden_size=32, layers=1, activation="relu", dropout=0.3, optimizer="sgd",
             learning_rate=0.01, l2_decay=0.0)
    c.update(changes)
    return type("Opt", (), c)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------
# Models

def test_layers_units_and_dropout_follow_the_flags():
    net = q4.FeedforwardNetwork(10, 784, 50, 3, "tanh", 0.4)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(50, 784), (50, 50), (50, 50), (10, 50)]
    assert [m.p for m in net.modules() if isinstance(m, nn.Dropout)] == [0.4] * 3
    assert sum(isinstance(m, nn.Tanh) for m in net.modules()) == 3
    assert not any(isinstance(m, nn.ReLU) for m in net.modules())
    relu_net = q4.FeedforwardNetwork(10, 784, 20, 1, "relu", 0.3)
    assert sum(isinstance(m, nn.ReLU) for m in relu_net.modules()) == 1
    logistic = q4.LogisticRegression(10, 784)
    assert [tuple(p.shape) for p in logistic.parameters()] == [(10, 784), (10,)]
    assert logistic(torch.zeros(3, 784)).shape == (3, 10)


@pytest.mark.parametrize("activation, fn", [("relu", torch.relu), ("tanh", torch.tanh)])
def test_eval_mode_is_the_plain_network_and_training_mode_drops_units(activation, fn):
    torch.manual_seed(0)
    net = q4.FeedforwardNetwork(10, 20, 64, 1, activation, 0.5)
    x = torch.rand(5, 20)
    W1, b1, W2, b2 = net.parameters()
    expected = fn(x @ W1.T + b1) @ W2.T + b2
    net.eval()
    with torch.no_grad():
        assert torch.allclose(net(x), expected, atol=1e-6)
        net.train()
        a, b = net(x), net(x)
    assert not torch.allclose(a, b)  # dropout draws a new mask each call
    assert q4.evaluate(net, x, expected.argmax(1)) == 1.0  # evaluate switches dropout off
    assert net.training  # and back on


def test_predict_and_evaluate():
    model = q4.LogisticRegression(3, 2)
    with torch.no_grad():
        model.linear.weight.copy_(torch.tensor([[1.0, 0], [0, 1], [-1, -1]]))
        model.linear.bias.zero_()
    X = torch.tensor([[2.0, 0], [0, 2], [-1, -1], [1, 0]])
    assert q4.predict(model, X).tolist() == [0, 1, 2, 0]
    assert q4.evaluate(model, X, torch.tensor([0, 1, 2, 1])) == 0.75


# ---------------------------------------------------------------------------------------------
# train_batch

def test_train_batch_reduces_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    X, y = images(16, 30)
    model = q4.FeedforwardNetwork(10, 30, 32, 1, "relu", 0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    criterion = nn.CrossEntropyLoss()
    losses = [q4.train_batch(X, y, model, optimizer, criterion) for _ in range(60)]
    assert isinstance(losses[0], float)
    assert losses[-1] < 0.75 * losses[0]  # and not by chance: strictly, over many steps


def test_l2_decay_is_the_optimizers_weight_decay():
    X, y = images(4, 30)
    steps = {}
    for decay in (0.0, 0.5):
        torch.manual_seed(0)
        model = q4.LogisticRegression(10, 30)
        before = [p.detach().clone() for p in model.parameters()]
        optimizer = q4.make_optimizer(model, config(l2_decay=decay, learning_rate=0.1))
        q4.train_batch(X, y, model, optimizer, nn.CrossEntropyLoss())
        steps[decay] = [p.detach() - b for p, b in zip(model.parameters(), before)]
    for with_decay, without, w in zip(steps[0.5], steps[0.0], before):
        # SGD with weight decay: w <- w - lr * (grad + decay * w)
        assert torch.allclose(with_decay - without, -0.1 * 0.5 * w, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# The fast loop follows the textbook loop

def train_both(model_name, opt, X, y, epochs, batch_size=1, seed=3, **fast_kwargs):
    """(textbook model, its epoch losses, fast model, its epoch losses) from one seed."""
    out = []
    for fast in (False, True):
        torch.manual_seed(seed)
        model = q4.make_model(model_name, 10, X.shape[1], opt)
        losses = []
        record = lambda epoch, loss: losses.append(loss)  # noqa: E731
        if fast:
            q4.train_fast(model, opt.optimizer, opt.learning_rate, X, y, epochs,
                          l2_decay=opt.l2_decay, batch_size=batch_size, on_epoch=record,
                          **fast_kwargs)
        else:
            q4.train_reference(model, q4.make_optimizer(model, opt), X, y, epochs,
                               batch_size=batch_size, on_epoch=record)
        out += [model, losses]
    return out


def assert_same_parameters(a, b, atol):
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, rtol=1e-4, atol=atol), (p - q).abs().max()


@pytest.mark.parametrize("optimizer, fused, atol", [
    ("sgd", False, 0.0), ("adam", False, 0.0), ("adam", True, 2e-5)])
def test_fast_loop_follows_the_textbook_loop_default_network(optimizer, fused, atol):
    """300 steps (3 reshuffled epochs) of the default network, dropout 0.3, batch size 1.

    SGD and the default Adam give bit-identical parameters (atol 0: torch.equal); the fused
    Adam kernel rounds differently.
    """
    X, y = images(100)
    opt = config(hidden_size=200, optimizer=optimizer)
    options = dict(fused_adam=True) if fused else {}
    ref, ref_losses, fast, fast_losses = train_both("mlp", opt, X, y, epochs=3, **options)
    if atol == 0.0:
        assert all(torch.equal(p, q) for p, q in zip(ref.parameters(), fast.parameters()))
    assert_same_parameters(ref, fast, atol)
    assert np.allclose(ref_losses, fast_losses, rtol=1e-5)
    torch.manual_seed(3)  # and the run really moved away from its initial weights
    start = q4.make_model("mlp", 10, 784, opt)
    assert not torch.allclose(start.net[0].weight, fast.net[0].weight, atol=1e-3)


@pytest.mark.parametrize("model_name, changes, batch_size", [
    ("mlp", dict(layers=2, activation="tanh", dropout=0.5, l2_decay=0.01), 1),
    ("mlp", dict(layers=3, optimizer="adam", learning_rate=0.001), 1),
    ("mlp", dict(dropout=0.0), 1),
    ("mlp", dict(), 7),  # batches of 7 and a last one of 5: the generic path
    ("logistic_regression", dict(), 1),
    ("logistic_regression", dict(optimizer="adam", l2_decay=0.1), 1),
])
def test_fast_loop_follows_the_textbook_loop_other_settings(model_name, changes, batch_size):
    X, y = images(40, 60)
    ref, ref_losses, fast, fast_losses = train_both(model_name, config(**changes), X, y,
                                                    epochs=3, batch_size=batch_size)
    assert_same_parameters(ref, fast, 2e-5)
    assert np.allclose(ref_losses, fast_losses, rtol=1e-5)


@pytest.mark.parametrize("weight_decay, eps", [(0.0, 1e-8), (0.1, 1e-8), (0.0, 1e-30)])
def test_adam_update_is_torch_optim_adam_bit_for_bit(weight_decay, eps):
    """Including moments that stay exactly zero (always-zero pixels) or decay into denormals,
    where the update raises them to TINY before its sqrt, and an eps too small for that."""
    assert q4._sqrt_of_tiny_vanishes_next_to(eps, 0.999) == (eps == 1e-8)
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(37, 29, generator=gen, requires_grad=True),  # vector loops and tails
              torch.randn(29, generator=gen, requires_grad=True)]
    mine = [p.detach().clone() for p in params]
    m, v = [torch.zeros_like(p) for p in mine], [torch.zeros_like(p) for p in mine]
    optimizer = torch.optim.Adam(params, lr=0.01, weight_decay=weight_decay, eps=eps)
    for step in range(1, 30):
        grads = [torch.randn(p.shape, generator=gen) * 10.0 ** -(step % 7) for p in params]
        grads[0][:, 0] = 0  # a column that never gets a gradient: its moments stay 0
        grads[0][:, 1] = 1e-19 if step == 1 else 0  # moments that decay as denormals
        for p, g in zip(params, grads):
            p.grad = g.clone()
        optimizer.step()
        q4._adam_update(mine, grads, m, v, step, 0.01, (0.9, 0.999), eps, weight_decay)
    if not weight_decay:  # (weight decay adds the parameters to the gradients)
        assert (v[0][:, 0] == 0).all() and (v[0][:, 1] > 0).all() and (v[0][:, 1] < TINY).all()
    for p, q in zip(params, mine):
        assert torch.equal(p.detach(), q)


def test_epoch_permutation_is_the_dataloaders_order():
    data = torch.utils.data.TensorDataset(torch.arange(50))
    loader = torch.utils.data.DataLoader(data, batch_size=1, shuffle=True)
    torch.manual_seed(7)
    seen = [torch.cat([b[0] for b in loader]) for _ in range(2)]
    torch.manual_seed(7)
    assert torch.equal(q4.epoch_permutation(50), seen[0])
    assert torch.equal(q4.epoch_permutation(50), seen[1])
    assert not torch.equal(seen[0], seen[1])


def test_flushing_denormals_is_on_while_training_off_after_and_changes_nothing():
    X, y = images(200, 60)
    tiny = torch.tensor(1e-39)  # a denormal float32

    results = {}
    for flush in (True, False):
        torch.manual_seed(0)
        model = q4.make_model("mlp", 10, 60, config(optimizer="adam"))
        flushed = []
        q4.train_fast(model, "adam", 0.01, X, y, 3, flush_denormal=flush,
                      on_epoch=lambda e, l: flushed.append(bool((tiny * 1.0) == 0)))
        assert flushed == [flush] * 3
        results[flush] = model
    assert (tiny * 1.0) != 0  # restored after training
    assert_same_parameters(results[True], results[False], 1e-6)


def test_same_seed_same_run_other_seed_other_run():
    X, y = images(30, 40)
    finals = []
    for seed in (1, 1, 2):
        torch.manual_seed(seed)
        model = q4.make_model("mlp", 10, 40, config())
        q4.train_fast(model, "sgd", 0.05, X, y, 2)
        finals.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(finals[0], finals[1])
    assert not torch.allclose(finals[0], finals[2])


def test_divergence_is_detected_and_recorded():
    X, y = images(20, 30)
    X[0, -1] = 1e30  # an input that overflows the logits
    torch.manual_seed(0)
    model = q4.make_model("logistic_regression", 10, 30, config())
    losses = []
    status = q4.train_fast(model, "sgd", 1e10, X, y, 3, on_epoch=lambda e, l: losses.append(l))
    assert status["diverged_at"]["epoch"] == 1 and status["diverged_at"]["step"] >= 1
    assert len(losses) == 1 and np.isnan(losses[0])


# ---------------------------------------------------------------------------------------------
# Command line and study

@pytest.mark.parametrize("argv", [
    ["cnn"], ["mlp", "-activation", "sigmoid"], ["mlp", "-optimizer", "rmsprop"],
    ["mlp", "-dropout", "1.5"], ["mlp", "-epochs", "0"], ["mlp", "-learning_rate", "-1"],
    ["mlp", "-hidden_size", "big"], ["mlp", "-layers", "0"], ["mlp", "-batch_size", "0"],
    ["mlp", "-l2_decay", "-0.1"], ["mlp", "-device", "tpu"],
])
def test_bad_flags_are_rejected(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        q4.parse_args(argv)
    assert exc.value.code == 2


def test_flags_defaults_and_the_course_spelling():
    opt = q4.parse_args(["mlp"])
    assert (opt.epochs, opt.batch_size, opt.learning_rate, opt.l2_decay, opt.hidden_size,
            opt.layers, opt.dropout, opt.activation, opt.optimizer, opt.seed) == (
        20, 1, 0.01, 0.0, 200, 1, 0.3, "relu", "sgd", 42)
    assert q4.parse_args(["mlp", "-hidden_sizes", "100"]).hidden_size == 100


def write_tiny_npz(path, n_train=40):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", n_train), ("dev", 12), ("test", 12)):
        arrays["X" + split] = rng.integers(0, 256, (n, 784)) / 256.0
        arrays["y" + split] = rng.integers(0, 10, n)
    np.savez(path, **arrays)
    return str(path)


def test_command_line_run_writes_its_record(tmp_path, capsys):
    data = write_tiny_npz(tmp_path / "tiny.npz")
    out = tmp_path / "runs"
    q4.main(["mlp", "-epochs", "2", "-data", data, "-output", str(out), "-hidden_size", "16"])
    key = "mlp-lr0.01-h16-l1-d0.3-relu-sgd-l20-bs1-e2-s42"
    record = json.load(open(out / f"{key}.json"))
    assert record["question"] == "q4" and record["status"] == "ok"
    assert record["config"]["hidden_size"] == 16 and record["seed"] == 42
    assert [e["epoch"] for e in record["epochs"]] == [1, 2]
    assert set(record["final"]) == {"train_loss", "dev_acc", "best_dev_acc", "test_acc"}
    assert record["final"]["best_dev_acc"] == max(e["dev_acc"] for e in record["epochs"])
    assert (out / f"{key}-loss.pdf").exists()
    printed = capsys.readouterr().out
    assert "train loss" in printed and "valid acc" in printed and "test acc" in printed


def test_study_runs_everything_writes_the_summary_and_skips_finished_runs(tmp_path, capsys):
    study = load_script("tools/study_q4.py")
    data = write_tiny_npz(tmp_path / "tiny.npz", n_train=24)
    out = str(tmp_path / "q4")
    runs = study.study_runs(data, epochs=1)
    assert len(runs) == 12 and len({study.load_q4().run_key(c) for _, _, c in runs}) == 12
    summary = study.run_study(data, out, epochs=1, workers=2)
    paths = [study.record_path(out, c) for _, _, c in runs]
    assert all(os.path.exists(p) for p in paths)
    with open(os.path.join(out, "summary.csv")) as f:
        lines = f.read().splitlines()
    assert len(lines) == 13 and lines[0].startswith("group,model,varied")
    assert [r["group"] for r in summary["rows"]].count("q4_2") == 7
    best = json.load(open(os.path.join(out, "best.json")))
    assert set(best) == {"q4_1", "q4_2", "q4_3"}
    for group, key in best.items():  # the best by final validation accuracy
        rows = [r for r in summary["rows"] if r["group"] == group]
        assert max(r["final_dev_acc"] for r in rows) == next(
            r["final_dev_acc"] for r in rows if r["key"] == key)
    tex = open(os.path.join(out, "summary.tex")).read()
    assert r"\toprule" in tex and tex.count(r"\\") == 13
    assert os.path.exists(os.path.join(out, "q4_2-loss.pdf"))

    mtimes = [os.path.getmtime(p) for p in paths]
    capsys.readouterr()
    study.run_study(data, out, epochs=1, workers=2)
    assert "0 runs to train, 12 already done" in capsys.readouterr().out
    assert mtimes == [os.path.getmtime(p) for p in paths]
    os.remove(os.path.join(out, "summary.csv"))  # rebuilt from the records alone
    study.write_summary(out, data, epochs=1, figures=False)
    assert open(os.path.join(out, "summary.csv")).read().splitlines() == lines
