#!/usr/bin/env python
"""Generate the report's numbers and tables, and the README's results table, from run records.

    python tools/make_report.py [--check]

Reads results/q2/*.json, results/q3/*.json and results/q4/runs/*.json (nothing is trained) and
writes report/generated/values.tex (one \\val{key} per number the report quotes), the benchmark
outputs wrapped for the page (report/generated/bench_*.txt),
report/generated/q4_table.tex and the block between the results markers of README.md. With
--check it writes nothing and exits 1 if any of those files differs from what it would write.
"""
import argparse
import json
import os
import re
import sys
import textwrap

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import utils  # noqa: E402
from utils import load_script  # noqa: E402
RESULTS = os.path.join(ROOT, "results")
GENERATED = os.path.join(ROOT, "report", "generated")
README = os.path.join(ROOT, "README.md")
UPPER_BODY = (0, 2, 4, 6)
STAGE_LINE = re.compile(r"(q4 study|total \(wall\))\s+([\d.]+)")
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
    lin, nn, seeds = load("q2/linear_regression.json"), load("q2/nn.json"), load("q2/nn-seeds.json")
    v = {}
    f = lin["final"]
    v["q2.lin.train_rmse"], v["q2.lin.test_rmse"] = rmse(f["train_rmse"]), rmse(f["test_rmse"])
    v["q2.lin.analytic_train_rmse"] = rmse(f["analytic_train_rmse"])
    v["q2.lin.analytic_test_rmse"] = rmse(f["analytic_test_rmse"])
    v["q2.lin.distance"] = f"{f['distance']:.3f}"
    v["q2.lin.distance_first"] = f"{lin['epochs'][0]['distance']:.3f}"
    epoch, value = best_epoch(lin, "test_rmse", min)
    v["q2.lin.best_test_rmse"], v["q2.lin.best_test_epoch"] = rmse(value), str(epoch)
    v["q2.lin.first_train_rmse"] = rmse(lin["epochs"][0]["train_rmse"])
    v["q2.lin.first_test_rmse"] = rmse(lin["epochs"][0]["test_rmse"])
    v["q2.lin.seconds"] = f"{lin['seconds']:.1f}"
    v["q2.epochs"] = str(len(lin["epochs"]))

    v["q2.nn.status"] = nn["status"]
    if nn["status"] == "ok":
        v["q2.nn.train_rmse"], v["q2.nn.test_rmse"] = rmse(nn["final"]["train_rmse"]), rmse(nn["final"]["test_rmse"])
        epoch, value = best_epoch(nn, "test_rmse", min)
        v["q2.nn.best_test_rmse"], v["q2.nn.best_test_epoch"] = rmse(value), str(epoch)
    v["q2.nn.seconds"] = f"{nn['seconds']:.1f}"
    s = seeds["summary"]
    v["q2.seeds.n"], v["q2.seeds.converged"] = str(s["n_seeds"]), str(s["n_converged"])
    v["q2.seeds.diverged"] = str(s["n_seeds"] - s["n_converged"])
    for split in ("train", "test"):
        v[f"q2.seeds.{split}_mean"] = rmse(s[f"{split}_rmse_mean"])
        v[f"q2.seeds.{split}_std"] = rmse(s[f"{split}_rmse_std"])
    diverged = [str(r["seed"]) for r in seeds["runs"] if r["status"] != "ok"]
    v["q2.seeds.diverged_list"] = ", ".join(diverged) if diverged else "none"
    v["q2.seeds.first"], v["q2.seeds.last"] = str(seeds["runs"][0]["seed"]), str(seeds["runs"][-1]["seed"])
    converged = [r for r in seeds["runs"] if r["status"] == "ok"]
    for split in ("train", "test"):
        values = [r[split + "_rmse"] for r in converged]
        v[f"q2.seeds.{split}_min"], v[f"q2.seeds.{split}_max"] = rmse(min(values)), rmse(max(values))
    if nn["diverged_at"]:
        v["q2.nn.diverged_epoch"] = str(nn["diverged_at"]["epoch"])
        v["q2.nn.diverged_step"] = str(nn["diverged_at"]["step"])
    v.update(q2_data_values(lin, nn))
    return v


