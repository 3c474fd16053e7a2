#!/usr/bin/env python
"""Generate the report's numbers and tables, and the README's results table, from run records.

    python tools/make_report.py [--check]

Reads results/q2/*.json, results/q3/*.json and results/q4/runs/*.json (nothing is trained) and
writes report/generated/values.tex (one \\val{key} per number the report quotes),
report/generated/q4_table.tex and the block between the results markers of README.md. With
--check it writes nothing and exits 1 if any of those files differs from what it would write.
"""
import glob
import json
import os
import re
import sys

import numpy as np

from common import ROOT, load_script  # first: puts the project folder on sys.path
import utils
RESULTS = os.path.join(ROOT, "results")
GENERATED = os.path.join(ROOT, "report", "generated")
README = os.path.join(ROOT, "README.md")
BEGIN, END = "<!-- results:begin (tools/make_report.py) -->", "<!-- results:end -->"


def load(path):
    with open(os.path.join(RESULTS, path)) as f:
        return json.load(f)


def four(x):
    """RMSEs, accuracies and losses are quoted to four decimals."""
    return f"{x:.4f}"


def best_epoch(record, metric, pick=max):
    """(epoch, value) of the best per-epoch value of `metric`."""
    rows = [(r[metric], r["epoch"]) for r in record["epochs"] if r.get(metric) is not None]
    value, epoch = pick(rows)
    return epoch, value


