"""qsdc from Python: train, evaluate and run a qsdc model on any OpenCL device
with NumPy arrays.

    import numpy as np, qsdc
    print(qsdc.devices())
    m = qsdc.Model("models/mlp_fashion_qsd.yaml", device="cpu")
    m.fit(x_train, y_train, epochs=2, validation=(x_test, y_test))
    probs = m.predict(x_test)            # [n, classes] float32
    print(m.evaluate(x_test, y_test))    # {'accuracy': ..., 'loss': ..., ...}
    m.save("ckpt")                       # qsdc eval MODEL --checkpoint ckpt reads it
    m.export_onnx("model.onnx")          # for onnxruntime and other frameworks

The model runs as qsdc compiles it: fused OpenCL kernels on the device,
weights kept there between calls. Every failure raises qsdc.Error with
qsdc's message."""
import ctypes
import sys

import numpy as np

from . import _capi

__all__ = ["Error", "Model", "devices"]

_lib = None


def _library():
    global _lib
    if _lib is None:
        _lib = _capi.load()
    return _lib


class Error(Exception):
    """A qsdc call failed; str(e) is qsdc's message (for model files
    "path:line:col: error: ...")."""


def _check(rc, err):
    if rc < 0:
        raise Error(err.message.decode("utf-8", "replace"))
    return rc


def _text(field):
    return field.decode("utf-8", "replace")


def devices():
    """The OpenCL devices, as `qsdc devices` lists them: a list of dicts with
    index, name, vendor, version, platform, type ("cpu", "gpu", ...),
    compute_units, memory_bytes and default (the one device=None picks)."""
    lib = _library()
    err = _capi.Error()
    infos = (_capi.DeviceInfo * 64)()
    n = _check(lib.qsdc_get_devices(infos, 64, ctypes.byref(err)), err)
    return [{"index": d.index, "name": _text(d.name), "vendor": _text(d.vendor),
             "version": _text(d.version), "platform": _text(d.platform),
             "type": _text(d.type), "compute_units": d.compute_units,
             "memory_bytes": d.memory_bytes, "default": bool(d.is_default)}
            for d in infos[:min(n, 64)]]


class _Progress:
    """The per-step callback of fit: a progress line on stderr, and Ctrl-C
    turned into a stop after the current step."""

    def __init__(self, epochs, first_epoch, verbose):
        self.epochs, self.first_epoch, self.verbose = epochs, first_epoch, verbose
        self.interrupt = None
        self.fn = _capi.PROGRESS_FN(self._call)

    def _call(self, ctx, epoch, step, steps, loss):
        try:
            if self.verbose:
                width = 30
                done = width * step // max(steps, 1)
                sys.stderr.write("\repoch %d/%d [%s%s] %d/%d  loss %.4f" % (
                    self.first_epoch + epoch + 1, self.first_epoch + self.epochs,
                    "=" * done, " " * (width - done), step, steps, loss))
                if step == steps:
                    sys.stderr.write("\n")
                sys.stderr.flush()
            return 0
        except KeyboardInterrupt as e:
            self.interrupt = e
            return 1


