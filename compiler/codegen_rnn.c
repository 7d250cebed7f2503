/* Kernels of the recurrent-network nodes (GROUP_SEQUENCE, one node each):
 * embedding and its gradient, the shift of h for dU, sequence pooling; the
 * lstm recurrence is codegen_lstm.c's. */
#include <stdio.h>
#include <string.h>

#include "codegen_int.h"

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
    codegen_open_flat(c->src, name, total);
    sb_printf(c->src,
              "    const float f = %s[idx / %lldu];\n"
              "    const int id = (int)f;\n"
              "    %s[idx] = id >= 0 && id < %lld && (float)id == f ? %s[id * %lld + idx %% %lldu]"
              " : 0.0f;\n}\n\n",
              ids, d, out, v, rw, d, d);
    codegen_launch_1d(l, name, "embed", total, 0, 12.0 * (double)total);
}

/* dW[V,D]: zeroed, then each work-item owns a run of VW columns and walks
 * the rows in position order, adding each valid id's row into dW: every
 * id's rows summed in position order (deterministic, no atomics, the
 * same sums as a per-id loop) in O(R D) work. Runs of 16 floats on a CPU;
 * on a device that runs work-items in lanes one column each, consecutive
 * items on consecutive columns. (A work-item per id's first occurrence,
 * which searched the earlier ids for its own, cost O(R^2 D / VW): 55 ms of
 * the sentence LSTM's 290 ms step on llvmpipe at R = 1280.) */
static void gen_embed_grad(codegen_ctx *c, const gnode *n, const char *name,
                           plan_launch *l, int *n_launches)
{
    const graph *g = c->g;
    const tensor *w = &g->t[n->out], *dy = &g->t[n->in[0]];
    long long v = (long long)w->dims[0], d = (long long)w->dims[1];
    long long rows = (long long)(dy->nelem / d);
    long long vw = codegen_lanes(c->target) ? 1 : codegen_vector_width(d);
    char rdy[64], ids[64], dw[64], zname[QSDC_NAME_MAX];
    codegen_ref(g, n->in[0], rdy, sizeof rdy);
    codegen_ref(g, n->in[1], ids, sizeof ids);
    codegen_ref(g, n->out, dw, sizeof dw);
    snprintf(zname, sizeof zname, "%.50s_zero", name);
    codegen_open_flat(c->src, zname, v * d);
    sb_printf(c->src, "    %s[idx] = 0.0f;\n}\n\n", dw);
    codegen_vector_macros(c->src, vw);
    codegen_open_flat(c->src, name, d / vw);
    sb_printf(c->src,
              "    const uint col = idx * %lldu;\n"
              "    for (uint r = 0; r < %lldu; r++) {\n"
              "        const float f = %s[r];\n"
              "        const int id = (int)f;\n"
              "        if (id < 0 || id >= %lld || (float)id != f) continue;\n"
              "        __global float *row = %s + id * %lld + col;\n"
              "        ST(LD(row) + LD(%s + r * %lldu + col), row);\n"
              "    }\n}\n" CG_VECTOR_UNDEF,
              vw, rows, ids, v, dw, d, rdy, d);
    codegen_launch_1d(&l[0], zname, "embed_grad", v * d, 0, 4.0 * (double)(v * d));
    codegen_launch_1d(&l[1], name, "embed_grad", d / vw, 0, 4.0 * (double)(rows * d * 3));
    *n_launches = 2;
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
    if (n->n_in == 2) { /* the initial h after the steps' gates and U^T */
        long long h0 = (long long)y->dims[0] * t * 5 * h + 4 * h * h;
        char sv[64];
        codegen_ref(g, n->in[1], sv, sizeof sv);
        snprintf(first, sizeof first, "%s[%lldu + idx / %lldu * %lldu + idx %% %lldu]", sv,
                 h0, t * h, h, h);
    }
    codegen_open_flat(c->src, name, y->nelem);
    sb_printf(c->src, "    %s[idx] = (idx / %lldu) %% %lldu == 0 ? %s : %s[idx - %lldu];\n}\n\n",
              out, h, t, first, x, h);
    codegen_launch_1d(l, name, "seq_shift", y->nelem, 0, 8.0 * (double)y->nelem);
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
    codegen_open_flat(c->src, name, total);
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
    codegen_launch_1d(l, name, op_kind_name(n->op), total, 0, 8.0 * (double)seq->nelem);
}

int codegen_sequence(codegen_ctx *c, int k, const char *name, plan_launch *launches,
                     int *n_launches, qsdc_error *err)
{
    const gnode *n = &c->g->n[c->f->groups[k].nodes[0]];
    *n_launches = 1;
    switch (n->op) {
    case OP_EMBED: gen_embed(c, n, name, launches); break;
    case OP_EMBED_GRAD: gen_embed_grad(c, n, name, launches, n_launches); break;
    case OP_LSTM: case OP_LSTM_GRAD: codegen_lstm(c, n, name, launches, n_launches); break;
    case OP_SEQ_SHIFT: gen_seq_shift(c, n, name, launches); break;
    default: gen_seq_pool(c, n, name, launches); break;
    }
    return sb_check(c->src, err);
}
