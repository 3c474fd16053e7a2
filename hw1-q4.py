#!/usr/bin/env python
"""Question 4: Fashion-MNIST with PyTorch: logistic regression and a feed-forward network.

    python hw1-q4.py logistic_regression -learning_rate 0.001
    python hw1-q4.py mlp -hidden_size 200 -layers 1 -dropout 0.3 -activation relu -optimizer sgd

Every gradient comes from autograd. Each epoch visits the 50,000 training images in a fresh
random order (a generator seeded by -seed) and takes one optimiser step per batch (batch size 1
by default) in train_batch: zero_grad, forward, loss, backward, step. After each epoch the model
is evaluated with dropout off on the training and validation sets; train_eval_loss is the mean
training loss so measured (train_loss averages the batches' losses during the epoch, dropout
on). A run writes its record and figures to runs/q4/ (-output).
"""
import argparse

import numpy as np
import torch
from torch import nn

import utils

N_CLASSES = 10


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


def train_batch(X, y, model, optimizer, criterion):
    """One optimiser step on one batch, X (b, n_features), y (b,). Returns its loss (a float)."""
    optimizer.zero_grad()
    loss = criterion(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def predict(model, X):
    """X (n, n_features) -> predicted labels (n,)."""
    scores = model(X)  # (n, n_classes)
    return scores.argmax(dim=-1)


@torch.no_grad()
def evaluate(model, X, y):
    """Accuracy of `model` on X (n, n_features), y (n,), with dropout off."""
    model.eval()
    n_correct = (predict(model, X) == y).sum().item()
    model.train()
    return n_correct / len(y)


@torch.no_grad()
def eval_loss(model, X, y, criterion):
    """Mean loss of `model` on X (n, n_features), y (n,), with dropout off."""
    model.eval()
    loss = criterion(model(X), y).item()
    model.train()
    return loss


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


# The model argument -> (the flags its run uses besides those of every run, how to build it from
# the flags and the number of features); the optimiser flag -> its class.
MODELS = {
    "logistic_regression": ([], lambda opt, n_features: LogisticRegression(N_CLASSES, n_features)),
    "mlp": (["hidden_size", "layers", "dropout", "activation"],
            lambda opt, n_features: FeedforwardNetwork(N_CLASSES, n_features, opt.hidden_size,
                                                       opt.layers, opt.activation, opt.dropout)),
}
OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}


def build_parser():
    parser = argparse.ArgumentParser(description="Question 4: Fashion-MNIST with PyTorch.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("-epochs", type=utils.number(int, 1, 10_000), default=20)
    parser.add_argument("-batch_size", type=utils.number(int, 1, 50_000), default=1)
    parser.add_argument("-learning_rate", type=utils.number(float, 0, 10, low_open=True),
                        default=0.01)
    parser.add_argument("-l2_decay", type=utils.number(float, 0, 10), default=0.0,
                        help="L2 penalty (the optimiser's weight_decay)")
    parser.add_argument("-hidden_size", "-hidden_sizes", dest="hidden_size", default=200,
                        type=utils.number(int, 1, 10_000), help="units per hidden layer (mlp)")
    parser.add_argument("-layers", type=utils.number(int, 1, 100), default=1,
                        help="hidden layers (mlp)")
    parser.add_argument("-dropout", type=utils.number(float, 0, 1, high_open=True), default=0.3,
                        help="dropout probability after each hidden layer (mlp)")
    parser.add_argument("-activation", choices=["tanh", "relu"], default="relu")
    parser.add_argument("-optimizer", choices=OPTIMIZERS, default="sgd")
    parser.add_argument("-threads", type=utils.number(int, 1, 256), default=1,
                        help="CPU threads; at batch size 1 the kernels are too small to share")
    utils.add_run_flags(parser, data=utils.FASHION_PATH, question="q4")
    return parser


def main(argv=None):
    parser = build_parser()
    opt = parser.parse_args(argv)
    flags, build_model = MODELS[opt.model]
    config = utils.run_config(opt, parser, ["model", "epochs", "batch_size", "learning_rate",
                                            "l2_decay", *flags, "optimizer", "seed"])
    utils.check_output_folder(opt.output)
    torch.set_num_threads(opt.threads)
    torch.set_flush_denormal(True)  # Adam's tiny moments: denormals are slow; changes < 1e-38
    utils.configure_seed(opt.seed)  # the initial weights and the dropout masks
    shuffle = torch.Generator().manual_seed(opt.seed)  # the order of every epoch
    data = utils.load_classification_data(path=opt.data, dtype=np.float32)
    (X, y), (dev_X, dev_y), (test_X, test_y) = (
        (torch.from_numpy(X), torch.from_numpy(y)) for X, y in data.values())
    model = build_model(opt, X.shape[1])
    optimizer = OPTIMIZERS[opt.optimizer](model.parameters(), lr=opt.learning_rate,
                                          weight_decay=opt.l2_decay, fused=True)
    criterion = nn.CrossEntropyLoss()

    log = utils.Log(opt.epochs)
    for epoch in range(1, opt.epochs + 1):
        order = torch.randperm(len(y), generator=shuffle)
        batches = list(zip(X[order].split(opt.batch_size), y[order].split(opt.batch_size)))
        losses = [train_batch(X_batch, y_batch, model, optimizer, criterion)
                  for X_batch, y_batch in utils.progress(batches)]
        metrics = {"train_loss": float(np.mean(losses)), "train_acc": evaluate(model, X, y),
                   "train_eval_loss": eval_loss(model, X, y, criterion),
                   "dev_acc": evaluate(model, dev_X, dev_y)}
        if log.epoch(epoch, metrics):
            break

    final = {**metrics, "test_acc": evaluate(model, test_X, test_y)}
    if opt.model == "mlp" and opt.activation == "relu":  # for the report's discussion
        final["dead_units"] = dead_units(model, X)
    record = {"question": "q4", "config": config, "seed": opt.seed, **log.record(final)}
    path = utils.save_run(opt.output, utils.run_name(config, parser), record, figures(record),
                          opt.show)
    print(utils.final_line(record["final"], record["seconds"], path))
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
