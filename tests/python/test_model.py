"""The Python package against the library and the command line: training
lowers the loss, predictions agree with evaluation, with `qsdc eval` on the
saved checkpoint and bit for bit with `qsdc predict` on it, a reopened
checkpoint predicts bit for bit the same, and failures raise qsdc.Error
with qsdc's message."""
import os
import re
import subprocess

import numpy as np
import pytest

import qsdc

from conftest import CLASSES, SIDE, TEST


def qsdc_command():
    return os.environ.get("QSDC_EXE", "qsdc")


def test_devices_lists_the_default():
    ds = qsdc.devices()
    assert ds and sum(d["default"] for d in ds) == 1
    assert all(d["name"] and d["type"] for d in ds)


def test_fit_predict_evaluate_save(task, device, tmp_path, capsys):
    x, y = task["train"]
    xt, yt = task["test"]
    with qsdc.Model(task["model"], device=device) as m:
        info = m.info
        assert info["input_shape"] == (1, SIDE, SIDE) and info["output_size"] == CLASSES
        m.init_weights()
        before = m.evaluate(xt, yt)
        history = m.fit(x, y, epochs=3, validation=(xt, yt))
        assert history["epochs"] == 3 and history["steps"] == 3 * (len(y) // info["batch"])
        assert "epoch 3/3" in capsys.readouterr().err
        after = m.evaluate(xt, yt)
        assert after["loss"] < 0.5 * before["loss"]
        assert after["accuracy"] > 90 and history["val_accuracy"] == after["accuracy"]

        p = m.predict(xt)
        assert p.shape == (TEST, CLASSES) and p.dtype == np.float32
        assert np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
        assert int((p.argmax(axis=1) == yt).sum()) == after["correct"]
        # flat rows are the same samples
        assert np.array_equal(m.predict(xt.reshape(TEST, -1)), p)
        # the model file's own test data are these samples
        assert m.evaluate()["correct"] == after["correct"]

        ckpt = tmp_path / "ckpt"
        m.save(ckpt)
    cli = subprocess.run([qsdc_command(), "eval", task["model"], "--checkpoint", str(ckpt)]
                         + (["--device", device] if device else []),
                         capture_output=True, text=True, check=True).stdout
    assert re.search(r"accuracy: %.2f%% \(%d/%d\)" % (after["accuracy"], after["correct"], TEST),
                     cli), cli
    np.save(tmp_path / "xt.npy", xt)
    subprocess.run([qsdc_command(), "predict", task["model"], "--checkpoint", str(ckpt),
                    "--data", str(tmp_path / "xt.npy"), "-o", str(tmp_path / "p.npy")]
                   + (["--device", device] if device else []), capture_output=True, check=True)
    assert np.array_equal(np.load(tmp_path / "p.npy"), p)
    with qsdc.Model(task["model"], device=device, checkpoint=ckpt) as again:
        assert again.info["steps"] == history["steps"]
        assert np.array_equal(again.predict(xt), p)


def test_fit_goes_on_from_earlier_calls(task, device):
    x, y = task["train"]
    with qsdc.Model(task["model"], device=device) as m:
        first = m.fit(x, y, epochs=1, verbose=False)
        second = m.fit(x, y, epochs=1, verbose=False)
        assert m.info["steps"] == first["steps"] + second["steps"]
        assert second["loss"] < first["loss"]


def test_errors_carry_qsdcs_message(task, device, tmp_path):
    with pytest.raises(qsdc.Error, match="no-such-model.yaml"):
        qsdc.Model(tmp_path / "no-such-model.yaml", device=device)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ninput: {shape: [4]}\nlayers:\n  - {op: dense, units: -2}\n")
    with pytest.raises(qsdc.Error, match=r"bad.yaml:4:\d+: error"):
        qsdc.Model(bad, device=device)
    with qsdc.Model(task["model"], device=device) as m:
        with pytest.raises(qsdc.Error, match=r"the model takes \[n, 1, 4, 4\]"):
            m.predict(np.zeros((2, 5), dtype=np.float32))
        with pytest.raises(qsdc.Error, match="no weights|weights"):
            m.predict(np.zeros((2, 16), dtype=np.float32))
        with pytest.raises(qsdc.Error, match="3 labels for 2 samples"):
            m.fit(np.zeros((2, 16)), [0, 1, 2])
    with pytest.raises(qsdc.Error, match="closed"):
        m.predict(np.zeros((2, 16), dtype=np.float32))
