#!/usr/bin/env python
"""Question 3: Fashion-MNIST with numpy only: perceptron, logistic regression and an MLP.

    python hw1-q3.py perceptron             # Q3.1(a)
    python hw1-q3.py logistic_regression    # Q3.1(b)
    python hw1-q3.py mlp                    # Q3.2(b): one hidden layer of 200 ReLU units

Every model learns from one example at a time, visiting the 50,000 training images once per
epoch in a fresh random order (SGD with learning rate 0.001 for logistic regression and the
MLP). As in the course's skeleton, the linear models read the bias as a last input feature of
ones; the MLP has bias vectors. A run writes its record and figures to runs/q3/ (-output).
"""
import argparse
import math

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
    """What the models share: predictions, accuracy and an epoch of per-example updates.

    A model defines scores(X) and update_weight(x_i, y_i, learning_rate), which returns the
    example's loss before the update.
    """
    def predict(self, X):
        """X (n, d) -> the highest-scoring class of each row, (n,)."""
        return self.scores(X).argmax(axis=-1)

    def evaluate(self, X, y):
        """Accuracy of the predictions for X (n, d) against the gold classes y (n,)."""
        return float((self.predict(X) == y).mean())

    def update_weights(self, x_i, y_i, learning_rate=0.001):  # the assignment's name for it
        return self.update_weight(x_i, y_i, learning_rate)

    def train_epoch(self, X, y, learning_rate=0.001):
        """One update_weight per example of X (n, d), y (n,), in that order. Returns the mean
        of the examples' losses, each taken just before its own update."""
        total = 0.0
        # Diverging weights overflow; the run notices at the end of the epoch (the loss is not
        # finite), so numpy's warnings would only say it again.
        with np.errstate(over="ignore", invalid="ignore"):
            for x_i, y_i in utils.progress(zip(X, y.tolist()), total=len(y)):
                total += self.update_weight(x_i, y_i, learning_rate)
        return total / len(y)


class LinearModel(Model):
    """One weight vector per class, W (n_classes, n_features); class k scores W[k] . x."""

    def __init__(self, n_classes, n_features):
        self.W = np.zeros((n_classes, n_features))

    def scores(self, X):
        """X (n, n_features) -> class scores (n, n_classes)."""
        return X @ self.W.T


class Perceptron(LinearModel):
    def update_weight(self, x_i, y_i, learning_rate=None):
        """One perceptron step on x_i (n_features,) of gold class y_i; the perceptron has no
        learning rate and ignores it (the skeleton passes one to every model).

        On a mistake, move the gold class's weights towards x_i and the predicted class's away
        from it; a correct prediction changes nothing. Returns the zero-one loss (1.0 on a
        mistake), so that an epoch's mean loss is its fraction of mistakes.
        """
        y_hat = (self.W @ x_i).argmax()
        if y_hat != y_i:
            self.W[y_i] += x_i
            self.W[y_hat] -= x_i
        return float(y_hat != y_i)


class LogisticRegression(LinearModel):
    def update_weight(self, x_i, y_i, learning_rate):
        """One SGD step on the loss of x_i (n_features,), gold class y_i; returns that loss.

        dloss/dW = (softmax(W x_i) - onehot(y_i)) x_i^T, (n_classes, n_features); no
        regularisation.
        """
        loss, grad_scores = cross_entropy(self.W @ x_i, y_i)
        grad_W = np.outer(grad_scores, x_i)  # (n_classes, n_features)
        # W <- W - learning_rate * grad_W, the gradient scaled in place (one temporary, not two)
        grad_W *= learning_rate
        self.W -= grad_W
        return loss


class MLP(Model):
    """One hidden layer of ReLU units and a softmax output, trained by per-example SGD:
    z1 = W1 x + b1, h = relu(z1), logits = W2 h + b2, loss = cross-entropy(logits, y)."""

    def __init__(self, n_classes, n_features, hidden_size, layers=1):
        if layers != 1:  # the skeleton passes its -layers flag; the assignment asks for one
            raise ValueError(f"this MLP has one hidden layer; got layers={layers}")
        # The prescribed initialisation: weights ~ N(0.1, 0.1^2), biases zero.
        self.W1 = np.random.normal(0.1, 0.1, size=(hidden_size, n_features))  # (h, d)
        self.b1 = np.zeros(hidden_size)                                        # (h,)
        self.W2 = np.random.normal(0.1, 0.1, size=(n_classes, hidden_size))   # (K, h)
        self.b2 = np.zeros(n_classes)                                          # (K,)

    def forward(self, X):
        """X (n, d), or one example (d,) -> (logits (n, K) or (K,), cache (z1, h))."""
        z1 = X @ self.W1.T + self.b1       # (n, h) or (h,)
        h = np.maximum(z1, 0.0)
        logits = h @ self.W2.T + self.b2   # (n, K) or (K,)
        return logits, (z1, h)

    def backward(self, x, grad_logits, cache):
        """Backpropagation for one example x (d,) from grad_logits = dloss/dlogits (K,).

        Returns (grad_W1, grad_b1, grad_W2, grad_b2), shaped like W1, b1, W2, b2.
        """
        z1, h = cache
        grad_W2 = np.outer(grad_logits, h)        # (K, h)
        grad_b2 = grad_logits                     # (K,)
        grad_h = self.W2.T @ grad_logits          # (h,)
        grad_z1 = grad_h * (z1 > 0)               # (h,); relu'(z) = 1[z > 0]
        grad_W1 = np.outer(grad_z1, x)            # (h, d)
        grad_b1 = grad_z1                         # (h,)
        return grad_W1, grad_b1, grad_W2, grad_b2

    def update_weight(self, x_i, y_i, learning_rate):
        """One SGD step on the loss of x_i (d,), gold class y_i; returns that loss."""
        logits, cache = self.forward(x_i)
        loss, grad_logits = cross_entropy(logits, y_i)
        grads = self.backward(x_i, grad_logits, cache)
        # param <- param - learning_rate * grad. Each gradient is scaled in place: a step holds
        # one (h, d) array besides W1, not two (two, freed together, can make the allocator
        # hand memory back to the kernel at every step).
        for param, grad in zip((self.W1, self.b1, self.W2, self.b2), grads):
            grad *= learning_rate
            param -= grad
        return loss

    def scores(self, X):
        """X (n, d) -> logits (n, K)."""
        return self.forward(X)[0]