def q2_values():
    """What the Q2.2 section quotes, from results/q2/: linear_regression.json (SGD and least
    squares), nn.json (the prescribed seed-42 network), nn-seeds=10.json (the seed study) and
    analysis.json (tools/analyse_q2.py: the data's sizes and rank, the linear run's test RMSE per
    epoch without its most outlying test houses, and where the bad seeds' test error lies)."""
    lin, nn = load("q2/linear_regression.json"), load("q2/nn.json")
    seeds, analysis = load("q2/nn-seeds=10.json"), load("q2/analysis.json")
    v = {"q2.epochs": str(lin["config"]["epochs"]), "q2.lr": f"{lin['config']['learning_rate']:g}",
         "q2.hidden_size": str(nn["config"]["hidden_size"]), "q2.seed": str(nn["seed"])}
    f = lin["final"]
    for key in ("train_rmse", "test_rmse", "analytic_train_rmse", "analytic_test_rmse"):
        v[f"q2.lin.{key}"] = four(f[key])
    v["q2.lin.gap"] = four(f["test_rmse"] - f["train_rmse"])
    v["q2.lin.distance"] = f"{f['distance']:.2f}"
    v["q2.lin.distance_first"] = f"{lin['epochs'][0]['distance']:.2f}"
    epoch, value = best_epoch(lin, "test_rmse", min)
    v["q2.lin.best_test_epoch"], v["q2.lin.best_test_rmse"] = str(epoch), four(value)
    story = analysis["linear_story"]
    assert story["best_test_epoch"] == epoch, "analysis.json is not from this linear run"
    # Linear SGD's test RMSE without the k test houses farthest outside the training range.
    without = story["per_epoch"]["test_without"]
    v["q2.without_k"] = str(story["without_k"])
    v["q2.lin.without_best"] = four(without[epoch - 1])
    v["q2.lin.without_final"] = four(without[-1])
    v["q2.lin.without_min"] = four(min(without))
    v["q2.lin.without_min_epoch"] = str(int(np.argmin(without)) + 1)
    v["q2.ls.without"] = four(story["least_squares_test_rmse_without_k"])
    v["q2.n_train"], v["q2.n_test"] = f"{story['n_train']:,}", f"{story['n_test']:,}"
    for key in ("n_features", "rank"):
        v[f"q2.{key}"] = str(story[key])
    v["q2.n_slow"] = str(story["n_slow_directions"])
    v["q2.lin.distance_slow"] = f"{story['distance_final_along_slow_directions']:.2f}"

    v["q2.nn.status"] = nn["status"]
    if nn["status"] == "ok":
        v["q2.nn.train_rmse"] = four(nn["final"]["train_rmse"])
        v["q2.nn.test_rmse"] = four(nn["final"]["test_rmse"])
        v["q2.nn.gap"] = four(nn["final"]["test_rmse"] - nn["final"]["train_rmse"])
    else:
        v["q2.nn.diverged_epoch"] = str(nn["diverged_at"]["epoch"])
        v["q2.nn.diverged_step"] = str(nn["diverged_at"]["step"])

    s, runs = seeds["summary"], seeds["runs"]
    v["q2.seeds.n"] = str(s["n_seeds"])
    v["q2.seeds.first"], v["q2.seeds.last"] = str(runs[0]["seed"]), str(runs[-1]["seed"])
    for split in ("train", "test"):
        for stat in ("median", "min", "max"):  # the README quotes the test median
            v[f"q2.seeds.{split}_{stat}"] = four(s[f"{split}_rmse"][stat])
    # The seeds whose test RMSE is over twice the median (as tools/analyse_q2.py picks them)
    # and the others; each seed's final RMSEs and train-test gap (the seed table).
    median = s["test_rmse"]["median"]
    ok = [r for r in runs if r["status"] == "ok"]
    for r in ok:
        r_f = r["final"]
        for key, x in (("train", r_f["train_rmse"]), ("test", r_f["test_rmse"]),
                       ("gap", r_f["test_rmse"] - r_f["train_rmse"])):
            v[f"q2.seed{r['seed']}.{key}"] = four(x)
    bad = [r for r in ok if r["final"]["test_rmse"] > 2 * median]
    good = [r for r in ok if r not in bad]
    assert [r["seed"] for r in bad] == analysis["badly_generalising_seeds"], \
        "analysis.json is not from this study"
    v["q2.seeds.n_bad"], v["q2.seeds.n_good"] = str(len(bad)), str(len(good))
    names = [str(r["seed"]) for r in bad]
    v["q2.seeds.bad_list"] = ", ".join(names[:-1]) + f" and {names[-1]}" if bad else "none"
    for name, group in (("good", good), ("bad", bad)):
        for key in ("train", "test", "gap"):
            values = [r["final"]["test_rmse"] - r["final"]["train_rmse"] if key == "gap"
                      else r["final"][f"{key}_rmse"] for r in group]
            if values:
                v[f"q2.seeds.{name}_{key}_min"] = four(min(values))
                v[f"q2.seeds.{name}_{key}_max"] = four(max(values))
    # Where the bad seeds' test error lies: without the k most outlying test houses.
    v["q2.an.k"] = str(analysis["networks_without_k"])
    for i, r in enumerate(bad, start=1):
        m = analysis["networks"][str(r["seed"])]
        v[f"q2.an.bad{i}.seed"] = str(r["seed"])
        v[f"q2.an.bad{i}.without"] = four(m["test_rmse_without_k"])
        v[f"q2.an.bad{i}.share"] = f"{100 * m['share_of_squared_error_on_k']:.0f}"
    return v


