#!/usr/bin/env python
"""Question 3: Fashion-MNIST with numpy only: perceptron, logistic regression and an MLP.

    python hw1-q3.py perceptron             # Q3.1(a)
    python hw1-q3.py logistic_regression    # Q3.1(b)
    python hw1-q3.py mlp                    # Q3.2(b): 1 hidden layer of 200 ReLU units

Every model learns from one example at a time, visiting the 50,000 training images once per
epoch in a fresh random order (SGD with learning rate 0.001 for logistic regression and the
MLP). The linear models read the bias as an extra input feature (a last column of ones); the
MLP has explicit bias vectors. A run writes its record and figures to runs/q3/ (-output).
"""
import math
import time

import utils  # first: Ctrl-C while numpy loads ends with one line
import numpy as np

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

    A model defines scores(X) and update_weight(x_i, y_i[, learning_rate]), which returns the
    example's loss before the update (the perceptron takes no learning rate).
    """
    def predict(self, X):
        """X (n, d) -> the highest-scoring class of each row, (n,)."""
        return self.scores(X).argmax(axis=-1)

    def evaluate(self, X, y):
        """Accuracy of the predictions for X (n, d) against the gold classes y (n,)."""
        return float((self.predict(X) == y).mean())

    def update_weights(self, x_i, y_i, *learning_rate):  # the name the assignment text uses
        return self.update_weight(x_i, y_i, *learning_rate)

    def train_epoch(self, X, y, learning_rate=None):
        """One update_weight per example of X (n, d), y (n,), in that order, with the SGD
        learning rate (None for the perceptron, which has none).

        Returns the mean of the examples' losses, each taken just before its own update.
        Raises utils.Diverged at the first non-finite loss.
        """
        total = 0.0
        examples = utils.progress(zip(X, y.tolist()), desc="train", total=len(y))
        # Overflowing weights show up as a non-finite loss below; numpy's warnings would
        # only say it again.
        with np.errstate(over="ignore", invalid="ignore"):
            for step, (x_i, y_i) in enumerate(examples, start=1):
                if learning_rate is None:  # the perceptron
                    loss = self.update_weight(x_i, y_i)
                else:
                    loss = self.update_weight(x_i, y_i, learning_rate)
                if not math.isfinite(loss):
                    raise utils.Diverged(f"training loss is {loss}", step=step)
                total += loss
        return total / len(y)


class LinearModel(Model):
    """One weight vector per class, W (n_classes, n_features); class k scores W[k] . x."""

    def __init__(self, n_classes, n_features):
        self.W = np.zeros((n_classes, n_features))

    def scores(self, X):
        """X (n, n_features) -> class scores (n, n_classes)."""
        return X @ self.W.T


class Perceptron(LinearModel):
    def update_weight(self, x_i, y_i):
        """One perceptron step on x_i (n_features,) of gold class y_i (no learning rate).

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

    def __init__(self, n_classes, n_features, hidden_size):
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


MODELS = {"perceptron": Perceptron, "logistic_regression": LogisticRegression, "mlp": MLP}


def build_parser():
    parser = utils.parser("Question 3: Fashion-MNIST with numpy only.")
    parser.add_argument("model", choices=MODELS, help="the model to train")
    parser.add_argument("-epochs", type=utils.EPOCHS, default=20, help="passes over the data")
    parser.add_argument("-learning_rate", type=utils.LEARNING_RATE, default=0.001,
                        help="SGD step (logistic regression and MLP)")
    parser.add_argument("-hidden_size", type=utils.HIDDEN_SIZE, default=200,
                        help="units of the hidden layer (MLP)")
    utils.add_run_flags(parser, data=utils.FASHION_PATH, question="q3")
    return parser


