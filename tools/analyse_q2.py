#!/usr/bin/env python
"""Q2 extras, measured: where the test error of linear SGD and of the network comes from.

    python hw1-q2.py linear_regression; python hw1-q2.py nn -seeds 10
    python tools/analyse_q2.py    # reads runs/q2/linear_regression.json and nn-seeds=10.json

Retrains, with hw1-q2.py's models and their train_epoch, the linear run (its test RMSE per epoch
without the most outlying test houses) and the network seeds whose test RMSE is over twice the
median (where their error lies), each checked to end at its record's RMSEs; measures the data.
Writes analysis.json, analysis-linear.pdf and analysis-seeds.pdf to -output.
"""
import json
import os

import numpy as np

from common import figure, load_record, load_script  # first: puts the project folder on sys.path
import utils

q2 = load_script("hw1-q2.py")
K_OUTLYING = (10, 20)  # the linear run / the networks: without the k most outlying test houses


def train(model, data, config, seed, final, after_epoch=None):
    """Train `model` as hw1-q2.py does: seed, then per epoch a fresh order and the model's own
    train_epoch; after_epoch(model) after each epoch. The final RMSEs must be the record's."""
    X, y = data["train"]  # X (n, d), y (n,)
    utils.configure_seed(seed)
    model = model()  # built after seeding, as hw1-q2.py builds it
    for _ in range(config["epochs"]):
        order = np.random.permutation(len(y))
        model.train_epoch(X[order], y[order], config["learning_rate"])
        if after_epoch:
            after_epoch(model)
    got = {f"{split}_rmse": model.evaluate(*data[split]) for split in ("train", "test")}
    assert got == {k: final[k] for k in got}, f"seed {seed} did not reproduce its record"
    return model


def without(error, order, k):
    """The RMSE of errors (n_test,) without the k test houses first in `order`, and the share
    of the squared error those k houses carry."""
    squared = error ** 2
    return float(np.sqrt(squared[order[k:]].mean())), float(squared[order[:k]].sum()
                                                            / squared.sum())


def linear_story(linear, data, order):
    """Q2.2(a): the SGD run retrained, per epoch its train and test RMSE and its test RMSE
    without the K_OUTLYING[0] most outlying test houses; least squares likewise; the rank and
    the slow directions, eigenvectors of X^T X / n with eigenvalue mu along which the run's
    n * lr * mu * epochs is below one (an epoch shrinks the distance along them by ~e^-n lr mu)."""
    (X, y), (X_test, y_test) = data["train"], data["test"]  # X (n, d), X_test (n_test, d)
    config, final, k = linear["config"], linear["final"], K_OUTLYING[0]
    rows = {"train": [], "test": [], "test_without": []}

    def measure(model):
        rows["train"].append(model.evaluate(X, y))
        rows["test"].append(model.evaluate(X_test, y_test))
        rows["test_without"].append(without(model.predict(X_test) - y_test, order, k)[0])

    sgd = train(lambda: q2.LinearRegression(X.shape[1]), data, config, linear["seed"], final,
                measure)
    w_ls = q2.solve_analytically(X, y)
    mu, V = np.linalg.eigh(X.T @ X / len(y))  # V (d, d): eigenvectors in columns
    nonzero = mu > 1e-9 * mu.max()
    slow = nonzero & (len(y) * config["learning_rate"] * mu * config["epochs"] < 1)
    best = int(np.argmin(rows["test"]))
    return {"per_epoch": rows, "without_k": k, "best_test_epoch": best + 1,
            "least_squares_test_rmse_without_k": without(X_test @ w_ls - y_test, order, k)[0],
            "n_train": len(y), "n_test": len(y_test), "n_features": X.shape[1] - 1,
            "rank": int(nonzero.sum()), "n_slow_directions": int(slow.sum()),
            "distance_final": float(np.linalg.norm(sgd.w - w_ls)),
            "distance_final_along_slow_directions": float(
                np.linalg.norm(V[:, slow].T @ (sgd.w - w_ls)))}