def q3_values():
    """What the Q3 sections quote, from results/q3/{perceptron,logistic_regression,mlp}.json:
    the settings, final and best validation accuracies, test accuracy, losses (the perceptron's
    per-epoch train_loss is its fraction of training mistakes), the largest epoch-to-epoch drop
    of validation accuracy, the test errors (from the test confusion matrix); and from
    analysis.json (tools/analyse_q3.py) the MLP at initialisation."""
    analysis = load("q3/analysis.json")
    n_train, init = analysis["n_train"], analysis["initialisation"]
    v = {}
    for model, short in (("perceptron", "perc"), ("logistic_regression", "lr"), ("mlp", "mlp")):
        record = load(f"q3/{model}.json")
        f, config, rows = record["final"], record["config"], record["epochs"]
        v[f"q3.{short}.epochs"] = str(len(rows))
        for flag in ("learning_rate", "hidden_size", "layers"):
            if flag in config:
                v[f"q3.{short}.{flag}"] = f"{config[flag]:g}"
        for metric in ("dev_acc", "test_acc", "train_acc"):
            v[f"q3.{short}.{metric}"] = four(f[metric])
        epoch, value = best_epoch(record, "dev_acc")
        v[f"q3.{short}.best_dev_acc"], v[f"q3.{short}.best_dev_epoch"] = four(value), str(epoch)
        epoch, value = best_epoch(record, "dev_acc", min)
        v[f"q3.{short}.worst_dev_acc"], v[f"q3.{short}.worst_dev_epoch"] = four(value), str(epoch)
        dev = [r["dev_acc"] for r in rows]
        v[f"q3.{short}.max_drop"] = four(max(a - b for a, b in zip(dev, dev[1:])))
        if model == "perceptron":  # train_loss: the fraction of examples it made a mistake on
            mistakes = [r["train_loss"] * n_train for r in rows]
            assert all(abs(m - round(m)) < 1e-6 for m in mistakes), "not a fraction of mistakes"
            mistakes = [round(m) for m in mistakes]
            v["q3.perc.mistakes_first"] = f"{mistakes[0]:,}"
            v["q3.perc.mistakes_last"] = f"{mistakes[-1]:,}"
            v["q3.perc.mistakes_last_percent"] = f"{100 * mistakes[-1] / n_train:.1f}"
            v["q3.n_train"] = f"{n_train:,}"
        else:
            v[f"q3.{short}.train_loss"] = f"{f['train_loss']:.4f}"
            v[f"q3.{short}.first_train_loss"] = f"{rows[0]['train_loss']:.2f}"
            if model == "mlp":
                v["q3.mlp.second_train_loss"] = f"{rows[1]['train_loss']:.2f}"
        confusion = np.array(f["test_confusion"])  # (10, 10): rows gold, columns predicted
        v[f"q3.{short}.errors"] = f"{int(confusion.sum() - np.trace(confusion)):,}"
    # The MLP at its prescribed initialisation (one forward pass over the training images).
    v["q3.init.positive"] = f"{100 * init['share_of_first_layer_preactivations_positive']:.0f}"
    v["q3.init.median_preactivation"] = f"{init['median_first_layer_preactivation']:.0f}"
    v["q3.init.largest_logit"] = f"{init['median_largest_logit']:.0f}"
    v["q3.init.loss"] = f"{init['mean_loss']:.1f}"
    v["q3.init.logit_range"] = f"{init['median_logit_range']:.0f}"
    v["q3.init.top_probability"] = four(init["median_top_probability"])
    v["q3.init.acc"] = four(init["accuracy"])
    return v


# (key, name, folder under results/, what made it): the CPU families of the Q4 records
FAMILIES = (("committed", "the committed family", os.path.join("q4", "runs"),
             "the project's machines, not AVX-512"),
            ("second", "the second family", os.path.join("q4", "second-cpu", "runs"),
             "an Intel Xeon with AVX-512"))
CPU_BEGIN, CPU_END = "<!-- cpu:begin (tools/make_report.py) -->", "<!-- cpu:end -->"


def describe(varied):
    """A configuration's name in prose, as Table 1 names it ("defaults" -> "the defaults")."""
    name = load_script("tools/study_q4.py").describe(varied)
    return "the defaults" if name == "defaults" else name


def in_words(items):
    """["a", "b", "c"] -> "a, b and c"; [] -> "none"."""
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else (items or ["none"])[0]


def vs(d, o):
    """A final validation accuracy spread against another by the rule: a tie when they overlap."""
    if d is None or o is None:
        return "none"
    overlap = d["max"] >= o["min"] and o["max"] >= d["min"]
    return "a tie" if overlap else "above" if d["mean"] > o["mean"] else "below"


