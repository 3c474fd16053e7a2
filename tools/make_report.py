#!/usr/bin/env python
"""Every number the report prints, from the run records: report/generated/ (values.tex, one
\\val{key} each; q4_table.tex; the figures q2.pdf, q3.pdf), results/q4/README.md and README.md's
marked blocks. Reads only INPUTS, so an unzipped submission recomputes every value; claim()
checks, run by run, what the report says of the records.   Usage: python tools/make_report.py"""
import argparse
import glob
import json
import os
import re

import numpy as np

from common import ROOT, figure  # first: puts the project folder on sys.path
from study_q4 import CONFIGS, METRICS, versus
import utils

INPUTS = ["utils.py", "tools/common.py", "tools/study_q4.py", "ames.npz", "results/q2/*.json",
          "results/q3/*.json", "results/q4/runs/*.json", "results/q4/second-cpu/runs/*.json",
          "results/q4/study-seeds=*.log", "results/reproduce.log"]
TABLE1 = {"epochs": 20, "learning_rate": 0.01, "hidden_size": 200, "dropout": 0.3,  # Q4's
          "batch_size": 1, "activation": "relu", "optimizer": "sgd", "layers": 1, "l2_decay": 0.0}
LEARNS = 0.5  # a configuration learns when each of its runs ends above this training accuracy
FLAT = 0.01  # a network with a train RMSE this close (relative) to the target's sd is flat
WINDOW = 30  # epochs per median of the network's jittery test RMSE
LAST = 10  # the report averages the last LAST epoch-to-epoch changes of validation accuracy
COMMANDS = [  # (what a user runs, what it answers, its record), listed by what it answers
    ("hw1-q2.py linear_regression", "Q2.2(a)", "q2/linear_regression"),
    ("hw1-q2.py nn", "Q2.2(b)", "q2/nn"), ("hw1-q4.py mlp", "Q4.2, the defaults", "q4/runs/mlp"),
    ("hw1-q2.py nn -seeds 10", "Q2.2(b), seeds 42-51", "q2/nn-seeds=10"),
    ("hw1-q3.py perceptron", "Q3.1(a)", "q3/perceptron"), ("hw1-q3.py mlp", "Q3.2(b)", "q3/mlp"),
    ("hw1-q3.py logistic_regression", "Q3.1(b)", "q3/logistic_regression"),
    ("hw1-q4.py logistic_regression -learning_rate 0.001", "Q4.1, its best learning rate",
     "q4/runs/logistic_regression-learning_rate=0.001"),
    ("hw1-q4.py mlp -layers 3", "Q4.3, 3 hidden layers", "q4/runs/mlp-layers=3"),
    ("hw1-q4.py mlp -optimizer adam", "Q4.2, with Adam", "q4/runs/mlp-optimizer=adam")]
RMSE, ACCURACY = {"train_rmse": "train", "test_rmse": "test"}, {"train_acc": "train",
                                                                "dev_acc": "validation"}
FIGURES = {  # report/generated/<name>.pdf: panels (record, {metric: legend label}, title, y label)
    "q2": [("q2/linear_regression", RMSE, "Q2.2(a) linear regression", "RMSE"),
           ("q2/linear_regression", {"distance": None}, "Q2.2(a) distance to LS",
            r"$\Vert\mathbf{w}-\mathbf{w}_{\mathrm{LS}}\Vert_2$"),
           ("q2/nn", RMSE, "Q2.2(b) network", "RMSE")],
    "q3": [("q3/perceptron", ACCURACY, "Q3.1(a) perceptron", "Accuracy"),
           ("q3/logistic_regression", ACCURACY, "Q3.1(b) logistic regression", "Accuracy"),
           ("q3/mlp", ACCURACY, "Q3.2(b) MLP", "Accuracy")]}
RMSE_AXIS = {"yscale": "log", "ylim": (0.08, 2.6), "yticks": (0.1, 0.2, 0.4, 0.8, 1.6),
             "yticklabels": "0.1 0.2 0.4 0.8 1.6".split()}  # log: spikes show; 2.6: legend room
