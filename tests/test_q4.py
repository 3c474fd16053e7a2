"""Question 4 (hw1-q4.py): the course skeleton's flow with each model of MODELS, and main on a
tiny file, watched through train_batch: the model, loss and optimiser it builds and steps, the
batches it trains on, and what it reports. The checks use the script's own objects, so a change
to its loss, optimiser or network turns them red without the real data."""
import copy
import itertools

import numpy as np
import pytest

import utils
from conftest import data_for, parse, run, script

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional
q4 = script("q4")
TORCH_OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}  # torch's defaults
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
SEED, LR, DECAY = 5, 0.1, 0.01  # main's flags below; with this seed no two splits' accuracies tie


@pytest.mark.parametrize("name", q4.MODELS)
def test_the_course_flow_runs_each_model(tmp_path, name):
    """The skeleton's calls: ClassificationDataset, a DataLoader over it, its constructors
    (positional), train_batch, predict, and evaluate, which returns the accuracy as a float with
    dropout off (and on again after)."""
    opt = parse("q4", [name, "-hidden_size", 7, "-dropout", 0.2])
    data = utils.load_classification_data(path=data_for("q4", tmp_path))
    dataset = utils.ClassificationDataset(data)
    for (X, y), (X_t, y_t) in zip(data.values(), [(dataset.X, dataset.y), (
            dataset.dev_X, dataset.dev_y), (dataset.test_X, dataset.test_y)]):
        assert torch.equal(X_t, torch.tensor(X, dtype=torch.float32))
        assert torch.equal(y_t, torch.tensor(y)) and y_t.dtype == torch.int64
    X_5, y_5 = dataset[5]
    assert len(dataset) == 64 and torch.equal(X_5, dataset.X[5]) and y_5 == dataset.y[5]
    n_classes, n_feats = torch.unique(dataset.y).shape[0], dataset.X.shape[1]
    model = {"logistic_regression": lambda: q4.LogisticRegression(n_classes, n_feats),
             "mlp": lambda: q4.FeedforwardNetwork(n_classes, n_feats, opt.hidden_size,
                                                  opt.layers, opt.activation, opt.dropout),
             }.get(name, lambda: q4.MODELS[name][1](opt, n_feats))()
    optimizer = torch.optim.SGD(model.parameters(), lr=opt.learning_rate)
    for X_batch, y_batch in torch.utils.data.DataLoader(dataset, batch_size=5, shuffle=True):
        loss = q4.train_batch(X_batch, y_batch, model, optimizer, nn.CrossEntropyLoss())
        assert isinstance(loss, float)
    accuracy = q4.evaluate(model, dataset.dev_X, dataset.dev_y)
    assert "Valid acc: %.4f" % accuracy and isinstance(accuracy, float)
    with torch.no_grad():
        scores = model.eval()(dataset.X)
        assert torch.equal(q4.predict(model, dataset.X), scores.argmax(1))
        dev_accuracy = (model(dataset.dev_X).argmax(1) == dataset.dev_y).double().mean().item()
    model.train()
    assert q4.evaluate(model, dataset.X, scores.argmax(1)) == 1.0 and model.training
    assert accuracy == pytest.approx(dev_accuracy)


def layers_called(model, X):
    """The leaf modules that model(X) calls, in order, as (module, input, output); its output."""
    calls = []
    hooks = [module.register_forward_hook(lambda m, args, out: calls.append((m, args[0], out)))
             for module in model.modules() if not list(module.children())]
    with torch.no_grad():
        out = model(X)
    for hook in hooks:
        hook.remove()
    return calls, out


def widths(opt):
    """The widths of the network's layers, input to output: [784, hidden..., 10]."""
    return [784] + [opt.hidden_size] * (opt.layers if opt.model == "mlp" else 0) + [10]


