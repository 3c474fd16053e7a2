#!/usr/bin/env python
"""Q4 speed: the textbook loop against train_fast, side by side in one run, on one thread.

    python tools/bench_q4.py [-data Fashion-MNIST.npz] [-n 2000] [-repeats 5]

For SGD and for Adam (default network: 784 -> 200 -> 10, ReLU, dropout 0.3, batch size 1) both
loops train the same model from the same seed for a warm-up epoch, then for `repeats` timed
epochs of n steps, the two loops interleaved so machine noise hits both alike. Prints the
median microseconds per step (CPU time of this thread, which ignores time the scheduler gives
to other processes, and wall time), the ratio, and two per-step floors:
  - memory: the bytes a step must move through the cache hierarchy for the first layer's
    weights, gradient (and Adam moments), divided by the measured copy bandwidth at that size.
    SGD: 5 passes over a (200, 784) array. Adam with torch.optim's own element-wise ops, which
    the exact loop must keep: 22 passes (forward 1, backward 1, the update's 8 ops 20); a fused
    kernel would need 9;
  - kernels: the sum of the step's kernels (forward, backward and update ops), each timed
    alone in a tight loop: their dispatch included, but no autograd bookkeeping and no cache
    misses between them.
Two more rows time fast Adam variants: with torch's fused Adam kernel (faster, but other
rounding, so not the textbook's exact trajectory) and without flushing denormals. Real data makes
Adam's denormals appear (zero pixels -> zero gradients -> decaying moments); without the file,
synthetic images with an all-zero border stand in. Last, every study run's fast step is timed
for one epoch to estimate the study's wall time on two single-thread workers.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import utils  # noqa: E402


q4 = utils.load_script("hw1-q4.py")


def load_examples(path, n):
    """(n, 784) float32 images and (n,) labels: real ones if the file exists."""
    if os.path.exists(path):
        data = np.load(path)
        return (torch.tensor(data["Xtrain"][:n], dtype=torch.float32),
                torch.tensor(data["ytrain"][:n]), "real")
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(n, 28, 28, generator=gen)
    X[:, :4], X[:, -4:], X[:, :, :4], X[:, :, -4:] = 0, 0, 0, 0  # pixels that are always 0
    return X.reshape(n, 784), torch.randint(0, 10, (n,), generator=gen), "synthetic"


class Config:
    hidden_size, layers, activation, dropout, learning_rate, l2_decay = 200, 1, "relu", 0.3, 0.01, 0


def timed(fn):
    """(CPU seconds of this thread, wall seconds) spent in fn()."""
    c, w = time.thread_time(), time.perf_counter()
    fn()
    return time.thread_time() - c, time.perf_counter() - w


def compare(optimizer, X, y, repeats, **fast_options):
    """Median us/step (cpu, wall) of the reference and the fast loop, interleaved."""
    cfg = Config()
    cfg.optimizer = optimizer
    torch.manual_seed(0)
    ref_model = q4.make_model("mlp", 10, X.shape[1], cfg)
    ref_optim = q4.make_optimizer(ref_model, cfg)
    torch.manual_seed(0)
    fast_model = q4.make_model("mlp", 10, X.shape[1], cfg)
    # train_fast keeps optimiser state inside one call, so it runs warm-up + timed epochs in
    # one call, timing each epoch through on_epoch.
    ref = lambda: q4.train_reference(ref_model, ref_optim, X, y, 1)  # noqa: E731
    ref()  # warm-up epoch
    fast_times, ref_times, start = [], [], [None]

    def on_epoch(epoch, loss):
        now = (time.thread_time(), time.perf_counter())
        if epoch > 1:  # epoch 1 warms up
            fast_times.append((now[0] - start[0][0], now[1] - start[0][1]))
        if epoch <= repeats:  # between two fast epochs, one reference epoch
            ref_times.append(timed(ref))
        start[0] = (time.thread_time(), time.perf_counter())

    start[0] = (time.thread_time(), time.perf_counter())
    q4.train_fast(fast_model, optimizer, cfg.learning_rate, X, y, repeats + 1, on_epoch=on_epoch,
                  **fast_options)
    n = X.shape[0]
    med = lambda ts, i: statistics.median(t[i] for t in ts) / n * 1e6  # noqa: E731
    return {"ref_cpu": med(ref_times, 0), "ref_wall": med(ref_times, 1),
            "fast_cpu": med(fast_times, 0), "fast_wall": med(fast_times, 1)}


def us_per_call(fn, reps=2000):
    for _ in range(100):
        fn()
    t = time.thread_time()
    for _ in range(reps):
        fn()
    return (time.thread_time() - t) / reps * 1e6


def floors(x):
    """Per-step floors for the default network's SGD and Adam step (see the module docstring)."""
    W = torch.randn(200, 784) * 0.03
    G, M, V = torch.randn_like(W), torch.randn_like(W), torch.rand_like(W)
    copy_us = us_per_call(lambda: G.copy_(W))
    bandwidth = 2 * W.nbytes / (copy_us * 1e-6)  # read + write bytes per second
    # SGD first layer: forward reads W; backward writes dW; update reads W, dW, writes W.
    # Fused Adam adds reading and writing both moments. torch.optim's ops, one pass each:
    # lerp_ 3, mul_ 2, addcmul_ 3, (clamp 2, sqrt_ 2, div_ 2, add_ 2) on the denominators,
    # addcdiv_ 4.
    bytes_sgd, bytes_adam, bytes_fused = 5 * W.nbytes, 22 * W.nbytes, 9 * W.nbytes
    b, h = torch.zeros(200), torch.rand(200)
    W2, b2 = torch.randn(10, 200), torch.zeros(10)
    mask, target = torch.rand(200), torch.tensor(3)
    step = torch.zeros(())
    kernels = {
        "addmv 200x784": lambda: torch.addmv(b, W, x),
        "relu": lambda: torch.relu(h),
        "mul mask": lambda: h * mask,
        "addmv 10x200": lambda: torch.addmv(b2, W2, h),
        "log_softmax": lambda: torch.log_softmax(b2, 0),
        "nll_loss": lambda: F.nll_loss(b2, target),
        "outer dW1 (backward)": lambda: torch.outer(h, x),
        "mv W2^T g (backward)": lambda: torch.mv(W2.t(), b2),
        "outer dW2 (backward)": lambda: torch.outer(b2, h),
        "threshold_backward": lambda: torch.ops.aten.threshold_backward(h, h, 0.0),
        "sgd foreach add_": lambda: torch._foreach_add_([W, b, W2, b2], [G, b, W2, b2],
                                                       alpha=-0.0),
    }
    costs = {name: us_per_call(fn, 500) for name, fn in kernels.items()}
    fused_us = us_per_call(lambda: torch._fused_adam_(
        [W, b, W2, b2], [G, b, W2, b2], [M, b.clone(), W2.clone(), b2.clone()],
        [V, b.clone(), W2.clone(), b2.clone()], [], [step] * 4, lr=0.0, beta1=0.9,
        beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False), 500)
    # torch.optim.Adam's arithmetic as train_fast runs it (exact zeros of V are raised to TINY
    # before the sqrt, which is ~7x slower on zeros: printed below)
    exact_us = us_per_call(lambda: q4._adam_update(
        [W, b, W2, b2], [G, b, W2, b2], [M, b.clone(), W2.clone(), b2.clone()],
        [V, b.clone(), W2.clone(), b2.clone()], 10, 0.0, (0.9, 0.999), 1e-8, 0.0), 500)
    kernel_sgd = sum(costs.values())
    no_update = kernel_sgd - costs["sgd foreach add_"]
    return {"bandwidth_GBs": bandwidth / 1e9,
            "mem_sgd": bytes_sgd / bandwidth * 1e6, "mem_adam": bytes_adam / bandwidth * 1e6,
            "mem_adam_fused": bytes_fused / bandwidth * 1e6,
            "kernel_sgd": kernel_sgd, "kernel_adam": no_update + exact_us,
            "kernel_adam_fused": no_update + fused_us, "costs": costs,
            "adam_update": exact_us, "fused_adam": fused_us}