ACCURACY_TICKS = np.arange(0.6, 0.95, 0.05)  # 0.6: room for the legends
four = "{:.4f}".format


def load(path):
    with open(os.path.join(ROOT, "results", path)) as f:
        return json.load(f)


def span(values):
    """The range of values, "low--high" (one number when both print alike); floats to 4 places."""
    low, high = (f"{x}" if isinstance(x, int) else four(x) for x in (min(values), max(values)))
    return low if low == high else f"{low}--{high}"


def words(items):
    """[1, 2, 3] -> "1, 2 and 3"; [] -> "none"."""
    items = [str(item) for item in items] or ["none"]
    return ", ".join(items[:-1]) + " and " * (len(items) > 1) + items[-1]


def claim(holds, text):
    """Stop when the records falsify what the report says."""
    if not holds:
        raise SystemExit(f"error: the records falsify the report's claim that {text}")


def name(key):
    """A Q4 configuration in words: "q4_1.learning_rate=0.001" -> "learning rate 0.001"."""
    flag, _, value = key.split(".", 1)[1].partition("=")
    return {"default": "the defaults", "layers": f"{value} hidden layers"}.get(
        flag, f"{flag.replace('_', ' ')} {value}")


def q2_values(v):
    """Q2.2: the data, the linear run and least squares, the seed-42 network, the seed study."""
    lin, nn, study, linear = (load(f"q2/{n}.json") for n in (
        "linear_regression", "nn", "nn-seeds=10", "linear_regression-seeds=10"))
    (X, y), (_, y_test) = utils.load_regression_data(True, os.path.join(ROOT, "ames.npz")).values()
    sd, mean_test = y.std(), np.sqrt(np.mean((y_test - y.mean()) ** 2))  # predicting the mean
    f, curve = lin["final"], {k: [e[k] for e in lin["epochs"]] for k in lin["epochs"][0]}
    best = int(np.argmin(curve["test_rmse"]))  # linear SGD's epoch of least test RMSE, from 0
    lins = [f"lin{s}" for s in study["seeds"]]  # the linear runs of the network's seeds
    runs = {r["seed"]: r["final"] for r in [*study["runs"], dict(nn, seed="nn"), dict(lin, seed=(
        "lin")), *(dict(r, seed=f"lin{r['seed']}") for r in linear["runs"])] if r["status"] == "ok"}
    rmse = {key: (run["train_rmse"], run["test_rmse"]) for key, run in runs.items()}
    gap = {key: test - train for key, (train, test) in rmse.items()}
    seeds = [s for s in study["seeds"] if s in rmse]  # that did not diverge
    fits, better = ([s for s in seeds if rmse[s][i] < rmse[f"lin{s}"][i]] for i in (0, 1))
    useless = [s for s in seeds if rmse[s][1] > mean_test]  # worse than predicting the mean
    flat = [s for s in useless if abs(rmse[s][0] - sd) < FLAT * sd]  # about one price for all
    claim(curve["train_rmse"][-1] < curve["train_rmse"][best] < curve["test_rmse"][best] < curve[
        "test_rmse"][-1], "after its best test epoch, linear SGD's train RMSE falls, test rises")
    windows = {k: np.reshape([e[k] for e in nn["epochs"]], (-1, WINDOW)) for k in RMSE}
    medians = np.median(windows["test_rmse"], 1)  # the network's, per WINDOW epochs
    gaps = np.median(windows["test_rmse"] - windows["train_rmse"], 1)
    claim(0 < medians[-1] - medians[-2] < curve["test_rmse"][-1] - curve["test_rmse"][best]
          and all(np.diff(gaps) > 0), "the network's median test RMSE rises over its last two "
          "windows, by less than linear SGD's after its best epoch, and its median gap widens")
    claim(f["analytic_train_rmse"] < f["train_rmse"] < f["test_rmse"] < f["analytic_test_rmse"]
          and all(np.diff(curve["distance"]) < 0), "least squares fits the training houses "
          "better and the test houses worse than SGD, whose distance to it falls every epoch")
    claim(all(a < b for a, b in zip([*rmse["nn"], gap["nn"]], [*rmse["lin"], gap["lin"]])) and all(
        gap[s] < gap[f"lin{s}"] and rmse[s][1] < min(rmse[k][1] for k in lins) for s in better),
          "the seed-42 network, and every seed that beats its linear run on test RMSE, has a "
          "smaller gap (seed 42: lower RMSEs too), and beats every linear run on test RMSE")
    dead = {s: runs[s]["dead_units"] for s in seeds}  # [dead on training, of them live on test]
    groups = {"better": better, "fits": fits, "both": [s for s in better if s in fits],
              "middle": [s for s in seeds if s not in better + useless], "useless": useless,
              "flat": flat, "overfit": [s for s in useless if s not in flat]}
    claim([s for s in seeds if dead[s][0]] == useless and all(dead[s][1] for s in useless) and
          all(rmse[s][i] > rmse[f"lin{s}"][i] for s in groups["middle"] for i in (0, 1)),
          "the seeds worse than the mean are those with dead units, some live on test houses; "
          "the others that lose to their linear run on test RMSE lose on train RMSE too")
    for k, group in groups.items():  # each group of seeds: which, how many, their values
        v.update({f"q2.{k}.{n}": x for n, x in (
            ("n", len(group)), ("seeds", words(group)), ("test", span([rmse[s][1] for s in group])),
            ("train", words(four(rmse[s][0]) for s in group)),
            *((n, words(dead[s][i] for s in group)) for i, n in enumerate(("dead", "live"))))})
    for s in [*study["seeds"], *lins, "lin", "nn"]:  # the seed table; a diverged seed: no weights
        v.update({f"q2.{'seed' * (s in study['seeds'])}{s}.{c}": four(x) if s in rmse else "div."
                  for c, x in zip(("train", "test", "gap"), [*rmse.get(s, (0, 0)), gap.get(s, 0)])})
    v.update({"q2.n_train": f"{len(y):,}", "q2.n_test": f"{len(y_test):,}", "q2.sd": four(sd),
              "q2.n_features": X.shape[1] - 1, "q2.n_weights": X.shape[1], "q2.lin.best_epoch":
              best + 1, "q2.rank": np.linalg.matrix_rank(X), "q2.mean_test": four(mean_test),
              "q2.hidden": nn["config"]["hidden_size"], "q2.epochs": len(curve["test_rmse"]),
              "q2.lr": f"{lin['config']['learning_rate']:g}", **{f"q2.lin.best_{k}": four(
                  curve[f"{k}_rmse"][best]) for k in ("train", "test")},
              "q2.nn.medians": words(four(m) for m in medians[-2:]), "q2.nn.windows": words(
                  f"{e - WINDOW + 1}--{e}" for e in len(nn["epochs"]) - np.array([WINDOW, 0])),
              "q2.window": WINDOW, "q2.nn.gaps": " to ".join(four(g) for g in gaps[[0, -1]]),
              "q2.ls.train": four(f["analytic_train_rmse"]), "q2.ls.test": four(
                  f["analytic_test_rmse"]), "q2.lin.dist_first": f"{curve['distance'][0]:.2f}",
              "q2.lin.dist": f"{f['distance']:.2f}", "q2.n_seeds": len(study["seeds"]),
              "q2.seeds": f"{study['seeds'][0]}--{study['seeds'][-1]}", "q2.n_ok": len(seeds),
              "q2.flat.tol": f"{100 * FLAT:g}", **{f"q2.lin_seeds.{k}": span(
                  [rmse[s][i] for s in lins]) for i, k in enumerate(("train", "test"))},
              "q2.diverged": words(f"seed {r['seed']} diverges in epoch {r['diverged_at']['epoch']}"
                                   for r in study["runs"] if r["status"] == "diverged")})


