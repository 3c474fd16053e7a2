#!/usr/bin/env python
"""Q4 study: every run of Q4.1-Q4.3 in parallel, then the summary table and the figures.

    python tools/study_q4.py [-data Fashion-MNIST.npz] [-output runs/q4] [-epochs 20] [-workers 2]

Runs (12): Q4.1 logistic regression, learning rate in {0.001, 0.01, 0.1}; Q4.2 the
feed-forward network with one hyperparameter at a time changed from the defaults (7 distinct
runs: default, learning rate 0.001 / 0.1, hidden size 100, dropout 0.5, tanh, Adam); Q4.3 the
defaults with 2 and 3 hidden layers. One worker process per core, one thread each, longest runs
first. Each finished run is saved as OUTPUT/runs/<key>.json (atomically); runs whose record
exists are skipped, so an interrupted study resumes where it stopped. tools/reproduce.py passes
-output results/q4; a plain run writes to runs/q4.

Then, from the records alone (-summary_only rebuilds them without training):
  OUTPUT/summary.csv, OUTPUT/summary.tex  one row per run (booktabs tabular fragment)
  OUTPUT/best.json                        {group: key of the best run}
  OUTPUT/{q4_1,q4_2,q4_3}-loss.pdf, -accuracy.pdf   the best run's curves (Q4.3: both depths)
The best run of a group is the one with the highest FINAL validation accuracy (the model that
is kept after 20 epochs); test accuracy is never used to choose.
"""
import argparse
import concurrent.futures as futures
import csv
import io
import json
import multiprocessing
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import utils  # noqa: E402

q4 = utils.load_script("hw1-q4.py")
GROUPS = {"q4_1": "Q4.1 logistic regression", "q4_2": "Q4.2 one hidden layer",
          "q4_3": "Q4.3 two and three hidden layers"}
DEFAULTS = {"epochs": 20, "batch_size": 1, "learning_rate": 0.01, "l2_decay": 0.0,
            "hidden_size": 200, "layers": 1, "dropout": 0.3, "activation": "relu",
            "optimizer": "sgd", "seed": 42}


def study_runs(epochs=20, seed=42):
    """[(group, varied, config)]: the 12 distinct runs, in report order."""
    def config(model, **changes):
        flags = dict(DEFAULTS, model=model, epochs=epochs, seed=seed, **changes)
        if model != "mlp":  # a record holds only the flags that apply to its model
            flags = {k: v for k, v in flags.items() if k not in q4.MLP_FLAGS}
        return flags

    runs = [("q4_1", f"learning_rate={lr:g}", config("logistic_regression", learning_rate=lr))
            for lr in (0.001, 0.01, 0.1)]
    runs.append(("q4_2", "default", config("mlp")))
    for name, values in (("learning_rate", (0.001, 0.1)), ("hidden_size", (100,)),
                         ("dropout", (0.5,)), ("activation", ("tanh",)),
                         ("optimizer", ("adam",))):
        runs += [("q4_2", f"{name}={v:g}" if isinstance(v, float) else f"{name}={v}",
                  config("mlp", **{name: v})) for v in values]
    runs += [("q4_3", f"layers={n}", config("mlp", layers=n)) for n in (2, 3)]
    return runs


def estimated_cost(config):
    """Relative run time, to start the longest runs first (rough ratios of measured runs)."""
    if config["model"] == "logistic_regression":
        return 1.0
    cost = 3.0 * config["hidden_size"] / 200 + 0.7 * (config["layers"] - 1)
    return cost * (1.8 if config["optimizer"] == "adam" else 1.0)


def record_path(output, config):
    return os.path.join(output, "runs", q4.run_key(config) + ".json")


def run_study(data, output, epochs=20, workers=None, seed=42):
    """Train every run without a record (in parallel), then write the summary. Returns it."""
    workers = workers or os.cpu_count() or 1
    todo = [c for _, _, c in study_runs(epochs, seed) if not os.path.exists(record_path(output, c))]
    todo.sort(key=estimated_cost, reverse=True)
    print(f"{len(todo)} runs to train, {12 - len(todo)} already done; {workers} workers",
          flush=True)
    failures, start, folder = [], time.perf_counter(), os.path.join(output, "runs")
    if workers == 1:
        for config in todo:
            _report(config, lambda: q4.run_and_save(config, data, folder), start, failures)
    else:
        # fork: the workers inherit the loaded hw1_q4 module (its file name has a dash).
        context = multiprocessing.get_context("fork")
        with futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            jobs = {pool.submit(q4.run_and_save, c, data, folder): c for c in todo}
            for job in futures.as_completed(jobs):
                _report(jobs[job], job.result, start, failures)
    if failures:
        raise SystemExit(f"{len(failures)} runs failed: {failures}")
    print(f"study: {time.perf_counter() - start:.0f} s wall", flush=True)
    return write_summary(output, epochs=epochs, seed=seed)


def _report(config, result, start, failures):
    key = q4.run_key(config)
    try:
        record = utils.load_record(result())
    except Exception as exc:  # keep the other runs going; report at the end
        failures.append(f"{key}: {exc!r}")
        print(f"FAILED {key}: {exc!r}", flush=True)
        return
    final = record["final"]
    print(f"[{time.perf_counter() - start:5.0f} s] {key}: {record['seconds']:.0f} s, "
          f"valid {final.get('dev_acc')}, test {final['test_acc']}", flush=True)


# ---------------------------------------------------------------------------------------------
# Summary, table and figures, from the records alone.

