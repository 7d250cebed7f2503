#!/usr/bin/python3
"""PyTorch peer of `qsdc train models/cnn_fashion_<reg>.yaml`: the same CNN
(3x3 conv 32 same, ReLU, 2x2 max pool, regulariser per channel; 3x3 conv 64
same, ReLU, 2x2 max pool, regulariser per channel; dense 256, ReLU,
regulariser per element; dense 10), batch 128, SGD lr 0.05 momentum 0.9
Nesterov, cross-entropy, on the real Fashion-MNIST training set. Times
`--steps` optimiser steps after `--warmup` untimed ones and prints
`torch <reg>: N samples/s`; `--compile` as in mlp_torch.py.

Runs with Debian's /usr/bin/python3 (python3-torch, python3-numpy) and with
PyTorch 2.x (bench/peers.sh).
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see mlp_torch.py

import torch  # noqa: E402

from mlp_torch import QSD, add_compile_option, time_training  # noqa: E402
from peer_common import cnn_arguments  # noqa: E402


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
    ap = add_compile_option(cnn_arguments(__doc__.split("\n\n")[0]))
    time_training(build_model, (1, 28, 28), ap.parse_args())


if __name__ == "__main__":
    main()
