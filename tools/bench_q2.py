#!/usr/bin/env python
"""Time hw1-q2.py's training against the textbook per-example loop, side by side.

    python tools/bench_q2.py [-epochs 7] [-data ames.npz] [-seed 43]

For each model both variants start from the same weights and see the same shuffled epochs, in
turn (textbook epoch, project epoch, textbook epoch, ...), so machine load hits both alike. Prints
the median seconds per epoch, the ratio textbook / project, and whether the two ended with
identical weights. The textbook steps are the ones tests/test_q2.py proves equal to the project's.
The default seed is one that converges on the Ames data (seed 42 diverges in the first epoch).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))
import utils  # noqa: E402
from utils import load_script  # noqa: E402
from test_q2 import nn_params, textbook_linear_step, textbook_nn_step  # noqa: E402

q2 = load_script("hw1-q2.py")


def textbook_epoch(model_name, state, X, y, learning_rate):
    if model_name == "linear_regression":
        for x_i, y_i in zip(X, y):
            textbook_linear_step(state, x_i, y_i, learning_rate)
    else:
        for x_i, y_i in zip(X, y):
            textbook_nn_step(state, x_i, y_i, learning_rate)


def same_weights(model_name, model, state):
    if model_name == "linear_regression":
        return np.array_equal(model.w, state)
    return all(np.array_equal(getattr(model, k), v) for k, v in state.items())


def bench(model_name, X, y, epochs, seed, learning_rate, hidden_size):
    utils.configure_seed(seed)
    if model_name == "linear_regression":
        model = q2.LinearRegression(X.shape[1])
        state = model.w.copy()
    else:
        model = q2.NeuralRegression(X.shape[1], hidden_size)
        state = nn_params(model)
    times = {"textbook": [], "project": []}
    for _ in range(epochs):
        order = np.random.permutation(len(y))
        X_epoch, y_epoch = X[order], y[order]
        start = time.perf_counter()
        textbook_epoch(model_name, state, X_epoch, y_epoch, learning_rate)
        times["textbook"].append(time.perf_counter() - start)
        start = time.perf_counter()
        model.train_epoch(X_epoch, y_epoch, learning_rate=learning_rate)
        times["project"].append(time.perf_counter() - start)
    textbook, project = (statistics.median(times[k]) for k in ("textbook", "project"))
    print(f"{model_name:17s} textbook {textbook:.4f} s/epoch | project {project:.4f} s/epoch | "
          f"ratio {textbook / project:.2f}x | {epochs} epochs each | identical weights: "
          f"{same_weights(model_name, model, state)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-epochs", type=int, default=7)
    parser.add_argument("-data", default=os.path.join(ROOT, utils.AMES_PATH))
    parser.add_argument("-seed", type=int, default=43)
    parser.add_argument("-learning_rate", type=float, default=0.001)
    parser.add_argument("-hidden_size", type=int, default=150)
    opt = parser.parse_args()
    X, y = utils.load_regression_data(bias=True, path=opt.data)["train"]
    print(f"{X.shape[0]} training examples, {X.shape[1]} features (bias included)")
    for model_name in ("linear_regression", "nn"):
        bench(model_name, X, y, opt.epochs, opt.seed, opt.learning_rate, opt.hidden_size)


if __name__ == "__main__":
    main()
