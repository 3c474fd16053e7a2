#!/usr/bin/env python
"""Question 2: regression of Ames house prices (log of the sale price) with numpy only.

    python hw1-q2.py linear_regression     # Q2.2(a): SGD and the least-squares solution
    python hw1-q2.py nn                    # Q2.2(b): a network with one hidden ReLU layer
    python hw1-q2.py nn -seeds 10          # an extra: seeds 42..51, every seed's curves

Both models read the course's features with a column of ones appended as the last feature (the
linear model's bias, as in the course's skeleton; for the network it is a redundant input).
Loss per example: L = 0.5 * (y_hat - y)^2, so dL/dy_hat = y_hat - y. Training is per-example
SGD over the training set, shuffled afresh every epoch. The metric is the root mean squared
error (RMSE) of the log sale price. Records and figures go to runs/q2/ unless -output is given.
"""
import argparse
import math
import os
import time

import numpy as np

import utils


def rmse(y_hat, y):
    """Root mean squared error of predictions y_hat (n,) against targets y (n,)."""
    return math.sqrt(np.mean((y_hat - y) ** 2))


def solve_analytically(X, y):
    """The minimum-norm least-squares weights for X (n, d) and y (n,); returns w (d,).

    X^T X is singular on the Ames data (rank 245 of 349 columns: each one-hot group sums to the
    ones column, and some categories never occur in the training half), so the normal equations
    X^T X w = X^T y have infinitely many solutions. We take the one of least norm (the
    pseudo-inverse solution, computed stably by np.linalg.lstsq): it is the one SGD approaches.
    SGD starts from w = 0 and every step adds a multiple of a training row, so its weights stay
    in the row space of X, where the minimum-norm solution is the only least-squares solution.
    """
    w, _residuals, _rank, _singular_values = np.linalg.lstsq(X, y, rcond=None)
    return w


class _RegressionModel:
    """What both models share: an epoch of per-example SGD, and the RMSE."""

    def train_epoch(self, X, y, learning_rate):
        """One SGD step per example of X (n, d), y (n,), in the given order.

        Raises utils.Diverged at the first example whose loss is not finite (numpy's overflow
        warnings are silenced: this is the report).
        """
        with np.errstate(over="ignore", invalid="ignore"):
            for step, (x_i, y_i) in enumerate(zip(X, y), start=1):
                loss = self.update_weight(x_i, y_i, learning_rate)
                if not math.isfinite(loss):
                    raise utils.Diverged(f"the loss is {loss}", step=step)

    def evaluate(self, X, y):
        """RMSE of the predictions for X (n, d) against y (n,)."""
        return rmse(self.predict(X), y)


class LinearRegression(_RegressionModel):
    """y_hat = w . x, the bias being the weight of the ones column. Starts from w = 0."""

    def __init__(self, n_features):
        self.w = np.zeros(n_features)  # (d,)

    def update_weight(self, x_i, y_i, learning_rate):
        """One SGD step on L = 0.5 * (w . x_i - y_i)^2 for x_i (d,), scalar y_i; returns L."""
        y_hat = self.w @ x_i
        error = y_hat - y_i
        grad_w = error * x_i  # dL/dw (d,)
        self.w -= learning_rate * grad_w
        return 0.5 * error ** 2

    def predict(self, X):
        """X (n, d) -> predictions (n,)."""
        return X @ self.w


