#!/usr/bin/python3
"""PyTorch peer of `qsdc train models/mlp_fashion_<reg>.yaml`: the same MLP
(784-1024-1024-10, ReLU, the regulariser after each hidden ReLU), batch 128,
SGD lr 0.05 momentum 0.9 Nesterov, cross-entropy, on the real Fashion-MNIST
training set. Times `--steps` optimiser steps after `--warmup` untimed ones
and prints `torch <reg>: N samples/s`. `--compile` runs the model through
torch.compile (PyTorch 2).

Runs with Debian's /usr/bin/python3 (python3-torch 1.13, python3-numpy) and
with PyTorch 2.x from PyPI (the virtual environment bench/peers.sh makes).
"""
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
# Torch's OpenMP threads otherwise spin between parallel regions and starve
# OpenBLAS's own threads on the same cores: ~10x slower on 2 cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from peer_common import fashion_training_set, peer_arguments, report, time_steps  # noqa: E402


class QSD(torch.nn.Module):
    """QSD.md, homogeneous release: K ~ Binomial(n, p), G ~ Gamma(K/v^2,
    scale v^2), m = G / (n p) (0 where K = 0), y = m * x while training."""

    def __init__(self, p, sites, q_cv):
        super().__init__()
        self.p, self.sites, self.q_cv = p, sites, q_cv

    def forward(self, x):  # x: [batch, units]
        if not self.training:
            return x
        with torch.no_grad():
            # K as a sum of n Bernoulli draws: about 3x faster than
            # torch.binomial on CPU for small n.
            k = (torch.rand((self.sites,) + x.shape) < self.p).sum(0, dtype=x.dtype)
            if self.q_cv > 0:
                v2 = self.q_cv * self.q_cv
                # Gamma(0) is degenerate; draw with shape >= 1 where K = 0,
                # then zero those elements.
                g = torch._standard_gamma(torch.clamp(k, min=1.0) / v2) * v2
                g = torch.where(k > 0, g, torch.zeros_like(g))
            else:
                g = k
            m = g / (self.sites * self.p)
        return x * m


def regulariser(name, args):
    if name == "none":
        return torch.nn.Identity()
    if name == "dropout":
        return torch.nn.Dropout(p=1.0 - args.keep)
    return QSD(args.qsd_p, args.qsd_sites, args.qsd_cv)


def build_model(reg, args):
    return torch.nn.Sequential(
        torch.nn.Linear(784, 1024), torch.nn.ReLU(), regulariser(reg, args),
        torch.nn.Linear(1024, 1024), torch.nn.ReLU(), regulariser(reg, args),
        torch.nn.Linear(1024, 10))


def add_compile_option(ap):
    """--compile, for every PyTorch peer."""
    ap.add_argument("--compile", action="store_true",
                    help="run the model through torch.compile (PyTorch 2)")
    return ap


def compiled(model, args):
    """model, or torch.compile(model) with --compile; exits where this
    PyTorch has no torch.compile."""
    if not args.compile:
        return model
    if not hasattr(torch, "compile"):
        sys.exit(f"--compile needs PyTorch 2 (this is {torch.__version__})")
    return torch.compile(model)


def blas_libraries():
    """The BLAS libraries this process has loaded, as `DIR/FILE` of their
    real paths: Debian's torch calls whichever libblas.so.3 the system
    selects (blas/ the reference one, ~16x slower than openblas-pthread/);
    PyPI's links its BLAS in."""
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            name = os.path.basename(path)
            if "blas" in name and "cublas" not in name and "scipy_openblas" not in name:
                real = os.path.realpath(path)
                found.add(f"{os.path.basename(os.path.dirname(real))}/{os.path.basename(real)}")
    return sorted(found)


def version_note(args):
    """What the report line says about this peer."""
    blas = "".join(f", {lib}" for lib in blas_libraries())
    return f"torch {torch.__version__}" + (", torch.compile" if args.compile else ", eager") + blas


def time_training(build_model, sample_shape, args):
    """Trains build_model(args.reg, args) on Fashion-MNIST's training images
    (each reshaped to sample_shape) with the models' SGD; times args.steps
    steps after args.warmup and prints the samples/s line."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_np, y_np = fashion_training_set(args.data_dir, sample_shape)
    x_all, y_all = torch.from_numpy(x_np), torch.from_numpy(y_np)

    model = build_model(args.reg, args)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    forward = compiled(model, args)
    loss_fn = torch.nn.CrossEntropyLoss()
    order = torch.randperm(len(x_all))
    per_epoch = len(x_all) // args.batch

    def step(i):
        idx = order[(i % per_epoch) * args.batch:(i % per_epoch + 1) * args.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(forward(x_all[idx]), y_all[idx])
        loss.backward()
        opt.step()
        return loss.detach()

    seconds, loss = time_steps(step, args.warmup, args.steps)
    report("torch", args, args.batch, "samples/s", seconds, loss, version_note(args))


def main():
    ap = add_compile_option(peer_arguments(__doc__.split("\n\n")[0], 0.8, (0.5, 6, 0.5)))
    time_training(build_model, (784,), ap.parse_args())


if __name__ == "__main__":
    main()
