#!/usr/bin/env python
"""Why some Q2 network seeds fit the training houses well but the test houses badly, measured.

    python tools/analyse_q2.py [-study results/q2/nn-seeds.json]
                               [-linear results/q2/linear_regression.json] [-output runs/q2]

Reads the seed study's record, the linear run's record and ames.npz. Per test house it measures
how far the house lies outside the training data: the Euclidean norm of the amounts by which its
features exceed the training half's per-feature range (0 inside the range; features are
standardised, so in standard deviations). A ReLU network is piecewise linear and extrapolates
linearly, so a house far outside the range can get a wild prediction. The tool retrains the
seeds it needs per-house predictions for (those whose test RMSE is over twice the study's
median, and the seed with the lowest test RMSE as a contrast; -all retrains every seed) and
checks that each retrained seed reproduces its recorded RMSEs. For them, the least-squares
solution and the linear SGD run it records the test RMSE without the k most outlying houses and
the share of the squared test error that those houses carry. It also checks the Q2.2(a) story
from the linear record: SGD's train/test RMSE per epoch against the least-squares solution's.
Writes analysis.json and analysis-errors.pdf (each house's error against its distance outside
the training range) to -output.
"""
import argparse
import os
import sys
from types import SimpleNamespace

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import utils  # noqa: E402

q2 = utils.load_script("hw1-q2.py")
K_OUTLYING = (0, 1, 2, 5, 10, 20)


def outside_training_range(X_train, X_test):
    """(n_test,): norm of each test row's excess over the training rows' per-feature range."""
    low, high = X_train.min(axis=0), X_train.max(axis=0)
    excess = np.maximum(0.0, np.maximum(X_test - high, low - X_test))
    return np.linalg.norm(excess, axis=1)


def error_profile(errors, outlying_order):
    """Test RMSE without the k most outlying houses, and their share of the squared error."""
    squared = errors ** 2
    profile = {"test_rmse": float(np.sqrt(squared.mean()))}
    for k in K_OUTLYING[1:]:
        kept = outlying_order[k:]
        profile[f"test_rmse_without_{k}"] = float(np.sqrt(squared[kept].mean()))
        profile[f"share_of_squared_error_{k}"] = float(squared[outlying_order[:k]].sum()
                                                       / squared.sum())
    return profile


def silent_units(model, data):
    """Hidden units that are off (z <= 0) for every training house: no training example gives
    them a gradient, so SGD no longer changes them, yet a test house far outside the training
    range can switch them on. Their number, and the test RMSE without their contribution."""
    (X_train, _), (X_test, y_test) = data["train"], data["test"]
    silent = (X_train @ model.W1.T + model.b1 <= 0).all(axis=0)  # (h,)
    H_test = np.maximum(X_test @ model.W1.T + model.b1, 0.0)      # (n_test, h)
    from_silent = H_test[:, silent] @ model.w2[silent]             # (n_test,)
    return {"units_off_for_every_training_house": int(silent.sum()),
            "test_houses_that_switch_them_on": int((H_test[:, silent] > 0).any(axis=1).sum()),
            "test_rmse_without_those_units": q2.rmse(model.predict(X_test) - from_silent, y_test)}


def rank_correlation(a, b):
    """Spearman's rank correlation (no ties expected among real-valued errors)."""
    rank = lambda v: np.argsort(np.argsort(v))  # noqa: E731
    return float(np.corrcoef(rank(a), rank(b))[0, 1])


