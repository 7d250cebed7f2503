#include "ref_graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref_conv.h"
#include "ref_qsd.h"
#include "ref_rnn.h"

int64_t ref_graph_label_count(const graph *g)
{
    return g->label >= 0 ? g->t[g->label].nelem : g->batch;
}

int ref_graph_init(ref_graph *r, const graph *g, const model *m, const float *params)
{
    memset(r, 0, sizeof *r);
    r->g = g;
    r->m = m;
    r->val = calloc((size_t)g->nt, sizeof *r->val);
    r->P = calloc((size_t)g->param_elems + 1, sizeof *r->P);
    r->G = calloc((size_t)g->param_elems + 1, sizeof *r->G);
    r->S = calloc((size_t)g->state_elems + 1, sizeof *r->S);
    r->labels = calloc((size_t)ref_graph_label_count(g) + 1, sizeof *r->labels);
    if (!r->val || !r->P || !r->G || !r->S || !r->labels)
        return -1;
    memcpy(r->P, params, (size_t)g->param_elems * sizeof *r->P);
    for (int t = 0; t < g->nt; t++) {
        const tensor *x = &g->t[t];
        if (x->kind == T_PARAM)
            r->val[t] = r->P + x->offset;
        else if (x->kind == T_GRAD)
            r->val[t] = r->G + x->offset;
        else if (x->alias < 0 && x->kind != T_LABEL &&
                 !(r->val[t] = calloc((size_t)x->nelem, sizeof(float))))
            return -1;
    }
    for (int t = 0; t < g->nt; t++)
        if (g->t[t].alias >= 0)
            r->val[t] = r->val[graph_storage(g, t)];
    return 0;
}

void ref_graph_free(ref_graph *r)
{
    for (int t = 0; r->val && t < r->g->nt; t++)
        if (r->g->t[t].alias < 0 && r->g->t[t].kind != T_PARAM && r->g->t[t].kind != T_GRAD)
            free(r->val[t]);
    free(r->val);
    free(r->P);
    free(r->G);
    free(r->S);
    free(r->labels);
    memset(r, 0, sizeof *r);
}

uint32_t ref_qsd_group(const tensor *t, uint32_t idx, qsd_share share)
{
    if (share == SHARE_CHANNEL)
        return ref_qsd_group_channel(idx, (uint32_t)t->dims[1],
                                     (uint32_t)(t->dims[2] * t->dims[3]));
    if (share == SHARE_TIME)
        return ref_qsd_group_time(idx, (uint32_t)t->dims[1], (uint32_t)t->dims[2]);
    return idx;
}

float ref_qsd_node_mask(const gnode *n, const tensor *t, uint32_t seed, uint32_t step,
                        uint32_t group)
{
    const qsd_params *q = &n->qsd;
    if (q->hetero != HETERO_UNIT)
        return ref_qsd_mask(seed, n->rng_id, step, group, (float)q->p, q->sites,
                            (float)q->q_cv, (float)q->p_concentration);
    uint32_t unit;
    if (n->op == OP_QSD_DRAW || q->share == SHARE_CHANNEL)
        unit = group % (uint32_t)t->dims[1];
    else if (q->share == SHARE_TIME)
        unit = group % (uint32_t)t->dims[2];
    else if (t->rank == 4)
        unit = group / (uint32_t)(t->dims[2] * t->dims[3]) % (uint32_t)t->dims[1];
    else
        unit = group % (uint32_t)t->dims[t->rank - 1];
    return ref_qsd_mask_unit(seed, n->rng_id, step, group, unit, (float)q->p, q->sites,
                             (float)q->q_cv, (float)q->p_concentration, (float)q->anneal);
}

