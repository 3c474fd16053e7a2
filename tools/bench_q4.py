#!/usr/bin/env python
"""Q4 speed: hw1-q4.py's training loop against the textbook PyTorch loop, side by side.

    python tools/bench_q4.py [-data Fashion-MNIST.npz] [-n 1000] [-repeats 11] [-no_command]
                             [-command_repeats 2]

1. Per step, on one thread (default network 784 -> 200 -> 10, ReLU, dropout 0.3, batch size
   1), for SGD and Adam: the textbook loop (DataLoader(shuffle=True) + train_batch +
   torch.optim with default options) against the script's `train_epoch` (a randperm order, the
   same train_batch, fused=True, as hw1-q4.py builds it; denormals flushed). Epochs of n
   steps on real images (zero pixels make Adam's moments decay into denormals), a warm-up
   epoch, then -repeats short epochs of each loop interleaved (the order alternating) so that
   machine noise hits both alike.
   Prints medians of CPU time per step and the ratio textbook / script. One more row each shows the
   textbook loop with only the denormal flush, to separate the two effects.
2. Whole commands (unless -no_command): `python hw1-q4.py mlp -epochs 1` against a textbook
   script of the same epoch (this file with -textbook_run: the loop above, then the train and
   dev accuracies), each in a fresh process, -command_repeats times in alternating order:
   medians of wall seconds, and from os.wait4 on the child, user and system seconds and peak
   memory (max RSS); the ratios textbook / hw1-q4 (above 1: hw1-q4 is faster) of wall and of
   user+system time, and a verdict on the target, hw1-q4.py at least 1.0x the textbook command, on
   user+system time (wall also counts the waits for a core, which vary with the other jobs).
"""
import argparse
import os
import statistics
import tempfile
import time

import numpy as np

from common import load_script, time_command  # first: puts the project folder on sys.path
import utils

utils.require("torch")
import torch  # noqa: E402 (after the check: one line, not a traceback, without torch)
import torch.nn as nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

q4 = load_script("hw1-q4.py")
NETWORK = {"n_classes": 10, "n_features": 784, "hidden_size": 200, "layers": 1,
           "activation_type": "relu", "dropout": 0.3}  # hw1-q4.py mlp's defaults
LEARNING_RATE = 0.01
TEXTBOOK_OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}  # default options


def textbook_epoch(model, optimizer, X, y):
    """The loop of PyTorch's examples: a shuffling DataLoader, then zero_grad/backward/step."""
    loader = DataLoader(TensorDataset(X, y), batch_size=1, shuffle=True)
    criterion = nn.CrossEntropyLoss()
    model.train()
    return [q4.train_batch(X_batch, y_batch, model, optimizer, criterion)
            for X_batch, y_batch in loader]


def loops(optimizer_name, X, y):
    """{name: (flush, one epoch of that loop)}, each on its own model from the same weights."""
    def textbook(flush):
        torch.manual_seed(0)
        model = q4.MODELS["mlp"](**NETWORK)
        optimizer = TEXTBOOK_OPTIMIZERS[optimizer_name](model.parameters(), lr=LEARNING_RATE)
        return flush, lambda: textbook_epoch(model, optimizer, X, y)

    def script():
        torch.manual_seed(0)
        model = q4.MODELS["mlp"](**NETWORK)
        optimizer = TEXTBOOK_OPTIMIZERS[optimizer_name](model.parameters(), lr=LEARNING_RATE,
                                                        fused=True)  # as hw1-q4.py
        generator = torch.Generator().manual_seed(0)
        return True, lambda: q4.train_epoch(model, optimizer, nn.CrossEntropyLoss(), X, y, 1,
                                            generator)
    return {"textbook": textbook(False), "textbook + flush": textbook(True), "script": script()}


def per_step(X, y, repeats):
    print(f"per step: {len(y)} steps per epoch, median of {repeats} interleaved epochs, "
          f"CPU time of this thread\n")
    print(f"{'optimizer':9s} {'loop':18s} {'us/step':>8s} {'textbook / this':>16s}")
    for optimizer_name in ("sgd", "adam"):
        variants = loops(optimizer_name, X, y)
        times = {name: [] for name in variants}
        for repeat in range(repeats + 1):  # alternating the order, to cancel drifts in load
            for name in list(variants)[::1 if repeat % 2 == 0 else -1]:
                flush, epoch = variants[name]
                torch.set_flush_denormal(flush)
                start = time.thread_time()
                epoch()
                if repeat:  # the first round warms up (and lets Adam's moments decay)
                    times[name].append((time.thread_time() - start) / len(y) * 1e6)
        torch.set_flush_denormal(False)
        medians = {name: statistics.median(t) for name, t in times.items()}
        for name, us in medians.items():
            print(f"{optimizer_name:9s} {name:18s} {us:8.0f} {medians['textbook'] / us:15.2f}x")
    print()


