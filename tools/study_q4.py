#!/usr/bin/env python
"""Q4 study: every run of Q4.1-Q4.3 for several seeds, then the table and the figures.

    python tools/study_q4.py [-seeds 42 43 44] [-workers 2] [-epochs 20] [-output runs/q4]
    python tools/study_q4.py -summary_only -output results/q4 [-runs DIR ...]

Each configuration (CONFIGS) and seed without a record in OUTPUT/runs is one `python hw1-q4.py`
run (-workers at a time, longest first, logs in OUTPUT/logs/), so a study resumes. Then, from the
records of the -runs folders, one per CPU family (-summary_only does only this):
OUTPUT/summary.{json,csv,tex} and {q4_1,q4_2,q4_3}-{loss,accuracy}.pdf. A record is found by
its config, never its file name; verdicts follow RULE.
"""
import concurrent.futures as futures
import csv
import glob
import io
import json
import os
import subprocess
import sys
import time

from common import ROOT, load_record, load_script  # first: puts the project folder on sys.path
import utils

SCRIPT, SEEDS, EPOCHS = os.path.join(ROOT, "hw1-q4.py"), (42, 43, 44), 20  # 42: the assignment's
RULE = ("The best configuration of a group has the highest mean final validation accuracy over "
        "all its runs (every CPU family, every seed); another configuration ties with it when "
        "their ranges of final validation accuracy over those runs (min to max) overlap, and is "
        "below it otherwise; test accuracy never chooses.")
GROUPS = ("q4_1", "q4_2", "q4_3")  # Q4.1 logistic regression, Q4.2 one hidden layer, Q4.3 deeper
# (group, what is varied, the flags that differ from hw1-q4.py's defaults)
CONFIGS = [("q4_1", f"learning_rate={lr}", {"model": "logistic_regression", "learning_rate": lr})
           for lr in (0.001, 0.01, 0.1)]
CONFIGS += [("q4_2", "default", {"model": "mlp"})] + [
    ("q4_2", f"{flag}={value}", {"model": "mlp", flag: value}) for flag, value in (
        ("learning_rate", 0.001), ("learning_rate", 0.1), ("hidden_size", 100), ("dropout", 0.5),
        ("activation", "tanh"), ("optimizer", "adam"))]
CONFIGS += [("q4_3", f"layers={n}", {"model": "mlp", "layers": n}) for n in (2, 3)]
METRICS = ("dev_acc", "test_acc", "train_acc", "train_loss")


def describe(varied):
    """A configuration in words: "learning_rate=0.001" -> "learning rate 0.001"."""
    name, _, value = varied.partition("=")
    return {"default": "defaults", "layers": f"{value} hidden layers", "activation": value,
            "optimizer": "Adam" if value == "adam" else value}.get(
        name, f"{name.replace('_', ' ')} {value}")


def command(flags, seed, output, data):
    """The command line of one run: hw1-q4.py with the flags of `flags`."""
    return [sys.executable, SCRIPT, flags["model"]] + [
        arg for flag, value in flags.items() if flag != "model" for arg in (f"-{flag}", str(value))
    ] + ["-seed", str(seed), "-data", data, "-output", os.path.join(output, "runs")]


def find_records(folder, seeds, epochs):
    """{(index in CONFIGS, seed): record} of the records in `folder` whose config is that of a
    configuration run for `epochs` (unvaried flags at hw1-q4.py's defaults)."""
    parser, found = load_script("hw1-q4.py").build_parser(), {}
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        record = load_record(os.path.join(folder, name)) if name.endswith(".json") else None
        if not isinstance(record, dict) or record.get("seed") not in seeds:
            continue
        config = record.get("config", {})
        for i, (_, _, flags) in enumerate(CONFIGS):
            want = {**flags, "epochs": epochs}
            if all(config.get(k) == want.get(k, parser.get_default(k))
                   for k in (set(config) | set(want)) - {"seed"}):
                if (i, record["seed"]) in found:
                    raise utils.UserError(f"{folder}: two records of {CONFIGS[i][1]}, seed "
                                          f"{record['seed']} (one is {name})")
                found[i, record["seed"]] = record
    return found


