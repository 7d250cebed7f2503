#!/usr/bin/python3
"""PyTorch peer of `qsdc train models/cnn_fashion_<reg>.yaml`: the same CNN
(3x3 conv 32 same, ReLU, 2x2 max pool, regulariser per channel; 3x3 conv 64
same, ReLU, 2x2 max pool, regulariser per channel; dense 256, ReLU,
regulariser per element; dense 10), batch 128, SGD lr 0.05 momentum 0.9
Nesterov, cross-entropy, on the real Fashion-MNIST training set. Times
`--steps` optimiser steps after `--warmup` untimed ones and prints
`torch <reg>: N samples/s`.

Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy).
"""
import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see mlp_torch.py

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mlp_torch import DATA_DIR, QSD, read_idx  # noqa: E402


class ChannelQSD(QSD):
    """QSD with one draw per (sample, channel) of [N, C, H, W] maps."""

    def forward(self, x):
        if not self.training:
            return x
        return x * super().forward(x.new_ones(x.shape[:2] + (1,) * (x.dim() - 2)))


def regulariser(name, channel, args):
    if name == "none":
        return torch.nn.Identity()
    if name == "dropout":
        keep = args.conv_keep if channel else args.keep
        return torch.nn.Dropout2d(1.0 - keep) if channel else torch.nn.Dropout(1.0 - keep)
    if channel:
        return ChannelQSD(args.conv_qsd_p, args.conv_qsd_sites, args.conv_qsd_cv)
    return QSD(args.qsd_p, args.qsd_sites, args.qsd_cv)


def build_model(reg, args):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        regulariser(reg, True, args),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        regulariser(reg, True, args),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), regulariser(reg, False, args),
        nn.Linear(256, 10))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reg", choices=["none", "dropout", "qsd"])
    ap.add_argument("--steps", type=int, default=200, help="timed steps")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--keep", type=float, default=0.5, help="dense dropout keep probability")
    ap.add_argument("--conv-keep", type=float, default=0.9,
                    help="channel dropout keep probability")
    ap.add_argument("--qsd-p", type=float, default=0.25)
    ap.add_argument("--qsd-sites", type=int, default=4)
    ap.add_argument("--qsd-cv", type=float, default=0.5)
    ap.add_argument("--conv-qsd-p", type=float, default=0.75)
    ap.add_argument("--conv-qsd-sites", type=int, default=4)
    ap.add_argument("--conv-qsd-cv", type=float, default=0.3)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images = read_idx(f"{args.data_dir}/train-images-idx3-ubyte.gz")
    labels = read_idx(f"{args.data_dir}/train-labels-idx1-ubyte.gz")
    x_all = torch.from_numpy(images.reshape(len(images), 1, 28, 28).astype(np.float32) / 255.0)
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


if __name__ == "__main__":
    main()
