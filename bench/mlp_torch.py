#!/usr/bin/python3
"""PyTorch peer of `qsdc train models/mlp_fashion_<reg>.yaml`: the same MLP
(784-1024-1024-10, ReLU, the regulariser after each hidden ReLU), batch 128,
SGD lr 0.05 momentum 0.9 Nesterov, cross-entropy, on the real Fashion-MNIST
training set. Times `--steps` optimiser steps after `--warmup` untimed ones
and prints `torch <reg>: N samples/s`.

Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy).
"""
import argparse
import gzip
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
# Torch's OpenMP threads otherwise spin between parallel regions and starve
# OpenBLAS's own threads on the same cores: ~10x slower on 2 cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """An IDX file (gzip) as a numpy array of its declared shape."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: offset 0: not an unsigned-byte IDX file")
    rank = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=rank, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


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


def peer_arguments(description, keep, qsd):
    """The argument parser both peers share: the regulariser, step counts,
    threads, seed, data and the dense layers' dropout keep probability and
    QSD (p, sites, q_cv) defaults."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("reg", choices=["none", "dropout", "qsd"])
    ap.add_argument("--steps", type=int, default=200, help="timed steps")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--keep", type=float, default=keep, help="dropout keep probability")
    ap.add_argument("--qsd-p", type=float, default=qsd[0])
    ap.add_argument("--qsd-sites", type=int, default=qsd[1])
    ap.add_argument("--qsd-cv", type=float, default=qsd[2])
    return ap


def time_training(build_model, sample_shape, args):
    """Trains build_model(args.reg, args) on Fashion-MNIST's training images
    (each reshaped to sample_shape) with the models' SGD; times args.steps
    steps after args.warmup and prints the samples/s line."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images = read_idx(f"{args.data_dir}/train-images-idx3-ubyte.gz")
    labels = read_idx(f"{args.data_dir}/train-labels-idx1-ubyte.gz")
    x_all = torch.from_numpy(
        images.reshape((len(images),) + sample_shape).astype(np.float32) / 255.0)
    y_all = torch.from_numpy(labels.astype(np.int64))

    model = build_model(args.reg, args)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    order = torch.randperm(len(x_all))
    per_epoch = len(x_all) // args.batch

    def step(i):
        idx = order[(i % per_epoch) * args.batch:(i % per_epoch + 1) * args.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x_all[idx]), y_all[idx])
        loss.backward()
        opt.step()
        return loss

    for i in range(args.warmup):
        step(i)
    start = time.perf_counter()
    for i in range(args.warmup, args.warmup + args.steps):
        loss = step(i)
    loss.item()
    seconds = time.perf_counter() - start
    rate = args.steps * args.batch / seconds
    print(f"torch {args.reg}: {rate:.0f} samples/s "
          f"({args.steps} steps in {seconds:.2f} s, last loss {loss.item():.3f})")


def main():
    ap = peer_arguments(__doc__.split("\n\n")[0], 0.8, (0.5, 6, 0.5))
    time_training(build_model, (784,), ap.parse_args())


if __name__ == "__main__":
    main()
