#!/usr/bin/env python
"""Question 2: regression of Ames house prices (log dollars) with numpy only.

    python hw1-q2.py linear_regression
    python hw1-q2.py nn
    python hw1-q2.py nn -seeds 10          # seed study: how many seeds converge

Both models read the same features, with a column of ones appended as the last feature (the
linear model's bias, as in the course). The network also has its own biases b1, b2, so for it
the ones column is a redundant extra input weight; it is kept so both models see the same data,
as in the course's skeleton.

Loss, for both models and every example: L = 0.5 * (y_hat - y)^2, so dL/dy_hat = y_hat - y.
Training is per-example SGD over a freshly shuffled training set each epoch; evaluation is the
root mean squared error (RMSE) in log dollars.

With the prescribed initialisation the network's first predictions are far too large and its
first updates big, so for some seeds SGD diverges. Such a run stops at the first non-finite loss,
prints the epoch and step, and is recorded with status "diverged"; `-seeds N` counts how often.
"""
import argparse
import math
import os
import time

import numpy as np

import utils


def distance(analytic_solution, model_params):
    """Euclidean distance between two parameter vectors of the same shape."""
    return np.linalg.norm(analytic_solution - model_params)


def solve_analytically(X, y, l2=1e-4):
    """Least-squares weights for X (n, d) and y (n,); returns w (d,).

    On the Ames data X^T X is singular (each one-hot group sums to the ones column, and some
    categories never occur in the training half), so this solves the ridge-regularised normal
    equations (X^T X + l2 I) w = X^T y with a small l2 (1e-4, as the course advised; the bias is
    regularised too) by a linear solve, which is cheaper and more accurate than an explicit
    inverse.
    """
    d = X.shape[1]
    return np.linalg.solve(X.T @ X + l2 * np.eye(d), X.T @ y)


def rmse(y_hat, y):
    """Root mean squared error between predictions y_hat (n,) and targets y (n,)."""
    error = y_hat - y
    return math.sqrt(error @ error / y.shape[0])


class Diverged(Exception):
    """A non-finite loss during training; `step` is the 1-based example index in the epoch."""

    def __init__(self, step, message):
        super().__init__(message)
        self.step = step


class _RegressionModel:
    """Shared training loop and evaluation (the course's base class)."""

    def train_epoch(self, X, y, learning_rate=0.001):
        """One pass of per-example SGD over X (n, d), y (n,), in the given order.

        Raises Diverged at the first example whose loss is not finite (a float check per step,
        negligible next to the step; numpy's overflow warnings are silenced, this is the report).
        """
        with np.errstate(over="ignore", invalid="ignore"):
            for step, (x_i, y_i) in enumerate(zip(X, y), start=1):
                loss = self.update_weight(x_i, y_i, learning_rate)
                if not math.isfinite(loss):
                    raise Diverged(step, f"loss is {loss}")

    def evaluate(self, X, y):
        """RMSE of the model's predictions for X (n, d) against y (n,)."""
        return rmse(self.predict(X), y)


class LinearRegression(_RegressionModel):
    def __init__(self, n_features, **kwargs):
        self.w = np.zeros(n_features)     # (d,), the bias is the last entry
        self._step = np.empty(n_features)  # reused buffer for lr * gradient

    def update_weight(self, x_i, y_i, learning_rate=0.001):
        """One SGD step on 0.5 * (x_i . w - y_i)^2 for x_i (d,), scalar y_i; returns that loss.

        Gradient: (x_i . w - y_i) x_i. Same arithmetic as `w -= lr * error * x_i`, without
        allocating a new array.
        """
        error = x_i.dot(self.w) - y_i
        np.multiply(x_i, learning_rate * error, out=self._step)
        np.subtract(self.w, self._step, out=self.w)
        return 0.5 * error * error

    def predict(self, X):
        """X (n, d) -> predictions (n,)."""
        return X @ self.w


