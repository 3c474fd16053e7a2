#!/usr/bin/env python
"""Q2 extras, measured: where linear SGD's test error comes from, and why some network seeds
fit the training houses but not the test houses.

    python hw1-q2.py linear_regression
    python hw1-q2.py nn -seeds 10
    python tools/analyse_q2.py    # reads runs/q2/linear_regression.json and nn-seeds=10.json

It retrains the linear SGD run, the network seeds that generalise badly (test RMSE over twice
the study's median) and the best seed (-all: every seed), checks that each reproduces its
record to the last bit, and measures how their test errors depend on how far each test house
lies outside the training range (linear_story, error_profile and silent_units say what exactly).
It writes analysis.json, analysis-seeds.pdf (every seed's test RMSE per epoch, the bad seeds in
colour) and analysis-errors.pdf (each test house's error against its distance outside the
range) to -output, runs/q2/ by default.
"""
import itertools
import json
import os

import numpy as np

from common import load_record, load_script  # first: puts the project folder on sys.path
import utils

q2 = load_script("hw1-q2.py")
K_OUTLYING = (0, 1, 2, 5, 10, 20)
RARE = 5  # a one-hot column is rare when its rarer value occurs in at most RARE training houses


def error_profile(error, outside, outlying_order):
    """error, outside (n_test,); outlying_order (n_test,): the test houses, most outlying first.
    The test RMSE, also without the k most outlying houses, and their share of the squared
    error; how |error| correlates with outlyingness, and where the 10 worst houses rank by it."""
    squared = error ** 2
    profile = {"test_rmse": float(np.sqrt(squared.mean()))}
    for k in K_OUTLYING[1:]:
        profile[f"test_rmse_without_{k}"] = float(np.sqrt(squared[outlying_order[k:]].mean()))
        profile[f"share_of_squared_error_{k}"] = float(squared[outlying_order[:k]].sum()
                                                       / squared.sum())
    # Spearman's rank correlation: no ties are expected among real-valued errors.
    error_rank = np.argsort(np.argsort(np.abs(error)))
    outside_rank = np.argsort(np.argsort(outside))
    profile["rank_correlation_abs_error_outside_range"] = float(
        np.corrcoef(error_rank, outside_rank)[0, 1])
    # 1 + the place of each of the 10 worst houses in outlying_order (1: the most outlying).
    worst = np.argsort(-np.abs(error))[:10]
    profile["outlying_rank_of_the_10_worst"] = (np.argsort(outlying_order)[worst] + 1).tolist()
    return profile


def silent_units(model, data):
    """Hidden units that are off (z <= 0) for every training house: no training example gives
    them a gradient, so SGD no longer changes them, yet a test house far outside the training
    range can switch them on. Their number, and the test RMSE without their contribution.
    model: a q2.NeuralRegression, W1 (h, d), b1 (h,), w2 (h,)."""
    (X_train, _), (X_test, y_test) = data["train"], data["test"]
    silent = (X_train @ model.W1.T + model.b1 <= 0).all(axis=0)  # (h,)
    H_test = np.maximum(X_test @ model.W1.T + model.b1, 0.0)      # (n_test, h)
    from_silent = H_test[:, silent] @ model.w2[silent]             # (n_test,)
    return {"units_off_for_every_training_house": int(silent.sum()),
            "test_houses_that_switch_them_on": int((H_test[:, silent] > 0).any(axis=1).sum()),
            "test_rmse_without_those_units": q2.rmse(model.predict(X_test) - from_silent, y_test)}


def retrain(model, data, config, final, label, after_epoch=None):
    """hw1-q2.py's epoch loop for `model`, built just after utils.configure_seed(seed) as
    hw1-q2.py builds it, over data["train"] (X (n, d), y (n,)) with config's epochs and
    learning rate; after_epoch(model) is called after every epoch. The retrained model's final
    RMSEs must be the record's `final`, to the last bit."""
    X, y = data["train"]
    epochs = config["epochs"]
    for epoch in range(1, epochs + 1):
        order = np.random.permutation(len(y))
        model.train_epoch(X[order], y[order], config["learning_rate"])
        if after_epoch:
            after_epoch(model)
        if epoch % 25 == 0 or epoch == epochs:
            print(f"  {label}: epoch {epoch}/{epochs}", flush=True)
    with np.errstate(over="ignore", invalid="ignore"):
        got = {f"{split}_rmse": model.evaluate(*data[split]) for split in ("train", "test")}
    assert got == {k: final[k] for k in got}, f"{label} did not reproduce its record: {got}"
    return model


