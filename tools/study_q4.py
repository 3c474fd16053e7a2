#!/usr/bin/env python
"""Q4 study: every run of Q4.1-Q4.3 for several seeds, then the table and the figures.

    python tools/study_q4.py [-seeds 42 43 44] [-workers 2] [-epochs 20] [-output runs/q4]
    python tools/study_q4.py -summary_only -output results/q4

Configurations (12, CONFIGS below): Q4.1 logistic regression at learning rates 0.001, 0.01,
0.1; Q4.2 the feed-forward network with its defaults and with one of them changed at a time
(learning rate 0.001 / 0.1, hidden size 100, dropout 0.5, tanh, Adam); Q4.3 the defaults with
2 and 3 hidden layers. Seed 42 is the run the assignment asks for; more seeds give the spread
that the conclusions rest on (float32 rounding differs between CPUs and per-example SGD
amplifies it, so one run is not enough to rank configurations that are close).

Each (configuration, seed) is one command, `python hw1-q4.py MODEL -flag value ... -seed S
-output OUTPUT/runs`, run in its own process (one thread each; -workers at a time, longest
first), its output in OUTPUT/logs/. The record's name comes from the script
(utils.run_name); a run whose record exists is skipped, so an interrupted study resumes.

Then, from the records alone (-summary_only does only this):
  OUTPUT/summary.json   per configuration: the seeds, mean / std / min / max of the final
                        validation and test accuracy, the verdict (best, tie, below)
  OUTPUT/summary.csv    the same, one row per configuration
  OUTPUT/summary.tex    the report's table (a booktabs tabular fragment)
  OUTPUT/{q4_1,q4_2,q4_3}-loss.pdf, -accuracy.pdf   the best configuration's mean curves with
                        a min-max band over seeds (Q4.3: both depths)
The best configuration of a group has the highest MEAN final validation accuracy; another
configuration TIES with it when their ranges of final validation accuracy over the seeds
overlap. Test accuracy is never used to choose.
"""
import concurrent.futures as futures
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import time

from common import ROOT, load_record, load_script  # first: puts the project folder on sys.path
import utils

SCRIPT = os.path.join(ROOT, "hw1-q4.py")
SEEDS, EPOCHS = (42, 43, 44), 20  # seed 42: the run the assignment asks for
GROUPS = {"q4_1": "Q4.1 logistic regression", "q4_2": "Q4.2 one hidden layer",
          "q4_3": "Q4.3 two and three hidden layers"}
# (group, what is varied, the flags that differ from hw1-q4.py's defaults)
CONFIGS = [("q4_1", f"learning_rate={lr}", {"model": "logistic_regression", "learning_rate": lr})
           for lr in (0.001, 0.01, 0.1)]
CONFIGS += [("q4_2", "default", {"model": "mlp"})]
CONFIGS += [("q4_2", f"{flag}={value}", {"model": "mlp", flag: value})
            for flag, value in (("learning_rate", 0.001), ("learning_rate", 0.1),
                                ("hidden_size", 100), ("dropout", 0.5),
                                ("activation", "tanh"), ("optimizer", "adam"))]
CONFIGS += [("q4_3", f"layers={n}", {"model": "mlp", "layers": n}) for n in (2, 3)]


def q4_parser():
    return load_script("hw1-q4.py").build_parser()


def command(flags, seed, output, data):
    """The command line of one run: hw1-q4.py with the flags of `flags`."""
    argv = [sys.executable, SCRIPT, flags["model"]]
    for flag, value in flags.items():
        argv += [] if flag == "model" else [f"-{flag}", str(value)]
    return argv + ["-seed", str(seed), "-data", data, "-output", os.path.join(output, "runs")]


def record_path(flags, seed, output, parser):
    name = utils.run_name({**flags, "seed": seed}, parser)
    return os.path.join(output, "runs", name + ".json")


def estimated_cost(flags):
    """Relative run time, to start the longest runs first (rough ratios of measured runs)."""
    if flags["model"] == "logistic_regression":
        return 1.0
    cost = 3.0 * flags.get("hidden_size", 200) / 200 + 2.5 * (flags.get("layers", 1) - 1)
    return cost * (2.4 if flags.get("optimizer") == "adam" else 1.0)


