/* The session layer's internals: what a qsdc_session (include/qsdc.h) owns
 * and the helpers its files share. A session is the one place that sets up
 * a device, the plans, the model state and the executors for a client:
 *
 *   session.c        open, close, info, weights (initialise, load, save)
 *   session_run.c    predict, evaluate, train on caller arrays, data files
 *   session_kernels.c  the kernels of its plans and their timings
 *   session_measure.c  hidden-layer activity and parameter tensors (the lab's)
 *   session_masks.c    QSD masks drawn on its device (the lab's)
 *   onnx_export.c      the inference graph and weights as an ONNX model
 *   npz_weights.c      the weights in PyTorch's names and layouts (.npz), both ways
 *   api_model.c        models: info, layers, overrides, regularised copies
 *   bundle_compile.c   compiling a model to a bundle folder
 *   session_train.c  training on the model's data (train_model, on the
 *                    session's device) and the mapping of qsdc_train_options
 *                    shared with qsdc_train
 *
 * Weights live in one model_state on the device, shared by the inference
 * executor and, once the session trains, the training executor. Until the
 * training plan exists the state has no optimiser part; the first training
 * call makes a new state with it and rebuilds the inference executor on it
 * (executors bind the state's buffers when they are made). */
#ifndef QSDC_SESSION_H
#define QSDC_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "cl_runtime.h"
#include "data.h"
#include "executor.h"
#include "model.h"
#include "plan.h"
#include "train.h"

struct qsdc_model {
    model m;
    char bundle[QSDC_PATH_MAX];  /* the bundle folder loaded, "" for a model file */
};

struct qsdc_session {
    model m;
    bool model_loaded;
    char bundle[QSDC_PATH_MAX];  /* the bundle folder opened, "" for a model file */
    char device[256];            /* the device spec given to open, "" for the default */
    char binary[QSDC_PATH_MAX];  /* the inference program binary given to open, or "" */
    bool profiling;              /* the device queue times launches */
    cl_env env;
    plan ep;                     /* inference plan at the session's batch */
    executor ex;                 /* its program, built on first use (ex_ready) */
    bool ex_ready;
    plan tp;                     /* training plan, once train_ready */
    executor tx;
    bool train_ready;
    model_state ms;
    bool has_weights;
    char checkpoint[QSDC_PATH_MAX]; /* the folder the weights came from, or "": a text
                                       model's vocabulary and a standardised model's
                                       statistics are there */
    uint64_t epoch, step;        /* behind the weights: saved with them */
    /* optimiser state loaded or trained before the session's state had room
     * for it (no training plan yet): written when it gets one */
    float *pending_state;
    int64_t pending_n;
    /* set when a failure left the device objects half rebuilt: every later
     * call fails with this message */
    bool broken;
    qsdc_error broken_why;
    qsdc_error last;             /* qsdc_session_last_error */
};

/* Ends a public call: keeps e's message as the session's last error on
 * failure ("" on success), copies it to err (which may be NULL) and
 * returns rc. */
int session_finish(qsdc_session *s, int rc, const qsdc_error *e, qsdc_error *err);
/* The model file of path: path itself, or the model.yaml of the bundle
 * folder path (then *is_bundle). */
int session_model_path(const char *path, char out[QSDC_PATH_MAX], bool *is_bundle,
                       qsdc_error *e);
/* Builds the inference plan's program unless it is built: a session that
 * only profiles or trains never builds it. */
int session_ensure_inference(qsdc_session *s, qsdc_error *e);
/* Fails when the session is unusable (s NULL or broken). */
int session_usable(const qsdc_session *s, qsdc_error *e);
/* Fails, saying how to get some, when the session has no weights. */
int session_need_weights(const qsdc_session *s, qsdc_error *e);
/* Writes params (and, when state is not NULL and n_state matches the
 * session's state, the optimiser state; else the state is zeroed or kept
 * pending for the training plan) to the device; the session then has
 * weights. Takes ownership of state when it keeps it pending. */
int session_set_weights(qsdc_session *s, const float *params, float **state, int64_t n_state,
                        qsdc_error *e);
/* Makes the training plan and executor (once), moving the weights to a
 * model state with room for the optimiser. */
int session_ensure_training(qsdc_session *s, qsdc_error *e);
/* Whether the model's output layer is a softmax: outputs are probabilities. */
bool session_ends_in_softmax(const qsdc_session *s);
/* Seeded parameters in the session, step and epoch 0. */
int session_init_weights(qsdc_session *s, uint64_t seed, qsdc_error *e);

/* The session's weights read back from the device into *all (malloc'd:
 * the inference plan's param_elems floats; free it on failure too). */
int session_read_params(qsdc_session *s, float **all, qsdc_error *e);
/* The plan tensor of layer's parameter what ("weight", "bias", "running",
 * ...), or NULL when the layer has none. */
const plan_tensor *session_param(const qsdc_session *s, const char *layer, const char *what);

/* qsdc_session_load_data's data set: path read for s's model, fitted to its
 * input and checked against its classes. */
int session_load_data(qsdc_session *s, const char *path, const qsdc_data_options *o,
                      dataset *d, qsdc_error *e);

/* The model's test data for s (none, or a language model's corpus: an
 * error); d is emptied on failure. */
int session_load_test_data(qsdc_session *s, dataset *d, qsdc_error *e);

/* Launch l of a plan as qsdc_kernel_info describes it. */
void session_kernel_info(const plan_launch *l, qsdc_kernel_info *k);

/* qsdc_train_options to train_options (o may be NULL), and a train_summary
 * to qsdc_train_result: shared by qsdc_train and qsdc_session_train. */
void session_train_options(const qsdc_train_options *o, train_options *t);
void session_train_result(const train_summary *s, qsdc_train_result *out);

#endif