def q4_values(study):
    """Values of the Q4 study (tools/study_q4.py) over the records of the CPU families of FAMILIES
    together (a configuration's runs: families x seeds) and of each alone. Keys, per configuration
    q4.<group>.<varied>.: <metric>.<stat> over all runs, <family>.<metric>.<stat>; verdict and
    <family>.verdict (study.RULE); vs_default, <family>.vs_default; change.dev_acc / .test_acc
    (the largest same-seed change between families), identical; per-run facts. Per group:
    best, ties, <family>.best. Overall: rule, identical, picks_held, verdicts_differ.
    Returns (values, Table 1, the README's CPU block)."""
    rows = study.summarise([os.path.join(RESULTS, family[2]) for family in FAMILIES], study.SEEDS,
                           study.EPOCHS)
    families = [(n, key, name) for n, (key, name, _, _) in enumerate(FAMILIES)
                if any(row["families"][n]["seeds"] for row in rows)]
    v = {"q4.runs": str(sum(row["runs"] for row in rows)), "q4.rule": study.RULE,
         "q4.seeds": in_words([str(s) for s in study.SEEDS]), "q4.n_seeds": str(len(study.SEEDS)),
         "q4.n_families": str(len(families))}
    default = next((r for r in rows if r["group"] == "q4_2" and r["varied"] == "default"), None)
    differ = []  # (configuration, against, its verdict on each family) where the families differ
    for row in rows:
        key, records = f"q4.{row['group']}.{row['varied']}", [r for *_, r in row["records"]]
        v[key + ".n"], v[key + ".verdict"] = str(row["runs"]), row["verdict"]
        for prefix, spreads in [(key, row)] + [(f"{key}.{k}", row["families"][n])
                                               for n, k, _ in families]:
            for metric in ("dev_acc", "test_acc", "train_acc", "train_loss"):
                for stat, value in (spreads.get(metric) or {}).items():
                    v[f"{prefix}.{metric}.{stat}"] = f"{value:.4f}"
        for n, family, _ in families:
            v[f"{key}.{family}.verdict"] = row["families"][n].get("verdict", "none")
        for metric in ("dev_acc", "test_acc") if row["change"] else ():
            v[f"{key}.change.{metric}"] = four(row["change"][metric])
        v[key + ".identical"] = "yes" if row["identical"] else "no"
        # Each network configuration against the defaults (one hidden layer), by the same rule.
        if default and row["group"] != "q4_1" and row is not default:
            verdict = vs(row["dev_acc"], default["dev_acc"])
            v[key + ".vs_default"] = (verdict + (" with" if verdict == "a tie" else "")
                                      + " the default")
            said = [vs(row["families"][n]["dev_acc"], default["families"][n]["dev_acc"])
                    for n, _, _ in families]
            v.update({f"{key}.{k}.vs_default": s for (_, k, _), s in zip(families, said)})
            differ += [(row, default, said)] if len(set(said)) > 1 else []
        finals = [r["final"] for r in records]
        gaps = [f["train_acc"] - f["dev_acc"] for f in finals]
        eval_loss = [r["epochs"][-1]["train_eval_loss"] for r in records]
        for name, xs in (("gap", gaps), ("train_eval_loss", eval_loss)):  # mean, min, max
            v.update({f"{key}.{name}.{stat}": f"{f(xs):.4f}"
                      for stat, f in (("mean", np.mean), ("min", min), ("max", max))})
        # The training images misclassified at the end, and the least mean loss each of them
        # must carry for the whole set's mean loss (a correct image's loss is >= 0).
        errors = [1 - f["train_acc"] for f in finals]
        v[key + ".train_error_percent"] = f"{100 * np.mean(errors):.0f}"
        v[key + ".loss_per_mistake"] = f"{np.mean([l / e for l, e in zip(eval_loss, errors)]):.1f}"
        # The largest change of validation accuracy between consecutive epochs, over the last
        # 5 epochs of every run: how much one run moves by chance.
        v[key + ".swing.max"] = four(max(max(abs(b - a) for a, b in zip(dev, dev[1:]))
                                        for dev in ([e["dev_acc"] for e in r["epochs"][-6:]]
                                                    for r in records)))
        if all("dead_units" in f for f in finals):
            first = [f["dead_units"][0] for f in finals]  # the first hidden layer
            v[key + ".dead"] = (str(first[0]) if min(first) == max(first)
                                else f"{min(first)}--{max(first)}")
            v[key + ".hidden"] = str(records[0]["config"]["hidden_size"])
    held = True
    for group in study.GROUPS:
        members = [row for row in rows if row["group"] == group]
        best = next((row for row in members if row.get("verdict") == "best"), None)
        if best is None:
            continue
        ties = [describe(row["varied"]) for row in members if row.get("verdict") == "tie"]
        v[f"q4.{group}.best"], v[f"q4.{group}.n"] = describe(best["varied"]), str(best["runs"])
        v[f"q4.{group}.ties"], v[f"q4.{group}.n_ties"] = in_words(ties), str(len(ties))
        for metric in ("dev_acc", "test_acc"):
            for stat in ("mean", "std"):
                v[f"q4.{group}.{metric}.{stat}"] = four(best[metric][stat])
        for n, family, _ in families:
            v[f"q4.{group}.{family}.best"] = in_words([
                describe(row["varied"]) for row in members
                if row["families"][n].get("verdict") == "best"])
            held = held and v[f"q4.{group}.{family}.best"] == v[f"q4.{group}.best"]
        differ += [(row, best, [row["families"][n].get("verdict") for n, _, _ in families])
                   for row in members if row is not best and len({
                       row["families"][n].get("verdict") for n, _, _ in families}) > 1]
    v["q4.picks_held"] = "yes" if held else "no"
    v["q4.verdicts_differ"] = "; ".join(
        f"{describe(row['varied'])} against {describe(other['varied'])} is " + ", ".join(
            f"{'a tie' if s in ('tie', 'a tie') else s} on {name}"
            for s, (_, _, name) in zip(said, families)) for row, other, said in differ) or "none"
    identical = [f"Q4.{row['group'][-1]} {describe(row['varied'])}" for row in rows
                 if row["identical"]]
    v["q4.identical"], v["q4.n_identical"] = in_words(identical), str(len(identical))
    return v, study.latex_table(rows), cpu_block(v, rows, families)


