/* The MPI ranks of a data-parallel run (mpirun -np N qsdc train ...).
 * Without the launcher's environment (OMPI_COMM_WORLD_SIZE, PMI_SIZE) a run
 * is one rank and MPI is never touched; a build without MPI refuses to run
 * as one of several ranks instead of training N separate copies. */
#ifndef QSDC_DIST_H
#define QSDC_DIST_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

typedef struct dist {
    int rank, size;          /* 0 and 1 outside mpirun */
    bool mpi_owned;          /* dist_open initialised MPI, dist_close finalises */
} dist;

/* This process's rank as the launcher's environment gives it (0 outside
 * mpirun), readable before dist_open: for the CLI to quieten ranks > 0. */
int dist_launch_rank(void);
/* True when this build can run as several MPI ranks. */
bool dist_mpi_available(void);
/* Joins the ranks the launcher started (MPI_Init); fails when they do not
 * divide the global batch. */
int dist_open(dist *d, int64_t global_batch, qsdc_error *err);
/* Rank 0 alone writes checkpoints and metrics and prints. */
static inline bool dist_is_root(const dist *d)
{
    return d->rank == 0;
}
/* In-place sum of x[0, n) over the ranks; collective. */
void dist_sum(const dist *d, float *x, int64_t n);
/* True when flag is true on any rank; collective. */
bool dist_any(const dist *d, bool flag);
/* The mean of x over the ranks (x itself on one rank); collective. */
double dist_mean(const dist *d, double x);
/* Finalises MPI. A rank whose run failed (rc < 0) prints err and aborts the
 * others, which would otherwise wait in the next collective forever. */
void dist_close(dist *d, int rc, const qsdc_error *err);

#endif