def q3_values(v):
    """Q3: each model's record."""
    for model, key in (("perceptron", "perc"), ("logistic_regression", "lr"), ("mlp", "mlp")):
        record = load(f"q3/{model}.json")
        dev, loss = ([e[k] for e in record["epochs"]] for k in ("dev_acc", "train_loss"))
        gaps = [e["train_acc"] - e["dev_acc"] for e in record["epochs"][int(np.argmax(dev)):]]
        v.update({f"q3.{key}.{k}": x for k, x in (
            ("epochs", len(dev)), ("dev", four(dev[-1])), ("dev_range", span(dev)),
            ("test", four(record["final"]["test_acc"])), ("loss", four(loss[0])),
            ("drop", four(max(np.subtract(dev[:-1], dev[1:])))), ("loss2", four(loss[1])),
            ("loss_last", four(loss[-1])), ("train_acc1", four(record["epochs"][0]["train_acc"])),
            ("peak", four(max(dev))), ("peak_epoch", int(np.argmax(dev)) + 1), ("gaps", span(gaps)),
            *((short, f"{record['config'][k]:g}") for k, short in (("learning_rate", "rate"), (
                "hidden_size", "hidden")) if k in record["config"]))})
    # the MLP's (the loop's last) epoch-1 loss L = mean -log p_gold: exp(-L), their geometric mean
    v["q3.mlp.geometric"] = re.sub(r"e-0*(\d+)", r"\\times10^{-\1}", f"{np.exp(-loss[0]):.1e}")
    claim(float(v["q3.perc.test"]) < float(v["q3.lr.test"]) < float(v["q3.mlp.test"]) and float(
        v["q3.lr.drop"]) < float(v["q3.perc.drop"]) and dev[-1] < max(dev)
          and max(gaps) - min(gaps) < 0.005, "the MLP is the best of Q3, logistic regression "
          "second, the perceptron's validation accuracy drops the most, and the MLP's validation "
          "accuracy peaks before its last epoch, after which its train-validation gap varies by "
          "less than 0.005")


