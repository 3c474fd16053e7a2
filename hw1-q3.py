#!/usr/bin/env python
"""Question 3: Fashion-MNIST with numpy only: perceptron, logistic regression and an MLP.

    python hw1-q3.py perceptron             # Q3.1(a)
    python hw1-q3.py logistic_regression    # Q3.1(b)
    python hw1-q3.py mlp                    # Q3.2(b): 1 hidden layer of 200 ReLU units
    python hw1-q3.py mlp -layers 2          # any number of hidden layers

Every model learns from one example at a time, visiting the 50,000 training images once per
epoch in a fresh random order (SGD with learning rate 0.001 for logistic regression and the
MLP). The linear models read the bias as an extra input feature (a last column of ones); the
MLP has explicit bias vectors. A run writes its record and figures to runs/q3/ (-output).
"""
import argparse
import math
import os
import time

import numpy as np

import utils

N_CLASSES = 10


def cross_entropy(logits, y):
    """Multinomial logistic loss of one example and its gradient with respect to the logits.

    logits (K,), y the gold class -> (loss, grad): loss = -log softmax(logits)[y], a float;
    grad (K,) = softmax(logits) - onehot(y). Subtracting the largest logit first changes
    neither, but keeps every exp() in (0, 1]: logits in the thousands do not overflow.
    """
    shifted = logits - logits.max()
    exps = np.exp(shifted)
    total = exps.sum()
    loss = math.log(total) - shifted[y]         # log-sum-exp minus the gold logit
    grad = exps / total                         # softmax
    grad[y] -= 1.0
    return float(loss), grad


class Model:
    """What the three models share: predictions, accuracy and an epoch of per-example updates."""

    def predict(self, X):
        """X (n, d) -> the highest-scoring class of each row, (n,)."""
        return self.scores(X).argmax(axis=1)

    def evaluate(self, X, y):
        """Accuracy of the predictions for X (n, d) against the gold classes y (n,)."""
        return float((self.predict(X) == y).mean())

    def update_weights(self, x_i, y_i, **kwargs):  # the name the assignment text uses
        return self.update_weight(x_i, y_i, **kwargs)

    def train_epoch(self, X, y, **kwargs):
        """One update_weight per example of X (n, d), y (n,), in that order.

        Returns the mean training loss (each example's loss taken just before its own update),
        or None for a model without a loss. Raises utils.Diverged at the first non-finite loss.
        """
        total, loss = 0.0, None
        examples = utils.progress(zip(X, y.tolist()), desc="train", total=len(y))
        # Overflowing weights show up as a non-finite loss below; numpy's warnings would
        # only say it again.
        with np.errstate(over="ignore", invalid="ignore"):
            for step, (x_i, y_i) in enumerate(examples, start=1):
                loss = self.update_weight(x_i, y_i, **kwargs)
                if loss is not None:
                    if not math.isfinite(loss):
                        raise utils.Diverged(f"training loss is {loss}", step=step)
                    total += loss
        return None if loss is None else total / len(y)


class LinearModel(Model):
    """One weight vector per class, W (n_classes, n_features); class k scores W[k] . x."""

    def __init__(self, n_classes, n_features, **kwargs):
        self.W = np.zeros((n_classes, n_features))

    def scores(self, X):
        """X (n, n_features) -> class scores (n, n_classes)."""
        return X @ self.W.T


class Perceptron(LinearModel):
    def update_weight(self, x_i, y_i, **kwargs):
        """One perceptron step on x_i (n_features,) of gold class y_i (no learning rate).

        On a mistake, move the gold class's weights towards x_i and the predicted class's away
        from it; a correct prediction changes nothing. Returns None: the perceptron has no loss.
        """
        y_hat = (self.W @ x_i).argmax()
        if y_hat != y_i:
            self.W[y_i] += x_i
            self.W[y_hat] -= x_i


