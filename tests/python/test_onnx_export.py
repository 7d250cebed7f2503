"""ONNX export checked by a real client: every example model (seeded weights,
a small batch) and small generated models that cover every exported op
(trained a little, so that batch norm's running statistics move) are
exported, run by ONNX Runtime, and must give the outputs of qsdc's own
predict within 1e-4. The .npz export is checked against a NumPy forward
pass written the way PyTorch computes with those names and layouts."""
import glob
import os
import subprocess

import numpy as np
import pytest

import qsdc


@pytest.fixture(scope="module")
def ort():
    """onnxruntime, or the test is skipped saying why (the .npz tests need
    only NumPy)."""
    return pytest.importorskip(
        "onnxruntime", reason="onnxruntime cannot be imported (pip install onnxruntime; "
        "scripts/lib.sh's qsdc_python_tests installs it): the ONNX export is not checked")


TOLERANCE = 1e-4
ROOT = os.environ.get("QSDC_SOURCE_ROOT",
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def run_onnx(ort, path, feed):
    try:
        import onnx
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    except ImportError:
        pass
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": feed})[0]


def assert_close(name, got, want):
    diff = float(np.abs(got.reshape(want.shape) - want).max())
    print("%s: max abs difference against ONNX Runtime %.3g" % (name, diff))
    assert diff <= TOLERANCE, "%s: ONNX Runtime differs by %g" % (name, diff)


def padded_ids(rng, n, steps, vocab):
    """Token ids with each sequence's padding (-1) at its end, as qsdc's
    sentiment data are padded; every sequence keeps at least one token."""
    ids = rng.integers(0, vocab, size=(n, steps)).astype(np.int32)
    for i, length in enumerate(rng.integers(1, steps + 1, size=n)):
        ids[i, length:] = -1
    return ids


TRAIN = "train:\n  batch: 8\n  seed: 2\n  optimizer: {type: adam, lr: 0.01}\n"

# name: (model text, input kind, sample shape); the ops between them: dense
# (Gemm, and MatMul with and without Add over sequences), batchnorm over
# features and channels, relu, tanh, sigmoid (also over a sequence), softmax, flatten, add, conv2d
# (same, explicit and no padding, with and without bias), maxpool, avgpool
# (padded), global_avgpool, embedding, lstm (sequence and last), sequence
# pooling (mean and last, over padded ids and over floats), dropout and qsd.
GENERATED = {
    "mlp": ("""name: mlp
input: {shape: [1, 4, 4]}
layers:
  - flatten
  - {op: dense, units: 16}
  - batchnorm
  - relu
  - {op: dropout, p: 0.8}
  - {op: dense, units: 8}
  - tanh
  - {op: qsd, p: 0.5, sites: 2, q_cv: 0.3}
  - {op: dense, units: 3}
  - softmax
""", "float", (1, 4, 4)),
    "cnn": ("""name: cnn
input: {shape: [2, 8, 8]}
nodes:
  - {name: c1, op: conv2d, inputs: input, filters: 4, kernel: 3, padding: same, bias: false}
  - {name: bn, op: batchnorm, inputs: c1}
  - {name: r, op: relu, inputs: bn}
  - {name: mp, op: maxpool, inputs: r, kernel: 2}
  - {name: q, op: qsd, inputs: mp, p: 0.75, sites: 4, q_cv: 0.3, share: channel}
  - {name: c2, op: conv2d, inputs: q, filters: 5, kernel: 3, padding: 1}
  - {name: t, op: tanh, inputs: c2}
  - {name: ap, op: avgpool, inputs: t, kernel: 3, stride: 1, padding: 1}
  - {name: c3, op: conv2d, inputs: q, filters: 5, kernel: 1}
  - {name: s, op: sigmoid, inputs: c3}
  - {name: sum, op: add, inputs: [ap, s]}
  - {name: g, op: global_avgpool, inputs: sum}
  - {name: fc, op: dense, inputs: g, units: 3}
  - {name: probs, op: softmax, inputs: fc}
output: probs
""", "float", (2, 8, 8)),
    "lstm_mean": ("""name: lstm_mean
input: {shape: [6], dtype: int32}
layers:
  - {op: embedding, vocab: 20, dim: 5}
  - {op: qsd, p: 0.5, sites: 2, q_cv: 0.5, share: time}
  - {op: lstm, units: 7}
  - {op: pool_sequence, mode: mean}
  - {op: dense, units: 3}
""", "ids", (6,)),
    "lstm_pool_last": ("""name: lstm_pool_last
input: {shape: [6], dtype: int32}
layers:
  - {op: embedding, vocab: 20, dim: 5}
  - {op: lstm, units: 7}
  - {op: pool_sequence, mode: last}
  - {op: dense, units: 3}
""", "ids", (6,)),
    "lstm_return_last": ("""name: lstm_return_last
input: {shape: [6], dtype: int32}
layers:
  - {op: embedding, vocab: 20, dim: 5}
  - {op: lstm, units: 7, return: last}
  - {op: dense, units: 3}
  - softmax
""", "ids", (6,)),
    "sequence_floats": ("""name: sequence_floats
input: {shape: [5, 3]}
nodes:
  - {name: rnn, op: lstm, inputs: input, units: 4}
  - {name: steps, op: dense, inputs: rnn, units: 6}
  - {name: th, op: tanh, inputs: steps}
  - {name: mean, op: pool_sequence, inputs: th, mode: mean}
  - {name: last, op: pool_sequence, inputs: th, mode: last}
  - {name: both, op: add, inputs: [mean, last]}
  - {name: fc, op: dense, inputs: both, units: 3}
output: fc
""", "float", (5, 3)),
    "sequence_output": ("""name: sequence_output
input: {shape: [5, 3]}
layers:
  - {op: lstm, units: 4}
  - {op: dense, units: 6, bias: false}
  - sigmoid
""", "float", (5, 3)),
}


def samples(rng, kind, shape, n, vocab=20, pad=True):
    if kind == "ids":
        if pad:
            return padded_ids(rng, n, shape[0], vocab)
        return rng.integers(0, vocab, size=(n,) + shape).astype(np.int32)
    return rng.random((n,) + shape, dtype=np.float32)


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_models_match_onnx_runtime(name, device, tmp_path, ort):
    text, kind, shape = GENERATED[name]
    path = tmp_path / (name + ".yaml")
    path.write_text(text + TRAIN)
    rng = np.random.default_rng(11)
    x = samples(rng, kind, shape, 40)
    with qsdc.Model(path, device=device) as m:
        if name == "sequence_output":  # no classes to fit: seeded weights
            m.init_weights(seed=4)
        else:
            m.fit(x, rng.integers(0, 3, size=len(x)), epochs=2, verbose=False)
        want = m.predict(x)
        m.export_onnx(tmp_path / "model.onnx")
    assert_close(name, run_onnx(ort, tmp_path / "model.onnx", x), want)


EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "models", "*.yaml")))


