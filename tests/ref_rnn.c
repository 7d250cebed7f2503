#include "ref_rnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the row of an id held as a float, or -1 when it is not one of [0, v) */
static int64_t id_row(float f, int64_t v)
{
    return f >= 0 && f < (float)v && f == floorf(f) ? (int64_t)f : -1;
}

/* out[R,D] = W[id]; dW[V,D] = scatter-add of dy[R,D] by id */
static void embed(const ref_graph *r, const gnode *n)
{
    const graph *g = r->g;
    bool grad = n->op == OP_EMBED_GRAD;
    const tensor *w = &g->t[grad ? n->out : n->in[1]];
    const float *ids = r->val[grad ? n->in[1] : n->in[0]];
    int64_t v = w->dims[0], d = w->dims[1], rows = g->t[grad ? n->in[0] : n->out].nelem / d;
    float *out = r->val[n->out];
    if (grad) {
        double *acc = calloc((size_t)(v * d), sizeof *acc);
        for (int64_t i = 0; i < rows; i++) {
            int64_t id = id_row(ids[i], v);
            for (int64_t j = 0; id >= 0 && j < d; j++)
                acc[id * d + j] += r->val[n->in[0]][i * d + j];
        }
        for (int64_t i = 0; i < v * d; i++)
            out[i] = (float)acc[i];
        free(acc);
        return;
    }
    for (int64_t i = 0; i < rows; i++) {
        int64_t id = id_row(ids[i], v);
        for (int64_t j = 0; j < d; j++)
            out[i * d + j] = id >= 0 ? r->val[n->in[1]][id * d + j] : 0.0f;
    }
}

static double sigmoid(double x) { return 1 / (1 + exp(-x)); }

/* The token ids of node n's padding steps, NULL when it has none. */
static const float *pad_ids(const ref_graph *r, const gnode *n)
{
    int ids = graph_pad_ids(r->g, n);
    return ids >= 0 ? r->val[ids] : NULL;
}

/* Whether step `row` (b * T + t) of a sequence is a real token, not padding. */
static bool is_real(const float *ids, int64_t row)
{
    return !ids || ids[row] != (float)QSDC_PAD_ID;
}

/* Where a stateful lstm's initial h [B,H] (then c) sits in saved: after the
 * steps' gates and the device's U^T; NULL when not stateful. */
static float *initial_state(const ref_graph *r, int saved, int64_t B, int64_t T, int64_t H)
{
    int64_t at = B * T * 5 * H + 4 * H * H;
    return r->g->t[saved].nelem > at ? r->val[saved] + at : NULL;
}

/* h[B,T,H], saved (i, f, g, o, c as [B,T,5H]; the device's U^T after them
 * is its own) from z[B*T,4H] and U[H,4H]; a stateful lstm (in[2], the carry
 * [B,2H]) starts from the carried h and c and leaves its final ones there */
static void lstm(const ref_graph *r, const gnode *n)
{
    const tensor *y = &r->g->t[n->out];
    int64_t B = y->dims[0], T = y->dims[1], H = y->dims[2];
    const float *z = r->val[n->in[0]], *u = r->val[n->in[1]];
    float *h = r->val[n->out], *sv = r->val[n->mask];
    bool stateful = n->n_in > 2 && r->g->t[n->in[2]].kind == T_PARAM;
    float *carry = stateful ? r->val[n->in[2]] : NULL;
    float *h0 = initial_state(r, n->mask, B, T, H);
    const float *ids = pad_ids(r, n);
    double *c = calloc((size_t)H, sizeof *c), *a = malloc(4 * (size_t)H * sizeof *a);
    for (int64_t b = 0; b < B; b++) {
        memset(c, 0, (size_t)H * sizeof *c);
        for (int64_t j = 0; carry && j < H; j++) {
            h0[b * H + j] = carry[b * 2 * H + j];
            h0[B * H + b * H + j] = carry[b * 2 * H + H + j];
            c[j] = carry[b * 2 * H + H + j];
        }
        for (int64_t t = 0; t < T; t++) {
            int64_t row = b * T + t;
            const float *hp = t > 0 ? h + (row - 1) * H : carry ? h0 + b * H : NULL;
            if (!is_real(ids, row)) { /* held: zero gates, the previous h and c */
                float *s = sv + row * 5 * H;
                memset(s, 0, 4 * (size_t)H * sizeof *s);
                for (int64_t j = 0; j < H; j++) {
                    s[4 * H + j] = (float)c[j];
                    h[row * H + j] = hp ? hp[j] : 0.0f;
                }
                continue;
            }
            for (int64_t k = 0; k < 4 * H; k++) {
                a[k] = z[row * 4 * H + k];
                for (int64_t q = 0; hp && q < H; q++)
                    a[k] += (double)hp[q] * u[q * 4 * H + k];
            }
            for (int64_t j = 0; j < H; j++) {
                double gi = sigmoid(a[j]), gf = sigmoid(a[H + j]), gg = tanh(a[2 * H + j]);
                double go = sigmoid(a[3 * H + j]);
                c[j] = gf * c[j] + gi * gg;
                float *s = sv + row * 5 * H;
                s[j] = (float)gi, s[H + j] = (float)gf, s[2 * H + j] = (float)gg;
                s[3 * H + j] = (float)go, s[4 * H + j] = (float)c[j];
                h[row * H + j] = (float)(go * tanh(c[j]));
            }
        }
        for (int64_t j = 0; carry && j < H; j++) {
            carry[b * 2 * H + j] = h[(b * T + T - 1) * H + j];
            carry[b * 2 * H + H + j] = (float)c[j];
        }
    }
    free(c);
    free(a);
}