def whole_commands(data, optimizer_name, repeats, out):
    print(f"whole commands, one epoch, {optimizer_name}, fresh processes, median of {repeats} "
          "runs each (alternating order)")
    rows = {"textbook script": ["tools/bench_q4.py", "-textbook_run", "-data", data,
                                "-optimizer", optimizer_name],
            "hw1-q4.py mlp": ["hw1-q4.py", "mlp", "-epochs", "1", "-data", data,
                              "-optimizer", optimizer_name, "-output", out]}
    runs = {name: [] for name in rows}
    for repeat in range(repeats):
        for name in list(rows)[::1 if repeat % 2 == 0 else -1]:
            runs[name].append(time_command(rows[name]))
    m = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    for name, r in m.items():
        print(f"  {name:16s} wall {r['wall']:6.1f} s  user {r['user']:6.1f} s  system "
              f"{r['sys']:5.2f} s ({100 * r['sys'] / r['user']:4.1f}% of user)  "
              f"max RSS {r['rss']:6.0f} MiB")
    textbook, script = m["textbook script"], m["hw1-q4.py mlp"]
    ratios = (textbook["wall"] / script["wall"],
              (textbook["user"] + textbook["sys"]) / (script["user"] + script["sys"]))
    print(f"  textbook / hw1-q4: wall {ratios[0]:.2f}x, user+sys {ratios[1]:.2f}x\n")
    return ratios


def textbook_run(data, optimizer_name):
    """A student's textbook script: one epoch of the default network, then its accuracies."""
    torch.set_num_threads(1)
    torch.manual_seed(42)
    splits = utils.load_classification_data(path=data)
    (X, y), (dev_X, dev_y) = [(torch.tensor(X, dtype=torch.float32), torch.tensor(y))
                              for X, y in (splits["train"], splits["dev"])]
    model = q4.MODELS["mlp"](**NETWORK)
    optimizer = TEXTBOOK_OPTIMIZERS[optimizer_name](model.parameters(), lr=LEARNING_RATE)
    losses = textbook_epoch(model, optimizer, X, y)
    print(f"train loss {np.mean(losses):.4f}  train acc {q4.evaluate(model, X, y)[0]:.4f}  "
          f"dev acc {q4.evaluate(model, dev_X, dev_y)[0]:.4f}")


def main():
    parser = utils.parser(__doc__.split("\n")[0])
    parser.add_argument("-data", default=utils.FASHION_PATH, help="the Fashion-MNIST .npz")
    parser.add_argument("-n", type=utils.number(int, 10, 50_000), default=1000,
                        help="steps per epoch of part 1")
    parser.add_argument("-repeats", type=utils.number(int, 1, 100), default=11,
                        help="epochs of each loop in part 1")
    parser.add_argument("-command_repeats", type=utils.number(int, 1, 100), default=2,
                        help="runs of each command in part 2")
    parser.add_argument("-optimizer", choices=["sgd", "adam"], default="sgd",
                        help=argparse.SUPPRESS)  # of -textbook_run (part 2 runs both)
    parser.add_argument("-no_command", action="store_true", help="skip part 2")
    parser.add_argument("-textbook_run", action="store_true", help=argparse.SUPPRESS)
    opt = parser.parse_args()
    if opt.textbook_run:
        return textbook_run(opt.data, opt.optimizer)
    torch.set_num_threads(1)
    splits = utils.load_classification_data(path=opt.data, dtype=np.float32)
    X, y = (torch.from_numpy(a[:opt.n]) for a in splits["train"])
    print(f"torch {torch.__version__}, one thread, {os.cpu_count()} cores\n")
    per_step(X, y, opt.repeats)
    if not opt.no_command:
        with tempfile.TemporaryDirectory() as out:
            ratios = {name: whole_commands(opt.data, name, opt.command_repeats, out)
                      for name in ("sgd", "adam")}
        for name, (wall, cpu) in ratios.items():
            print(f"{'met' if cpu >= 1 else 'NOT met':7s} | hw1-q4.py mlp command, {name}, "
                  f">= 1.0x textbook (user+sys): user+sys {cpu:.2f}x (wall {wall:.2f}x)")


if __name__ == "__main__":
    utils.run_main(main)
