/* Training steps enqueued without draining the device queue: each step's
 * batch upload and loss read are non-blocking, from and into one of two
 * host slots, and a step's loss is collected (summed, checked) while the
 * next step runs. A blocking upload or read per step would instead leave
 * the device idle while the host gathers the next batch. Data-parallel
 * steps (several replicas) wait for their gradient exchange anyway: they
 * run blocking, their loss read at once. */
#ifndef QSDC_STEP_PIPE_H
#define QSDC_STEP_PIPE_H

#include <stdbool.h>
#include <stdint.h>

#include "replicas.h"

typedef struct step_slot {
    float *x, *loss;
    int32_t *y;
    cl_event uploaded, loss_read; /* NULL when nothing is in flight */
    uint64_t step;                /* the step using the slot */
} step_slot;

typedef struct step_pipe {
    step_slot slot[2];
    int64_t n_loss;    /* loss values per step */
    int64_t issued;    /* steps enqueued, and */
    int64_t collected; /* steps whose loss has arrived */
    double loss_sum;   /* of the collected losses since the caller zeroed it */
    int64_t loss_count;
    cl_int fault;      /* the OpenCL error a wait for a step failed with, else 0 */
    bool nonfinite;    /* a collected step's loss was not finite: */
    uint64_t nonfinite_step; /* the first such step */
} step_pipe;

/* Host slots for x_elems input floats, y_elems labels and n_loss losses. */
int step_pipe_init(step_pipe *sp, int64_t x_elems, int64_t y_elems, int64_t n_loss,
                   qsdc_error *err);
/* Waits for whatever is still in flight, then frees. */
void step_pipe_free(step_pipe *sp);
/* The slot for the next step, for the caller to fill x and y: collects the
 * step that used it before, if still in flight. */
int step_pipe_next(step_pipe *sp, step_slot **slot, qsdc_error *err);
/* Enqueues the next step from its slot: upload, every launch, the loss
 * read (replicas_step and replicas_read_loss when r has several). */
int step_pipe_issue(step_pipe *sp, replicas *r, uint32_t seed, uint64_t step, float lr,
                    qsdc_error *err);
/* Collects issued steps, oldest first, until at most in_flight remain. */
int step_pipe_collect(step_pipe *sp, int64_t in_flight, qsdc_error *err);

#endif
