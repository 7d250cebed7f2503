/* Plain C references of conv2d's pieces, pooling and batchnorm, written from
 * the definitions in graph.h rather than from the kernels: col2im and the
 * pooling gradients scatter (the kernels gather), sums run in double. */
#include "ref_conv.h"

#include <math.h>
#include <string.h>

#include "ref_qsd.h"

/* A tensor as [n, c, px]: channel dims[1], pixels the rest. */
typedef struct shape3 {
    int64_t n, c, px;
} shape3;

static shape3 shape_of(const tensor *t)
{
    return (shape3){t->dims[0], t->dims[1], t->nelem / (t->dims[0] * t->dims[1])};
}

static int64_t out_size(int64_t in, int k, int s, int p, int d)
{
    return (in + 2 * p - (int64_t)d * (k - 1) - 1) / s + 1;
}

/* Per-sample operands: activations (and the input) are [N] matrices
 * [dims[1], rest]; parameters and gradients one matrix [dims[0], rest]. */
typedef struct matrix {
    int64_t rows, cols, stride, count;
} matrix;

static matrix matrix_of(const tensor *t)
{
    if (t->kind == T_ACT || t->kind == T_INPUT) {
        int64_t rows = t->dims[1], cols = t->nelem / (t->dims[0] * rows);
        return (matrix){rows, cols, rows * cols, t->dims[0]};
    }
    return (matrix){t->dims[0], t->nelem / t->dims[0], 0, 1};
}

static void bmatmul(const ref_graph *r, const gnode *n)
{
    const graph *g = r->g;
    matrix a = matrix_of(&g->t[n->in[0]]), b = matrix_of(&g->t[n->in[1]]);
    matrix o = matrix_of(&g->t[n->out]);
    const float *A = r->val[n->in[0]], *B = r->val[n->in[1]];
    float *C = r->val[n->out];
    int64_t M = n->trans_a ? a.cols : a.rows, K = n->trans_a ? a.rows : a.cols;
    int64_t N = n->trans_b ? b.rows : b.cols;
    int64_t count = a.count > b.count ? a.count : b.count;
    for (int64_t s = 0; s < o.count; s++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double sum = n->accumulate ? C[s * o.stride + i * N + j] : 0.0;
                /* a per-sample output takes its own sample, a shared one all */
                for (int64_t t = (o.count > 1 ? s : 0); t < (o.count > 1 ? s + 1 : count); t++) {
                    const float *At = A + t * a.stride, *Bt = B + t * b.stride;
                    for (int64_t k = 0; k < K; k++)
                        sum += (double)(n->trans_a ? At[k * M + i] : At[i * K + k]) *
                               (double)(n->trans_b ? Bt[j * K + k] : Bt[k * N + j]);
                }
                C[s * o.stride + i * N + j] = (float)sum;
            }
}

/* The direct convolution by its definition: y[n, co, oy, ox] = sum over
 * (c, i, j) of w[co, c, i, j] x[n, c, oy sh - ph + i dh, ox sw - pw + j dw]. */
static void conv2d(const ref_graph *r, const gnode *n)
{
    const tensor *x = &r->g->t[n->in[0]], *y = &r->g->t[n->out];
    const window2d *w = &n->win;
    const float *X = r->val[n->in[0]], *Wt = r->val[n->in[1]];
    float *Y = r->val[n->out];
    int64_t C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t Co = y->dims[1], Ho = y->dims[2], Wo = y->dims[3];
    for (int64_t s = 0; s < y->dims[0]; s++)
        for (int64_t o = 0; o < Co; o++)
            for (int64_t oy = 0; oy < Ho; oy++)
                for (int64_t ox = 0; ox < Wo; ox++) {
                    double sum = 0;
                    for (int64_t c = 0; c < C; c++)
                        for (int i = 0; i < w->kh; i++)
                            for (int j = 0; j < w->kw; j++) {
                                int64_t iy = oy * w->sh - w->ph + (int64_t)i * w->dh;
                                int64_t ix = ox * w->sw - w->pw + (int64_t)j * w->dw;
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    sum += (double)Wt[((o * C + c) * w->kh + i) * w->kw + j] *
                                           X[((s * C + c) * H + iy) * W + ix];
                            }
                    Y[((s * Co + o) * Ho + oy) * Wo + ox] = (float)sum;
                }
}

/* Calls visit(col index, x index or -1 for padding) for every element of
 * im2col's [N, C kh kw, Ho Wo] output; x is [N, C, H, W]. */
typedef struct im2col_walk {
    const float *src;
    float *dst;
    bool scatter; /* dst[x] += src[col] instead of dst[col] = src[x] */
} im2col_walk;