@pytest.mark.parametrize("path", EXAMPLES, ids=[os.path.basename(p) for p in EXAMPLES])
def test_example_models_match_onnx_runtime(path, device, tmp_path, ort):
    """Seeded weights at batch 4. A language model (dense over every step)
    gets ids without padding: ONNX's LSTM writes zeros after a sequence's
    end where qsdc's holds its last state."""
    rng = np.random.default_rng(5)
    with qsdc.Model(path, device=device, batch=4) as m:
        info = m.info
        m.init_weights(seed=9)
        with open(path) as f:
            ids = any(line.startswith("input:") and "int32" in line for line in f)
        lm = "kjv" in os.path.basename(path)
        x = samples(rng, "ids" if ids else "float", info["input_shape"], 4, vocab=10000,
                    pad=not lm)
        want = m.predict(x)
        m.export_onnx(tmp_path / "model.onnx")
    assert_close(os.path.basename(path), run_onnx(ort, tmp_path / "model.onnx", x), want)


def test_cli_export_matches_cli_predict(device, tmp_path, ort):
    """qsdc export and qsdc predict on a saved checkpoint, and a clear error
    for a file name that is neither .onnx nor .npz."""
    text, kind, shape = GENERATED["mlp"]
    model = tmp_path / "mlp.yaml"
    model.write_text(text + TRAIN)
    rng = np.random.default_rng(3)
    x = samples(rng, kind, shape, 24)
    with qsdc.Model(model, device=device) as m:
        m.fit(x, rng.integers(0, 3, size=len(x)), verbose=False)
        m.save(tmp_path / "ckpt")
    np.save(tmp_path / "x.npy", x)
    exe = os.environ.get("QSDC_EXE", "qsdc")
    dev = ["--device", device] if device else []
    common = [str(model), "--checkpoint", str(tmp_path / "ckpt")] + dev
    subprocess.run([exe, "export"] + common + ["-o", str(tmp_path / "mlp.onnx")], check=True,
                   capture_output=True)
    subprocess.run([exe, "predict"] + common + ["--data", str(tmp_path / "x.npy"), "-o",
                                                str(tmp_path / "p.npy")], check=True,
                   capture_output=True)
    assert_close("mlp (qsdc export, qsdc predict)", run_onnx(ort, tmp_path / "mlp.onnx", x),
                 np.load(tmp_path / "p.npy"))
    bad = subprocess.run([exe, "export"] + common + ["-o", str(tmp_path / "mlp.pt")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "must end in .onnx or .npz" in bad.stderr


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def torch_lstm(x, w, prefix):
    """PyTorch's nn.LSTM (batch_first) over x [n, T, F] from its state_dict
    names: gates i, f, g, o."""
    wi, wh = w[prefix + "weight_ih_l0"], w[prefix + "weight_hh_l0"]
    b = w[prefix + "bias_ih_l0"] + w[prefix + "bias_hh_l0"]
    hidden = wh.shape[1]
    h = np.zeros((x.shape[0], hidden))
    c = np.zeros_like(h)
    out = []
    for t in range(x.shape[1]):
        gates = x[:, t] @ wi.T + h @ wh.T + b
        i, f, g, o = np.split(gates, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


def test_npz_holds_pytorchs_names_and_layouts(device, tmp_path):
    """The .npz's arrays, used as PyTorch uses its state_dict, give qsdc's
    outputs: an MLP with batch norm and an LSTM over float sequences."""
    rng = np.random.default_rng(8)
    text, kind, shape = GENERATED["mlp"]
    (tmp_path / "mlp.yaml").write_text(text + TRAIN)
    x = samples(rng, kind, shape, 16)
    with qsdc.Model(tmp_path / "mlp.yaml", device=device) as m:
        m.fit(x, rng.integers(0, 3, size=len(x)), epochs=2, verbose=False)
        want = m.predict(x)
        m.export_npz(tmp_path / "mlp.npz")
    w = np.load(tmp_path / "mlp.npz")
    assert sorted(w.files) == sorted([
        "dense1.weight", "dense1.bias", "batchnorm2.weight", "batchnorm2.bias",
        "batchnorm2.running_mean", "batchnorm2.running_var", "dense5.weight", "dense5.bias",
        "dense8.weight", "dense8.bias"])
    assert w["dense1.weight"].shape == (16, 16) and w["dense5.weight"].shape == (8, 16)
    assert w["batchnorm2.running_var"].min() > 0 and np.abs(w["batchnorm2.running_mean"]).max() > 0
    h = x.reshape(len(x), -1) @ w["dense1.weight"].T + w["dense1.bias"]
    h = ((h - w["batchnorm2.running_mean"]) / np.sqrt(w["batchnorm2.running_var"] + 1e-5)
         * w["batchnorm2.weight"] + w["batchnorm2.bias"])
    h = np.tanh(np.maximum(h, 0) @ w["dense5.weight"].T + w["dense5.bias"])
    logits = h @ w["dense8.weight"].T + w["dense8.bias"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    assert np.abs(e / e.sum(axis=1, keepdims=True) - want).max() <= TOLERANCE

    text, kind, shape = GENERATED["sequence_floats"]
    (tmp_path / "seq.yaml").write_text(text + TRAIN)
    x = samples(rng, kind, shape, 16)
    with qsdc.Model(tmp_path / "seq.yaml", device=device) as m:
        m.fit(x, rng.integers(0, 3, size=len(x)), verbose=False)
        want = m.predict(x)
        m.export_npz(tmp_path / "seq.npz")
    w = np.load(tmp_path / "seq.npz")
    assert w["rnn.weight_ih_l0"].shape == (16, 3) and w["rnn.weight_hh_l0"].shape == (16, 4)
    assert not w["rnn.bias_hh_l0"].any()
    th = np.tanh(torch_lstm(x, w, "rnn.") @ w["steps.weight"].T + w["steps.bias"])
    both = th.mean(axis=1) + th[:, -1]
    assert np.abs(both @ w["fc.weight"].T + w["fc.bias"] - want).max() <= TOLERANCE


def test_npz_loads_back(device, tmp_path):
    """import_npz takes export_npz's arrays (the same outputs), a
    savez_compressed state_dict whose lstm has both biases, and names a
    wrong shape; qsdc train --init-from starts from them."""
    rng = np.random.default_rng(6)
    text, kind, shape = GENERATED["lstm_mean"]
    model = tmp_path / "lstm.yaml"
    model.write_text(text + TRAIN)
    x = samples(rng, kind, shape, 16)
    with qsdc.Model(model, device=device) as m:
        m.fit(x, rng.integers(0, 3, size=len(x)), verbose=False)
        want = m.predict(x)
        m.export_npz(tmp_path / "w.npz")
    w = dict(np.load(tmp_path / "w.npz"))
    with qsdc.Model(model, device=device) as m:
        m.import_npz(tmp_path / "w.npz")
        assert np.array_equal(m.predict(x), want) and m.info["steps"] == 0
        half = w["lstm2.bias_ih_l0"] / 2
        np.savez_compressed(tmp_path / "split.npz", **dict(
            w, **{"lstm2.bias_ih_l0": half, "lstm2.bias_hh_l0": w["lstm2.bias_ih_l0"] - half}))
        m.import_npz(tmp_path / "split.npz")
        assert np.abs(m.predict(x) - want).max() <= TOLERANCE
        transposed = np.ascontiguousarray(w["dense4.weight"].T)
        np.savez(tmp_path / "bad.npz", **dict(w, **{"dense4.weight": transposed}))
        with pytest.raises(qsdc.Error, match=r"'dense4.weight' is float \[7, 3\], the model's is "
                           r"float \[3, 7\]"):
            m.import_npz(tmp_path / "bad.npz")
        np.savez(tmp_path / "extra.npz", **dict(w, stray=np.zeros(2, np.float32)))
        with pytest.raises(qsdc.Error, match="array 'stray' names no parameter"):
            m.import_npz(tmp_path / "extra.npz")
    exe = os.environ.get("QSDC_EXE", "qsdc")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", rng.integers(0, 3, size=len(x)))
    model.write_text(text + TRAIN.replace("train:\n", "train:\n  data: {format: npy, "
                                          "train_images: x.npy, train_labels: y.npy}\n"))
    run = subprocess.run([exe, "train", str(model), "--init-from", str(tmp_path / "w.npz"),
                          "--max-steps", "1"] + (["--device", device] if device else []),
                         capture_output=True, text=True)
    assert run.returncode == 0 and "train: 1 steps" in run.stdout, run.stderr
    run = subprocess.run([exe, "train", str(model), "--init-from", str(tmp_path / "bad.npz")],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "'dense4.weight' is float [7, 3]" in run.stderr


def test_export_without_weights_is_an_error(tmp_path, device):
    text, _, _ = GENERATED["mlp"]
    (tmp_path / "mlp.yaml").write_text(text + TRAIN)
    with qsdc.Model(tmp_path / "mlp.yaml", device=device) as m:
        with pytest.raises(qsdc.Error, match="weights"):
            m.export_onnx(tmp_path / "m.onnx")
        m.init_weights()
        with pytest.raises(qsdc.Error, match="no-such-dir"):
            m.export_npz(tmp_path / "no-such-dir" / "w.npz")
    assert not os.path.exists(tmp_path / "m.onnx")
