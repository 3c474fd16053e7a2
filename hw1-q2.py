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
import math
import time

import utils  # first: Ctrl-C while numpy loads ends with one line
import numpy as np


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


class RegressionModel:
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


class LinearRegression(RegressionModel):
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


class NeuralRegression(RegressionModel):
    """One hidden layer: z1 = W1 x + b1, h = relu(z1), y_hat = w2 . h + b2."""

    def __init__(self, n_features, hidden_size):
        # The prescribed initialisation: weights ~ N(0.1, 0.1^2), biases zero.
        self.W1 = np.random.normal(0.1, 0.1, size=(hidden_size, n_features))  # (h, d)
        self.b1 = np.zeros(hidden_size)                                        # (h,)
        self.w2 = np.random.normal(0.1, 0.1, size=hidden_size)                 # (h,)
        self.b2 = 0.0

    def forward(self, X):
        """X (n, d), or one example (d,) -> (y_hat (n,) or a scalar, cache (z1, h))."""
        z1 = X @ self.W1.T + self.b1  # (n, h) or (h,)
        h = np.maximum(z1, 0.0)
        return h @ self.w2 + self.b2, (z1, h)

    def update_weight(self, x_i, y_i, learning_rate):
        """One SGD step on L = 0.5 * (y_hat - y_i)^2 for x_i (d,), scalar y_i; returns L."""
        y_hat, (z1, h) = self.forward(x_i)
        error = y_hat - y_i           # dL/dy_hat
        # Backward (every gradient uses the weights before this step's update).
        grad_w2 = error * h                     # (h,)
        grad_b2 = error
        grad_z1 = error * self.w2 * (z1 > 0)    # (h,); relu'(z) = 1[z > 0]
        grad_W1 = np.outer(grad_z1, x_i)        # (h, d)
        grad_b1 = grad_z1                       # (h,)
        # Update: param <- param - learning_rate * grad. The (h, d) gradient is scaled in place,
        # so a step holds one array of that size, not two.
        grad_W1 *= learning_rate
        self.W1 -= grad_W1
        self.b1 -= learning_rate * grad_b1
        self.w2 -= learning_rate * grad_w2
        self.b2 -= learning_rate * grad_b2
        return 0.5 * error ** 2

    def predict(self, X):
        """X (n, d) -> predictions (n,)."""
        return self.forward(X)[0]


MODELS = {"linear_regression": LinearRegression, "nn": NeuralRegression}


# ---------------------------------------------------------------------------------------------
# The command line: one run, or a seed study (-seeds N).

def build_parser():
    parser = utils.parser("Question 2: Ames house prices, numpy only.")
    parser.add_argument("model", choices=MODELS, help="the model to train")
    parser.add_argument("-epochs", type=utils.EPOCHS, default=150, help="passes over the data")
    parser.add_argument("-learning_rate", type=utils.LEARNING_RATE, default=0.001,
                        help="SGD step")
    parser.add_argument("-hidden_size", type=utils.HIDDEN_SIZE, default=150,
                        help="hidden units of the network (nn only)")
    parser.add_argument("-seeds", type=utils.number(int, 1, 1000), default=1,
                        help="N > 1: a seed study over seeds seed .. seed + N - 1")
    utils.add_run_flags(parser, data=utils.AMES_PATH, question="q2")
    return parser