class Model:
    """A model file (model.yaml), compiled bundle folder or ONNX model
    (model.onnx: an MLP or CNN, with its weights) opened on one OpenCL
    device: its compiled plans, the programs built for them and its
    weights, which stay on the device.

    device: an index, "cpu", "gpu" or part of a device's name (see
    devices()); None picks the first GPU, else the first CPU.
    checkpoint: a folder that `qsdc train --checkpoint` or save() wrote;
    without one the weights are the model's seeded initialisation once
    fit() or init_weights() needs them.
    batch: samples per device pass; 0: the model's."""

    def __init__(self, model, device=None, checkpoint=None, batch=0):
        lib = _library()
        self._s = ctypes.c_void_p()
        opts = _capi.OpenOptions(device=device.encode() if device is not None else None,
                                 checkpoint=str(checkpoint).encode() if checkpoint else None,
                                 batch=batch)
        err = _capi.Error()
        _check(lib.qsdc_session_open(str(model).encode(), ctypes.byref(opts),
                                     ctypes.byref(self._s), ctypes.byref(err)), err)
        self._epochs = 0

    def close(self):
        """Releases the device's buffers and programs; the model is unusable after."""
        # _lib is None only when no Model was ever opened, or at interpreter exit
        if getattr(self, "_s", None) and _lib is not None:
            _lib.qsdc_session_close(self._s)
            self._s = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _session(self):
        if not self._s:
            raise Error("the model was closed")
        return self._s

    def _call(self, name, *args):
        err = _capi.Error()
        return _check(getattr(_library(), name)(self._session(), *args, ctypes.byref(err)), err)

    @property
    def info(self):
        """The model and device: name, device, platform, input_shape,
        input_size, output_size, probabilities (whether outputs are a
        softmax's), batch, params, has_weights, steps and seed."""
        i = _capi.SessionInfo()
        self._call("qsdc_session_get_info", ctypes.byref(i))
        return {"name": _text(i.model), "device": _text(i.device),
                "platform": _text(i.platform),
                "input_shape": tuple(i.input_shape[:i.input_rank]),
                "input_size": i.input_size, "output_size": i.output_size,
                "probabilities": bool(i.output_is_probabilities), "batch": i.batch,
                "params": i.n_params, "has_weights": bool(i.has_weights), "steps": i.steps,
                "seed": i.seed}

    def _inputs(self, x):
        """x as C-contiguous float32 [n, input_size], from [n, *input_shape]
        or [n, input_size]."""
        info = self.info
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim >= 1 and x.shape[1:] in (info["input_shape"], (info["input_size"],)):
            return x.reshape(x.shape[0], info["input_size"])
        raise Error("inputs of shape %s: the model takes [n, %s] (or [n, %d])" % (
            list(x.shape), ", ".join(str(d) for d in info["input_shape"]), info["input_size"]))

    @staticmethod
    def _labels(y, n):
        y = np.ascontiguousarray(y, dtype=np.int32).reshape(-1)
        if y.shape[0] != n:
            raise Error("%d labels for %d samples" % (y.shape[0], n))
        return y

    def fit(self, x, y, epochs=1, lr=None, seed=None, max_steps=None, validation=None,
            verbose=True):
        """Trains on samples x ([n, *input_shape] or [n, input_size]) with
        class labels y ([n] integers): epochs passes, each a shuffle and
        n // batch steps of the model's optimiser, going on from the weights
        and optimiser state of earlier calls. lr: the base learning rate
        (None: the model's, its schedule over these epochs); seed: of the
        shuffles and masks (None: the model's); max_steps: stop after as
        many steps. validation=(xv, yv) is scored after training. A progress
        bar goes to stderr when verbose; Ctrl-C stops after the current step
        and raises KeyboardInterrupt, the weights trained so far kept.
        Returns a dict: epochs, steps, loss (the last epoch's mean),
        seconds, samples_per_s and, with validation, val_accuracy and
        val_loss."""
        x = self._inputs(x)
        y = self._labels(y, x.shape[0])
        progress = _Progress(epochs, self._epochs, verbose)
        opts = _capi.FitOptions(epochs=epochs, lr=lr or 0.0, seed_set=seed is not None,
                                seed=seed or 0, max_steps=max_steps or 0,
                                progress=progress.fn)
        r = _capi.TrainResult()
        self._call("qsdc_session_train_arrays", x.ctypes.data_as(_capi.c_float_p), x.size,
                   y.ctypes.data_as(_capi.c_int32_p), x.shape[0], ctypes.byref(opts),
                   ctypes.byref(r))
        self._epochs += r.epochs_done
        if progress.interrupt:
            raise progress.interrupt
        out = {"epochs": r.epochs_done, "steps": r.steps, "loss": r.train_loss,
               "seconds": r.seconds, "samples_per_s": r.samples_per_s}
        if validation is not None:
            v = self.evaluate(*validation)
            out["val_accuracy"], out["val_loss"] = v["accuracy"], v["loss"]
        return out

    def evaluate(self, x=None, y=None):
        """Accuracy (percent), mean cross-entropy loss, count and correct on
        samples x with labels y; with neither, on the model file's own test
        data (a language model: its perplexity too)."""
        r = _capi.EvalResult()
        if x is None and y is None:
            self._call("qsdc_session_evaluate", ctypes.byref(r))
        else:
            x = self._inputs(x)
            y = self._labels(y, x.shape[0])
            self._call("qsdc_session_evaluate_arrays", x.ctypes.data_as(_capi.c_float_p),
                       x.size, y.ctypes.data_as(_capi.c_int32_p), x.shape[0], ctypes.byref(r))
        return {"accuracy": r.accuracy, "loss": r.loss, "count": r.count,
                "correct": r.correct, "perplexity": r.perplexity, "seconds": r.seconds}

    def predict(self, x):
        """The outputs for samples x as float32 [n, output_size]: class
        probabilities when the model ends in softmax, else its raw outputs."""
        x = self._inputs(x)
        out = np.empty((x.shape[0], self.info["output_size"]), dtype=np.float32)
        self._call("qsdc_session_predict", x.ctypes.data_as(_capi.c_float_p), x.size,
                   x.shape[0], out.ctypes.data_as(_capi.c_float_p), out.size)
        return out

    def init_weights(self, seed=None):
        """The model's seeded initialisation (seed None: the model's seed)."""
        self._call("qsdc_session_init_weights", self.info["seed"] if seed is None else seed)

    def save(self, directory):
        """Writes directory/checkpoint.bin, as `qsdc train --checkpoint` does."""
        self._call("qsdc_session_save", str(directory).encode())

    def load(self, directory):
        """Takes the weights of a checkpoint folder written for this model."""
        self._call("qsdc_session_load", str(directory).encode())

    def export_onnx(self, path):
        """Writes the inference graph with the weights as a standard ONNX
        model (opset 13; dropout and qsd, the identity at inference, left
        out): input "input" ([n, *input_shape] float32, or int32 token ids),
        output named as the model's output layer. onnxruntime runs it:

            sess = onnxruntime.InferenceSession(path)
            probs = sess.run(None, {"input": x})[0]"""
        self._call("qsdc_session_export_onnx", str(path).encode())

    def export_npz(self, path):
        """Writes every parameter to a NumPy .npz in PyTorch's names and
        layouts (dense weight [out, in]; lstm weight_ih_l0, weight_hh_l0,
        bias_ih_l0, bias_hh_l0; batchnorm running_mean, running_var): the
        state_dict of the equivalent torch.nn model."""
        self._call("qsdc_session_export_npz", str(path).encode())

    def import_npz(self, path):
        """Takes the weights from an .npz that export_npz wrote, or a
        PyTorch state_dict saved with numpy.savez (or savez_compressed) in
        those names and layouts; each array's shape is checked by name.
        The weights are then these, at step 0."""
        self._call("qsdc_session_import_npz", str(path).encode())