def q4_stats(folder):
    """{"group.label": {metric: [value per seed, by seed]}} of the records in results/<folder>,
    each under the configuration of CONFIGS (over Table 1) that its config has."""
    found = {f"{g}.{label}": [] for g, label, _ in CONFIGS}
    for path in sorted(glob.glob(os.path.join(ROOT, "results", folder, "*.json"))):
        with open(path) as f:
            record = json.load(f)
        found.update({f"{g}.{label}": found[f"{g}.{label}"] + [record] for g, label, flags in
                      CONFIGS if all(value == {**TABLE1, **flags}.get(k) for k, value in
                                     record["config"].items() if k != "seed")})
    stats = {}
    for key, records in found.items():
        records.sort(key=lambda r: r["seed"])
        finals, devs = [r["final"] for r in records], [[e["dev_acc"] for e in r["epochs"]]
                                                       for r in records]
        stats[key] = {m: [f[m] for f in finals] for m in METRICS}
        stats[key].update(seeds=[r["seed"] for r in records], curves=devs, wobble=[np.abs(np.diff(
            d))[-LAST:].mean() for d in devs], gap=[f["train_acc"] - f["dev_acc"] for f in finals],
            eval_loss=[r["epochs"][-1]["train_eval_loss"] for r in records], dead=[
                f["dead_units"][0] for f in finals if "dead_units" in f])
    return stats


