/* What every lowering file builds with: a layer's located error, its
 * parameters placed in the parameter allocation, the default weight
 * initialisation, and views. */
#include <stdio.h>
#include <string.h>

#include "lower_int.h"

static void shape_str(const tensor *t, char *buf, size_t n)
{
    size_t len = 0;
    len += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->rank && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? "," : "",
                                (long long)t->dims[i]);
    if (len < n)
        snprintf(buf + len, n - len, "]");
}

int layer_fail(const model *m, const layer *l, qsdc_error *err,
               const char *msg, const tensor *a, const tensor *b)
{
    char sa[96] = "", sb[96] = "";
    if (a)
        shape_str(a, sa, sizeof sa);
    if (b)
        shape_str(b, sb, sizeof sb);
    return qsdc_fail_at(err, m->path, l->loc.line, l->loc.col,
                        "%s '%s': %s%s%s%s%s", layer_kind_name(l->kind), l->name, msg,
                        a ? " " : "", sa, b ? " and " : "", sb);
}

init_kind auto_init(const model *m, int li)
{
    const layer *l = &m->layers[li];
    if (l->init != INIT_AUTO)
        return l->init;
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_inputs; j++)
            if (strcmp(m->layers[i].inputs[j], l->name) == 0)
                return m->layers[i].kind == LAYER_RELU ? INIT_HE : INIT_GLOROT;
    return INIT_GLOROT;
}

int add_param(graph *g, const char *layer_name, const char *what, int rank,
              const int64_t *dims, init_kind init, int64_t fan_in, int64_t fan_out)
{
    char name[2 * QSDC_NAME_MAX];
    snprintf(name, sizeof name, "%s.%s", layer_name, what);
    int t = graph_add_tensor(g, name, T_PARAM, rank, dims);
    if (t < 0)
        return -1;
    g->t[t].init = init;
    g->t[t].fan_in = fan_in;
    g->t[t].fan_out = fan_out;
    g->t[t].offset = g->param_elems;
    g->param_elems += (g->t[t].nelem + PARAM_ALIGN - 1) / PARAM_ALIGN * PARAM_ALIGN;
    return t;
}

int lower_view(graph *g, const char *name, int x, int rank, const int64_t *dims)
{
    int v = graph_add_tensor(g, name, T_ACT, rank, dims);
    if (v >= 0)
        g->t[v].alias = x;
    return v;
}