class NeuralRegression(_RegressionModel):
    """One hidden layer of ReLU units and a linear output: y_hat = W2 . relu(W1 x + b1) + b2."""

    def __init__(self, n_features, hidden):
        # The prescribed initialisation: weights ~ N(0.1, 0.1^2), biases zero.
        self.W1 = np.random.normal(0.1, 0.1, size=(hidden, n_features))  # (h, d)
        self.b1 = np.zeros(hidden)                                        # (h,)
        self.W2 = np.random.normal(0.1, 0.1, size=hidden)                 # (h,)
        self.b2 = 0.0
        # Buffers reused by every step.
        self._z1 = np.empty(hidden)
        self._h1 = np.empty(hidden)
        self._step_W2 = np.empty(hidden)

    def update_weight(self, x_i, y_i, learning_rate=0.001):
        """One SGD step on 0.5 * (y_hat - y_i)^2 for x_i (d,), scalar y_i; returns that loss.

        Hand-written backpropagation. dL/dz1 is zero on the hidden units that x_i leaves off
        (most of them once training is under way), so only the active units' entries of b1 and
        rows of W1 are updated. Every entry gets exactly the textbook step's arithmetic
        (W1 -= lr * np.outer(grad_z1, x_i), and so on; tests/test_q2.py checks it): the skipped
        ones would have had zero subtracted.
        """
        W1, b1, W2 = self.W1, self.b1, self.W2
        z1, h1, step_W2 = self._z1, self._h1, self._step_W2
        # Forward.
        W1.dot(x_i, out=z1)
        z1 += b1
        np.maximum(z1, 0.0, out=h1)
        error = W2.dot(h1) + self.b2 - y_i        # dL/dy_hat = y_hat - y
        # Backward: dL/dz1 on the active units (m,), with W2 before its update.
        active = h1.nonzero()[0]
        grad_z1 = error * W2[active]
        # Updates: dL/dW2 = error * h1, dL/db2 = error, dL/db1 = dL/dz1, dL/dW1 = outer(dL/dz1, x).
        np.multiply(h1, error, out=step_W2)
        np.multiply(step_W2, learning_rate, out=step_W2)
        np.subtract(W2, step_W2, out=W2)
        self.b2 -= learning_rate * error
        b1[active] -= learning_rate * grad_z1
        W1[active] -= learning_rate * np.outer(grad_z1, x_i)
        return 0.5 * error * error

    def predict(self, X):
        """X (n, d) -> predictions (n,), for all rows at once."""
        return np.maximum(X @ self.W1.T + self.b1, 0.0) @ self.W2 + self.b2


# ---------------------------------------------------------------------------------------------
# Running: one training run, a seed study, and the command line.

def train(opt, data, seed, verbose=True):
    """Train opt.model for opt.epochs epochs with `seed`; returns the run record (a dict).

    data: {"train": (X, y), "test": (X, y)}, X with the ones column last. The seed fixes the
    network's initial weights and every epoch's shuffle: the same seed gives the same numbers.
    A run whose loss becomes non-finite stops there with status "diverged".
    """
    X_train, y_train = data["train"]
    X_test, y_test = data["test"]
    utils.configure_seed(seed)
    if opt.model == "linear_regression":
        model = LinearRegression(X_train.shape[1])
        analytic = solve_analytically(X_train, y_train)
    else:
        model = NeuralRegression(X_train.shape[1], opt.hidden_size)
        analytic = None

    epochs, diverged_at = [], None
    start = time.perf_counter()
    bar = utils.progress(range(1, opt.epochs + 1), desc=f"{opt.model} seed {seed}")
    for epoch in bar:
        order = np.random.permutation(len(y_train))
        try:
            model.train_epoch(X_train[order], y_train[order], learning_rate=opt.learning_rate)
            with np.errstate(over="ignore", invalid="ignore"):
                row = {"epoch": epoch, "train_rmse": model.evaluate(X_train, y_train),
                       "test_rmse": model.evaluate(X_test, y_test)}
            if not math.isfinite(row["train_rmse"]):  # only the epoch's last update can do this
                raise Diverged(len(order), "predictions are not finite after the epoch")
        except Diverged as exc:
            diverged_at = {"epoch": epoch, "step": exc.step, "message": str(exc)}
            bar.write(f"{opt.model} seed {seed}: diverged at epoch {epoch}, step {exc.step}: {exc}")
            break
        line = (f"epoch {epoch:3d} | train rmse {row['train_rmse']:.4f} | "
                f"test rmse {row['test_rmse']:.4f}")
        if analytic is not None:
            row["distance"] = distance(analytic, model.w)
            line += f" | distance to analytic {row['distance']:.4f}"
        epochs.append(row)
        if verbose:
            bar.write(line)
    seconds = time.perf_counter() - start

    metrics = ["train_rmse", "test_rmse"] + (["distance"] if analytic is not None else [])
    final = {k: (None if diverged_at else epochs[-1][k]) for k in metrics}
    if analytic is not None:
        final["analytic_train_rmse"] = rmse(X_train @ analytic, y_train)
        final["analytic_test_rmse"] = rmse(X_test @ analytic, y_test)
    return {"question": "q2", "model": opt.model, "config": vars(opt), "seed": seed,
            "epochs": epochs, "final": final, "seconds": seconds,
            "status": "diverged" if diverged_at else "ok", "diverged_at": diverged_at}