def cpu_block(v, rows, families):
    """The README's figures on CPU families, from the records: which configurations are identical
    on all, how far the others moved, whether the picks and the verdicts held."""
    text = [f"The whole Q4 study ({len(rows)} configurations, seeds {v['q4.seeds']}) was run on "
            f"{len(families)} CPU families: " + in_words(
                [f"`results/{FAMILIES[n][2]}/` ({name}: {FAMILIES[n][3]})"
                 for n, _, name in families]) + "."]
    import textwrap  # the README's lines are wrapped at 99 characters
    identical = [row for row in rows if row["identical"]]
    if len(families) < 2:
        return "\n".join([CPU_BEGIN, ""] + textwrap.wrap(text[0], 99) + ["", CPU_END])
    if identical:  # the largest difference of training loss between their same-seed runs
        loss = max(abs(a["train_loss"] - b["train_loss"]) for row in identical
                   for seed in {s for _, s, _ in row["records"]}
                   for a, b in zip(*[r["epochs"] for _, s, r in row["records"] if s == seed][:2]))
        text.append(f"Identical on {'both' if len(families) == 2 else 'all'} families, for each "
                    f"of the {v['q4.n_seeds']} seeds: "
                    f"{v['q4.identical']} (every epoch's validation accuracy and the test "
                    f"accuracy; the training losses differ by at most {loss:.0e}).")
    text.append("The others moved:")
    table = ["| configuration | " + " | ".join(f"validation accuracy on {name}, mean (min-max)"
                                               for *_, name in families)
             + " | largest same-seed change, validation / test |",
             "| --- " * (2 + len(families)) + "|"]
    for row in rows:
        if not row["identical"] and row["change"]:
            cells = [f"{s['mean']:.4f} ({s['min']:.4f}-{s['max']:.4f})" for s in (
                row["families"][n]["dev_acc"] for n, _, _ in families)]
            table.append(f"| Q4.{row['group'][-1]} {describe(row['varied'])}"
                         f"{' (best)' if row['verdict'] == 'best' else ''} | " + " | ".join(cells)
                         + f" | {row['change']['dev_acc']:.4f} / {row['change']['test_acc']:.4f} |")
    held = v["q4.picks_held"] == "yes"
    bests = "; ".join(f"Q4.{g[-1]} " + (v[f"q4.{g}.best"] if held else ", ".join(
        f"{v[f'q4.{g}.{k}.best']} on {name}" for _, k, name in families))
        for g in ("q4_1", "q4_2", "q4_3") if f"q4.{g}.best" in v)
    after = [("The picks held (the same best in each group on each family: " if held
              else "The picks did not hold (") + bests + ")."]
    if v["q4.verdicts_differ"] != "none":
        after.append(f"Verdicts that differ between the families: {v['q4.verdicts_differ']}.")
    after.append(f"So Table 1 of the report judges each configuration over all its "
                 f"{rows[0]['runs']} runs: {v['q4.rule'][0].lower()}{v['q4.rule'][1:]}")
    return "\n".join([CPU_BEGIN, ""] + textwrap.wrap(" ".join(text), 99) + [""] + table + [""]
                     + textwrap.wrap(" ".join(after), 99) + ["", CPU_END])


