/* Kernels of the recurrent-network nodes (GROUP_SEQUENCE, one node each).
 *
 * The lstm recurrence is one kernel for all steps: a single work-group whose
 * work-items own fixed (sample, unit) pairs, keep their cell state in private
 * memory and meet at a barrier after each step, so a training step costs two
 * launches for the recurrence (forward, backward), whatever the sequence
 * length, plus one transposing U for the forward's contiguous dot products;
 * dU is an ordinary GEMM over all steps. Gate columns are ordered i, f, g, o. One work-group
 * uses one compute unit: fine for the CPU, a known limit on GPUs. Over token
 * ids, a padding step (QSDC_PAD_ID) leaves a pair's h and c as they were,
 * and the backward passes that step's gradient of h back unchanged. */
#include <stdio.h>
#include <string.h>

#include "codegen.h"

/* Work-items of the lstm's work-group: every device offers 256 or more on
 * the devices qsdc targets (CPUs under pocl, GPUs); OpenCL 1.2 guarantees 1. */
#define LSTM_GROUP 256

static void launch_1d(plan_launch *l, const char *name, const char *nodes, int64_t n,
                      int64_t local, double bytes)
{
    memset(l, 0, sizeof *l);
    snprintf(l->kernel, sizeof l->kernel, "%s", name);
    snprintf(l->nodes, sizeof l->nodes, "%s", nodes);
    l->work_dim = 1;
    l->global[0] = (uint64_t)n;
    l->local[0] = (uint64_t)local;
    l->bytes = bytes;
}

/* The kernel header with idx over n work-items. */
static void open_flat(strbuf *src, const char *name, int64_t n)
{
    codegen_signature(src, name);
    sb_printf(src, "{\n    const uint idx = get_global_id(0);\n"
                   "    if (idx >= %lldu) return;\n", (long long)n);
}

/* out[R,D] = W[id]; ids outside [0, V) or not integers give zero rows */
static void gen_embed(codegen_ctx *c, const gnode *n, const char *name, plan_launch *l)
{
    const graph *g = c->g;
    const tensor *w = &g->t[n->in[1]];
    long long v = (long long)w->dims[0], d = (long long)w->dims[1];
    int64_t total = g->t[n->out].nelem;
    char ids[64], rw[64], out[64];
    codegen_ref(g, n->in[0], ids, sizeof ids);
    codegen_ref(g, n->in[1], rw, sizeof rw);
    codegen_ref(g, n->out, out, sizeof out);
    open_flat(c->src, name, total);
    sb_printf(c->src,
              "    const float f = %s[idx / %lldu];\n"
              "    const int id = (int)f;\n"
              "    %s[idx] = id >= 0 && id < %lld && (float)id == f ? %s[id * %lld + idx %% %lldu]"
              " : 0.0f;\n}\n\n",
              ids, d, out, v, rw, d, d);
    launch_1d(l, name, "embed", total, 0, 12.0 * (double)total);
}

/* dW[V,D]: zeroed, then each (first occurrence of an id, column) sums its
 * rows in position order: deterministic, no atomics, O(R^2 D) */
static void gen_embed_grad(codegen_ctx *c, const gnode *n, const char *name,
                           plan_launch *l, int *n_launches)
{
    const graph *g = c->g;
    const tensor *w = &g->t[n->out], *dy = &g->t[n->in[0]];
    long long v = (long long)w->dims[0], d = (long long)w->dims[1];
    long long rows = (long long)(dy->nelem / d);
    char rdy[64], ids[64], dw[64], zname[QSDC_NAME_MAX];
    codegen_ref(g, n->in[0], rdy, sizeof rdy);
    codegen_ref(g, n->in[1], ids, sizeof ids);
    codegen_ref(g, n->out, dw, sizeof dw);
    snprintf(zname, sizeof zname, "%.50s_zero", name);
    open_flat(c->src, zname, v * d);
    sb_printf(c->src, "    %s[idx] = 0.0f;\n}\n\n", dw);
    open_flat(c->src, name, rows * d);
    sb_printf(c->src,
              "    const uint r = idx / %lldu, col = idx %% %lldu;\n"
              "    __global const float *ids = %s;\n"
              "    const float f = ids[r];\n"
              "    const int id = (int)f;\n"
              "    if (id < 0 || id >= %lld || (float)id != f) return;\n"
              "    for (uint q = 0; q < r; q++) if (ids[q] == f) return;\n"
              "    float s = 0.0f;\n"
              "    for (uint q = r; q < %lldu; q++) if (ids[q] == f) s += %s[q * %lldu + col];\n"
              "    %s[id * %lld + col] = s;\n}\n\n",
              d, d, ids, v, rows, rdy, d, dw, d);
    launch_1d(&l[0], zname, "embed_grad", v * d, 0, 4.0 * (double)(v * d));
    launch_1d(&l[1], name, "embed_grad", rows * d, 0, 4.0 * (double)(rows * d * 2));
    *n_launches = 2;
}

