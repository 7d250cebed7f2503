"""What every peer script in bench/ (bench/*_torch.py, bench/*_jax.py)
shares and that needs neither PyTorch nor JAX: the Fashion-MNIST reader, the
command-line options and the timing rule (warm-up steps untimed, then
--steps timed steps up to a result read back from the framework, which waits
for any steps still queued) with the one-line report the benchmarks parse:
`FRAMEWORK REG: RATE samples/s (...)` or `... tokens/s (...)`.
"""
import argparse
import gzip
import time

import numpy as np

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


def fashion_training_set(data_dir, sample_shape):
    """Fashion-MNIST's training images as float32 in [0, 1], each reshaped to
    sample_shape, and their labels as int64."""
    images = read_idx(f"{data_dir}/train-images-idx3-ubyte.gz")
    labels = read_idx(f"{data_dir}/train-labels-idx1-ubyte.gz")
    x = images.reshape((len(images),) + tuple(sample_shape)).astype(np.float32) / 255.0
    return x, labels.astype(np.int64)


def base_arguments(description, steps, warmup):
    """The options of every peer: the regulariser, step counts, threads and
    seed."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("reg", choices=["none", "dropout", "qsd"])
    ap.add_argument("--steps", type=int, default=steps, help="timed steps")
    ap.add_argument("--warmup", type=int, default=warmup, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    return ap


def peer_arguments(description, keep, qsd):
    """The options of the Fashion-MNIST peers (MLP and CNN): base_arguments
    with 200 timed and 20 warm-up steps, plus batch, data and the dense
    layers' dropout keep probability and QSD (p, sites, q_cv) defaults."""
    ap = base_arguments(description, 200, 20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--keep", type=float, default=keep, help="dropout keep probability")
    ap.add_argument("--qsd-p", type=float, default=qsd[0])
    ap.add_argument("--qsd-sites", type=int, default=qsd[1])
    ap.add_argument("--qsd-cv", type=float, default=qsd[2])
    return ap


def cnn_arguments(description):
    """The CNN peers' options: peer_arguments with the dense layer's dropout
    keep 0.5 and QSD (0.25, 4, 0.5), plus the conv layers' channel dropout
    keep probability and per-channel QSD."""
    ap = peer_arguments(description, 0.5, (0.25, 4, 0.5))
    ap.add_argument("--conv-keep", type=float, default=0.9,
                    help="channel dropout keep probability")
    ap.add_argument("--conv-qsd-p", type=float, default=0.75)
    ap.add_argument("--conv-qsd-sites", type=int, default=4)
    ap.add_argument("--conv-qsd-cv", type=float, default=0.3)
    return ap


def time_steps(step, warmup, steps):
    """Runs step(i) for i in [0, warmup) untimed, then for the next `steps`
    i timed; step returns the loss as a framework scalar, whose float()
    waits for the step. Returns (seconds, last loss)."""
    loss = None
    for i in range(warmup):
        loss = step(i)
    if loss is not None:
        float(loss)
    start = time.perf_counter()
    for i in range(warmup, warmup + steps):
        loss = step(i)
    loss = float(loss)
    return time.perf_counter() - start, loss


def report(framework, args, items, unit, seconds, loss, note):
    """Prints the line the benchmarks parse: `FRAMEWORK REG: RATE UNIT (...)`
    for args.steps steps of `items` samples or tokens each."""
    rate = args.steps * items / seconds
    print(f"{framework} {args.reg}: {rate:.0f} {unit} ({args.steps} steps in "
          f"{seconds:.2f} s, last loss {loss:.3f}; {note})", flush=True)
