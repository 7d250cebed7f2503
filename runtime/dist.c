#include "dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef QSDC_HAVE_MPI
#include <mpi.h>
#endif

/* The launcher's variable of the first launcher that set one: Open MPI's,
 * then the PMI one of MPICH and Slurm. */
static int launch_env(const char *ompi, const char *pmi, int fallback)
{
    const char *v = getenv(ompi);
    if (!v)
        v = getenv(pmi);
    return v ? atoi(v) : fallback;
}

int dist_launch_rank(void)
{
    return launch_env("OMPI_COMM_WORLD_RANK", "PMI_RANK", 0);
}

bool dist_mpi_available(void)
{
#ifdef QSDC_HAVE_MPI
    return true;
#else
    return false;
#endif
}

int dist_open(dist *d, int64_t global_batch, qsdc_error *err)
{
    memset(d, 0, sizeof *d);
    d->size = 1;
    int n = launch_env("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", 1);
    if (n <= 1)
        return 0;
    if (!dist_mpi_available())
        return qsdc_fail(err, "started as one of %d MPI ranks, but this qsdc was built "
                         "without MPI (install libopenmpi-dev and reconfigure the build)", n);
    if (global_batch % n != 0)
        return qsdc_fail(err, "the global batch of %lld does not divide among %d ranks",
                         (long long)global_batch, n);
#ifdef QSDC_HAVE_MPI
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready && MPI_Init(NULL, NULL) != MPI_SUCCESS)
        return qsdc_fail(err, "MPI_Init failed");
    d->mpi_owned = !ready;
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    if (d->size != n)
        return qsdc_fail(err, "the launcher announced %d ranks, MPI has %d", n, d->size);
#endif
    return 0;
}

void dist_sum(const dist *d, float *x, int64_t n)
{
#ifdef QSDC_HAVE_MPI
    /* in counts that MPI's int holds */
    for (int64_t i = 0; d->size > 1 && i < n; i += INT_MAX / 2) {
        int count = (int)(n - i < INT_MAX / 2 ? n - i : INT_MAX / 2);
        MPI_Allreduce(MPI_IN_PLACE, x + i, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
#else
    (void)d;
    (void)x;
    (void)n;
#endif
}

bool dist_any(const dist *d, bool flag)
{
    int v = flag;
#ifdef QSDC_HAVE_MPI
    if (d->size > 1)
        MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
#else
    (void)d;
#endif
    return v != 0;
}

double dist_mean(const dist *d, double x)
{
#ifdef QSDC_HAVE_MPI
    if (d->size > 1)
        MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#endif
    return x / (double)d->size;
}

void dist_close(dist *d, int rc, const qsdc_error *err)
{
#ifdef QSDC_HAVE_MPI
    if (rc < 0 && d->size > 1) {
        fprintf(stderr, "qsdc (rank %d of %d): %s\n", d->rank, d->size, err->message);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (d->mpi_owned)
        MPI_Finalize();
#else
    (void)rc;
    (void)err;
#endif
    d->mpi_owned = false;
}
