#!/usr/bin/env python
"""Question 2: regression of Ames house prices (the log of the sale price) with numpy only.

    python hw1-q2.py linear_regression     # Q2.2(a): SGD against the least-squares solution
    python hw1-q2.py nn                    # Q2.2(b): a network with one hidden ReLU layer
    python hw1-q2.py nn -seeds 10          # the network over seeds 42..51

As in the course's skeleton, the linear model reads its bias as the weight of a last column of
ones; the network has bias vectors of its own and reads the features alone. The loss of one
example is L = 0.5 * (y_hat - y)^2, so dL/dy_hat = y_hat - y. Training is per-example SGD over
the training houses, shuffled afresh every epoch; the metric is the root mean squared error
(RMSE). A run writes its record and figures to runs/q2/ (-output).
"""
import argparse
import math

import numpy as np

import utils


def rmse(y_hat, y):
    """Root mean squared error of predictions y_hat (n,) against targets y (n,)."""
    return math.sqrt(np.mean((y_hat - y) ** 2))


def solve_analytically(X, y):
    """The minimum-norm least-squares weights for X (n, d) and y (n,); returns w (d,).

    X^T X is singular on the Ames data (rank 245 of 349 columns: each one-hot group sums to the
    ones column, and some categories never occur in the training half), so the normal equations
    have infinitely many solutions. We take the one of least norm (the pseudo-inverse solution,
    computed stably by lstsq). SGD from w = 0 adds a multiple of a training row at every step,
    so its weights stay in the row space of X, where that is the only least-squares solution.
    """
    w, _residuals, _rank, _singular_values = np.linalg.lstsq(X, y, rcond=None)
    return w


def distance(analytic_solution, model_params):
    """Euclidean distance between the least-squares weights and the model's, both (d,)."""
    return float(np.linalg.norm(analytic_solution - model_params))


