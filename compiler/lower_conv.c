/* Lowering of conv2d, the pools and batchnorm. conv2d is im2col into the
 * arena followed by one GEMM per sample, W[Co, C kh kw] x col_n[C kh kw, Ho Wo],
 * whose [Co, Ho Wo] result is sample n's slice of the NCHW output: no
 * transpose pass. A 1x1 convolution with stride 1 and no padding reads its
 * input as the col matrix directly. */
#include <stdio.h>
#include <string.h>

#include "lower_int.h"

/* The layer's window over x [N, C, H, W] and the output size, or -1 with err
 * set when it does not fit. Pools default the stride to the kernel. */
static int window_of(const model *m, const layer *l, const tensor *x, window2d *w,
                     int64_t out[2], qsdc_error *err)
{
    bool pool = l->kind != LAYER_CONV2D;
    int64_t k[2], s[2], p[2], d[2];
    char msg[160];
    for (int i = 0; i < 2; i++) {
        k[i] = l->kind == LAYER_GLOBAL_AVGPOOL ? x->dims[2 + i] : l->win.kernel[i];
        s[i] = l->win.stride[i] ? l->win.stride[i] : pool ? k[i] : 1;
        d[i] = l->win.dilation[i];
        p[i] = l->win.pad == PAD_EXPLICIT ? l->win.padding[i] : 0;
        if (l->win.pad == PAD_SAME) {
            if (s[i] != 1 || d[i] * (k[i] - 1) % 2 != 0)
                return layer_fail(m, l, err, "padding: same needs stride 1 and an odd "
                                  "(dilated) kernel", NULL, NULL);
            p[i] = d[i] * (k[i] - 1) / 2;
        }
        if (pool && 2 * p[i] > k[i]) {
            snprintf(msg, sizeof msg, "padding %lld is more than half the kernel %lld",
                     (long long)p[i], (long long)k[i]);
            return layer_fail(m, l, err, msg, NULL, NULL);
        }
        int64_t span = x->dims[2 + i] + 2 * p[i] - d[i] * (k[i] - 1) - 1;
        if (span < 0) {
            snprintf(msg, sizeof msg, "its %s window (kernel %lld, dilation %lld, padding "
                     "%lld) is larger than the input", i ? "width" : "height",
                     (long long)k[i], (long long)d[i], (long long)p[i]);
            return layer_fail(m, l, err, msg, x, NULL);
        }
        out[i] = span / s[i] + 1;
    }
    *w = (window2d){(int)k[0], (int)k[1], (int)s[0], (int)s[1],
                    (int)p[0], (int)p[1], (int)d[0], (int)d[1]};
    return 0;
}

static int expect_map(const model *m, const layer *l, const tensor *x, qsdc_error *err)
{
    if (x->rank == 4)
        return 0;
    return layer_fail(m, l, err, "expects a feature map [batch, channels, height, width], "
                      "got", x, NULL);
}

/* A node with up to three inputs (c < 0 for none) and a window. */
static int node_win(graph *g, op_kind op, int a, int b, int c, int out, int li,
                    const window2d *w)
{
    gnode n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.in[0] = a;
    n.in[1] = b;
    n.in[2] = c;
    n.n_in = c >= 0 ? 3 : b >= 0 ? 2 : 1;
    n.out = out;
    n.layer = li;
    if (w)
        n.win = *w;
    return graph_add_node(g, &n);
}

static int name_act(graph *g, const char *layer_name, const char *suffix, int rank,
                    const int64_t *dims)
{
    char name[2 * QSDC_NAME_MAX];
    snprintf(name, sizeof name, "%s%s", layer_name, suffix);
    return graph_add_tensor(g, name, T_ACT, rank, dims);
}

int lower_conv2d(const model *m, int li, graph *g, int x, qsdc_error *err)
{
    const layer *l = &m->layers[li];
    const tensor xt = g->t[x], *tx = &xt; /* a copy: adding tensors moves g->t */
    window2d w;
    int64_t hw[2];
    if (expect_map(m, l, tx, err) < 0 || window_of(m, l, tx, &w, hw, err) < 0)
        return -1;
    int64_t n = tx->dims[0], c = tx->dims[1], co = l->filters;
    int64_t taps = (int64_t)w.kh * w.kw, k = c * taps, p = hw[0] * hw[1];
    int64_t wd[4] = {co, c, w.kh, w.kw}, cd[3] = {n, k, p}, yd[4] = {n, co, hw[0], hw[1]};
    int wt = add_param(g, l->name, "weight", 4, wd, auto_init(m, li), k, co * taps);
    if (wt < 0)
        return -1;
    bool direct = taps == 1 && w.sh == 1 && w.sw == 1 && w.ph == 0 && w.pw == 0;
    int col;
    if (direct) {
        char name[2 * QSDC_NAME_MAX];
        snprintf(name, sizeof name, "%s.col", l->name);
        col = lower_view(g, name, x, 3, cd);
    } else {
        col = name_act(g, l->name, ".col", 3, cd);
        if (col < 0 || node_win(g, OP_IM2COL, x, -1, -1, col, li, &w) < 0)
            return -1;
    }
    int z = name_act(g, l->name, l->bias ? ".conv" : "", 4, yd);
    if (col < 0 || z < 0 || graph_add_op(g, OP_BMATMUL, wt, col, z, li) < 0)
        return -1;
    if (!l->bias)
        return z;
    int64_t bd[1] = {co};
    int b = add_param(g, l->name, "bias", 1, bd, INIT_ZEROS, k, co * taps);
    int y = name_act(g, l->name, "", 4, yd);
    if (b < 0 || y < 0 || graph_add_op(g, OP_CHANNEL_BIAS, z, b, y, li) < 0)
        return -1;
    return y;
}

