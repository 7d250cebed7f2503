/* qsdc: a graph compiler and OpenCL runtime for training neural networks
 * regularised with Quantal Synaptic Dilution. The one public header; every
 * name it declares starts with qsdc_, and libqsdc.so exports nothing else.
 * docs/api.md walks through it; examples/predict.c is a whole program.
 *
 *   qsdc_error err;
 *   qsdc_model *m;
 *   if (qsdc_model_load("model.yaml", &m, &err) < 0) { puts(err.message); ... }
 *   qsdc_train_options o = {.epochs = 5, .checkpoint_dir = "ckpt"};
 *   qsdc_train_result r;
 *   if (qsdc_train(m, &o, &r, &err) < 0) ...
 *   qsdc_model_free(m);
 */
#ifndef QSDC_H
#define QSDC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QSDC_VERSION "0.1.0"

/* Marks what libqsdc.so exports: the library is built with
 * -fvisibility=hidden, so everything else stays inside it. */
#if defined(__GNUC__)
#define QSDC_API __attribute__((visibility("default")))
#else
#define QSDC_API
#endif

/* Errors are values: every fallible call returns 0 or -1 and fills this. The
 * message names its origin: "path:line:col: error: ..." for model files,
 * "path: offset N: ..." for data files, "clCall: CL_ERROR_NAME" for OpenCL. */
typedef struct qsdc_error {
    char message[1024];
} qsdc_error;

/* A parsed and validated model file. */
typedef struct qsdc_model qsdc_model;

QSDC_API int qsdc_model_load(const char *path, qsdc_model **out, qsdc_error *err);
QSDC_API void qsdc_model_free(qsdc_model *m);

/* Writes the compiled bundle (kernels.cl, plan.yaml, graph.dot, and with
 * training also train.cl) to dir, atomically. batch 0: the model's. */
QSDC_API int qsdc_compile(const qsdc_model *m, const char *dir, int64_t batch, int training,
                          qsdc_error *err);

/* The OpenCL devices, one per line as `qsdc devices` prints them, written to
 * buf (truncated to cap). Returns the number of devices, or -1. */
QSDC_API int qsdc_list_devices(char *buf, size_t cap, qsdc_error *err);

typedef struct qsdc_train_options {
    const char *device;          /* index, "cpu", "gpu" or part of a name; NULL: default */
    int64_t epochs, batch;       /* 0: the model's */
    int seed_set;
    uint64_t seed;
    double lr;                   /* 0: the model's */
    const char *checkpoint_dir;  /* NULL: no checkpoints */
    int resume;
    const char *metrics_path;    /* NULL: none */
    int64_t max_steps;           /* 0: no limit */
    int quiet;                   /* no progress bar */
    int check_finite;            /* stop at the first NaN or Inf, naming the node,
                                    op and step (qsdc train --check-finite) */
} qsdc_train_options;

typedef struct qsdc_train_result {
    int64_t epochs_done, steps;
    double train_loss, val_accuracy, test_accuracy; /* accuracies in percent */
    double seconds, samples_per_s;
} qsdc_train_result;

/* Trains with the model's train: section, overridden by o (may be NULL). */
QSDC_API int qsdc_train(qsdc_model *m, const qsdc_train_options *o, qsdc_train_result *out,
                        qsdc_error *err);

/* ---- Sessions --------------------------------------------------------
 * A session is one model on one OpenCL device: its compiled inference plan
 * (and, from the first training call, its training plan), the programs
 * built for them and the weights, which stay on the device. Predictions and
 * evaluations run the compiled plan there. Every call returns 0 or -1 and
 * fills err (which may be NULL); qsdc_session_last_error keeps the message
 * too. A session is not thread-safe: use one per thread.
 *
 *   qsdc_open_options o = {.device = "cpu", .checkpoint = "ckpt"};
 *   qsdc_session *s;
 *   if (qsdc_session_open("model.yaml", &o, &s, &err) < 0) { puts(err.message); ... }
 *   float probs[10];
 *   if (qsdc_session_predict(s, image, 784, 1, probs, 10, &err) < 0) ...
 *   qsdc_session_close(s);
 */
typedef struct qsdc_session qsdc_session;

typedef struct qsdc_open_options {
    const char *device;      /* index, "cpu", "gpu" or part of a name (as qsdc_list_devices
                                lists them); NULL: the first GPU, else the first CPU */
    const char *checkpoint;  /* a checkpoint folder (qsdc train --checkpoint DIR, or
                                qsdc_session_save) to take the weights from; NULL: the
                                session has no weights until it loads, initialises or
                                trains them */
    int64_t batch;           /* samples per pass of the device plans; 0: the model's */
} qsdc_open_options;

/* model: a model file (model.yaml) or a bundle folder (qsdc MODEL.yaml -o
 * DIR: its plans and program binaries are used). o may be NULL. */
QSDC_API int qsdc_session_open(const char *model, const qsdc_open_options *o,
                               qsdc_session **out, qsdc_error *err);
QSDC_API void qsdc_session_close(qsdc_session *s);
/* The message of the session's last call: "" when it succeeded. */
QSDC_API const char *qsdc_session_last_error(const qsdc_session *s);