class LogisticRegression(LinearModel):
    def update_weight(self, x_i, y_i, learning_rate=0.001):
        """One SGD step on the loss of x_i (n_features,), gold class y_i; returns that loss.

        dloss/dW = (softmax(W x_i) - onehot(y_i)) x_i^T, (n_classes, n_features); no
        regularisation.
        """
        loss, grad_scores = cross_entropy(self.W @ x_i, y_i)
        grad = np.outer(grad_scores, x_i)
        self.W -= learning_rate * grad
        return loss


class MLP(Model):
    """ReLU hidden layers and a softmax output layer, trained by per-example SGD.

    Layer l (l = 0, 1, ...) computes z_l = W_l h_l + b_l from its input h_l (h_0 = x); a hidden
    layer passes h_{l+1} = relu(z_l) on, the last layer's z is the logits. Shapes: W_0 (hidden,
    n_features), inner W_l (hidden, hidden), the last (n_classes, hidden); b_l (W_l's rows,).
    """

    def __init__(self, n_classes, n_features, hidden_size, layers=1):
        sizes = [n_features] + [hidden_size] * layers + [n_classes]
        # The prescribed initialisation: weights ~ N(0.1, 0.1^2), biases zero.
        self.weights = [np.random.normal(0.1, 0.1, size=(n_out, n_in))
                        for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros(n_out) for n_out in sizes[1:]]

    def forward(self, x):
        """x (n_features,) -> (logits (n_classes,), cache).

        cache[l] = (h_l, z_l), the input and pre-activation of layer l: what backward needs.
        """
        h, cache = x, []
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            z = W @ h + b
            cache.append((h, z))
            if l < len(self.weights) - 1:       # hidden layer; the last z is the logits
                h = np.maximum(z, 0.0)
        return z, cache

    def backward(self, grad_logits, cache):
        """Backpropagation of grad_logits = dloss/dlogits (n_classes,) through the layers.

        Returns (grad_weights, grad_biases), lists of arrays shaped like self.weights and
        self.biases.
        """
        grad_weights, grad_biases = [None] * len(self.weights), [None] * len(self.biases)
        grad_z = grad_logits
        for l in reversed(range(len(self.weights))):
            h, _ = cache[l]
            grad_weights[l] = np.outer(grad_z, h)   # z_l = W_l h_l + b_l
            grad_biases[l] = grad_z
            if l > 0:  # back through W_l to h_l = relu(z_{l-1}); relu'(z) = 1[z > 0]
                grad_z = (self.weights[l].T @ grad_z) * (cache[l - 1][1] > 0)
        return grad_weights, grad_biases

    def update_weight(self, x_i, y_i, learning_rate=0.001):
        """One SGD step on the loss of x_i (n_features,), gold class y_i; returns that loss."""
        logits, cache = self.forward(x_i)
        loss, grad_logits = cross_entropy(logits, y_i)
        grad_weights, grad_biases = self.backward(grad_logits, cache)
        for param, grad in zip(self.weights + self.biases, grad_weights + grad_biases):
            param -= learning_rate * grad
        return loss

    def scores(self, X):
        """X (n, n_features) -> logits (n, n_classes): forward for all rows at once."""
        h = X
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            h = np.maximum(h @ W.T + b, 0.0)
        return h @ self.weights[-1].T + self.biases[-1]


def build_model(config, n_features):
    if config["model"] == "perceptron":
        return Perceptron(N_CLASSES, n_features)
    if config["model"] == "logistic_regression":
        return LogisticRegression(N_CLASSES, n_features)
    return MLP(N_CLASSES, n_features, config["hidden_size"], config["layers"])


