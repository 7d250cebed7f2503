/* Data parallelism across MPI ranks (mpirun -np N qsdc train ...): each rank
 * runs the training step on its shard of every global batch, and between
 * the backward pass and the optimiser launches the gradients are summed with
 * MPI_Allreduce and scaled by 1/N, so that every rank applies the update the
 * global batch gives on one rank. Batch-norm running statistics (the
 * parameters after the gradient's) are averaged the same way; the batch
 * statistics themselves are each rank's shard's.
 *
 * Without the launcher's environment (OMPI_COMM_WORLD_SIZE, PMI_SIZE) the
 * run is one rank and MPI is never touched; a build without MPI refuses to
 * run as one of several ranks instead of training N separate copies. */
#ifndef QSDC_DIST_H
#define QSDC_DIST_H

#include <stdbool.h>
#include <stdint.h>

#include "executor.h"

typedef struct dist {
    int rank, size;          /* 0 and 1 outside mpirun */
    int64_t batch;           /* this rank's shard of the global batch */
    bool mpi_owned;          /* dist_open initialised MPI, dist_close finalises */
    cl_env *env;             /* set by dist_attach */
    model_state *ms;
    int64_t grad_elems;      /* G[0, grad_elems): the step's gradient */
    float *host;             /* staging for the host-side allreduce */
} dist;

/* This process's rank as the launcher's environment gives it (0 outside
 * mpirun), readable before dist_open: for the CLI to quieten ranks > 0. */
int dist_launch_rank(void);
/* True when this build can run as several MPI ranks. */
bool dist_mpi_available(void);
/* Joins the ranks the launcher started (MPI_Init) and sets the shard of
 * global_batch; fails when the ranks do not divide it. */
int dist_open(dist *d, int64_t global_batch, qsdc_error *err);
/* Sets ex's first global sample to this rank's, and, with several ranks,
 * the gradient sum as ex's before_update hook over ms (plan p's layout). */
int dist_attach(dist *d, cl_env *env, model_state *ms, const plan *p, executor *ex,
                qsdc_error *err);
/* Rank 0 alone writes checkpoints and metrics and prints. */
static inline bool dist_is_root(const dist *d)
{
    return d->rank == 0;
}
/* The mean of x over the ranks (x itself on one rank); collective. */
double dist_mean(const dist *d, double x);
/* Finalises MPI. A rank whose run failed (rc < 0) prints err and aborts the
 * others, which would otherwise wait in the next allreduce forever. */
void dist_close(dist *d, int rc, const qsdc_error *err);

#endif