typedef struct qsdc_session_info {
    char model[64];               /* the model's name */
    char device[256], platform[128];
    int input_rank;               /* dims of one sample */
    int64_t input_shape[4];
    int64_t input_size;           /* floats per sample: the product of input_shape */
    int64_t output_size;          /* floats of output per sample: a classifier's classes */
    int output_is_probabilities;  /* 1 when the model ends in softmax, else 0 (logits) */
    int64_t batch;                /* samples per device pass */
    int64_t n_params;             /* floats in the parameter allocation */
    int has_weights;
    int64_t steps;                /* optimiser steps behind the weights (0: initialised) */
    uint64_t seed;                /* the model's seed (train: seed) */
} qsdc_session_info;

QSDC_API int qsdc_session_get_info(qsdc_session *s, qsdc_session_info *out, qsdc_error *err);

/* Weights: seeded initialisation (what training starts from; qsdc train
 * uses the model's seed, qsdc_session_info.seed), or the parameters of a
 * checkpoint folder, which must have been written for this model. save
 * writes DIR/checkpoint.bin (creating DIR) in the format qsdc train writes,
 * so `qsdc eval MODEL --checkpoint DIR` reads it too. */
QSDC_API int qsdc_session_init_weights(qsdc_session *s, uint64_t seed, qsdc_error *err);
QSDC_API int qsdc_session_load(qsdc_session *s, const char *dir, qsdc_error *err);
QSDC_API int qsdc_session_save(qsdc_session *s, const char *dir, qsdc_error *err);

/* Trains as qsdc_train does, on the model's train: data with its epochs,
 * schedule, validation split and augmentation (o may be NULL), on the
 * session's device (o->device must be NULL or the session's), starting from
 * the session's weights when it has them (the optimiser state from zero),
 * else from the seeded initialisation, or with o->resume from the
 * checkpoint in o->checkpoint_dir. The trained weights stay in the session.
 * Prints progress and one line per epoch to stdout as qsdc_train does. */
QSDC_API int qsdc_session_train(qsdc_session *s, const qsdc_train_options *o,
                                qsdc_train_result *out, qsdc_error *err);

typedef struct qsdc_fit_options {
    int64_t epochs;     /* passes over the samples; 0: 1 */
    double lr;          /* base learning rate; 0: the model's (its schedule runs over
                           these epochs) */
    int seed_set;
    uint64_t seed;      /* of the shuffles and QSD masks; default: the model's seed */
    int64_t max_steps;  /* stop after this many optimiser steps; 0: no limit */
} qsdc_fit_options;

/* Trains a classifier on n caller samples: x holds n * input_size floats
 * (x_len at least that), labels n classes in [0, output_size). Each epoch
 * shuffles the samples and runs n / batch steps of the model's optimiser
 * (the rest of the samples wait for the next shuffle); n must be at least
 * one batch. Starts from the session's weights, or from the model's seeded
 * initialisation when it has none; the optimiser state carries over from
 * call to call. out (may be NULL): steps, epochs and the last epoch's mean
 * loss; the accuracies are 0 (not measured). */
QSDC_API int qsdc_session_train_arrays(qsdc_session *s, const float *x, size_t x_len,
                                       const int32_t *labels, int64_t n,
                                       const qsdc_fit_options *o, qsdc_train_result *out,
                                       qsdc_error *err);

typedef struct qsdc_eval_result {
    int64_t count, correct;  /* samples (a language model: tokens) and correct ones */
    double accuracy;         /* percent */
    double loss;             /* mean cross-entropy, -ln p(label), with p the softmax of the
                                outputs when the model does not end in softmax */
    double perplexity;       /* a language model's on its test split, else 0 */
    double seconds;
} qsdc_eval_result;

/* Scores the weights on the model's test data (train: data ...test...):
 * accuracy and loss, or a language model's perplexity. */
QSDC_API int qsdc_session_evaluate(qsdc_session *s, qsdc_eval_result *out, qsdc_error *err);
/* The same on n caller samples (x and labels as in qsdc_session_train_arrays). */
QSDC_API int qsdc_session_evaluate_arrays(qsdc_session *s, const float *x, size_t x_len,
                                          const int32_t *labels, int64_t n,
                                          qsdc_eval_result *out, qsdc_error *err);
/* The model's outputs for n samples (x: n * input_size floats, x_len at
 * least that) into out (out_len at least n * output_size floats), sample
 * after sample: class probabilities when the model ends in softmax, else
 * its raw outputs. */
QSDC_API int qsdc_session_predict(qsdc_session *s, const float *x, size_t x_len, int64_t n,
                                  float *out, size_t out_len, qsdc_error *err);

/* ---- Data files ------------------------------------------------------ */

typedef struct qsdc_data {
    int64_t count;        /* samples */
    int64_t sample_size;  /* floats per sample */
    float *x;             /* count * sample_size, bytes scaled to [0, 1] as training sees them */
    int32_t *labels;      /* count labels, or NULL */
} qsdc_data;

/* Reads IDX images (uint8; gzip-compressed or plain) and, when labels is
 * not NULL, their IDX labels, as qsdc train reads them. Free with
 * qsdc_data_free. */
QSDC_API int qsdc_data_load_idx(const char *images, const char *labels, qsdc_data *out,
                                qsdc_error *err);
QSDC_API void qsdc_data_free(qsdc_data *d);

#ifdef __cplusplus
}
#endif
#endif