def q2_data_values(lin, nn):
    """Facts about the Ames data and the prescribed start that the Q2 discussion quotes.

    Computed from ames.npz and hw1-q2.py's own initialisation (seeded as its runs are).
    """
    q2 = load_script("hw1-q2.py")
    data = utils.load_regression_data(bias=True, path=os.path.join(ROOT, utils.AMES_PATH))
    X, y = data["train"]
    lr, epochs = lin["config"]["learning_rate"], lin["config"]["epochs"]
    eig = np.linalg.eigvalsh(X.T @ X / len(y))
    eig = eig[eig > 1e-9 * eig.max()]
    v = {"q2.n_train": f"{len(y):,}", "q2.n_test": f"{len(data['test'][1]):,}",
         "q2.n_features": str(X.shape[1] - 1), "q2.rank": str(len(eig)),
         "q2.eig_max": f"{eig.max():.1f}", "q2.eig_min": f"{eig.min():.1e}",
         # Directions SGD barely moves along: n * lr * eigenvalue * epochs < 1.
         "q2.n_slow": str(int((len(y) * lr * eig * epochs < 1).sum()))}
    x_sq = (X ** 2).sum(1)
    step = lr * x_sq  # one SGD step scales the linear model's error by 1 - lr |x|^2
    v["q2.lin_step_median"], v["q2.lin_step_max"] = f"{np.median(step):.2f}", f"{step.max():.2f}"

    utils.configure_seed(nn["seed"])  # exactly the start of the seed-42 network run
    model = q2.NeuralRegression(X.shape[1], nn["config"]["hidden_size"])
    y_hat = model.predict(X)
    z = X @ model.W1.T + model.b1
    h, active = np.maximum(z, 0), z > 0
    # |d y_hat / d theta|^2 over W2, b2, b1 and W1: one SGD step scales the error by 1 - lr * that.
    grad_sq = (h ** 2).sum(1) + 1 + (active * model.W2 ** 2).sum(1) * (1 + x_sq)
    step = lr * grad_sq
    v["q2.init_pred_mean"], v["q2.init_pred_max"] = f"{y_hat.mean():.1f}", f"{y_hat.max():.1f}"
    v["q2.y_mean"] = f"{y.mean():.2f}"
    v["q2.init_active"] = f"{100 * active.mean():.1f}"
    v["q2.nn_step_median"], v["q2.nn_step_min"] = f"{np.median(step):.2f}", f"{step.min():.2f}"
    v["q2.nn_step_max"] = f"{step.max():.1f}"
    v["q2.nn_step_unstable"] = f"{100 * (step > 2).mean():.0f}"
    return v


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
    summary table, from the records alone."""
    rows = study.summary_rows(os.path.join(RESULTS, "q4"))
    best = study.best_runs(rows)
    v = {}
    for row in rows:
        key = f"q4.{row['group']}.{row['varied']}"
        v[key + ".dev_acc"], v[key + ".test_acc"] = acc(row["final_dev_acc"]), acc(row["test_acc"])
        v[key + ".best_dev_acc"] = acc(row["best_dev_acc"])
        v[key + ".train_loss"] = f"{row['final_train_loss']:.4f}"
        v[key + ".seconds"] = f"{row['seconds']:.0f}"
    for group, row in best.items():
        name, _, value = row["varied"].partition("=")
        v[f"q4.{group}.best"] = (f"{value} hidden layers" if name == "layers"
                                 else f"{name.replace('_', ' ')} {value}".strip())
        v[f"q4.{group}.dev_acc"], v[f"q4.{group}.test_acc"] = acc(row["final_dev_acc"]), acc(row["test_acc"])
    v["q4.runs"] = str(len(rows))
    v["q4.seconds_total"] = f"{sum(row['seconds'] for row in rows) / 60:.1f}"
    return v, study.latex_table(rows, best)


def latex_values(values):
    lines = ["% Generated by tools/make_report.py from results/: do not edit.",
             "\\makeatletter"]
    for key in sorted(values):
        text = str(values[key]).replace("_", "\\_").replace("%", "\\%")
        lines.append(f"\\@namedef{{val@{key}}}{{{text}}}")
    lines.append("\\makeatother")
    return "\n".join(lines) + "\n"


def wrap_lines(text, width=104):
    """Text with every line longer than `width` broken at spaces (continuations indented)."""
    out = []
    for line in text.rstrip("\n").split("\n"):
        out += textwrap.wrap(line, width, subsequent_indent="    ", drop_whitespace=False) or [""]
    return "\n".join(l.rstrip() for l in out) + "\n"


def readme_table(values):
    rows = [
        ("Q2 linear regression (SGD, 150 epochs)", "test RMSE", values["q2.lin.test_rmse"]),
        ("Q2 linear regression (analytic, ridge 1e-4)", "test RMSE", values["q2.lin.analytic_test_rmse"]),
        ("Q2 network (150 ReLU, seed 42)", "test RMSE",
         values.get("q2.nn.test_rmse", "diverged")),
        (f"Q2 network, {values['q2.seeds.n']} seeds ({values['q2.seeds.converged']} converge)",
         "test RMSE", f"{values['q2.seeds.test_mean']} ± {values['q2.seeds.test_std']}"),
        ("Q3 perceptron (20 epochs)", "test accuracy", values["q3.perc.test_acc"]),
        ("Q3 logistic regression", "test accuracy", values["q3.lr.test_acc"]),
        ("Q3 MLP (200 ReLU)", "test accuracy", values["q3.mlp.test_acc"]),
    ]
    for group, label in (("q4_1", "Q4.1 logistic regression"), ("q4_2", "Q4.2 feed-forward"),
                         ("q4_3", "Q4.3 deeper")):
        if f"q4.{group}.test_acc" in values:
            rows.append((f"{label}, best by validation: {values[f'q4.{group}.best']}",
                         "test accuracy", values[f"q4.{group}.test_acc"]))
    log = os.path.join(RESULTS, "reproduce.log")  # the output of the last full reproduction
    stages = dict(m.groups() for m in map(STAGE_LINE.match, open(log)) if m) \
        if os.path.exists(log) else {}
    if {"total (wall)", "q4 study"} <= set(stages):
        rows.append(("Full reproduction (`tools/reproduce.py`, `results/reproduce.log`)",
                     "wall time", f"{float(stages['total (wall)']) / 60:.1f} min, of which the "
                     f"Q4 study {float(stages['q4 study']) / 60:.1f} min"))
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
    files = {}
    for name in ("q2", "q3", "q4"):  # benchmark outputs, long lines wrapped for the page
        path = os.path.join(RESULTS, "bench", name + ".txt")
        if os.path.exists(path):
            files[os.path.join(GENERATED, f"bench_{name}.txt")] = wrap_lines(open(path).read())
    return {
        **files,
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