class NeuralRegression(_RegressionModel):
    """One hidden layer: z1 = W1 x + b1, h = relu(z1), y_hat = w2 . h + b2."""

    def __init__(self, n_features, hidden_size):
        # The prescribed initialisation: weights ~ N(0.1, 0.1^2), biases zero.
        self.W1 = np.random.normal(0.1, 0.1, size=(hidden_size, n_features))  # (h, d)
        self.b1 = np.zeros(hidden_size)                                        # (h,)
        self.w2 = np.random.normal(0.1, 0.1, size=hidden_size)                 # (h,)
        self.b2 = 0.0

    def update_weight(self, x_i, y_i, learning_rate):
        """One SGD step on L = 0.5 * (y_hat - y_i)^2 for x_i (d,), scalar y_i; returns L."""
        # Forward.
        z1 = self.W1 @ x_i + self.b1  # (h,)
        h = np.maximum(z1, 0.0)       # (h,)
        y_hat = self.w2 @ h + self.b2
        error = y_hat - y_i           # dL/dy_hat
        # Backward (every gradient uses the weights before this step's update).
        grad_w2 = error * h                     # (h,)
        grad_b2 = error
        grad_z1 = error * self.w2 * (z1 > 0)    # (h,); relu'(z) = 1[z > 0]
        grad_W1 = np.outer(grad_z1, x_i)        # (h, d)
        grad_b1 = grad_z1                       # (h,)
        # Update.
        self.W1 -= learning_rate * grad_W1
        self.b1 -= learning_rate * grad_b1
        self.w2 -= learning_rate * grad_w2
        self.b2 -= learning_rate * grad_b2
        return 0.5 * error ** 2

    def predict(self, X):
        """X (n, d) -> predictions (n,), all rows at once."""
        H = np.maximum(X @ self.W1.T + self.b1, 0.0)  # (n, h)
        return H @ self.w2 + self.b2


# ---------------------------------------------------------------------------------------------
# Runs: one model and seed, a seed study, and the command line.

def config(opt):
    """The flags that apply to opt.model (the linear model has no hidden layer)."""
    flags = ["model", "epochs", "learning_rate", "data"]
    flags += ["hidden_size"] if opt.model == "nn" else []
    flags += ["seeds"] if opt.seeds > 1 else []
    return {k: getattr(opt, k) for k in flags}


def train(opt, data, seed, verbose=True):
    """Train opt.model with `seed` (its initial weights and every epoch's shuffle); returns the
    model and the run's record. A run whose loss becomes non-finite stops with status "diverged"."""
    X_train, y_train = data["train"]
    X_test, y_test = data["test"]
    utils.configure_seed(seed)
    if opt.model == "linear_regression":
        model = LinearRegression(X_train.shape[1])
        w_analytic = solve_analytically(X_train, y_train)
    else:
        model = NeuralRegression(X_train.shape[1], opt.hidden_size)

    def train_epoch(epoch):
        order = np.random.permutation(len(y_train))
        model.train_epoch(X_train[order], y_train[order], opt.learning_rate)
        return {}

    def evaluate():
        row = {"train_rmse": model.evaluate(X_train, y_train),
               "test_rmse": model.evaluate(X_test, y_test)}
        if opt.model == "linear_regression":
            row["distance"] = float(np.linalg.norm(model.w - w_analytic))
        return row

    start = time.perf_counter()
    epochs, diverged_at = utils.train_epochs(opt.epochs, train_epoch, evaluate, verbose)
    seconds = time.perf_counter() - start
    metrics = ["train_rmse", "test_rmse"]
    metrics += ["distance"] if opt.model == "linear_regression" else []
    final = {k: (None if diverged_at else epochs[-1][k]) for k in metrics}
    if opt.model == "linear_regression":
        final["analytic_train_rmse"] = rmse(X_train @ w_analytic, y_train)
        final["analytic_test_rmse"] = rmse(X_test @ w_analytic, y_test)
    return model, {"question": "q2", "config": config(opt), "seed": seed, "epochs": epochs,
                   "final": final, "seconds": seconds,
                   "status": "diverged" if diverged_at else "ok", "diverged_at": diverged_at}


def rmse_curves(record, prefix=""):
    """{prefix + "train": [RMSE per epoch], prefix + "test": [...]} of a run's record."""
    return {f"{prefix}{split}": [row[split + "_rmse"] for row in record["epochs"]]
            for split in ("train", "test")}