def estimated_cost(flags):
    """Relative run time, to start the longest runs first (rough ratios of measured runs)."""
    return 1.0 if flags["model"] == "logistic_regression" else (
        3.0 * flags.get("hidden_size", 200) / 200 + 2.5 * (flags.get("layers", 1) - 1)) * (
        2.4 if flags.get("optimizer") == "adam" else 1.0)


def run_study(seeds, epochs, workers, output, data):
    """Run every (configuration, seed) without a record, `workers` at a time."""
    runs = os.path.join(output, "runs")
    done = find_records(runs, seeds, epochs)
    todo = [(i, seed) for seed in seeds for i in range(len(CONFIGS)) if (i, seed) not in done]
    cost = {job: estimated_cost(CONFIGS[job[0]][2]) for job in todo}
    todo.sort(key=cost.get, reverse=True)
    print(f"{len(todo)} runs to train, {len(done)} already done; {workers} workers", flush=True)
    os.makedirs(os.path.join(output, "logs"), exist_ok=True)
    start, failures, cost_done = time.perf_counter(), [], 0.0

    def run(i, seed):
        flags = {**CONFIGS[i][2], "epochs": epochs}
        name = f"{flags['model']}-{CONFIGS[i][1]}-seed={seed}"
        with open(os.path.join(output, "logs", name + ".log"), "w") as log:
            code = subprocess.call(command(flags, seed, output, data), stdout=log,
                                   stderr=subprocess.STDOUT, cwd=ROOT)
        return name, code

    pool = futures.ThreadPoolExecutor(workers)
    try:
        pending = {pool.submit(run, i, seed): (i, seed) for i, seed in todo}
        while pending:
            finished, _ = futures.wait(pending, timeout=60, return_when=futures.FIRST_COMPLETED)
            elapsed = time.perf_counter() - start
            for job in finished:
                (i, seed), (name, code) = pending.pop(job), job.result()
                cost_done += cost[i, seed]
                record = code == 0 and find_records(runs, [seed], epochs).get((i, seed))
                failures += [] if record else [name]
                print(f"[{elapsed:6.0f} s] {name}: " + (
                    f"valid {record['final']['dev_acc']}, test {record['final']['test_acc']}"
                    if record else f"FAILED (exit {code}; see {output}/logs/{name}.log)"),
                    flush=True)
            left = (f"about {elapsed * (sum(cost.values()) / cost_done - 1) / 60:.0f} min left"
                    if cost_done else "time left known after the first run")
            print(f"[{elapsed:6.0f} s] {len(todo) - len(pending)}/{len(todo)} runs done, "
                  f"{elapsed / 60:.1f} min elapsed, {left}", flush=True)
    finally:  # on Ctrl-C or an error: start nothing more (the running commands get Ctrl-C too)
        pool.shutdown(wait=True, cancel_futures=True)
    print(f"study: {time.perf_counter() - start:.0f} s wall", flush=True)
    if failures:
        raise utils.UserError(f"{len(failures)} runs failed: {', '.join(failures)}")


def versus(d, o):
    """RULE between two spreads of final validation accuracy: "tie" when their min-max ranges
    overlap, otherwise "above" or "below" by mean."""
    if d["max"] >= o["min"] and o["max"] >= d["min"]:
        return "tie"
    return "above" if d["mean"] > o["mean"] else "below"


def judge(rows):
    """Set row["verdict"] (best, tie or below) within each group by RULE, from row["dev_acc"]."""
    for group in GROUPS:
        members = [row for row in rows if row["group"] == group and row["dev_acc"]]
        best = max(members, key=lambda row: row["dev_acc"]["mean"], default=None)
        for row in members:
            row["verdict"] = "best" if row is best else versus(row["dev_acc"], best["dev_acc"])


def stats(records):
    """The spread of each final metric over `records` (None where no record has it)."""
    values = {m: [r["final"][m] for r in records if r["final"].get(m) is not None] for m in METRICS}
    return {m: utils.spread(v) if v else None for m, v in values.items()}


