/* Data-parallel training steps: the global batch is split over MPI ranks
 * (dist.h) and, within a process, over the OpenCL devices of --devices.
 * Each device runs the step's plan on its shard of B / (ranks x devices)
 * samples up to the plan's update launch; the gradients are then summed
 * over devices (on the host) and ranks (MPI_Allreduce) and scaled by one
 * over the replica count, so that, the loss being a mean over each shard,
 * every replica applies the update the global batch gives on one device.
 * Batch-norm running statistics (the parameters after the gradient's) are
 * averaged the same way; the batch statistics themselves are each shard's.
 * QSD masks are keyed by global sample index (executor.sample0), so every
 * replica draws the masks a single device draws for its samples. */
#ifndef QSDC_REPLICAS_H
#define QSDC_REPLICAS_H

#include "dist.h"
#include "executor.h"
#include "model.h"
#include "plan_run.h"

#define REPLICAS_MAX 8

/* A device beyond the first, owned by the set. */
typedef struct replica_device {
    cl_env env;
    plan_run run;
} replica_device;

typedef struct replicas {
    dist ranks;
    int n;                       /* devices in this process */
    char specs[REPLICAS_MAX][64]; /* their cl_select_device specs */
    int64_t batch;               /* each device's shard: its plan's batch */
    executor *ex[REPLICAS_MAX];  /* [0] the caller's, then extra[i - 1]'s */
    model_state *ms[REPLICAS_MAX];
    replica_device *extra;
    int64_t n_params, grad_elems;
    float *sum, *part;           /* host staging, n_params floats each */
} replicas;

/* Joins the MPI ranks and splits global_batch over ranks and the devices of
 * specs ("0,1": comma-separated device specs, NULL for one device); fails
 * when they do not divide it. r->specs[0] names the caller's device. */
int replicas_open(replicas *r, int64_t global_batch, const char *specs, qsdc_error *err);
/* Refuses a model that cannot train on r's shards: a language model (data
 * format text), whose streams and carried lstm states are not sharded,
 * trains on one device in one process. */
int replicas_check_model(const replicas *r, const model *m, qsdc_error *err);
/* Adds the caller's device (ex over the train plan at r->batch, on ms) as
 * replica 0 and opens and allocates the others, with their plans compiled
 * from m or read from the bundle folder (NULL: none). */
int replicas_attach(replicas *r, const model *m, const char *bundle, executor *ex,
                    model_state *ms, qsdc_error *err);
/* Copies parameters and optimiser state from replica 0 to the others. */
int replicas_sync_state(replicas *r, qsdc_error *err);
/* One training step on this process's shard: x and labels hold its
 * r->n * r->batch samples, device by device. */
int replicas_step(replicas *r, const float *x, const int32_t *labels, uint32_t seed,
                  uint32_t step, float lr, qsdc_error *err);
/* The per-sample (per sample and step for a sequence output) losses of the
 * last step, device by device. */
int replicas_read_loss(replicas *r, float *loss, qsdc_error *err);
/* Frees the other devices and leaves MPI (dist_close). */
void replicas_close(replicas *r, int rc, const qsdc_error *err);

#endif