def run_single(opt, data):
    """One run: per-epoch lines, then the record and figures in opt.output."""
    _model, record = train(opt, data, opt.seed)
    where = f"seed {opt.seed}: train and test RMSE"
    ylabel = "RMSE (log sale price)"
    if opt.model == "linear_regression":
        curves = rmse_curves(record, "SGD, ")
        n_epochs = len(record["epochs"])
        for split in ("train", "test"):  # the least-squares solution as reference lines
            curves[f"least squares, {split}"] = [record["final"][f"analytic_{split}_rmse"]] * n_epochs
        figures = [("rmse", curves, ylabel, f"Q2.2(a) linear regression, {where}"),
                   ("distance", {"SGD": [row["distance"] for row in record["epochs"]]},
                    "Distance ||w - w_LS|| (weights)",
                    f"Q2.2(a) seed {opt.seed}: distance to the least-squares solution")]
    else:
        figures = [("rmse", rmse_curves(record), ylabel, f"Q2.2(b) network, {where}")]
    path = utils.save_run(opt.output, opt.model, record, figures, opt.show)
    final = ", ".join(f"{k} {v:.4f}" for k, v in record["final"].items() if v is not None)
    print(f"{opt.model}: {record['status']} in {record['seconds']:.1f} s; final {final or 'none'}; "
          f"record {path}")
    return record


def spread(values):
    """Median, min, max, mean and sample standard deviation of a list (None when empty)."""
    if not values:
        return dict.fromkeys(("median", "min", "max", "mean", "std"))
    return {"median": float(np.median(values)), "min": min(values), "max": max(values),
            "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else None}


def run_study(opt, data):
    """Seeds opt.seed .. opt.seed + opt.seeds - 1; every seed's curves and the spread of the
    final RMSEs over the seeds that did not diverge."""
    runs, start = [], time.perf_counter()
    for seed in range(opt.seed, opt.seed + opt.seeds):
        _model, record = train(opt, data, seed, verbose=False)
        runs.append({key: record[key] for key in
                     ("seed", "status", "diverged_at", "seconds", "final", "epochs")})
        print(f"seed {seed}: {record['status']}; " + ", ".join(
            f"{k} {v:.4f}" for k, v in record["final"].items() if v is not None), flush=True)
    ok = [run for run in runs if run["status"] == "ok"]
    summary = {"n_seeds": len(runs), "n_ok": len(ok)}
    for split in ("train", "test"):
        summary[split + "_rmse"] = spread([run["final"][split + "_rmse"] for run in ok])
    record = {"question": "q2", "config": config(opt), "seeds": [r["seed"] for r in runs],
              "runs": runs, "summary": summary, "seconds": time.perf_counter() - start}
    label = f"{opt.model}, seeds {opt.seed}-{opt.seed + opt.seeds - 1}"
    figures = [(split, {f"seed {run['seed']}": rmse_curves(run)[split] for run in runs},
                f"{split.capitalize()} RMSE (log sale price)",
                f"Q2.2(b) extra: {label}, {split} RMSE of every seed", {"logy": True})
               for split in ("train", "test")]
    utils.save_run(opt.output, opt.model + "-seeds", record, figures, opt.show)
    for split, s in ((split, summary[split + "_rmse"]) for split in ("train", "test") if ok):
        print(f"{split}_rmse over the {len(ok)} of {len(runs)} seeds that did not diverge: "
              f"median {s['median']:.4f} (min {s['min']:.4f}, max {s['max']:.4f})")
    return record


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Question 2: Ames house prices, numpy only.")
    parser.add_argument("model", choices=["linear_regression", "nn"])
    parser.add_argument("-epochs", type=utils.EPOCHS, default=150)
    parser.add_argument("-learning_rate", type=utils.LEARNING_RATE, default=0.001)
    parser.add_argument("-hidden_size", type=utils.HIDDEN_SIZE, default=150,
                        help="hidden units of the network (nn only)")
    parser.add_argument("-seed", type=utils.SEED, default=42)
    parser.add_argument("-seeds", type=utils.number(int, 1, 1000), default=1,
                        help="N > 1: a seed study over seeds seed .. seed + N - 1")
    parser.add_argument("-output", default=os.path.join(utils.RUNS, "q2"),
                        help="folder for the record and figures (default: runs/q2)")
    parser.add_argument("-data", default=utils.AMES_PATH)
    parser.add_argument("-show", action="store_true", help="also show the figures")
    return parser.parse_args(argv)


def main(argv=None):
    opt = parse_args(argv)
    data = utils.load_regression_data(bias=True, path=opt.data)
    if opt.seeds > 1:
        run_study(opt, data)
    else:
        run_single(opt, data)
    return 0


if __name__ == "__main__":
    utils.run_main(main)
