/* The training run's internals shared by train.c (the loop) and
 * train_checkpoint.c (its checkpoint folder: claiming it, resuming from
 * it, saving to it, and the best validation epoch). */
#ifndef QSDC_TRAIN_INT_H
#define QSDC_TRAIN_INT_H

#include <stdio.h>

#include "best_epoch.h"
#include "check_finite.h"
#include "replicas.h"
#include "step_pipe.h"
#include "train.h"
#include "train_lm.h"
#include "train_report.h"

typedef struct trainer {
    model *m;
    const train_options *o;
    cl_env *env;        /* own_env, or train_options.env borrowed */
    cl_env own_env;
    double measure0;    /* env's measure_s when the run began */
    plan tp;
    const plan *ep;     /* own_ep, or train_options.infer_plan borrowed */
    plan own_ep;
    lr_schedule sched;  /* tp's, with the options' lr and epochs */
    model_state ms;
    executor tx, ex;
    finite_check fc;    /* with --check-finite */
    replicas rep;       /* this process's shard of every batch, over its devices */
    dataset train, test;
    lm_source *lm;      /* a text corpus (language modelling), else NULL */
    int64_t *perm, n_val, n_train, steps;
    step_pipe pipe;
    float *host_params, *host_state;
    FILE *metrics;
    int checkpoint_lock; /* checkpoint_claim_dir's, -1 when none is held */
    int best_lock;      /* the same for checkpoint_dir/best (keep_best) */
    char best_dir[QSDC_PATH_MAX];
    best_epoch best;    /* with early_stop or keep_best */
    double eval_s;      /* the last evaluation's seconds, for the run's ETA */
    double t_entry;     /* train_model's start, for the time to the first step */
    bool first_done;
    double first_issued, first_step_s; /* when the first step was issued; its time */
    bool first_reported; /* an epoch line has said first_step_s */
    /* metrics_every: the epoch's first step and batch, the pipe's collected
     * steps then, and its steps and losses (sum, count) at the last step line */
    uint64_t epoch_step0;
    int64_t epoch_batch0, epoch_collected0, mark_steps, mark_count;
    double mark_sum;
} trainer;

/* Rank 0's checkpoint folder, locked for the run, and with keep_best its
 * best/ folder: a fresh run refuses (keep_existing) or clears an earlier
 * run's. */
int train_claim_dirs(trainer *t, qsdc_error *err);
/* Starts from the checkpoint when resuming (and its best-epoch record),
 * else from seeded parameters or o->init_params. */
int train_init_state(trainer *t, uint64_t *epoch, uint64_t *step, qsdc_error *err);
/* The device's parameters and optimiser state to dir/checkpoint.bin. */
int train_save(trainer *t, const char *dir, uint64_t epoch, uint64_t step, qsdc_error *err);
/* After complete epoch `epoch`: a better validation score is saved
 * (keep_best) and recorded before the epoch's own checkpoint, so that a
 * crash between the two replays the epoch to the same score; *stop when
 * early_stop's patience ran out. */
int train_track_best(trainer *t, uint64_t epoch, uint64_t step, const epoch_report *r,
                     bool *stop, qsdc_error *err);
/* The early stop (when stopped) and the best epoch kept. */
void train_print_best(const trainer *t, bool stopped);
/* Says why a resumed run has nothing left to train; false when it has. */
bool train_already_done(const trainer *t, uint64_t epoch, uint64_t step);

#endif
