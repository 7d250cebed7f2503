/* Sessions (include/qsdc.h): what the experiment lab measures of trained
 * weights. The hidden layers' activity on the test data goes through an
 * inference plan that keeps their activations in the arena (observe), on
 * the session's weights; the parameters are read back tensor by tensor. */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "data.h"
#include "evaluate.h"
#include "progress.h"

static bool hidden(const layer *l)
{
    return l->kind == LAYER_RELU || l->kind == LAYER_TANH || l->kind == LAYER_SIGMOID;
}

/* An observing inference plan and its executor on the session's state,
 * with the plan tensor of each hidden layer kept in the arena. */
typedef struct observer {
    plan p;
    executor ex;
    int n_hidden;
    int *tensor, *layer;  /* per hidden layer: plan tensor, model layer */
} observer;

static int observer_open(qsdc_session *s, observer *o, qsdc_error *e)
{
    codegen_target target;
    exec_target(&s->env.dev, &target);
    target.observe = true;
    o->tensor = calloc((size_t)s->m.n_layers + 1, sizeof *o->tensor);
    o->layer = calloc((size_t)s->m.n_layers + 1, sizeof *o->layer);
    if (!o->tensor || !o->layer)
        return qsdc_fail(e, "out of memory");
    if (compile_plan(&s->m, MODE_INFER, s->ep.batch, &target, &o->p, NULL, NULL, e) < 0)
        return -1;
    for (int i = 0; i < s->m.n_layers; i++) {
        int t = hidden(&s->m.layers[i]) ? plan_find_tensor(&o->p, s->m.layers[i].name) : -1;
        if (t < 0 || o->p.tensors[t].buffer != BUF_A)
            continue;
        o->tensor[o->n_hidden] = t;
        o->layer[o->n_hidden++] = i;
    }
    return exec_create(&s->env, &o->p, &s->ms, &o->ex, e);
}

static void observer_close(observer *o)
{
    exec_destroy(&o->ex);
    plan_free(&o->p);
    free(o->tensor);
    free(o->layer);
}

/* d through the observing plan, batch by batch, each hidden layer's
 * activations handed to fn. */
static int observe_pass(qsdc_session *s, observer *o, const dataset *d,
                        qsdc_activations_fn fn, void *ctx, qsdc_eval_result *r,
                        qsdc_error *e)
{
    const plan *p = &o->p;
    int64_t batch = p->batch, correct = 0, biggest = 1;
    for (int i = 0; i < o->n_hidden; i++)
        if (p->tensors[o->tensor[i]].nelem > biggest)
            biggest = p->tensors[o->tensor[i]].nelem;
    float *x = malloc((size_t)p->input_elems * sizeof *x);
    float *out = malloc((size_t)p->output_elems * sizeof *out);
    float *h = malloc((size_t)biggest * sizeof *h);
    int32_t *y = malloc((size_t)batch * sizeof *y);
    int rc = x && out && h && y ? 0 : qsdc_fail(e, "out of memory");
    double t0 = now_seconds();
    for (int64_t i0 = 0; rc == 0 && i0 < d->count; i0 += batch) {
        int64_t count = d->count - i0 < batch ? d->count - i0 : batch;
        rc = eval_batch(&o->ex, d, NULL, i0, count, x, out, y, &correct, e);
        for (int i = 0; rc == 0 && fn && i < o->n_hidden; i++) {
            const plan_tensor *pt = &p->tensors[o->tensor[i]];
            rc = exec_read_arena(&o->ex, pt->offset, pt->nelem, h, e);
            qsdc_activations a = {.layer = i, .name = s->m.layers[o->layer[i]].name,
                                  .units = pt->nelem / batch, .first = i0, .count = count,
                                  .total = d->count, .x = h};
            if (rc == 0)
                rc = fn(ctx, &a, e);
        }
    }
    if (rc == 0) {
        memset(r, 0, sizeof *r);
        r->count = d->count;
        r->correct = correct;
        r->accuracy = d->count ? 100.0 * (double)correct / (double)d->count : 0;
        r->seconds = now_seconds() - t0;
    }
    free(x);
    free(out);
    free(h);
    free(y);
    return rc;
}