class RegressionModel:
    """What both models share: an epoch of per-example SGD, and the RMSE."""

    def update_weights(self, x_i, y_i, learning_rate):  # the assignment's name for it
        return self.update_weight(x_i, y_i, learning_rate)

    def train_epoch(self, X, y, learning_rate=0.001):
        """One SGD step per example of X (n, d), y (n,), in that order."""
        # Diverging weights overflow; the run notices at the end of the epoch (a metric is not
        # finite), so numpy's warnings would only say it again.
        with np.errstate(over="ignore", invalid="ignore"):
            for x_i, y_i in zip(X, y):
                self.update_weight(x_i, y_i, learning_rate)

    def evaluate(self, X, y):
        """RMSE of the predictions for X (n, d) against y (n,)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return rmse(self.predict(X), y)


class LinearRegression(RegressionModel):
    """y_hat = w . x, the bias being the weight of the ones column. Starts from w = 0."""

    def __init__(self, n_features):
        self.w = np.zeros(n_features)  # (d,)

    def update_weight(self, x_i, y_i, learning_rate):
        """One SGD step on L = 0.5 * (w . x_i - y_i)^2 for x_i (d,), scalar y_i; returns L."""
        error = self.w @ x_i - y_i  # dL/dy_hat
        grad_w = error * x_i        # (d,)
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
        error = y_hat - y_i                      # dL/dy_hat
        # Backward: every gradient uses the weights before this step's update.
        grad_w2 = error * h                      # (h,)
        grad_b2 = error
        grad_z1 = error * self.w2 * (z1 > 0)     # (h,); relu'(z) = 1[z > 0]
        grad_W1 = np.outer(grad_z1, x_i)         # (h, d)
        grad_b1 = grad_z1                        # (h,)
        grad_W1 *= learning_rate  # scaled in place: one (h, d) temporary per step, not two
        self.W1 -= grad_W1
        self.b1 -= learning_rate * grad_b1
        self.w2 -= learning_rate * grad_w2
        self.b2 -= learning_rate * grad_b2
        return 0.5 * error ** 2

    def predict(self, X):
        """X (n, d) -> predictions (n,)."""
        return self.forward(X)[0]

    def dead_units(self, train_X, test_X):
        """[hidden units that output 0 for every row of train_X (n, d), those of them that fire
        for some row of test_X (m, d)]: units no training example trains can still act on test."""
        dead = (self.forward(train_X)[1][1] == 0).all(axis=0)              # (h,)
        fires_on_test = (self.forward(test_X)[1][1] > 0).any(axis=0)       # (h,)
        return [int(dead.sum()), int((dead & fires_on_test).sum())]


# The model argument -> (the flags its run uses besides -epochs, -learning_rate and -seed,
# how to build it from the flags and the number of features).
MODELS = {
    "linear_regression": ([], lambda opt, n_features: LinearRegression(n_features)),
    "nn": (["hidden_size"], lambda opt, n_features: NeuralRegression(n_features, opt.hidden_size)),
}


def build_parser():
    parser = argparse.ArgumentParser(description="Question 2: Ames house prices, numpy only.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("-epochs", type=utils.number(int, 1, 10_000), default=150)
    parser.add_argument("-learning_rate", type=utils.number(float, 0, 10, low_open=True),
                        default=0.001)
    parser.add_argument("-hidden_size", type=utils.number(int, 1, 10_000), default=150,
                        help="hidden units of the network (nn)")
    parser.add_argument("-seeds", type=utils.number(int, 1, 1000), default=1,
                        help="N > 1: train with each of the seeds seed .. seed + N - 1")
    utils.add_run_flags(parser, data=utils.AMES_PATH, question="q2")
    return parser


def main(argv=None):
    parser = build_parser()
    opt = parser.parse_args(argv)
    if opt.seed + opt.seeds - 1 > utils.MAX_SEED:
        parser.error(f"-seed {opt.seed} -seeds {opt.seeds} ends past {utils.MAX_SEED}")
    flags, build_model = MODELS[opt.model]
    config = utils.run_config(opt, parser, ["model", "epochs", "learning_rate", *flags, "seed",
                                            *(["seeds"] if opt.seeds > 1 else [])])
    utils.check_output_folder(opt.output)
    data = utils.load_regression_data(bias=opt.model != "nn", path=opt.data)  # as the skeleton
    (train_X, train_y), (test_X, test_y) = data["train"], data["test"]
    w_analytic = solve_analytically(train_X, train_y) if opt.model == "linear_regression" else None

    runs = []
    for seed in range(opt.seed, opt.seed + opt.seeds):
        utils.configure_seed(seed)  # the initial weights and every epoch's order
        model = build_model(opt, train_X.shape[1])
        log = utils.Log(opt.epochs, prefix=f"seed {seed} | " if opt.seeds > 1 else "")
        for epoch in range(1, opt.epochs + 1):
            order = np.random.permutation(len(train_y))
            model.train_epoch(train_X[order], train_y[order], learning_rate=opt.learning_rate)
            metrics = {"train_rmse": model.evaluate(train_X, train_y),
                       "test_rmse": model.evaluate(test_X, test_y)}
            if w_analytic is not None:
                metrics["distance"] = distance(w_analytic, model.w)
            if log.epoch(epoch, metrics):
                break
        final = {k: log.epochs[-1][k] for k in metrics} if log.epochs else {}
        if opt.model == "nn":
            final["dead_units"] = model.dead_units(train_X, test_X)
        if w_analytic is not None:
            final.update(analytic_train_rmse=rmse(train_X @ w_analytic, train_y),
                         analytic_test_rmse=rmse(test_X @ w_analytic, test_y))
        runs.append({"seed": seed, **log.record(final)})

    record, figures = make_record(config, runs)
    path = utils.save_run(opt.output, utils.run_name(config, parser), record, figures, opt.show)
    print(utils.final_line(record.get("final", {}), record["seconds"], path))
    return 0


# ---------------------------------------------------------------------------------------------
# What a run saves besides its per-epoch metrics: the spread over seeds, the figures.

def make_record(config, runs):
    """The record of one run, or of a seed study (its runs and their spread), and its figures."""
    if len(runs) == 1:
        return {"question": "q2", "config": config, **runs[0]}, run_figures(runs[0], config)
    record = {"question": "q2", "config": config, "seeds": [run["seed"] for run in runs],
              "runs": runs, "summary": seed_summary(runs),
              "seconds": sum(run["seconds"] for run in runs)}
    return record, seed_figures(record)


def seed_summary(runs):
    """How many seeds ran and how many did not diverge, and the spread of their final RMSEs
    (None when every seed diverged)."""
    ok = [run for run in runs if run["status"] == "ok"]
    return {"n_seeds": len(runs), "n_ok": len(ok),
            **{f"{split}_rmse": utils.spread([run["final"][f"{split}_rmse"] for run in ok])
               if ok else None for split in ("train", "test")}}


def rmse_curves(run, prefix=""):
    """{prefix + "train": [RMSE per epoch], prefix + "test": [...]} of one seed's run."""
    return {f"{prefix}{split}": [row[split + "_rmse"] for row in run["epochs"]]
            for split in ("train", "test")}


def run_figures(run, config):
    """One run's figures: RMSE per epoch and, for the linear model, the least-squares RMSEs and
    the distance to the least-squares weights."""
    where, ylabel = f"seed {run['seed']}: train and test RMSE", "RMSE (log sale price)"
    if config["model"] == "nn" or not run["epochs"]:
        return [("rmse", rmse_curves(run), ylabel, f"Q2.2(b) network, {where}")]
    curves, n_epochs = rmse_curves(run, "SGD, "), len(run["epochs"])
    for split in ("train", "test"):  # the least-squares solution as reference lines
        curves[f"least squares, {split}"] = [run["final"][f"analytic_{split}_rmse"]] * n_epochs
    return [("rmse", curves, ylabel, f"Q2.2(a) linear regression, {where}"),
            ("distance", {"SGD": [row["distance"] for row in run["epochs"]]},
             "Distance ||w - w_LS|| (weights)",
             f"Q2.2(a) seed {run['seed']}: distance to the least-squares solution")]


def seed_figures(record):
    """The seed study's figures: every seed's train and test RMSE per epoch."""
    seeds = record["seeds"]
    label = f"{record['config']['model']}, seeds {seeds[0]}-{seeds[-1]}"
    question = "Q2.2(a)" if record["config"]["model"] == "linear_regression" else "Q2.2(b)"
    return [(split, {f"seed {run['seed']}": rmse_curves(run)[split] for run in record["runs"]},
             f"{split.capitalize()} RMSE (log sale price)",
             f"{question}: {label}, {split} RMSE of every seed", {"logy": True})
            for split in ("train", "test")]


if __name__ == "__main__":
    utils.run_main(main)