def sqrt_cost(zero_fraction):
    """us of torch.sqrt on a (200, 784) tensor with that fraction of exact zeros."""
    v = torch.rand(200, 784) * 1e-8
    v[torch.rand(200, 784) < zero_fraction] = 0
    return us_per_call(lambda: v.sqrt(), 300)


def study_estimate(X, y, dev_X, workers=2, train_size=50000, epochs=20):
    """Seconds of wall time for the whole study, from one timed epoch of X per run.

    Each of the 12 runs is timed (thread CPU time, i.e. as if it had a core to itself) for one
    epoch of len(X) steps (after a warm-up epoch of the same run), scaled to 20 x 50,000 steps plus 20 evaluations of the 10,000 validation
    examples; the runs are then packed longest first onto `workers` single-thread workers.
    """
    study = utils.load_script("tools/study_q4.py")
    per_run = []
    for group, varied, config in study.study_runs():
        opt = type("Opt", (), config)
        torch.manual_seed(0)
        model = q4.make_model(config["model"], 10, X.shape[1], opt)
        marks = []
        q4.train_fast(model, config["optimizer"], config["learning_rate"], X, y, 2,
                      on_epoch=lambda e, l: marks.append(time.thread_time()),
                      fused_adam=q4.FUSED_ADAM)  # as the study runs it
        eval_s = timed(lambda: q4.evaluate(model, dev_X, torch.zeros(len(dev_X))))[0]
        us = (marks[1] - marks[0]) / len(X) * 1e6
        per_run.append((us * 1e-6 * train_size * epochs + eval_s * epochs, group, varied, us))
    loads = [0.0] * workers
    for seconds, *_ in sorted(per_run, reverse=True):
        loads[loads.index(min(loads))] += seconds
    return per_run, max(loads)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-data", default="Fashion-MNIST.npz")
    parser.add_argument("-n", type=int, default=2000, help="steps per timed epoch")
    parser.add_argument("-repeats", type=int, default=5)
    parser.add_argument("-skip_variants", action="store_true",
                        help="skip the fast Adam rows with the fused kernel / without flushing")
    parser.add_argument("-skip_study", action="store_true",
                        help="skip the per-run timing that estimates the study's wall time")
    opt = parser.parse_args()
    torch.set_num_threads(1)
    X, y, kind = load_examples(opt.data, opt.n)
    print(f"torch {torch.__version__}, 1 thread, {kind} data, {opt.n} steps x {opt.repeats} "
          f"repeats per loop (medians; cpu = thread CPU time)")
    results = {name: compare(name, X, y, opt.repeats) for name in ("sgd", "adam")}
    if not opt.skip_variants:
        results["adam, fused kernel"] = compare("adam", X, y, opt.repeats, fused_adam=True)
        results["adam, no denormal flush"] = compare("adam", X, y, opt.repeats,
                                                     flush_denormal=False)
    torch.set_flush_denormal(True)  # as train_fast runs
    floor = floors(X[0])
    torch.set_flush_denormal(False)
    print(f"\n{'step':24s} {'textbook us':>16s} {'fast us':>16s} {'speed-up':>14s} "
          f"{'floor us (mem / kernels)':>26s}")
    for name, r in results.items():
        kind = "adam_fused" if "fused" in name else name.split(",")[0]
        print(f"{name:24s} {r['ref_cpu']:7.0f} cpu {r['ref_wall']:5.0f} wall "
              f"{r['fast_cpu']:6.0f} cpu {r['fast_wall']:5.0f} wall "
              f"{r['ref_cpu'] / r['fast_cpu']:5.2f}x {r['ref_wall'] / r['fast_wall']:5.2f}x wall"
              f"   {floor['mem_' + kind]:6.0f} / {floor['kernel_' + kind]:4.0f}")
    print(f"\nmeasured copy bandwidth at 627 KB: {floor['bandwidth_GBs']:.1f} GB/s; "
          f"bare kernels (us): " + ", ".join(f"{k} {v:.1f}" for k, v in floor["costs"].items())
          + f", Adam update (torch.optim's ops) {floor['adam_update']:.1f}"
          + f", fused Adam {floor['fused_adam']:.1f}")
    print("torch.sqrt of 157k floats (MKL VML, generic path on this AMD CPU) by share of zeros: "
          + ", ".join(f"{f:.0%} {sqrt_cost(f):.0f} us" for f in (0, 0.05, 0.2, 1.0)))
    if not opt.skip_study:
        dev_X = X.repeat(10000 // len(X) + 1, 1)[:10000]
        per_run, wall = study_estimate(X, y, dev_X)
        print("\nstudy estimate (fast loop, CPU us/step over one epoch of each run):")
        for seconds, group, varied, us in per_run:
            print(f"  {group} {varied:22s} {us:5.0f} us/step -> {seconds:5.0f} s")
        print(f"whole study on 2 single-thread workers: ~{wall / 60:.1f} min wall "
              f"(sum of runs {sum(r[0] for r in per_run) / 60:.1f} min of CPU)")


if __name__ == "__main__":
    main()