static int observe(qsdc_session *s, int64_t n, qsdc_activations_fn fn, void *ctx,
                   qsdc_eval_result *r, qsdc_error *e)
{
    if (n < 0)
        return qsdc_fail(e, "qsdc_session_observe: n is %lld (0: all)", (long long)n);
    if (session_need_weights(s, e) < 0)
        return -1;
    if (s->m.train.format == DATA_TEXT)
        return qsdc_fail(e, "%s: a language model's test data are streams of tokens, not "
                         "samples to observe", s->m.path);
    if (!data_has_test(&s->m.train))
        return qsdc_fail(e, "%s: the model's train: section names no test data", s->m.path);
    dataset d;
    memset(&d, 0, sizeof d);
    observer o;
    memset(&o, 0, sizeof o);
    int64_t batch = s->ep.batch;
    int rc = data_load(&s->m.train, true, s->ep.output_elems / batch, s->m.input_shape,
                       s->m.input_rank, &d, e);
    if (rc == 0 && n > 0 && n < d.count)
        d.count = n;
    if (rc == 0)
        rc = observer_open(s, &o, e);
    if (rc == 0)
        rc = observe_pass(s, &o, &d, fn, ctx, r, e);
    observer_close(&o);
    dataset_free(&d);
    return rc;
}

int qsdc_session_observe(qsdc_session *s, int64_t n, qsdc_activations_fn fn, void *ctx,
                         qsdc_eval_result *out, qsdc_error *err)
{
    qsdc_error e = {""};
    qsdc_eval_result r;
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = observe(s, n, fn, ctx, &r, &e);
    if (rc == 0 && out)
        *out = r;
    return session_finish(s, rc, &e, err);
}

/* A stateful lstm's carried state: in the parameter buffer, not a parameter. */
static bool is_carry(const model *m, const plan_tensor *pt)
{
    char name[2 * QSDC_NAME_MAX + 8];
    for (int i = 0; i < m->n_layers; i++) {
        if (m->layers[i].kind != LAYER_LSTM || !m->layers[i].stateful)
            continue;
        snprintf(name, sizeof name, "%s.carry", m->layers[i].name);
        if (strcmp(pt->name, name) == 0)
            return true;
    }
    return false;
}

int session_read_params(qsdc_session *s, float **all, qsdc_error *e)
{
    *all = NULL;
    if (session_need_weights(s, e) < 0)
        return -1;
    *all = malloc((size_t)s->ep.param_elems * sizeof **all);
    if (!*all)
        return qsdc_fail(e, "out of memory for %lld parameters", (long long)s->ep.param_elems);
    return model_state_read(&s->env, &s->ms, *all, NULL, e);
}

const plan_tensor *session_param(const qsdc_session *s, const char *layer, const char *what)
{
    char name[2 * QSDC_NAME_MAX + 16];
    snprintf(name, sizeof name, "%s.%s", layer, what);
    int t = plan_find_tensor(&s->ep, name);
    return t >= 0 && s->ep.tensors[t].buffer == BUF_P ? &s->ep.tensors[t] : NULL;
}

static int weights(qsdc_session *s, qsdc_tensor_fn fn, void *ctx, qsdc_error *e)
{
    if (!fn)
        return qsdc_fail(e, "qsdc_session_weights: fn is NULL");
    const plan *p = &s->ep;
    float *all;
    int rc = session_read_params(s, &all, e);
    for (int t = 0; rc == 0 && t < p->n_tensors; t++) {
        const plan_tensor *pt = &p->tensors[t];
        if (pt->buffer == BUF_P && pt->nelem > 0 && !is_carry(&s->m, pt))
            rc = fn(ctx, pt->name, all + pt->offset, pt->nelem, e);
    }
    free(all);
    return rc;
}

int qsdc_session_weights(qsdc_session *s, qsdc_tensor_fn fn, void *ctx, qsdc_error *err)
{
    qsdc_error e = {""};
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = weights(s, fn, ctx, &e);
    return session_finish(s, rc, &e, err);
}