def run(config, data_path=utils.FASHION_PATH):
    """Train the model of `config` (the flags that apply to it); returns the run's record."""
    utils.configure_seed(config["seed"])  # the initial weights and every epoch's order
    data = utils.load_classification_data(bias=config["model"] != "mlp", path=data_path)
    (train_X, train_y), (dev_X, dev_y) = data["train"], data["dev"]
    model = build_model(config, train_X.shape[1])
    kwargs = {"learning_rate": config["learning_rate"]} if "learning_rate" in config else {}

    def train_epoch(epoch):
        order = np.random.permutation(len(train_y))
        loss = model.train_epoch(train_X[order], train_y[order], **kwargs)
        return {} if loss is None else {"train_loss": loss}

    def evaluate():
        return {"train_acc": model.evaluate(train_X, train_y),
                "dev_acc": model.evaluate(dev_X, dev_y)}

    started = time.perf_counter()
    history, diverged = utils.train_epochs(config["epochs"], train_epoch, evaluate)
    seconds = time.perf_counter() - started
    final = {}
    if not diverged:
        final = {k: v for k, v in history[-1].items() if k not in ("epoch", "seconds")}
        test_X, test_y = data["test"]
        predicted = model.predict(test_X)
        final["test_acc"] = float((predicted == test_y).mean())
        # Rows: gold class, columns: predicted class.
        confusion = np.zeros((N_CLASSES, N_CLASSES), dtype=int)
        np.add.at(confusion, (test_y, predicted), 1)
        final["test_confusion"] = confusion.tolist()
    name = config["model"] if config.get("layers", 1) == 1 else f"mlp-L{config['layers']}"
    return {"question": "q3", "model": name, "config": config, "seed": config["seed"],
            "epochs": history, "final": final, "seconds": seconds,
            "status": "diverged" if diverged else "ok", "diverged_at": diverged}


def figures(record):
    """[(suffix, series, ylabel, title)] for utils.save_run: accuracy, and the loss if any."""
    rows, c = record["epochs"], record["config"]
    what = {"perceptron": "Q3.1(a) perceptron",
            "logistic_regression": "Q3.1(b) logistic regression",
            "mlp": f"Q3.2(b) MLP, {c.get('layers')} x {c.get('hidden_size')} ReLU"}[c["model"]]
    out = [("accuracy", {"training": [r["train_acc"] for r in rows],
                         "validation": [r["dev_acc"] for r in rows]},
            "Accuracy", f"{what}: accuracy per epoch")]
    if rows and "train_loss" in rows[0]:
        # The MLP's first epoch (large initial logits) would flatten a linear scale.
        out.append(("loss", {"training loss": [r["train_loss"] for r in rows]},
                    "Mean training loss (cross-entropy)", f"{what}: training loss per epoch",
                    {"logy": c["model"] == "mlp"}))
    return out if rows else []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=["perceptron", "logistic_regression", "mlp"])
    parser.add_argument("-epochs", type=utils.EPOCHS, default=20)
    parser.add_argument("-learning_rate", type=utils.LEARNING_RATE, default=0.001,
                        help="SGD step (logistic regression and MLP)")
    parser.add_argument("-hidden_size", type=utils.HIDDEN_SIZE, default=200,
                        help="units per hidden layer (MLP)")
    parser.add_argument("-layers", type=utils.LAYERS, default=1,
                        help="number of hidden layers (MLP)")
    parser.add_argument("-seed", type=utils.SEED, default=42)
    parser.add_argument("-data", default=utils.FASHION_PATH)
    parser.add_argument("-output", default=os.path.join(utils.RUNS, "q3"),
                        help="folder for the run's record and figures (default: runs/q3)")
    parser.add_argument("-show", action="store_true", help="also show the figures")
    opt = parser.parse_args(argv)

    config = {"model": opt.model, "epochs": opt.epochs, "seed": opt.seed}
    if opt.model != "perceptron":
        config["learning_rate"] = opt.learning_rate
    if opt.model == "mlp":
        config.update(hidden_size=opt.hidden_size, layers=opt.layers)
    record = run(config, opt.data)
    path = utils.save_run(opt.output, record["model"], record, figures(record), opt.show)
    final = record["final"]
    summary = (f"dev_acc {final['dev_acc']:.4f}, test_acc {final['test_acc']:.4f}"
               if record["status"] == "ok" else "diverged")
    print(f"{record['model']}: {summary} ({record['seconds']:.1f} s); record {path}")
    return 0


if __name__ == "__main__":
    utils.run_main(main)
