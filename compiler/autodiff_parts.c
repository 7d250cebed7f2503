/* What every backward file builds with: gradient tensors, and the sum a
 * tensor's gradient collects over its readers. */
#include <stdio.h>
#include <string.h>

#include "autodiff_int.h"

int grad_tensor(graph *g, int of, tensor_kind kind)
{
    char name[2 * QSDC_NAME_MAX];
    snprintf(name, sizeof name, "d.%.*s", QSDC_NAME_MAX, g->t[of].name);
    int64_t dims[QSDC_MAX_RANK];
    memcpy(dims, g->t[of].dims, sizeof dims);
    return graph_add_tensor(g, name, kind, g->t[of].rank, dims);
}

/* Adds dx to x's gradient, mapping views back to their storage and summing
 * fan-out contributions. */
int add_grad(ad *s, int x, int dx)
{
    graph *g = s->g;
    while (g->t[x].alias >= 0) {
        int src = g->t[x].alias;
        int v = grad_tensor(g, src, T_ACT);
        if (v < 0)
            return -1;
        g->t[v].alias = dx;
        x = src;
        dx = v;
    }
    if (s->grad[x] < 0) {
        s->grad[x] = dx;
        return 0;
    }
    int sum = grad_tensor(g, x, T_ACT);
    if (sum < 0 || graph_add_op(g, OP_ADD, s->grad[x], dx, sum, -1) < 0)
        return -1;
    s->grad[x] = sum;
    return 0;
}

bool needs_grad(const ad *s, int t)
{
    return s->needs[graph_storage(s->g, t)];
}
