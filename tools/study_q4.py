#!/usr/bin/env python
"""Q4 study: every configuration of Q4.1-Q4.3 for several seeds, then its summary and figures.

    python tools/study_q4.py [-seeds 42 43 44] [-epochs 20] [-workers 2] [-output runs/q4]
    python tools/study_q4.py -summary_only -output results/q4

Each configuration (CONFIGS) and seed without a record in OUTPUT/runs (found by its config, so
an interrupted study resumes) is one `python hw1-q4.py` run with its own -seed, -workers at a
time. Then, from one folder of records (-runs, default OUTPUT/runs): OUTPUT/summary.json and
{q4_1,q4_2,q4_3}-{loss,accuracy}.pdf.
"""
import argparse
import concurrent.futures as futures
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np

from common import ROOT, figure, load_record, load_script  # first: the project on sys.path
import utils

SEEDS, EPOCHS = (42, 43, 44), 20  # 42: the assignment's run
RULE = ("The best of a group has the highest mean final validation accuracy on its seeds; another "
        "ties with it when their min-max ranges of it overlap, else is below; test never chooses.")
GROUPS = ("q4_1", "q4_2", "q4_3")  # Q4.1 logistic regression, Q4.2 one hidden layer, Q4.3 deeper
# (group, what is varied, the flags that differ from hw1-q4.py's defaults); shortest runs first
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


def find_records(folder, seeds, epochs, data=None):
    """{(index in CONFIGS, seed): record} of the records in `folder` (either record format) of a
    configuration run for `epochs` on the data file of stem `data` (None: the course's file)."""
    defaults, found = vars(load_script("hw1-q4.py").build_parser().parse_args(["mlp"])), {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):  # not .tmp-*, being written
        record = load_record(path)
        config = record.get("config", {})
        for i, (_, _, flags) in enumerate(CONFIGS):
            want = {**defaults, **flags, "epochs": epochs, "data": data}
            if record.get("seed") in seeds and all(config.get(k) == want.get(k)
                                                    for k in set(config) - {"seed"} | {"data"}):
                if (i, record["seed"]) in found:
                    raise utils.UserError(f"{folder}: two records of {CONFIGS[i][1]}, seed "
                                          f"{record['seed']} (one is {path})")
                found[i, record["seed"]] = record
    return found


