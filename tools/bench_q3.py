#!/usr/bin/env python
"""Q3 speed: hw1-q3.py's command against a textbook script's, and the allocator's page faults.

    python tools/bench_q3.py [-models mlp] [-repeats 3] [-steps 6000] [-data FILE]

1. Whole commands, what a user runs: `python hw1-q3.py <model> -epochs 1` (load, one epoch,
   evaluation, record and figures) against `python tools/textbook_q3.py <model>` (load, the same
   epoch: same seed, order and initial weights, hence the same accuracies; no record or figures),
   each in a fresh process, -repeats times each, alternating the order. The textbook runs twice:
   as a student runs it, and with the allocator thresholds hw1-q3.py sets (through glibc's
   documented GLIBC_TUNABLES): its loop's speed when it too escapes the page-fault storm below.
   Wall seconds, and from os.wait4 on the child (common.time_command; the counters
   `/usr/bin/time -v` prints): user and system seconds, peak memory (max RSS), minor page
   faults. The table shows medians, the ratios textbook / hw1-q3 (above 1: hw1-q3 is faster) of
   wall and of user+system time, and system time as % of user. A first row times
   loading the data alone (utils.load_classification_data): the system time any command pays.
2. Steps in one process. Whether glibc hands a step's ~1 MB temporaries (np.outer, lr * grad)
   back to the kernel, to fault them back in at the next step, depends on what the process did
   before. Each of four child processes times -steps steps of hw1-q3's MLP.update_weight and as
   many of textbook_q3.mlp_step (from the same weights, on the same examples), interleaved in
   blocks, after one of two histories: "fresh" (only the examples, read from a .npy: nothing
   large freed before) and "after work" (then the data loaded with utils.load_classification_data
   and the MLP evaluated on the training and dev sets, as between two epochs of hw1-q3.py);
   once with glibc's defaults and once with utils.keep_freed_memory() called at start-up, as the
   scripts do (it is process-wide, hence one process each). getrusage(RUSAGE_SELF) deltas over
   the blocks: CPU (user+system) microseconds per step, system as % of user, minor faults per step.
Then a one-line verdict per target: the MLP command at least 0.9x the textbook's with system
time under 5% of user, and the same for the steps with keep_freed_memory after either history.
The speed verdicts use user+system time (wall time is shown too): on a shared machine wall time
also counts the waits for a core, which vary with the other jobs. Compare ratios, not seconds.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from common import ROOT, load_script, time_command  # first: puts the project folder on sys.path
import utils

MODELS = ["perceptron", "logistic_regression", "mlp"]
BLOCK = 500  # steps per interleaved block
EPOCH = 50_000  # training examples


# glibc's documented environment settings for the thresholds utils.keep_freed_memory() sets.
TUNABLES = {"GLIBC_TUNABLES": f"glibc.malloc.mmap_threshold={32 << 20}:"
                              f"glibc.malloc.trim_threshold={256 << 20}"}


def commands(models, repeats, data):
    print(f"1. whole commands in fresh processes, one epoch, medians of {repeats} runs each "
          "(alternating order)\n")
    print(f"{'model':20s} {'command':13s} {'wall s':>7s} {'user s':>7s} {'sys s':>6s} "
          f"{'sys/user':>8s} {'max RSS':>9s} {'faults':>9s}  textbook/hw1-q3: wall, user+sys")
    load = ["-c", "import sys, utils; utils.load_classification_data(path=sys.argv[1])", data]
    results = {}
    with tempfile.TemporaryDirectory() as out:
        groups = {"(data loading only)": {"load": (load, None)}}
        for model in models:
            textbook = ["tools/textbook_q3.py", model, data]
            groups[model] = {"textbook": (textbook, None), "textbook+env": (textbook, TUNABLES),
                             "hw1-q3": (["hw1-q3.py", model, "-epochs", "1", "-data", data,
                                         "-output", out], None)}
        for model, argvs in groups.items():
            runs = {name: [] for name in argvs}
            for repeat in range(repeats):
                for name in list(argvs)[::1 if repeat % 2 == 0 else -1]:
                    runs[name].append(time_command(*argvs[name]))
            m = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                 for name, rs in runs.items()}
            for name, r in m.items():
                ratios = ""
                if name.startswith("textbook"):
                    sc = m["hw1-q3"]
                    ratios = (f"  {r['wall'] / sc['wall']:.2f}x, "
                              f"{(r['user'] + r['sys']) / (sc['user'] + sc['sys']):.2f}x")
                print(f"{model:20s} {name:13s} {r['wall']:7.1f} {r['user']:7.1f} {r['sys']:6.2f} "
                      f"{100 * r['sys'] / r['user']:7.1f}% {r['rss']:5.0f} MiB {r['faults']:9.0f}"
                      + ratios, flush=True)
            results[model] = m
    print(f"textbook+env: GLIBC_TUNABLES={TUNABLES['GLIBC_TUNABLES']}\n"
          "  (the thresholds utils.keep_freed_memory sets in hw1-q3.py)\n")
    return results


def steps_child(history, keep, steps, examples, data):
    """One process of part 2: prints {step kind: [(wall, user, sys, minor faults) per block]}."""
    if keep:
        utils.keep_freed_memory()
    q3, textbook = load_script("hw1-q3.py"), load_script("tools/textbook_q3.py")
    X, y = np.load(examples + "-X.npy"), np.load(examples + "-y.npy").tolist()
    np.random.seed(42)
    model = q3.MLP(10, X.shape[1], hidden_size=200, layers=1)
    params = [model.weights[0].copy(), model.biases[0].copy(), model.weights[1].copy(),
              model.biases[1].copy()]
    if history == "after work":
        splits = utils.load_classification_data(path=data)
        model.evaluate(*splits["train"])
        model.evaluate(*splits["dev"])
    kinds = {"textbook": lambda x, t: textbook.mlp_step(params, x, t),
             "hw1-q3": lambda x, t: model.update_weight(x, t, learning_rate=0.001)}
    blocks = {name: [] for name in kinds}
    for b, first in enumerate(range(0, steps, BLOCK)):
        for name in list(kinds)[::1 if b % 2 == 0 else -1]:
            step, start = kinds[name], time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_SELF)
            for i in range(first, min(first + BLOCK, steps)):
                step(X[i], y[i])
            after = resource.getrusage(resource.RUSAGE_SELF)
            blocks[name].append((time.perf_counter() - start, after.ru_utime - before.ru_utime,
                                 after.ru_stime - before.ru_stime,
                                 after.ru_minflt - before.ru_minflt))
    print(json.dumps(blocks))


def in_process(steps, data):
    print(f"2. MLP steps in one process: {steps} steps of each, interleaved in blocks of {BLOCK}; "
          "getrusage deltas (median us/step over blocks)\n")
    print(f"{'history':10s} {'allocator':17s} {'step':9s} {'wall us':>7s} {'cpu us':>7s} "
          f"{'user s':>6s} {'sys s':>6s} {'sys/user':>8s} {'faults/step':>11s}  "
          "textbook/hw1-q3 cpu")
    splits = utils.load_classification_data(path=data)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        examples = os.path.join(tmp, "examples")
        order = np.random.default_rng(0).permutation(len(splits["train"][1]))[:steps]
        np.save(examples + "-X.npy", splits["train"][0][order])
        np.save(examples + "-y.npy", splits["train"][1][order])
        del splits
        for history in ("fresh", "after work"):
            for keep in (False, True):
                allocator = "keep_freed_memory" if keep else "glibc defaults"
                out = subprocess.run([sys.executable, __file__, "-steps_child", history,
                                      str(int(keep)), str(steps), examples, "-data", data],
                                     check=True, capture_output=True, text=True).stdout
                cpu = {}
                for name, blocks in json.loads(out).items():
                    n = [min(BLOCK, steps - k * BLOCK) for k in range(len(blocks))]
                    wall = statistics.median(b[0] / k * 1e6 for b, k in zip(blocks, n))
                    cpu[name] = statistics.median((b[1] + b[2]) / k * 1e6
                                                  for b, k in zip(blocks, n))
                    user, system, faults = (sum(b[i] for b in blocks) for i in (1, 2, 3))
                    results[history, keep, name] = (100 * system / user, faults / steps)
                    print(f"{history:10s} {allocator:17s} {name:9s} {wall:7.0f} {cpu[name]:7.0f} "
                          f"{user:6.2f} {system:6.2f} {100 * system / user:7.1f}% "
                          f"{faults / steps:11.1f}"
                          + (f"  {cpu['textbook'] / cpu[name]:.2f}x" if name == "hw1-q3" else ""),
                          flush=True)
                results[history, keep] = cpu["textbook"] / cpu["hw1-q3"]
    print()
    return results


def verdict(target, met, numbers):
    print(f"{'met' if met else 'NOT met':7s} | {target}: {numbers}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-models", nargs="*", choices=MODELS, default=MODELS,
                        help="the commands of part 1 (none: part 2 only)")
    parser.add_argument("-repeats", type=utils.number(int, 1, 100), default=3)
    parser.add_argument("-steps", type=utils.number(int, BLOCK, 50_000), default=6000)
    parser.add_argument("-data", default=utils.FASHION_PATH)
    parser.add_argument("-steps_child", nargs=4, help=argparse.SUPPRESS)
    opt = parser.parse_args()
    data = os.path.abspath(opt.data)
    if opt.steps_child:
        history, keep, steps, examples = opt.steps_child
        return steps_child(history, keep == "1", int(steps), examples, data)
    # The commands first, while this process is small: a child's peak memory counts its
    # parent's at the fork.
    cmd = commands(opt.models, opt.repeats, data) if opt.models else {}
    steps = in_process(opt.steps, data)

    print("verdicts")
    if "mlp" in cmd:
        sc, cpu = cmd["mlp"]["hw1-q3"], lambda r: r["user"] + r["sys"]
        ratios = {name: (cpu(cmd["mlp"][name]) / cpu(sc), cmd["mlp"][name]["wall"] / sc["wall"])
                  for name in ("textbook", "textbook+env")}
        verdict("hw1-q3.py mlp command >= 0.9x textbook, with and without env (user+sys)",
                min(r[0] for r in ratios.values()) >= 0.9,
                ", ".join(f"{name} {c:.2f}x (wall {w:.2f}x)" for name, (c, w) in ratios.items()))
        pct = {name: 100 * r["sys"] / r["user"] for name, r in cmd["mlp"].items()}
        verdict("hw1-q3.py mlp command: system < 5% of user", pct["hw1-q3"] < 5,
                f"{pct['hw1-q3']:.1f}% (textbook {pct['textbook']:.1f}%, textbook+env "
                f"{pct['textbook+env']:.1f}%; loading the data alone takes "
                f"{cmd['(data loading only)']['load']['sys']:.2f} s of system time)")
    for history in ("fresh", "after work"):
        ratio, (sys_pct, faults) = steps[history, True], steps[history, True, "hw1-q3"]
        verdict(f"MLP steps {history}, keep_freed_memory: >= 0.9x textbook (cpu)",
                ratio >= 0.9,
                f"{ratio:.2f}x")
        verdict(f"MLP steps {history}, keep_freed_memory: system < 5% of user", sys_pct < 5,
                f"{sys_pct:.1f}% ({faults:.1f} faults/step)")
    storms = [f"{name} {model} command ({r['faults'] / EPOCH:.0f} faults/example)"
              for model, rows in cmd.items() for name, r in rows.items()
              if r["faults"] > 100 * EPOCH]
    storms += [f"{name} steps {history} ({steps[history, False, name][1]:.0f} faults/step)"
               for history in ("fresh", "after work") for name in ("textbook", "hw1-q3")
               if steps[history, False, name][1] > 100]
    print("here, glibc's defaults give a page-fault storm (over 100 faults per step) to: "
          + (", ".join(storms) if storms else "no step, after either history"))


if __name__ == "__main__":
    utils.run_main(main)