def check_network(model, opt, X):
    """model(X) (n, 784) is a chain of `layers` x (Linear with bias -> activation -> Dropout)
    and a Linear with bias to the 10 classes (a single Linear for logistic regression), each
    layer fed the previous one's output. Returns the calls as layers_called does."""
    calls, out = layers_called(model, X)
    sizes = widths(opt)
    pattern = [nn.Linear, ACTIVATIONS[opt.activation], nn.Dropout] * (len(sizes) - 2)
    assert [type(m) for m, _, _ in calls] == pattern + [nn.Linear]
    linears = [m for m, _, _ in calls if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == list(zip(sizes, sizes[1:]))
    assert all(m.bias is not None for m in linears)
    assert all(m.p == opt.dropout for m, _, _ in calls if isinstance(m, nn.Dropout))
    assert calls[0][1] is X and torch.equal(calls[-1][2], out)
    assert all(torch.equal(a[2], b[1]) for a, b in zip(calls, calls[1:]))  # a chain
    return calls


@pytest.mark.parametrize("name, optimizer, activation", [  # each activation at least once
    (name, *pair) for name in q4.MODELS
    for pair in zip(q4.OPTIMIZERS, itertools.cycle(ACTIVATIONS))])
def test_main_trains_and_reports_as_the_assignment_asks(tmp_path, monkeypatch, name, optimizer,
                                                        activation):
    """Catches a loss other than the mean cross-entropy (label smoothing, reduction='sum'), an
    optimiser other than torch's plain one (momentum) or without -learning_rate or -l2_decay,
    a missing bias, dropout before the activation, -layers, -hidden_size, -activation or
    -dropout ignored, a start other than torch's default initialisation seeded by -seed, no
    shuffle or an unseeded one, labels out of step, -batch_size ignored, train_loss not the
    mean batch loss, train_eval_loss with dropout on, a metric on the wrong split, dead units
    miscounted, a missing zero_grad."""
    argv = [name, "-epochs", 2, "-seed", SEED, "-batch_size", 5, "-learning_rate", LR,
            "-l2_decay", DECAY, "-hidden_size", 7, "-layers", 2, "-activation", activation,
            "-dropout", 0.2, "-optimizer", optimizer, "-data", data_for("q4", tmp_path)]
    opt, calls, real_step = parse("q4", argv), [], q4.train_batch

    def watched_step(X, y, model, optimizer, criterion):
        start = [p.detach().clone() for p in model.parameters()] if not calls else None
        calls.append({"X": X, "y": y, "objects": (model, optimizer, criterion), "start": start,
                      "loss": real_step(X, y, model, optimizer, criterion)})
        return calls[-1]["loss"]
    monkeypatch.setattr(q4, "train_batch", watched_step)
    record = run("q4", argv, tmp_path / "out")
    model, step, criterion = calls[0]["objects"]
    assert all(call["objects"] == (model, step, criterion) for call in calls)
    assert record["config"] == {"model": name, "epochs": 2, "batch_size": 5, "seed": SEED,
                                "learning_rate": LR, "l2_decay": DECAY, "optimizer": optimizer,
                                "data": "q4", **{k: vars(opt)[k] for k in q4.MODELS[name][0]}}
    # The loss and the optimiser: the assignment's, with torch's defaults.
    logits, labels = torch.randn(6, 10), torch.randint(0, 10, (6,))
    assert criterion(logits, labels).item() == pytest.approx(F.cross_entropy(logits, labels).item())
    expected = TORCH_OPTIMIZERS[optimizer]([torch.zeros(1)], lr=LR, weight_decay=DECAY)
    assert type(step) is type(expected) and len(step.param_groups) == 1
    assert {k: v for k, v in step.param_groups[0].items() if k not in ("params", "fused", "foreach")
            } == {k: v for k, v in expected.param_groups[0].items()
                  if k not in ("params", "fused", "foreach")}
    assert step.param_groups[0]["params"] == list(model.parameters())
    # The start: torch's default layers seeded by -seed. Each epoch: a fresh order from a
    # generator seeded by -seed.
    torch.manual_seed(SEED)
    fresh = [p for a, b in zip(widths(opt), widths(opt)[1:]) for p in nn.Linear(a, b).parameters()]
    assert len(fresh) == len(calls[0]["start"])
    assert all(torch.equal(a, b) for a, b in zip(calls[0]["start"], fresh))
    (X, y), (dev_X, dev_y), (test_X, test_y) = [
        (torch.from_numpy(X_), torch.from_numpy(y_)) for X_, y_ in
        utils.load_classification_data(path=opt.data, dtype=np.float32).values()]
    shuffle = torch.Generator().manual_seed(SEED)
    order = torch.cat([torch.randperm(64, generator=shuffle) for _ in range(2)])
    assert torch.equal(torch.cat([call["X"] for call in calls]), X[order])
    assert torch.equal(torch.cat([call["y"] for call in calls]), y[order])
    assert [len(call["y"]) for call in calls] == ([5] * 12 + [4]) * 2
    losses = [call["loss"] for call in calls]
    assert [row["train_loss"] for row in record["epochs"]] == pytest.approx(
        [np.mean(losses[:13]), np.mean(losses[13:])])
    # What it reports: the final model, dropout off, each metric on its own split.
    model.eval()
    calls_on_train = check_network(model, opt, X)
    with torch.no_grad():
        accuracy = {split: (model(X_).argmax(1) == y_).double().mean().item()
                    for split, X_, y_ in (("train", X, y), ("dev", dev_X, dev_y),
                                          ("test", test_X, test_y))}
        train_eval_loss = F.cross_entropy(model(X), y).item()
    model.train()
    assert len(set(accuracy.values())) == 3  # the tiny splits tell them apart
    last, final = record["epochs"][-1], record["final"]
    assert [row["epoch"] for row in record["epochs"]] == [1, 2]
    assert (last["train_acc"], last["dev_acc"], final["test_acc"]) == pytest.approx(
        (accuracy["train"], accuracy["dev"], accuracy["test"]))
    assert last["train_eval_loss"] == pytest.approx(train_eval_loss, rel=1e-6)
    if name == "mlp" and activation == "relu":  # units that output 0 on every training image
        assert final["dead_units"] == [int((out.amax(0) == 0).sum())
                                       for m, _, out in calls_on_train if isinstance(m, nn.ReLU)]
    if optimizer == "sgd":
        check_two_sgd_steps(model, step, criterion, X, y)


def check_two_sgd_steps(model, step, criterion, X, y):
    """Two train_batch steps on rows of X (n, 784), y (n,) are autograd's gradients of the mean
    cross-entropy, plus the L2 decay, applied by hand: two, so that a gradient kept from the
    batch before shows. The same dropout masks in both (the same seed before each forward)."""
    for seed, rows in enumerate((slice(0, 3), slice(3, 6))):
        reference = copy.deepcopy(model)
        torch.manual_seed(seed)
        loss = F.cross_entropy(reference(X[rows]), y[rows])
        grads = torch.autograd.grad(loss, list(reference.parameters()))
        expected = [p.detach() - LR * (g + DECAY * p.detach())
                    for p, g in zip(reference.parameters(), grads)]
        torch.manual_seed(seed)
        assert q4.train_batch(X[rows], y[rows], model, step, criterion) == pytest.approx(
            loss.item(), rel=1e-5)
        for p, e in zip(model.parameters(), expected):
            torch.testing.assert_close(p.detach(), e, rtol=1e-5, atol=1e-6)
