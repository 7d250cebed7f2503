"""Shared by the JAX peers (bench/mlp_jax.py, cnn_jax.py, lstm_jax.py):
thread limits, PyTorch's default initialisation, the regularisers (dropout
and QSD as bench/README.md defines them), cross-entropy, SGD (with Nesterov
momentum as torch.optim.SGD computes it) and gradient clipping, and the
Fashion-MNIST training loop of the MLP and CNN peers. Each step (forward,
backward, masks, update) is one jax.jit-compiled function; the compilation
happens in the untimed warm-up steps.

Runs in the virtual environment with jax[cpu] that bench/peers.sh makes.
"""
import os

# One XLA CPU device whose Eigen thread pool runs the operations; its size
# follows the CPUs this process may run on (limit_threads).
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from peer_common import fashion_training_set, report, time_steps  # noqa: E402


def limit_threads(threads):
    """Keeps this process (and so XLA's thread pool, which sizes itself by
    the CPUs it may use) on its first `threads` CPUs, as taskset would; call
    before the first JAX computation."""
    cpus = sorted(os.sched_getaffinity(0))
    if threads < len(cpus):
        os.sched_setaffinity(0, cpus[:threads])


def note():
    """What the report line says about this peer."""
    return f"jax {jax.__version__}, jit, {len(os.sched_getaffinity(0))} CPUs"


def uniform(key, fan_in, shape):
    """PyTorch's default initialisation of Linear, Conv2d and LSTM weights
    and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / np.sqrt(fan_in)
    return jax.random.uniform(key, shape, jnp.float32, -bound, bound)


def dense_params(key, n_in, n_out):
    kw, kb = jax.random.split(key)
    return {"w": uniform(kw, n_in, (n_in, n_out)), "b": uniform(kb, n_in, (n_out,))}


def dense(p, x):
    return x @ p["w"] + p["b"]


def qsd_mask(key, shape, p, sites, q_cv):
    """QSD.md, homogeneous release, as mlp_torch.py's QSD draws it: K a sum
    of `sites` Bernoulli(p) draws, G = Gamma(K/v^2, scale v^2) (v = q_cv),
    m = G / (sites p), and m = 0 where K = 0."""
    kb, kg = jax.random.split(key)
    k = (jax.random.uniform(kb, (sites,) + tuple(shape)) < p).sum(0).astype(jnp.float32)
    if q_cv > 0:
        v2 = q_cv * q_cv
        g = jax.random.gamma(kg, jnp.maximum(k, 1.0) / v2) * v2
        k = jnp.where(k > 0, g, 0.0)
    return k / (sites * p)


def regularise(x, key, reg, keep, qsd, mask_shape=None):
    """x times a dropout mask (keep probability `keep`, scaled by 1/keep) or
    a QSD mask (qsd = (p, sites, q_cv)) of mask_shape (default x's: one draw
    per element; [N, 1, 1, C] for one per sample and channel); x itself for
    reg "none"."""
    if reg == "none":
        return x
    shape = x.shape if mask_shape is None else mask_shape
    if reg == "dropout":
        m = jax.random.bernoulli(key, keep, shape).astype(x.dtype) / keep
    else:
        m = qsd_mask(key, shape, *qsd)
    return x * m


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy over the rows of logits."""
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))


def sgd(params, grads, lr):
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)


def sgd_nesterov(params, buf, grads, lr, momentum):
    """torch.optim.SGD(nesterov=True): buf = momentum buf + g, then
    p -= lr (g + momentum buf); buf starts at zero, so the first step's buf
    is g, as in PyTorch."""
    buf = jax.tree_util.tree_map(lambda b, g: momentum * b + g, buf, grads)
    params = jax.tree_util.tree_map(
        lambda p, g, b: p - lr * (g + momentum * b), params, grads, buf)
    return params, buf


def clip_by_global_norm(grads, max_norm):
    """torch.nn.utils.clip_grad_norm_: scale all gradients by
    min(1, max_norm / (norm + 1e-6)), norm over all of them."""
    leaves = jax.tree_util.tree_leaves(grads)
    norm = jnp.sqrt(sum(jnp.sum(g * g) for g in leaves))
    scale = jnp.minimum(1.0, max_norm / (norm + 1e-6))
    return jax.tree_util.tree_map(lambda g: g * scale, grads)


def train_fashion(init, loss_fn, sample_shape, args):
    """The MLP and CNN peers' training: params = init(key); loss_fn(params,
    x, y, key) the batch loss with the regularisers' masks drawn from key;
    SGD lr 0.05, Nesterov momentum 0.9, batch args.batch of Fashion-MNIST's
    training images (reshaped to sample_shape) in a seeded random order, the
    data on the device and each batch gathered inside the step. Times
    args.steps steps after args.warmup and prints the samples/s line."""
    limit_threads(args.threads)
    x_np, y_np = fashion_training_set(args.data_dir, sample_shape)
    x_all, y_all = jnp.asarray(x_np), jnp.asarray(y_np.astype(np.int32))
    order = jnp.asarray(np.random.default_rng(args.seed).permutation(len(x_np)).astype(np.int32))
    per_epoch = len(x_np) // args.batch
    key, init_key = jax.random.split(jax.random.PRNGKey(args.seed))
    params = init(init_key)
    buf = jax.tree_util.tree_map(jnp.zeros_like, params)

    def train_step(params, buf, key, x_all, y_all, order, i):
        key, mask_key = jax.random.split(key)
        idx = jax.lax.dynamic_slice(order, (i * args.batch,), (args.batch,))
        loss, grads = jax.value_and_grad(loss_fn)(params, x_all[idx], y_all[idx], mask_key)
        params, buf = sgd_nesterov(params, buf, grads, 0.05, 0.9)
        return params, buf, key, loss

    train_step = jax.jit(train_step, donate_argnums=(0, 1, 2))

    def step(i):
        nonlocal params, buf, key
        params, buf, key, loss = train_step(params, buf, key, x_all, y_all, order,
                                            np.int32(i % per_epoch))
        return loss

    seconds, loss = time_steps(step, args.warmup, args.steps)
    report("jax", args, args.batch, "samples/s", seconds, loss, note())
