#!/usr/bin/env python
"""Q3 the way a typical student writes it, after the homework's skeleton: the yardstick of
tools/bench_q3.py. Seeded shuffle, one epoch of per-example SGD (learning rate 0.001) with fresh
arrays every step (np.outer, `W -= lr * grad`), then the train, dev and test accuracies.

    python tools/textbook_q3.py mlp [-data FILE]    # or perceptron, logistic_regression
"""
import numpy as np

import common  # noqa: F401 (first: puts the project folder on sys.path)
import utils


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def perceptron_step(W, x, y):
    y_hat = np.argmax(W.dot(x))
    if y_hat != y:
        W[y] += x
        W[y_hat] -= x


def logistic_regression_step(W, x, y, lr=0.001):
    one_hot = np.zeros(W.shape[0])
    one_hot[y] = 1
    grad = np.outer(softmax(W.dot(x)) - one_hot, x)
    W -= lr * grad


def mlp_step(params, x, y, lr=0.001):
    """One hidden ReLU layer: params [W1 (200, 784), b1, W2 (10, 200), b2]."""
    W1, b1, W2, b2 = params
    z1 = W1.dot(x) + b1
    h1 = np.maximum(z1, 0)
    one_hot = np.zeros(W2.shape[0])
    one_hot[y] = 1
    grad_z2 = softmax(W2.dot(h1) + b2) - one_hot
    grad_z1 = W2.T.dot(grad_z2) * (z1 > 0)
    grad_W2 = np.outer(grad_z2, h1)
    grad_W1 = np.outer(grad_z1, x)
    W2 -= lr * grad_W2
    b2 -= lr * grad_z2
    W1 -= lr * grad_W1
    b1 -= lr * grad_z1


def predict(model, params, X):
    if model != "mlp":
        return X.dot(params.T).argmax(axis=1)
    W1, b1, W2, b2 = params
    return (np.maximum(X.dot(W1.T) + b1, 0).dot(W2.T) + b2).argmax(axis=1)


def main():
    parser = utils.parser("Q3 the way a typical student writes it (one epoch).")
    parser.add_argument("model", choices=["perceptron", "logistic_regression", "mlp"])
    parser.add_argument("-data", default=utils.FASHION_PATH, help="the Fashion-MNIST .npz")
    opt = parser.parse_args()
    # the bias of the linear models is a last feature of ones
    splits = utils.load_classification_data(bias=opt.model != "mlp", path=opt.data)
    np.random.seed(42)
    if opt.model == "mlp":
        params = [np.random.normal(0.1, 0.1, (200, 784)), np.zeros(200),
                  np.random.normal(0.1, 0.1, (10, 200)), np.zeros(10)]
    else:
        params = np.zeros((10, 785))
    step = {"perceptron": perceptron_step, "logistic_regression": logistic_regression_step,
            "mlp": mlp_step}[opt.model]
    X, y = splits["train"]
    order = np.random.permutation(len(y))
    for x_i, y_i in zip(X[order], y[order]):
        step(params, x_i, y_i)
    for s, (X, y) in splits.items():
        print(f"{s} accuracy {np.mean(predict(opt.model, params, X) == y):.4f}")


if __name__ == "__main__":
    utils.run_main(main)