def latex_values(values):
    lines = ["% Generated by tools/make_report.py from results/: do not edit.",
             "\\makeatletter"]
    for key in sorted(values):
        text = str(values[key]).replace("_", "\\_").replace("%", "\\%")
        lines.append(f"\\@namedef{{val@{key}}}{{{text}}}")
    lines.append("\\makeatother")
    return "\n".join(lines) + "\n"


def timing_rows():
    """README rows quoting the wall times of each Q4 study that trained its runs
    (results/q4/study-seeds=*.log) and of the last complete reproduction (results/reproduce.log)."""
    rows, other_seeds_wall = [], 0.0  # the wall time of the studies without seed 42
    for study_log in sorted(glob.glob(os.path.join(RESULTS, "q4", "study-seeds=*.log"))):
        text = open(study_log).read()
        wall = re.search(r"^study: (\d+) s wall", text, re.M)
        trained = re.match(r"(\d+) runs to train.*; (\d+) workers", text)
        seeds = os.path.basename(study_log)[len("study-seeds="):-len(".log")].split("-")
        if wall and trained:
            rows.append((f"Q4 study, seed{'s' * (len(seeds) > 1)} {', '.join(seeds)}: "
                         f"{trained.group(1)} runs on {trained.group(2)} workers "
                         f"(`results/q4/{os.path.basename(study_log)}`)", "wall time",
                         f"{int(wall.group(1)) / 60:.1f} min"))
            other_seeds_wall += int(wall.group(1)) if "42" not in seeds else 0
    log = os.path.join(RESULTS, "reproduce.log")
    if os.path.exists(log):
        text = open(log).read()
        total = re.search(r"^total \(wall\)\s+([\d.]+)", text, re.M)
        command = re.match(r"tools/reproduce.py ([^:]*): (\d+) run records", text)
        reused = len(re.findall(r"record exists, reused", text))
        study_reused = re.search(r"q4 study: 0 runs to train, (\d+) already done", text)
        if study_reused:
            reused += int(study_reused.group(1))
        if total:
            note = f", reusing {reused} run records" if reused else ", every run trained"
            if command and command.group(2) == "0":
                note += ", from an empty `results/`"
            what = f"`tools/reproduce.py {command.group(1)}`" if command else "`tools/reproduce.py`"
            rows.append((f"Last reproduction: {what} (`results/reproduce.log`)",
                         "wall time", f"{float(total.group(1)) / 60:.1f} min{note}"))
        if total and command and command.group(1).startswith("--seeds 42 ") and other_seeds_wall:
            rows.append(("Default reproduction, `tools/reproduce.py` (seeds 42, 43, 44): not "
                         "timed as one run",
                         "wall time: last reproduction + the other seeds' study",
                         f"{(float(total.group(1)) + other_seeds_wall) / 60:.1f} min"))
    return rows