def summarise(folders, seeds, epochs):
    """Per configuration with a record: group, varied, flags, runs (records), the spread of each
    final metric over all runs, verdict; families: per folder, seeds, spreads, verdict; change:
    the largest same-seed change between families; identical: every epoch's validation accuracy
    and the test accuracy equal, seed for seed; records: [(folder, seed, record)]."""
    found = [find_records(folder, seeds, epochs) for folder in folders]
    rows = []
    for i, (group, varied, flags) in enumerate(CONFIGS):
        records = [(folder, seed, f[i, seed]) for folder, f in zip(folders, found)
                   for seed in seeds if (i, seed) in f]
        if not records:
            continue
        row = {"group": group, "varied": varied, "flags": {**flags, "epochs": epochs},
               "runs": len(records), "records": records, **stats([r for *_, r in records])}
        row["families"] = [{"group": group, "folder": folder, "seeds": [
            s for s in seeds if (i, s) in f]} for folder, f in zip(folders, found)]
        for family, f in zip(row["families"], found):
            family.update(stats([f[i, s] for s in family["seeds"]]))
        pairs = [(a[i, s], b[i, s]) for n, a in enumerate(found) for b in found[n + 1:]
                 for s in seeds if (i, s) in a and (i, s) in b]
        row["change"] = {m: round(max(abs(a["final"][m] - b["final"][m]) for a, b in pairs), 6)
                         for m in ("dev_acc", "test_acc")} if pairs else None
        row["identical"] = bool(pairs) and all(
            a["final"]["test_acc"] == b["final"]["test_acc"]
            and [e["dev_acc"] for e in a["epochs"]] == [e["dev_acc"] for e in b["epochs"]]
            for a, b in pairs)
        rows.append(row)
    judge(rows)
    for n in range(len(folders)):  # each family alone
        judge([row["families"][n] for row in rows])
    return rows


def csv_text(rows):
    out, cols = io.StringIO(), ("mean", "std", "min", "max")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["group", "varied", "runs", "verdict"] + [f"{m}_{s}" for m in METRICS
                                                              for s in cols])
    writer.writerows([row["group"], row["varied"], row["runs"], row.get("verdict", "")] + [
        "" if row[m] is None else f"{row[m][s]:.6g}" for m in METRICS for s in cols]
        for row in rows)
    return out.getvalue()


