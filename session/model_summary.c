/* qsdc_model_summary: each layer's output shape and parameter counts, read
 * from the model lowered to the graph IR for one sample (tensors are named
 * after their layers: a layer's output is the activation of its name, its
 * parameters "NAME.weight" and so on). */
#include <string.h>

#include "graph.h"
#include "session.h"

/* The activation a layer writes: the last tensor of its name. */
static const tensor *layer_output(const graph *g, const char *name)
{
    for (int i = g->nt - 1; i >= 0; i--)
        if (g->t[i].kind == T_ACT && strcmp(g->t[i].name, name) == 0)
            return &g->t[i];
    return NULL;
}

/* A stateful lstm's carried state is kept as a running statistic is, but
 * per batch row: not the model's. */
static void count_params(const graph *g, const layer *l, qsdc_layer_summary *s)
{
    const char *name = l->name;
    size_t n = strlen(name);
    for (int i = 0; i < g->nt; i++) {
        const tensor *t = &g->t[i];
        if (t->kind != T_PARAM || strncmp(t->name, name, n) != 0 || t->name[n] != '.')
            continue;
        if (t->running_stat && l->kind == LAYER_BATCHNORM)
            s->stats += t->nelem;
        else if (t->running_stat)
            continue;
        else
            s->params += t->nelem;
    }
}

int qsdc_model_summary(const qsdc_model *q, qsdc_layer_summary *out, int cap, qsdc_error *err)
{
    if (!q || (cap > 0 && !out))
        return qsdc_fail(err, "qsdc_model_summary: %s is NULL", q ? "out" : "m");
    const model *m = &q->m;
    graph g;
    if (graph_lower(m, MODE_INFER, 1, &g, err) < 0) {
        graph_free(&g);
        return -1;
    }
    int rc = m->n_layers;
    for (int i = 0; i < m->n_layers && i < cap; i++) {
        const layer *l = &m->layers[i];
        qsdc_layer_summary *s = &out[i];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", l->name);
        snprintf(s->op, sizeof s->op, "%s", layer_kind_name(l->kind));
        const tensor *y = layer_output(&g, l->name);
        if (!y) {
            rc = qsdc_fail(err, "qsdc_model_summary: layer %s has no output in the graph",
                           l->name);
            break;
        }
        s->rank = y->rank - 1;
        memcpy(s->shape, y->dims + 1, (size_t)s->rank * sizeof s->shape[0]);
        count_params(&g, l, s);
    }
    graph_free(&g);
    return rc;
}