def q4_values(v):
    """Q4: values and claims; returns (Table 2, the table rows of results/q4/README.md)."""
    runs, rerun = q4_stats("q4/runs"), q4_stats("q4/second-cpu/runs")  # the report's; a rerun
    seeds, default, lr = runs["q4_2.default"]["seeds"], "q4_2.default", "q4_1.learning_rate="
    claim(all(s["seeds"] == seeds for s in [*runs.values(), *rerun.values()]),
          "every configuration has the same seeds in both studies")

    def verdicts(a, b):  # a against b by study_q4's rule: [in the report's runs, in the rerun]
        return [versus(*(utils.spread(s[k]["dev_acc"]) for k in (a, b))) for s in (runs, rerun)]

    def best_of(stats):  # {group: its configuration of highest mean validation accuracy}
        return {g: max((k for k in stats if k.startswith(g)), key=lambda k: np.mean(
            stats[k]["dev_acc"])) for g in ("q4_1", "q4_2", "q4_3")}

    best, flipped, table, changes = best_of(runs), set(), [], []  # flipped: verdicts the rerun
    for k, s in runs.items():
        g = k[:4]  # Q4.2 and Q4.3 also against the defaults, the MLP they vary
        pairs = {"best": verdicts(k, best[g]), **({"default": verdicts(k, default)} if g != "q4_1"
                                                  else {})}
        vs = {b: x for b, (x, _) in pairs.items()}  # the report's verdicts: its runs'
        said = vs["best"] = "best" if k in best.values() else vs["best"]
        flipped |= {name(k)} if any(x != y for x, y in pairs.values()) else set()
        v.update({f"q4.{k}.vs_{b}": f"is {x}".replace("tie", "tied with") for b, x in vs.items()})
        for alias in [k] + [g] * (said == "best"):  # the best's values, also under its group
            v.update({f"q4.{alias}.{m}.{stat}": fn(x) for m, x in s.items() if x and m not in (
                "seeds", "curves") for stat, fn in (("mean", lambda x: four(np.mean(x))), (
                    "sd", lambda x: four(np.std(x, ddof=1))), ("range", span))})
        v.update({f"q4.{g}.best": name(k)} if said == "best" else {})
        head = f"\\midrule Q4.{g[-1]}" * (not table or table[-1][0] != g)  # a group's first row
        table.append((g, head + f" & {name(k)} & {span(s['train_acc'])} & " + " & ".join(
            "{0} $\\pm$ {1} ({2})".format(*(v[f"q4.{k}.{m}.{x}"] for x in ("mean", "sd", "range")))
            for m in ("dev_acc", "test_acc")) + f" & {said}\\\\"))
        changes.append(f"| Q4.{g[-1]} {name(k)} | " + " / ".join(four(max(abs(np.subtract(
            s[m], rerun[k][m])))) for m in ("dev_acc", "test_acc")) + " | " + (
            "yes" if all(s[m] == rerun[k][m] for m in ("curves", "test_acc")) else "no") + " |")
    moved = max(max(abs(np.subtract(runs[k]["dev_acc"], rerun[k]["dev_acc"]))) for k in runs
                if min(runs[k]["train_acc"] + rerun[k]["train_acc"]) > LEARNS)
    v.update({"q4.last": LAST, "q4.seeds": words(seeds), "q4.rerun": (  # for results/q4 only
        f"moved final validation accuracies by at most {four(moved)} where every run's training "
        f"accuracy exceeds {LEARNS}, {('changed', 'kept')[best_of(rerun) == best]} each question's "
        f"best and changed only the verdicts of {words(sorted(flipped))}.")})
    said = [v[f"q4.{k}"] for k in """q4_1.best q4_2.best q4_3.best q4_1.learning_rate=0.01.vs_best
        q4_1.learning_rate=0.1.vs_best q4_2.learning_rate=0.001.vs_default q4_3.layers=2.vs_default
        q4_2.hidden_size=100.vs_default q4_2.dropout=0.5.vs_default q4_2.activation=tanh.vs_default
        q4_3.layers=3.vs_best q4_3.layers=3.vs_default""".split()]
    claim(said == ["learning rate 0.001"] * 2 + ["2 hidden layers"] + ["is below"] * 2 + [
        "is above"] + ["is tied with"] * 2 + ["is below"] * 3 + ["is tied with"],
          f"the bests and the verdicts the prose explains are, in order, {said}")
    two, three = (runs[f"q4_3.layers={n}"]["dev_acc"] for n in (2, 3))
    v["q4.depth_margin"] = four(min(two) - max(three))  # how little 3 layers are below 2
    claim(np.mean(three) < min(np.mean(two), np.mean(runs[default]["dev_acc"])) and min(two) - max(
        three) < min(np.std(two, ddof=1), np.std(three, ddof=1)), "3 hidden layers have the "
          "lowest mean validation accuracy of the depths, and miss 2 layers' by less than an sd")
    for k in ("q4_3.layers=2", "q4_2.learning_rate=0.001"):  # overlap: versus()'s tie
        claim(versus(*(utils.spread(runs[x]["eval_loss"]) for x in (k, default))) == "tie",
              f"the training losses of {name(k)} overlap those of the defaults")
    for k in ("q4_2.learning_rate=0.1", "q4_2.optimizer=adam"):
        claim(max(runs[k]["train_acc"]) < LEARNS < min(runs[k]["dead"]) / TABLE1["hidden_size"],
              f"with {name(k)} the network does not learn and most of its hidden units die")
    for a, metric, b in (  # every run of a ends below every run of b in metric
            (lr + "0.001", "wobble", lr + "0.01"), (lr + "0.001", "wobble", lr + "0.1"),
            (lr + "0.01", "eval_loss", lr + "0.1"), (lr + "0.001", "eval_loss", lr + "0.1"),
            ("q4_2.learning_rate=0.001", "train_loss", default),
            ("q4_2.dropout=0.5", "train_acc", default), ("q4_2.dropout=0.5", "gap", default),
            ("q4_2.activation=tanh", "gap", default), (default, "eval_loss", "q4_3.layers=3"),
            (default, "eval_loss", "q4_2.activation=tanh"),
            ("q4_3.layers=2", "eval_loss", "q4_3.layers=3")):
        claim(max(runs[a][metric]) < min(runs[b][metric]), f"every run of {a} ends with a lower "
              f"{metric} than every run of {b}")
    return "\n".join([r"\begin{tabular}{@{}llllll@{}}\toprule & Configuration & Training & "
                      r"Validation & Test & vs best\\", *(row for _, row in table),
                      r"\bottomrule\end{tabular}", ""]), changes


