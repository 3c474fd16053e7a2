#!/usr/bin/env python
"""Generate the report's numbers and tables, and the README's results table, from run records.

    python tools/make_report.py [--check]

Reads results/q2/*.json, results/q3/*.json and results/q4/runs/*.json (nothing is trained) and
writes report/generated/values.tex (one \\val{key} per number the report quotes),
report/generated/q4_table.tex and the block between the results markers of README.md. With
--check it writes nothing and exits 1 if any of those files differs from what it would write.
"""
import argparse
import json
import os
import re
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import utils  # noqa: E402
from utils import load_script  # noqa: E402
RESULTS = os.path.join(ROOT, "results")
GENERATED = os.path.join(ROOT, "report", "generated")
README = os.path.join(ROOT, "README.md")
UPPER_BODY = (0, 2, 4, 6)
BEGIN, END = "<!-- results:begin (tools/make_report.py) -->", "<!-- results:end -->"


def load(path):
    with open(os.path.join(RESULTS, path)) as f:
        return json.load(f)


def rmse(x):
    """RMSEs and accuracies are quoted to four decimals."""
    return f"{x:.4f}"


acc = rmse


def best_epoch(record, metric, pick=max):
    """(epoch, value) of the best per-epoch value of `metric`."""
    rows = [(r[metric], r["epoch"]) for r in record["epochs"] if r.get(metric) is not None]
    value, epoch = pick(rows)
    return epoch, value


