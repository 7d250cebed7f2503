#!/usr/bin/env python3
"""JAX peer of `qsdc train models/mlp_fashion_<reg>.yaml` and of
bench/mlp_torch.py: the same MLP (784-1024-1024-10, ReLU, the regulariser
after each hidden ReLU), batch 128, SGD lr 0.05 momentum 0.9 Nesterov,
cross-entropy, on the real Fashion-MNIST training set, one jit-compiled step.
Times `--steps` optimiser steps after `--warmup` untimed ones and prints
`jax <reg>: N samples/s`.

Runs in the jax[cpu] virtual environment bench/peers.sh makes.
"""
import jax

from jax_common import cross_entropy, dense, dense_params, regularise, train_fashion
from peer_common import peer_arguments


def main():
    args = peer_arguments(__doc__.split("\n\n")[0], 0.8, (0.5, 6, 0.5)).parse_args()
    qsd = (args.qsd_p, args.qsd_sites, args.qsd_cv)

    def init(key):
        k = jax.random.split(key, 3)
        return [dense_params(k[0], 784, 1024), dense_params(k[1], 1024, 1024),
                dense_params(k[2], 1024, 10)]

    def loss_fn(params, x, y, key):
        k = jax.random.split(key, 2)
        for layer, mask_key in zip(params[:2], k):
            x = regularise(jax.nn.relu(dense(layer, x)), mask_key, args.reg, args.keep, qsd)
        return cross_entropy(dense(params[2], x), y)

    train_fashion(init, loss_fn, (784,), args)


if __name__ == "__main__":
    main()
