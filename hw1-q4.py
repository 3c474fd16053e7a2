#!/usr/bin/env python
"""Question 4: Fashion-MNIST with PyTorch: logistic regression and a feed-forward network.

    python hw1-q4.py logistic_regression -learning_rate 0.001
    python hw1-q4.py mlp -hidden_size 200 -layers 1 -dropout 0.3 -activation relu -optimizer sgd

Every gradient comes from autograd. Each epoch visits the 50,000 training examples in a fresh
random order (`torch.randperm` with a generator seeded by -seed) and takes one optimiser step
per batch (batch size 1 by default) through `train_batch`: zero_grad, forward, loss, backward,
step. After each epoch the model is evaluated with dropout off on the whole training set and on
the validation set. A run writes its record and figures to runs/q4/ (-output).
"""
import math
import time

import utils

if __name__ == "__main__":  # before torch's import (seconds): Ctrl-C ends with one line from here,
    utils.exit_on_ctrl_c()  # and a missing package is named before anything loads
    utils.require("torch", "matplotlib", "tqdm")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402


class LogisticRegression(nn.Module):
    def __init__(self, n_classes, n_features):
        """A single linear layer: the multinomial logistic regression model."""
        super().__init__()
        self.linear = nn.Linear(n_features, n_classes)

    def forward(self, x):
        """x: (n, n_features) -> logits (n, n_classes)."""
        return self.linear(x)


class FeedforwardNetwork(nn.Module):
    def __init__(self, n_classes, n_features, hidden_size, layers, activation_type, dropout):
        """`layers` x (Linear -> activation -> Dropout(p=dropout)), then a linear output layer."""
        super().__init__()
        activation = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation_type]
        blocks, width = [], n_features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden_size), activation(), nn.Dropout(dropout)]
            width = hidden_size
        blocks.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*blocks)

    def forward(self, x):
        """x: (n, n_features) -> logits (n, n_classes)."""
        return self.net(x)


MODELS = {"logistic_regression": LogisticRegression, "mlp": FeedforwardNetwork}