def q2_values():
    """What the Q2.2 section quotes, from results/q2/: linear_regression.json (SGD and least
    squares), nn.json (the prescribed seed-42 network), nn-seeds.json (the seed study) and
    analysis.json (tools/analyse_q2.py: errors against distance outside the training range)."""
    lin, nn = load("q2/linear_regression.json"), load("q2/nn.json")
    seeds, analysis = load("q2/nn-seeds.json"), load("q2/analysis.json")
    v = {"q2.epochs": str(lin["config"]["epochs"]), "q2.lr": f"{lin['config']['learning_rate']:g}",
         "q2.hidden_size": str(nn["config"]["hidden_size"]), "q2.seed": str(nn["seed"])}
    f = lin["final"]
    for key in ("train_rmse", "test_rmse", "analytic_train_rmse", "analytic_test_rmse"):
        v[f"q2.lin.{key}"] = rmse(f[key])
    v["q2.lin.distance"] = f"{f['distance']:.2f}"
    v["q2.lin.distance_first"] = f"{lin['epochs'][0]['distance']:.2f}"
    v["q2.lin.first_train_rmse"] = rmse(lin["epochs"][0]["train_rmse"])
    v["q2.lin.first_test_rmse"] = rmse(lin["epochs"][0]["test_rmse"])
    epoch, value = best_epoch(lin, "test_rmse", min)
    v["q2.lin.best_test_epoch"], v["q2.lin.best_test_rmse"] = str(epoch), rmse(value)
    story = analysis["linear_story"]
    v["q2.lin.epochs_test_below_ls"] = str(story["epochs_sgd_test_below_least_squares"])
    v["q2.lin.first_epoch_below_ls"] = str(story["first_epoch_sgd_test_below_least_squares"])
    v["q2.lin.epochs_train_above_ls"] = str(story["epochs_sgd_train_above_least_squares"])

    v["q2.nn.status"] = nn["status"]
    if nn["status"] == "ok":
        v["q2.nn.train_rmse"], v["q2.nn.test_rmse"] = (rmse(nn["final"][k]) for k in ("train_rmse", "test_rmse"))
        epoch, value = best_epoch(nn, "test_rmse", min)
        v["q2.nn.best_test_rmse"], v["q2.nn.best_test_epoch"] = rmse(value), str(epoch)
    else:
        v["q2.nn.diverged_epoch"] = str(nn["diverged_at"]["epoch"])
        v["q2.nn.diverged_step"] = str(nn["diverged_at"]["step"])
    v["q2.nn.seconds"] = f"{nn['seconds']:.0f}"

    s, runs = seeds["summary"], seeds["runs"]
    v["q2.seeds.n"], v["q2.seeds.converged"] = str(s["n_seeds"]), str(s["n_ok"])
    v["q2.seeds.diverged"] = str(s["n_seeds"] - s["n_ok"])
    v["q2.seeds.first"], v["q2.seeds.last"] = str(runs[0]["seed"]), str(runs[-1]["seed"])
    for split in ("train", "test"):
        for stat in ("median", "min", "max", "mean", "std"):
            v[f"q2.seeds.{split}_{stat}"] = rmse(s[f"{split}_rmse"][stat])
    median = s["test_rmse"]["median"]
    blown = [r for r in runs if r["status"] == "ok" and r["final"]["test_rmse"] > 2 * median]
    v["q2.seeds.n_blown"] = str(len(blown))
    v["q2.seeds.blown_list"] = ", ".join(str(r["seed"]) for r in blown) or "none"
    if blown:
        v["q2.seeds.blown_train_max"] = rmse(max(r["final"]["train_rmse"] for r in blown))
        v["q2.seeds.blown_test_min"] = rmse(min(r["final"]["test_rmse"] for r in blown))

    d = analysis["data"]
    v["q2.max_abs_train"], v["q2.max_abs_test"] = (f"{d[k]:.1f}" for k in ("max_abs_feature_train", "max_abs_feature_test"))
    v["q2.n_outside"] = str(d["test_houses_outside_range_by_more_than_1"])
    v["q2.outside_10th"] = f"{d['outside_range_of_the_most_outlying'][9]:.1f}"
    models = analysis["models"]
    for key, name in (("ls", "least squares"), ("sgd", "linear SGD")):
        v[f"q2.an.{key}.without_10"] = rmse(models[name]["test_rmse_without_10"])
        v[f"q2.an.{key}.share_10"] = f"{100 * models[name]['share_of_squared_error_10']:.0f}"
    # The retrained seeds whose test RMSE blew up (over twice the median), and the best seed.
    nets = {int(k.rsplit(" ", 1)[1]): m for k, m in models.items() if k.startswith("network")}
    blown_nets = [nets[r["seed"]] for r in blown if r["seed"] in nets]
    if blown_nets:
        for key in ("share_of_squared_error_20", "test_rmse_without_20"):
            low, high = (f(m[key] for m in blown_nets) for f in (min, max))
            scale = (lambda x: f"{100 * x:.0f}") if key.startswith("share") else rmse
            v[f"q2.an.blown.{key}_min"], v[f"q2.an.blown.{key}_max"] = scale(low), scale(high)
        top10 = [sum(rank <= 20 for rank in m["outlying_rank_of_the_10_worst"]) for m in blown_nets]
        v["q2.an.blown.worst_in_top20_min"], v["q2.an.blown.worst_in_top20_max"] = str(min(top10)), str(max(top10))
        most = max(blown_nets, key=lambda m: m["units_off_for_every_training_house"])
        v["q2.an.silent.units_min"] = str(min(m["units_off_for_every_training_house"] for m in blown_nets))
        v["q2.an.silent.units_max"] = str(most["units_off_for_every_training_house"])
        v["q2.an.silent.seed"] = next(str(seed) for seed, m in nets.items() if m is most)
        v["q2.an.silent.houses"] = str(most["test_houses_that_switch_them_on"])
        v["q2.an.silent.test_rmse"] = rmse(most["test_rmse"])
        v["q2.an.silent.without"] = rmse(most["test_rmse_without_those_units"])
    best_seed = min((r for r in runs if r["status"] == "ok"), key=lambda r: r["final"]["test_rmse"])["seed"]
    v["q2.an.best.seed"] = str(best_seed)
    v["q2.an.best.share_20"] = f"{100 * nets[best_seed]['share_of_squared_error_20']:.0f}"
    v["q2.an.best.silent"] = str(nets[best_seed]["units_off_for_every_training_house"])
    v.update(q2_data_values(lin))
    return v


def q2_data_values(lin):
    """Facts about the Ames data that the Q2.2(a) discussion quotes, computed from ames.npz:
    sizes, rank, the spread of the eigenvalues of X^T X / n and the norm of the least-squares
    solution."""
    q2 = load_script("hw1-q2.py")
    data = utils.load_regression_data(bias=True, path=os.path.join(ROOT, utils.AMES_PATH))
    X, y = data["train"]
    lr, epochs = lin["config"]["learning_rate"], lin["config"]["epochs"]
    eig = np.linalg.eigvalsh(X.T @ X / len(y))
    eig = eig[eig > 1e-9 * eig.max()]
    return {"q2.n_train": f"{len(y):,}", "q2.n_test": f"{len(data['test'][1]):,}",
            "q2.n_features": str(X.shape[1] - 1), "q2.rank": str(len(eig)),
            "q2.eig_max": f"{eig.max():.1f}", "q2.eig_min": f"{eig.min():.1e}",
            # Directions SGD barely moves along in the run: n * lr * eigenvalue * epochs < 1.
            "q2.n_slow": str(int((len(y) * lr * eig * epochs < 1).sum())),
            "q2.ls_norm": f"{np.linalg.norm(q2.solve_analytically(X, y)):.1f}"}


