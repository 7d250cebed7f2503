/* Lowering: model layers to graph tensors and primitive ops, in dependency
 * order, with shape inference. Errors point at the layer in the model file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "lower_int.h"
#include "strbuf.h"

/* At the layer whose node makes or reads tensor t, else at input:. */
static int tensor_too_large(const model *m, const graph *g, int t, qsdc_error *err)
{
    src_loc at = m->input_loc;
    for (int i = 0; i < g->nn; i++) {
        const gnode *n = &g->n[i];
        bool uses = n->out == t;
        for (int j = 0; j < n->n_in; j++)
            uses = uses || n->in[j] == t;
        if (uses && n->layer >= 0) {
            at = m->layers[n->layer].loc;
            break;
        }
    }
    const tensor *x = &g->t[t];
    if (x->nelem == INT64_MAX) /* graph_add_tensor's mark of an overflowed product */
        return qsdc_fail_at(err, m->path, at.line ? at.line : 1, at.col ? at.col : 1,
                            "tensor '%s': the product of its dimensions overflows 64 bits",
                            x->name);
    return qsdc_fail_at(err, m->path, at.line ? at.line : 1, at.col ? at.col : 1,
                        "tensor '%s' has %lld elements, more than the 2^31-1 supported",
                        x->name, (long long)x->nelem);
}

static int act(graph *g, const char *name, const tensor *like)
{
    int64_t dims[QSDC_MAX_RANK];
    memcpy(dims, like->dims, sizeof dims);
    return graph_add_tensor(g, name, T_ACT, like->rank, dims);
}

/* x[R,K] -> y[R,units], y named yname */
static int lower_dense_rows(const model *m, int li, graph *g, int x, const char *yname)
{
    const layer *l = &m->layers[li];
    int64_t k = g->t[x].dims[1], n = l->units;
    int64_t wd[2] = {k, n}, zd[2] = {g->t[x].dims[0], n};
    int w = add_param(g, l->name, "weight", 2, wd, auto_init(m, li), k, n);
    char zname[2 * QSDC_NAME_MAX];
    snprintf(zname, sizeof zname, "%s.matmul", l->name);
    int z = graph_add_tensor(g, l->bias ? zname : yname, T_ACT, 2, zd);
    if (w < 0 || z < 0 || graph_add_op(g, OP_MATMUL, x, w, z, li) < 0)
        return -1;
    if (!l->bias)
        return z;
    int64_t bd[1] = {n};
    int b = add_param(g, l->name, "bias", 1, bd, INIT_ZEROS, k, n);
    int y = graph_add_tensor(g, yname, T_ACT, 2, zd);
    if (b < 0 || y < 0 || graph_add_op(g, OP_BIAS_ADD, z, b, y, li) < 0)
        return -1;
    return y;
}

/* x[B,K] -> [B,units]; a sequence x[B,T,K] -> [B,T,units], the same layer at
 * every step (B*T rows) */
static int lower_dense(const model *m, int li, graph *g, int x, qsdc_error *err)
{
    const layer *l = &m->layers[li];
    const tensor xt = g->t[x], *tx = &xt; /* a copy: adding tensors moves g->t */
    if (tx->rank == 2)
        return lower_dense_rows(m, li, g, x, l->name);
    if (tx->rank != 3)
        return layer_fail(m, l, err,
                          "expects a flat input [batch, features] (add a flatten "
                          "layer before it) or a sequence [batch, time, features], got",
                          tx, NULL);
    int64_t xd[2] = {tx->dims[0] * tx->dims[1], tx->dims[2]};
    int64_t yd[3] = {tx->dims[0], tx->dims[1], l->units};
    char name[2 * QSDC_NAME_MAX], yname[2 * QSDC_NAME_MAX];
    snprintf(name, sizeof name, "%s.steps", l->name);
    snprintf(yname, sizeof yname, "%s.rows", l->name);
    int v = lower_view(g, name, x, 2, xd);
    int y = v < 0 ? -1 : lower_dense_rows(m, li, g, v, yname);
    return y < 0 ? -1 : lower_view(g, l->name, y, 3, yd);
}