typedef struct lstm_dims {
    long long b, t, h, pairs, group, per;
    long long h0; /* a stateful lstm's initial h [B,H] in saved, then c; -1 if not stateful */
} lstm_dims;

/* From the sequence y[B,T,H] and the saved tensor, which holds the initial
 * state after U^T only when the lstm is stateful (lower_lstm). */
static lstm_dims lstm_shape(const tensor *y, const tensor *saved)
{
    lstm_dims s = {y->dims[0], y->dims[1], y->dims[2], y->dims[0] * y->dims[2], 0, 0, -1};
    s.group = s.pairs < LSTM_GROUP ? s.pairs : LSTM_GROUP;
    s.per = (s.pairs + s.group - 1) / s.group;
    long long h0 = s.b * s.t * 5 * s.h + 4 * s.h * s.h;
    if (saved->nelem > h0)
        s.h0 = h0;
    return s;
}

/* The loop head over this work-item's (sample b, unit j) pairs. */
static void pair_loop(strbuf *src, const lstm_dims *s)
{
    sb_printf(src,
              "        for (uint k = 0; k < %lldu; k++) {\n"
              "            const uint p = get_local_id(0) + k * %lldu;\n"
              "            if (p >= %lldu) break;\n"
              "            const uint b = p / %lldu, j = p %% %lldu;\n",
              s->per, s->group, s->pairs, s->h, s->h);
}

/* Statements adding x[0..n) . y[0..n) to acc, four lanes at a time:
 * explicit vectors, since float reductions are not auto-vectorised. */
static void dot(strbuf *src, const char *acc, const char *x, const char *y, long long n)
{
    sb_printf(src,
              "            { float4 s4 = (float4)(0.0f);\n"
              "              for (uint q = 0; q < %lldu; q++) s4 = fma(vload4(q, %s), vload4(q, %s), s4);\n"
              "              %s += (s4.x + s4.y) + (s4.z + s4.w);\n",
              n / 4, x, y, acc);
    if (n % 4)
        sb_printf(src, "              for (uint q = %lldu; q < %lldu; q++) %s += %s[q] * %s[q];\n",
                  n / 4 * 4, n, acc, x, y);
    sb_append(src, "            }\n");
}

/* h[B,T,H] and saved (i, f, g, o, c per step, then U^T) from z[B*T,4H]
 * (x W + b) and U[H,4H]: U^T first, then the recurrence */