def q3_values():
    """What the Q3 sections quote, from results/q3/{perceptron,logistic_regression,mlp}.json:
    the settings, final and best validation accuracies, test accuracy, losses, and the share of
    test errors among the upper-body garments (from the test confusion matrix)."""
    v = {}
    for model, short in (("perceptron", "perc"), ("logistic_regression", "lr"), ("mlp", "mlp")):
        record = load(f"q3/{model}.json")
        f, config = record["final"], record["config"]
        v[f"q3.{short}.status"] = record["status"]
        v[f"q3.{short}.epochs"] = str(len(record["epochs"]))
        for flag in ("learning_rate", "hidden_size", "layers"):
            if flag in config:
                v[f"q3.{short}.{flag}"] = f"{config[flag]:g}"
        v[f"q3.{short}.dev_acc"], v[f"q3.{short}.test_acc"] = acc(f["dev_acc"]), acc(f["test_acc"])
        if "train_acc" in f:
            v[f"q3.{short}.train_acc"] = acc(f["train_acc"])
        epoch, value = best_epoch(record, "dev_acc")
        v[f"q3.{short}.best_dev_acc"], v[f"q3.{short}.best_dev_epoch"] = acc(value), str(epoch)
        epoch, value = best_epoch(record, "dev_acc", min)
        v[f"q3.{short}.worst_dev_acc"], v[f"q3.{short}.worst_dev_epoch"] = acc(value), str(epoch)
        if f.get("train_loss") is not None:
            v[f"q3.{short}.train_loss"] = f"{f['train_loss']:.4f}"
            v[f"q3.{short}.first_train_loss"] = f"{record['epochs'][0]['train_loss']:.2f}"
        # Share of test errors that confuse two upper-body garments (T-shirt/top, pullover,
        # coat, shirt: classes 0, 2, 4, 6), which Q3.2(a) discusses.
        confusion = f["test_confusion"]
        errors = sum(sum(row) for row in confusion) - sum(confusion[k][k] for k in range(10))
        upper = sum(confusion[a][b] for a in UPPER_BODY for b in UPPER_BODY if a != b)
        v[f"q3.{short}.upper_errors"] = f"{100 * upper / errors:.0f}"
    return v


def q4_values(study):
    """Values for every Q4 run and each group's best (by final validation accuracy), and the
    summary table, from the records alone. Keys: q4.<group>.<varied>.<metric>."""
    rows = study.summary_rows(os.path.join(RESULTS, "q4"))
    best = study.best_runs(rows)
    v = {}
    for row in rows:
        key, record = f"q4.{row['group']}.{row['varied']}", row["record"]
        final, last = record["final"], record["epochs"][-1]
        for metric in ("dev_acc", "best_dev_acc", "test_acc", "train_acc"):
            v[f"{key}.{metric}"] = acc(final[metric])
        v[key + ".gap"] = acc(final["train_acc"] - final["dev_acc"])
        v[key + ".train_loss"] = f"{final['train_loss']:.4f}"
        v[key + ".train_eval_loss"] = f"{last['train_eval_loss']:.4f}"
        epoch, value = best_epoch(record, "dev_acc")
        v[key + ".best_dev_epoch"] = str(epoch)
        # How much the validation accuracy moved between consecutive epochs, over the last 5.
        dev = [r["dev_acc"] for r in record["epochs"][-6:]]
        v[key + ".swing"] = acc(max(abs(b - a) for a, b in zip(dev, dev[1:])))
        if "dead_units" in final:
            hidden = record["config"]["hidden_size"]
            v[key + ".dead"] = " and ".join(map(str, final["dead_units"]))
            v[key + ".dead_percent"] = " and ".join(
                f"{100 * d / hidden:.0f}" for d in final["dead_units"])
    for group, row in best.items():
        name, _, value = row["varied"].partition("=")
        v[f"q4.{group}.best"] = (f"{value} hidden layers" if name == "layers"
                                 else "the default configuration" if name == "default"
                                 else f"{name.replace('_', ' ')} {value}")
        v[f"q4.{group}.dev_acc"] = acc(row["final_dev_acc"])
        v[f"q4.{group}.test_acc"] = acc(row["test_acc"])
    v["q4.runs"] = str(len(rows))
    return v, study.latex_table(rows, best)


