/* Reverse-mode autodiff on the static graph: appends the loss, the backward
 * of every forward node in reverse order, and one optimiser update node. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "autodiff_int.h"

/* The tensor whose sign the backward of forward node i tests. For a ReLU
 * read only by a QSD node, its output h = m * relu(x) serves: where m > 0 it
 * has relu(x)'s sign, and where m = 0 the incoming gradient m * dh is 0
 * anyway. relu(x) then need not be kept for the backward. */
static int sign_source(const graph *g, int i)
{
    int y = g->n[i].out, reader = -1;
    if (g->n[i].op != OP_RELU)
        return y;
    for (int j = 0; j < g->n_forward; j++)
        for (int k = 0; k < g->n[j].n_in; k++)
            if (graph_storage(g, g->n[j].in[k]) == y) {
                if (reader >= 0 || g->n[j].in[k] != y)
                    return y;
                reader = j;
            }
    bool masks = reader >= 0 && (g->n[reader].op == OP_QSD || g->n[reader].op == OP_GROUP_SCALE);
    return masks && y != g->output ? g->n[reader].out : y;
}

/* Emits the backward of forward node i, whose output gradient is dy. */
static int backward_node(ad *s, int i, int dy)
{
    graph *g = s->g;
    gnode n = g->n[i]; /* copy: adding nodes may move the array */
    int x = n.in[0];
    int dx;
    switch (n.op) {
    case OP_MATMUL: { /* y[B,N] = x[B,K] w[K,N] */
        int w = n.in[1];
        int dw = g->t[w].grad;
        gnode mm = {.op = OP_MATMUL, .in = {x, dy}, .n_in = 2, .out = dw,
                    .layer = -1, .trans_a = true};
        if (graph_add_node(g, &mm) < 0) /* dw[K,N] = x^T dy */
            return -1;
        if (!needs_grad(s, x))
            return 0;
        dx = grad_tensor(g, x, T_ACT);
        gnode mx = {.op = OP_MATMUL, .in = {dy, w}, .n_in = 2, .out = dx,
                    .layer = -1, .trans_b = true};
        if (dx < 0 || graph_add_node(g, &mx) < 0) /* dx[B,K] = dy w^T */
            return -1;
        return add_grad(s, x, dx);
    }
    case OP_BIAS_ADD: {
        int b = n.in[1];
        if (graph_add_op(g, OP_SUM_ROWS, dy, -1, g->t[b].grad, -1) < 0) /* db[N] = sum_b dy */
            return -1;
        return needs_grad(s, x) ? add_grad(s, x, dy) : 0;
    }
    case OP_ADD:
        if (needs_grad(s, n.in[0]) && add_grad(s, n.in[0], dy) < 0)
            return -1;
        return needs_grad(s, n.in[1]) ? add_grad(s, n.in[1], dy) : 0;
    case OP_QSD: /* dx = m * dy with the forward's own mask, stored by it:
                    regenerating it costs a full mask draw per element */
        if (!needs_grad(s, x))
            return 0;
        dx = grad_tensor(g, x, T_ACT);
        if (dx < 0 || graph_add_op(g, OP_MUL, dy, n.mask, dx, -1) < 0)
            return -1;
        return add_grad(s, x, dx);
    case OP_RELU:
    case OP_TANH:
    case OP_SIGMOID:
    case OP_SOFTMAX: {
        if (!needs_grad(s, x))
            return 0;
        static const op_kind back[OP_KIND_COUNT] = {
            [OP_RELU] = OP_RELU_GRAD, [OP_TANH] = OP_TANH_GRAD,
            [OP_SIGMOID] = OP_SIGMOID_GRAD, [OP_SOFTMAX] = OP_SOFTMAX_GRAD};
        dx = grad_tensor(g, x, T_ACT);
        if (dx < 0 || graph_add_op(g, back[n.op], dy, sign_source(g, i), dx, -1) < 0)
            return -1;
        return add_grad(s, x, dx);
    }
    case OP_EMBED:
    case OP_LSTM:
    case OP_SEQ_POOL:
        return backward_rnn(s, i, dy);
    default:
        return backward_conv(s, i, dy);
    }
}