def linear_story(linear):
    """Q2.2(a): the SGD iterate per epoch against the least-squares solution."""
    rows, final = linear["epochs"], linear["final"]
    tests = [row["test_rmse"] for row in rows]
    best = int(np.argmin(tests))
    return {"least_squares_train_rmse": final["analytic_train_rmse"],
            "least_squares_test_rmse": final["analytic_test_rmse"],
            "sgd_final_train_rmse": final["train_rmse"], "sgd_final_test_rmse": final["test_rmse"],
            "epochs_sgd_train_above_least_squares": sum(
                row["train_rmse"] > final["analytic_train_rmse"] for row in rows),
            "epochs_sgd_test_below_least_squares": sum(
                t < final["analytic_test_rmse"] for t in tests),
            "first_epoch_sgd_test_below_least_squares": next(
                (row["epoch"] for row in rows if row["test_rmse"] < final["analytic_test_rmse"]),
                None),
            "best_sgd_test_rmse": tests[best], "best_sgd_test_epoch": rows[best]["epoch"],
            "n_epochs": len(rows)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-study", default=os.path.join("results", "q2", "nn-seeds.json"))
    parser.add_argument("-linear", default=os.path.join("results", "q2", "linear_regression.json"))
    parser.add_argument("-data", default=utils.AMES_PATH)
    parser.add_argument("-output", default=os.path.join(utils.RUNS, "q2"))
    parser.add_argument("-all", action="store_true", help="retrain every seed of the study")
    opt = parser.parse_args(argv)
    study, linear = utils.load_record(opt.study), utils.load_record(opt.linear)
    data = utils.load_regression_data(bias=True, path=opt.data)
    (X_train, y_train), (X_test, y_test) = data["train"], data["test"]

    outside = outside_training_range(X_train, X_test)
    outlying_order = np.argsort(-outside)  # the most outlying test house first
    analysis = {
        "data": {"max_abs_feature_train": float(np.abs(X_train).max()),
                 "max_abs_feature_test": float(np.abs(X_test).max()),
                 "test_houses_outside_range_by_more_than_1": int((outside > 1).sum()),
                 "outside_range_of_the_most_outlying": [float(outside[i])
                                                        for i in outlying_order[:K_OUTLYING[-1]]]},
        "linear_story": linear_story(linear)}

    # Per-house errors: least squares, linear SGD (retrained, a few seconds) and network seeds.
    errors = {"least squares": X_test @ q2.solve_analytically(X_train, y_train) - y_test}
    config = dict(linear["config"], seeds=1)
    model, record = q2.train(SimpleNamespace(**config), data, linear["seed"], verbose=False)
    assert record["final"] == linear["final"], "the linear run did not reproduce its record"
    errors["linear SGD"] = model.predict(X_test) - y_test

    ok = [run for run in study["runs"] if run["status"] == "ok"]
    median = study["summary"]["test_rmse"]["median"]
    best = min(ok, key=lambda run: run["final"]["test_rmse"])
    chosen = ok if opt.all else [run for run in ok if run["final"]["test_rmse"] > 2 * median]
    chosen += [best] if best not in chosen else []
    config, dead_units = dict(study["config"], seeds=1), {}
    for run in sorted(chosen, key=lambda run: run["seed"]):
        model, record = q2.train(SimpleNamespace(**config), data, run["seed"], verbose=False)
        assert record["final"] == run["final"], f"seed {run['seed']} did not reproduce"
        errors[f"network seed {run['seed']}"] = model.predict(X_test) - y_test
        dead_units[f"network seed {run['seed']}"] = silent_units(model, data)
        print(f"retrained seed {run['seed']}: test RMSE {run['final']['test_rmse']:.4f}",
              flush=True)

    analysis["models"] = {}
    for name, error in errors.items():
        profile = error_profile(error, outlying_order)
        profile["rank_correlation_abs_error_outside_range"] = rank_correlation(np.abs(error), outside)
        # Where the model's 10 worst test houses rank by outlyingness (1: the most outlying).
        outlying_rank = np.empty(len(outside), dtype=int)
        outlying_rank[outlying_order] = np.arange(1, len(outside) + 1)
        worst = np.argsort(-np.abs(error))[:10]
        profile["outlying_rank_of_the_10_worst"] = outlying_rank[worst].tolist()
        profile.update(dead_units.get(name, {}))
        analysis["models"][name] = profile
        print(f"{name:18s} test RMSE {profile['test_rmse']:.4f} | without the 5 / 10 most "
              f"outlying houses {profile['test_rmse_without_5']:.4f} / "
              f"{profile['test_rmse_without_10']:.4f} | their share of the squared error "
              f"{profile['share_of_squared_error_10']:.2f}")
    analysis.update(study=opt.study, linear=opt.linear, median_seed_test_rmse=median,
                    k_outlying=list(K_OUTLYING))
    path = utils.save_record(os.path.join(opt.output, "analysis.json"), analysis)
    figure(errors, outside, os.path.join(opt.output, "analysis-errors.pdf"))
    print(f"record {path}")
    return 0


def figure(errors, outside, path):
    """Each test house's absolute error against its distance outside the training range."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    for (name, error), marker in zip(errors.items(), "os^vDx<>"):
        ax.scatter(outside, np.abs(error), s=8, marker=marker, alpha=0.6, label=name)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_yscale("log")
    ax.set_xlabel("Distance outside the training range (standardised features)")
    ax.set_ylabel("|error| (log sale price)")
    ax.set_title("Q2.2 extra: each test house's error against its distance\n"
                 "outside the training range", fontsize=9)
    ax.grid(alpha=0.3)
    # Beside the axes, where it covers no point.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7, markerscale=1.5,
              frameon=False)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, metadata={"CreationDate": None})
    plt.close(fig)


if __name__ == "__main__":
    utils.run_main(main)