def train_batch(X, y, model, optimizer, criterion):
    """One optimiser step on one batch. X: (b, n_features), y: (b,). Returns the loss (float)."""
    optimizer.zero_grad()
    loss = criterion(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_epoch(model, optimizer, criterion, X, y, batch_size, generator):
    """One pass over X: (n, d), y: (n,) in a fresh random order. Returns the mean batch loss.

    Raises utils.Diverged at the first batch whose loss is not finite.
    """
    model.train()
    order = torch.randperm(len(y), generator=generator)
    batches = zip(X[order].split(batch_size), y[order].split(batch_size))
    losses = []
    for X_batch, y_batch in utils.progress(batches, "train", math.ceil(len(y) / batch_size)):
        losses.append(train_batch(X_batch, y_batch, model, optimizer, criterion))
        if not math.isfinite(losses[-1]):
            raise utils.Diverged(f"training loss is {losses[-1]}", step=len(losses))
    return float(np.mean(losses))


def predict(model, X):
    """X: (n, n_features) -> predicted labels (n,)."""
    scores = model(X)  # (n, n_classes)
    return scores.argmax(dim=-1)


@torch.no_grad()
def evaluate(model, X, y):
    """Accuracy and mean cross-entropy of `model` on X: (n, n_features), y: (n,), dropout off."""
    model.eval()
    scores = model(X)
    model.train()
    accuracy = (scores.argmax(dim=-1) == y).double().mean().item()
    return accuracy, nn.functional.cross_entropy(scores, y).item()


@torch.no_grad()
def dead_units(model, X):
    """Per hidden ReLU layer, how many units output 0 for every row of X (n, n_features)."""
    model.eval()
    counts, h = [], X
    for layer in model.net:
        h = layer(h)
        if isinstance(layer, nn.ReLU):
            counts.append(int((h.amax(dim=0) == 0).sum()))
    model.train()
    return counts


def build_parser():
    parser = utils.parser("Question 4: Fashion-MNIST with PyTorch.")
    parser.add_argument("model", choices=MODELS, help="the model to train")
    parser.add_argument("-epochs", type=utils.EPOCHS, default=20, help="passes over the data")
    parser.add_argument("-batch_size", type=utils.number(int, 1, 50_000), default=1,
                        help="examples per optimiser step")
    parser.add_argument("-learning_rate", type=utils.LEARNING_RATE, default=0.01,
                        help="the optimiser's step size")
    parser.add_argument("-l2_decay", type=utils.number(float, 0, 10), default=0.0,
                        help="L2 penalty (the optimiser's weight_decay)")
    parser.add_argument("-hidden_size", "-hidden_sizes", dest="hidden_size",
                        type=utils.HIDDEN_SIZE, default=200, help="units per hidden layer (mlp)")
    parser.add_argument("-layers", type=utils.LAYERS, default=1,
                        help="number of hidden layers (mlp)")
    parser.add_argument("-dropout", type=utils.number(float, 0, 1, high_open=True),
                        default=0.3, help="dropout probability after each hidden layer (mlp)")
    parser.add_argument("-activation", choices=["tanh", "relu"], default="relu",
                        help="hidden activation (mlp)")
    parser.add_argument("-optimizer", choices=["sgd", "adam"], default="sgd", help="the optimiser")
    parser.add_argument("-threads", type=utils.number(int, 1, 256), default=1,
                        help="CPU threads; at batch size 1 the kernels are too small to share")
    utils.add_run_flags(parser, data=utils.FASHION_PATH, question="q4")
    return parser


def main(argv=None):
    parser = build_parser()
    opt = parser.parse_args(argv)
    config = {"model": opt.model, "epochs": opt.epochs, "batch_size": opt.batch_size,
              "learning_rate": opt.learning_rate, "l2_decay": opt.l2_decay}
    if opt.model == "mlp":
        config.update(hidden_size=opt.hidden_size, layers=opt.layers, dropout=opt.dropout,
                      activation=opt.activation)
    config.update(optimizer=opt.optimizer, seed=opt.seed)
    utils.check_output_folder(opt.output)
    torch.set_num_threads(opt.threads)
    # Adam's moments of rarely lit pixels decay below 1e-38 into denormal numbers, on which
    # x86 CPUs compute many times slower. Flushing them to zero changes only values below
    # 1e-38; where a CPU cannot flush, this does nothing.
    torch.set_flush_denormal(True)

    utils.configure_seed(opt.seed)  # the initial weights and the dropout masks
    shuffle = torch.Generator().manual_seed(opt.seed)  # the order of every epoch
    data = utils.load_classification_data(path=opt.data, dtype=np.float32)
    (X, y), (dev_X, dev_y), (test_X, test_y) = (
        (torch.from_numpy(X), torch.from_numpy(y)) for X, y in data.values())
    if opt.model == "logistic_regression":
        model = LogisticRegression(n_classes=10, n_features=X.shape[1])
    else:
        model = FeedforwardNetwork(n_classes=10, n_features=X.shape[1],
                                   hidden_size=opt.hidden_size, layers=opt.layers,
                                   activation_type=opt.activation, dropout=opt.dropout)
    # fused=True: each step's update in one kernel, the same maths.
    if opt.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=opt.learning_rate,
                                    weight_decay=opt.l2_decay, fused=True)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=opt.learning_rate,
                                     weight_decay=opt.l2_decay, fused=True)
    criterion = nn.CrossEntropyLoss()

    history, diverged, start = [], None, time.perf_counter()
    for epoch in range(1, opt.epochs + 1):
        epoch_start = time.perf_counter()
        try:
            train_loss = train_epoch(model, optimizer, criterion, X, y, opt.batch_size, shuffle)
        except utils.Diverged as exc:
            diverged = {"epoch": epoch, "step": exc.step, "message": exc.message}
            print(f"diverged at epoch {epoch}, batch {exc.step}: {exc.message}")
            break
        train_acc, train_eval_loss = evaluate(model, X, y)
        metrics = {"train_loss": train_loss, "train_acc": train_acc,
                   "train_eval_loss": train_eval_loss, "dev_acc": evaluate(model, dev_X, dev_y)[0]}
        epoch_seconds = time.perf_counter() - epoch_start
        history.append({"epoch": epoch, **metrics, "seconds": epoch_seconds})
        print(utils.epoch_line(epoch, opt.epochs, metrics, epoch_seconds), flush=True)
        if utils.not_finite(metrics):
            diverged = {"epoch": epoch, "step": None,
                        "message": f"{', '.join(utils.not_finite(metrics))} not finite"}
            break
    seconds = time.perf_counter() - start

    final = {"test_acc": None}
    if history:
        final.update({k: history[-1][k] for k in ("train_loss", "train_acc", "dev_acc")})
    if not diverged:
        final["test_acc"] = evaluate(model, test_X, test_y)[0]
        if opt.model == "mlp" and opt.activation == "relu":  # for the report's discussion
            final["dead_units"] = dead_units(model, X)
    record = {"question": "q4", "model": opt.model, "config": config, "seed": opt.seed,
              "epochs": history, "final": final, "seconds": seconds,
              "status": "diverged" if diverged else "ok", "diverged_at": diverged}
    path = utils.save_run(opt.output, utils.run_name(config, parser), record, figures(record),
                          opt.show)
    print(utils.final_line(final, seconds, path))
    return 0


def figures(record):
    """The loss and accuracy figures of one run: [(suffix, series, ylabel, title)]."""
    c, rows = record["config"], record["epochs"]
    name = (f"{c['layers']}x{c['hidden_size']} {c['activation']}, dropout {c['dropout']:g}"
            if c["model"] == "mlp" else "logistic regression")
    title = f"Q4 {name}, {c['optimizer']} lr {c['learning_rate']:g}"
    return [("loss", {"training loss": [r["train_loss"] for r in rows]},
             "Training loss (cross-entropy)", f"{title}: training loss"),
            ("accuracy", {"training": [r["train_acc"] for r in rows],
                          "validation": [r["dev_acc"] for r in rows]},
             "Accuracy", f"{title}: accuracy")] if rows else []


if __name__ == "__main__":
    utils.run_main(main)
