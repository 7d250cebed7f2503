/* What a training run reports after each epoch: the line it prints and the
 * JSON object it appends to --metrics. */
#ifndef QSDC_TRAIN_REPORT_H
#define QSDC_TRAIN_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

typedef struct epoch_report {
    uint64_t epoch;             /* 1-based: the epoch these batches belong to */
    int64_t epochs;             /* of the run */
    int64_t first, done, steps; /* batches [first, first + done) of steps */
    double train_loss;
    bool has_val, has_test;     /* a classifier's splits that were scored */
    double val_accuracy, val_loss, test_accuracy;
    bool language_model;        /* scored by perplexity (NAN: a split without a batch) */
    double val_perplexity, test_perplexity;
    double lr;                  /* the learning rate of the epoch's last step */
    double seconds, samples_per_s;
    int64_t tokens_per_sample;  /* a language model's steps, else 0 */
    double first_step_s;        /* of seconds, the run's first step (one-time kernel
                                 * setup on the device), or 0 when not in these */
} epoch_report;

/* The epoch's line on stdout. */
void epoch_report_print(const epoch_report *r);
/* Its line of metrics_path's JSON lines; f NULL: nothing. Flushed, so a
 * full disk shows here. A run stopped inside an epoch and resumed writes
 * two lines for it, which result_read_metrics joins. */
int epoch_report_write(FILE *f, const char *metrics_path, const epoch_report *r,
                       qsdc_error *err);
/* A line of metrics_path every --metrics-every steps, between the epochs'. */
typedef struct step_report {
    uint64_t step;              /* steps done in the run, this one included */
    uint64_t epoch;             /* 1-based: the epoch it belongs to */
    int64_t batch;              /* 1-based: its batch in the epoch */
    double train_loss;          /* mean of the epoch's steps since the last step line */
    double lr;                  /* of this step */
} step_report;

int step_report_write(FILE *f, const char *metrics_path, const step_report *r,
                      qsdc_error *err);
/* Fails naming metrics_path and errno's reason. */
int epoch_report_failed(const char *metrics_path, qsdc_error *err);

#endif