def main(argv=None):
    parser = utils.parser(__doc__.splitlines()[0])
    runs = os.path.join(utils.RUNS, "q2")
    parser.add_argument("-study", default=os.path.join(runs, "nn-seeds=10.json"),
                        help="the seed study's record (hw1-q2.py nn -seeds 10)")
    parser.add_argument("-linear", default=os.path.join(runs, "linear_regression.json"),
                        help="the linear run's record (hw1-q2.py linear_regression)")
    parser.add_argument("-data", default=utils.AMES_PATH, help="the Ames .npz")
    parser.add_argument("-output", default=runs, help="folder for analysis.json and figures")
    opt = parser.parse_args(argv)
    study = load_record(opt.study, "run python hw1-q2.py nn -seeds 10 first, or pass -study FILE")
    linear = load_record(opt.linear, "run python hw1-q2.py linear_regression first, or pass "
                         "-linear FILE")
    utils.check_output_folder(opt.output)
    data = utils.load_regression_data(bias=True, path=opt.data)
    (X_train, _), (X_test, y_test) = data["train"], data["test"]
    # (n_test,): the norm of each test house's excess over the training per-feature range
    low, high = X_train.min(axis=0), X_train.max(axis=0)
    outside = np.linalg.norm(np.maximum(0.0, np.maximum(X_test - high, low - X_test)), axis=1)
    order = np.argsort(-outside)  # (n_test,): the most outlying test house first

    print("retraining the linear SGD run", flush=True)
    story = linear_story(linear, data, order)
    median = study["summary"]["test_rmse"]["median"]
    bad = [run for run in study["runs"]
           if run["status"] == "ok" and run["final"]["test_rmse"] > 2 * median]
    networks = {}  # seed: where its test error lies
    for run in bad:
        print(f"retraining network seed {run['seed']}", flush=True)
        model = train(lambda: q2.NeuralRegression(X_train.shape[1],
                                                  study["config"]["hidden_size"]),
                      data, study["config"], run["seed"], run["final"])
        rmse, share = without(model.predict(X_test) - y_test, order, K_OUTLYING[1])
        networks[str(run["seed"])] = {"test_rmse_without_k": rmse,
                                      "share_of_squared_error_on_k": share}
        print(f"  test RMSE {run['final']['test_rmse']:.4f}, without the {K_OUTLYING[1]} most"
              f" outlying test houses {rmse:.4f} (they carry {100 * share:.0f}%)")
    analysis = {"linear_story": story, "badly_generalising_seeds": [r["seed"] for r in bad],
                "networks_without_k": K_OUTLYING[1], "networks": networks,
                "median_seed_test_rmse": median, "study": opt.study, "linear": opt.linear}
    rows = story["per_epoch"]
    ls = [linear["final"]["analytic_test_rmse"]] * len(rows["test"])
    utils.plot({"SGD, train": rows["train"], "SGD, test": rows["test"],
                f"SGD, test without {K_OUTLYING[0]} houses": rows["test_without"],
                "least squares, test": ls},
               "RMSE (log sale price)", os.path.join(opt.output, "analysis-linear.pdf"),
               "Q2.2(a) linear regression: RMSE per epoch",
               styles={"least squares, test": {"linestyle": "--", "color": "tab:orange"}})
    seeds_figure(study, analysis["badly_generalising_seeds"],
                 os.path.join(opt.output, "analysis-seeds.pdf"))
    path = os.path.join(opt.output, "analysis.json")
    text = json.dumps(analysis, indent=1, sort_keys=True, allow_nan=False) + "\n"
    utils.atomic_write_bytes(path, text.encode())  # last: it marks the analysis as finished
    print(f"wrote {path}, analysis-linear.pdf and analysis-seeds.pdf")
    return 0


def seeds_figure(study, bad, path):
    """Every seed's test RMSE per epoch (log scale): the badly generalising seeds in colour,
    the others in grey under one legend entry."""
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter
    curves = [(run["seed"], [row["test_rmse"] for row in run["epochs"]]) for run in study["runs"]]
    others = [curve for seed, curve in curves if seed not in bad]
    with figure(path, (5, 3.4)) as ax:
        for i, curve in enumerate(others):  # grey first, so the colours are the bad seeds'
            ax.plot(range(1, len(curve) + 1), curve, color="0.6", linewidth=0.8,
                    label=f"other {len(others)} seeds" if i == 0 else "_nolegend_")
        for seed, curve in curves:
            if seed in bad:
                ax.plot(range(1, len(curve) + 1), curve, linewidth=1.2, label=f"seed {seed}")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(FixedLocator([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]))
        ax.yaxis.set_major_formatter(ScalarFormatter())  # 0.2, 0.5, 1, 2: no powers of ten
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel("Test RMSE (log sale price)")
        seeds = study["seeds"]
        ax.set_title(f"Q2.2(b) network, seeds {seeds[0]}-{seeds[-1]}: test RMSE", fontsize=10)


if __name__ == "__main__":
    utils.run_main(main)
