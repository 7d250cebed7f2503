#!/usr/bin/env python3
"""JAX peer of `qsdc train models/lstm_kjv_<reg>.yaml` and of
bench/lstm_torch.py: the same word language model (embedding 10002x256, two
LSTM layers of 256 units, a linear layer back to the 10002 words, the
regulariser on the embedding output, between the layers and before the
output), batch 20, 35 steps of truncated BPTT with the state carried from
batch to batch, SGD lr 1, gradient clipped to global norm 0.25, one
jit-compiled step (each layer's input projection for all 35 steps as one
matrix product, the recurrence a lax.scan). The tokens are seeded random
ids. Times `--steps` optimiser steps after `--warmup` untimed ones and
prints `jax <reg>: N tokens/s`.

Runs in the jax[cpu] virtual environment bench/peers.sh makes.
"""
import jax
import jax.numpy as jnp
import numpy as np

from jax_common import (clip_by_global_norm, cross_entropy, dense, dense_params,
                        limit_threads, note, regularise, sgd, uniform)
from peer_common import base_arguments, report, time_steps

VOCAB, UNITS, STEPS, BATCH = 10002, 256, 35, 20
KEEP, QSD = 0.5, (0.42, 2, 0.5)


def lstm_params(key):
    """As torch.nn.LSTM(UNITS, UNITS): gates in the order i, f, g, o."""
    k = jax.random.split(key, 4)
    shape = (UNITS, 4 * UNITS)
    return {"w_ih": uniform(k[0], UNITS, shape), "w_hh": uniform(k[1], UNITS, shape),
            "b_ih": uniform(k[2], UNITS, shape[1:]), "b_hh": uniform(k[3], UNITS, shape[1:])}


def lstm(p, xs, state):
    """One LSTM layer over time-major xs [STEPS, BATCH, UNITS] from state
    (h, c); returns the outputs and the last state."""
    pre = xs @ p["w_ih"] + (p["b_ih"] + p["b_hh"])

    def cell(carry, pre_t):
        h, c = carry
        i, f, g, o = jnp.split(pre_t + h @ p["w_hh"], 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    state, hs = jax.lax.scan(cell, state, pre)
    return hs, state


def main():
    args = base_arguments(__doc__.split("\n\n")[0], 50, 5).parse_args()
    limit_threads(args.threads)
    reg = args.reg

    def loss_fn(params, x, y, state, key):
        k = jax.random.split(key, 3)
        h = regularise(params["embed"][x.T], k[0], reg, KEEP, QSD)  # [STEPS, BATCH, UNITS]
        h, s1 = lstm(params["lstm1"], h, state[0])
        h, s2 = lstm(params["lstm2"], regularise(h, k[1], reg, KEEP, QSD), state[1])
        logits = dense(params["out"], regularise(h, k[2], reg, KEEP, QSD))
        return cross_entropy(logits.reshape(-1, VOCAB), y.T.reshape(-1)), (s1, s2)

    def train_step(params, state, key, stream, i):
        key, mask_key = jax.random.split(key)
        x = jax.lax.dynamic_slice(stream, (0, i * STEPS), (BATCH, STEPS))
        y = jax.lax.dynamic_slice(stream, (0, i * STEPS + 1), (BATCH, STEPS))
        (loss, state), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, x, y, state, mask_key)
        params = sgd(params, clip_by_global_norm(grads, 0.25), 1.0)
        return params, state, key, loss

    train_step = jax.jit(train_step, donate_argnums=(0, 1, 2))
    total = args.warmup + args.steps
    rng = np.random.default_rng(args.seed)
    stream = jnp.asarray(rng.integers(0, VOCAB, (BATCH, total * STEPS + 1), dtype=np.int32))
    key, *k = jax.random.split(jax.random.PRNGKey(args.seed), 5)
    params = {"embed": jax.random.normal(k[0], (VOCAB, UNITS)),  # as nn.Embedding
              "lstm1": lstm_params(k[1]), "lstm2": lstm_params(k[2]),
              "out": dense_params(k[3], UNITS, VOCAB)}
    # separate buffers: the step donates (reuses) each
    state = tuple((jnp.zeros((BATCH, UNITS)), jnp.zeros((BATCH, UNITS))) for _ in range(2))

    def step(i):
        nonlocal params, state, key
        params, state, key, loss = train_step(params, state, key, stream, np.int32(i))
        return loss

    seconds, loss = time_steps(step, args.warmup, args.steps)
    report("jax", args, BATCH * STEPS, "tokens/s", seconds, loss, note())


if __name__ == "__main__":
    main()
