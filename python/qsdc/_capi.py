"""The C API of include/qsdc.h through ctypes: its structures, field for
field in the header's order (tests/python/test_capi_layout.py compares
every size and offset with the C compiler's), and its functions' types."""
import ctypes
import ctypes.util
import os

c_int64_p = ctypes.POINTER(ctypes.c_int64)
c_float_p = ctypes.POINTER(ctypes.c_float)
c_int32_p = ctypes.POINTER(ctypes.c_int32)


class Error(ctypes.Structure):
    _fields_ = [("message", ctypes.c_char * 1024)]


class DeviceInfo(ctypes.Structure):
    _fields_ = [
        ("index", ctypes.c_int),
        ("name", ctypes.c_char * 256),
        ("vendor", ctypes.c_char * 128),
        ("version", ctypes.c_char * 128),
        ("platform", ctypes.c_char * 128),
        ("type", ctypes.c_char * 16),
        ("compute_units", ctypes.c_uint),
        ("memory_bytes", ctypes.c_uint64),
        ("is_default", ctypes.c_int),
    ]


class OpenOptions(ctypes.Structure):
    _fields_ = [
        ("device", ctypes.c_char_p),
        ("checkpoint", ctypes.c_char_p),
        ("batch", ctypes.c_int64),
        ("program_binary", ctypes.c_char_p),
        ("profiling", ctypes.c_int),
    ]


class SessionInfo(ctypes.Structure):
    _fields_ = [
        ("model", ctypes.c_char * 64),
        ("device", ctypes.c_char * 256),
        ("platform", ctypes.c_char * 128),
        ("input_rank", ctypes.c_int),
        ("input_shape", ctypes.c_int64 * 4),
        ("input_size", ctypes.c_int64),
        ("output_size", ctypes.c_int64),
        ("output_is_probabilities", ctypes.c_int),
        ("batch", ctypes.c_int64),
        ("n_params", ctypes.c_int64),
        ("has_weights", ctypes.c_int),
        ("steps", ctypes.c_int64),
        ("seed", ctypes.c_uint64),
        ("program", ctypes.c_char * 16),
    ]


# int (*progress)(void *ctx, int64_t epoch, int64_t step, int64_t steps_per_epoch,
#                 double loss)
PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                               ctypes.c_int64, ctypes.c_double)


class FitOptions(ctypes.Structure):
    _fields_ = [
        ("epochs", ctypes.c_int64),
        ("lr", ctypes.c_double),
        ("seed_set", ctypes.c_int),
        ("seed", ctypes.c_uint64),
        ("max_steps", ctypes.c_int64),
        ("progress", PROGRESS_FN),
        ("progress_ctx", ctypes.c_void_p),
    ]


class TrainResult(ctypes.Structure):
    _fields_ = [
        ("epochs_done", ctypes.c_int64),
        ("steps", ctypes.c_int64),
        ("train_loss", ctypes.c_double),
        ("val_accuracy", ctypes.c_double),
        ("test_accuracy", ctypes.c_double),
        ("seconds", ctypes.c_double),
        ("samples_per_s", ctypes.c_double),
        ("interrupted", ctypes.c_int),
        ("train_samples", ctypes.c_int64),
        ("test_samples", ctypes.c_int64),
        ("test_perplexity", ctypes.c_double),
    ]


class EvalResult(ctypes.Structure):
    _fields_ = [
        ("count", ctypes.c_int64),
        ("correct", ctypes.c_int64),
        ("accuracy", ctypes.c_double),
        ("loss", ctypes.c_double),
        ("perplexity", ctypes.c_double),
        ("seconds", ctypes.c_double),
    ]


# The structures above by their names in qsdc.h, for the layout test.
STRUCTS = {
    "qsdc_error": Error,
    "qsdc_device_info": DeviceInfo,
    "qsdc_open_options": OpenOptions,
    "qsdc_session_info": SessionInfo,
    "qsdc_fit_options": FitOptions,
    "qsdc_train_result": TrainResult,
    "qsdc_eval_result": EvalResult,
}

_P = ctypes.POINTER
_SESSION = ctypes.c_void_p
_ERR = _P(Error)
# name: (argument types); every function returns int (0 or -1, or a count)
_FUNCTIONS = {
    "qsdc_get_devices": (_P(DeviceInfo), ctypes.c_int, _ERR),
    "qsdc_session_open": (ctypes.c_char_p, _P(OpenOptions), _P(_SESSION), _ERR),
    "qsdc_session_get_info": (_SESSION, _P(SessionInfo), _ERR),
    "qsdc_session_init_weights": (_SESSION, ctypes.c_uint64, _ERR),
    "qsdc_session_load": (_SESSION, ctypes.c_char_p, _ERR),
    "qsdc_session_save": (_SESSION, ctypes.c_char_p, _ERR),
    "qsdc_session_export_onnx": (_SESSION, ctypes.c_char_p, _ERR),
    "qsdc_session_export_npz": (_SESSION, ctypes.c_char_p, _ERR),
    "qsdc_session_import_npz": (_SESSION, ctypes.c_char_p, _ERR),
    "qsdc_session_train_arrays": (_SESSION, c_float_p, ctypes.c_size_t, c_int32_p,
                                  ctypes.c_int64, _P(FitOptions), _P(TrainResult), _ERR),
    "qsdc_session_evaluate": (_SESSION, _P(EvalResult), _ERR),
    "qsdc_session_evaluate_arrays": (_SESSION, c_float_p, ctypes.c_size_t, c_int32_p,
                                     ctypes.c_int64, _P(EvalResult), _ERR),
    "qsdc_session_predict": (_SESSION, c_float_p, ctypes.c_size_t, ctypes.c_int64, c_float_p,
                             ctypes.c_size_t, _ERR),
}


def library_path():
    """QSDC_LIBRARY when set, else the libqsdc.so installed inside this
    package (pip install), else the system's (meson install)."""
    path = os.environ.get("QSDC_LIBRARY")
    if path:
        return path
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libqsdc.so")
    if os.path.exists(here):
        return here
    found = ctypes.util.find_library("qsdc")
    if found:
        return found
    raise OSError("libqsdc.so not found: install the package with `pip install .` from the "
                  "qsdc checkout, or set QSDC_LIBRARY to the library's path")


def load():
    lib = ctypes.CDLL(library_path())
    for name, argtypes in _FUNCTIONS.items():
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        fn.restype = ctypes.c_int
    lib.qsdc_session_close.argtypes = (_SESSION,)
    lib.qsdc_session_close.restype = None
    return lib
