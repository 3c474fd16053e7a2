#!/usr/bin/env python
"""Generate the report's numbers and tables, and the README's results table, from run records.

    python tools/make_report.py [--check]

Reads results/q2/*.json, results/q3/*.json and the Q4 records of both CPU families,
results/q4/runs/ and results/q4/second-cpu/runs/ (nothing is trained), and
writes report/generated/values.tex (one \\val{key} per number the report quotes),
report/generated/q4_table.tex and README.md's two generated blocks (results, CPU families). With
--check it writes nothing and exits 1 if any of those files differs from what it would write.
"""
import glob
import os
import re
import sys
import textwrap

import numpy as np

from common import ROOT, load_record, load_script  # first: puts the project folder on sys.path
import utils
study = load_script("tools/study_q4.py")
RESULTS = os.path.join(ROOT, "results")
GENERATED = os.path.join(ROOT, "report", "generated")
README = os.path.join(ROOT, "README.md")
BEGIN, END = "<!-- results:begin (tools/make_report.py) -->", "<!-- results:end -->"
CPU_BEGIN, CPU_END = "<!-- cpu:begin (tools/make_report.py) -->", "<!-- cpu:end -->"


four = "{:.4f}".format  # RMSEs, accuracies and losses are quoted to four decimals


def load(path):
    return load_record(os.path.join(RESULTS, path))


def rmses(run):
    """A Q2 run's final train RMSE, test RMSE and their gap."""
    f = run["final"]
    return f["train_rmse"], f["test_rmse"], f["test_rmse"] - f["train_rmse"]


def q2_values():
    """What the Q2.2 section quotes, from results/q2/: linear_regression.json (SGD and least
    squares), nn.json (the prescribed seed-42 network), nn-seeds=10.json (the seed study) and
    analysis.json (tools/analyse_q2.py: the data's sizes and rank, the linear run's test RMSE per
    epoch without its most outlying test houses, and where the bad seeds' test error lies)."""
    lin, nn = load("q2/linear_regression.json"), load("q2/nn.json")
    seeds, analysis = load("q2/nn-seeds=10.json"), load("q2/analysis.json")
    f, story = lin["final"], analysis["linear_story"]
    value, epoch = min((r["test_rmse"], r["epoch"]) for r in lin["epochs"])
    assert story["best_test_epoch"] == epoch, "analysis.json is not from this linear run"
    without = story["per_epoch"]["test_without"]  # test RMSE without the k most outlying houses
    v = {"q2.epochs": str(lin["config"]["epochs"]), "q2.lr": f"{lin['config']['learning_rate']:g}",
         "q2.hidden_size": str(nn["config"]["hidden_size"]), "q2.seed": str(nn["seed"]),
         "q2.lin.gap": four(f["test_rmse"] - f["train_rmse"]),
         "q2.lin.distance": f"{f['distance']:.2f}",
         "q2.lin.distance_first": f"{lin['epochs'][0]['distance']:.2f}",
         "q2.lin.best_test_epoch": str(epoch), "q2.lin.best_test_rmse": four(value),
         "q2.without_k": str(story["without_k"]), "q2.lin.without_best": four(without[epoch - 1]),
         "q2.lin.without_final": four(without[-1]), "q2.lin.without_min": four(min(without)),
         "q2.lin.without_min_epoch": str(int(np.argmin(without)) + 1),
         "q2.ls.without": four(story["least_squares_test_rmse_without_k"]),
         "q2.n_train": f"{story['n_train']:,}", "q2.n_test": f"{story['n_test']:,}",
         "q2.n_features": str(story["n_features"]), "q2.rank": str(story["rank"]),
         "q2.n_slow": str(story["n_slow_directions"]),
         "q2.lin.distance_slow": f"{story['distance_final_along_slow_directions']:.2f}"}
    for key in ("train_rmse", "test_rmse", "analytic_train_rmse", "analytic_test_rmse"):
        v[f"q2.lin.{key}"] = four(f[key])
    if nn["status"] == "ok":  # a diverged run has no final RMSEs
        v.update(zip(("q2.nn.train_rmse", "q2.nn.test_rmse", "q2.nn.gap"), map(four, rmses(nn))))
    s, runs = seeds["summary"], seeds["runs"]
    v.update({"q2.seeds.n": str(s["n_seeds"]), "q2.seeds.first": str(runs[0]["seed"]),
              "q2.seeds.last": str(runs[-1]["seed"])})
    v.update({f"q2.seeds.test_{stat}": four(s["test_rmse"][stat])
              for stat in ("median", "min", "max")})
    # Each seed's final RMSEs and gap (the seed table); the seeds whose test RMSE is over twice
    # the median (as tools/analyse_q2.py picks them) and the others.
    ok = [r for r in runs if r["status"] == "ok"]
    for r in ok:
        v.update(zip((f"q2.seed{r['seed']}.{k}" for k in ("train", "test", "gap")),
                     map(four, rmses(r))))
    bad = [r for r in ok if r["final"]["test_rmse"] > 2 * s["test_rmse"]["median"]]
    good = [r for r in ok if r not in bad]
    assert [r["seed"] for r in bad] == analysis["badly_generalising_seeds"], \
        "analysis.json is not from this study"
    v["q2.seeds.n_bad"], v["q2.seeds.n_good"] = str(len(bad)), str(len(good))
    v["q2.seeds.bad_list"] = in_words([str(r["seed"]) for r in bad])
    for name, group in (("good", good), ("bad", bad)):
        for key, values in zip(("train", "test", "gap"), zip(*map(rmses, group))):
            v[f"q2.seeds.{name}_{key}_min"] = four(min(values))
            v[f"q2.seeds.{name}_{key}_max"] = four(max(values))
    # Where the bad seeds' test error lies: without the k most outlying test houses.
    v["q2.an.k"] = str(analysis["networks_without_k"])
    for i, r in enumerate(bad, start=1):
        m = analysis["networks"][str(r["seed"])]
        v[f"q2.an.bad{i}.without"] = four(m["test_rmse_without_k"])
        v[f"q2.an.bad{i}.share"] = f"{100 * m['share_of_squared_error_on_k']:.0f}"
    return v