static void gen_lstm(codegen_ctx *c, const gnode *n, const char *name, plan_launch *l,
                     int *n_launches)
{
    const graph *g = c->g;
    lstm_dims s = lstm_shape(&g->t[n->out], &g->t[n->mask]);
    long long h = s.h, t = s.t;
    char z[64], u[64], y[64], sv[64], tname[QSDC_NAME_MAX];
    codegen_ref(g, n->in[0], z, sizeof z);
    codegen_ref(g, n->in[1], u, sizeof u);
    codegen_ref(g, n->out, y, sizeof y);
    codegen_ref(g, n->mask, sv, sizeof sv);
    long long ut = s.b * t * 5 * h; /* U^T's offset in saved */
    snprintf(tname, sizeof tname, "%.50s_ut", name);
    open_flat(c->src, tname, 4 * h * h);
    sb_printf(c->src, "    %s[%lldu + idx] = %s[idx %% %lldu * %lldu + idx / %lldu];\n}\n\n", sv,
              ut, u, h, 4 * h, h);
    launch_1d(&l[0], tname, "lstm", 4 * h * h, 0, 8.0 * (double)(4 * h * h));
    char carry[64] = "";
    if (s.h0 >= 0)
        codegen_ref(g, n->in[2], carry, sizeof carry);
    codegen_signature(c->src, name);
    sb_printf(c->src,
              "{\n    __global const float *ut = %s + %lldu;\n"
              "    float cs[%lld];\n", sv, ut, s.per);
    if (s.h0 >= 0) { /* start from the carry, and keep a copy for the backward */
        sb_append(c->src, "    {\n");
        pair_loop(c->src, &s);
        sb_printf(c->src,
                  "            cs[k] = %s[b * %lldu + %lldu + j];\n"
                  "            %s[%lldu + p] = %s[b * %lldu + j];\n"
                  "            %s[%lldu + p] = cs[k];\n        }\n    }\n",
                  carry, 2 * h, h, sv, s.h0, carry, 2 * h, sv, s.h0 + s.pairs);
    } else {
        sb_printf(c->src, "    for (uint k = 0; k < %lldu; k++) cs[k] = 0.0f;\n", s.per);
    }
    sb_printf(c->src, "    for (uint t = 0; t < %lldu; t++) {\n", t);
    pair_loop(c->src, &s);
    sb_printf(c->src, "            const uint row = b * %lldu + t;\n", t);
    int ids = graph_pad_ids(g, n);
    if (ids >= 0) { /* a padding step holds h and c; its gates are zero */
        char rids[64];
        codegen_ref(g, ids, rids, sizeof rids);
        sb_printf(c->src,
                  "            if (%s[row] == %s) {\n"
                  "                __global float *sv = %s + row * %lldu;\n"
                  "                sv[j] = 0.0f; sv[%lldu + j] = 0.0f; sv[%lldu + j] = 0.0f;\n"
                  "                sv[%lldu + j] = 0.0f; sv[%lldu + j] = cs[k];\n"
                  "                %s[row * %lldu + j] = t > 0 ? %s[(row - 1) * %lldu + j] : ",
                  rids, CG_F(QSDC_PAD_ID), sv, 5 * h, h, 2 * h, 3 * h, 4 * h, y, h, y, h);
        if (s.h0 >= 0)
            sb_printf(c->src, "%s[b * %lldu + j];\n", carry, 2 * h);
        else
            sb_append(c->src, "0.0f;\n");
        sb_append(c->src, "                continue;\n            }\n");
    }
    sb_printf(c->src,
              "            __global const float *z = %s + row * %lldu;\n"
              "            float a0 = z[j], a1 = z[%lldu + j], a2 = z[%lldu + j], a3 = z[%lldu + j];\n",
              z, 4 * h, h, 2 * h, 3 * h);
    if (s.h0 >= 0)
        sb_printf(c->src,
                  "            {\n"
                  "            __global const float *hp = t > 0 ? %s + (row - 1) * %lldu"
                  " : %s + b * %lldu;\n",
                  y, h, carry, 2 * h);
    else
        sb_printf(c->src,
                  "            if (t > 0) {\n"
                  "            __global const float *hp = %s + (row - 1) * %lldu;\n", y, h);
    sb_printf(c->src,
              "            __global const float *u0 = ut + j * %lldu, *u1 = u0 + %lldu;\n"
              "            __global const float *u2 = u1 + %lldu, *u3 = u2 + %lldu;\n",
              h, h * h, h * h, h * h);
    dot(c->src, "a0", "hp", "u0", h);
    dot(c->src, "a1", "hp", "u1", h);
    dot(c->src, "a2", "hp", "u2", h);
    dot(c->src, "a3", "hp", "u3", h);
    sb_printf(c->src,
              "            }\n"
              "            const float gi = 1.0f / (1.0f + exp(-a0)), gf = 1.0f / (1.0f + exp(-a1));\n"
              "            const float gg = tanh(a2), go = 1.0f / (1.0f + exp(-a3));\n"
              "            cs[k] = gf * cs[k] + gi * gg;\n"
              "            __global float *sv = %s + row * %lldu;\n"
              "            sv[j] = gi; sv[%lldu + j] = gf; sv[%lldu + j] = gg;\n"
              "            sv[%lldu + j] = go; sv[%lldu + j] = cs[k];\n"
              "            %s[row * %lldu + j] = go * tanh(cs[k]);\n"
              "        }\n"
              "        barrier(CLK_GLOBAL_MEM_FENCE);\n    }\n",
              sv, 5 * h, h, 2 * h, 3 * h, 4 * h, y, h);
    if (s.h0 >= 0) { /* every read of the carry was before the last barrier */
        pair_loop(c->src, &s);
        sb_printf(c->src,
                  "            %s[b * %lldu + j] = %s[(b * %lldu + %lldu) * %lldu + j];\n"
                  "            %s[b * %lldu + %lldu + j] = cs[k];\n        }\n",
                  carry, 2 * h, y, t, t - 1, h, carry, 2 * h, h);
    }
    sb_append(c->src, "}\n\n");
    launch_1d(&l[1], name, "lstm", s.group, s.group,
              4.0 * (double)(s.b * t * (4 * h + 6 * h)));
    l[1].flops = 8.0 * (double)(s.b * t * h * h);
    *n_launches = 2;
}