/* out[M,N] (+)= op(a)[M,K] op(b)[K,N], accumulated in double */
static void matmul(const ref_graph *r, const gnode *n)
{
    const tensor *a = &r->g->t[n->in[0]], *b = &r->g->t[n->in[1]];
    const float *A = r->val[n->in[0]], *B = r->val[n->in[1]];
    float *C = r->val[n->out];
    int64_t M = n->trans_a ? a->dims[1] : a->dims[0], K = n->trans_a ? a->dims[0] : a->dims[1];
    int64_t N = n->trans_b ? b->dims[0] : b->dims[1];
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += (double)(n->trans_a ? A[k * M + i] : A[i * K + k]) *
                     (double)(n->trans_b ? B[j * K + k] : B[k * N + j]);
            C[i * N + j] = (float)(n->accumulate ? C[i * N + j] + s : s);
        }
}

/* loss[M] and/or d[M,N] of softmax cross-entropy or mse on x[M,N] */
static void loss_rows(const ref_graph *r, const gnode *n)
{
    const tensor *x = &r->g->t[n->in[0]];
    const float *X = r->val[n->in[0]];
    float *out = r->val[n->out];
    int64_t M = x->dims[0], N = x->dims[1];
    for (int64_t i = 0; i < M; i++) {
        const float *row = X + i * N;
        int32_t lab = r->labels[i];
        double mx = -INFINITY, s = 0;
        for (int64_t j = 0; j < N; j++)
            mx = fmax(mx, row[j]);
        for (int64_t j = 0; j < N; j++)
            s += exp(row[j] - mx);
        double lse = mx + log(s), e = 0;
        for (int64_t j = 0; j < N; j++) {
            double t = j == lab ? 1.0 : 0.0;
            e += (row[j] - t) * (row[j] - t);
            if (n->op == OP_XENT_GRAD)
                out[i * N + j] = (float)((exp(row[j] - lse) - t) / (double)M);
            else if (n->op == OP_MSE_GRAD)
                out[i * N + j] = (float)(2.0 * (row[j] - t) / (double)(M * N));
        }
        if (n->op == OP_SOFTMAX_XENT)
            out[i] = (float)(lse - row[lab]);
        else if (n->op == OP_MSE)
            out[i] = (float)(e / (double)N);
    }
}

static void softmax_rows(const ref_graph *r, const gnode *n)
{
    const tensor *x = &r->g->t[n->in[0]];
    int64_t M = x->dims[0], N = x->dims[1];
    const float *X = r->val[n->in[0]], *Y = n->n_in > 1 ? r->val[n->in[1]] : NULL;
    float *out = r->val[n->out];
    for (int64_t i = 0; i < M; i++) {
        if (n->op == OP_SOFTMAX_GRAD) { /* X = dy, Y = softmax output */
            double dot = 0;
            for (int64_t j = 0; j < N; j++)
                dot += (double)X[i * N + j] * Y[i * N + j];
            for (int64_t j = 0; j < N; j++)
                out[i * N + j] = (float)(Y[i * N + j] * (X[i * N + j] - dot));
            continue;
        }
        double mx = -INFINITY, s = 0;
        for (int64_t j = 0; j < N; j++)
            mx = fmax(mx, X[i * N + j]);
        for (int64_t j = 0; j < N; j++)
            s += exp(X[i * N + j] - mx);
        for (int64_t j = 0; j < N; j++)
            out[i * N + j] = (float)(exp(X[i * N + j] - mx) / s);
    }
}

static void update(ref_graph *r, uint32_t step, float lr)
{
    const train_config *t = &r->m->train;
    int64_t np = r->g->grad_elems; /* the trainable parameters */
    double scale = 1;
    if (t->clip_norm > 0) {
        double s = 0;
        for (int64_t i = 0; i < np; i++)
            s += (double)r->G[i] * r->G[i];
        if (sqrt(s) > t->clip_norm)
            scale = t->clip_norm / sqrt(s);
    }
    for (int64_t i = 0; i < np; i++) {
        double g = r->G[i] * scale, p = r->P[i];
        if (t->weight_decay > 0 && t->optimizer != OPTIM_ADAMW)
            g += t->weight_decay * p;
        if (t->optimizer == OPTIM_SGD) {
            if (t->momentum > 0) {
                double b = t->momentum * r->S[i] + g;
                r->S[i] = (float)b;
                g = t->nesterov ? g + t->momentum * b : b;
            }
            r->P[i] = (float)(p - lr * g);
            continue;
        }
        if (t->optimizer == OPTIM_ADAMW)
            p -= lr * t->weight_decay * p;
        double m = t->beta1 * r->S[i] + (1 - t->beta1) * g;
        double v = t->beta2 * r->S[np + i] + (1 - t->beta2) * g * g;
        r->S[i] = (float)m;
        r->S[np + i] = (float)v;
        double mh = m / (1 - pow(t->beta1, step + 1.0)), vh = v / (1 - pow(t->beta2, step + 1.0));
        r->P[i] = (float)(p - lr * mh / (sqrt(vh) + t->eps));
    }
}