def figures(record):
    """[(suffix, series, ylabel, title)] for utils.save_run: accuracy and training loss."""
    rows, c = record["epochs"], record["config"]
    if not rows:
        return []
    titles = {"perceptron": "Q3.1(a) perceptron",
              "logistic_regression": "Q3.1(b) logistic regression",
              "mlp": f"Q3.2(b) MLP, {c.get('hidden_size')} ReLU units"}
    what = titles.get(c["model"], c["model"])
    loss_label = ("Mistakes per example" if c["model"] == "perceptron"
                  else "Mean training loss (cross-entropy)")
    return [("accuracy", {"training": [r["train_acc"] for r in rows],
                          "validation": [r["dev_acc"] for r in rows]},
             "Accuracy", f"{what}: accuracy per epoch"),
            ("loss", {"training": [r["train_loss"] for r in rows]}, loss_label,
             f"{what}: training loss per epoch")]


def confusion_matrix(gold, predicted):
    """(K, K) counts, rows the gold classes, columns the predicted ones, of gold and predicted
    classes (n,): which classes the model confuses (the report's Q3 discussion)."""
    counts = np.zeros((N_CLASSES, N_CLASSES), dtype=int)
    np.add.at(counts, (gold, predicted), 1)
    return counts.tolist()


def main(argv=None):
    parser = build_parser()
    opt = parser.parse_args(argv)
    config = {"model": opt.model, "epochs": opt.epochs, "seed": opt.seed}
    if opt.model != "perceptron":
        config["learning_rate"] = opt.learning_rate
    if opt.model == "mlp":
        config["hidden_size"] = opt.hidden_size
    utils.require("matplotlib", "tqdm")  # figures and progress, checked before the work
    utils.check_output_folder(opt.output)

    utils.configure_seed(opt.seed)  # the initial weights and every epoch's order
    # The linear models read the bias as a last input feature of ones; the MLP has b1, b2.
    data = utils.load_classification_data(bias=opt.model != "mlp", path=opt.data)
    (train_X, train_y), (dev_X, dev_y), (test_X, test_y) = data.values()
    n_features = train_X.shape[1]
    if opt.model == "perceptron":
        model = Perceptron(N_CLASSES, n_features)
    elif opt.model == "logistic_regression":
        model = LogisticRegression(N_CLASSES, n_features)
    else:
        model = MLP(N_CLASSES, n_features, hidden_size=opt.hidden_size)
    learning_rate = config.get("learning_rate")  # None for the perceptron

    history, diverged, start = [], None, time.perf_counter()
    for epoch in range(1, opt.epochs + 1):
        epoch_start = time.perf_counter()
        order = np.random.permutation(len(train_y))
        try:
            train_loss = model.train_epoch(train_X[order], train_y[order], learning_rate)
        except utils.Diverged as exc:
            diverged = {"epoch": epoch, "step": exc.step, "message": exc.message}
            print(f"diverged at epoch {epoch}, example {exc.step}: {exc.message}")
            break
        metrics = {"train_loss": train_loss, "train_acc": model.evaluate(train_X, train_y),
                   "dev_acc": model.evaluate(dev_X, dev_y)}
        epoch_seconds = time.perf_counter() - epoch_start
        history.append({"epoch": epoch, **metrics, "seconds": epoch_seconds})
        print(utils.epoch_line(epoch, opt.epochs, metrics, epoch_seconds), flush=True)
    seconds = time.perf_counter() - start

    final = {}
    if not diverged:
        final = {k: history[-1][k] for k in ("train_loss", "train_acc", "dev_acc")}
        final["test_acc"] = model.evaluate(test_X, test_y)
        final["test_confusion"] = confusion_matrix(test_y, model.predict(test_X))
    record = {"question": "q3", "model": opt.model, "config": config, "seed": opt.seed,
              "epochs": history, "final": final, "seconds": seconds,
              "status": "diverged" if diverged else "ok", "diverged_at": diverged}
    path = utils.save_run(opt.output, utils.run_name(config, parser), record, figures(record),
                          opt.show)
    print(utils.final_line(final, seconds, path))
    return 0


if __name__ == "__main__":
    utils.run_main(main)
