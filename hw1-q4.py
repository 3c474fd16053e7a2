#!/usr/bin/env python
"""Question 4: Fashion-MNIST with PyTorch: logistic regression and a feed-forward network.

    python hw1-q4.py logistic_regression -learning_rate 0.01
    python hw1-q4.py mlp -hidden_size 200 -layers 1 -dropout 0.3 -activation relu -optimizer sgd

Every gradient comes from autograd. Each epoch visits the 50,000 training examples in a fresh
random order (`torch.randperm` with a generator seeded by -seed) and takes one optimiser step
per batch (batch size 1 by default) through `train_batch`: zero_grad, forward, loss, backward,
step. After each epoch the model is evaluated with dropout off on the whole training set and on
the validation set. The same seed gives the same numbers.
"""
import argparse
import os
import time

import numpy as np
import torch
import torch.nn as nn

import utils


class LogisticRegression(nn.Module):
    def __init__(self, n_classes, n_features, **kwargs):
        """A single linear layer: the multinomial logistic regression model."""
        super().__init__()
        self.linear = nn.Linear(n_features, n_classes)

    def forward(self, x, **kwargs):
        """x: (n, n_features) -> logits (n, n_classes)."""
        return self.linear(x)


class FeedforwardNetwork(nn.Module):
    def __init__(self, n_classes, n_features, hidden_size, layers, activation_type, dropout,
                 **kwargs):
        """`layers` x (Linear -> activation -> Dropout(p=dropout)), then a linear output layer."""
        super().__init__()
        activation = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation_type]
        blocks, width = [], n_features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden_size), activation(), nn.Dropout(dropout)]
            width = hidden_size
        blocks.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*blocks)

    def forward(self, x, **kwargs):
        """x: (n, n_features) -> logits (n, n_classes)."""
        return self.net(x)


