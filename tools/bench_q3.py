#!/usr/bin/env python
"""Q3 speed: hw1-q3.py against the textbook loop (tools/textbook_q3.py), as a command and as a
class used from another program.

    python tools/bench_q3.py [-models mlp] [-repeats 3] [-steps 3000] [-data FILE]

1. `python hw1-q3.py <model> -epochs 1` against `python tools/textbook_q3.py <model>` (the same
   epoch: seed, order, initial weights), fresh processes, -repeats runs alternating: medians.
2. In this process, after other allocation-heavy work: -steps MLP.update_weight steps against
   as many textbook_q3.mlp_step steps on the same examples, interleaved in blocks of 500.
Ratios textbook / hw1-q3 of user+system time (above 1: hw1-q3 is faster). Targets: at least
0.9x, system time under 5% of user.
"""
import os
import resource
import tempfile
import time

import numpy as np

from common import load_script, median_times  # first: puts the project folder on sys.path
import utils

MODELS = ["perceptron", "logistic_regression", "mlp"]
BLOCK = 500  # steps per interleaved block


def verdict(target, met, numbers):
    print(f"{'met' if met else 'NOT met':7s} | {target}: {numbers}")


def commands(models, repeats, data):
    print(f"1. whole commands in fresh processes, one epoch, medians of {repeats} runs each\n")
    print(f"{'model':20s} {'command':9s} {'wall s':>7s} {'user s':>7s} {'sys s':>6s} "
          f"{'sys/user':>8s} {'max RSS':>9s} {'faults':>9s}  textbook/hw1-q3: wall, user+sys")
    with tempfile.TemporaryDirectory() as out:
        for model in models:
            argvs = {"textbook": ["tools/textbook_q3.py", model, "-data", data],
                     "hw1-q3": ["hw1-q3.py", model, "-epochs", "1", "-data", data,
                                "-output", out]}
            m = median_times(argvs, repeats)
            ours, theirs = m["hw1-q3"], m["textbook"]
            ratio = (theirs["user"] + theirs["sys"]) / (ours["user"] + ours["sys"])
            for name, r in m.items():
                print(f"{model:20s} {name:9s} {r['wall']:7.1f} {r['user']:7.1f} {r['sys']:6.2f} "
                      f"{100 * r['sys'] / r['user']:7.1f}% {r['rss']:5.0f} MiB {r['faults']:9.0f}"
                      + (f"  {theirs['wall'] / ours['wall']:.2f}x, {ratio:.2f}x"
                         if name == "textbook" else ""), flush=True)
    print()
    if "mlp" in models:
        verdict("hw1-q3.py mlp command >= 0.9x textbook (user+sys)", ratio >= 0.9,
                f"{ratio:.2f}x (wall {theirs['wall'] / ours['wall']:.2f}x)")
        verdict("hw1-q3.py mlp command: system < 5% of user", ours["sys"] < 0.05 * ours["user"],
                f"{100 * ours['sys'] / ours['user']:.1f}% "
                f"(textbook {100 * theirs['sys'] / theirs['user']:.1f}%)")
        print()


def in_process(steps, data):
    """Part 2: {"textbook"|"hw1-q3": [wall, user, sys, minor faults]} totals, printed."""
    print(f"2. the MLP class in this process, after other work: {steps} steps of each, "
          f"interleaved in blocks of {BLOCK}; getrusage deltas\n")
    print(f"{'step':9s} {'wall s':>7s} {'user s':>7s} {'sys s':>6s} {'sys/user':>8s} "
          f"{'faults':>8s} {'faults/step':>11s}")
    q3, textbook = load_script("hw1-q3.py"), load_script("tools/textbook_q3.py")
    np.random.seed(42)
    model = q3.MLP(10, 784, 200)
    params = [model.W1.copy(), model.b1.copy(), model.W2.copy(), model.b2.copy()]
    # Other work first, as a program does before it trains: load, evaluate, big temporaries.
    splits = utils.load_classification_data(path=data)
    model.evaluate(*splits["train"])
    model.evaluate(*splits["dev"])
    for _ in range(5):
        big = np.random.rand(2000, 2000)
        big = big @ big.T + np.exp(-big)
    del big
    X, y = splits["train"]
    order = np.random.default_rng(0).permutation(len(y))[:steps]
    X, y = X[order], y[order].tolist()
    kinds = {"textbook": lambda x, t: textbook.mlp_step(params, x, t, lr=0.001),
             "hw1-q3": lambda x, t: model.update_weight(x, t, learning_rate=0.001)}
    totals = {name: np.zeros(4) for name in kinds}
    for b, first in enumerate(range(0, steps, BLOCK)):
        for name in list(kinds)[::1 if b % 2 == 0 else -1]:
            step, start = kinds[name], time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_SELF)
            for i in range(first, min(first + BLOCK, steps)):
                step(X[i], y[i])
            after = resource.getrusage(resource.RUSAGE_SELF)
            totals[name] += (time.perf_counter() - start, after.ru_utime - before.ru_utime,
                             after.ru_stime - before.ru_stime, after.ru_minflt - before.ru_minflt)
    for name, (wall, user, system, faults) in totals.items():
        print(f"{name:9s} {wall:7.2f} {user:7.2f} {system:6.2f} {100 * system / user:7.1f}% "
              f"{faults:8.0f} {faults / steps:11.2f}")
    (wall, user, system, faults), theirs = totals["hw1-q3"], totals["textbook"]
    ratio = (theirs[1] + theirs[2]) / (user + system)
    print(f"textbook / hw1-q3: user+sys {ratio:.2f}x, wall {theirs[0] / wall:.2f}x\n")
    verdict("MLP.update_weight after other work >= 0.9x textbook (user+sys)", ratio >= 0.9,
            f"{ratio:.2f}x (wall {theirs[0] / wall:.2f}x)")
    verdict("MLP.update_weight after other work: system < 5% of user", system < 0.05 * user,
            f"{100 * system / user:.1f}% ({faults / steps:.2f} faults/step; textbook "
            f"{100 * theirs[2] / theirs[1]:.1f}%, {theirs[3] / steps:.2f} faults/step)")


def main():
    parser = utils.parser(__doc__.split("\n")[0])
    parser.add_argument("-models", nargs="*", choices=MODELS, default=MODELS,
                        help="the commands of part 1 (none: part 2 only)")
    parser.add_argument("-repeats", type=utils.number(int, 1, 100), default=3,
                        help="runs of each command")
    parser.add_argument("-steps", type=utils.number(int, BLOCK, 50_000), default=3000,
                        help="steps of each loop in part 2")
    parser.add_argument("-data", default=utils.FASHION_PATH, help="the Fashion-MNIST .npz")
    opt = parser.parse_args()
    data = os.path.abspath(opt.data)
    if not os.path.isfile(data):
        raise utils.UserError(f"{data} not found; fix: {utils.FASHION_FIX}")
    # The commands first, while this process is small (its peak memory is a child's at fork).
    if opt.models:
        commands(opt.models, opt.repeats, data)
    in_process(opt.steps, data)


if __name__ == "__main__":
    utils.run_main(main)