def q3_values():
    """What the Q3 sections quote, from results/q3/{perceptron,logistic_regression,mlp}.json:
    the settings, final, best and worst validation accuracies, test accuracy, losses, the largest
    epoch-to-epoch drop of validation accuracy, the test errors (from the test confusion matrix);
    and from analysis.json (tools/analyse_q3.py) the MLP at initialisation."""
    analysis = load("q3/analysis.json")
    init = analysis["initialisation"]  # one forward pass over the training images
    v = {"q3.n_train": f"{analysis['n_train']:,}",
         "q3.init.positive": f"{100 * init['share_of_first_layer_preactivations_positive']:.0f}",
         "q3.init.median_preactivation": f"{init['median_first_layer_preactivation']:.0f}",
         "q3.init.largest_logit": f"{init['median_largest_logit']:.0f}",
         "q3.init.loss": f"{init['mean_loss']:.1f}",
         "q3.init.logit_range": f"{init['median_logit_range']:.0f}",
         "q3.init.top_probability": four(init["median_top_probability"]),
         "q3.init.acc": four(init["accuracy"])}
    for model, short in (("perceptron", "perc"), ("logistic_regression", "lr"), ("mlp", "mlp")):
        record = load(f"q3/{model}.json")
        f, config, rows, key = record["final"], record["config"], record["epochs"], f"q3.{short}"
        v.update({f"{key}.{flag}": f"{config[flag]:g}" for flag in ("learning_rate", "hidden_size")
                  if flag in config})
        v[key + ".epochs"], v[key + ".dev_acc"] = str(len(rows)), four(f["dev_acc"])
        v[key + ".test_acc"] = four(f["test_acc"])
        for name, pick in (("best", max), ("worst", min)):
            value, epoch = pick((r["dev_acc"], r["epoch"]) for r in rows)
            v[f"{key}.{name}_dev_acc"], v[f"{key}.{name}_dev_epoch"] = four(value), str(epoch)
        dev = [r["dev_acc"] for r in rows]
        v[key + ".max_drop"] = four(max(a - b for a, b in zip(dev, dev[1:])))
        if model != "perceptron":  # the perceptron's train_loss is its fraction of mistakes
            v[key + ".train_loss"] = four(f["train_loss"])
            v[key + ".first_train_loss"] = f"{rows[0]['train_loss']:.2f}"
        if model == "mlp":
            v[key + ".second_train_loss"] = f"{rows[1]['train_loss']:.2f}"
        confusion = np.array(f["test_confusion"])  # (10, 10): rows gold, columns predicted
        v[key + ".errors"] = f"{int(confusion.sum() - np.trace(confusion)):,}"
    return v


# (key, name, folder under results/, what made it): the two CPU families of the Q4 records
FAMILIES = (("committed", "the committed family", "q4/runs", "the project's machines, not AVX-512"),
            ("second", "the second family", "q4/second-cpu/runs", "an Intel Xeon with AVX-512"))


