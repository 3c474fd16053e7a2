#!/usr/bin/env python
"""Benchmark Q3: hw1-q3.py's epoch against a textbook numpy loop, side by side, and its memory.

    python tools/bench_q3.py                          # all three models
    python tools/bench_q3.py -models mlp -repeats 7 -examples 5000 -no_rss

The textbook loops below are written the way a typical solution does it: fresh arrays every
step, np.outer for the gradient, `W -= lr * grad`. For each model, every repetition times one
pass of the textbook loop and one of the project's `train_epoch` over the same examples from
the same starting weights (the order of the two alternates between repetitions); the table
shows the median seconds of each, scaled to a 50,000-example epoch, and their ratio. Examples:
the first -examples of Fashion-MNIST.npz's shuffled training set, or synthetic pixels when the
file is absent. Before that, each model's real run `hw1-q3.py <model> -epochs 1` (loading, one
epoch, evaluation, saving) runs in a child process, whose peak resident memory is reported
(ru_maxrss of that child alone). On a shared machine compare the ratios, not the seconds.
"""
import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import utils  # noqa: E402

q3 = utils.load_script("hw1-q3.py")
MODELS = ["perceptron", "logistic_regression", "mlp"]
EPOCH = 50_000
MEMORY_TARGET_GIB = 1.5


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


def textbook_epoch(name, model, X, y):
    if name == "perceptron":
        textbook_perceptron(model.W, X, y)
    elif name == "logistic_regression":
        textbook_logistic_regression(model.W, X, y)
    else:
        textbook_mlp(model.weights, model.biases, X, y)


def project_epoch(name, model, X, y):
    model.train_epoch(X, y, **({} if name == "perceptron" else {"learning_rate": 0.001}))


def timed(epoch, name, start, X, y):
    model = copy.deepcopy(start)
    began = time.perf_counter()
    epoch(name, model, X, y)
    return time.perf_counter() - began


def examples(name, n, data_path):
    """(X, y, source): n training examples, with the bias column for the linear models."""
    bias = name != "mlp"
    if os.path.exists(data_path):
        X, y = utils.load_classification_data(bias=bias, path=data_path)["train"]
        order = np.random.default_rng(0).permutation(len(y))[:n]
        return X[order], y[order], "Fashion-MNIST"
    rng = np.random.default_rng(0)   # pixel-like: half exact zeros
    X = rng.random((n, 784)) * (rng.random((n, 784)) < 0.5)
    if bias:
        X = np.hstack([X, np.ones((n, 1))])
    return X, rng.integers(0, 10, n), "synthetic"


def peak_memory_gib(name, data_path):
    """Peak resident memory (GiB) of the real run `hw1-q3.py <name> -epochs 1`, a child."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, os.path.join(ROOT, "hw1-q3.py"), name, "-epochs", "1",
                   "-data", data_path, "-output", out]
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"error: {' '.join(command)} failed")
    return usage.ru_maxrss / 2**20   # KiB on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-models", nargs="+", choices=MODELS, default=MODELS)
    parser.add_argument("-repeats", type=utils.number(int, 1, 100), default=7)
    parser.add_argument("-examples", type=utils.number(int, 10, EPOCH), default=3000)
    parser.add_argument("-data", default=utils.FASHION_PATH)
    parser.add_argument("-no_rss", action="store_true",
                        help="skip the real one-epoch runs that measure peak memory")
    opt = parser.parse_args()
    data_path = os.path.abspath(opt.data)

    # Memory first, while this process is small (a child starts as a copy of its parent).
    memory = {}
    if not opt.no_rss and os.path.exists(data_path):
        memory = {name: peak_memory_gib(name, data_path) for name in opt.models}
    print(f"{'model':20s} {'textbook s/epoch':>16s} {'hw1-q3 s/epoch':>15s} "
          f"{'ratio':>6s} {'peak memory':>12s}  examples timed")
    for name in opt.models:
        X, y, source = examples(name, opt.examples, data_path)
        utils.configure_seed(42)
        start = q3.build_model({"model": name, "hidden_size": 200, "layers": 1}, X.shape[1])
        for epoch in (textbook_epoch, project_epoch):   # warm-up: imports, caches, allocator
            timed(epoch, name, start, X[:100], y[:100])
        textbook, project = [], []
        for repeat in range(opt.repeats):  # interleaved, alternating which goes first
            pair = [(textbook, textbook_epoch), (project, project_epoch)]
            for times, epoch in pair if repeat % 2 == 0 else pair[::-1]:
                times.append(timed(epoch, name, start, X, y))
        scale = EPOCH / len(y)
        t_textbook, t_project = (float(np.median(t)) * scale for t in (textbook, project))
        pairs = np.array(textbook) / np.array(project)
        rss = f"{memory[name]:.2f} GiB" if name in memory else "-"
        print(f"{name:20s} {t_textbook:16.2f} {t_project:15.2f} {t_textbook / t_project:5.2f}x "
              f"{rss:>12s}  {len(y)} {source}, median of {opt.repeats} "
              f"(pair ratios {pairs.min():.2f}-{pairs.max():.2f})", flush=True)
    print("ratio: textbook seconds / hw1-q3 seconds (above 1: hw1-q3 is faster). Peak memory: "
          f"`hw1-q3.py <model> -epochs 1`, target under {MEMORY_TARGET_GIB} GiB.")


if __name__ == "__main__":
    main()
