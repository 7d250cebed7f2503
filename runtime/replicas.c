#include "replicas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_load.h"
#include "device_check.h"

static int parse_specs(replicas *r, const char *specs, qsdc_error *err)
{
    r->n = 1;
    r->specs[0][0] = '\0';
    if (!specs)
        return 0;
    r->n = 0;
    for (const char *s = specs; *s;) {
        size_t len = strcspn(s, ",");
        if (len == 0 || len >= sizeof r->specs[0])
            return qsdc_fail(err, "--devices %s: expected device specs separated by commas",
                             specs);
        if (r->n == REPLICAS_MAX)
            return qsdc_fail(err, "--devices %s: at most %d devices", specs, REPLICAS_MAX);
        memcpy(r->specs[r->n], s, len);
        r->specs[r->n++][len] = '\0';
        s += len + (s[len] == ',');
    }
    return r->n ? 0 : qsdc_fail(err, "--devices: no device given");
}

int replicas_open(replicas *r, int64_t global_batch, const char *specs, qsdc_error *err)
{
    memset(r, 0, sizeof *r);
    if (parse_specs(r, specs, err) < 0 || dist_open(&r->ranks, global_batch, err) < 0)
        return -1;
    int64_t shards = (int64_t)r->ranks.size * r->n;
    if (global_batch % shards != 0)
        return qsdc_fail(err, "the global batch of %lld does not divide among %d ranks x %d "
                         "devices", (long long)global_batch, r->ranks.size, r->n);
    r->batch = global_batch / shards;
    return 0;
}

int replicas_check_model(const replicas *r, const model *m, qsdc_error *err)
{
    if (m->train.format == DATA_TEXT && (r->n > 1 || r->ranks.size > 1))
        return qsdc_fail(err, "%s: a language model (data format text) trains on one "
                         "device in one process, not data parallel", m->path);
    return 0;
}

int replicas_attach(replicas *r, const model *m, const char *bundle, executor *ex,
                    model_state *ms, qsdc_error *err)
{
    r->ex[0] = ex;
    r->ms[0] = ms;
    r->n_params = ex->p->param_elems;
    r->grad_elems = ex->p->grad_elems;
    if (r->n > 1 || r->ranks.size > 1) {
        r->sum = malloc((size_t)(r->n_params > 0 ? r->n_params : 1) * sizeof *r->sum);
        r->part = malloc((size_t)(r->n_params > 0 ? r->n_params : 1) * sizeof *r->part);
        r->extra = calloc((size_t)r->n, sizeof *r->extra);
        if (!r->sum || !r->part || !r->extra)
            return qsdc_fail(err, "out of memory");
    }
    for (int i = 1; i < r->n; i++) {
        replica_device *d = &r->extra[i - 1];
        plan p;
        memset(&p, 0, sizeof p);
        if (cl_env_open(r->specs[i], false, &d->env, err) < 0 ||
            device_self_check(&d->env, err) < 0 ||
            plan_for_device(&d->env, m, bundle, MODE_TRAIN, r->batch, &p, err) < 0 ||
            plan_run_open(&d->env, &p, &d->run, err) < 0)
            return qsdc_error_wrap(err, "replica on device %s", r->specs[i]);
        if (d->run.p.param_elems != r->n_params)
            return qsdc_fail(err, "device %s lays the parameters out differently", r->specs[i]);
        r->ex[i] = &d->run.ex;
        r->ms[i] = &d->run.ms;
    }
    int64_t first = (int64_t)r->ranks.rank * r->n * r->batch;
    for (int i = 0; i < r->n; i++)
        r->ex[i]->sample0 = (uint32_t)(first + i * r->batch);
    return 0;
}

/* G[0, grad_elems) and P[grad_elems, n_params) of replica i, the gradient
 * and the running statistics, read into buf or written from it. */