def main(argv=None):
    parser = build_parser()
    opt = parser.parse_args(argv)
    config = {"model": opt.model, "epochs": opt.epochs, "learning_rate": opt.learning_rate,
              **({"hidden_size": opt.hidden_size} if opt.model == "nn" else {}),
              "seed": opt.seed, **({"seeds": opt.seeds} if opt.seeds > 1 else {})}
    utils.require("matplotlib")  # for the figures, checked before the work
    utils.check_output_folder(opt.output)
    data = utils.load_regression_data(bias=True, path=opt.data)
    (X_train, y_train), (X_test, y_test) = data.values()
    metric_names = ["train_rmse", "test_rmse"]
    if opt.model == "linear_regression":
        w_analytic = solve_analytically(X_train, y_train)
        metric_names.append("distance")  # ||w - w_analytic|| after each epoch

    runs = []
    for seed in range(opt.seed, opt.seed + opt.seeds):
        utils.configure_seed(seed)  # the initial weights and every epoch's order
        if opt.model == "linear_regression":
            model = LinearRegression(n_features=X_train.shape[1])
        else:
            model = NeuralRegression(n_features=X_train.shape[1], hidden_size=opt.hidden_size)
        history, diverged, start = [], None, time.perf_counter()
        for epoch in range(1, opt.epochs + 1):
            epoch_start = time.perf_counter()
            order = np.random.permutation(len(y_train))
            try:
                model.train_epoch(X_train[order], y_train[order], opt.learning_rate)
            except utils.Diverged as exc:
                diverged = {"epoch": epoch, "step": exc.step, "message": exc.message}
                print(("" if opt.seeds == 1 else f"seed {seed} | ")
                      + f"diverged at epoch {epoch}, example {exc.step}: {exc.message}")
                break
            with np.errstate(over="ignore", invalid="ignore"):
                metrics = {"train_rmse": model.evaluate(X_train, y_train),
                           "test_rmse": model.evaluate(X_test, y_test)}
            if opt.model == "linear_regression":
                metrics["distance"] = float(np.linalg.norm(model.w - w_analytic))
            epoch_seconds = time.perf_counter() - epoch_start
            history.append({"epoch": epoch, **metrics, "seconds": epoch_seconds})
            print(("" if opt.seeds == 1 else f"seed {seed} | ")
                  + utils.epoch_line(epoch, opt.epochs, metrics, epoch_seconds), flush=True)
            if utils.not_finite(metrics):
                diverged = {"epoch": epoch, "step": None,
                            "message": f"{', '.join(utils.not_finite(metrics))} not finite"}
                break
        final = {k: (None if diverged else history[-1][k]) for k in metric_names}
        if opt.model == "linear_regression":
            final["analytic_train_rmse"] = rmse(X_train @ w_analytic, y_train)
            final["analytic_test_rmse"] = rmse(X_test @ w_analytic, y_test)
        runs.append({"seed": seed, "epochs": history, "final": final,
                     "seconds": time.perf_counter() - start,
                     "status": "diverged" if diverged else "ok", "diverged_at": diverged})

    name = utils.run_name(config, parser)
    if opt.seeds == 1:
        record = {"question": "q2", "config": config, **runs[0]}
        figures = run_figures(record)
    else:
        record = {"question": "q2", "config": config, "seeds": [r["seed"] for r in runs],
                  "runs": runs, "summary": seed_summary(runs),
                  "seconds": sum(r["seconds"] for r in runs)}
        figures = seed_figures(record)
    path = utils.save_run(opt.output, name, record, figures, opt.show)
    final = runs[0]["final"] if opt.seeds == 1 else {
        f"{split}_rmse_median": record["summary"][f"{split}_rmse"]["median"]
        for split in ("train", "test") if record["summary"]["n_ok"]}
    print(utils.final_line(final, record["seconds"], path))
    return 0


# ---------------------------------------------------------------------------------------------
# What a run saves besides its per-epoch metrics: the spread over seeds, the figures.

def seed_summary(runs):
    """How many seeds ran and did not diverge, and the spread of their final RMSEs (None when
    every seed diverged)."""
    ok = [run for run in runs if run["status"] == "ok"]
    return {"n_seeds": len(runs), "n_ok": len(ok),
            **{f"{split}_rmse": utils.spread([run["final"][f"{split}_rmse"] for run in ok])
               if ok else None for split in ("train", "test")}}


def rmse_curves(run, prefix=""):
    """{prefix + "train": [RMSE per epoch], prefix + "test": [...]} of one seed's run."""
    return {f"{prefix}{split}": [row[split + "_rmse"] for row in run["epochs"]]
            for split in ("train", "test")}


def run_figures(record):
    """One run's figures: RMSE per epoch (and, for the linear model, the least-squares RMSEs
    and the distance to the least-squares weights)."""
    where, ylabel = f"seed {record['seed']}: train and test RMSE", "RMSE (log sale price)"
    if record["config"]["model"] != "linear_regression":
        return [("rmse", rmse_curves(record), ylabel, f"Q2.2(b) network, {where}")]
    curves, n_epochs = rmse_curves(record, "SGD, "), len(record["epochs"])
    for split in ("train", "test"):  # the least-squares solution as reference lines
        curves[f"least squares, {split}"] = [record["final"][f"analytic_{split}_rmse"]] * n_epochs
    return [("rmse", curves, ylabel, f"Q2.2(a) linear regression, {where}"),
            ("distance", {"SGD": [row["distance"] for row in record["epochs"]]},
             "Distance ||w - w_LS|| (weights)",
             f"Q2.2(a) seed {record['seed']}: distance to the least-squares solution")]


def seed_figures(record):
    """The seed study's figures: every seed's train and test RMSE per epoch."""
    seeds = record["seeds"]
    label = f"{record['config']['model']}, seeds {seeds[0]}-{seeds[-1]}"
    return [(split, {f"seed {run['seed']}": rmse_curves(run)[split] for run in record["runs"]},
             f"{split.capitalize()} RMSE (log sale price)",
             f"Q2.2(b) extra: {label}, {split} RMSE of every seed", {"logy": True})
            for split in ("train", "test")]


if __name__ == "__main__":
    utils.run_main(main)
