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
    int64_t total;      /* batches */
    int64_t batch;      /* samples per batch */
    double t0, last;
    int last_decile;
} progress;

void progress_start(progress *p, FILE *out, const char *label, int64_t total, int64_t batch);
/* done batches so far, and the running mean loss. */
void progress_update(progress *p, int64_t done, double loss);
void progress_end(progress *p);

#endif
