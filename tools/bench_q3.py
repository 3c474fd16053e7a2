#!/usr/bin/env python
"""Benchmark Q3's training loops: the textbook per-example loop vs hw1-q3.py, side by side.

    python tools/bench_q3.py                     # all three models, 3 repetitions each
    python tools/bench_q3.py -models mlp -repeats 5

The textbook loops below are written the way a typical solution does it: fresh arrays every
step, np.outer for the gradient, `W -= lr * grad`. Each repetition times one epoch of the
textbook loop and one of the project's `train_epoch`, interleaved, on the same shuffled
Fashion-MNIST training examples from the same starting weights (evaluation excluded); the
script prints the median seconds per epoch of each and the ratio. The MLP's textbook loop takes
~20 s per epoch, so by default both MLP variants are timed on the same fixed slice of 10,000
examples (-mlp_examples) and scaled to the 50,000 of an epoch. Before all that, it runs
`hw1-q3.py <model> -epochs 1` (loading, one epoch, evaluation) in a child process per model and
prints that run's peak resident memory (its rusage, as resource.getrusage reports it). The
machine may be shared: compare the ratios, not the seconds. Nothing here sets BLAS threads.
"""
import argparse
import copy
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import utils  # noqa: E402

spec = importlib.util.spec_from_file_location("hw1_q3", os.path.join(ROOT, "hw1-q3.py"))
q3 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(q3)


def textbook_softmax(scores):
    shifted = scores - scores.max()
    return np.exp(shifted) / np.exp(shifted).sum()


def textbook_perceptron(W, X, y):
    for x_i, y_i in zip(X, y):
        y_hat = np.argmax(W.dot(x_i))
        if y_hat != y_i:
            W[y_i] += x_i
            W[y_hat] -= x_i


def textbook_logistic_regression(W, X, y, lr=0.001):
    for x_i, y_i in zip(X, y):
        probs = textbook_softmax(W.dot(x_i))
        one_hot = np.zeros(W.shape[0])
        one_hot[y_i] = 1
        grad = np.outer(probs - one_hot, x_i)
        W -= lr * grad


def textbook_mlp(weights, biases, X, y, lr=0.001):
    """One hidden layer: weights [W1 (h, d), W2 (K, h)], biases [b1, b2]."""
    W1, W2 = weights
    b1, b2 = biases
    for x_i, y_i in zip(X, y):
        z1 = W1.dot(x_i) + b1
        h1 = np.maximum(z1, 0)
        probs = textbook_softmax(W2.dot(h1) + b2)
        one_hot = np.zeros(W2.shape[0])
        one_hot[y_i] = 1
        grad_z2 = probs - one_hot
        grad_W2 = np.outer(grad_z2, h1)
        grad_z1 = W2.T.dot(grad_z2) * (z1 > 0)
        grad_W1 = np.outer(grad_z1, x_i)
        W1 -= lr * grad_W1
        b1 -= lr * grad_z1
        W2 -= lr * grad_W2
        b2 -= lr * grad_z2


def run_pair(name, X, y, start_model):
    """Seconds for one textbook epoch and one project epoch over X, y, from the same weights."""
    textbook = copy.deepcopy(start_model)
    started = time.perf_counter()
    if name == "mlp":
        textbook_mlp(textbook.weights, textbook.biases, X, y)
    elif name == "perceptron":
        textbook_perceptron(textbook.W, X, y)
    else:
        textbook_logistic_regression(textbook.W, X, y)
    t_textbook = time.perf_counter() - started
    project = copy.deepcopy(start_model)
    started = time.perf_counter()
    project.train_epoch(X, y, learning_rate=0.001, desc=None)
    return t_textbook, time.perf_counter() - started


def peak_rss_of_run(name, data):
    """Peak resident memory (GiB) of `hw1-q3.py <name> -epochs 1`, run as a child process."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, os.path.join(ROOT, "hw1-q3.py"), name, "-epochs", "1",
                   "-output", out, "-data", data]
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"error: hw1-q3.py {name} failed")
    return usage.ru_maxrss / 2**20   # ru_maxrss is in KiB on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-models", nargs="+", default=["perceptron", "logistic_regression", "mlp"])
    parser.add_argument("-repeats", type=int, default=3)
    parser.add_argument("-mlp_examples", type=int, default=10000,
                        help="MLP: time this many examples and scale to 50,000 (0: all)")
    parser.add_argument("-data", default=utils.FASHION_PATH)
    parser.add_argument("-rss", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure each model's peak memory in a real run (default on)")
    opt = parser.parse_args()

    # Memory first, while this process is small: a child's peak RSS starts from its parent's
    # size at fork time.
    rss = {name: peak_rss_of_run(name, os.path.abspath(opt.data)) for name in opt.models} \
        if opt.rss else {}
    for name in opt.models:
        utils.configure_seed(42)
        data = utils.load_classification_data(bias=name != "mlp", path=opt.data)
        X, y = data["train"]
        order = np.random.permutation(X.shape[0])
        X, y = X[order], y[order]
        n_epoch = X.shape[0]
        if name == "mlp" and opt.mlp_examples:
            X, y = X[:opt.mlp_examples], y[:opt.mlp_examples]
        start = q3.build_model(name, 10, X.shape[1],
                               argparse.Namespace(hidden_size=200, layers=1))
        times = [run_pair(name, X, y, start) for _ in range(opt.repeats)]
        scale = n_epoch / X.shape[0]
        t_text = float(np.median([t for t, _ in times])) * scale
        t_proj = float(np.median([t for _, t in times])) * scale
        note = f" (timed on {X.shape[0]} examples, scaled)" if scale != 1 else ""
        print(f"{name:20s} textbook {t_text:7.3f} s/epoch | project {t_proj:7.3f} s/epoch | "
              f"speed-up {t_text / t_proj:5.2f}x{note}", flush=True)
    for name, gib in rss.items():
        print(f"{name:20s} peak RSS of `hw1-q3.py {name} -epochs 1`: {gib:.2f} GiB")


if __name__ == "__main__":
    main()