def run_study(seeds, epochs, workers, output, data, stem):
    """Run every (configuration, seed) without a record in output/runs on the data file `data` of
    stem `stem` (absolute paths), `workers` at a time; a progress line at least once a minute."""
    runs = os.path.join(output, "runs")
    done = find_records(runs, seeds, epochs, stem)
    todo = [(i, seed) for seed in seeds for i in range(len(CONFIGS)) if (i, seed) not in done]
    if todo:
        utils.load_classification_data(path=data)  # a bad file fails here, not in every run
    todo.sort(key=lambda job: -job[0])  # the longest runs first (the end of CONFIGS)
    print(f"{len(todo)} runs to train, {len(done)} already done; {workers} workers", flush=True)
    os.makedirs(os.path.join(output, "logs"), exist_ok=True)
    start, failures = time.perf_counter(), []

    def run(i, seed):
        flags = {**CONFIGS[i][2], "epochs": epochs, "seed": seed, "data": data, "output": runs}
        name = f"{flags['model']}-{CONFIGS[i][1]}-seed={seed}"
        argv = [flags.pop("model")] + [a for k, v in flags.items() for a in (f"-{k}", str(v))]
        with open(os.path.join(output, "logs", name + ".log"), "w") as log:
            code = subprocess.call([sys.executable, os.path.join(ROOT, "hw1-q4.py"), *argv],
                                   stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        return name, code

    pool = futures.ThreadPoolExecutor(workers)
    try:
        pending = {pool.submit(run, i, seed): (i, seed) for i, seed in todo}
        while pending:
            finished, _ = futures.wait(pending, timeout=60, return_when=futures.FIRST_COMPLETED)
            elapsed = time.perf_counter() - start
            for job in finished:
                (i, seed), (name, code) = pending.pop(job), job.result()
                record = find_records(runs, [seed], epochs, stem).get((i, seed))
                failures += [] if record else [name]
                print(f"[{elapsed:6.0f} s] {name}: " + (
                    f"validation {record['final'].get('dev_acc')}" if record else
                    f"FAILED (exit {code}; see {output}/logs/{name}.log)"), flush=True)
            n_done = len(todo) - len(pending)  # the longest first: the estimate errs high
            left = f", about {elapsed / n_done * len(pending) / 60:.0f} min left" if n_done else ""
            print(f"[{elapsed:6.0f} s] {n_done}/{len(todo)} runs done, {elapsed / 60:.1f} min "
                  f"elapsed{left}", flush=True)
    finally:  # on Ctrl-C: start nothing more (the running commands get Ctrl-C too)
        pool.shutdown(cancel_futures=True)
    print(f"study: {time.perf_counter() - start:.0f} s wall", flush=True)
    if failures:
        raise utils.UserError(f"{len(failures)} runs failed: {', '.join(failures)}")


def versus(d, o):
    """RULE between two spreads of final validation accuracy (utils.spread): "tie" when their
    min-max ranges overlap, otherwise "above" or "below" by mean."""
    if d["max"] >= o["min"] and o["max"] >= d["min"]:
        return "tie"
    return "above" if d["mean"] > o["mean"] else "below"


def summarise(folder, seeds=SEEDS, epochs=EPOCHS, data=None):
    """One row per configuration with a record in `folder`, in CONFIGS order: {"group",
    "varied", "flags", "records": {seed: record}, "runs": how many, per metric of METRICS its
    utils.spread over the runs (None if no run has it), "verdict": "best", "tie" or "below" in
    its group by RULE (absent if every run diverged)}."""
    found, rows = find_records(folder, seeds, epochs, data), []
    for i, (group, varied, flags) in enumerate(CONFIGS):
        records = {seed: found[i, seed] for seed in seeds if (i, seed) in found}
        if records:
            finals = [record["final"] for record in records.values()]
            values = {m: [f[m] for f in finals if f.get(m) is not None] for m in METRICS}
            rows.append({"group": group, "varied": varied, "flags": {**flags, "epochs": epochs},
                         "records": records, "runs": len(records),
                         **{m: utils.spread(v) if v else None for m, v in values.items()}})
    for group in GROUPS:
        members = [row for row in rows if row["group"] == group and row["dev_acc"]]
        best = max(members, key=lambda row: row["dev_acc"]["mean"], default=None)
        for row in members:
            row["verdict"] = "best" if row is best else versus(row["dev_acc"], best["dev_acc"])
    return rows


def compare_families(folder_a, folder_b, seeds=SEEDS, epochs=EPOCHS):
    """What a rerun on other hardware moved: {"change": {(group, varied): the largest change of
    final validation accuracy between same-seed runs of the two folders}, "same_pick": {group:
    whether both folders' records make the same configuration the best}}."""
    rows = [{(row["group"], row["varied"]): row for row in summarise(folder, seeds, epochs)}
            for folder in (folder_a, folder_b)]
    change = {}
    for key in rows[0].keys() & rows[1].keys():
        a, b = rows[0][key]["records"], rows[1][key]["records"]
        change[key] = max((abs(a[s]["final"]["dev_acc"] - b[s]["final"]["dev_acc"])
                           for s in a.keys() & b.keys()), default=None)
    picks = [{group: varied for (group, varied), row in by_key.items()
              if row.get("verdict") == "best"} for by_key in rows]
    return {"change": change, "same_pick": {g: picks[0].get(g) == picks[1].get(g)
                                            for g in GROUPS}}


def group_figures(rows, output):
    """Per group, the loss and accuracy figures of its best configuration (Q4.3: both depths, by
    colour and marker), for half the report's width: per epoch, the seeds' mean and min-max band.
    Loss: with the epoch's final weights, dropout off, and (not Q4.3) the mean over its steps,
    dropout on. Accuracy: training solid, validation dashed."""
    for group in GROUPS:
        deep = group == "q4_3"
        chosen = [r for r in rows if r["group"] == group and (deep or r.get("verdict") == "best")]
        for kind, curves in (("loss", [("end of epoch", "train_eval_loss", "-"), ("during the "
                "epoch", "train_loss", "--")][:2 - deep]), ("accuracy", [("training", "train_acc",
                    "-"), ("validation", "dev_acc", "--")])) if chosen else ():
            with figure(os.path.join(output, f"{group}-{kind}.pdf"), (3.2, 2.8 if deep else 2.4),
                        below=deep * len(curves)) as ax:  # Q4.3: 2 rows of legend under each
                for colour, marker, row in zip(("C0", "C1"), "os", chosen):
                    for i, (label, metric, style) in enumerate(curves):
                        runs = np.array([[epoch[metric] for epoch in r["epochs"]]
                                         for r in row["records"].values()])  # (runs, epochs)
                        x = range(1, runs.shape[1] + 1)
                        ax.plot(x, runs.mean(0), style, color=colour, marker=marker * deep,
                                markersize=3, label=label if not deep else "_" if i else
                                describe(row["varied"]))  # "_": no legend entry
                        ax.fill_between(x, runs.min(0), runs.max(0), color=colour, alpha=0.3, lw=0)
                for label, _, style in curves * (deep and len(curves) > 1):  # Q4.3 accuracy:
                    ax.plot([], [], style, color="k", label=label)  # a legend entry per style
                ax.set_ylabel("Training loss" if kind == "loss" else "Accuracy")
                what = "depth" if deep else describe(chosen[0]["varied"])
                ax.set_title(f"Q4.{group[-1]}: {what}, {min(r['runs'] for r in chosen)} seeds")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("-seeds", type=utils.number(int, 0, utils.MAX_SEED), nargs="+",
                        default=list(SEEDS), help="one run of each configuration per seed")
    parser.add_argument("-epochs", type=utils.number(int, 1, 10_000), default=EPOCHS)
    parser.add_argument("-workers", type=utils.number(int, 1, 64), default=os.cpu_count(),
                        help="runs at a time (one thread each)")
    parser.add_argument("-data", default=utils.FASHION_PATH, help="the Fashion-MNIST .npz")
    parser.add_argument("-output", default=os.path.join(utils.RUNS, "q4"),
                        help="folder for runs/, logs/, the summary and the figures")
    parser.add_argument("-runs", help="folder of the records to summarise (default OUTPUT/runs)")
    parser.add_argument("-summary_only", action="store_true",
                        help="only summarise existing records: no training")
    opt = parser.parse_args(argv)
    # absolute: the runs start in the project folder, wherever the study is started from
    output, data = os.path.abspath(opt.output), os.path.abspath(opt.data)
    stem = None if data == utils.FASHION_PATH else os.path.splitext(os.path.basename(data))[0]
    utils.check_output_folder(output)
    if not opt.summary_only:
        run_study(opt.seeds, opt.epochs, opt.workers, output, data, stem)
    folder = opt.runs or os.path.join(output, "runs")
    rows = summarise(folder, opt.seeds, opt.epochs, stem)
    if not rows:
        raise utils.UserError(f"no Q4 record with -epochs {opt.epochs} in {folder}")
    os.makedirs(output, exist_ok=True)
    text = json.dumps({"rule": RULE, "configurations": [
        {k: v for k, v in row.items() if k != "records"} for row in rows]}, indent=1) + "\n"
    utils.write_atomically(os.path.join(output, "summary.json"), lambda f: f.write(text.encode()))
    group_figures(rows, output)
    best = [f"{r['group']} {describe(r['varied'])}" for r in rows if r.get("verdict") == "best"]
    print(f"wrote {opt.output}/summary.json and the figures; the best: {', '.join(best)}")
    return 0


if __name__ == "__main__":
    try:
        utils.run_main(main)
    except KeyboardInterrupt:
        sys.exit("interrupted; finished runs are kept: rerun the same command to resume")
