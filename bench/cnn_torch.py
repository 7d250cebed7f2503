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
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see mlp_torch.py

import torch  # noqa: E402

from mlp_torch import QSD, peer_arguments, time_training  # noqa: E402


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
    ap = peer_arguments(__doc__.split("\n\n")[0], 0.5, (0.25, 4, 0.5))
    ap.add_argument("--conv-keep", type=float, default=0.9,
                    help="channel dropout keep probability")
    ap.add_argument("--conv-qsd-p", type=float, default=0.75)
    ap.add_argument("--conv-qsd-sites", type=int, default=4)
    ap.add_argument("--conv-qsd-cv", type=float, default=0.3)
    time_training(build_model, (1, 28, 28), ap.parse_args())


if __name__ == "__main__":
    main()