def describe(varied):
    """A configuration's name in prose, as Table 1 names it ("defaults" -> "the defaults")."""
    name = study.describe(varied)
    return "the defaults" if name == "defaults" else name


def in_words(items):
    """["a", "b", "c"] -> "a, b and c"; [] -> "none"."""
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else (items or ["none"])[0]


def vs(d, o):
    """The study's rule between two validation accuracy spreads, in prose: "a tie", "above" or
    "below"."""
    verdict = study.versus(d, o)
    return "a tie" if verdict == "tie" else verdict


def q4_values():
    """Values of the Q4 study (tools/study_q4.py) over the runs of both CPU families (families x
    seeds per configuration) and of each alone. Per configuration, q4.<group>.<varied>.: runs,
    dev_acc and train_acc spreads, <family>.verdict (study.RULE), vs_default and
    <family>.vs_default, gap and train_eval_loss (mean, min, max), train_error_percent,
    loss_per_mistake, dead units. Per group: best and its spreads, ties, <family>.best.
    Returns (values, Table 1, the README's CPU block)."""
    rows = study.summarise([os.path.join(RESULTS, family[2]) for family in FAMILIES],
                           study.SEEDS, study.EPOCHS)
    assert all(family["seeds"] for row in rows for family in row["families"]), \
        "a CPU family of FAMILIES lacks records"
    v = {"q4.rule": study.RULE, "q4.seeds": in_words([str(s) for s in study.SEEDS]),
         "q4.n_seeds": str(len(study.SEEDS)), "q4.n_families": str(len(FAMILIES)),
         "q4.identical": in_words([f"Q4.{row['group'][-1]} {describe(row['varied'])}"
                                   for row in rows if row["identical"]])}
    default = next(r for r in rows if r["group"] == "q4_2" and r["varied"] == "default")
    differ = []  # (configuration, against, its verdict on each family) where the families differ
    for row in rows:
        key, records = f"q4.{row['group']}.{row['varied']}", [r for *_, r in row["records"]]
        v[key + ".n"] = str(row["runs"])
        for metric in ("dev_acc", "train_acc"):
            v.update({f"{key}.{metric}.{stat}": four(x) for stat, x in row[metric].items()})
        for (family, *_), alone in zip(FAMILIES, row["families"]):
            v[f"{key}.{family}.verdict"] = alone["verdict"]
        if row["group"] != "q4_1" and row is not default:  # a network against the defaults
            verdict = vs(row["dev_acc"], default["dev_acc"])
            v[key + ".vs_default"] = verdict + " with" * (verdict == "a tie") + " the default"
            said = [vs(alone["dev_acc"], alone_default["dev_acc"])
                    for alone, alone_default in zip(row["families"], default["families"])]
            v.update({f"{key}.{family}.vs_default": s for (family, *_), s in zip(FAMILIES, said)})
            differ += [(row, default, said)] if len(set(said)) > 1 else []
        finals = [r["final"] for r in records]
        eval_loss = [r["epochs"][-1]["train_eval_loss"] for r in records]
        for name, xs in (("gap", [f["train_acc"] - f["dev_acc"] for f in finals]),
                         ("train_eval_loss", eval_loss)):
            v.update({f"{key}.{name}.{stat}": four(f(xs))
                      for stat, f in (("mean", np.mean), ("min", min), ("max", max))})
        # The training images misclassified at the end, and the least mean loss each of them
        # must carry for the whole set's mean loss (a correct image's loss is >= 0).
        errors = [1 - f["train_acc"] for f in finals]
        v[key + ".train_error_percent"] = f"{100 * np.mean(errors):.0f}"
        v[key + ".loss_per_mistake"] = f"{np.mean([l / e for l, e in zip(eval_loss, errors)]):.1f}"
        if all("dead_units" in f for f in finals):
            first = [f["dead_units"][0] for f in finals]  # the first hidden layer
            low, high = min(first), max(first)
            v[key + ".dead"] = str(low) if low == high else f"{low}--{high}"
            v[key + ".hidden"] = str(records[0]["config"]["hidden_size"])
    for group in study.GROUPS:
        members = [row for row in rows if row["group"] == group]
        best = next(row for row in members if row["verdict"] == "best")
        v[f"q4.{group}.best"], v[f"q4.{group}.n"] = describe(best["varied"]), str(best["runs"])
        v[f"q4.{group}.ties"] = in_words([describe(r["varied"]) for r in members
                                          if r["verdict"] == "tie"])
        v.update({f"q4.{group}.{metric}.{stat}": four(best[metric][stat])
                  for metric in ("dev_acc", "test_acc") for stat in ("mean", "std")})
        for n, (family, *_) in enumerate(FAMILIES):
            v[f"q4.{group}.{family}.best"] = in_words([describe(r["varied"]) for r in members
                                                       if r["families"][n]["verdict"] == "best"])
        differ += [(row, best, [alone["verdict"] for alone in row["families"]])
                   for row in members if row is not best
                   and len({alone["verdict"] for alone in row["families"]}) > 1]
    v["q4.picks_held"] = "yes" if all(v[f"q4.{g}.{family}.best"] == v[f"q4.{g}.best"]
                                      for g in study.GROUPS for family, *_ in FAMILIES) else "no"
    v["q4.verdicts_differ"] = "; ".join(
        f"{describe(row['varied'])} against {describe(other['varied'])} is " + ", ".join(
            f"{'a tie' if s in ('tie', 'a tie') else s} on {name}"
            for s, (_, name, *_) in zip(said, FAMILIES)) for row, other, said in differ) or "none"
    return v, study.latex_table(rows), cpu_block(v, rows)