/* dz[B*T,4H] from dh[B,T,H], saved and U: BPTT, dh and dc carried backwards */
static void gen_lstm_grad(codegen_ctx *c, const gnode *n, const char *name, plan_launch *l)
{
    const graph *g = c->g;
    lstm_dims s = lstm_shape(&g->t[n->in[0]], &g->t[n->in[1]]);
    long long h = s.h, t = s.t;
    char dy[64], sv[64], u[64], dz[64];
    codegen_ref(g, n->in[0], dy, sizeof dy);
    codegen_ref(g, n->in[1], sv, sizeof sv);
    codegen_ref(g, n->in[2], u, sizeof u);
    codegen_ref(g, n->out, dz, sizeof dz);
    char c0[96] = "0.0f"; /* the initial c: zero, or the carry's copy */
    if (s.h0 >= 0)
        snprintf(c0, sizeof c0, "%.60s[%lldu + p]", sv, s.h0 + s.pairs);
    /* dp: the gradient of h that padding steps pass back unchanged */
    int ids = graph_pad_ids(g, n);
    const char *dp = ids >= 0 ? " + dp[k]" : "";
    codegen_signature(c->src, name);
    sb_printf(c->src,
              "{\n    float dc[%lld], dp[%lld];\n"
              "    for (uint k = 0; k < %lldu; k++) dc[k] = dp[k] = 0.0f;\n"
              "    for (int t = %lld; t >= 0; t--) {\n", s.per, s.per, s.per, t - 1);
    pair_loop(c->src, &s);
    sb_printf(c->src,
              "            const uint row = b * %lldu + (uint)t;\n"
              "            float dh = %s[row * %lldu + j]%s;\n"
              "            if (t < %lld) {\n"
              "            __global const float *dn = %s + (row + 1) * %lldu;\n"
              "            __global const float *u = %s + j * %lldu;\n",
              t, dy, h, dp, t - 1, dz, 4 * h, u, 4 * h);
    dot(c->src, "dh", "dn", "u", 4 * h);
    sb_append(c->src, "            }\n");
    if (ids >= 0) {
        char rids[64];
        codegen_ref(g, ids, rids, sizeof rids);
        sb_printf(c->src,
                  "            dp[k] = 0.0f;\n"
                  "            if (%s[row] == %s) {\n"
                  "                __global float *dz = %s + row * %lldu;\n"
                  "                dz[j] = dz[%lldu + j] = dz[%lldu + j] = dz[%lldu + j] = 0.0f;\n"
                  "                dp[k] = dh;\n"
                  "                continue;\n            }\n",
                  rids, CG_F(QSDC_PAD_ID), dz, 4 * h, h, 2 * h, 3 * h);
    }
    sb_printf(c->src,
              "            __global const float *sv = %s + row * %lldu;\n"
              "            const float gi = sv[j], gf = sv[%lldu + j], gg = sv[%lldu + j];\n"
              "            const float go = sv[%lldu + j], tc = tanh(sv[%lldu + j]);\n"
              "            const float cp = t > 0 ? sv[(int)j - %lld] : %s; /* c_{t-1} */\n"
              "            const float d = dc[k] + dh * go * (1.0f - tc * tc);\n"
              "            __global float *dz = %s + row * %lldu;\n"
              "            dz[j] = d * gg * gi * (1.0f - gi);\n"
              "            dz[%lldu + j] = d * cp * gf * (1.0f - gf);\n"
              "            dz[%lldu + j] = d * gi * (1.0f - gg * gg);\n"
              "            dz[%lldu + j] = dh * tc * go * (1.0f - go);\n"
              "            dc[k] = d * gf;\n"
              "        }\n"
              "        barrier(CLK_GLOBAL_MEM_FENCE);\n    }\n}\n\n",
              sv, 5 * h, h, 2 * h, 3 * h, 4 * h, h, c0, dz, 4 * h, h, 2 * h, 3 * h);
    launch_1d(l, name, "lstm_grad", s.group, s.group,
              4.0 * (double)(s.b * t * (4 * h + 6 * h)));
    l->flops = 8.0 * (double)(s.b * t * h * h);
}

/* hp[B*T,H] = h[B,T,H] one step later; at t = 0 zero, or for a stateful
 * lstm (in[1] its saved tensor) the carried h */