# The model argument -> (the flags its run uses besides -epochs and -seed, how to build it from
# the flags and the number of features).
MODELS = {
    "perceptron": ([], lambda opt, n_features: Perceptron(N_CLASSES, n_features)),
    "logistic_regression": (["learning_rate"],
                            lambda opt, n_features: LogisticRegression(N_CLASSES, n_features)),
    "mlp": (["learning_rate", "hidden_size"],
            lambda opt, n_features: MLP(N_CLASSES, n_features, opt.hidden_size)),
}


def build_parser():
    parser = argparse.ArgumentParser(description="Question 3: Fashion-MNIST with numpy only.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("-epochs", type=utils.number(int, 1, 10_000), default=20)
    parser.add_argument("-learning_rate", type=utils.number(float, 0, 10, low_open=True),
                        default=0.001, help="SGD step (logistic regression and MLP)")
    parser.add_argument("-hidden_size", type=utils.number(int, 1, 10_000), default=200,
                        help="units of the hidden layer (MLP)")
    utils.add_run_flags(parser, data=utils.FASHION_PATH, question="q3")
    return parser


def main(argv=None):
    parser = build_parser()
    opt = parser.parse_args(argv)
    flags, build_model = MODELS[opt.model]
    config = utils.run_config(opt, parser, ["model", "epochs", *flags, "seed"])
    utils.check_output_folder(opt.output)
    utils.configure_seed(opt.seed)  # the initial weights and every epoch's order
    data = utils.load_classification_data(bias=opt.model != "mlp", path=opt.data)
    (train_X, train_y), (dev_X, dev_y), (test_X, test_y) = data.values()
    model = build_model(opt, train_X.shape[1])

    log = utils.Log(opt.epochs)
    for epoch in range(1, opt.epochs + 1):
        order = np.random.permutation(len(train_y))
        train_loss = model.train_epoch(train_X[order], train_y[order],
                                       learning_rate=opt.learning_rate)
        metrics = {"train_loss": train_loss, "train_acc": model.evaluate(train_X, train_y),
                   "dev_acc": model.evaluate(dev_X, dev_y)}
        if log.epoch(epoch, metrics):
            break

    final = {**metrics, "test_acc": model.evaluate(test_X, test_y),
             "test_confusion": confusion_matrix(test_y, model.predict(test_X))}
    record = {"question": "q3", "config": config, "seed": opt.seed, **log.record(final)}
    path = utils.save_run(opt.output, utils.run_name(config, parser), record, figures(record),
                          opt.show)
    print(utils.final_line(record["final"], record["seconds"], path))
    return 0


def confusion_matrix(gold, predicted):
    """(K, K) counts, rows the gold classes, columns the predicted ones, of gold and predicted
    classes (n,): which classes the model confuses."""
    counts = np.zeros((N_CLASSES, N_CLASSES), dtype=int)
    np.add.at(counts, (gold, predicted), 1)
    return counts.tolist()


def figures(record):
    """[(suffix, series, ylabel, title)] for utils.save_run: accuracy and training loss."""
    rows, config = record["epochs"], record["config"]
    what = {"perceptron": "Q3.1(a) perceptron",
            "logistic_regression": "Q3.1(b) logistic regression",
            "mlp": f"Q3.2(b) MLP, {config.get('hidden_size')} ReLU units"}[config["model"]]
    loss_label = ("Mistakes per example" if config["model"] == "perceptron"
                  else "Mean training loss (cross-entropy)")
    return [("accuracy", {"training": [r["train_acc"] for r in rows],
                          "validation": [r["dev_acc"] for r in rows]},
             "Accuracy", f"{what}: accuracy per epoch"),
            ("loss", {"training": [r["train_loss"] for r in rows]}, loss_label,
             f"{what}: training loss per epoch")] if rows else []


if __name__ == "__main__":
    utils.run_main(main)