static void walk_im2col(const tensor *x, const window2d *w, im2col_walk *wk)
{
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t Ho = out_size(H, w->kh, w->sh, w->ph, w->dh);
    int64_t Wo = out_size(W, w->kw, w->sw, w->pw, w->dw);
    int64_t col = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int i = 0; i < w->kh; i++)
                for (int j = 0; j < w->kw; j++)
                    for (int64_t oy = 0; oy < Ho; oy++)
                        for (int64_t ox = 0; ox < Wo; ox++, col++) {
                            int64_t iy = oy * w->sh - w->ph + i * w->dh;
                            int64_t ix = ox * w->sw - w->pw + j * w->dw;
                            bool in = iy >= 0 && iy < H && ix >= 0 && ix < W;
                            int64_t xi = ((n * C + c) * H + iy) * W + ix;
                            if (wk->scatter && in)
                                wk->dst[xi] += wk->src[col];
                            else if (!wk->scatter)
                                wk->dst[col] = in ? wk->src[xi] : 0.0f;
                        }
}

/* Pooling over x [N, C, H, W] (fwd) with dy/dx [..] for the gradients. */
static void pool(const ref_graph *r, const gnode *n)
{
    const graph *g = r->g;
    bool fwd = n->op == OP_MAXPOOL || n->op == OP_AVGPOOL;
    bool max = n->op == OP_MAXPOOL || n->op == OP_MAXPOOL_GRAD;
    const tensor *big = fwd ? &g->t[n->in[0]] : &g->t[n->out];
    const window2d *w = &n->win;
    int64_t planes = big->dims[0] * big->dims[1], H = big->dims[2], W = big->dims[3];
    int64_t Ho = out_size(H, w->kh, w->sh, w->ph, 1), Wo = out_size(W, w->kw, w->sw, w->pw, 1);
    const float *in = r->val[n->in[0]];
    float *out = r->val[n->out];
    float *arg = fwd && n->mask > 0 ? r->val[n->mask] : !fwd && max ? r->val[n->in[1]] : NULL;
    double area = (double)w->kh * w->kw;
    if (!fwd)
        memset(out, 0, (size_t)big->nelem * sizeof *out);
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oy = 0; oy < Ho; oy++)
            for (int64_t ox = 0; ox < Wo; ox++) {
                int64_t o = (p * Ho + oy) * Wo + ox, best = -1;
                double acc = 0;
                for (int i = 0; i < w->kh; i++)
                    for (int j = 0; j < w->kw; j++) {
                        int64_t iy = oy * w->sh - w->ph + i, ix = ox * w->sw - w->pw + j;
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                            continue;
                        int64_t xi = p * H * W + iy * W + ix;
                        if (fwd && max && (best < 0 || in[xi] > in[p * H * W + best]))
                            best = iy * W + ix;
                        else if (fwd && !max)
                            acc += in[xi];
                        else if (!fwd && !max)
                            out[xi] += (float)(in[o] / area);
                    }
                if (fwd && max) {
                    out[o] = in[p * H * W + best];
                    if (arg)
                        arg[o] = (float)best;
                } else if (fwd) {
                    out[o] = (float)(acc / area);
                } else if (max) {
                    out[p * H * W + (int64_t)arg[o]] += in[o];
                }
            }
}

/* Mean and biased variance of channel c of x, in double. */
static void channel_stats(const float *x, shape3 s, int64_t c, double *mean, double *var)
{
    double sum = 0, sq = 0, m = (double)(s.n * s.px);
    for (int64_t n = 0; n < s.n; n++)
        for (int64_t q = 0; q < s.px; q++)
            sum += x[(n * s.c + c) * s.px + q];
    *mean = sum / m;
    for (int64_t n = 0; n < s.n; n++)
        for (int64_t q = 0; q < s.px; q++) {
            double d = x[(n * s.c + c) * s.px + q] - *mean;
            sq += d * d;
        }
    *var = sq / m;
}

