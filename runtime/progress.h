/* Progress of long work: a live bar on a terminal, plain lines otherwise. */
#ifndef QSDC_PROGRESS_H
#define QSDC_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "clock.h"

typedef struct progress {
    FILE *out;
    bool tty;
    char label[64];
    int64_t first;      /* batches done before this run of them (a resumed epoch) */
    int64_t total;      /* the last batch to run */
    int64_t batch;      /* samples per batch */
    int64_t run_steps;  /* batches of the whole run after these */
    double run_s;       /* and its other work's seconds (evaluations) */
    double t0, last;
    int last_decile;
} progress;

/* Batches (first, total] are to run, of batch samples each. */
void progress_start(progress *p, FILE *out, const char *label, int64_t first, int64_t total,
                    int64_t batch);
/* The rest of a run after these batches: steps more at their rate, plus
 * seconds of other work; the ETA then also gives the run's. */
void progress_set_run(progress *p, int64_t steps, double seconds);
/* done batches so far (of total, counting first), and the running mean loss. */
void progress_update(progress *p, int64_t done, double loss);
void progress_end(progress *p);

#endif
