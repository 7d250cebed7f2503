/* Backward of the recurrent-network nodes. The lstm's input projection is an
 * ordinary matmul + bias_add, so its node's backward stops at the gate
 * inputs: OP_LSTM_GRAD gives d gates (full BPTT over the static length) and
 * dU; dW, db and dx follow from the matmul's own backward. */
#include <string.h>

#include "autodiff.h"

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
    case OP_LSTM: { /* y = h[B,T,H]; in zb[B*T,4H], U[H,4H]; saved in mask */
        int zb = n.in[0], u = n.in[1];
        int dz = grad_tensor(g, zb, T_ACT);
        gnode b = {.op = OP_LSTM_GRAD, .in = {dy, n.mask, u, n.out}, .n_in = 4,
                   .out = dz, .layer = -1, .mask = g->t[u].grad};
        if (dz < 0 || graph_add_node(g, &b) < 0)
            return -1;
        return add_grad(s, zb, dz);
    }
    case OP_SEQ_POOL: {
        int x = n.in[0];
        if (!needs_grad(s, x))
            return 0;
        int dx = grad_tensor(g, x, T_ACT);
        gnode b = {.op = OP_SEQ_POOL_GRAD, .in = {dy}, .n_in = 1, .out = dx,
                   .layer = -1, .seq = n.seq};
        if (dx < 0 || graph_add_node(g, &b) < 0)
            return -1;
        return add_grad(s, x, dx);
    }
    default:
        return 0;
    }
}