COLUMNS = ["group", "model", "varied", "learning_rate", "hidden_size", "layers", "dropout",
           "activation", "optimizer", "final_train_loss", "final_train_acc", "best_dev_acc",
           "final_dev_acc", "test_acc", "dead_units", "seconds", "status", "key"]


def summary_rows(output, epochs=20, seed=42):
    """One dict per study run that has a record (report order), with the COLUMNS keys."""
    rows = []
    for group, varied, config in study_runs(epochs, seed):
        path = record_path(output, config)
        if not os.path.exists(path):
            continue
        record = utils.load_record(path)
        final = record["final"]
        rows.append({
            **{k: config.get(k, "") for k in COLUMNS[1:9]}, "group": group, "varied": varied,
            "final_train_loss": final.get("train_loss"), "final_train_acc": final.get("train_acc"),
            "best_dev_acc": final.get("best_dev_acc"), "final_dev_acc": final.get("dev_acc"),
            "test_acc": final["test_acc"],
            "dead_units": " ".join(map(str, final.get("dead_units", []))),
            "seconds": record["seconds"], "status": record["status"],
            "key": q4.run_key(config), "record": record})
    return rows


def best_runs(rows):
    """{group: row} with the highest final validation accuracy (first one on ties)."""
    best = {}
    for row in rows:
        acc = row["final_dev_acc"]
        if acc is not None and (row["group"] not in best
                                or acc > best[row["group"]]["final_dev_acc"]):
            best[row["group"]] = row
    return best


def csv_text(rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def latex_table(rows, best):
    """A booktabs tabular fragment (no preamble): one row per run, the best per group bold."""
    best_keys = {row["key"] for row in best.values()}
    fmt = lambda v, spec: "--" if v is None else format(v, spec)  # noqa: E731
    lines = [r"\begin{tabular}{llrrrrr}", r"\toprule",
             r"Model & Configuration & Train loss & Train acc. & Final val.\ acc. & "
             r"Test acc. & Time (min) \\", r"\midrule"]
    previous = None
    for row in rows:
        if previous is not None and row["group"] != previous:
            lines.append(r"\midrule")
        previous = row["group"]
        name = "Logistic" if row["model"] == "logistic_regression" else "FFN"
        varied = row["varied"].replace("_", r"\_")
        if row["key"] in best_keys:
            varied = r"\textbf{" + varied + "}"
        lines.append(f"{name} & {varied} & {fmt(row['final_train_loss'], '.4f')} & "
                     f"{fmt(row['final_train_acc'], '.4f')} & "
                     f"{fmt(row['final_dev_acc'], '.4f')} & {fmt(row['test_acc'], '.4f')} & "
                     f"{fmt(row['seconds'] / 60, '.0f')} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def plot_groups(rows, best, output):
    """Per group, the loss and accuracy figures: the best run's, and for Q4.3 both depths."""
    paths = []
    for group, row in best.items():
        chosen = [r for r in rows if r["group"] == group] if group == "q4_3" else [row]
        records = {r["varied"].replace("layers=", "") + " layers" if group == "q4_3"
                   else r["varied"]: r["record"] for r in chosen}
        name, _, value = row["varied"].partition("=")
        short = {"learning_rate": "lr", "hidden_size": "hidden", "activation": "",
                 "optimizer": ""}.get(name, name)
        best = f"{short} {value}".strip() if value else name
        title = GROUPS[group] + ("" if group == "q4_3" else f", best: {best}")
        for suffix, series, ylabel, fig_title in q4.figures(records, title):
            paths.append(utils.plot(series, ylabel, os.path.join(output, f"{group}-{suffix}.pdf"),
                                    fig_title))
    return paths


def write_summary(output, epochs=20, seed=42, figures=True):
    """Write summary.csv, summary.tex, best.json (and the figures) from the records."""
    rows = summary_rows(output, epochs, seed)
    best = best_runs(rows)
    utils.atomic_write_bytes(os.path.join(output, "summary.csv"), csv_text(rows).encode())
    utils.atomic_write_bytes(os.path.join(output, "summary.tex"),
                             latex_table(rows, best).encode())
    best_keys = {group: row["key"] for group, row in best.items()}
    utils.atomic_write_bytes(os.path.join(output, "best.json"),
                             (json.dumps(best_keys, indent=1, sort_keys=True) + "\n").encode())
    if figures:
        plot_groups(rows, best, output)
        for row in rows:  # each run's own figures, redrawn so that they follow the code
            for suffix, series, ylabel, title in q4.run_figures(row["record"]):
                utils.plot(series, ylabel,
                           os.path.join(output, "runs", f"{row['key']}-{suffix}.pdf"), title)
    return {"rows": rows, "best": best_keys}


def main():
    parser = argparse.ArgumentParser(description="Q4 study: all runs, summary and figures.")
    parser.add_argument("-data", default=utils.FASHION_PATH)
    parser.add_argument("-output", default=os.path.join(utils.RUNS, "q4"))
    parser.add_argument("-epochs", type=utils.EPOCHS, default=20)
    parser.add_argument("-workers", type=utils.number(int, 1, 64), default=os.cpu_count() or 1)
    parser.add_argument("-summary_only", action="store_true",
                        help="rebuild the table and figures from existing records, no training")
    opt = parser.parse_args()
    if opt.summary_only:
        summary = write_summary(opt.output, opt.epochs)
    else:
        summary = run_study(opt.data, opt.output, opt.epochs, opt.workers)
    print(f"best runs (final validation accuracy): {summary['best']}")
    print(f"wrote {opt.output}/summary.csv, summary.tex, best.json and the figures")
    return 0


if __name__ == "__main__":
    utils.run_main(main, "interrupted; finished runs are kept, rerun to resume")
