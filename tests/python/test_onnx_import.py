"""ONNX models from elsewhere run by qsdc: MLPs and CNNs written with the
onnx package's helpers as torch.onnx.export writes them (Gemm with transB,
Reshape or Flatten before the classifier, Constant shapes, Dropout and
Identity), imported by qsdc.Model("model.onnx") and by qsdc predict, must
give ONNX Runtime's outputs within 1e-4, and so must the MLP and the CNN
that torch.onnx.export wrote in test_torch_interop.py (QSDC_TORCH_ONNX_DIR,
which scripts/test runs first); an unsupported op is an error naming the
node and the op."""
import os
import subprocess

import numpy as np
import pytest

import qsdc

onnx = pytest.importorskip(
    "onnx", reason="onnx cannot be imported (pip install onnx): the ONNX import is not checked")
ort = pytest.importorskip(
    "onnxruntime", reason="onnxruntime cannot be imported (pip install onnxruntime): the ONNX "
    "import is not checked")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

TOLERANCE = 1e-4


def init(rng, name, *shape, positive=False):
    v = rng.standard_normal(shape).astype(np.float32) * 0.5
    return numpy_helper.from_array(np.abs(v) + 0.5 if positive else v, name)


def save(tmp_path, name, nodes, inits, in_shape, out_shape=(3,), opset=13):
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"] + in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"] + list(out_shape))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    path = tmp_path / (name + ".onnx")
    onnx.save(model, str(path))
    return path


def mlp(tmp_path, rng):
    """torch.nn.Sequential(Flatten, Linear(16, 12), ReLU, Dropout, Linear(12, 8),
    Tanh, Linear(8, 3)) then softmax, the last layer as MatMul + Add."""
    nodes = [
        helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(
            np.array([-1, 16], np.int64))),
        helper.make_node("Reshape", ["x", "shape"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["h1"], transB=1),
        helper.make_node("Relu", ["h1"], ["r1"]),
        helper.make_node("Dropout", ["r1"], ["d1"]),
        helper.make_node("Gemm", ["d1", "fc2.weight", "fc2.bias"], ["h2"], transB=1,
                         alpha=1.0, beta=1.0),
        helper.make_node("Tanh", ["h2"], ["t2"]),
        helper.make_node("Identity", ["t2"], ["i2"]),
        helper.make_node("MatMul", ["i2", "fc3.weight_t"], ["m3"]),
        helper.make_node("Add", ["m3", "fc3.bias"], ["z"]),
        helper.make_node("Softmax", ["z"], ["y"], axis=1),
    ]
    inits = [init(rng, "fc1.weight", 12, 16), init(rng, "fc1.bias", 12),
             init(rng, "fc2.weight", 8, 12), init(rng, "fc2.bias", 8),
             init(rng, "fc3.weight_t", 8, 3), init(rng, "fc3.bias", 3)]
    return save(tmp_path, "torch_mlp", nodes, inits, [1, 4, 4]), (1, 4, 4)


def cnn(tmp_path, rng):
    """Conv(2->4, 3, pad 1) + BatchNorm + ReLU + MaxPool(2), a residual
    Conv(4->4, 3, pad 1) + Sigmoid added, AvgPool(3, stride 1, pad 1),
    Conv 1x1 without bias, global average pooling, Flatten, Linear(4, 3)."""
    nodes = [
        helper.make_node("Conv", ["x", "c1.weight", "c1.bias"], ["c1"], kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn.weight", "bn.bias", "bn.mean",
                                                "bn.var"], ["b1"], epsilon=1e-3),
        helper.make_node("Relu", ["b1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "c2.weight", "c2.bias"], ["c2"], kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c2"], ["s2"]),
        helper.make_node("Add", ["p1", "s2"], ["sum"]),
        helper.make_node("AveragePool", ["sum"], ["a3"], kernel_shape=[3, 3], strides=[1, 1],
                         pads=[1, 1, 1, 1], count_include_pad=1),
        helper.make_node("Conv", ["a3", "c4.weight"], ["c4"], kernel_shape=[1, 1]),
        helper.make_node("GlobalAveragePool", ["c4"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], transB=1),
    ]
    inits = [init(rng, "c1.weight", 4, 2, 3, 3), init(rng, "c1.bias", 4),
             init(rng, "bn.weight", 4), init(rng, "bn.bias", 4), init(rng, "bn.mean", 4),
             init(rng, "bn.var", 4, positive=True),
             init(rng, "c2.weight", 4, 4, 3, 3), init(rng, "c2.bias", 4),
             init(rng, "c4.weight", 4, 4, 1, 1),
             init(rng, "fc.weight", 3, 4), init(rng, "fc.bias", 3)]
    return save(tmp_path, "torch_cnn", nodes, inits, [2, 8, 8]), (2, 8, 8)