def linear_story(linear, data, outlying_order):
    """Q2.2(a): the SGD run retrained, its test RMSE per epoch with and without the 10 most
    outlying test houses; the least-squares solution against it; the slow directions.
    outlying_order (n_test,): the test houses, most outlying first. Returns the model too."""
    (X, y), (X_test, y_test) = data["train"], data["test"]  # X (n, d), X_test (n_test, d)
    config, rows, final = linear["config"], linear["epochs"], linear["final"]
    epochs, lr = config["epochs"], config["learning_rate"]
    kept = outlying_order[10:]
    without_10 = []  # the test RMSE without the 10 most outlying houses, per epoch
    utils.configure_seed(linear["seed"])
    sgd = retrain(q2.LinearRegression(X.shape[1]), data, config, final,
                  f"linear SGD, seed {linear['seed']}",
                  lambda model: without_10.append(model.evaluate(X_test[kept], y_test[kept])))
    tests = [row["test_rmse"] for row in rows]
    best, best_without = int(np.argmin(tests)), int(np.argmin(without_10))
    ls_train, ls_test = final["analytic_train_rmse"], final["analytic_test_rmse"]
    story = {
        "least_squares_train_rmse": ls_train, "least_squares_test_rmse": ls_test,
        "sgd_final_train_rmse": final["train_rmse"], "sgd_final_test_rmse": final["test_rmse"],
        "epochs_sgd_train_above_least_squares": sum(row["train_rmse"] > ls_train for row in rows),
        "epochs_sgd_test_below_least_squares": sum(t < ls_test for t in tests),
        "first_epoch_sgd_test_below_least_squares": next(
            (row["epoch"] for row in rows if row["test_rmse"] < ls_test), None),
        "best_sgd_test_rmse": tests[best], "best_sgd_test_epoch": rows[best]["epoch"],
        "n_epochs": len(rows),
        "sgd_test_rmse_without_10_per_epoch": without_10,
        "sgd_test_rmse_without_10_at_best_epoch": without_10[best],
        "sgd_test_rmse_without_10_final": without_10[-1],
        "best_sgd_test_rmse_without_10": without_10[best_without],
        "best_sgd_test_epoch_without_10": best_without + 1}

    # Slow directions: eigenvectors (columns of V, (d, d)) of X^T X / n with eigenvalue mu
    # along which SGD's n * lr * mu * epochs < 1.
    mu, V = np.linalg.eigh(X.T @ X / len(y))
    nonzero = mu > 1e-9 * mu.max()
    slow = nonzero & (len(y) * lr * mu * epochs < 1)
    fast = nonzero & ~slow
    weight = (V[:, slow] ** 2).sum(axis=1)  # (d,): each column's share of the slow subspace
    # One-hot columns (two values), and the rare ones: the rarer value in at most RARE houses.
    counts = [np.unique(column, return_counts=True)[1] for column in X.T]
    binary = np.array([len(c) == 2 for c in counts])
    rare = binary & np.array([c.min() <= RARE for c in counts])
    w_ls = q2.solve_analytically(X, y)
    w_ls_fast = V[:, fast] @ (V[:, fast].T @ w_ls)  # least squares without its slow part
    gap = sgd.w - w_ls
    story.update({
        "rank": int(nonzero.sum()), "n_slow_directions": int(slow.sum()),
        "one_hot_columns": int(binary.sum()), "rare_column_max_houses": RARE,
        "rare_one_hot_columns": int(rare.sum()),
        "share_of_slow_subspace_on_rare_columns": float(weight[rare].sum() / slow.sum()),
        "distance_final": float(np.linalg.norm(gap)),
        "distance_final_along_slow_directions": float(np.linalg.norm(V[:, slow].T @ gap)),
        "sgd_norm_along_slow_directions": float(np.linalg.norm(V[:, slow].T @ sgd.w)),
        "least_squares_norm_along_slow_directions": float(np.linalg.norm(V[:, slow].T @ w_ls)),
        "least_squares_without_slow_part_train_rmse": q2.rmse(X @ w_ls_fast, y),
        "least_squares_without_slow_part_test_rmse": q2.rmse(X_test @ w_ls_fast, y_test)})
    return sgd, story