RESULTS = """| question | result |
| --- | --- |
| Q2.2(a) linear regression | train / test RMSE {q2.lin.train} / {q2.lin.test} (least squares: \
{q2.ls.train} / {q2.ls.test}) |
| Q2.2(b) network, seed 42 | train / test RMSE {q2.nn.train} / {q2.nn.test} |
| Q2.2(b) network, seeds {q2.seeds} | test RMSE {q2.better.test} for the {q2.better.n} seeds \
that beat linear regression; {q2.diverged} |
| Q3.1(a) perceptron | test accuracy {q3.perc.test} |
| Q3.1(b) logistic regression | test accuracy {q3.lr.test} |
| Q3.2(b) MLP | test accuracy {q3.mlp.test} |
| Q4.1 best: {q4.q4_1.best} | test accuracy {q4.q4_1.test_acc.mean} ± {q4.q4_1.test_acc.sd} \
(mean ± sd over seeds {q4.seeds}) |
| Q4.2 best: {q4.q4_2.best} | test accuracy {q4.q4_2.test_acc.mean} ± {q4.q4_2.test_acc.sd} |
| Q4.3 best: {q4.q4_3.best} | test accuracy {q4.q4_3.test_acc.mean} ± {q4.q4_3.test_acc.sd} |"""
Q4_README = """# The Q4 study's records

Generated by `tools/make_report.py`. `runs/`: the records the report quotes, each configuration of
`tools/study_q4.py` with seeds {q4.seeds}, made on AMD EPYC. `second-cpu/runs/`: the same study
rerun on Intel CPUs (`second-cpu/README.md`), for robustness only: PyTorch's float32 kernels
round differently on CPUs of different vendors.

| configuration | largest same-seed change, validation / test accuracy | identical on both |
| --- | --- | --- |
{changes}

The rerun {q4.rerun} The report gives the verdicts of `runs/` only.
"""


def fill(template, v):
    """The template with each {key} replaced by v[key] (markdown: "--" ranges as "-")."""
    return re.sub(r"(\d)--(\d)", r"\1-\2", re.sub(r"\{([\w.=]+)\}", lambda m: str(v[m[1]]),
                                                template))