def run_single(opt, data):
    """One run: per-epoch lines, the JSON record and the figures in opt.output."""
    record = train(opt, data, opt.seed)
    name = os.path.join(opt.output, opt.model)
    utils.save_record(name + ".json", record)
    epochs = record["epochs"]
    rmse_curves = {split: [r[split + "_rmse"] for r in epochs] for split in ("train", "test")}
    utils.plot(rmse_curves, "RMSE (log dollars)", name + "-rmse.pdf",
               title=opt.model, show=opt.show)
    if opt.model == "linear_regression":
        utils.plot({"distance": [r["distance"] for r in epochs]},
                   "Distance to the analytic solution", name + "-distance.pdf",
                   title=opt.model, show=opt.show)
    final = ", ".join(f"{k} {v:.4f}" for k, v in record["final"].items() if v is not None)
    print(f"{opt.model}: {record['status']} in {record['seconds']:.1f} s; "
          f"final: {final or 'none (diverged)'}; record: {name}.json")
    return record


def run_study(opt, data):
    """Seeds opt.seed .. opt.seed + opt.seeds - 1: how many converge, and their final RMSEs.

    The standard deviations are sample standard deviations (ddof=1) over the converged seeds.
    """
    runs, start = [], time.perf_counter()
    for seed in range(opt.seed, opt.seed + opt.seeds):
        record = train(opt, data, seed, verbose=False)
        runs.append({"seed": seed, "status": record["status"], "seconds": record["seconds"],
                     "diverged_at": record["diverged_at"], "epochs": record["epochs"],
                     **record["final"]})
        if record["status"] == "ok":
            print(f"{opt.model} seed {seed}: train rmse {record['final']['train_rmse']:.4f} | "
                  f"test rmse {record['final']['test_rmse']:.4f} ({record['seconds']:.1f} s)")
    summary = {"n_seeds": len(runs)}
    converged = [r for r in runs if r["status"] == "ok"]
    summary["n_converged"] = len(converged)
    for metric in ("train_rmse", "test_rmse"):
        values = [r[metric] for r in converged]
        summary[metric + "_mean"] = float(np.mean(values)) if values else None
        summary[metric + "_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else None
    record = {"question": "q2", "model": opt.model + "-seeds", "config": vars(opt),
              "runs": runs, "summary": summary, "seconds": time.perf_counter() - start}
    name = os.path.join(opt.output, opt.model + "-seeds")
    utils.save_record(name + ".json", record)
    for split in ("train", "test"):  # one curve per converged seed
        curves = {f"seed {r['seed']}": [e[split + "_rmse"] for e in r["epochs"]] for r in converged}
        if curves:
            utils.plot(curves, f"{split.capitalize()} RMSE (log dollars)", f"{name}-{split}.pdf",
                       title=f"{opt.model}: {len(converged)} of {len(runs)} seeds converge",
                       show=opt.show, logy=True)
    print(f"{opt.model}: {summary['n_converged']} of {summary['n_seeds']} seeds converged; "
          + " | ".join(f"{k} {v:.4f}" for k, v in summary.items()
                       if k.endswith(("_mean", "_std")) and v is not None))
    return record


def positive(kind):
    """An argparse type: `kind` (int or float) that must be finite and > 0."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}")
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Question 2: Ames house prices, numpy only.")
    parser.add_argument("model", choices=["linear_regression", "nn"],
                        help="which model to train")
    parser.add_argument("-epochs", type=positive(int), default=150)
    parser.add_argument("-learning_rate", type=positive(float), default=0.001)
    parser.add_argument("-hidden_size", type=positive(int), default=150)
    parser.add_argument("-seed", type=int, default=42)
    parser.add_argument("-seeds", type=positive(int), default=1,
                        help="N > 1: a seed study over seeds seed .. seed + N - 1 "
                             "(writes <model>-seeds.json and -train/-test.pdf figures)")
    parser.add_argument("-output", default=os.path.join("results", "q2"),
                        help="folder for the run record and figures")
    parser.add_argument("-data", default=utils.AMES_PATH)
    parser.add_argument("-show", action="store_true", help="also show the figures")
    return parser.parse_args(argv)


def main(argv=None):
    opt = parse_args(argv)
    data = utils.load_regression_data(bias=True, path=opt.data)
    if opt.seeds > 1:
        return run_study(opt, data)
    return run_single(opt, data)


if __name__ == "__main__":
    main()