@pytest.mark.parametrize("make", [mlp, cnn], ids=["mlp", "cnn"])
def test_onnx_models_run_as_onnx_runtime_runs_them(make, device, tmp_path):
    rng = np.random.default_rng(4)
    path, shape = make(tmp_path, rng)
    x = rng.random((10,) + shape, dtype=np.float32)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    with qsdc.Model(path, device=device) as m:
        got = m.predict(x)
    diff = float(np.abs(got - want).max())
    print("%s imported: max abs difference against ONNX Runtime %.3g" % (path.name, diff))
    assert diff <= TOLERANCE

    np.save(tmp_path / "x.npy", x)
    exe = os.environ.get("QSDC_EXE", "qsdc")
    subprocess.run([exe, "predict", str(path), "--data", str(tmp_path / "x.npy"), "-o",
                    str(tmp_path / "p.npy")] + (["--device", device] if device else []),
                   check=True, capture_output=True)
    assert np.abs(np.load(tmp_path / "p.npy") - want).max() <= TOLERANCE
    labels = want.argmax(axis=1).astype(np.int64)
    np.save(tmp_path / "labels.npy", labels)
    infer = subprocess.run([exe, "infer", str(path), "--data", str(tmp_path / "x.npy"),
                            "--labels", str(tmp_path / "labels.npy")]
                           + (["--device", device] if device else []),
                           check=True, capture_output=True, text=True).stdout
    assert "accuracy: 100.00% (10/10)" in infer and "untrained" not in infer, infer


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_torch_exported_models_run_as_onnx_runtime_runs_them(name, device, tmp_path):
    keep = os.environ.get("QSDC_TORCH_ONNX_DIR")
    path = os.path.join(keep or "", "torch_%s.onnx" % name)
    if not keep or not os.path.exists(path):
        pytest.skip("no torch_%s.onnx in QSDC_TORCH_ONNX_DIR: test_torch_interop.py (Debian's "
                    "PyTorch) writes it there first, as scripts/test runs them" % name)
    x = np.load(os.path.join(keep, "torch_%s_x.npy" % name))
    want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    with qsdc.Model(path, device=device) as m:
        got = m.predict(x)
    diff = float(np.abs(got - want).max())
    print("torch.onnx.export's %s: max abs difference against ONNX Runtime %.3g" % (name, diff))
    assert diff <= TOLERANCE
    exe = os.environ.get("QSDC_EXE", "qsdc")
    subprocess.run([exe, "predict", path, "--data", os.path.join(keep, "torch_%s_x.npy" % name),
                    "-o", str(tmp_path / "p.npy")] + (["--device", device] if device else []),
                   check=True, capture_output=True)
    assert np.abs(np.load(tmp_path / "p.npy") - want).max() <= TOLERANCE


def test_unsupported_op_names_node_and_op(device, tmp_path):
    rng = np.random.default_rng(1)
    nodes = [helper.make_node("Gemm", ["x", "w"], ["h"], transB=1),
             helper.make_node("LeakyRelu", ["h"], ["y"], name="act1")]
    path = save(tmp_path, "leaky", nodes, [init(rng, "w", 3, 5)], [5])
    with pytest.raises(qsdc.Error, match=r"node 'act1' \(op LeakyRelu\): this op is not "
                       r"supported"):
        qsdc.Model(path, device=device)
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[1, 1], group=2)]
    path = save(tmp_path, "grouped", nodes, [init(rng, "w", 2, 1, 1, 1)], [2, 3, 3],
                (2, 3, 3))
    with pytest.raises(qsdc.Error, match=r"\(op Conv\): grouped convolutions"):
        qsdc.Model(path, device=device)
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07junk that is no protobuf \xff\xff")
    with pytest.raises(qsdc.Error, match="junk.onnx"):
        qsdc.Model(tmp_path / "junk.onnx", device=device)