def commands_table():
    """README.md's commands, each with its time: from its record, a study log, reproduce.log."""
    rows = [(f"`python {c}`", what, load(record + ".json")["seconds"])
            for c, what, record in sorted(COMMANDS, key=lambda row: row[1])]
    for log in sorted(glob.glob(os.path.join(ROOT, "results", "q4", "study-seeds=*.log"))):
        text, seeds = open(log).read(), log[:-4].split("=")[-1].replace("-", " ")
        wall = re.search(r"^study: (\d+) s wall", text, re.M)
        rows += [(f"`python tools/study_q4.py -seeds {seeds}`", f"Q4, every configuration: "
                  f"{text.split()[0]} runs, 2 at a time", float(wall[1]))] * bool(wall)
    text = open(os.path.join(ROOT, "results", "reproduce.log")).read()
    total = re.search(r"^total \(wall\)\s+([\d.]+)", text, re.M)
    rows += [(f"`python {text.split(':')[0]}`", "every result and the PDF, from an empty "
              "`results/`", float(total[1]))] * bool(total)
    return "\n".join(["| command | what it answers | wall time |", "| --- | --- | --- |"] + [
        f"| {c} | {a} | " + (f"{t / 60:.1f} min |" if t >= 60 else f"{t:.0f} s |")
        for c, a, t in rows] + ["", "For a script: the training time of the run that made its "
                                "committed record, on 2 cores."])


def draw_figures():
    """report/generated/<name>.pdf of FIGURES, for the report's full width (9 pt text): metrics per
    epoch (test and validation dashed), LS's test RMSE dotted; one y scale per label."""
    for name, panels in FIGURES.items():
        with figure(os.path.join(ROOT, "report", "generated", f"{name}.pdf"), (6.6, 2.3),
                    panels=len(panels)) as axes:
            scales = {}
            for ax, (record, keys, title, ylabel) in zip(axes, panels):
                if scales.setdefault(ylabel, ax) is not ax:
                    ax.sharey(scales[ylabel])
                run = load(record + ".json")
                for key, label in keys.items():
                    ax.plot([e["epoch"] for e in run["epochs"]], [e[key] for e in run["epochs"]],
                            "-" if label in ("train", None) else "--", label=label)
                if keys is RMSE and "analytic_test_rmse" in run["final"]:
                    ax.axhline(run["final"]["analytic_test_rmse"], color="k", linestyle=":",
                               label="LS, test")
                ax.set(title=title, ylabel=ylabel, **{"Accuracy": {"yticks": ACCURACY_TICKS},
                                                      "RMSE": RMSE_AXIS}.get(ylabel, {}))


def outputs():
    """{path: text} of every text file make_report writes."""
    v = {}
    q2_values(v)
    q3_values(v)
    table, changes = q4_values(v)
    out = {"report/generated/q4_table.tex": table, "results/q4/README.md": fill(
        Q4_README.replace("{changes}", "\n".join(changes)), v),
           "report/generated/values.tex": "\n".join(
               ["% Generated by tools/make_report.py from results/: do not edit.",
                r"\makeatletter"] + [r"\@namedef{val@%s}{%s}" % (k, str(v[k]).replace(
                    "_", r"\_").replace("%", r"\%")) for k in sorted(v)] + [r"\makeatother", ""])}
    path = os.path.join(ROOT, "README.md")
    text = open(path).read() if os.path.exists(path) else ""
    for block, markdown in (("commands", commands_table()), ("results", fill(RESULTS, v))):
        begin, end = f"<!-- {block}:begin (tools/make_report.py) -->", f"<!-- {block}:end -->"
        if begin in text and end in text:  # the archive's README has no blocks
            out["README.md"] = text = (text.split(begin)[0] + f"{begin}\n{markdown}\n{end}"
                                       + text.split(end, 1)[1])
    return {os.path.join(ROOT, path): text for path, text in out.items()}


def main():
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # -h; no flags
    for path, text in outputs().items():
        if not os.path.exists(path) or open(path).read() != text:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            utils.write_atomically(path, lambda f: f.write(text.encode()))
            print(f"wrote {os.path.relpath(path, ROOT)}")
    draw_figures()


if __name__ == "__main__":
    main()
