"""Fixtures of the Python package's tests: a tiny classification task written
as IDX files and a model file over them, and the device under test
(QSDC_TEST_DEVICE, as the C suites take it)."""
import os
import struct

import numpy as np
import pytest

SIDE, CLASSES, TRAIN, TEST = 4, 3, 96, 30


def write_idx(path, array):
    """uint8 IDX: magic 0x0000 0x08 rank, big-endian dims, the bytes."""
    with open(path, "wb") as f:
        f.write(struct.pack(">HBB", 0, 8, array.ndim))
        f.write(struct.pack(">%dI" % array.ndim, *array.shape))
        f.write(array.astype(np.uint8).tobytes())


def images(rng, labels):
    """Each class lights its own row of the image over noise."""
    x = rng.integers(0, 60, size=(len(labels), SIDE, SIDE))
    for i, c in enumerate(labels):
        x[i, c, :] += 180
    return x.astype(np.uint8)


@pytest.fixture(scope="session")
def task(tmp_path_factory):
    d = tmp_path_factory.mktemp("task")
    rng = np.random.default_rng(7)
    out = {}
    for split, n in (("train", TRAIN), ("test", TEST)):
        y = rng.integers(0, CLASSES, size=n).astype(np.uint8)
        x = images(rng, y)
        write_idx(d / ("%s-images.idx" % split), x)
        write_idx(d / ("%s-labels.idx" % split), y)
        # as qsdc reads IDX images: bytes scaled to [0, 1]
        out[split] = (x.reshape(n, 1, SIDE, SIDE).astype(np.float32) / 255.0,
                      y.astype(np.int64))
    model = d / "tiny.yaml"
    model.write_text(
        "name: tiny\n"
        "input: {shape: [1, %d, %d]}\n"
        "layers:\n"
        "  - flatten\n"
        "  - {op: dense, units: 16}\n"
        "  - relu\n"
        "  - {op: qsd, p: 0.5, sites: 2, q_cv: 0.3}\n"
        "  - {op: dense, units: %d}\n"
        "  - softmax\n"
        "train:\n"
        "  data: {train_images: %s, train_labels: %s, test_images: %s, test_labels: %s}\n"
        "  batch: 8\n"
        "  epochs: 2\n"
        "  seed: 3\n"
        "  optimizer: {type: sgd, lr: 0.1, momentum: 0.9}\n"
        % (SIDE, SIDE, CLASSES, d / "train-images.idx", d / "train-labels.idx",
           d / "test-images.idx", d / "test-labels.idx"))
    out["model"] = str(model)
    out["dir"] = d
    return out


@pytest.fixture(scope="session")
def device():
    return os.environ.get("QSDC_TEST_DEVICE") or None