def train_batch(X, y, model, optimizer, criterion, **kwargs):
    """One optimiser step on one batch. X: (b, n_features), y: (b,). Returns the loss (float)."""
    optimizer.zero_grad()
    loss = criterion(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()


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


def make_model(config, n_classes=10, n_features=utils.FASHION_FEATURES):
    if config["model"] == "logistic_regression":
        return LogisticRegression(n_classes, n_features)
    return FeedforwardNetwork(n_classes, n_features, config["hidden_size"], config["layers"],
                              config["activation"], config["dropout"])


def make_optimizer(model, config):
    """torch.optim's SGD or Adam; fused=True: each step's update is one kernel (same maths)."""
    optimizer = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[config["optimizer"]]
    return optimizer(model.parameters(), lr=config["learning_rate"],
                     weight_decay=config["l2_decay"], fused=True)


def train_epoch(model, optimizer, criterion, X, y, batch_size, generator, desc=""):
    """One pass over X: (n, d), y: (n,) in a fresh random order. Returns the mean loss.

    Raises utils.Diverged at the first batch whose loss is not finite.
    """
    model.train()
    order = torch.randperm(len(y), generator=generator)
    batches = zip(X[order].split(batch_size), y[order].split(batch_size))
    losses = [train_batch(X_batch, y_batch, model, optimizer, criterion)
              for X_batch, y_batch in utils.progress(batches, desc, -(-len(y) // batch_size))]
    finite = np.isfinite(losses)
    if not finite.all():
        raise utils.Diverged("non-finite training loss", step=int(np.argmin(finite)) + 1)
    return float(np.mean(losses))


# ---------------------------------------------------------------------------------------------
# One run: configuration -> trained model -> record.

def run(config, data_path=utils.FASHION_PATH, verbose=True):
    """Train one configuration (a dict of the flags that apply to its model); returns its record.

    The record holds, per epoch, the mean training loss of the epoch's steps (dropout on), the
    accuracy and loss on the whole training set and the validation accuracy (dropout off).
    """
    utils.configure_seed(config["seed"])  # the initial weights and the dropout masks
    shuffle = torch.Generator().manual_seed(config["seed"])  # the order of every epoch
    data = utils.load_classification_data(path=data_path, dtype=np.float32)
    (X, y), (dev_X, dev_y), (test_X, test_y) = (
        (torch.from_numpy(X), torch.from_numpy(y)) for X, y in data.values())
    model = make_model(config)
    optimizer = make_optimizer(model, config)
    criterion = nn.CrossEntropyLoss()

    def one_epoch(epoch):
        loss = train_epoch(model, optimizer, criterion, X, y, config["batch_size"], shuffle,
                           desc=f"epoch {epoch}")
        return {"train_loss": loss}

    def evaluation():
        train_acc, train_eval_loss = evaluate(model, X, y)
        return {"train_acc": train_acc, "train_eval_loss": train_eval_loss,
                "dev_acc": evaluate(model, dev_X, dev_y)[0]}

    start = time.perf_counter()
    history, diverged = utils.train_epochs(config["epochs"], one_epoch, evaluation, verbose)
    seconds = time.perf_counter() - start
    final = {"test_acc": None}
    if history:
        final.update({k: history[-1][k] for k in ("train_loss", "train_acc", "dev_acc")},
                     best_dev_acc=max(row["dev_acc"] for row in history))
    if not diverged:
        final["test_acc"] = evaluate(model, test_X, test_y)[0]
        if config.get("activation") == "relu":
            final["dead_units"] = dead_units(model, X)
        if verbose:
            print(f"final test_acc {final['test_acc']:.4f} ({seconds:.0f} s)")
    return {"question": "q4", "model": config["model"], "config": config,
            "seed": config["seed"], "epochs": history, "final": final, "seconds": seconds,
            "status": "diverged" if diverged else "ok", "diverged_at": diverged}


def run_key(config):
    """A stable file name for a run, from every flag that changes its result."""
    c = config
    tail = f"{c['optimizer']}-l2{c['l2_decay']:g}-bs{c['batch_size']}-e{c['epochs']}-s{c['seed']}"
    if c["model"] == "logistic_regression":
        return f"logistic_regression-lr{c['learning_rate']:g}-{tail}"
    return (f"mlp-lr{c['learning_rate']:g}-h{c['hidden_size']}-l{c['layers']}-"
            f"d{c['dropout']:g}-{c['activation']}-{tail}")


def describe(config):
    """A short human name for a run, for figure titles."""
    text = f"{config['optimizer']} lr {config['learning_rate']:g}"
    if config["model"] == "logistic_regression":
        return "logistic regression, " + text
    return (f"{config['layers']}x{config['hidden_size']} {config['activation']}, "
            f"dropout {config['dropout']:g}, {text}")


def figures(records, title):
    """The loss and accuracy figures of one or more runs: [(suffix, series, ylabel, title)].

    records: {label: record}. Training loss (mean over each epoch's steps); training accuracy
    (dropout off) dashed next to validation accuracy.
    """
    loss, accuracy = {}, {}
    for label, record in records.items():
        rows = record["epochs"]
        prefix = f"{label}: " if len(records) > 1 else ""
        loss[prefix + "training loss"] = [r["train_loss"] for r in rows]
        accuracy[prefix + "training"] = [r["train_acc"] for r in rows]
        accuracy[prefix + "validation"] = [r["dev_acc"] for r in rows]
    return [("loss", loss, "Training loss (cross-entropy)", f"{title}: training loss"),
            ("accuracy", accuracy, "Accuracy", f"{title}: accuracy")]


def run_and_save(config, data_path, folder, verbose=False, show=False):
    """Train one configuration on one thread; save folder/<key>.json and its two figures.

    One thread: with batch size 1 the kernels are tiny and gain nothing from threads, and the
    study runs one process per core. Lives here so that the study's workers can call it.
    """
    torch.set_num_threads(1)
    # Adam's moments of rarely lit pixels decay below 1e-38 into denormal numbers, on which
    # x86 CPUs compute many times slower (tools/bench_q4.py measures it). Flushing them to zero
    # changes only values below 1e-38; where a CPU cannot flush, this does nothing.
    torch.set_flush_denormal(True)
    record = run(config, data_path, verbose)
    return utils.save_run(folder, run_key(config), record, run_figures(record), show=show)


def run_figures(record):
    """The two figures of one run, titled by its configuration."""
    return figures({"": record}, "Q4 " + describe(record["config"]))


# ---------------------------------------------------------------------------------------------
# Command line.

MLP_FLAGS = ("hidden_size", "layers", "dropout", "activation")


def build_parser():
    parser = argparse.ArgumentParser(description="Q4: Fashion-MNIST with PyTorch.")
    parser.add_argument("model", choices=["logistic_regression", "mlp"])
    parser.add_argument("-epochs", type=utils.EPOCHS, default=20)
    parser.add_argument("-batch_size", type=utils.number(int, 1, 50_000), default=1)
    parser.add_argument("-learning_rate", type=utils.LEARNING_RATE, default=0.01)
    parser.add_argument("-l2_decay", type=utils.number(float, 0, 10), default=0.0)
    parser.add_argument("-hidden_size", "-hidden_sizes", dest="hidden_size",
                        type=utils.HIDDEN_SIZE, default=200)
    parser.add_argument("-layers", type=utils.LAYERS, default=1)
    parser.add_argument("-dropout", type=utils.number(float, 0, 1, high_open=True), default=0.3)
    parser.add_argument("-activation", choices=["tanh", "relu"], default="relu")
    parser.add_argument("-optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("-seed", type=utils.SEED, default=42)
    parser.add_argument("-data", default=utils.FASHION_PATH)
    parser.add_argument("-output", default=os.path.join(utils.RUNS, "q4"),
                        help="folder for the run's JSON record and its two figures")
    parser.add_argument("-show", action="store_true", help="also show the figures")
    return parser


def config_of(opt):
    """The flags that apply to opt.model: the run's configuration."""
    skip = {"data", "output", "show"} | (set(MLP_FLAGS) if opt.model != "mlp" else set())
    return {k: v for k, v in vars(opt).items() if k not in skip}


def main(argv=None):
    opt = build_parser().parse_args(argv)
    path = run_and_save(config_of(opt), opt.data, opt.output, verbose=True, show=opt.show)
    print(f"record: {path}")
    return 0


if __name__ == "__main__":
    utils.run_main(main)
