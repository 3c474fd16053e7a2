#!/usr/bin/env python
"""Q4 speed: hw1-q4.py's training loop against the textbook PyTorch loop, side by side.

    python tools/bench_q4.py [-data FILE] [-n 1000] [-repeats 11] [-command_repeats 2] [-no_command]

1. Per step, one thread, the default network, SGD and Adam: the textbook loop (shuffling
   DataLoader, torch.optim defaults), the same with denormals flushed, and hw1-q4's train_epoch
   (randperm order, fused=True, flush). A warm-up epoch of -n images, then -repeats epochs of
   each loop interleaved: medians of CPU time per step, ratios textbook / this.
2. Unless -no_command: `python hw1-q4.py mlp -epochs 1` against a textbook script of the same
   epoch (this file with -textbook_run), fresh processes, -command_repeats runs alternating:
   medians, ratios textbook / hw1-q4 and the verdict: hw1-q4.py at least 1.0x on user+system.
"""
import argparse
import functools
import os
import statistics
import tempfile
import time

import numpy as np

from common import load_script, median_times  # first: puts the project folder on sys.path
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


def per_step(X, y, repeats):
    print(f"per step: {len(y)} steps per epoch, median of {repeats} interleaved epochs, "
          f"CPU time of this thread\n")
    print(f"{'optimizer':9s} {'loop':18s} {'us/step':>8s} {'textbook / this':>16s}")
    for optimizer_name in ("sgd", "adam"):
        variants = {}  # {name: (flush denormals, one epoch)}, each its own model, same weights
        for name, script, flush in (("textbook", False, False), ("textbook + flush", False, True),
                                    ("script", True, True)):  # script: hw1-q4.py's loop, fused
            torch.manual_seed(0)
            model = q4.MODELS["mlp"](**NETWORK)
            optimizer = TEXTBOOK_OPTIMIZERS[optimizer_name](
                model.parameters(), lr=LEARNING_RATE, **({"fused": True} if script else {}))
            generator = torch.Generator().manual_seed(0)
            variants[name] = (flush, functools.partial(
                q4.train_epoch, model, optimizer, nn.CrossEntropyLoss(), X, y, 1, generator)
                if script else functools.partial(textbook_epoch, model, optimizer, X, y))
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
    m = median_times(rows, repeats)
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