static int lower_qsd(const model *m, int li, graph *g, int x, qsdc_error *err)
{
    const layer *l = &m->layers[li];
    const tensor xt = g->t[x], *tx = &xt; /* a copy: adding tensors moves g->t */
    if (l->qsd.share == SHARE_CHANNEL && tx->rank != 4)
        return layer_fail(m, l, err,
                          "share: channel needs a feature map [batch, channels, "
                          "height, width], got", tx, NULL);
    if (l->qsd.share == SHARE_TIME && tx->rank != 3)
        return layer_fail(m, l, err,
                          "share: time needs a sequence [batch, time, units], got",
                          tx, NULL);
    if (g->mode == MODE_INFER)
        return lower_view(g, l->name, x, tx->rank, tx->dims);
    if (l->qsd.share != SHARE_ELEMENT)
        return lower_qsd_shared(m, li, g, x);
    int y = act(g, l->name, tx);
    char mname[2 * QSDC_NAME_MAX];
    snprintf(mname, sizeof mname, "%s.mask", l->name);
    int mask = act(g, mname, tx);
    if (y < 0 || mask < 0)
        return -1;
    gnode n;
    memset(&n, 0, sizeof n);
    n.op = OP_QSD;
    n.mask = mask;
    n.in[0] = x;
    n.n_in = 1;
    n.out = y;
    n.layer = li;
    n.qsd = l->qsd;
    n.rng_id = (uint32_t)li + 1;
    return graph_add_node(g, &n) < 0 ? -1 : y;
}

/* Returns the layer's output tensor, or -1 with err set. */
static int lower_layer(const model *m, int li, graph *g, const int *out_of,
                       bool skip_softmax, qsdc_error *err)
{
    const layer *l = &m->layers[li];
    int in[QSDC_MAX_INPUTS];
    for (int j = 0; j < l->n_inputs; j++) {
        int d = model_find(m, l->inputs[j]);
        in[j] = d >= 0 ? out_of[d] : g->input;
        if (m->dtype == DTYPE_INT32 && d < 0 && l->kind != LAYER_EMBEDDING)
            return layer_fail(m, l, err, "cannot read the int32 token ids of the input "
                              "(only an embedding layer can)", NULL, NULL);
    }
    const tensor *tx = &g->t[in[0]];
    switch (l->kind) {
    case LAYER_DENSE:
        return lower_dense(m, li, g, in[0], err);
    case LAYER_RELU:
    case LAYER_TANH:
    case LAYER_SIGMOID:
    case LAYER_SOFTMAX: {
        if (l->kind == LAYER_SOFTMAX && tx->rank != 2)
            return layer_fail(m, l, err, "expects [batch, classes], got", tx, NULL);
        if (skip_softmax)
            return in[0];
        static const op_kind ops[] = {[LAYER_RELU] = OP_RELU, [LAYER_TANH] = OP_TANH,
                                      [LAYER_SIGMOID] = OP_SIGMOID,
                                      [LAYER_SOFTMAX] = OP_SOFTMAX};
        int y = act(g, l->name, tx);
        if (y < 0 || graph_add_op(g, ops[l->kind], in[0], -1, y, li) < 0)
            return -1;
        return y;
    }
    case LAYER_ADD: {
        const tensor *tb = &g->t[in[1]];
        if (tx->rank != tb->rank ||
            memcmp(tx->dims, tb->dims, (size_t)tx->rank * sizeof tx->dims[0]) != 0)
            return layer_fail(m, l, err, "input shapes differ:", tx, tb);
        int y = act(g, l->name, tx);
        if (y < 0 || graph_add_op(g, OP_ADD, in[0], in[1], y, li) < 0)
            return -1;
        return y;
    }
    case LAYER_FLATTEN: {
        int64_t dims[2] = {tx->dims[0], tx->nelem / tx->dims[0]};
        return lower_view(g, l->name, in[0], 2, dims);
    }
    case LAYER_DROPOUT:
    case LAYER_QSD:
        return lower_qsd(m, li, g, in[0], err);
    case LAYER_EMBEDDING:
        return lower_embedding(m, li, g, in[0], err);
    case LAYER_LSTM:
        return lower_lstm(m, li, g, in[0], err);
    case LAYER_CONV2D:
        return lower_conv2d(m, li, g, in[0], err);
    case LAYER_MAXPOOL:
    case LAYER_AVGPOOL:
    case LAYER_GLOBAL_AVGPOOL:
        return lower_pool(m, li, g, in[0], err);
    case LAYER_BATCHNORM:
        return lower_batchnorm(m, li, g, in[0], err);
    case LAYER_POOL_SEQUENCE:
        return lower_pool_sequence(m, li, g, in[0], err);
    default:
        return layer_fail(m, l, err, "cannot be lowered yet", NULL, NULL);
    }
}