/* dz[B*T,4H] from dh[B,T,H], saved and U: full BPTT */
static void lstm_grad(const ref_graph *r, const gnode *n)
{
    const tensor *y = &r->g->t[n->in[0]];
    int64_t B = y->dims[0], T = y->dims[1], H = y->dims[2];
    const float *dy = r->val[n->in[0]], *sv = r->val[n->in[1]], *u = r->val[n->in[2]];
    float *dz = r->val[n->out];
    const float *h0 = initial_state(r, n->in[1], B, T, H), *ids = pad_ids(r, n);
    /* dc, and dp: the gradient of h that padding steps pass back unchanged */
    double *dc = malloc((size_t)H * sizeof *dc), *dp = malloc((size_t)H * sizeof *dp);
    for (int64_t b = 0; b < B; b++) {
        for (int64_t j = 0; j < H; j++)
            dc[j] = dp[j] = 0;
        for (int64_t t = T - 1; t >= 0; t--) {
            int64_t row = b * T + t;
            const float *s = sv + row * 5 * H;
            for (int64_t j = 0; j < H; j++) {
                double dh = dy[row * H + j] + dp[j];
                for (int64_t k = 0; t < T - 1 && k < 4 * H; k++)
                    dh += (double)dz[(row + 1) * 4 * H + k] * u[j * 4 * H + k];
                dp[j] = 0;
                if (!is_real(ids, row)) {
                    for (int64_t k = 0; k < 4; k++)
                        dz[row * 4 * H + k * H + j] = 0.0f;
                    dp[j] = dh;
                    continue;
                }
                double gi = s[j], gf = s[H + j], gg = s[2 * H + j], go = s[3 * H + j];
                double tc = tanh(s[4 * H + j]), cp = t > 0  ? s[4 * H + j - 5 * H]
                                                    : h0 ? h0[B * H + b * H + j] : 0;
                double d = dc[j] + dh * go * (1 - tc * tc);
                float *o = dz + row * 4 * H;
                o[j] = (float)(d * gg * gi * (1 - gi));
                o[H + j] = (float)(d * cp * gf * (1 - gf));
                o[2 * H + j] = (float)(d * gi * (1 - gg * gg));
                o[3 * H + j] = (float)(dh * tc * go * (1 - go));
                dc[j] = d * gf;
            }
        }
    }
    free(dc);
    free(dp);
}

/* hp[B*T,H] = h[B,T,H] one step later; at t = 0 zero, or the initial h
 * of a stateful lstm (in[1] its saved) */
static void seq_shift(const ref_graph *r, const gnode *n)
{
    const tensor *y = &r->g->t[n->in[0]];
    int64_t B = y->dims[0], T = y->dims[1], H = y->dims[2];
    const float *h0 = n->n_in == 2 ? initial_state(r, n->in[1], B, T, H) : NULL;
    for (int64_t i = 0; i < y->nelem; i++)
        r->val[n->out][i] = i / H % T ? r->val[n->in[0]][i - H]
                            : h0  ? h0[i / (T * H) * H + i % H]
                                  : 0.0f;
}

/* [B,T,H] -> [B,H] by the last real step or the mean of the real steps
 * (every step without token ids; zero when none is real), and back */
static void seq_pool(const ref_graph *r, const gnode *n)
{
    bool grad = n->op == OP_SEQ_POOL_GRAD;
    const tensor *seq = &r->g->t[grad ? n->out : n->in[0]];
    int64_t B = seq->dims[0], T = seq->dims[1], H = seq->dims[2];
    const float *x = r->val[n->in[0]], *ids = pad_ids(r, n);
    float *y = r->val[n->out];
    for (int64_t b = 0; b < B; b++) {
        int64_t real = 0, last = -1;
        for (int64_t t = 0; t < T; t++)
            if (is_real(ids, b * T + t))
                real++, last = t;
        for (int64_t j = 0; j < H; j++) {
            double s = 0;
            for (int64_t t = 0; t < T; t++) {
                int64_t at = (b * T + t) * H + j;
                bool used = n->seq == SEQ_MEAN ? is_real(ids, b * T + t) : t == last;
                double w = n->seq == SEQ_MEAN && real > 0 ? 1.0 / (double)real : 1.0;
                if (grad)
                    y[at] = used ? (float)(x[b * H + j] * w) : 0.0f;
                else
                    s += used ? x[at] * w : 0.0;
            }
            if (!grad)
                y[b * H + j] = (float)s;
        }
    }
}

void ref_rnn_node(const ref_graph *r, const gnode *n)
{
    switch (n->op) {
    case OP_EMBED: case OP_EMBED_GRAD: embed(r, n); break;
    case OP_LSTM: lstm(r, n); break;
    case OP_LSTM_GRAD: lstm_grad(r, n); break;
    case OP_SEQ_SHIFT: seq_shift(r, n); break;
    default: seq_pool(r, n); break;
    }
}