static void channels(const ref_graph *r, const gnode *n)
{
    const graph *g = r->g;
    shape3 s = shape_of(&g->t[n->in[0]]);
    const float *a = r->val[n->in[0]];
    float *out = r->val[n->out];
    double m = (double)(s.n * s.px);
    for (int64_t c = 0; c < s.c; c++) {
        if (n->op == OP_BN_STATS) {
            double mean, var;
            float *run = r->val[n->in[1]];
            channel_stats(a, s, c, &mean, &var);
            out[c] = (float)mean;
            out[s.c + c] = (float)var;
            run[c] = (float)((1 - n->momentum) * run[c] + n->momentum * mean);
            run[s.c + c] = (float)((1 - n->momentum) * run[s.c + c] +
                                   n->momentum * var * m / (m - 1));
            continue;
        }
        const float *x = n->n_in > 1 ? r->val[n->in[1]] : NULL;
        const float *st = n->n_in > 2 ? r->val[n->in[2]] : NULL;
        double sum = 0, sum_x = 0;
        for (int64_t b = 0; b < s.n; b++)
            for (int64_t q = 0; q < s.px; q++) {
                int64_t e = (b * s.c + c) * s.px + q;
                sum += a[e];
                if (x)
                    sum_x += a[e] * ((double)x[e] - st[c]);
            }
        if (n->op == OP_SUM_CHANNELS) {
            out[c] = (float)(n->accumulate ? out[c] + sum : sum);
        } else { /* OP_BN_GRAD_STATS: (gamma, beta) gradients */
            out[c] = (float)(sum_x / sqrt((double)st[s.c + c] + n->eps));
            out[s.c + c] = (float)sum;
        }
    }
}

/* Masks per (sample, channel) or (sample, unit), and their application to
 * [N, C, H, W] or [N, T, U]. */
static void shared_qsd(const ref_graph *r, const gnode *n, uint32_t seed, uint32_t step)
{
    const tensor *t = &r->g->t[n->out];
    float *y = r->val[n->out];
    if (n->op == OP_QSD_DRAW) {
        for (int64_t i = 0; i < t->nelem; i++)
            y[i] = ref_qsd_node_mask(n, t, seed, step, (uint32_t)i);
        return;
    }
    const float *a = r->val[n->in[0]], *m = r->val[n->in[1]];
    for (int64_t i = 0; i < t->nelem; i++) {
        y[i] = a[i] * m[ref_qsd_group(t, (uint32_t)i, n->qsd.share)];
    }
}

/* Channel-indexed elementwise ops. */
static void channel_elementwise(const ref_graph *r, const gnode *n)
{
    const tensor *t = &r->g->t[n->out];
    shape3 s = shape_of(t);
    const float *a = r->val[n->in[0]], *b = r->val[n->in[1]];
    float *y = r->val[n->out];
    for (int64_t i = 0; i < t->nelem; i++) {
        int64_t c = i / s.px % s.c;
        if (n->op == OP_CHANNEL_BIAS) {
            y[i] = (float)((double)a[i] + b[c]);
        } else if (n->op == OP_BN_APPLY) { /* b = (mean, var), in[2] = (gamma, beta) */
            const float *f = r->val[n->in[2]];
            y[i] = (float)(((double)a[i] - b[c]) / sqrt((double)b[s.c + c] + n->eps) * f[c] +
                           f[s.c + c]);
        } else { /* OP_BN_GRAD_INPUT: a = dy, b = x, then stats, affine, d.affine */
            const float *st = r->val[n->in[2]], *f = r->val[n->in[3]], *d = r->val[n->in[4]];
            double is = 1 / sqrt((double)st[s.c + c] + n->eps);
            double xh = ((double)b[i] - st[c]) * is, m = (double)(s.n * s.px);
            y[i] = (float)(f[c] * is * (a[i] - (d[s.c + c] + xh * d[c]) / m));
        }
    }
}

bool ref_conv_node(ref_graph *r, const gnode *n, uint32_t seed, uint32_t step)
{
    const graph *g = r->g;
    switch (n->op) {
    case OP_QSD_DRAW: case OP_GROUP_SCALE:
        shared_qsd(r, n, seed, step);
        return true;
    case OP_BMATMUL:
        bmatmul(r, n);
        return true;
    case OP_CONV2D:
        conv2d(r, n);
        return true;
    case OP_IM2COL: {
        im2col_walk wk = {r->val[n->in[0]], r->val[n->out], false};
        walk_im2col(&g->t[n->in[0]], &n->win, &wk);
        return true;
    }
    case OP_COL2IM: {
        im2col_walk wk = {r->val[n->in[0]], r->val[n->out], true};
        memset(r->val[n->out], 0, (size_t)g->t[n->out].nelem * sizeof(float));
        walk_im2col(&g->t[n->out], &n->win, &wk);
        return true;
    }
    case OP_MAXPOOL: case OP_AVGPOOL: case OP_MAXPOOL_GRAD: case OP_AVGPOOL_GRAD:
        pool(r, n);
        return true;
    case OP_SUM_CHANNELS: case OP_BN_STATS: case OP_BN_GRAD_STATS:
        channels(r, n);
        return true;
    case OP_CHANNEL_BIAS: case OP_BN_APPLY: case OP_BN_GRAD_INPUT:
        channel_elementwise(r, n);
        return true;
    default:
        return false;
    }
}
