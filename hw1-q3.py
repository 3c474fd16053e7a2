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
import math
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
    """What the models share: predictions, accuracy and an epoch of per-example updates.

    A model defines scores(X) and update_weight(x_i, y_i, **kwargs), which returns the
    example's loss before the update. `flags` are the command-line flags that apply to it;
    `bias_feature` says whether it reads the bias as a last input feature of ones.
    """
    flags = ()
    bias_feature = True

    def predict(self, X):
        """X (n, d) -> the highest-scoring class of each row, (n,)."""
        return self.scores(X).argmax(axis=-1)

    def evaluate(self, X, y):
        """Accuracy of the predictions for X (n, d) against the gold classes y (n,)."""
        return float((self.predict(X) == y).mean())

    def update_weights(self, x_i, y_i, **kwargs):  # the name the assignment text uses
        return self.update_weight(x_i, y_i, **kwargs)

    def train_epoch(self, X, y, **kwargs):
        """One update_weight per example of X (n, d), y (n,), in that order; kwargs go to it.

        Returns the mean of the examples' losses, each taken just before its own update.
        Raises utils.Diverged at the first non-finite loss.
        """
        total = 0.0
        examples = utils.progress(zip(X, y.tolist()), desc="train", total=len(y))
        # Overflowing weights show up as a non-finite loss below; numpy's warnings would
        # only say it again.
        with np.errstate(over="ignore", invalid="ignore"):
            for step, (x_i, y_i) in enumerate(examples, start=1):
                loss = self.update_weight(x_i, y_i, **kwargs)
                if not math.isfinite(loss):
                    raise utils.Diverged(f"training loss is {loss}", step=step)
                total += loss
        return total / len(y)


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
        from it; a correct prediction changes nothing. Returns the zero-one loss (1.0 on a
        mistake), so that an epoch's mean loss is its fraction of mistakes.
        """
        y_hat = (self.W @ x_i).argmax()
        if y_hat != y_i:
            self.W[y_i] += x_i
            self.W[y_hat] -= x_i
        return float(y_hat != y_i)


class LogisticRegression(LinearModel):
    flags = ("learning_rate",)

    def update_weight(self, x_i, y_i, learning_rate):
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
    flags = ("learning_rate", "hidden_size", "layers")
    bias_feature = False  # explicit bias vectors

    def __init__(self, n_classes, n_features, hidden_size, layers, **kwargs):
        sizes = [n_features] + [hidden_size] * layers + [n_classes]
        # The prescribed initialisation: weights ~ N(0.1, 0.1^2), biases zero.
        self.weights = [np.random.normal(0.1, 0.1, size=(n_out, n_in))
                        for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros(n_out) for n_out in sizes[1:]]

    def forward(self, X):
        """X (n, n_features), or one example (n_features,) -> (logits (n, n_classes) or
        (n_classes,), cache). cache[l] = (h_l, z_l), the input and pre-activation of layer l:
        what backward needs."""
        h, cache = X, []
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            z = h @ W.T + b
            cache.append((h, z))
            if l < len(self.weights) - 1:       # hidden layer; the last z is the logits
                h = np.maximum(z, 0.0)
        return z, cache

    def backward(self, grad_logits, cache):
        """Backpropagation of grad_logits = dloss/dlogits (n_classes,) of one example.

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

    def update_weight(self, x_i, y_i, learning_rate):
        """One SGD step on the loss of x_i (n_features,), gold class y_i; returns that loss."""
        logits, cache = self.forward(x_i)
        loss, grad_logits = cross_entropy(logits, y_i)
        grad_weights, grad_biases = self.backward(grad_logits, cache)
        for param, grad in zip(self.weights + self.biases, grad_weights + grad_biases):
            param -= learning_rate * grad
        return loss

    def scores(self, X):
        """X (n, n_features) -> logits (n, n_classes)."""
        return self.forward(X)[0]


MODELS = {"perceptron": Perceptron, "logistic_regression": LogisticRegression, "mlp": MLP}


def build_parser():
    parser = utils.parser("Question 3: Fashion-MNIST with numpy only.")
    parser.add_argument("model", choices=MODELS, help="the model to train")
    parser.add_argument("-epochs", type=utils.EPOCHS, default=20, help="passes over the data")
    parser.add_argument("-learning_rate", type=utils.LEARNING_RATE, default=0.001,
                        help="SGD step (logistic regression and MLP)")
    parser.add_argument("-hidden_size", type=utils.HIDDEN_SIZE, default=200,
                        help="units per hidden layer (MLP)")
    parser.add_argument("-layers", type=utils.LAYERS, default=1,
                        help="number of hidden layers (MLP)")
    utils.add_run_flags(parser, data=utils.FASHION_PATH, question="q3")
    return parser


def figures(record):
    """[(suffix, series, ylabel, title)] for utils.save_run: accuracy and training loss."""
    rows, c = record["epochs"], record["config"]
    if not rows:
        return []
    titles = {"perceptron": "Q3.1(a) perceptron",
              "logistic_regression": "Q3.1(b) logistic regression",
              "mlp": f"Q3.2(b) MLP, {c.get('layers')} x {c.get('hidden_size')} ReLU"}
    what = titles.get(c["model"], c["model"])
    loss_label = ("Mistakes per example" if c["model"] == "perceptron"
                  else "Mean training loss (cross-entropy)")
    return [("accuracy", {"training": [r["train_acc"] for r in rows],
                          "validation": [r["dev_acc"] for r in rows]},
             "Accuracy", f"{what}: accuracy per epoch"),
            ("loss", {"training": [r["train_loss"] for r in rows]}, loss_label,
             f"{what}: training loss per epoch")]


def main(argv=None):
    parser = build_parser()
    opt = parser.parse_args(argv)
    Model = MODELS[opt.model]
    config = {"model": opt.model, "epochs": opt.epochs, "seed": opt.seed,
              **{flag: getattr(opt, flag) for flag in Model.flags}}
    utils.check_output_folder(opt.output)
    utils.keep_freed_memory()

    utils.configure_seed(opt.seed)  # the initial weights and every epoch's order
    data = utils.load_classification_data(bias=Model.bias_feature, path=opt.data)
    (train_X, train_y), (dev_X, dev_y), (test_X, test_y) = data.values()
    model = Model(N_CLASSES, train_X.shape[1], hidden_size=opt.hidden_size, layers=opt.layers)

    history, diverged, start = [], None, time.perf_counter()
    for epoch in range(1, opt.epochs + 1):
        epoch_start = time.perf_counter()
        order = np.random.permutation(len(train_y))
        try:
            train_loss = model.train_epoch(train_X[order], train_y[order],
                                           learning_rate=opt.learning_rate)
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
        predicted = model.predict(test_X)
        final["test_acc"] = float((predicted == test_y).mean())
        confusion = np.zeros((N_CLASSES, N_CLASSES), dtype=int)  # rows: gold, columns: predicted
        np.add.at(confusion, (test_y, predicted), 1)
        final["test_confusion"] = confusion.tolist()
    record = {"question": "q3", "model": opt.model, "config": config, "seed": opt.seed,
              "epochs": history, "final": final, "seconds": seconds,
              "status": "diverged" if diverged else "ok", "diverged_at": diverged}
    path = utils.save_run(opt.output, utils.run_name(config, parser), record, figures(record),
                          opt.show)
    print(utils.final_line(final, seconds, path))
    return 0


if __name__ == "__main__":
    utils.run_main(main)
