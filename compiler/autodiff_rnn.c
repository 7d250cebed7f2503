/* Backward of the recurrent-network nodes. The lstm's input projection is an
 * ordinary matmul + bias_add, so its node's backward stops at the gate
 * inputs: OP_LSTM_GRAD gives d gates (full BPTT over the static length),
 * dU = h_{t-1}^T d gates is one GEMM over all steps, and dW, db and dx follow
 * from the input projection's own backward. */
#include <stdio.h>
#include <string.h>

#include "autodiff_int.h"

int backward_rnn(ad *s, int i, int dy)
{
    graph *g = s->g;
    gnode n = g->n[i]; /* copy: adding nodes may move the array */
    switch (n.op) {
    case OP_EMBED: { /* only the table has a gradient: ids are not differentiable */
        gnode e = {.op = OP_EMBED_GRAD, .in = {dy, n.in[0]}, .n_in = 2,
                   .out = g->t[n.in[1]].grad, .layer = -1};
        return graph_add_node(g, &e) < 0 ? -1 : 0;
    }
    case OP_LSTM: { /* y = h[B,T,H]; in zb[B*T,4H], U[H,4H], carry, ids; saved in mask */
        int zb = n.in[0], u = n.in[1], ids = graph_pad_ids(g, &n);
        bool stateful = n.n_in > 2 && n.in[2] != ids;
        const tensor *y = &g->t[n.out];
        int64_t hd[2] = {y->dims[0] * y->dims[1], y->dims[2]};
        char name[2 * QSDC_NAME_MAX];
        snprintf(name, sizeof name, "%.*s.previous", QSDC_NAME_MAX, y->name);
        int hp = graph_add_tensor(g, name, T_ACT, 2, hd);
        int dz = grad_tensor(g, zb, T_ACT);
        gnode b = {.op = OP_LSTM_GRAD, .in = {dy, n.mask, u, ids}, .n_in = ids < 0 ? 3 : 4,
                   .out = dz, .layer = -1};
        /* a stateful lstm's first step follows the carried h, kept in saved */
        gnode sh = {.op = OP_SEQ_SHIFT, .in = {n.out, n.mask}, .n_in = stateful ? 2 : 1,
                    .out = hp, .layer = -1};
        gnode du = {.op = OP_MATMUL, .in = {hp, dz}, .n_in = 2, .out = g->t[u].grad,
                    .layer = -1, .trans_a = true};
        if (hp < 0 || dz < 0 || graph_add_node(g, &b) < 0 || graph_add_node(g, &sh) < 0 ||
            graph_add_node(g, &du) < 0) /* dU[H,4H] = hp^T dz */
            return -1;
        return add_grad(s, zb, dz);
    }
    case OP_SEQ_POOL: {
        int x = n.in[0];
        if (!needs_grad(s, x))
            return 0;
        int dx = grad_tensor(g, x, T_ACT), ids = graph_pad_ids(g, &n);
        gnode b = {.op = OP_SEQ_POOL_GRAD, .in = {dy, ids}, .n_in = ids < 0 ? 1 : 2,
                   .out = dx, .layer = -1, .seq = n.seq};
        if (dx < 0 || graph_add_node(g, &b) < 0)
            return -1;
        return add_grad(s, x, dx);
    }
    default:
        return 0;
    }
}
