/* Experiments: one task (a base model whose dropout and qsd layers are the
 * regularised ones) trained under several regulariser settings and seeds,
 * with test accuracy (a language model's perplexity), hidden-layer
 * sparsity, parameter distributions and sampled masks recorded per run
 * (docs/experiments.md). */
#ifndef QSDC_EXPERIMENT_H
#define QSDC_EXPERIMENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "experiment_plan.h"
#include "experiment_result.h"
#include "qsdc.h"

#define EXP_MAX_STRENGTHS RESULT_MAX_CANDIDATES

typedef struct exp_setting {
    char name[QSDC_NAME_MAX];   /* an identifier: runs go to <name>-seed<N>/ */
    setting_kind kind;
    match_kind match;
    qsdc_qsd_params qsd;        /* resolved; share is the model layer's own */
    /* A strength sweep (n_strengths >= 2, else 0): the p values listed (or,
     * swept_p0, the dropout_p values a matched QSD setting is matched to),
     * each candidate's resolved parameters, qsd the first's. Each is
     * trained into <name>-seed<N>/<candidate>/ and the best on validation
     * becomes the setting's run of that seed (experiment_select). */
    int n_strengths;
    bool swept_p0;
    double strengths[EXP_MAX_STRENGTHS];
    qsdc_qsd_params candidates[EXP_MAX_STRENGTHS];
} exp_setting;

#define EXP_MAX_SETTINGS 32
#define EXP_MAX_SEEDS 64

/* The grid's size: the full one, or the --quick one. */
typedef struct exp_grid {
    int64_t epochs;
    int n_seeds;
    uint64_t seeds[EXP_MAX_SEEDS];
    int64_t train_samples, test_samples; /* first N of each file, 0 = all */
    int64_t train_subset;                /* then N training samples drawn by the seed */
    double expected_minutes;             /* on a 2-core machine, 0 = not stated */
} exp_grid;

typedef struct experiment {
    char path[QSDC_PATH_MAX];
    char name[QSDC_NAME_MAX];
    qsdc_model *base;         /* the task's model, train: overrides applied */
    result_metric metric;     /* perplexity for a language model (data format text) */
    bool has_validation;      /* the model is scored on a validation split */
    double dropout_p;         /* p0: dropout's keep probability */
    int n_settings;
    exp_setting settings[EXP_MAX_SETTINGS];
    exp_grid full, quick;
    int64_t mask_draws;       /* per regularised layer, default 100000 */
    exp_plan plan;            /* n_primary 0: none stated */
} experiment;

/* Reads an experiment file and the model it names; errors name
 * file:line:col. */
int experiment_load(const char *path, experiment *out, qsdc_error *err);
void experiment_free(experiment *e);
/* The directory name of candidate c of a swept setting: "p0.7",
 * "dropout_p0.5". */
void experiment_candidate_dir(const exp_setting *s, int c, char out[48]);
/* Once every candidate of swept setting s (index i in the file) has a
 * result.json under dir (<name>-seed<N>/), writes dir/result.json: the
 * candidate with the best validation score after its last epoch (highest
 * accuracy, lowest perplexity; the first listed on a tie), its selection
 * recorded, and its strength in *chosen. Returns 0 when written, 1 when a
 * candidate is not finished (trained by another process), -1 on error (a
 * candidate without a validation score among them). */
int experiment_select(const exp_setting *s, int i, const char *dir, double *chosen,
                      qsdc_error *err);
/* A copy of e's base model with setting s: every dropout/qsd layer removed
 * (none), made dropout at p0, or made QSD with s's parameters. */
int experiment_model(const experiment *e, const exp_setting *s, qsdc_model **out,
                     qsdc_error *err);

/* QSD.md's analytic mask moments for q (homogeneous when
 * p_concentration is 0; hetero: unit's where q says so). */
double qsd_mask_variance(const qsdc_qsd_params *q);
double qsd_mask_pr_zero(const qsdc_qsd_params *q);
/* The release probability p in (0, 1] that gives QSD with shape's sites,
 * q_cv, concentration (0: homogeneous) and heterogeneity (shape's p is not
 * read) the Pr[m = 0] (silence) or the Var[m] (variance) of dropout with
 * keep probability p0 in (0, 1]; -1 when no p in (0, 1] does. */
int qsd_match_silence(double p0, const qsdc_qsd_params *shape, double *p);
int qsd_match_variance(double p0, const qsdc_qsd_params *shape, double *p);

/* A run's trained model: its session (holding the trained weights), its
 * model, and what its training reported. */
typedef struct exp_measure {
    qsdc_session *s;
    const qsdc_model *m;
    const qsdc_train_result *trained;
    int64_t test_samples;     /* the first N test samples, 0 = all */
    int64_t mask_draws;       /* per regularised layer */
} exp_measure;

/* Fills r with what a run records of its trained model: the test accuracy
 * and each hidden layer's activity on the test set (a language model: the
 * test perplexity, no activity), each parameter tensor's distribution and,
 * for every regularised layer, mask_draws masks sampled on the device. */
int experiment_measure(const exp_measure *mc, run_result *r, qsdc_error *err);

typedef struct exp_run_options {
    const char *results_dir;
    bool quick;
    const char *device;       /* NULL = default */
    /* NULL, or a flag (signals.h) that, once nonzero, stops the grid: the
     * run in progress after its current step, with a checkpoint */
    volatile sig_atomic_t *stop;
} exp_run_options;

/* Runs every setting x seed of the (full or quick) grid, seed by seed, into
 * results_dir/<setting>-seed<N>/: result.json (written atomically once the
 * run is complete) and metrics.jsonl. Finished runs are skipped and a run
 * cut short resumes from its last epoch's checkpoint; a run directory left
 * by a different grid is an error. Other processes running the same grid
 * into results_dir share it (experiment_lock.h): a run one of them is
 * training is left to it. Prints each run and the grid's ETA. Returns 0
 * when the grid is done, 1 when *o->stop stopped it (the run in progress
 * then keeps its checkpoint, and calling this again resumes it exactly). */
int experiment_run(const experiment *e, const exp_run_options *o, qsdc_error *err);

#endif