def latex_values(values):
    lines = ["% Generated by tools/make_report.py from results/: do not edit.",
             "\\makeatletter"]
    for key in sorted(values):
        text = str(values[key]).replace("_", "\\_").replace("%", "\\%")
        lines.append(f"\\@namedef{{val@{key}}}{{{text}}}")
    lines.append("\\makeatother")
    return "\n".join(lines) + "\n"


def timing_rows():
    """README rows quoting the wall times of the last Q4 study that trained its runs
    (results/q4/study.log) and of the last complete reproduction (results/reproduce.log)."""
    rows = []
    study_log = os.path.join(RESULTS, "q4", "study.log")
    if os.path.exists(study_log):
        text = open(study_log).read()
        wall = re.search(r"^study: (\d+) s wall", text, re.M)
        trained = re.match(r"(\d+) runs to train.*; (\d+) workers", text)
        if wall and trained:
            rows.append((f"Q4 study: {trained.group(1)} runs on {trained.group(2)} workers "
                         "(`results/q4/study.log`)", "wall time",
                         f"{int(wall.group(1)) / 60:.1f} min"))
    log = os.path.join(RESULTS, "reproduce.log")
    if os.path.exists(log):
        text = open(log).read()
        total = re.search(r"^total \(wall\)\s+([\d.]+)", text, re.M)
        reused = len(re.findall(r"record exists, reused", text))
        study_reused = re.search(r"q4 study: 0 runs to train, (\d+) already done", text)
        if study_reused:
            reused += int(study_reused.group(1))
        if total:
            note = f", reusing {reused} run records" if reused else ", every run trained"
            rows.append(("Last reproduction (`tools/reproduce.py`, `results/reproduce.log`)",
                         "wall time", f"{float(total.group(1)) / 60:.1f} min{note}"))
    return rows


def readme_table(values):
    rows = [
        ("Q2.2(a) linear regression (SGD, 150 epochs)", "train / test RMSE",
         f"{values['q2.lin.train_rmse']} / {values['q2.lin.test_rmse']}"),
        ("Q2.2(a) least squares (minimum norm)", "train / test RMSE",
         f"{values['q2.lin.analytic_train_rmse']} / {values['q2.lin.analytic_test_rmse']}"),
        ("Q2.2(b) network (150 ReLU, seed 42)", "train / test RMSE",
         f"{values['q2.nn.train_rmse']} / {values['q2.nn.test_rmse']}"
         if "q2.nn.test_rmse" in values else "diverged"),
        (f"Q2.2(b) network, {values['q2.seeds.n']} seeds", "test RMSE, median (min-max)",
         f"{values['q2.seeds.test_median']} ({values['q2.seeds.test_min']}-"
         f"{values['q2.seeds.test_max']})"),
        ("Q3.1(a) perceptron (20 epochs)", "test accuracy", values["q3.perc.test_acc"]),
        ("Q3.1(b) logistic regression", "test accuracy", values["q3.lr.test_acc"]),
        ("Q3.2(b) MLP (200 ReLU)", "test accuracy", values["q3.mlp.test_acc"]),
    ]
    for group, label in (("q4_1", "Q4.1 logistic regression"), ("q4_2", "Q4.2 feed-forward"),
                         ("q4_3", "Q4.3 deeper")):
        if f"q4.{group}.test_acc" in values:
            rows.append((f"{label}, best by validation: {values[f'q4.{group}.best']}",
                         "test accuracy", values[f"q4.{group}.test_acc"]))
    rows += timing_rows()
    lines = [BEGIN, "", "| model | metric | value |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += ["", END]
    return "\n".join(lines)


def outputs():
    """{path: text} of every generated file."""
    values = {**q2_values(), **q3_values()}
    q4, table = q4_values(load_script("tools/study_q4.py"))
    values.update(q4)
    with open(README) as f:
        readme = f.read()
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"error: README.md lacks the results markers {BEGIN} ... {END}")
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return {
        os.path.join(GENERATED, "values.tex"): latex_values(values),
        os.path.join(GENERATED, "q4_table.tex"): table,
        README: head + readme_table(values) + tail,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a generated file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        current = open(path).read() if os.path.exists(path) else None
        if current == text:
            continue
        if args.check:
            stale.append(os.path.relpath(path, ROOT))
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            print(f"wrote {os.path.relpath(path, ROOT)}")
    if stale:
        print("stale (rerun python tools/make_report.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
