#!/usr/bin/env python
"""Time hw1-q2.py's per-example SGD epoch against a textbook numpy loop, side by side.

    python tools/bench_q2.py [-repeats 5] [-seed 42] [-data ames.npz]

For each model both variants start from the same weights and see the same shuffled epochs, in
turn (textbook epoch, script epoch, textbook epoch, ...), so machine load hits both alike. The
textbook loop builds fresh arrays at every step (np.outer for the network's W1 gradient); the
script updates its arrays in place. Prints the median seconds per epoch of each, their ratio,
the largest difference between the two final weights, and the peak memory of the process.
"""
import argparse
import os
import resource
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import utils  # noqa: E402

q2 = utils.load_script("hw1-q2.py")


def textbook_linear_epoch(params, X, y, learning_rate):
    """Per-example SGD on 0.5 * (w . x - y)^2; params {"w": (d,)} gets fresh arrays."""
    for x, target in zip(X, y):
        error = params["w"] @ x - target
        params["w"] = params["w"] - learning_rate * (error * x)


def textbook_nn_epoch(params, X, y, learning_rate):
    """Per-example SGD for y_hat = w2 . relu(W1 x + b1) + b2; params get fresh arrays."""
    for x, target in zip(X, y):
        z1 = params["W1"] @ x + params["b1"]
        h = np.maximum(z1, 0.0)
        error = params["w2"] @ h + params["b2"] - target
        grad_z1 = error * params["w2"] * (z1 > 0)
        params["W1"] = params["W1"] - learning_rate * np.outer(grad_z1, x)
        params["b1"] = params["b1"] - learning_rate * grad_z1
        params["w2"] = params["w2"] - learning_rate * (error * h)
        params["b2"] = params["b2"] - learning_rate * error


def bench(name, X, y, repeats, seed, learning_rate, hidden_size):
    utils.configure_seed(seed)
    if name == "linear_regression":
        model, textbook_epoch = q2.LinearRegression(X.shape[1]), textbook_linear_epoch
        names = ["w"]
    else:
        model, textbook_epoch = q2.NeuralRegression(X.shape[1], hidden_size), textbook_nn_epoch
        names = ["W1", "b1", "w2", "b2"]
    params = {k: np.copy(getattr(model, k)) for k in names}
    times = {"textbook": [], "script": []}
    for _ in range(repeats):
        order = np.random.permutation(len(y))
        X_epoch, y_epoch = X[order], y[order]
        start = time.perf_counter()
        textbook_epoch(params, X_epoch, y_epoch, learning_rate)
        times["textbook"].append(time.perf_counter() - start)
        start = time.perf_counter()
        model.train_epoch(X_epoch, y_epoch, learning_rate)
        times["script"].append(time.perf_counter() - start)
    textbook, script = (statistics.median(times[k]) for k in ("textbook", "script"))
    difference = max(float(np.max(np.abs(params[k] - getattr(model, k)))) for k in names)
    print(f"{name:17s} textbook {textbook:.4f} s/epoch | script {script:.4f} s/epoch | "
          f"ratio textbook/script {textbook / script:.2f} | {repeats} epochs each | "
          f"largest weight difference {difference:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-repeats", type=utils.number(int, 1, 1000), default=5)
    parser.add_argument("-data", default=os.path.join(ROOT, utils.AMES_PATH))
    parser.add_argument("-seed", type=utils.SEED, default=42)
    parser.add_argument("-learning_rate", type=utils.LEARNING_RATE, default=0.001)
    parser.add_argument("-hidden_size", type=utils.HIDDEN_SIZE, default=150)
    opt = parser.parse_args()
    X, y = utils.load_regression_data(bias=True, path=opt.data)["train"]
    print(f"{X.shape[0]} training examples, {X.shape[1]} features (ones column included)")
    for name in ("linear_regression", "nn"):
        bench(name, X, y, opt.repeats, opt.seed, opt.learning_rate, opt.hidden_size)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak memory (max resident set size): {peak_mib:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
