#!/usr/bin/env python3
"""JAX peer of `qsdc train models/cnn_fashion_<reg>.yaml` and of
bench/cnn_torch.py: the same CNN (3x3 conv 32 same, ReLU, 2x2 max pool,
regulariser per channel; 3x3 conv 64 same, ReLU, 2x2 max pool, regulariser
per channel; dense 256, ReLU, regulariser per element; dense 10), batch 128,
SGD lr 0.05 momentum 0.9 Nesterov, cross-entropy, on the real Fashion-MNIST
training set, one jit-compiled step; the maps are NHWC, XLA's CPU layout.
Times `--steps` optimiser steps after `--warmup` untimed ones and prints
`jax <reg>: N samples/s`.

Runs in the jax[cpu] virtual environment bench/peers.sh makes.
"""
import jax
import jax.numpy as jnp

from jax_common import cross_entropy, dense, dense_params, regularise, train_fashion, uniform
from peer_common import cnn_arguments


def conv_params(key, c_in, c_out):
    kw, kb = jax.random.split(key)
    fan_in = 9 * c_in
    return {"w": uniform(kw, fan_in, (3, 3, c_in, c_out)), "b": uniform(kb, fan_in, (c_out,))}


def conv_relu_pool(p, x):
    """3x3 convolution (padding same), ReLU, 2x2 max pool, on NHWC maps."""
    y = jax.lax.conv_general_dilated(x, p["w"], (1, 1), "SAME",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    y = jax.nn.relu(y + p["b"])
    return jax.lax.reduce_window(y, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def main():
    args = cnn_arguments(__doc__.split("\n\n")[0]).parse_args()
    qsd = (args.qsd_p, args.qsd_sites, args.qsd_cv)
    conv_qsd = (args.conv_qsd_p, args.conv_qsd_sites, args.conv_qsd_cv)

    def init(key):
        k = jax.random.split(key, 4)
        return [conv_params(k[0], 1, 32), conv_params(k[1], 32, 64),
                dense_params(k[2], 64 * 7 * 7, 256), dense_params(k[3], 256, 10)]

    def loss_fn(params, x, y, key):
        k = jax.random.split(key, 3)
        for layer, mask_key in zip(params[:2], k):
            x = conv_relu_pool(layer, x)
            # one draw per (sample, channel), as Dropout2d and ChannelQSD
            x = regularise(x, mask_key, args.reg, args.conv_keep, conv_qsd,
                           (x.shape[0], 1, 1, x.shape[3]))
        x = jax.nn.relu(dense(params[2], x.reshape(x.shape[0], -1)))
        x = regularise(x, k[2], args.reg, args.keep, qsd)
        return cross_entropy(dense(params[3], x), y)

    train_fashion(init, loss_fn, (28, 28, 1), args)


if __name__ == "__main__":
    main()