static int transfer_sums(replicas *r, int i, float *buf, bool write, qsdc_error *err)
{
    size_t g = (size_t)r->grad_elems * sizeof(float);
    size_t s = (size_t)(r->n_params - r->grad_elems) * sizeof(float);
    cl_command_queue q = r->ex[i]->env->queue;
    cl_mem G = r->ms[i]->G, P = r->ms[i]->P;
    cl_int rc = CL_SUCCESS;
    if (g)
        rc = write ? clEnqueueWriteBuffer(q, G, CL_TRUE, 0, g, buf, 0, NULL, NULL)
                   : clEnqueueReadBuffer(q, G, CL_TRUE, 0, g, buf, 0, NULL, NULL);
    if (rc == CL_SUCCESS && s)
        rc = write ? clEnqueueWriteBuffer(q, P, CL_TRUE, g, s, (char *)buf + g, 0, NULL, NULL)
                   : clEnqueueReadBuffer(q, P, CL_TRUE, g, s, (char *)buf + g, 0, NULL, NULL);
    return cl_check(rc, write ? "clEnqueueWriteBuffer" : "clEnqueueReadBuffer", err);
}

static int average_gradients(replicas *r, qsdc_error *err)
{
    for (int i = 0; i < r->n; i++) {
        if (transfer_sums(r, i, i ? r->part : r->sum, false, err) < 0)
            return -1;
        for (int64_t j = 0; i > 0 && j < r->n_params; j++)
            r->sum[j] += r->part[j];
    }
    dist_sum(&r->ranks, r->sum, r->n_params);
    float scale = 1.0f / (float)(r->n * r->ranks.size);
    for (int64_t j = 0; j < r->n_params; j++)
        r->sum[j] *= scale;
    for (int i = 0; i < r->n; i++)
        if (transfer_sums(r, i, r->sum, true, err) < 0)
            return -1;
    return 0;
}

int replicas_sync_state(replicas *r, qsdc_error *err)
{
    if (r->n == 1)
        return 0;
    const model_state *ms = r->ms[0];
    float *state = malloc((size_t)(ms->n_state > 0 ? ms->n_state : 1) * sizeof *state);
    if (!state)
        return qsdc_fail(err, "out of memory");
    int out = model_state_read(r->ex[0]->env, ms, r->sum, state, err);
    for (int i = 1; out == 0 && i < r->n; i++)
        out = model_state_write(r->ex[i]->env, r->ms[i], r->sum, state, err);
    free(state);
    return out;
}

int replicas_step(replicas *r, const float *x, const int32_t *labels, uint32_t seed,
                  uint32_t step, float lr, qsdc_error *err)
{
    const plan *p = r->ex[0]->p;
    int u = r->ex[0]->update_launch;
    bool reduce = (r->n > 1 || r->ranks.size > 1) && u >= 0;
    for (int i = 0; i < r->n; i++) {
        int end = reduce ? u : p->n_launches;
        if (exec_set_batch(r->ex[i], x + i * p->input_elems, labels + i * p->label_elems,
                           err) < 0 ||
            exec_run_launches(r->ex[i], 0, end, seed, step, lr, err) < 0)
            return -1;
    }
    if (!reduce)
        return 0;
    if (average_gradients(r, err) < 0)
        return qsdc_error_wrap(err, "averaging the gradients of %d ranks x %d devices",
                               r->ranks.size, r->n);
    for (int i = 0; i < r->n; i++)
        if (exec_run_launches(r->ex[i], u, p->n_launches, seed, step, lr, err) < 0)
            return -1;
    return 0;
}

int replicas_read_loss(replicas *r, float *loss, qsdc_error *err)
{
    for (int i = 0; i < r->n; i++) {
        int64_t rows = r->ex[i]->p->label_elems; /* a sequence output: per sample and step */
        if (exec_read_arena(r->ex[i], r->ex[i]->p->loss_offset, rows, loss + i * rows, err) < 0)
            return -1;
    }
    return 0;
}

void replicas_close(replicas *r, int rc, const qsdc_error *err)
{
    for (int i = 1; r->extra && i < r->n; i++) {
        replica_device *d = &r->extra[i - 1];
        plan_run_close(&d->run);
        cl_env_close(&d->env);
    }
    free(r->extra);
    free(r->sum);
    free(r->part);
    r->extra = NULL;
    r->sum = r->part = NULL;
    dist_close(&r->ranks, rc, err);
}
