/* qsdc: a graph compiler and OpenCL runtime for training neural networks
 * regularised with Quantal Synaptic Dilution. The one public header.
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

/* Errors are values: every fallible call returns 0 or -1 and fills this. The
 * message names its origin: "path:line:col: error: ..." for model files,
 * "path: offset N: ..." for data files, "clCall: CL_ERROR_NAME" for OpenCL. */
typedef struct qsdc_error {
    char message[1024];
} qsdc_error;

/* A parsed and validated model file. */
typedef struct qsdc_model qsdc_model;

int qsdc_model_load(const char *path, qsdc_model **out, qsdc_error *err);
void qsdc_model_free(qsdc_model *m);

/* Writes the compiled bundle (kernels.cl, plan.yaml, graph.dot, and with
 * training also train.cl) to dir, atomically. batch 0: the model's. */
int qsdc_compile(const qsdc_model *m, const char *dir, int64_t batch, int training,
                 qsdc_error *err);

/* The OpenCL devices, one per line as `qsdc devices` prints them, written to
 * buf (truncated to cap). Returns the number of devices, or -1. */
int qsdc_list_devices(char *buf, size_t cap, qsdc_error *err);

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
int qsdc_train(qsdc_model *m, const qsdc_train_options *o, qsdc_train_result *out,
               qsdc_error *err);

#ifdef __cplusplus
}
#endif
#endif
