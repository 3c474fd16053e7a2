#!/usr/bin/env python
"""Question 3: Fashion-MNIST with numpy only: perceptron, logistic regression and an MLP.

    python hw1-q3.py perceptron
    python hw1-q3.py logistic_regression
    python hw1-q3.py mlp                    # 1 hidden layer of 200 ReLU units
    python hw1-q3.py mlp -layers 2          # any number of hidden layers >= 1

Each epoch reshuffles the 50,000 training examples and makes one pass of per-example updates
(SGD with learning rate 0.001 for logistic regression and the MLP). The linear models read the
bias as an extra input feature (a last column of ones); the MLP has explicit bias vectors.
Losses are the multinomial logistic loss (cross-entropy), computed with the log-sum-exp trick.

Speed (tools/bench_q3.py): logistic regression and the MLP apply their per-example updates to
the first layer's weights W (m, d) in blocks (`sgd_epoch`), which is plain per-example SGD
rewritten, not mini-batching: every example still sees the weights left by all the examples
before it (tests/test_q3.py checks the result against the textbook loop).
"""
import argparse
import math
import os
import time

import numpy as np

import utils

# Examples per block in `sgd_epoch`: each step pays O(block) for its corrections, each block
# pays three matrix products. Measured: 8, 16 and 32 cost the MLP 169, 146 and 142 us per
# example and logistic regression 30, 28 and 27 us; 16 keeps the Gram matrix (16 x 16 x 785
# multiply-adds) small enough for one BLAS thread.
BLOCK = 16

# OpenBLAS computes a matrix product on both cores above ~2^18 multiply-adds (2^19 in recent
# versions). When the other core is busy (a shared machine, another run beside this one) waking
# its thread costs milliseconds: measured here, a 32x784x200 product took 0.7 ms on one thread
# and 1.2 to 4 ms on two. So big products here go in slices of rows that stay on one thread.
SINGLE_THREAD_WORK = 2**18