static void gen_seq_shift(codegen_ctx *c, const gnode *n, const char *name, plan_launch *l)
{
    const graph *g = c->g;
    const tensor *y = &g->t[n->in[0]];
    long long t = (long long)y->dims[1], h = (long long)y->dims[2];
    char x[64], out[64], first[128] = "0.0f";
    codegen_ref(g, n->in[0], x, sizeof x);
    codegen_ref(g, n->out, out, sizeof out);
    if (n->n_in == 2) {
        lstm_dims s = lstm_shape(y, &g->t[n->in[1]]);
        char sv[64];
        codegen_ref(g, n->in[1], sv, sizeof sv);
        snprintf(first, sizeof first, "%s[%lldu + idx / %lldu * %lldu + idx %% %lldu]", sv,
                 s.h0, t * h, h, h);
    }
    open_flat(c->src, name, y->nelem);
    sb_printf(c->src, "    %s[idx] = (idx / %lldu) %% %lldu == 0 ? %s : %s[idx - %lldu];\n}\n\n",
              out, h, t, first, x, h);
    launch_1d(l, name, "seq_shift", y->nelem, 0, 8.0 * (double)y->nelem);
}

/* [B,T,H] -> [B,H] (last step or mean), and its gradient. With token ids,
 * over the real steps only: the last one that is not padding, the mean of
 * those that are not; a sequence of padding alone pools to zero. */
static void gen_seq_pool(codegen_ctx *c, const gnode *n, const char *name, plan_launch *l)
{
    const graph *g = c->g;
    bool grad = n->op == OP_SEQ_POOL_GRAD;
    const tensor *seq = &g->t[grad ? n->out : n->in[0]];
    long long t = (long long)seq->dims[1], h = (long long)seq->dims[2];
    int64_t total = g->t[n->out].nelem;
    char x[64], y[64], real[128] = "true";
    codegen_ref(g, n->in[0], x, sizeof x);
    codegen_ref(g, n->out, y, sizeof y);
    open_flat(c->src, name, total);
    sb_printf(c->src, "    const uint b = idx / %lldu, j = idx %% %lldu;\n",
              grad ? t * h : h, h);
    int ids = graph_pad_ids(g, n);
    if (ids >= 0) {
        char rids[64];
        codegen_ref(g, ids, rids, sizeof rids);
        snprintf(real, sizeof real, "%s[b * %lldu + t] != %s", rids, t, CG_F(QSDC_PAD_ID));
    }
    /* n real steps, the last at step `last` (-1 for none) */
    sb_printf(c->src,
              "    uint n = 0;\n    int last = -1;\n"
              "    for (uint t = 0; t < %lldu; t++) if (%s) { n++; last = (int)t; }\n",
              t, real);
    if (grad) { /* dx[b,t,j] from dy[b,j] */
        sb_printf(c->src,
                  "    const uint t = idx / %lldu %% %lldu;\n"
                  "    const float dy = %s[b * %lldu + j];\n",
                  h, t, x, h);
        if (n->seq == SEQ_LAST)
            sb_printf(c->src, "    %s[idx] = (int)t == last ? dy : 0.0f;\n", y);
        else
            sb_printf(c->src, "    %s[idx] = %s ? dy / (float)n : 0.0f;\n", y, real);
    }
    else if (n->seq == SEQ_LAST)
        sb_printf(c->src, "    %s[idx] = last >= 0 ? %s[(b * %lldu + (uint)last) * %lldu + j] : 0.0f;\n",
                  y, x, t, h);
    else
        sb_printf(c->src,
                  "    float s = 0.0f;\n"
                  "    for (uint t = 0; t < %lldu; t++) if (%s) s += %s[(b * %lldu + t) * %lldu + j];\n"
                  "    %s[idx] = n > 0 ? s / (float)n : 0.0f;\n",
                  t, real, x, t, h, y);
    sb_append(c->src, "}\n\n");
    launch_1d(l, name, op_kind_name(n->op), total, 0, 8.0 * (double)seq->nelem);
}

int codegen_sequence(codegen_ctx *c, int k, const char *name, plan_launch *launches,
                     int *n_launches, qsdc_error *err)
{
    const gnode *n = &c->g->n[c->f->groups[k].nodes[0]];
    *n_launches = 1;
    switch (n->op) {
    case OP_EMBED: gen_embed(c, n, name, launches); break;
    case OP_EMBED_GRAD: gen_embed_grad(c, n, name, launches, n_launches); break;
    case OP_LSTM: gen_lstm(c, n, name, launches, n_launches); break;
    case OP_LSTM_GRAD: gen_lstm_grad(c, n, name, launches); break;
    case OP_SEQ_SHIFT: gen_seq_shift(c, n, name, launches); break;
    default: gen_seq_pool(c, n, name, launches); break;
    }
    return sb_check(c->src, err);
}