def run_study(seeds, epochs, workers, output, data):
    """Run every (configuration, seed) without a record, `workers` at a time."""
    parser = q4_parser()
    todo = [({**flags, "epochs": epochs}, seed) for seed in seeds for _, _, flags in CONFIGS]
    todo = [job for job in todo if not os.path.exists(record_path(*job, output, parser))]
    todo.sort(key=lambda job: estimated_cost(job[0]), reverse=True)
    total = len(CONFIGS) * len(seeds)
    print(f"{len(todo)} runs to train, {total - len(todo)} already done; {workers} workers",
          flush=True)
    os.makedirs(os.path.join(output, "logs"), exist_ok=True)
    start, failures = time.perf_counter(), []

    def run(flags, seed):
        name = os.path.basename(record_path(flags, seed, output, parser))[:-len(".json")]
        with open(os.path.join(output, "logs", name + ".log"), "w") as log:
            code = subprocess.call(command(flags, seed, output, data), stdout=log,
                                   stderr=subprocess.STDOUT, cwd=ROOT)
        return name, code

    pool = futures.ThreadPoolExecutor(workers)
    try:
        jobs = [pool.submit(run, flags, seed) for flags, seed in todo]
        for done, job in enumerate(futures.as_completed(jobs), start=1):
            name, code = job.result()
            elapsed = f"[{time.perf_counter() - start:6.0f} s] {done}/{len(todo)}"
            if code != 0:
                failures.append(name)
                print(f"{elapsed} FAILED {name} (exit {code}; see {output}/logs/{name}.log)",
                      flush=True)
                continue
            record = load_record(os.path.join(output, "runs", name + ".json"))
            final = record["final"]
            print(f"{elapsed} {name}: {record['seconds']:.0f} s, valid {final.get('dev_acc')}, "
                  f"test {final['test_acc']}", flush=True)
    finally:  # on Ctrl-C or an error: start nothing more (the running commands get Ctrl-C too)
        pool.shutdown(wait=True, cancel_futures=True)
    print(f"study: {time.perf_counter() - start:.0f} s wall", flush=True)
    if failures:
        raise utils.UserError(f"{len(failures)} runs failed: {', '.join(failures)}")


# ---------------------------------------------------------------------------------------------
# Summary, table and figures, from the records alone.

def spread(values):
    """mean, std (sample; 0 for one value), min, max of a list of floats."""
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values)}


def summarise(seeds, epochs, output):
    """One dict per configuration with at least one record, in CONFIGS order: group, varied,
    flags, seeds, records ({seed: record}), and the spread of each final metric."""
    parser, rows = q4_parser(), []
    for group, varied, flags in CONFIGS:
        flags = {**flags, "epochs": epochs}
        records = {seed: load_record(record_path(flags, seed, output, parser))
                   for seed in seeds if os.path.exists(record_path(flags, seed, output, parser))}
        if not records:
            continue
        finals = [r["final"] for r in records.values()]
        row = {"group": group, "varied": varied, "flags": flags, "seeds": sorted(records),
               "records": records}
        for metric in ("dev_acc", "test_acc", "train_acc", "train_loss"):
            values = [f[metric] for f in finals if f.get(metric) is not None]
            row[metric] = spread(values) if values else None
        rows.append(row)
    for group in GROUPS:  # the best by mean validation accuracy; ties by overlapping ranges
        members = [row for row in rows if row["group"] == group and row["dev_acc"]]
        if not members:
            continue
        best = max(members, key=lambda row: row["dev_acc"]["mean"])
        for row in members:
            overlap = row["dev_acc"]["max"] >= best["dev_acc"]["min"]
            row["verdict"] = "best" if row is best else "tie" if overlap else "below"
    return rows


def csv_text(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["group", "varied", "seeds", "verdict"] + [
        f"{metric}_{stat}" for metric in ("dev_acc", "test_acc", "train_acc", "train_loss")
        for stat in ("mean", "std", "min", "max")])
    for row in rows:
        writer.writerow([row["group"], row["varied"], " ".join(map(str, row["seeds"])),
                         row.get("verdict", "")] + [
            "" if row[metric] is None else f"{row[metric][stat]:.6g}"
            for metric in ("dev_acc", "test_acc", "train_acc", "train_loss")
            for stat in ("mean", "std", "min", "max")])
    return out.getvalue()