int graph_autodiff(graph *g, qsdc_error *err)
{
    if (g->mode != MODE_TRAIN)
        return qsdc_fail(err, "autodiff needs a training graph");
    const tensor out = g->t[g->output]; /* a copy: adding tensors moves g->t */
    if (out.rank != 2 && out.rank != 3)
        return qsdc_fail(err, "the loss needs a [batch, classes] or [batch, time, "
                         "classes] output, got rank %d", out.rank);
    ad s = {g, NULL, NULL};
    int nt0 = g->nt;
    s.grad = malloc((size_t)nt0 * sizeof *s.grad);
    s.needs = calloc((size_t)nt0, sizeof *s.needs);
    if (!s.grad || !s.needs) {
        free(s.grad);
        free(s.needs);
        return qsdc_fail(err, "out of memory");
    }
    for (int i = 0; i < nt0; i++)
        s.grad[i] = -1;
    int rc = 0;
    /* gradients of parameters live in the single gradient allocation, at the
     * parameter's own offset */
    for (int i = 0; i < nt0 && rc == 0; i++) {
        if (g->t[i].kind != T_PARAM || g->t[i].running_stat)
            continue;
        s.needs[i] = true;
        int gt = grad_tensor(g, i, T_GRAD);
        if (gt < 0) {
            rc = -1;
            break;
        }
        g->t[gt].offset = g->t[i].offset;
        g->t[i].grad = gt;
    }
    for (int i = 0; i < g->n_forward; i++)
        for (int j = 0; j < g->n[i].n_in; j++)
            if (needs_grad(&s, g->n[i].in[j]))
                s.needs[g->n[i].out] = true;

    /* a sequence output [B,T,C] has a label and a loss per (sample, step):
       the loss reads it as B*T rows */
    int logits = g->output;
    int64_t rows = out.nelem / out.dims[out.rank - 1];
    if (rc == 0 && out.rank == 3) {
        int64_t rd[2] = {rows, out.dims[2]};
        logits = graph_add_tensor(g, "logits", T_ACT, 2, rd);
        if (logits < 0)
            rc = -1;
        else
            g->t[logits].alias = g->output;
    }
    int64_t ld[1] = {rows};
    g->label = graph_add_tensor(g, "labels", T_LABEL, 1, ld);
    g->loss = graph_add_tensor(g, "loss", T_LOSS, 1, ld);
    int dout = rc == 0 ? grad_tensor(g, logits, T_ACT) : -1;
    op_kind lk = g->train.loss == LOSS_MSE ? OP_MSE : OP_SOFTMAX_XENT;
    op_kind gk = g->train.loss == LOSS_MSE ? OP_MSE_GRAD : OP_XENT_GRAD;
    if (g->label < 0 || g->loss < 0 || dout < 0 ||
        graph_add_op(g, lk, logits, g->label, g->loss, -1) < 0 ||
        graph_add_op(g, gk, logits, g->label, dout, -1) < 0 ||
        add_grad(&s, logits, dout) < 0)
        rc = -1;
    for (int i = g->n_forward - 1; i >= 0 && rc == 0; i--) {
        int y = g->n[i].out;
        if (s.grad[y] >= 0)
            rc = backward_node(&s, i, s.grad[y]);
    }
    gnode up = {.op = OP_UPDATE, .n_in = 0, .out = -1, .layer = -1};
    if (rc == 0 && graph_add_node(g, &up) < 0)
        rc = -1;
    int64_t per = g->train.optimizer == OPTIM_SGD ? 1 : 2;
    g->state_elems = per * g->grad_elems;
    free(s.grad);
    free(s.needs);
    return rc < 0 ? (err && err->message[0] ? -1 : qsdc_fail(err, "out of memory")) : 0;
}
