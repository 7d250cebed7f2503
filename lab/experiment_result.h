/* One experiment run's record: result.json, written when the run is
 * complete and read back by qsdc report. The file is JSON (which the YAML
 * reader also parses, so errors name line and column). */
#ifndef QSDC_EXPERIMENT_RESULT_H
#define QSDC_EXPERIMENT_RESULT_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "qsdc.h"
#include "source.h"
#include "stats.h"

typedef enum setting_kind { SETTING_NONE, SETTING_DROPOUT, SETTING_QSD } setting_kind;
/* How a QSD setting's p was chosen: given, or matched to dropout at p0 in
 * Pr[m = 0] (silence) or in Var[m] (variance). */
typedef enum match_kind { MATCH_EXPLICIT, MATCH_SILENCE, MATCH_VARIANCE } match_kind;

/* What a task's runs are scored by: a classifier's accuracy (%, higher is
 * better) or a language model's perplexity (lower is better). */
typedef enum result_metric { RESULT_ACCURACY, RESULT_PERPLEXITY } result_metric;

/* "none", "dropout", "qsd"; "explicit", "silence", "variance"; "accuracy",
 * "perplexity". */
const char *setting_kind_name(setting_kind k);
const char *match_kind_name(match_kind k);
const char *result_metric_name(result_metric m);
/* "val_accuracy", "test_perplexity", ...: where a split's score is. */
void result_metric_key(char out[32], const char *split, result_metric m);

#define RESULT_FORMAT "qsdc-experiment-result-1"
#define RESULT_BINS 50

/* One epoch; val and test are scored in the run's metric. */
typedef struct epoch_record {
    int64_t epoch;
    double train_loss, val, test, seconds;
    /* metrics lines only: the batches [first_batch, first_batch + batches)
     * the line covers; batches 0 where a line does not say */
    int64_t first_batch, batches;
} epoch_record;

/* A hidden layer's activity on the test set, per sample over its units. */
typedef struct activity_record {
    char layer[QSDC_NAME_MAX];
    int64_t units, samples;
    int64_t all_zero;          /* samples with every unit 0: Hoyer undefined */
    double zero_mean, hoyer_mean;
    histogram zero_hist, hoyer_hist; /* over [0, 1] */
} activity_record;

/* A parameter tensor's trained values ("dense1.weight"). */
typedef struct param_record {
    char tensor[2 * QSDC_NAME_MAX];
    summary s;
    histogram hist;            /* over its 0.1% to 99.9% quantiles */
} param_record;

/* Masks of a regularised layer drawn on the device, against QSD.md. */
typedef struct mask_record {
    char layer[QSDC_NAME_MAX];
    int64_t draws;
    double mean, var, pr_zero;              /* of the draws */
    double want_mean, want_var, want_pr_zero; /* analytic */
    histogram hist;            /* of the non-zero draws */
} mask_record;

#define RESULT_MAX_CANDIDATES 8

/* A strength chosen on validation: the candidates a setting swept (its
 * keep probability p, or the dropout_p a QSD setting is matched to), each
 * one's validation score after its last epoch, and the one kept. */
typedef struct selection_record {
    int n;                     /* 0: the setting had one strength */
    bool swept_p0;             /* dropout_p swept, else p */
    double strength[RESULT_MAX_CANDIDATES];
    double val[RESULT_MAX_CANDIDATES];
    int chosen;
} selection_record;

typedef struct run_result {
    char experiment[QSDC_NAME_MAX];
    char setting[QSDC_NAME_MAX];
    int setting_index;         /* position in the experiment file */
    setting_kind kind;
    match_kind match;
    qsdc_qsd_params qsd;
    uint64_t seed;
    bool quick;
    char fingerprint[17];      /* of the run's model, training and grid */
    char device[256];
    int64_t train_samples, test_samples; /* a language model's: sequences */
    double train_seconds;
    result_metric metric;      /* "metric" in the file; accuracy when absent */
    double test;               /* the metric on the test set after training */
    selection_record selection; /* "selection" in the file, absent when n is 0 */
    int n_epochs, n_activity, n_params, n_masks;
    epoch_record *epochs;
    activity_record *activity;
    param_record *params;
    mask_record *masks;
} run_result;

/* Writes r to path atomically (temporary file, fsync, rename). The
 * metric's values are under keys named after it: test_accuracy or
 * test_perplexity, and val_ and test_ of the same per epoch. */
int result_write(const char *path, const run_result *r, qsdc_error *err);
/* Reads a result.json; *r is zeroed first. */
int result_read(const char *path, run_result *r, qsdc_error *err);
/* Replaces r's epochs with those of a metrics file (one JSON object per
 * line, as train_model writes, with r->metric's keys). An epoch with
 * several lines (a resumed run) is its last line, joined with the lines of
 * the stretches of batches before it when the run was stopped inside the
 * epoch (train loss weighted by batches, seconds summed). */
int result_read_metrics(const char *path, run_result *r, qsdc_error *err);
void result_free(run_result *r);
/* Formats a file path of a results directory into out; fails (naming the
 * path's start) when it is longer than QSDC_PATH_MAX - 1. */
int result_path(char out[QSDC_PATH_MAX], qsdc_error *err, const char *fmt, ...)
    QSDC_PRINTF(3, 4);

#endif