static void elementwise(const ref_graph *r, const gnode *n, uint32_t seed, uint32_t step)
{
    const tensor *o = &r->g->t[n->out];
    const float *a = r->val[n->in[0]], *b = n->n_in > 1 ? r->val[n->in[1]] : NULL;
    float *y = r->val[n->out];
    int64_t cols = o->dims[o->rank - 1];
    for (int64_t i = 0; i < o->nelem; i++) {
        double v = a[i];
        switch (n->op) {
        case OP_BIAS_ADD: v += b[i % cols]; break;
        case OP_RELU: v = v > 0 ? v : 0; break;
        case OP_TANH: v = tanh(v); break;
        case OP_SIGMOID: v = 1 / (1 + exp(-v)); break;
        case OP_ADD: v += b[i]; break;
        case OP_MUL: v *= b[i]; break;
        case OP_RELU_GRAD: v = b[i] > 0 ? v : 0; break;
        case OP_TANH_GRAD: v *= 1 - (double)b[i] * b[i]; break;
        case OP_SIGMOID_GRAD: v *= (double)b[i] * (1 - b[i]); break;
        case OP_QSD: {
            float m = ref_qsd_node_mask(n, o, seed, step,
                                        ref_qsd_group(o, (uint32_t)i, n->qsd.share));
            if (n->mask > 0)
                r->val[n->mask][i] = m;
            v *= m;
            break;
        }
        default: break;
        }
        y[i] = (float)v;
    }
}

void ref_graph_run(ref_graph *r, const float *input, const int32_t *labels, uint32_t seed,
                   uint32_t step, float lr, int from, int to)
{
    const graph *g = r->g;
    memcpy(r->val[g->input], input, (size_t)g->t[g->input].nelem * sizeof(float));
    if (labels)
        memcpy(r->labels, labels, (size_t)ref_graph_label_count(g) * sizeof *labels);
    for (int i = from; i < to; i++) {
        const gnode *n = &g->n[i];
        switch (n->op) {
        case OP_MATMUL: matmul(r, n); break;
        case OP_SOFTMAX: case OP_SOFTMAX_GRAD: softmax_rows(r, n); break;
        case OP_SOFTMAX_XENT: case OP_MSE: case OP_XENT_GRAD: case OP_MSE_GRAD:
            loss_rows(r, n);
            break;
        case OP_SUM_ROWS: {
            const tensor *x = &g->t[n->in[0]];
            for (int64_t j = 0; j < x->dims[1]; j++) {
                double s = 0;
                for (int64_t k = 0; k < x->dims[0]; k++)
                    s += r->val[n->in[0]][k * x->dims[1] + j];
                r->val[n->out][j] = (float)(n->accumulate ? r->val[n->out][j] + s : s);
            }
            break;
        }
        case OP_UPDATE: update(r, step, lr); break;
        case OP_EMBED: case OP_EMBED_GRAD: case OP_LSTM: case OP_LSTM_GRAD: case OP_SEQ_SHIFT:
        case OP_SEQ_POOL: case OP_SEQ_POOL_GRAD:
            ref_rnn_node(r, n);
            break;
        default:
            if (!ref_conv_node(r, n, seed, step))
                elementwise(r, n, seed, step);
            break;
        }
    }
}

double ref_graph_mean_loss(const ref_graph *r)
{
    int64_t rows = ref_graph_label_count(r->g);
    double s = 0;
    for (int64_t i = 0; i < rows; i++)
        s += r->val[r->g->loss][i];
    return s / (double)rows;
}