def latex_table(rows):
    """A booktabs tabular fragment: one row per configuration, the best of each group bold."""
    def cell(s):
        return ("--" if s is None else f"{s['mean']:.4f}" if s["min"] == s["max"] else
                f"{s['mean']:.4f} $\\pm$ {s['std']:.4f} ({s['min']:.4f}--{s['max']:.4f})")

    lines = [r"\begin{tabular}{llcrll}", r"\toprule",
             r"Model & Configuration & Runs & Train loss & Final validation accuracy & "
             r"Test accuracy \\", r"\midrule"]
    for n, row in enumerate(rows):
        lines += [r"\midrule"] * (n > 0 and row["group"] != rows[n - 1]["group"])
        name = "Logistic" if row["flags"]["model"] == "logistic_regression" else "FFN"
        varied, verdict = describe(row["varied"]), row.get("verdict")
        varied = (r"\textbf{" + varied + "}" if verdict == "best"
                  else varied + " (tie)" if verdict == "tie" else varied)
        loss = "--" if row["train_loss"] is None else f"{row['train_loss']['mean']:.3f}"
        lines.append(f"{name} & {varied} & {row['runs']} & {loss} & "
                     f"{cell(row['dev_acc'])} & {cell(row['test_acc'])} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def group_figures(rows, output):
    """Per group, the loss and accuracy figures of the best configuration (Q4.3: both depths):
    the mean over all its runs with a min-max band; training solid, validation dashed."""
    for group in GROUPS:
        members = [row for row in rows if row["group"] == group]
        chosen = members if group == "q4_3" else [r for r in members if r.get("verdict") == "best"]
        if not chosen:
            continue
        title = ("Q4.3 2 and 3 hidden layers" if group == "q4_3"
                 else f"Q4.{group[-1]} best, {describe(chosen[0]['varied'])}")
        row = min(chosen, key=lambda row: row["runs"])
        runs = (f"mean of {row['runs']} runs ({sum(bool(f['seeds']) for f in row['families'])}"
                f" CPU families, {len({seed for _, seed, _ in row['records']})} seeds)")
        for kind, ylabel, curves in (
                ("loss", "Training loss (cross-entropy)", [("training loss", "train_loss", "-")]),
                ("accuracy", "Accuracy", [("training", "train_acc", "-"),
                                          ("validation", "dev_acc", "--")])):
            series, bands, styles = {}, {}, {}
            for colour, row in zip(("C0", "C1"), chosen):
                prefix = f"{describe(row['varied'])}: " if group == "q4_3" else ""
                for label, metric, line in curves:
                    # per epoch, over the runs: mean, with a min-max band
                    columns = list(zip(*([e[metric] for e in r["epochs"]]
                                         for *_, r in row["records"])))
                    series[prefix + label] = [sum(c) / len(c) for c in columns]
                    bands[prefix + label] = [min(c) for c in columns], [max(c) for c in columns]
                    styles[prefix + label] = {"color": colour, "linestyle": line}
            utils.plot(series, ylabel, os.path.join(output, f"{group}-{kind}.pdf"),
                       f"{title}: {ylabel.split(' (')[0].lower()}\n{runs}", bands=bands,
                       styles=styles)


def write_summary(folders, seeds, epochs, output):
    """Write summary.json, summary.csv, summary.tex (and the figures) from the records."""
    rows = summarise(folders, seeds, epochs)
    if not rows:
        raise utils.UserError(f"no Q4 record with -epochs {epochs} in {', '.join(folders)}")
    summary = {"rule": RULE, "configurations": [
        {k: v for k, v in row.items() if k != "records"} for row in rows]}
    for name, text in (("summary.json", json.dumps(summary, indent=1) + "\n"),
                       ("summary.csv", csv_text(rows)), ("summary.tex", latex_table(rows))):
        utils.atomic_write_bytes(os.path.join(output, name), text.encode())
    group_figures(rows, output)
    return rows


def main(argv=None):
    parser = utils.parser("Q4 study: every configuration for several seeds; table, figures.")
    parser.add_argument("-seeds", type=utils.SEED, nargs="+", default=list(SEEDS), help="seeds")
    parser.add_argument("-epochs", type=utils.EPOCHS, default=EPOCHS, help="epochs of every run")
    parser.add_argument("-workers", type=utils.number(int, 1, 64), default=os.cpu_count() or 1,
                        help="runs at a time (one thread each)")
    parser.add_argument("-data", default=utils.FASHION_PATH, help="the Fashion-MNIST .npz")
    parser.add_argument("-output", default=os.path.join(utils.RUNS, "q4"),
                        help="folder for runs/, logs/, the summary and the figures")
    parser.add_argument("-runs", nargs="+", help="folders of records to summarise, one per CPU "
                        "family (default: OUTPUT/runs and every OUTPUT/*/runs)")
    parser.add_argument("-summary_only", action="store_true",
                        help="rebuild the summary and figures from existing records, no training")
    opt = parser.parse_args(argv)
    if not opt.summary_only:
        utils.check_output_folder(opt.output)
        utils.load_classification_data(path=opt.data)  # a bad file fails here, not in 36 runs
        run_study(opt.seeds, opt.epochs, opt.workers, opt.output, os.path.abspath(opt.data))
    folders = opt.runs or [os.path.join(opt.output, "runs")] + sorted(
        glob.glob(os.path.join(opt.output, "*", "runs")))  # one folder per CPU family
    rows = write_summary(folders, opt.seeds, opt.epochs, opt.output)
    for row, s in ((row, row["dev_acc"]) for row in rows if row.get("verdict") == "best"):
        print(f"best of {row['group']}: {describe(row['varied'])} (validation "
              f"{s['mean']:.4f} +- {s['std']:.4f} over {row['runs']} runs)")
    print(f"wrote {opt.output}/summary.json, summary.csv, summary.tex and the figures")
    return 0


if __name__ == "__main__":
    utils.exit_on_ctrl_c("interrupted; finished runs are kept, rerun to resume")
    utils.run_main(main)