def cpu_block(v, rows):
    """The README's figures on the two CPU families, from the records: which configurations are
    identical on both, how far the others moved, whether the picks and the verdicts held."""
    text = (f"The whole Q4 study ({len(rows)} configurations, seeds {v['q4.seeds']}) was run on "
            f"{len(FAMILIES)} CPU families: " + in_words(
                [f"`results/{folder}/` ({name}: {made})" for _, name, folder, made in FAMILIES])
            + ".")
    identical = [row for row in rows if row["identical"]]
    if identical:  # the largest difference of training loss between their same-seed runs
        loss = max(abs(a["train_loss"] - b["train_loss"]) for row in identical
                   for seed in {s for _, s, _ in row["records"]}
                   for a, b in zip(*[r["epochs"] for _, s, r in row["records"] if s == seed]))
        text += (f" Identical on both families, for each of the {v['q4.n_seeds']} seeds: "
                 f"{v['q4.identical']} (every epoch's validation accuracy and the test "
                 f"accuracy; the training losses differ by at most {loss:.0e}).")
    table = ["| configuration | " + " | ".join(f"validation accuracy on {name}, mean (min-max)"
                                               for _, name, *_ in FAMILIES)
             + " | largest same-seed change, validation / test |", "| --- " * 4 + "|"]
    for row in rows:
        if not row["identical"]:
            cells = [f"{s['mean']:.4f} ({s['min']:.4f}-{s['max']:.4f})"
                     for s in (alone["dev_acc"] for alone in row["families"])]
            table.append(f"| Q4.{row['group'][-1]} {describe(row['varied'])}"
                         f"{' (best)' if row['verdict'] == 'best' else ''} | " + " | ".join(cells)
                         + f" | {row['change']['dev_acc']:.4f} / {row['change']['test_acc']:.4f} |")
    held = v["q4.picks_held"] == "yes"
    after = ("The picks held (the same best in each group on each family: " if held
             else "The picks did not hold (") + "; ".join(
        f"Q4.{g[-1]} " + (v[f"q4.{g}.best"] if held else ", ".join(
            f"{v[f'q4.{g}.{key}.best']} on {name}" for key, name, *_ in FAMILIES))
        for g in study.GROUPS) + ")."
    if v["q4.verdicts_differ"] != "none":
        after += f" Verdicts that differ between the families: {v['q4.verdicts_differ']}."
    after += (f" So Table 1 of the report judges each configuration over all its "
              f"{rows[0]['runs']} runs: {v['q4.rule'][0].lower()}{v['q4.rule'][1:]}")
    return "\n".join([CPU_BEGIN, ""] + textwrap.wrap(text + " The others moved:", 99) + [""]
                     + table + [""] + textwrap.wrap(after, 99) + ["", CPU_END])


def latex_values(values):
    """values.tex: \\val{key} (report.tex) prints what \\@namedef defines here for the key."""
    lines = ["\\@namedef{val@%s}{%s}" % (key, str(values[key]).replace("_", "\\_").replace(
        "%", "\\%")) for key in sorted(values)]
    return "\n".join(["% Generated by tools/make_report.py from results/: do not edit.",
                      "\\makeatletter"] + lines + ["\\makeatother"]) + "\n"


