/* Sessions (include/qsdc.h): the kernels of their plans, and the time each
 * launch of a training step takes (qsdc profile). */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_load.h"
#include "init.h"
#include "plan_run.h"

void session_kernel_info(const plan_launch *l, qsdc_kernel_info *k)
{
    snprintf(k->name, sizeof k->name, "%s", l->kernel);
    snprintf(k->nodes, sizeof k->nodes, "%s", l->nodes);
    k->flops = l->flops;
    k->bytes = l->bytes;
}

int qsdc_session_kernels(qsdc_session *s, qsdc_kernel_info *out, int cap, qsdc_error *err)
{
    qsdc_error e = {""};
    int rc = session_usable(s, &e);
    if (rc == 0 && cap > 0 && !out)
        rc = qsdc_fail(&e, "qsdc_session_kernels: out is NULL");
    for (int i = 0; rc == 0 && i < s->ep.n_launches && i < cap; i++)
        session_kernel_info(&s->ep.launches[i], &out[i]);
    return rc < 0 ? session_finish(s, rc, &e, err)
                  : (session_finish(s, 0, &e, err), s->ep.n_launches);
}

/* A profile's own training plan, state and executor on the session's
 * device, over seeded parameters and a synthetic batch. */
typedef struct profile_run {
    qsdc_session *s;
    plan_run run;
    float *params, *x;
    int32_t *y;
    double *before;  /* per launch: its accumulated time before the launch timed */
} profile_run;

/* A synthetic input from u in [0, 1): token ids, drawn uniformly from the
 * first embedding's vocabulary, for an int32 input (ids that read rows and
 * repeat, as text does), else u itself. */
static float input_value(const model *m, double u)
{
    for (int i = 0; m->dtype == DTYPE_INT32 && i < m->n_layers; i++)
        if (m->layers[i].kind == LAYER_EMBEDDING)
            return (float)(int64_t)(u * (double)m->layers[i].vocab);
    return (float)u;
}

static int profile_setup(profile_run *r, qsdc_error *e)
{
    qsdc_session *s = r->s;
    const plan *p = &r->run.p;
    if (!s->profiling)
        return qsdc_fail(e, "qsdc_session_profile: open the session with profiling");
    plan compiled;
    if (plan_for_device(&s->env, &s->m, s->bundle[0] ? s->bundle : NULL, MODE_TRAIN,
                        s->ep.batch, &compiled, e) < 0 ||
        plan_run_open(&s->env, &compiled, &r->run, e) < 0)
        return -1;
    r->params = malloc((size_t)p->param_elems * sizeof *r->params);
    r->x = malloc((size_t)p->input_elems * sizeof *r->x);
    r->y = calloc((size_t)(p->label_elems > p->batch ? p->label_elems : p->batch),
                  sizeof *r->y);
    r->before = calloc((size_t)p->n_launches + 1, sizeof *r->before);
    if (!r->params || !r->x || !r->y || !r->before)
        return qsdc_fail(e, "out of memory");
    params_init(p, s->m.train.seed, r->params);
    for (int64_t i = 0; i < p->input_elems; i++)
        r->x[i] = input_value(&s->m, philox_uniform(1, 9, (uint64_t)i));
    if (model_state_write(&s->env, &r->run.ms, r->params, NULL, e) < 0 ||
        exec_set_batch(&r->run.ex, r->x, r->y, e) < 0)
        return -1;
    return exec_run(&r->run.ex, 1, 0, 0.0f, e); /* warm-up, untimed */
}

/* Launches [from, to): best[i] = their time since before[i] if first or
 * shorter, and before[i] the time so far. */
static void keep_best(const executor *ex, int from, int to, bool first, double *before,
                      double *best)
{
    for (int i = from; i < to; i++) {
        double ms = ex->launch_ms[i] - before[i];
        if (first || ms < best[i])
            best[i] = ms;
        before[i] = ex->launch_ms[i];
    }
}

/* steps timed steps; with best (2 per launch), each launch's best time in a
 * step (best[i]) and by itself (best[n_launches + i]), in ms. */
static int profile_steps(profile_run *r, int64_t steps, double *best, qsdc_error *e)
{
    executor *ex = &r->run.ex;
    int n = r->run.p.n_launches, rc = 0;
    ex->timing = true;
    memset(ex->launch_ms, 0, (size_t)n * sizeof *ex->launch_ms);
    for (int64_t s = 1; s <= steps && rc == 0; s++) {
        rc = exec_run(ex, 1, (uint32_t)s, 0.0f, e);
        if (best)
            keep_best(ex, 0, n, s == 1, r->before, best);
    }
    /* each kernel again on the same buffers, launched back to back: what a
     * standalone benchmark sees (its own data in the caches, the threads
     * warm); best against best, as load on the machine inflates means */
    for (int i = 0; rc == 0 && best && i < n; i++) {
        double step_ms = ex->launch_ms[i];
        for (int k = 0; k <= 20 && rc == 0; k++) {
            r->before[i] = ex->launch_ms[i];
            rc = exec_run_launches(ex, i, i + 1, 1, (uint32_t)steps, 0.0f, e);
            if (k > 0) /* k = 0 warms the caches */
                keep_best(ex, i, i + 1, k == 1, r->before, best + n);
        }
        ex->launch_ms[i] = step_ms;
    }
    ex->timing = false; /* the caller reports, not exec_destroy */
    return rc;
}

static int profile(qsdc_session *s, const qsdc_profile_options *o, qsdc_kernel_profile **out,
                   qsdc_error *e)
{
    if (!out)
        return qsdc_fail(e, "qsdc_session_profile: out is NULL");
    *out = NULL;
    if (o && o->steps < 0)
        return qsdc_fail(e, "qsdc_session_profile: steps is %lld (0: 10)",
                         (long long)o->steps);
    int64_t steps = o && o->steps > 0 ? o->steps : 10;
    bool alone = o && o->alone;
    profile_run r = {.s = s};
    double *best = NULL;
    int rc = profile_setup(&r, e);
    if (rc == 0 && alone) {
        best = malloc(2 * ((size_t)r.run.p.n_launches + 1) * sizeof *best);
        if (!best)
            rc = qsdc_fail(e, "out of memory");
    }
    if (rc == 0)
        rc = profile_steps(&r, steps, best, e);
    int n = r.run.p.n_launches;
    qsdc_kernel_profile *k = rc == 0 ? calloc((size_t)n + 1, sizeof *k) : NULL;
    if (rc == 0 && !k)
        rc = qsdc_fail(e, "out of memory");
    for (int i = 0; rc == 0 && i < r.run.p.n_launches; i++) {
        session_kernel_info(&r.run.p.launches[i], &k[i].kernel);
        k[i].ms = r.run.ex.launch_ms[i];
        if (best) {
            k[i].best_ms = best[i];
            k[i].alone_ms = best[r.run.p.n_launches + i];
        }
    }
    *out = k;
    plan_run_close(&r.run);
    free(r.params);
    free(r.x);
    free(r.y);
    free(r.before);
    free(best);
    return rc < 0 ? -1 : n;
}

int qsdc_session_profile(qsdc_session *s, const qsdc_profile_options *o,
                         qsdc_kernel_profile **out, qsdc_error *err)
{
    qsdc_error e = {""};
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = profile(s, o, out, &e);
    return rc < 0 ? session_finish(s, rc, &e, err) : (session_finish(s, 0, &e, err), rc);
}
