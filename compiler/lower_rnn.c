/* Lowering of the recurrent-network layers: embedding, lstm, pool_sequence.
 * An lstm is one GEMM for the input projection of every step (x W + b over
 * B*T rows, an ordinary matmul + bias_add whose backward autodiff already
 * knows) followed by one OP_LSTM node that runs the recurrence. Over token
 * ids, the lstm and the pooling also read the ids for their padding steps. */
#include <stdio.h>
#include <string.h>

#include "lower_int.h"

static int add_act(graph *g, const char *layer_name, const char *what, int rank,
                   const int64_t *dims)
{
    char name[2 * QSDC_NAME_MAX];
    snprintf(name, sizeof name, "%s%s%s", layer_name, what[0] ? "." : "", what);
    return graph_add_tensor(g, name, T_ACT, rank, dims);
}

/* ids[B,T] (the int32 model input) -> [B,T,dim] */
int lower_embedding(const model *m, int li, graph *g, int x, qsdc_error *err)
{
    const layer *l = &m->layers[li];
    const tensor xt = g->t[x], *tx = &xt; /* a copy: adding tensors moves g->t */
    if (x != g->input || m->dtype != DTYPE_INT32 || tx->rank != 2)
        return layer_fail(m, l, err,
                          "reads the model input as token ids: it needs input "
                          "{shape: [time], dtype: int32}, got", tx, NULL);
    if (l->units < 1)
        return layer_fail(m, l, err, "missing required parameter 'dim'", NULL, NULL);
    int64_t wd[2] = {l->vocab, l->units}, yd[3] = {tx->dims[0], tx->dims[1], l->units};
    /* standard normal by default, as PyTorch's nn.Embedding: a small
     * (Glorot) table gives the lstm weak inputs and, under the clipped SGD
     * of language models, slowed learning measurably */
    init_kind init = l->init == INIT_AUTO ? INIT_NORMAL : l->init;
    int w = add_param(g, l->name, "weight", 2, wd, init, l->units, l->units);
    int y = add_act(g, l->name, "", 3, yd);
    if (w < 0 || y < 0 || graph_add_op(g, OP_EMBED, x, w, y, li) < 0)
        return -1;
    return y;
}

/* Appends the model's token ids [B,T] to n's inputs when x[B,T,H] is a
 * sequence over them, so that n skips their padding steps (graph_pad_ids). */
static void read_pad_ids(const model *m, const graph *g, int x, gnode *n)
{
    const tensor *ids = &g->t[g->input], *seq = &g->t[x];
    if (m->dtype == DTYPE_INT32 && ids->dims[0] == seq->dims[0] &&
        ids->dims[1] == seq->dims[1])
        n->in[n->n_in++] = g->input;
}

/* a[B,T,H] -> [B,H] */
static int seq_pool(const model *m, graph *g, const char *name, int x, seq_mode mode, int li)
{
    const tensor xt = g->t[x], *tx = &xt; /* a copy: adding tensors moves g->t */
    int64_t yd[2] = {tx->dims[0], tx->dims[2]};
    int y = graph_add_tensor(g, name, T_ACT, 2, yd);
    gnode n = {.op = OP_SEQ_POOL, .in = {x}, .n_in = 1, .out = y, .layer = li, .seq = mode};
    read_pad_ids(m, g, x, &n);
    return y < 0 || graph_add_node(g, &n) < 0 ? -1 : y;
}

/* x[B,T,F] -> h[B,T,H], or its last step [B,H] with return: last */
int lower_lstm(const model *m, int li, graph *g, int x, qsdc_error *err)
{
    const layer *l = &m->layers[li];
    const tensor xt = g->t[x], *tx = &xt; /* a copy: adding tensors moves g->t */
    if (tx->rank != 3)
        return layer_fail(m, l, err, "expects a sequence [batch, time, features], got",
                          tx, NULL);
    int64_t b = tx->dims[0], t = tx->dims[1], f = tx->dims[2], h = l->units;
    int64_t xd[2] = {b * t, f}, wd[2] = {f, 4 * h}, ud[2] = {h, 4 * h}, bd[1] = {4 * h};
    /* saved: per step i, f, g, o, c ([B,T,5H]) for the backward, then U^T
       [4H,H], which gives the forward contiguous dot products, then when
       stateful the initial h and c ([B,H] each) the carry held */
    int64_t zd[2] = {b * t, 4 * h}, hd[3] = {b, t, h};
    int64_t sd[1] = {b * t * 5 * h + 4 * h * h + (l->stateful ? 2 * b * h : 0)};
    init_kind init = l->init == INIT_AUTO ? INIT_GLOROT : l->init;
    char xname[2 * QSDC_NAME_MAX];
    snprintf(xname, sizeof xname, "%s.steps", l->name);
    int xv = lower_view(g, xname, x, 2, xd);
    int w = add_param(g, l->name, "weight", 2, wd, init, f, 4 * h);
    int u = add_param(g, l->name, "recurrent", 2, ud, init, h, 4 * h);
    int bias = add_param(g, l->name, "bias", 1, bd, INIT_ZEROS, f, 4 * h);
    int z = add_act(g, l->name, "matmul", 2, zd);
    int zb = add_act(g, l->name, "gates_in", 2, zd);
    int y = add_act(g, l->name, l->seq == SEQ_LAST ? "sequence" : "", 3, hd);
    int saved = add_act(g, l->name, "saved", 1, sd);
    if (xv < 0 || w < 0 || u < 0 || bias < 0 || z < 0 || zb < 0 || y < 0 || saved < 0 ||
        graph_add_op(g, OP_MATMUL, xv, w, z, li) < 0 ||
        graph_add_op(g, OP_BIAS_ADD, z, bias, zb, li) < 0)
        return -1;
    gnode n = {.op = OP_LSTM, .in = {zb, u}, .n_in = 2, .out = y, .layer = li,
               .mask = saved};
    if (l->stateful) {
        /* the carried h and c [B,2H]: written by the forward, never by the
         * optimiser (no gradient: truncated BPTT stops at the batch edge) */
        int64_t cd[2] = {b, 2 * h};
        char cname[2 * QSDC_NAME_MAX];
        snprintf(cname, sizeof cname, "%s.carry", l->name);
        int carry = graph_add_tensor(g, cname, T_PARAM, 2, cd);
        if (carry < 0)
            return -1;
        g->t[carry].init = INIT_ZEROS;
        g->t[carry].running_stat = true;
        n.in[n.n_in++] = carry;
    }
    read_pad_ids(m, g, y, &n);
    if (graph_add_node(g, &n) < 0)
        return -1;
    return l->seq == SEQ_LAST ? seq_pool(m, g, l->name, y, SEQ_LAST, li) : y;
}

/* x[B,T,H] -> [B,H] */
int lower_pool_sequence(const model *m, int li, graph *g, int x, qsdc_error *err)
{
    const layer *l = &m->layers[li];
    if (g->t[x].rank != 3)
        return layer_fail(m, l, err, "expects a sequence [batch, time, units], got",
                          &g->t[x], NULL);
    return seq_pool(m, g, l->name, x, l->seq, li);
}
