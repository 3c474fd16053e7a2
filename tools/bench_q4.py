#!/usr/bin/env python
"""Q4 speed: hw1-q4.py's training loop against the textbook PyTorch loop, side by side.

    python tools/bench_q4.py [-data Fashion-MNIST.npz] [-n 3000] [-repeats 5] [-no_command]

1. Per step, on one thread (default network 784 -> 200 -> 10, ReLU, dropout 0.3, batch size
   1), for SGD and Adam: the textbook loop (DataLoader(shuffle=True) + train_batch +
   torch.optim with default options) against the script's `train_epoch` (a randperm order,
   the same train_batch, torch.optim with fused=True, denormals flushed). Epochs of n steps on
   real images (zero pixels make Adam's moments decay into denormals), a warm-up epoch, then
   `repeats` epochs of each loop interleaved so that machine noise hits both alike. Prints
   medians of CPU time per step and the ratio textbook / script. One more row each shows the
   textbook loop with only the denormal flush, to separate the two effects.
2. Whole commands (unless -no_command): `python hw1-q4.py mlp -epochs 1` against a textbook
   script of the same epoch (this file with -textbook_run), each in a subprocess: wall, user
   and system seconds and peak memory (max RSS).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import utils  # noqa: E402

q4 = utils.load_script("hw1-q4.py")
CONFIG = {"model": "mlp", "hidden_size": 200, "layers": 1, "activation": "relu", "dropout": 0.3,
          "learning_rate": 0.01, "l2_decay": 0.0}


def textbook_epoch(model, optimizer, X, y):
    """The loop of PyTorch's examples: a shuffling DataLoader, then zero_grad/backward/step."""
    loader = DataLoader(TensorDataset(X, y), batch_size=1, shuffle=True)
    criterion = nn.CrossEntropyLoss()
    model.train()
    return [q4.train_batch(X_batch, y_batch, model, optimizer, criterion)
            for X_batch, y_batch in loader]


def loops(optimizer_name, X, y):
    """{name: one epoch of that loop}, each on its own model from the same initial weights."""
    config = dict(CONFIG, optimizer=optimizer_name)
    optim_class = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer_name]

    def textbook(flush):
        torch.manual_seed(0)
        model = q4.make_model(config)
        optimizer = optim_class(model.parameters(), lr=config["learning_rate"])
        return flush, lambda: textbook_epoch(model, optimizer, X, y)

    def script():
        torch.manual_seed(0)
        model = q4.make_model(config)
        optimizer, generator = q4.make_optimizer(model, config), torch.Generator().manual_seed(0)
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
        for repeat in range(repeats + 1):
            for name, (flush, epoch) in variants.items():
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


# Runs a command and prints its wall, user and system seconds and peak RSS (KiB). Measured from
# this small launcher: a child forked from the big benchmark process would count the
# benchmark's own memory in its peak (Linux keeps the high-water mark across fork and exec).
LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), time.perf_counter() - start, usage.ru_utime,
      usage.ru_stime, usage.ru_maxrss)
"""


def command(argv):
    """Run `python argv...` in the project root: (wall s, user s, system s, max RSS MiB)."""
    out = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable] + argv, cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout.split()
    code, wall, user, system, rss_kib = int(out[0]), *map(float, out[1:])
    if code:
        raise SystemExit(f"error: {' '.join(argv)} exited with {code}")
    return wall, user, system, rss_kib / 1024


def whole_commands(data, optimizer_name):
    print(f"whole commands, one epoch, {optimizer_name}: wall, user and system seconds, "
          f"peak memory")
    rows = {"textbook script": ["tools/bench_q4.py", "-textbook_run", "-data", data,
                                "-optimizer", optimizer_name],
            "hw1-q4.py mlp": ["hw1-q4.py", "mlp", "-epochs", "1", "-data", data,
                              "-optimizer", optimizer_name, "-output",
                              os.path.join(utils.RUNS, "bench")]}
    for name, argv in rows.items():
        wall, user, system, rss = command(argv)
        print(f"  {name:16s} wall {wall:6.1f} s  user {user:6.1f} s  system {system:5.1f} s "
              f"({100 * system / user:4.1f}% of user)  max RSS {rss:6.0f} MiB")
    print()


def textbook_run(data, optimizer_name):
    """A student's textbook script: one epoch of the default network, then its accuracies."""
    torch.set_num_threads(1)
    torch.manual_seed(42)
    splits = utils.load_classification_data(path=data)
    (X, y), (dev_X, dev_y) = [(torch.tensor(X, dtype=torch.float32), torch.tensor(y))
                              for X, y in (splits["train"], splits["dev"])]
    model = q4.make_model(dict(CONFIG, optimizer=optimizer_name))
    optim_class = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer_name]
    optimizer = optim_class(model.parameters(), lr=CONFIG["learning_rate"])
    losses = textbook_epoch(model, optimizer, X, y)
    print(f"train loss {np.mean(losses):.4f}  train acc {q4.evaluate(model, X, y)[0]:.4f}  "
          f"dev acc {q4.evaluate(model, dev_X, dev_y)[0]:.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-data", default=utils.FASHION_PATH)
    parser.add_argument("-n", type=utils.number(int, 10, 50_000), default=3000)
    parser.add_argument("-repeats", type=utils.number(int, 1, 100), default=5)
    parser.add_argument("-optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("-no_command", action="store_true")
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
        for optimizer_name in ("sgd", "adam"):
            whole_commands(opt.data, optimizer_name)


if __name__ == "__main__":
    utils.run_main(main, "interrupted")