# The README's full commands and the record whose "seconds" says how long each took.
COMMANDS = [
    ("python hw1-q2.py linear_regression", "q2/linear_regression.json"),
    ("python hw1-q2.py nn", "q2/nn.json"),
    ("python hw1-q2.py nn -seeds 10", "q2/nn-seeds=10.json"),
    ("python hw1-q3.py perceptron", "q3/perceptron.json"),
    ("python hw1-q3.py logistic_regression", "q3/logistic_regression.json"),
    ("python hw1-q3.py mlp", "q3/mlp.json"),
    ("python hw1-q4.py logistic_regression -learning_rate 0.001",
     "q4/runs/logistic_regression-learning_rate=0.001.json"),
    ("python hw1-q4.py mlp", "q4/runs/mlp.json"),
    ("python hw1-q4.py mlp -layers 3", "q4/runs/mlp-layers=3.json"),
    ("python hw1-q4.py mlp -optimizer adam", "q4/runs/mlp-optimizer=adam.json"),
]


def command_times():
    """README rows: each full command and its training time, from its record's seconds."""
    rows = []
    for command, record in COMMANDS:
        if os.path.exists(os.path.join(RESULTS, record)):
            minutes = load(record)["seconds"] / 60
            rows.append((f"`{command}`", "run time (training)",
                         f"{minutes:.1f} min" if minutes >= 1 else f"{60 * minutes:.0f} s"))
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
        if f"q4.{group}.best" in values:
            ties = values[f"q4.{group}.ties"]
            rows.append((f"{label}, best by mean validation accuracy: "
                         f"{values[f'q4.{group}.best']}" + ("" if ties == "none" else
                                                             f" (ties: {ties})"),
                         f"test accuracy, mean ± sd over {values[f'q4.{group}.n']} runs "
                         f"({values['q4.n_families']} CPU families x {values['q4.n_seeds']} seeds)",
                         f"{values[f'q4.{group}.test_acc.mean']} ± "
                         f"{values[f'q4.{group}.test_acc.std']}"))
    rows += command_times() + timing_rows()
    lines = [BEGIN, "", "| model | metric | value |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += ["", END]
    return "\n".join(lines)


def outputs():
    """{path: text} of every generated file."""
    values = {**q2_values(), **q3_values()}
    q4, table, cpu = q4_values(load_script("tools/study_q4.py"))
    values.update(q4)
    with open(README) as f:
        readme = f.read()
    for begin, end, block in ((BEGIN, END, readme_table(values)), (CPU_BEGIN, CPU_END, cpu)):
        if begin not in readme or end not in readme:
            raise SystemExit(f"error: README.md lacks the markers {begin} ... {end}")
        head, rest = readme.split(begin, 1)
        readme = head + block + rest.split(end, 1)[1]
    return {
        os.path.join(GENERATED, "values.tex"): latex_values(values),
        os.path.join(GENERATED, "q4_table.tex"): table,
        README: readme,
    }


def main(argv=None):
    parser = utils.parser(__doc__.split("\n\n")[0])
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