/* maxpool, avgpool, and global_avgpool as an avgpool over the whole map
 * viewed as [N, C]. */
int lower_pool(const model *m, int li, graph *g, int x, qsdc_error *err)
{
    const layer *l = &m->layers[li];
    const tensor xt = g->t[x], *tx = &xt; /* a copy: adding tensors moves g->t */
    window2d w;
    int64_t hw[2];
    if (expect_map(m, l, tx, err) < 0 || window_of(m, l, tx, &w, hw, err) < 0)
        return -1;
    bool global = l->kind == LAYER_GLOBAL_AVGPOOL;
    int64_t yd[4] = {tx->dims[0], tx->dims[1], hw[0], hw[1]};
    int y = name_act(g, l->name, global ? ".pool" : "", 4, yd);
    if (y < 0)
        return -1;
    int nd = node_win(g, l->kind == LAYER_MAXPOOL ? OP_MAXPOOL : OP_AVGPOOL, x, -1, -1, y,
                      li, &w);
    if (nd < 0)
        return -1;
    if (l->kind == LAYER_MAXPOOL && g->mode == MODE_TRAIN) {
        int am = name_act(g, l->name, ".argmax", 4, yd);
        if (am < 0)
            return -1;
        g->n[nd].mask = am;
    }
    return global ? lower_view(g, l->name, y, 2, yd) : y;
}

/* Training: batch statistics (which also update the running ones), then the
 * normalisation; inference: the normalisation with the running statistics.
 * gamma and beta are one parameter [2, C], the running mean and variance
 * another, outside the optimiser's range. */
int lower_batchnorm(const model *m, int li, graph *g, int x, qsdc_error *err)
{
    const layer *l = &m->layers[li];
    const tensor xt = g->t[x], *tx = &xt; /* a copy: adding tensors moves g->t */
    if (tx->rank < 2)
        return layer_fail(m, l, err, "expects [batch, features] or [batch, channels, ...], "
                          "got", tx, NULL);
    int64_t c = tx->dims[1], per = tx->nelem / c;
    if (g->mode == MODE_TRAIN && per < 2)
        return layer_fail(m, l, err, "needs more than one value per channel in training "
                          "(batch size 1 on a [batch, features] input):", tx, NULL);
    int64_t sd[2] = {2, c};
    int affine = add_param(g, l->name, "affine", 2, sd, INIT_BN_AFFINE, c, c);
    char name[2 * QSDC_NAME_MAX];
    snprintf(name, sizeof name, "%s.running", l->name);
    int running = graph_add_tensor(g, name, T_PARAM, 2, sd);
    int y = graph_add_tensor(g, l->name, T_ACT, tx->rank, tx->dims);
    if (affine < 0 || running < 0 || y < 0)
        return -1;
    g->t[running].running_stat = true;
    g->t[running].init = INIT_BN_RUNNING;
    int stats = running;
    if (g->mode == MODE_TRAIN) {
        stats = name_act(g, l->name, ".stats", 2, sd);
        int ns = stats < 0 ? -1 : node_win(g, OP_BN_STATS, x, running, -1, stats, li, NULL);
        if (ns < 0)
            return -1;
        g->n[ns].eps = l->eps;
        g->n[ns].momentum = l->momentum;
    }
    int na = node_win(g, OP_BN_APPLY, x, stats, affine, y, li, NULL);
    if (na < 0)
        return -1;
    g->n[na].eps = l->eps;
    return y;
}

/* QSD with one draw per (sample, channel) or (sample, unit) group: a draw
 * kernel fills the [N, groups] masks once, and a group_scale applies them,
 * rather than every element of a group drawing its group's mask again (784
 * times for a 28x28 map, 400 for a review's steps). The draw node goes
 * first in the graph: it reads nothing, and there it does not separate the
 * scale from the node producing x, into whose kernel the scale then fuses. */
int lower_qsd_shared(const model *m, int li, graph *g, int x)
{
    const layer *l = &m->layers[li];
    const tensor xt = g->t[x], *tx = &xt; /* a copy: adding tensors moves g->t */
    /* [N, C, H, W] -> [N, C]; [N, T, U] -> [N, U] */
    int64_t md[2] = {tx->dims[0], tx->dims[l->qsd.share == SHARE_TIME ? 2 : 1]};
    int mask = name_act(g, l->name, ".mask", 2, md);
    int y = graph_add_tensor(g, l->name, T_ACT, tx->rank, tx->dims);
    gnode draw;
    memset(&draw, 0, sizeof draw);
    draw.op = OP_QSD_DRAW;
    draw.out = mask;
    draw.layer = li;
    draw.qsd = l->qsd;
    draw.rng_id = (uint32_t)li + 1;
    if (mask < 0 || y < 0 || graph_add_node(g, &draw) < 0)
        return -1;
    memmove(&g->n[1], &g->n[0], (size_t)(g->nn - 1) * sizeof *g->n);
    g->n[0] = draw;
    int scale = graph_add_op(g, OP_GROUP_SCALE, x, mask, y, li);
    if (scale < 0)
        return -1;
    g->n[scale].qsd = l->qsd;
    return y;
}
