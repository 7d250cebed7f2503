"""qsdc against real PyTorch (Debian's python3-torch, which lives in the
system Python: scripts/lib.sh's qsdc_python_tests runs this file with
/usr/bin/python3; anywhere torch cannot be imported it is skipped).

1. Models built in torch.nn with seeded weights, written by
   torch.onnx.export (opset 13), run by qsdc predict: the outputs must be
   torch's own forward pass within 1e-4. With QSDC_TORCH_ONNX_DIR set the
   files are left there for test_onnx_import.py, which runs them with ONNX
   Runtime (not installed beside Debian's torch).
2. Models trained a little by qsdc train, written by qsdc export -o W.npz,
   loaded with load_state_dict into the equivalent torch.nn model: torch's
   forward pass must give qsdc predict's outputs within 1e-4.

Only the qsdc command (QSDC_EXE) is used, not the qsdc Python package,
which is installed in the virtual environment and not in the system
Python."""
import os
import shutil
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="torch cannot be imported by this Python (Debian: apt-get install "
    "python3-torch, then run this file with /usr/bin/python3): qsdc is not checked against "
    "PyTorch")
nn = torch.nn

TOLERANCE = 1e-4


def qsdc(*args):
    """Runs the qsdc command; a failure shows its stderr."""
    exe = os.environ.get("QSDC_EXE", "qsdc")
    device = os.environ.get("QSDC_TEST_DEVICE")
    cmd = [exe] + [str(a) for a in args] + (["--device", device] if device else [])
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 0, "%s failed (status %d): %s" % (" ".join(cmd), run.returncode,
                                                               run.stderr)
    return run


def max_diff(name, got, want):
    diff = float(np.abs(got.reshape(want.shape) - want).max())
    print("%s: max abs difference qsdc vs PyTorch %.3g" % (name, diff))
    return diff


def seeded(module, seed):
    """Every parameter and batch norm buffer of module drawn from seed (the
    running variances positive), so no default initialiser hides a
    transposed or misnamed array."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if not t.is_floating_point():
                continue
            v = torch.randn(t.shape, generator=g) * 0.5
            t.copy_(v.abs() + 0.5 if name.endswith("running_var") else v)
    return module.eval()


class Mlp(nn.Module):
    """Flatten, Linear, ReLU, Linear, Tanh, Linear, Softmax."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 12)
        self.fc2 = nn.Linear(12, 8)
        self.fc3 = nn.Linear(8, 3)

    def forward(self, x):
        h = torch.relu(self.fc1(torch.flatten(x, 1)))
        return torch.softmax(self.fc3(torch.tanh(self.fc2(h))), dim=1)


class Cnn(nn.Module):
    """Conv2d, BatchNorm2d (which torch folds into the Conv), ReLU,
    MaxPool2d, BatchNorm2d (a BatchNormalization node), Conv2d, ReLU,
    nn.AvgPool2d (which torch 1.13 writes as a Pad of zero width and an
    AveragePool), nn.Flatten, Linear: logits."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.bn2 = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 6, 3, padding=1)
        self.pool = nn.AvgPool2d(2)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(6 * 2 * 2, 3)

    def forward(self, x):
        h = self.bn2(nn.functional.max_pool2d(torch.relu(self.bn(self.c1(x))), 2))
        return self.fc(self.flat(self.pool(torch.relu(self.c2(h)))))


TORCH_MODELS = {"mlp": (Mlp, (1, 4, 4)), "cnn": (Cnn, (2, 8, 8))}


@pytest.mark.parametrize("name", sorted(TORCH_MODELS))
def test_torch_onnx_export_runs_in_qsdc(name, tmp_path):
    make, shape = TORCH_MODELS[name]
    model = seeded(make(), seed=3)
    rng = np.random.default_rng(4)
    x = rng.random((10,) + shape, dtype=np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    path = tmp_path / (name + ".onnx")
    torch.onnx.export(model, torch.from_numpy(x[:2]), str(path), opset_version=13,
                      input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    np.save(tmp_path / "x.npy", x)
    qsdc("predict", path, "--data", tmp_path / "x.npy", "-o", tmp_path / "p.npy")
    assert max_diff(name + " (torch.onnx.export)", np.load(tmp_path / "p.npy"),
                    want) <= TOLERANCE
    # for test_onnx_import.py, which runs ONNX Runtime where torch is not
    keep = os.environ.get("QSDC_TORCH_ONNX_DIR")
    if keep:
        shutil.copy(path, os.path.join(keep, "torch_%s.onnx" % name))
        np.save(os.path.join(keep, "torch_%s_x.npy" % name), x)


TRAIN = ("train:\n  data: {format: npy, train_images: x.npy, train_labels: y.npy}\n"
         "  batch: 8\n  epochs: 2\n  seed: 2\n  optimizer: {type: adam, lr: 0.01}\n")


class QsdcMlp(nn.Module):
    """The torch.nn model of QSDC_MODELS' mlp, its names those of the nodes."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 12)
        self.bn = nn.BatchNorm1d(12)
        self.fc2 = nn.Linear(12, 3)

    def forward(self, x):
        h = torch.relu(self.bn(self.fc1(torch.flatten(x, 1))))
        return torch.softmax(self.fc2(h), dim=1)


class QsdcCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 5, 3)
        self.fc = nn.Linear(5 * 2 * 2, 3)

    def forward(self, x):
        h = nn.functional.max_pool2d(torch.relu(self.bn(self.c1(x))), 2)
        return self.fc(torch.flatten(torch.tanh(self.c2(h)), 1))


class QsdcLstm(nn.Module):
    """Embedding, LSTM, the mean over each sequence's tokens (its padding,
    -1, only at its end), Linear."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 5)
        self.rnn = nn.LSTM(5, 7, batch_first=True)
        self.fc = nn.Linear(7, 3)

    def forward(self, ids):
        valid = (ids >= 0).unsqueeze(2).float()
        out, _ = self.rnn(self.emb(ids.clamp(min=0)))
        return self.fc((out * valid).sum(dim=1) / valid.sum(dim=1))


QSDC_MODELS = {
    "mlp": ("""name: mlp
input: {shape: [1, 4, 4]}
nodes:
  - {name: flat, op: flatten, inputs: input}
  - {name: fc1, op: dense, inputs: flat, units: 12}
  - {name: bn, op: batchnorm, inputs: fc1}
  - {name: r, op: relu, inputs: bn}
  - {name: drop, op: dropout, inputs: r, p: 0.8}
  - {name: fc2, op: dense, inputs: drop, units: 3}
  - {name: probs, op: softmax, inputs: fc2}
output: probs
""", QsdcMlp, "float", (1, 4, 4)),
    "cnn": ("""name: cnn
input: {shape: [2, 8, 8]}
nodes:
  - {name: c1, op: conv2d, inputs: input, filters: 4, kernel: 3, padding: same, bias: false}
  - {name: bn, op: batchnorm, inputs: c1}
  - {name: r, op: relu, inputs: bn}
  - {name: mp, op: maxpool, inputs: r, kernel: 2}
  - {name: q, op: qsd, inputs: mp, p: 0.75, sites: 4, q_cv: 0.3, share: channel}
  - {name: c2, op: conv2d, inputs: q, filters: 5, kernel: 3}
  - {name: t, op: tanh, inputs: c2}
  - {name: flat, op: flatten, inputs: t}
  - {name: fc, op: dense, inputs: flat, units: 3}
output: fc
""", QsdcCnn, "float", (2, 8, 8)),
    "lstm": ("""name: lstm
input: {shape: [6], dtype: int32}
nodes:
  - {name: emb, op: embedding, inputs: input, vocab: 20, dim: 5}
  - {name: rnn, op: lstm, inputs: emb, units: 7}
  - {name: mean, op: pool_sequence, inputs: rnn, mode: mean}
  - {name: fc, op: dense, inputs: mean, units: 3}
output: fc
""", QsdcLstm, "ids", (6,)),
}


def samples(rng, kind, shape, n):
    if kind == "ids":
        ids = rng.integers(0, 20, size=(n,) + shape).astype(np.int32)
        for i, length in enumerate(rng.integers(1, shape[0] + 1, size=n)):
            ids[i, length:] = -1
        return ids
    return rng.random((n,) + shape, dtype=np.float32)


@pytest.mark.parametrize("name", sorted(QSDC_MODELS))
def test_qsdc_npz_loads_into_torch(name, tmp_path):
    text, make, kind, shape = QSDC_MODELS[name]
    (tmp_path / "m.yaml").write_text(text + TRAIN)
    rng = np.random.default_rng(12)
    np.save(tmp_path / "x.npy", samples(rng, kind, shape, 32))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, size=32).astype(np.int64))
    ckpt = ["--checkpoint", tmp_path / "ckpt"]
    qsdc("train", tmp_path / "m.yaml", *ckpt)
    qsdc("export", tmp_path / "m.yaml", *ckpt, "-o", tmp_path / "w.npz")
    test = samples(rng, kind, shape, 20)
    np.save(tmp_path / "test.npy", test)
    qsdc("predict", tmp_path / "m.yaml", *ckpt, "--data", tmp_path / "test.npy", "-o",
         tmp_path / "p.npy")

    model = make()
    w = np.load(tmp_path / "w.npz")
    state = {k: torch.from_numpy(w[k]) for k in w.files}
    if name == "lstm":  # qsdc has one lstm bias: all of it in bias_ih_l0
        assert not w["rnn.bias_hh_l0"].any()
    # strict: every array of the .npz names a parameter or buffer of the
    # torch model, and every one of those (but batch norm's step count) is there
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (
        missing, unexpected)
    if "bn.running_mean" in state:  # trained: the statistics moved
        assert state["bn.running_mean"].abs().max() > 0
    with torch.no_grad():
        want = model.eval()(torch.from_numpy(test).long() if kind == "ids"
                            else torch.from_numpy(test)).numpy()
    assert max_diff(name + " (qsdc export -o w.npz)", np.load(tmp_path / "p.npy"),
                    want) <= TOLERANCE