def latex_table(rows):
    """A booktabs tabular fragment: one row per configuration, the best of each group bold."""
    def cell(s):
        if s is None:
            return "--"
        if s["min"] == s["max"]:
            return f"{s['mean']:.4f}"
        return f"{s['mean']:.4f} $\\pm$ {s['std']:.4f} ({s['min']:.4f}--{s['max']:.4f})"

    lines = [r"\begin{tabular}{llcrll}", r"\toprule",
             r"Model & Configuration & Seeds & Train loss & Final validation accuracy & "
             r"Test accuracy \\", r"\midrule"]
    previous = None
    for row in rows:
        if previous is not None and row["group"] != previous:
            lines.append(r"\midrule")
        previous = row["group"]
        name = "Logistic" if row["flags"]["model"] == "logistic_regression" else "FFN"
        varied = row["varied"].replace("_", r"\_")
        verdict = row.get("verdict")
        varied = (r"\textbf{" + varied + "}" if verdict == "best"
                  else varied + " (tie)" if verdict == "tie" else varied)
        loss = "--" if row["train_loss"] is None else f"{row['train_loss']['mean']:.3f}"
        lines.append(f"{name} & {varied} & {len(row['seeds'])} & {loss} & "
                     f"{cell(row['dev_acc'])} & {cell(row['test_acc'])} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def mean_curves(records, metric):
    """Per epoch, (mean, min, max) of `metric` over the records (runs that lasted all epochs)."""
    curves = [[row[metric] for row in r["epochs"]] for r in records.values()]
    n = min(len(c) for c in curves)
    columns = [[c[i] for c in curves] for i in range(n)]
    return ([statistics.fmean(col) for col in columns], [min(col) for col in columns],
            [max(col) for col in columns])


def group_figures(rows, output):
    """Per group, the loss and accuracy figures of the best configuration (Q4.3: both depths):
    the mean over seeds with a min-max band; training solid, validation dashed."""
    paths = []
    for group, title in GROUPS.items():
        members = [row for row in rows if row["group"] == group]
        chosen = members if group == "q4_3" else [r for r in members if r.get("verdict") == "best"]
        if not chosen:
            continue
        n_seeds = min(len(row["seeds"]) for row in chosen)
        title = ("Q4.3 2 and 3 hidden layers" if group == "q4_3"
                 else f"{title.split()[0]} best, {chosen[0]['varied']}")
        title += f", mean of {n_seeds} seeds" if n_seeds > 1 else ""
        loss, accuracy, loss_bands, accuracy_bands, styles = {}, {}, {}, {}, {}
        for colour, row in zip(("C0", "C1"), chosen):
            prefix = f"{row['varied'].replace('layers=', '')} layers: " if group == "q4_3" else ""
            mean, low, high = mean_curves(row["records"], "train_loss")
            loss[prefix + "training loss"] = mean
            loss_bands[prefix + "training loss"] = (low, high)
            styles[prefix + "training loss"] = {"color": colour}
            for split, metric, line in (("training", "train_acc", "-"),
                                        ("validation", "dev_acc", "--")):
                mean, low, high = mean_curves(row["records"], metric)
                accuracy[prefix + split] = mean
                accuracy_bands[prefix + split] = (low, high)
                styles[prefix + split] = {"color": colour, "linestyle": line}
        paths.append(utils.plot(loss, "Training loss (cross-entropy)",
                                os.path.join(output, f"{group}-loss.pdf"),
                                f"{title}: training loss", bands=loss_bands, styles=styles))
        paths.append(utils.plot(accuracy, "Accuracy", os.path.join(output, f"{group}-accuracy.pdf"),
                                f"{title}: accuracy", bands=accuracy_bands, styles=styles))
    return paths


def write_summary(seeds, epochs, output, figures=True):
    """Write summary.json, summary.csv, summary.tex (and the figures) from the records."""
    rows = summarise(seeds, epochs, output)
    summary = [{k: v for k, v in row.items() if k != "records"} for row in rows]
    files = {"summary.json": json.dumps(summary, indent=1) + "\n", "summary.csv": csv_text(rows),
             "summary.tex": latex_table(rows)}
    for name, text in files.items():
        utils.atomic_write_bytes(os.path.join(output, name), text.encode())
    if figures:
        group_figures(rows, output)
    return rows


def main(argv=None):
    parser = utils.parser("Q4 study: every configuration for several seeds; table, figures.")
    parser.add_argument("-seeds", type=utils.SEED, nargs="+", default=list(SEEDS),
                        help="seeds to train each configuration with")
    parser.add_argument("-epochs", type=utils.EPOCHS, default=EPOCHS, help="epochs of every run")
    parser.add_argument("-workers", type=utils.number(int, 1, 64), default=os.cpu_count() or 1,
                        help="runs at a time (one thread each)")
    parser.add_argument("-data", default=utils.FASHION_PATH, help="the Fashion-MNIST .npz")
    parser.add_argument("-output", default=os.path.join(utils.RUNS, "q4"),
                        help="folder for runs/, logs/, the summary and the figures")
    parser.add_argument("-summary_only", action="store_true",
                        help="rebuild the summary and figures from existing records, no training")
    opt = parser.parse_args(argv)
    if not opt.summary_only:
        utils.check_output_folder(opt.output)
        utils.load_classification_data(path=opt.data)  # a bad file fails here, not in 36 runs
        run_study(opt.seeds, opt.epochs, opt.workers, opt.output, os.path.abspath(opt.data))
    rows = write_summary(opt.seeds, opt.epochs, opt.output)
    for row in rows:
        if row.get("verdict") == "best":
            s = row["dev_acc"]
            print(f"best of {row['group']}: {row['varied']} (validation {s['mean']:.4f} "
                  f"+- {s['std']:.4f} over {len(row['seeds'])} seeds)")
    print(f"wrote {opt.output}/summary.json, summary.csv, summary.tex and the figures")
    return 0


if __name__ == "__main__":
    utils.exit_on_ctrl_c("interrupted; finished runs are kept, rerun to resume")
    utils.run_main(main)
