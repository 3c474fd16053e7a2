#!/usr/bin/env python
"""Question 4: Fashion-MNIST with PyTorch: logistic regression and a feed-forward network.

    python hw1-q4.py logistic_regression -learning_rate 0.01
    python hw1-q4.py mlp -hidden_size 200 -layers 1 -dropout 0.3 -activation relu -optimizer sgd

The course interface (`LogisticRegression`, `FeedforwardNetwork`, `train_batch`, `predict`,
`evaluate`) is implemented as in the skeleton, and `train_reference` is the textbook loop built
from it (a DataLoader of shuffled batches, zero_grad/backward/step). The script trains with
`train_fast`, which follows exactly the same trajectory (same initial weights, same shuffles,
same dropout masks, gradients from autograd, the same optimiser arithmetic) with far less
overhead per step; tests/test_q4.py checks the two agree to float32 tolerance.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import utils

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}
# The script's Adam: False = torch.optim.Adam's own ops (bit-identical trajectory to the textbook
# loop), True = torch's fused Adam kernel (faster still; the same maths with other rounding,
# which Adam's runs amplify over thousands of steps). Speeds: results/bench/q4.txt.
FUSED_ADAM = False


# ---------------------------------------------------------------------------------------------
# The course interface.

class LogisticRegression(nn.Module):
    def __init__(self, n_classes, n_features, **kwargs):
        """A single linear layer: (n, n_features) -> (n, n_classes) logits."""
        super().__init__()
        self.linear = nn.Linear(n_features, n_classes)

    def forward(self, x, **kwargs):
        """x: (n, n_features) -> logits (n, n_classes)."""
        return self.linear(x)


class FeedforwardNetwork(nn.Module):
    def __init__(self, n_classes, n_features, hidden_size, layers, activation_type, dropout,
                 **kwargs):
        """`layers` x (Linear -> activation -> Dropout), then a linear output layer."""
        super().__init__()
        activation = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation_type]
        blocks, width = [], n_features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden_size), activation(), nn.Dropout(dropout)]
            width = hidden_size
        blocks.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*blocks)
        self.activation_type, self.dropout = activation_type, dropout

    def forward(self, x, **kwargs):
        """x: (n, n_features) -> logits (n, n_classes)."""
        return self.net(x)


def train_batch(X, y, model, optimizer, criterion, **kwargs):
    """One optimiser step on one batch. X: (b, n_features), y: (b,). Returns the loss (float)."""
    model.train()
    optimizer.zero_grad()
    loss = criterion(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def predict(model, X):
    """X: (n, n_features) -> predicted labels (n,)."""
    scores = model(X)  # (n, n_classes)
    return scores.argmax(dim=-1)


def evaluate(model, X, y):
    """Accuracy of `model` on X: (n, n_features), y: (n,), with dropout off."""
    model.eval()
    with torch.no_grad():
        y_hat = predict(model, X)
    model.train()
    return (y == y_hat).sum().item() / float(y.shape[0])


def make_model(name, n_classes, n_features, opt):
    if name == "logistic_regression":
        return LogisticRegression(n_classes, n_features)
    return FeedforwardNetwork(n_classes, n_features, opt.hidden_size, opt.layers,
                              opt.activation, opt.dropout)


def make_optimizer(model, opt):
    optim_cls = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[opt.optimizer]
    return optim_cls(model.parameters(), lr=opt.learning_rate, weight_decay=opt.l2_decay)


# ---------------------------------------------------------------------------------------------
# Training loops. Both call `on_epoch(epoch, mean_train_loss)` after every epoch.

def train_reference(model, optimizer, X, y, epochs, batch_size=1, on_epoch=None):
    """The textbook loop: DataLoader(shuffle=True) + train_batch. X: (n, d) float32, y: (n,)."""
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        losses = [train_batch(X_batch, y_batch, model, optimizer, criterion)
                  for X_batch, y_batch in loader]
        if on_epoch is not None:
            on_epoch(epoch, float(np.mean(losses)))


def epoch_permutation(n):
    """The order in which DataLoader(shuffle=True) visits n examples this epoch.

    Consumes the global torch RNG exactly as iterating such a DataLoader does: the loader's
    iterator draws a base seed (for worker processes, unused here), then RandomSampler draws
    the seed of its own generator and takes a randperm from it (torch/utils/data/sampler.py).
    """
    torch.empty((), dtype=torch.int64).random_()  # _BaseDataLoaderIter._base_seed
    seed = int(torch.empty((), dtype=torch.int64).random_().item())
    generator = torch.Generator()
    generator.manual_seed(seed)
    return torch.randperm(n, generator=generator)


def _bulk_dropout_is_exact():
    """True if one bernoulli_ call on (k, h) draws the same masks as k calls on (1, h).

    It is when the kernel draws element by element (the generic CPU kernel, used on this AMD
    machine; checked at 50,000 x 3 x 200 too); MKL's path on Intel CPUs draws one seed per call
    instead, and then the masks are drawn step by step by F.dropout.
    """
    state = torch.get_rng_state()
    bulk = torch.empty(3, 7).bernoulli_(0.5)
    torch.set_rng_state(state)
    one_by_one = torch.cat([torch.empty(1, 7).bernoulli_(0.5) for _ in range(3)])
    torch.set_rng_state(state)
    return torch.equal(bulk, one_by_one)


def _epoch_dropout_masks(n_steps, n_layers, width, p):
    """Per layer, n_steps masks (width,) of an epoch, scaled by 1 / (1 - p) as F.dropout does.

    Drawn in one (n_steps, n_layers, width) bernoulli_ call, which consumes the generator
    exactly as n_steps x n_layers calls of F.dropout on (1, width) would, in step order.
    """
    masks = torch.empty(n_steps, n_layers, width).bernoulli_(1 - p).div_(1 - p)
    return [masks[:, layer].unbind(0) for layer in range(n_layers)]


TINY = torch.finfo(torch.float32).tiny  # the smallest normal float32, 1.18e-38


def _sqrt_of_tiny_vanishes_next_to(eps, beta2):
    """True if sqrt(TINY) / sqrt(1 - beta2**step) + eps rounds to eps in float32 at every step.

    The quotient is largest at step 1. Below eps * 2**-25, which is at most half of eps's unit
    in the last place, the sum rounds to eps under round-to-nearest.
    """
    return eps * 2.0 ** -25 > TINY ** 0.5 / (1 - beta2) ** 0.5


def _adam_update(params, grads, exp_avgs, exp_avg_sqs, step, lr, betas, eps, weight_decay):
    """torch.optim.Adam's update (its single-tensor CPU path), op for op, over lists of tensors.

    The same operations in the same order give bit-identical parameters; the foreach calls
    only save the Python loop over the parameters, and one shortcut (below) provably changes
    no bit. The gradients are spent by the update: their memory holds the denominators.
    """
    beta1, beta2 = betas
    if weight_decay:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)
    torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
    bias_correction1, bias_correction2 = 1 - beta1 ** step, 1 - beta2 ** step
    # The step is bound by memory traffic: reusing the gradients' memory, still in cache, for
    # the denominators keeps one array fewer in flight than torch.optim's fresh tensor.
    denoms = grads
    if _sqrt_of_tiny_vanishes_next_to(eps, beta2):
        # torch.sqrt is ~7x slower on exact zeros (MKL's generic path on this CPU), and the
        # moments of always-zero pixels are exactly zero. Raising them to the smallest normal
        # float first changes no denominator: sqrt(tiny) / sqrt(bias_correction2) (< 3.5e-18
        # with beta2 = 0.999) is less than half a unit in the last place of eps, so (it + eps)
        # rounds to eps, as (0 + eps) does.
        for exp_avg_sq, denom in zip(exp_avg_sqs, denoms):
            torch.clamp_min(exp_avg_sq, TINY, out=denom)
        torch._foreach_sqrt_(denoms)
    else:
        for exp_avg_sq, denom in zip(exp_avg_sqs, denoms):
            torch.sqrt(exp_avg_sq, out=denom)
    torch._foreach_div_(denoms, bias_correction2 ** 0.5)
    torch._foreach_add_(denoms, eps)
    torch._foreach_addcdiv_(params, exp_avgs, denoms, value=-lr / bias_correction1)


def _layers_of(model):
    """[(W, b)] of every linear layer (hidden ones first, output last), the activation, p."""
    if isinstance(model, LogisticRegression):
        return [(model.linear.weight, model.linear.bias)], None, 0.0
    linears = [m for m in model.net if isinstance(m, nn.Linear)]
    return ([(m.weight, m.bias) for m in linears], ACTIVATIONS[model.activation_type],
            model.dropout)


def train_fast(model, optimizer_name, learning_rate, X, y, epochs, l2_decay=0.0,
               batch_size=1, on_epoch=None, betas=(0.9, 0.999), eps=1e-8, flush_denormal=True,
               fused_adam=False, progress=False):
    """Train `model` in place along the same trajectory as `train_reference`, faster.

    X: (n, d) float32, y: (n,) int64, on the model's device. Same random stream as the
    reference loop: the per-epoch permutation of `epoch_permutation`, then the dropout masks of
    the epoch in step order (drawn in one call when that is exact). Gradients come from
    autograd; parameters are updated in place by foreach ops doing torch.optim's own arithmetic
    for SGD and Adam (bit for bit the same parameters; fused_adam=True uses the fused Adam
    kernel instead: same maths, other rounding, which Adam's chaotic runs amplify). Stops at the first epoch whose losses are not all finite. progress: show a step bar.
    Returns {"diverged_at": None or {"epoch", "step", "message"}}.
    """
    layers, act, p = _layers_of(model)
    params = [t for wb in layers for t in wb]  # W1, b1, ..., W_out, b_out
    data = [t.detach() for t in params]  # aliases updated in place outside autograd
    n, B = X.shape[0], batch_size
    one_row = B == 1
    # With one example per step the layers are matrix-vector products, and addmv's gradient
    # for the weight is an outer product: one autograd node per layer and no transposes.
    linear = torch.addmv if one_row else (lambda b, W, x: F.linear(x, W, b))
    hidden, (W_out, b_out) = layers[:-1], layers[-1]
    bulk_masks = p > 0 and one_row and X.device.type == "cpu" and _bulk_dropout_is_exact()
    seed_grad = torch.ones((), device=X.device)
    if optimizer_name == "adam":
        exp_avgs = [torch.zeros_like(t) for t in data]
        exp_avg_sqs = [torch.zeros_like(t) for t in data]
        step = torch.zeros((), device=X.device)  # the step count, shared by all parameters
        steps, adam_step = [step] * len(data), 0
    elif optimizer_name != "sgd":
        raise ValueError(optimizer_name)
    flush = flush_denormal and X.device.type == "cpu"
    if flush:
        # Adam's moments of always-zero pixels decay into denormal numbers, which x86 computes
        # on ~100x slower. Flushing them to zero changes values below 1e-38 only (tested).
        torch.set_flush_denormal(True)
    # torch.autograd.grad minus its Python argument checks: the same engine call.
    engine, params = torch.autograd.Variable._execution_engine, tuple(params)
    status = {"diverged_at": None}
    try:
        for epoch in range(1, epochs + 1):
            perm = epoch_permutation(n).to(X.device)
            X_epoch, y_epoch = X[perm], y[perm]
            xs = X_epoch.unbind(0) if one_row else X_epoch.split(B)
            ys = y_epoch.unbind(0) if one_row else y_epoch.split(B)
            if bulk_masks:
                mask_rows = zip(*_epoch_dropout_masks(n, len(hidden), hidden[0][0].shape[0], p))
            else:  # none, or F.dropout inside the step
                mask_rows = [None] * len(xs)
            losses, steps_of_epoch = [], zip(xs, ys, mask_rows)
            if progress:  # tqdm on a terminal; a plain pass-through otherwise
                steps_of_epoch = utils.progress(steps_of_epoch, f"epoch {epoch}", len(xs))
            for x, target, step_masks in steps_of_epoch:
                h = x
                for i, (W, b) in enumerate(hidden):
                    h = act(linear(b, W, h))
                    if step_masks is not None:
                        h = h * step_masks[i]
                    elif p > 0:
                        h = F.dropout(h, p, True)
                loss = F.cross_entropy(linear(b_out, W_out, h), target)
                grads = engine.run_backward((loss,), (seed_grad,), False, False, params,
                                            False, False)
                if optimizer_name == "sgd":
                    if l2_decay:
                        grads = torch._foreach_add(grads, data, alpha=l2_decay)
                    torch._foreach_add_(data, grads, alpha=-learning_rate)
                elif fused_adam:
                    step.add_(1.0)
                    torch._fused_adam_(data, grads, exp_avgs, exp_avg_sqs, [], steps,
                                       lr=learning_rate, beta1=betas[0], beta2=betas[1],
                                       weight_decay=l2_decay, eps=eps, amsgrad=False,
                                       maximize=False)
                else:
                    adam_step += 1
                    _adam_update(data, grads, exp_avgs, exp_avg_sqs, adam_step, learning_rate,
                                 betas, eps, l2_decay)
                losses.append(loss.detach())
            losses = torch.stack(losses).double()
            finite = torch.isfinite(losses)
            if not bool(finite.all()):
                bad_step = int((~finite).nonzero()[0, 0]) + 1
                status["diverged_at"] = {"epoch": epoch, "step": bad_step,
                                         "message": "non-finite training loss"}
                if on_epoch is not None:
                    on_epoch(epoch, float("nan"))
                break
            if on_epoch is not None:
                on_epoch(epoch, float(losses.mean()))
    finally:
        if flush:
            torch.set_flush_denormal(False)
    return status


# ---------------------------------------------------------------------------------------------
# One run: configuration -> trained model -> record.

def run_key(config):
    """A stable file name for a run, from every flag that changes its result."""
    c = config
    tail = f"{c['optimizer']}-l2{c['l2_decay']:g}-bs{c['batch_size']}-e{c['epochs']}-s{c['seed']}"
    if c["model"] == "logistic_regression":
        return f"logistic_regression-lr{c['learning_rate']:g}-{tail}"
    return (f"mlp-lr{c['learning_rate']:g}-h{c['hidden_size']}-l{c['layers']}-"
            f"d{c['dropout']:g}-{c['activation']}-{tail}")


def _finite(value):
    return value if value is not None and np.isfinite(value) else None


def run(config, verbose=True, show_progress=True):
    """Train one configuration (a dict of the command-line flags) and return its record."""
    opt = argparse.Namespace(**config)
    device = torch.device(opt.device)
    utils.configure_seed(opt.seed)
    data = utils.load_classification_data(bias=False, path=opt.data)
    X, y = (torch.tensor(a, device=device) for a in data["train"])
    X = X.float()
    dev_X, dev_y = (torch.tensor(a, device=device) for a in data["dev"])
    test_X, test_y = (torch.tensor(a, device=device) for a in data["test"])
    dev_X, test_X = dev_X.float(), test_X.float()
    del data  # the float64 copies: 0.4 GB per study worker
    n_classes, n_features = 10, X.shape[1]

    model = make_model(opt.model, n_classes, n_features, opt).to(device)
    epochs, say = [], (print if verbose else (lambda *a, **k: None))

    def on_epoch(epoch, train_loss):
        dev_acc = evaluate(model, dev_X, dev_y)
        epochs.append({"epoch": epoch, "train_loss": _finite(train_loss), "dev_acc": dev_acc})
        say(f"epoch {epoch:2d}  train loss {train_loss:.4f}  valid acc {dev_acc:.4f}", flush=True)

    start = time.perf_counter()
    status = train_fast(model, opt.optimizer, opt.learning_rate, X, y, opt.epochs,
                        l2_decay=opt.l2_decay, batch_size=opt.batch_size, on_epoch=on_epoch,
                        fused_adam=FUSED_ADAM, progress=show_progress)
    seconds = time.perf_counter() - start
    test_acc = evaluate(model, test_X, test_y)
    say(f"final test acc {test_acc:.4f}  ({seconds:.0f} s)")
    dev_accs = [e["dev_acc"] for e in epochs]
    return {
        "question": "q4", "model": opt.model, "config": dict(config), "seed": opt.seed,
        "epochs": epochs,
        "final": {"train_loss": epochs[-1]["train_loss"], "dev_acc": dev_accs[-1],
                  "best_dev_acc": max(dev_accs), "test_acc": test_acc},
        "seconds": seconds,
        "status": "diverged" if status["diverged_at"] else "ok",
        "diverged_at": status["diverged_at"],
    }


def run_and_save(config, folder, threads=1, verbose=False):
    """Train one configuration on `threads` threads and save its record as folder/<key>.json.

    Lives here (an importable module) so that the study's worker processes can call it.
    """
    torch.set_num_threads(threads)
    record = run(config, verbose=verbose, show_progress=verbose)
    return utils.save_record(os.path.join(folder, run_key(config) + ".json"), record)


def plot_record(record, folder, show=False):
    """The run's training loss and validation accuracy against the epoch, as two PDFs."""
    key = run_key(record["config"])
    losses = [e["train_loss"] if e["train_loss"] is not None else float("nan")
              for e in record["epochs"]]
    utils.plot({"train": losses}, "Training loss", os.path.join(folder, f"{key}-loss.pdf"),
               show=show)
    utils.plot({"validation": [e["dev_acc"] for e in record["epochs"]]}, "Validation accuracy",
               os.path.join(folder, f"{key}-accuracy.pdf"), show=show)


def build_parser():
    parser = argparse.ArgumentParser(description="Q4: Fashion-MNIST with PyTorch.")
    parser.add_argument("model", choices=["logistic_regression", "mlp"])
    parser.add_argument("-epochs", default=20, type=int)
    parser.add_argument("-batch_size", default=1, type=int)
    parser.add_argument("-learning_rate", type=float, default=0.01)
    parser.add_argument("-l2_decay", type=float, default=0.0)
    parser.add_argument("-hidden_size", "-hidden_sizes", dest="hidden_size", type=int,
                        default=200)
    parser.add_argument("-layers", type=int, default=1)
    parser.add_argument("-dropout", type=float, default=0.3)
    parser.add_argument("-activation", choices=["tanh", "relu"], default="relu")
    parser.add_argument("-optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("-seed", type=int, default=42)
    parser.add_argument("-device", default="cpu", help="cpu, or cuda when present")
    parser.add_argument("-data", default=utils.FASHION_PATH)
    parser.add_argument("-output", default=os.path.join("results", "q4", "runs"),
                        help="folder for the run's JSON record and its two plots")
    parser.add_argument("-show", action="store_true", help="also show the plots")
    return parser


def parse_args(argv=None):
    parser = build_parser()
    opt = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "hidden_size", "layers"):
        if getattr(opt, name) < 1:
            parser.error(f"-{name} must be at least 1")
    if opt.learning_rate <= 0:
        parser.error("-learning_rate must be positive")
    if opt.l2_decay < 0:
        parser.error("-l2_decay must be non-negative")
    if not 0 <= opt.dropout < 1:
        parser.error("-dropout must be in [0, 1)")
    if opt.device != "cpu" and not (opt.device.startswith("cuda") and torch.cuda.is_available()):
        parser.error(f"-device {opt.device} is not available here")
    return opt


def main(argv=None):
    opt = parse_args(argv)
    config = {k: v for k, v in vars(opt).items() if k not in ("output", "show")}
    # One thread: batch size 1 gains nothing from intra-op threads (tiny kernels).
    path = run_and_save(config, opt.output, threads=1, verbose=True)
    plot_record(utils.load_record(path), opt.output, show=opt.show)
    print(f"record: {path}")


if __name__ == "__main__":
    main()
