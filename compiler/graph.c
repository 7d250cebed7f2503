#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static const char *const op_names[OP_KIND_COUNT] = {
    [OP_MATMUL] = "matmul",         [OP_BIAS_ADD] = "bias_add",
    [OP_RELU] = "relu",             [OP_TANH] = "tanh",
    [OP_SIGMOID] = "sigmoid",       [OP_ADD] = "add",           [OP_MUL] = "mul",
    [OP_QSD] = "qsd",               [OP_SOFTMAX] = "softmax",
    [OP_SOFTMAX_XENT] = "softmax_xent", [OP_MSE] = "mse",
    [OP_RELU_GRAD] = "relu_grad",   [OP_TANH_GRAD] = "tanh_grad",
    [OP_SIGMOID_GRAD] = "sigmoid_grad", [OP_SOFTMAX_GRAD] = "softmax_grad",
    [OP_XENT_GRAD] = "xent_grad",   [OP_MSE_GRAD] = "mse_grad",
    [OP_SUM_ROWS] = "sum_rows",     [OP_UPDATE] = "update",
    [OP_EMBED] = "embed",           [OP_EMBED_GRAD] = "embed_grad",
    [OP_LSTM] = "lstm",             [OP_LSTM_GRAD] = "lstm_grad",
    [OP_SEQ_SHIFT] = "seq_shift",
    [OP_SEQ_POOL] = "seq_pool",     [OP_SEQ_POOL_GRAD] = "seq_pool_grad",
    [OP_IM2COL] = "im2col",         [OP_BMATMUL] = "bmatmul",
    [OP_CONV2D] = "conv2d",
    [OP_CHANNEL_BIAS] = "channel_bias", [OP_MAXPOOL] = "maxpool",
    [OP_AVGPOOL] = "avgpool",       [OP_BN_STATS] = "bn_stats",
    [OP_BN_APPLY] = "bn_apply",     [OP_COL2IM] = "col2im",
    [OP_SUM_CHANNELS] = "sum_channels", [OP_MAXPOOL_GRAD] = "maxpool_grad",
    [OP_AVGPOOL_GRAD] = "avgpool_grad", [OP_BN_GRAD_STATS] = "bn_grad_stats",
    [OP_BN_GRAD_INPUT] = "bn_grad_input", [OP_QSD_DRAW] = "qsd_draw",
    [OP_GROUP_SCALE] = "group_scale",
};

const char *op_kind_name(op_kind k)
{
    return (k >= 0 && k < OP_KIND_COUNT) ? op_names[k] : "?";
}

void graph_init(graph *g, graph_mode mode, int64_t batch)
{
    memset(g, 0, sizeof *g);
    g->mode = mode;
    g->batch = batch;
    g->input = g->label = g->output = g->loss = -1;
}

void graph_free(graph *g)
{
    free(g->t);
    free(g->n);
    memset(g, 0, sizeof *g);
}

int graph_add_tensor(graph *g, const char *name, tensor_kind kind, int rank,
                     const int64_t *dims)
{
    if (g->nt == g->t_cap) {
        int cap = g->t_cap ? 2 * g->t_cap : 32;
        tensor *t = realloc(g->t, (size_t)cap * sizeof *t);
        if (!t)
            return -1;
        g->t = t;
        g->t_cap = cap;
    }
    tensor *t = &g->t[g->nt];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    t->rank = rank;
    t->nelem = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        if (dims[i] < 0 || __builtin_mul_overflow(t->nelem, dims[i], &t->nelem))
            t->nelem = INT64_MAX; /* rejected by graph_lower's size check */
    }
    t->alias = -1;
    t->grad = -1;
    t->offset = -1;
    return g->nt++;
}

int graph_add_node(graph *g, const gnode *n)
{
    if (g->nn == g->n_cap) {
        int cap = g->n_cap ? 2 * g->n_cap : 32;
        gnode *p = realloc(g->n, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        g->n = p;
        g->n_cap = cap;
    }
    g->n[g->nn] = *n;
    return g->nn++;
}

int graph_add_op(graph *g, op_kind op, int a, int b, int out, int layer)
{
    gnode n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.in[0] = a;
    n.in[1] = b;
    n.n_in = b >= 0 ? 2 : 1;
    n.out = out;
    n.layer = layer;
    return graph_add_node(g, &n);
}

int graph_storage(const graph *g, int t)
{
    while (g->t[t].alias >= 0)
        t = g->t[t].alias;
    return t;
}

int graph_pad_ids(const graph *g, const gnode *n)
{
    for (int j = 1; j < n->n_in; j++)
        if (n->in[j] == g->input)
            return g->input;
    return -1;
}

static void dump_shape(strbuf *out, const tensor *t)
{
    sb_append(out, "[");
    for (int i = 0; i < t->rank; i++)
        sb_printf(out, "%s%lld", i ? "," : "", (long long)t->dims[i]);
    sb_append(out, "]");
}

void graph_dump(const graph *g, strbuf *out)
{
    static const char *const kinds[] = {"input", "label", "param", "grad", "act", "loss"};
    sb_printf(out, "graph (%s, batch %lld): %d tensors, %d nodes (%d forward)\n",
              g->mode == MODE_TRAIN ? "train" : "infer", (long long)g->batch,
              g->nt, g->nn, g->n_forward);
    for (int i = 0; i < g->nt; i++) {
        const tensor *t = &g->t[i];
        sb_printf(out, "  t%-3d %-5s %-28s ", i, kinds[t->kind], t->name);
        dump_shape(out, t);
        if (t->alias >= 0)
            sb_printf(out, " = view of t%d", t->alias);
        sb_append(out, "\n");
    }
    for (int i = 0; i < g->nn; i++) {
        const gnode *n = &g->n[i];
        sb_printf(out, "  n%-3d t%d = %s(", i, n->out, op_kind_name(n->op));
        for (int j = 0; j < n->n_in; j++)
            sb_printf(out, "%st%d", j ? ", " : "", n->in[j]);
        sb_append(out, ")");
        if (n->trans_a || n->trans_b)
            sb_printf(out, " trans(%d,%d)", n->trans_a, n->trans_b);
        if (n->accumulate)
            sb_append(out, " +=");
        if (n->op == OP_QSD)
            sb_printf(out, " p=%g n=%d v=%g c=%g%s rng=%u", n->qsd.p, n->qsd.sites,
                      n->qsd.q_cv, n->qsd.p_concentration,
                      n->qsd.hetero == HETERO_UNIT ? " unit" : "", n->rng_id);
        if (n->op == OP_QSD && n->qsd.anneal > 0)
            sb_printf(out, " anneal=%g", n->qsd.anneal);
        if (n->mask > 0)
            sb_printf(out, " mask->t%d", n->mask);
        if (n->win.kh > 0)
            sb_printf(out, " k=%dx%d s=%dx%d p=%dx%d d=%dx%d", n->win.kh, n->win.kw,
                      n->win.sh, n->win.sw, n->win.ph, n->win.pw, n->win.dh, n->win.dw);
        if (n->out >= 0) {
            sb_append(out, " ");
            dump_shape(out, &g->t[n->out]);
        }
        sb_append(out, "\n");
    }
}