def row_slices(n_rows, work_per_row):
    """Slices covering n_rows rows, each with at most SINGLE_THREAD_WORK multiply-adds."""
    rows = max(1, SINGLE_THREAD_WORK // work_per_row)
    return [slice(start, start + rows) for start in range(0, n_rows, rows)]


class Diverged(Exception):
    """A non-finite training loss; `step` is the 1-based index of the example in the epoch."""

    def __init__(self, step, loss):
        super().__init__(f"loss is {loss} at example {step} of the epoch")
        self.step = step


def cross_entropy(scores, y_i, scale=1.0):
    """Multinomial logistic loss of one example and its gradient, scaled by `scale`.

    scores (K,) holds the logits, y_i the gold class. Returns (loss, grad), grad (K,) being
    scale * (softmax - onehot(y_i)), computed in place: grad is `scores`, overwritten.
    Logits are shifted by their maximum first (log-sum-exp), so logits in the thousands
    neither overflow nor lose the loss. Python floats, because for 10 classes each numpy call
    would cost more than its arithmetic (12.8 us against 7.7 us per call, measured).
    """
    logits = scores.tolist()
    top = max(logits)
    exps = [math.exp(s - top) for s in logits]
    total = math.fsum(exps)
    factor = scale / total
    scores[:] = [e * factor for e in exps]
    scores[y_i] -= scale
    return math.log(total) - (logits[y_i] - top), scores


def sgd_epoch(W, X, y, step, desc=None):
    """One pass of per-example SGD where example i changes W (m, d) by -u_i x_i^T.

    X (n, d) and y (n,) in training order. `step(y_i, Wx)` receives W's current product with
    x_i, Wx (m,), does everything else of the example's SGD step (other parameters included),
    overwrites Wx with u_i = learning_rate * dloss/d(Wx) and returns the loss. Returns the
    mean loss; with a `desc`, a progress bar (on a terminal) shows the advance.

    Same steps as the textbook loop (`Wx = W @ x_i`, then `W -= np.outer(u_i, x_i)`) in exact
    arithmetic, only regrouped: within a block of examples starting from weights W0,
    W_i x_i = W0 x_i - sum_{j<i} u_j (x_j . x_i), so the block's products with W0 and its Gram
    matrix are two matrix products, and the block's updates are applied as a third one. The
    textbook loop reads and writes the whole of W (1.2 MB for the MLP) for every example.
    """
    labels = np.asarray(y).tolist()             # python ints index faster
    slices = row_slices(W.shape[0], BLOCK * W.shape[1])
    total_loss = 0.0
    starts = range(0, X.shape[0], BLOCK)
    for start in starts if desc is None else utils.progress(starts, desc=desc):
        Xb = X[start:start + BLOCK]               # (b, d)
        products = np.empty((W.shape[0], Xb.shape[0]))
        for rows in slices:                       # (m, b): column i is W0 x_i
            np.matmul(W[rows], Xb.T, out=products[rows])
        gram = Xb @ Xb.T                          # (b, b): x_j . x_i (small: one thread)
        updates = np.empty(products.T.shape)      # (b, m): row j is u_j
        for i in range(Xb.shape[0]):
            Wx = np.subtract(products[:, i], gram[i, :i] @ updates[:i], out=updates[i])
            loss = step(labels[start + i], Wx)
            if not math.isfinite(loss):
                raise Diverged(start + i + 1, loss)
            total_loss += loss
        for rows in slices:                       # W -= updates^T Xb, slice by slice
            W[rows] -= updates[:, rows].T @ Xb
    return float(total_loss / X.shape[0])


class LinearModel:
    """The course's base class: W (n_classes, n_features), scores = W x."""

    def __init__(self, n_classes, n_features, **kwargs):
        self.W = np.zeros((n_classes, n_features))

    def update_weight(self, x_i, y_i, **kwargs):
        raise NotImplementedError

    def update_weights(self, x_i, y_i, **kwargs):  # the name the assignment text uses
        return self.update_weight(x_i, y_i, **kwargs)

    def train_epoch(self, X, y, **kwargs):
        """One pass over X (n, d), y (n,) in the given order."""
        for x_i, y_i in utils.progress(zip(X, np.asarray(y).tolist()), desc="train", total=len(y)):
            self.update_weight(x_i, y_i, **kwargs)

    def predict(self, X):
        """X (n, d) -> predicted classes (n,)."""
        return (X @ self.W.T).argmax(axis=1)

    def evaluate(self, X, y):
        """Accuracy of the predictions for X (n, d) against the gold classes y (n,)."""
        return float((self.predict(X) == y).mean())


class Perceptron(LinearModel):
    def __init__(self, n_classes, n_features, **kwargs):
        super().__init__(n_classes, n_features)
        self._scores = np.empty(n_classes)  # reused by every step

    def update_weight(self, x_i, y_i, **kwargs):
        """Multi-class perceptron step for x_i (d,) and gold class y_i; other arguments ignored.

        On a mistake add x_i to the gold class's weights and subtract it from the predicted
        class's; only those two rows change.
        """
        y_hat = np.dot(self.W, x_i, out=self._scores).argmax()
        if y_hat != y_i:
            self.W[y_i] += x_i
            self.W[y_hat] -= x_i


class LogisticRegression(LinearModel):
    def update_weight(self, x_i, y_i, learning_rate=0.001):
        """One SGD step on the cross-entropy of x_i (d,), gold class y_i; returns that loss.

        Gradient: (softmax(W x_i) - onehot(y_i)) x_i^T; no regularisation.
        """
        return self.train_epoch(x_i[None, :], [y_i], learning_rate, desc=None)

    def train_epoch(self, X, y, learning_rate=0.001, desc="train", **kwargs):
        """Per-example SGD over X (n, d), y (n,); returns the mean loss, each example's taken
        before its own update."""
        step = lambda y_i, scores: cross_entropy(scores, y_i, learning_rate)[0]  # noqa: E731
        return sgd_epoch(self.W, X, y, step, desc=desc)


class MLP:
    """ReLU hidden layers and a softmax output layer, trained by per-example SGD.

    Layer l computes z_l = W_l h_{l-1} + b_l (h_0 = x); hidden layers output h_l = relu(z_l),
    the last layer's z is the logits. W_0 (hidden, n_features), inner W_l (hidden, hidden),
    the last (n_classes, hidden).
    """

    def __init__(self, n_classes, n_features, hidden_size, layers=1):
        sizes = [n_features] + [hidden_size] * layers + [n_classes]
        # The prescribed initialisation: weights ~ N(0.1, 0.1^2), biases zero.
        self.weights = [np.random.normal(0.1, 0.1, size=(n_out, n_in))
                        for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros(n_out) for n_out in sizes[1:]]

    def logits(self, X):
        """X (n, d) -> logits (n, n_classes), all rows at once."""
        h = X
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            h = np.maximum(h @ W.T + b, 0.0)
        return h @ self.weights[-1].T + self.biases[-1]

    def predict(self, X):
        """X (n, d) -> predicted classes (n,)."""
        return self.logits(X).argmax(axis=1)

    def evaluate(self, X, y):
        """Accuracy of the predictions for X (n, d) against the gold classes y (n,)."""
        return float((self.predict(X) == y).mean())

    def _step(self, y_i, W0x, learning_rate):
        """Everything of one example's SGD step but the update of W_0, given W_0 x (hidden,).

        Forward, loss, hand-written backpropagation, updates of the other weights and of every
        bias. Overwrites W0x with learning_rate * dloss/dz_0, for `sgd_epoch` to update W_0,
        and returns the loss.
        """
        weights, biases = self.weights, self.biases
        z = W0x
        z += biases[0]
        zs, hs = [z], []                           # pre-activations and inputs of layers >= 1
        for W, b in zip(weights[1:], biases[1:]):
            hs.append(np.maximum(z, 0.0))
            z = W @ hs[-1] + b
            zs.append(z)
        loss, delta = cross_entropy(z, y_i, learning_rate)  # delta = lr * dloss/dz, last layer
        for l in range(len(weights) - 1, 0, -1):
            # lr * dloss/dz_{l-1}: back through W_l (before its update) and relu'(z_{l-1}),
            # written over z_{l-1}, which is no longer needed (so z_0's storage, W0x, gets u).
            delta_below = np.multiply(delta @ weights[l], zs[l - 1] > 0, out=zs[l - 1])
            weights[l] -= np.multiply.outer(delta, hs[l - 1])
            biases[l] -= delta
            delta = delta_below
        biases[0] -= delta
        return loss

    def update_weight(self, x_i, y_i, learning_rate=0.001):
        """One SGD step on the cross-entropy of x_i (d,), gold class y_i; returns that loss."""
        return self.train_epoch(x_i[None, :], [y_i], learning_rate, desc=None)

    update_weights = update_weight  # the name the assignment text uses

    def train_epoch(self, X, y, learning_rate=0.001, desc="train", **kwargs):
        """Per-example SGD over X (n, d), y (n,); returns the mean loss, each example's taken
        before its own update."""
        return sgd_epoch(self.weights[0], X, y,
                         lambda y_i, W0x: self._step(y_i, W0x, learning_rate), desc=desc)


def build_model(name, n_classes, n_features, opt):
    if name == "perceptron":
        return Perceptron(n_classes, n_features)
    if name == "logistic_regression":
        return LogisticRegression(n_classes, n_features)
    return MLP(n_classes, n_features, opt.hidden_size, opt.layers)


def positive(kind):
    """argparse type: a number of the given kind that must be > 0."""
    def parse(text):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=["perceptron", "logistic_regression", "mlp"])
    parser.add_argument("-epochs", type=positive(int), default=20)
    parser.add_argument("-learning_rate", type=positive(float), default=0.001)
    parser.add_argument("-hidden_size", type=positive(int), default=200)
    parser.add_argument("-layers", type=positive(int), default=1,
                        help="number of hidden layers of the MLP")
    parser.add_argument("-seed", type=int, default=42)
    parser.add_argument("-output", default=os.path.join("results", "q3"))
    parser.add_argument("-data", default=utils.FASHION_PATH)
    parser.add_argument("-show", action="store_true", help="also show the figures")
    opt = parser.parse_args()

    name = opt.model if opt.model != "mlp" or opt.layers == 1 else f"mlp-L{opt.layers}"
    has_loss = opt.model != "perceptron"
    utils.configure_seed(opt.seed)
    data = utils.load_classification_data(bias=opt.model != "mlp", path=opt.data)
    train_X, train_y = data["train"]
    dev_X, dev_y = data["dev"]
    test_X, test_y = data["test"]
    n_classes = int(np.unique(train_y).size)
    model = build_model(opt.model, n_classes, train_X.shape[1], opt)

    # Each epoch's shuffled copy goes into the same buffer: one gather, no new 300 MB array
    # (mode="clip" because the default mode would gather into a hidden temporary copy first).
    epoch_X = np.empty_like(train_X)
    epochs, status, diverged_at = [], "ok", None
    started = time.perf_counter()
    for epoch in range(1, opt.epochs + 1):
        order = np.random.permutation(train_X.shape[0])
        np.take(train_X, order, axis=0, out=epoch_X, mode="clip")
        epoch_y = train_y[order]
        try:
            train_loss = model.train_epoch(epoch_X, epoch_y, learning_rate=opt.learning_rate)
        except Diverged as exc:
            status = "diverged"
            message = f"{exc} (training example #{order[exc.step - 1]})"
            diverged_at = {"epoch": epoch, "step": exc.step, "message": message}
            print(f"epoch {epoch}: training diverged: {message}; stopping")
            break
        row = {"epoch": epoch}
        if has_loss:
            row["train_loss"] = train_loss
        row["dev_acc"] = model.evaluate(dev_X, dev_y)
        row["test_acc"] = model.evaluate(test_X, test_y)
        epochs.append(row)
        loss_text = f"train loss {train_loss:.4f} | " if has_loss else ""
        print(f"epoch {epoch:2d} | {loss_text}dev acc {row['dev_acc']:.4f} | "
              f"test acc {row['test_acc']:.4f}")
    seconds = time.perf_counter() - started

    final = {key: value for key, value in epochs[-1].items() if key != "epoch"} if epochs else {}
    if epochs:  # rows: gold class, columns: predicted class, on the test set
        confusion = np.bincount(test_y * n_classes + model.predict(test_X),
                                minlength=n_classes * n_classes).reshape(n_classes, n_classes)
        final["test_confusion"] = confusion.tolist()
    record = {"question": "q3", "model": name, "config": vars(opt), "seed": opt.seed,
              "epochs": epochs, "final": final, "seconds": seconds, "status": status,
              "diverged_at": diverged_at}
    utils.save_record(os.path.join(opt.output, f"{name}.json"), record)
    if epochs:
        accuracy = {"validation": [r["dev_acc"] for r in epochs],
                    "test": [r["test_acc"] for r in epochs]}
        utils.plot(accuracy, "Accuracy", os.path.join(opt.output, f"{name}-accuracy.pdf"),
                   title=name, show=opt.show)
        if has_loss:
            utils.plot({"training loss": [r["train_loss"] for r in epochs]}, "Training loss",
                       os.path.join(opt.output, f"{name}-loss.pdf"), title=name, show=opt.show)
    if status != "ok":
        raise SystemExit(1)


if __name__ == "__main__":
    main()
