/* Backward of conv2d (im2col, per-sample GEMM, channel bias), pooling and
 * batchnorm nodes. */
#include <string.h>

#include "autodiff_int.h"

/* A node with up to five inputs (the rest -1) carrying the forward's window
 * and batchnorm constants. */
static int node_like(graph *g, const gnode *fwd, op_kind op, const int *in, int n_in,
                     int out)
{
    gnode n;
    memset(&n, 0, sizeof n);
    n.op = op;
    memcpy(n.in, in, (size_t)n_in * sizeof *in);
    n.n_in = n_in;
    n.out = out;
    n.layer = -1;
    n.win = fwd->win;
    n.eps = fwd->eps;
    return graph_add_node(g, &n);
}

/* y_n = w col_n: dw = sum_n dy_n col_n^T, dcol_n = w^T dy_n. */
static int backward_bmatmul(ad *s, const gnode *n, int dy)
{
    graph *g = s->g;
    int w = n->in[0], col = n->in[1];
    gnode dw = {.op = OP_BMATMUL, .in = {dy, col}, .n_in = 2, .out = g->t[w].grad,
                .layer = -1, .trans_b = true};
    if (g->t[w].kind != T_PARAM || graph_add_node(g, &dw) < 0)
        return -1;
    if (!needs_grad(s, col))
        return 0;
    int dcol = grad_tensor(g, col, T_ACT);
    gnode dc = {.op = OP_BMATMUL, .in = {w, dy}, .n_in = 2, .out = dcol, .layer = -1,
                .trans_a = true};
    if (dcol < 0 || graph_add_node(g, &dc) < 0)
        return -1;
    return add_grad(s, col, dcol);
}

/* dx of a node whose input gradient is op(dy[, b]) with the same window. */
static int backward_window(ad *s, const gnode *n, op_kind op, int dy, int b)
{
    graph *g = s->g;
    int x = n->in[0];
    if (!needs_grad(s, x))
        return 0;
    int dx = grad_tensor(g, x, T_ACT);
    int in[2] = {dy, b};
    if (dx < 0 || node_like(g, n, op, in, b >= 0 ? 2 : 1, dx) < 0)
        return -1;
    return add_grad(s, x, dx);
}

/* A direct convolution: its im2col recomputed into the forward's col
 * tensor (node mask), then the per-sample GEMM's backward and col2im. */
static int backward_direct(ad *s, const gnode *n, int dy)
{
    graph *g = s->g;
    int x = n->in[0], col = n->mask;
    gnode im2col = {.op = OP_IM2COL, .in = {x}, .n_in = 1, .out = col, .win = n->win};
    gnode gemm = {.op = OP_BMATMUL, .in = {n->in[1], col}, .n_in = 2, .out = n->out};
    s->needs[col] = needs_grad(s, x); /* no forward node produces col now */
    if (node_like(g, n, OP_IM2COL, &x, 1, col) < 0 || backward_bmatmul(s, &gemm, dy) < 0)
        return -1;
    return s->grad[col] < 0 ? 0 : backward_window(s, &im2col, OP_COL2IM, s->grad[col], -1);
}

/* Training form y = bn_apply(x, stats(x), affine): the gradient reaches x
 * directly and through the batch statistics, both in bn_grad_input. */
static int backward_bn(ad *s, const gnode *n, int dy)
{
    graph *g = s->g;
    int x = n->in[0], stats = n->in[1], affine = n->in[2];
    int daffine = g->t[affine].grad;
    int sums[3] = {dy, x, stats};
    if (node_like(g, n, OP_BN_GRAD_STATS, sums, 3, daffine) < 0)
        return -1;
    if (!needs_grad(s, x))
        return 0;
    int dx = grad_tensor(g, x, T_ACT);
    int in[5] = {dy, x, stats, affine, daffine};
    if (dx < 0 || node_like(g, n, OP_BN_GRAD_INPUT, in, 5, dx) < 0)
        return -1;
    return add_grad(s, x, dx);
}

int backward_conv(ad *s, int i, int dy)
{
    graph *g = s->g;
    gnode n = g->n[i]; /* copy: adding nodes may move the array */
    switch (n.op) {
    case OP_BMATMUL:
        return backward_bmatmul(s, &n, dy);
    case OP_IM2COL:
        return backward_window(s, &n, OP_COL2IM, dy, -1);
    case OP_CONV2D:
        return backward_direct(s, &n, dy);
    case OP_MAXPOOL:
        return backward_window(s, &n, OP_MAXPOOL_GRAD, dy, n.mask);
    case OP_AVGPOOL:
        return backward_window(s, &n, OP_AVGPOOL_GRAD, dy, -1);
    case OP_CHANNEL_BIAS:
        if (graph_add_op(g, OP_SUM_CHANNELS, dy, -1, g->t[n.in[1]].grad, -1) < 0)
            return -1;
        return needs_grad(s, n.in[0]) ? add_grad(s, n.in[0], dy) : 0;
    case OP_BN_APPLY:
        return backward_bn(s, &n, dy);
    case OP_GROUP_SCALE: { /* dx = m * dy with the same drawn masks */
        int x = n.in[0];
        if (!needs_grad(s, x))
            return 0;
        int dx = grad_tensor(g, x, T_ACT);
        int nd = dx < 0 ? -1 : graph_add_op(g, OP_GROUP_SCALE, dy, n.in[1], dx, -1);
        if (nd < 0)
            return -1;
        g->n[nd].qsd = n.qsd;
        return add_grad(s, x, dx);
    }
    default: /* OP_BN_STATS: its gradient is part of bn_apply's; OP_QSD_DRAW */
        return 0;
    }
}