int graph_lower(const model *m, graph_mode mode, int64_t batch, graph *g,
                qsdc_error *err)
{
    graph_init(g, mode, batch);
    const train_config *t = &m->train;
    g->train = (graph_train){.loss = t->loss, .optimizer = t->optimizer,
                             .momentum = t->momentum, .nesterov = t->nesterov,
                             .beta1 = t->beta1, .beta2 = t->beta2, .eps = t->eps,
                             .weight_decay = t->weight_decay, .clip_norm = t->clip_norm,
                             .schedule = train_schedule(t)};
    if (batch < 1 || batch > (1 << 20))
        return qsdc_fail(err, "batch size %lld is out of range [1, 1048576]",
                         (long long)batch);
    if (m->n_layers < 1)
        return qsdc_fail_at(err, m->path, 1, 1, "the model has no layers");
    int64_t dims[QSDC_MAX_RANK + 1] = {batch};
    memcpy(dims + 1, m->input_shape, (size_t)m->input_rank * sizeof dims[0]);
    g->input = graph_add_tensor(g, "input", T_INPUT, m->input_rank + 1, dims);
    int out_layer = m->output[0] ? model_find(m, m->output) : m->n_layers - 1;
    if (out_layer < 0)
        return qsdc_fail(err, "output layer '%s' not found", m->output);
    /* Training with cross-entropy takes the logits: a final softmax folds into
     * the fused, numerically stable softmax_xent. */
    bool skip_softmax = mode == MODE_TRAIN && m->train.loss == LOSS_XENT &&
                        m->layers[out_layer].kind == LAYER_SOFTMAX;
    int *order = malloc((size_t)m->n_layers * sizeof *order);
    int *out_of = malloc((size_t)m->n_layers * sizeof *out_of);
    int rc = (!order || !out_of || g->input < 0) ? qsdc_fail(err, "out of memory")
                                                  : model_topo_order(m, order, err);
    for (int i = 0; rc == 0 && i < m->n_layers; i++) {
        int li = order[i];
        out_of[li] = lower_layer(m, li, g, out_of, skip_softmax && li == out_layer, err);
        if (out_of[li] < 0) {
            if (!err || !err->message[0])
                qsdc_fail(err, "out of memory");
            rc = -1;
        }
    }
    if (rc == 0) {
        g->output = out_of[out_layer];
        g->n_forward = g->nn;
        /* the running statistics follow every trainable parameter, so the
         * optimiser's range [0, grad_elems) leaves them alone */
        g->grad_elems = g->param_elems;
        for (int i = 0; i < g->nt; i++)
            if (g->t[i].running_stat) {
                g->t[i].offset = g->param_elems;
                g->param_elems += (g->t[i].nelem + PARAM_ALIGN - 1) / PARAM_ALIGN * PARAM_ALIGN;
            }
        /* Tensor sizes must fit device indexing (32-bit work-item ids). */
        for (int i = 0; rc == 0 && i < g->nt; i++)
            if (g->t[i].nelem > INT32_MAX)
                rc = tensor_too_large(m, g, i, err);
    }
    free(order);
    free(out_of);
    return rc;
}
