#!/usr/bin/env python
"""Q3 extras, measured: the MLP at its prescribed initialisation, and the figures of the report.

    python hw1-q3.py perceptron; python hw1-q3.py logistic_regression; python hw1-q3.py mlp
    python tools/analyse_q3.py       # reads runs/q3/{perceptron,logistic_regression,mlp}.json

Builds the mlp record's MLP as hw1-q3.py does and runs one forward pass over the training images
before any update. Writes analysis.json, analysis-linear.pdf (Q3.1 per epoch) and
analysis-mlp-loss.pdf (the MLP's training loss from epoch 2) to -output.
"""
import json
import os

import numpy as np

from common import figure, load_record, load_script  # first: puts the project folder on sys.path
import utils

q3 = load_script("hw1-q3.py")
MODELS = ("perceptron", "logistic_regression", "mlp")


def at_initialisation(model, X, y):
    """One forward pass of X (n, d), y (n,) through the untrained model: what it computes."""
    logits, (first, _) = model.forward(X)  # (n, n_classes); first: (n, hidden) pre-activations
    top = logits.max(axis=1)               # (n,)
    # (n,): the cross-entropy, log(sum(exp(logits))) - the true class's logit
    loss = np.log(np.exp(logits - top[:, None]).sum(axis=1)) + top - logits[np.arange(len(y)), y]
    return {"share_of_first_layer_preactivations_positive": float((first > 0).mean()),
            "median_first_layer_preactivation": float(np.median(first)),
            "median_largest_logit": float(np.median(top)),
            "median_logit_range": float(np.median(top - logits.min(axis=1))),
            "mean_loss": float(loss.mean()), "median_loss": float(np.median(loss)),
            # the largest softmax probability: 1 when the softmax is saturated
            "median_top_probability": float(np.median(1 / np.exp(logits - top[:, None]).sum(1))),
            "accuracy": float((logits.argmax(axis=1) == y).mean())}


def main(argv=None):
    parser = utils.parser(__doc__.splitlines()[0])
    runs = os.path.join(utils.RUNS, "q3")
    parser.add_argument("-records", default=runs,
                        help="folder of the records perceptron.json, logistic_regression.json "
                             "and mlp.json (hw1-q3.py's default run names)")
    parser.add_argument("-data", default=utils.FASHION_PATH, help="the Fashion-MNIST .npz")
    parser.add_argument("-output", default=runs, help="folder for analysis.json and the figure")
    opt = parser.parse_args(argv)
    paths = {model: os.path.join(opt.records, model + ".json") for model in MODELS}
    records = {model: load_record(path, f"run python hw1-q3.py {model} first, or pass -records "
                                        "FOLDER") for model, path in paths.items()}
    utils.check_output_folder(opt.output)
    print(f"read {', '.join(paths.values())}; reading {opt.data}", flush=True)
    rows, config = records["mlp"]["epochs"], records["mlp"]["config"]

    # As hw1-q3.py: seed, load, build; loading draws no random number.
    utils.configure_seed(config["seed"])
    X, y = utils.load_classification_data(bias=False, path=opt.data)["train"]
    model = q3.MLP(q3.N_CLASSES, X.shape[1], hidden_size=config["hidden_size"])
    print("forward pass at initialisation over the training images", flush=True)
    analysis = {"records": paths, "seed": config["seed"], "n_train": len(y),
                "initialisation": at_initialisation(model, X, y),
                "first_epoch_train_loss": rows[0]["train_loss"]}

    # Epoch 1 becomes a gap (NaN), which utils.plot leaves out.
    loss = [float("nan") if row["epoch"] == 1 else row["train_loss"] for row in rows]
    figure = utils.plot({"training": loss}, "Mean training loss (cross-entropy)",
                        os.path.join(opt.output, "analysis-mlp-loss.pdf"),
                        f"Q3.2(b) MLP, {config['hidden_size']} ReLU units: training loss "
                        "from epoch 2")
    linear_figure(records, os.path.join(opt.output, "analysis-linear.pdf"))
    path = os.path.join(opt.output, "analysis.json")
    text = json.dumps(analysis, indent=1, sort_keys=True, allow_nan=False) + "\n"
    utils.atomic_write_bytes(path, text.encode())
    for key, value in analysis["initialisation"].items():
        print(f"  {key}: {value:.4g}")
    print(f"wrote {path}, {figure} and analysis-linear.pdf")
    return 0


def linear_figure(records, path):
    """One row of three panels for Q3.1: training and validation accuracy per epoch of the
    perceptron and of logistic regression, and logistic regression's mean training loss."""
    accuracy = {"training": "train_acc", "validation": "dev_acc"}  # {label: metric}
    panels = [("perceptron", "Q3.1(a) perceptron: accuracy", "Accuracy", accuracy),
              ("logistic_regression", "Q3.1(b) logistic regression: accuracy", "Accuracy",
               accuracy),
              ("logistic_regression", "Q3.1(b) logistic regression: loss",
               "Mean training loss (cross-entropy)", {"training": "train_loss"})]
    with figure(path, (10, 2.9), panels=3) as axes:
        for ax, (model, title, ylabel, curves) in zip(axes, panels):
            for label, metric in curves.items():
                values = [row[metric] for row in records[model]["epochs"]]
                ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label)
            ax.set_ylabel(ylabel)
            ax.set_title(title, fontsize=10)


if __name__ == "__main__":
    utils.run_main(main)