def main(argv=None):
    parser = utils.parser(__doc__.splitlines()[0] + " " + __doc__.splitlines()[1].strip())
    runs = os.path.join(utils.RUNS, "q2")
    parser.add_argument("-study", default=os.path.join(runs, "nn-seeds=10.json"),
                        help="the seed study's record (hw1-q2.py nn -seeds 10)")
    parser.add_argument("-linear", default=os.path.join(runs, "linear_regression.json"),
                        help="the linear run's record (hw1-q2.py linear_regression)")
    parser.add_argument("-data", default=utils.AMES_PATH, help="the Ames .npz")
    parser.add_argument("-output", default=runs, help="folder for analysis.json and figures")
    parser.add_argument("-all", action="store_true", help="retrain every seed of the study")
    opt = parser.parse_args(argv)
    for path, flag, command in ((opt.study, "study", "python hw1-q2.py nn -seeds 10"),
                                (opt.linear, "linear", "python hw1-q2.py linear_regression")):
        if not os.path.exists(path):
            raise utils.UserError(f"{path} not found; fix: run {command} first, or pass "
                                  f"-{flag} FILE")
    utils.check_output_folder(opt.output)
    print(f"reading {opt.study} (seed study), {opt.linear} (linear run) and {opt.data}",
          flush=True)
    study, linear = load_record(opt.study), load_record(opt.linear)
    data = utils.load_regression_data(bias=True, path=opt.data)
    (X_train, y_train), (X_test, y_test) = data["train"], data["test"]
    # (n_test,): the norm of each test house's excess over the training per-feature range
    low, high = X_train.min(axis=0), X_train.max(axis=0)
    outside = np.linalg.norm(np.maximum(0.0, np.maximum(X_test - high, low - X_test)), axis=1)
    outlying_order = np.argsort(-outside)  # (n_test,): the most outlying test house first

    # Each model's error on every test house ((n_test,) each): least squares, linear SGD and
    # the chosen network seeds, each retrained.
    print("retraining the linear SGD run", flush=True)
    sgd, story = linear_story(linear, data, outlying_order)
    errors = {"least squares": X_test @ q2.solve_analytically(X_train, y_train) - y_test,
              "linear SGD": sgd.predict(X_test) - y_test}
    ok = [run for run in study["runs"] if run["status"] == "ok"]
    median = study["summary"]["test_rmse"]["median"]
    bad = [run["seed"] for run in ok if run["final"]["test_rmse"] > 2 * median]
    best = min(ok, key=lambda run: run["final"]["test_rmse"])["seed"]
    chosen = sorted({run["seed"] for run in ok} if opt.all else {*bad, best})
    networks = {}  # name: the network's train RMSE and silent units
    for i, seed in enumerate(chosen, start=1):
        run = next(run for run in ok if run["seed"] == seed)
        print(f"retraining network seed {seed} ({i} of {len(chosen)})", flush=True)
        utils.configure_seed(seed)
        model = retrain(q2.NeuralRegression(X_train.shape[1], study["config"]["hidden_size"]),
                        data, study["config"], run["final"], f"seed {seed}")
        errors[f"network seed {seed}"] = model.predict(X_test) - y_test
        networks[f"network seed {seed}"] = {"train_rmse": run["final"]["train_rmse"],
                                            **silent_units(model, data)}

    models = {}
    for name, error in errors.items():
        m = {**error_profile(error, outside, outlying_order), **networks.get(name, {})}
        models[name] = m
        line = (f"{name:18s} test RMSE {m['test_rmse']:.4f} | without the 10 / 20 most outlying "
                f"houses {m['test_rmse_without_10']:.4f} / {m['test_rmse_without_20']:.4f}")
        if name in networks:
            line += (f" | without its {m['units_off_for_every_training_house']} silent units "
                     f"{m['test_rmse_without_those_units']:.4f}")
        print(line)
    analysis = {
        "data": {"max_abs_feature_train": float(np.abs(X_train).max()),
                 "max_abs_feature_test": float(np.abs(X_test).max()),
                 "test_houses_outside_range_by_more_than_1": int((outside > 1).sum()),
                 "outside_range_of_the_most_outlying": [float(outside[i])
                                                        for i in outlying_order[:K_OUTLYING[-1]]]},
        "linear_story": story, "models": models, "study": opt.study, "linear": opt.linear,
        "median_seed_test_rmse": median, "badly_generalising_seeds": bad, "best_seed": best,
        "k_outlying": list(K_OUTLYING)}
    seeds_figure(study, bad, os.path.join(opt.output, "analysis-seeds.pdf"))
    errors_figure(errors, outside, os.path.join(opt.output, "analysis-errors.pdf"))
    path = os.path.join(opt.output, "analysis.json")
    text = json.dumps(analysis, indent=1, sort_keys=True, allow_nan=False) + "\n"
    utils.atomic_write_bytes(path, text.encode())  # last: it marks the analysis as finished
    print(f"wrote {path}, analysis-seeds.pdf and analysis-errors.pdf")
    return 0


def save_figure(fig, path):
    """Save a matplotlib figure atomically, without a date (a rerun's PDF is identical)."""
    fig.tight_layout()
    with utils.atomic_file(path) as f:
        fig.savefig(f, format="pdf", metadata={"CreationDate": None})


def seeds_figure(study, bad, path):
    """Every seed's test RMSE per epoch (log scale): the badly generalising seeds in colour,
    the others in grey under one legend entry. The size of hw1-q2.py's single-run figures."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, MaxNLocator, NullFormatter, ScalarFormatter
    fig, ax = plt.subplots(figsize=(5, 3.4))
    curves = [(run["seed"], [row["test_rmse"] for row in run["epochs"]]) for run in study["runs"]]
    others = [curve for seed, curve in curves if seed not in bad]
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
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Test RMSE (log sale price)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    seeds = study["seeds"]
    ax.set_title(f"Q2.2(b) network, seeds {seeds[0]}-{seeds[-1]}: test RMSE", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8, framealpha=0.8)
    save_figure(fig, path)
    plt.close(fig)


def errors_figure(errors, outside, path):
    """Each test house's absolute error against its distance outside the training range.
    errors: {model name: (n_test,) errors}; outside (n_test,)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    for (name, error), marker in zip(errors.items(), itertools.cycle("os^vDx<>p*h")):
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
    save_figure(fig, path)
    plt.close(fig)


if __name__ == "__main__":
    utils.run_main(main)
