#include "conv_direct.h"

#include <string.h>

/* The per-sample GEMM reading col (im2col's output), the only forward node
 * that does; -1 when there is none or col has other readers. */
static int gemm_of(const graph *g, int from, int col)
{
    int found = -1;
    for (int i = from; i < g->n_forward; i++) {
        const gnode *n = &g->n[i];
        for (int j = 0; j < n->n_in; j++) {
            if (graph_storage(g, n->in[j]) != col)
                continue;
            if (found >= 0 || n->op != OP_BMATMUL || j != 1 || n->accumulate ||
                g->t[n->in[0]].kind != T_PARAM)
                return -1;
            found = i;
        }
    }
    return found;
}

int graph_conv_layers(const graph *g, int *im2col_node, conv_shape *shape, int max)
{
    int count = 0;
    for (int i = 0; i < g->n_forward && count < max; i++) {
        const gnode *n = &g->n[i];
        if (n->op != OP_IM2COL || gemm_of(g, i + 1, n->out) < 0)
            continue;
        const tensor *x = &g->t[n->in[0]];
        const tensor *w = &g->t[g->n[gemm_of(g, i + 1, n->out)].in[0]];
        im2col_node[count] = i;
        shape[count++] = (conv_shape){.c = x->dims[1], .h = x->dims[2], .w = x->dims[3],
                                      .co = w->dims[0], .win = n->win};
    }
    return count;
}

bool conv_shape_equal(const conv_shape *a, const conv_shape *b)
{
    return a->c == b->c && a->h == b->h && a->w == b->w && a->co == b->co &&
           memcmp(&a->win, &b->win, sizeof a->win) == 0;
}

static bool chosen(const codegen_target *t, const conv_shape *s)
{
    if (t->direct_conv_all)
        return true;
    for (int i = 0; i < t->n_direct_conv; i++)
        if (conv_shape_equal(&t->direct_conv[i], s))
            return true;
    return false;
}

void graph_direct_conv(graph *g, const codegen_target *t)
{
    int nodes[CONV_MAX_LAYERS];
    conv_shape shapes[CONV_MAX_LAYERS];
    int n = graph_conv_layers(g, nodes, shapes, CONV_MAX_LAYERS);
    /* from the last pair back, so that removing a GEMM node moves no
     * im2col node still to rewrite */
    for (int i = n - 1; i >= 0; i--) {
        if (!chosen(t, &shapes[i]))
            continue;
        gnode *im = &g->n[nodes[i]];
        int mm = gemm_of(g, nodes[i] + 1, im->out);
        const gnode *gemm = &g->n[mm];
        im->mask = im->out;
        im->op = OP_CONV2D;
        im->in[1] = gemm->in[0];
        im->n_in = 2;
        im->out = gemm->out;
        memmove(&g->n[mm], &g->n[mm + 1], (size_t)(g->nn - mm - 1) * sizeof g->n[0]);
        g->nn--;
        g->n_forward--;
    }
}
