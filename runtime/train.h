/* Training: the train-step plan and the evaluation plan over the model's
 * data, with progress, per-epoch metrics and crash-safe checkpoints. */
#ifndef QSDC_TRAIN_H
#define QSDC_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "data.h"
#include "executor.h"
#include "model.h"
#include "plan.h"

typedef struct train_summary train_summary;

/* What an after_train hook sees: the trained model still on the device. */
typedef struct train_context {
    cl_env *env;
    const model *m;
    const plan *train_plan, *infer_plan;
    model_state *state;          /* the trained parameters */
    const dataset *train;        /* training and validation samples */
    const dataset *test;         /* count 0 without test data */
    const struct lm_source *lm;  /* a language model's corpus (train_lm.h), else NULL */
    const train_summary *summary;
} train_context;

/* Returns 0, or -1 with err filled (train_model then fails). */
typedef int (*train_hook)(void *ctx, const train_context *tc, qsdc_error *err);

typedef struct train_options {
    const char *device;          /* spec for cl_select_device, NULL = default */
    const char *devices;         /* NULL, or specs "0,1": data parallel over them */
    const char *bundle;          /* NULL, or a bundle folder to take the plans and
                                  * program binaries from (bundle_load.h) */
    /* NULL, or an open device context to train on instead of opening one
     * for device (a session's): borrowed, left open; not with devices */
    cl_env *env;
    /* NULL, or an inference plan compiled for env (from bundle when given):
     * evaluates the run when its batch is the run's, else one is compiled;
     * borrowed, left as it is */
    const plan *infer_plan;
    int64_t epochs, batch;       /* 0 = the model's */
    bool seed_set;
    uint64_t seed;
    double lr;                   /* 0 = the model's */
    const char *checkpoint_dir;  /* NULL = no checkpoints */
    bool resume;
    const char *metrics_path;    /* JSON lines, one per epoch */
    int64_t metrics_every;       /* and one every this many steps (0 = none) */
    int64_t max_steps;           /* stop after this many steps in total (0 = all) */
    bool keep_existing;          /* refuse a checkpoint_dir holding a checkpoint unless
                                  * resuming */
    int64_t early_stop;          /* stop after this many epochs without a better
                                  * validation score (0 = never) */
    bool keep_best;              /* the best validation epoch's checkpoint to
                                  * checkpoint_dir/best (best_epoch.h) */
    bool quiet;                  /* no progress bar (tests) */
    bool check_finite;           /* stop at the first node with a NaN or Inf (check_finite.h) */
    int64_t train_samples;       /* use the first N training samples (0 = all) */
    int64_t test_samples;        /* and the first N test samples (0 = all); a
                                  * language model's samples are sequences
                                  * (lm_source_limit) */
    int64_t train_subset;        /* then N of those drawn by the seed (0 = all);
                                  * not for a language model */
    const float *init_params;    /* NULL, or the parameters to start from instead of
                                  * the seeded initialisation (a session's weights;
                                  * ignored when resuming) */
    train_hook after_train;      /* after the last epoch, before teardown; not if stopped */
    void *hook_ctx;
    /* NULL, or a flag (a signal handler's) that, once nonzero, stops the run after
     * the current step as --max-steps would: saved, and resumable exactly */
    volatile sig_atomic_t *stop;
} train_options;

struct train_summary {
    int64_t epochs_done, steps;
    double train_loss, val_accuracy, test_accuracy;
    double val_perplexity, test_perplexity; /* language models (text corpus) only */
    double seconds, samples_per_s;
    bool interrupted;            /* stopped early by *stop */
    /* the samples trained on (validation included) and tested; a language
     * model's: sequences of its batches */
    int64_t train_samples, test_samples;
};

/* Applies the command-line overrides to m's train: section. */
void train_apply_overrides(model *m, const train_options *o);
int train_model(model *m, const train_options *o, train_summary *out, qsdc_error *err);
/* The learning rate at step (0-based) under schedule t (a training
 * plan's, with the run's lr and epochs). */
double train_lr_at(const lr_schedule *t, int64_t step, int64_t steps_per_epoch);
/* A hash of what a checkpoint must match: the model's ops, their inputs,
 * shapes and settings (activations, regularisers), the parameter layout of
 * plan p (any of m's plans: they share it) and the optimiser. */
uint64_t train_model_hash(const model *m, const plan *p);

#endif