def timing_rows():
    """README rows quoting the wall times of each Q4 study that trained its runs
    (results/q4/study-seeds=*.log) and of the last complete reproduction (results/reproduce.log)."""
    rows, other_seeds_wall = [], 0  # the wall time of the studies without seed 42
    for study_log in sorted(glob.glob(os.path.join(RESULTS, "q4", "study-seeds=*.log"))):
        text, name = open(study_log).read(), os.path.basename(study_log)
        wall = re.search(r"^study: (\d+) s wall", text, re.M)
        trained = re.match(r"(\d+) runs to train.*; (\d+) workers", text)
        seeds = name[len("study-seeds="):-len(".log")].split("-")
        if wall and trained:
            rows.append((f"Q4 study, seed{'s' * (len(seeds) > 1)} {', '.join(seeds)}: "
                         f"{trained[1]} runs on {trained[2]} workers (`results/q4/{name}`)",
                         "wall time", f"{int(wall[1]) / 60:.1f} min"))
            other_seeds_wall += int(wall[1]) if "42" not in seeds else 0
    log = os.path.join(RESULTS, "reproduce.log")
    text = open(log).read() if os.path.exists(log) else ""
    total = re.search(r"^total \(wall\)\s+([\d.]+)", text, re.M)
    if not total:
        return rows
    command = re.match(r"tools/reproduce.py ([^:]*): (\d+) run records", text)
    study_reused = re.search(r"q4 study: 0 runs to train, (\d+) already done", text)
    reused = len(re.findall(r"record exists, reused", text)) + int(
        study_reused[1] if study_reused else 0)
    note = (f", reusing {reused} run records" if reused else ", every run trained") + (
        ", from an empty `results/`" if command and command[2] == "0" else "")
    rows.append((f"Last reproduction: `tools/reproduce.py{f' {command[1]}' if command else ''}` "
                 "(`results/reproduce.log`)", "wall time", f"{float(total[1]) / 60:.1f} min{note}"))
    if command and command[1].startswith("--seeds 42 ") and other_seeds_wall:
        rows.append(("Default reproduction, `tools/reproduce.py` (seeds 42, 43, 44): not timed as "
                     "one run", "wall time: last reproduction + the other seeds' study",
                     f"{(float(total[1]) + other_seeds_wall) / 60:.1f} min"))
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


def readme_table(values):
    """The README's results table: headline numbers, then each command's and study's time."""
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
        ties = values[f"q4.{group}.ties"]
        rows.append((f"{label}, best by mean validation accuracy: {values[f'q4.{group}.best']}"
                     + ("" if ties == "none" else f" (ties: {ties})"),
                     f"test accuracy, mean ± sd over {values[f'q4.{group}.n']} runs "
                     f"({values['q4.n_families']} CPU families x {values['q4.n_seeds']} seeds)",
                     f"{values[f'q4.{group}.test_acc.mean']} ± "
                     f"{values[f'q4.{group}.test_acc.std']}"))
    for command, record in COMMANDS:  # each full command and its training time
        if os.path.exists(os.path.join(RESULTS, record)):
            minutes = load(record)["seconds"] / 60
            rows.append((f"`{command}`", "run time (training)",
                         f"{minutes:.1f} min" if minutes >= 1 else f"{60 * minutes:.0f} s"))
    return "\n".join([BEGIN, "", "| model | metric | value |", "| --- | --- | --- |"]
                     + [f"| {a} | {b} | {c} |" for a, b, c in rows + timing_rows()] + ["", END])


def outputs():
    """{path: text} of every generated file."""
    q4, table, cpu = q4_values()
    values = {**q2_values(), **q3_values(), **q4}
    with open(README) as f:
        readme = f.read()
    for begin, end, block in ((BEGIN, END, readme_table(values)), (CPU_BEGIN, CPU_END, cpu)):
        if begin not in readme or end not in readme:
            raise SystemExit(f"error: README.md lacks the markers {begin} ... {end}")
        head, rest = readme.split(begin, 1)
        readme = head + block + rest.split(end, 1)[1]
    return {os.path.join(GENERATED, "values.tex"): latex_values(values),
            os.path.join(GENERATED, "q4_table.tex"): table, README: readme}


def main(argv=None):
    parser = utils.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a generated file is stale")
    check = parser.parse_args(argv).check
    stale = {path: text for path, text in outputs().items()
             if not os.path.exists(path) or open(path).read() != text}
    for path, text in () if check else stale.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        print(f"wrote {os.path.relpath(path, ROOT)}")
    if check and stale:
        print("stale (rerun python tools/make_report.py): "
              + ", ".join(os.path.relpath(path, ROOT) for path in stale), file=sys.stderr)
    return int(check and bool(stale))


if __name__ == "__main__":
    sys.exit(main())
