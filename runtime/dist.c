#include "dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef QSDC_HAVE_MPI
#include <mpi.h>
#endif

/* The launcher's variable of the first launcher that set one: Open MPI's,
 * then the PMI ones of MPICH and Slurm. */
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
    d->batch = global_batch;
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
    d->batch = global_batch / d->size;
    return 0;
}

#ifdef QSDC_HAVE_MPI
/* In-place sum over the ranks, in counts MPI's int takes, then times
 * scale. */
static void allreduce_scaled(float *x, int64_t n, float scale)
{
    for (int64_t i = 0; i < n; i += INT_MAX / 2) {
        int count = (int)(n - i < INT_MAX / 2 ? n - i : INT_MAX / 2);
        MPI_Allreduce(MPI_IN_PLACE, x + i, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
    for (int64_t i = 0; i < n; i++)
        x[i] *= scale;
}
#endif

/* buf[offset, offset + n) := its mean over the ranks. */
static int average_range(dist *d, cl_mem buf, int64_t offset, int64_t n, qsdc_error *err)
{
    if (n <= 0)
        return 0;
    cl_command_queue q = d->env->queue;
    size_t at = (size_t)offset * sizeof(float), bytes = (size_t)n * sizeof(float);
    cl_int rc = clEnqueueReadBuffer(q, buf, CL_TRUE, at, bytes, d->host, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return cl_check(rc, "clEnqueueReadBuffer", err);
#ifdef QSDC_HAVE_MPI
    allreduce_scaled(d->host, n, 1.0f / (float)d->size);
#endif
    rc = clEnqueueWriteBuffer(q, buf, CL_TRUE, at, bytes, d->host, 0, NULL, NULL);
    return cl_check(rc, "clEnqueueWriteBuffer", err);
}

/* Each rank's gradient is the mean over its shard of B/N samples, so the
 * mean of the N gradients is the mean over the global batch. */
static int sum_gradients(void *ctx, qsdc_error *err)
{
    dist *d = ctx;
    if (average_range(d, d->ms->G, 0, d->grad_elems, err) < 0 ||
        average_range(d, d->ms->P, d->grad_elems, d->ms->n_params - d->grad_elems, err) < 0)
        return qsdc_error_wrap(err, "summing the gradients across %d ranks", d->size);
    return 0;
}

int dist_attach(dist *d, cl_env *env, model_state *ms, const plan *p, executor *ex,
                qsdc_error *err)
{
    d->env = env;
    d->ms = ms;
    d->grad_elems = p->grad_elems;
    ex->sample0 = (uint32_t)(d->rank * d->batch);
    if (d->size == 1)
        return 0;
    d->host = malloc((size_t)(ms->n_params > 0 ? ms->n_params : 1) * sizeof *d->host);
    if (!d->host)
        return qsdc_fail(err, "out of memory");
    ex->before_update = sum_gradients;
    ex->hook_ctx = d;
    return 0;
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
    free(d->host);
    d->host = NULL;
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
