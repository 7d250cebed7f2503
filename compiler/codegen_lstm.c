/* The lstm recurrence's kernels (OP_LSTM, OP_LSTM_GRAD): all time steps in
 * one launch each way. The samples are independent, so they are split
 * into blocks of at most MAX_BLOCK, one work-group per block, whose
 * work-items meet at a barrier after each step: the blocks run on all
 * compute units at once. A work-item owns VW adjacent units j of its
 * block's samples and keeps their cell states in private memory; its dot
 * products run along the units as explicit VW-wide vectors (the widest of
 * 16, 8, 4, 2 that divides H, else scalars; or scalars where the target
 * says so, measured per device: consecutive work-items then own consecutive
 * units, as devices that run work-items in lanes want), every weight load
 * serving the whole block: the forward reads U[q, gate * H + j], the backward U^T (the
 * forward's transpose, kept in saved) at [gate * H + j, q]. Gate columns are
 * ordered i, f, g, o. Over token ids, a padding step (QSDC_PAD_ID) leaves a
 * sample's h and c as they were, and the backward passes that step's
 * gradient of h back unchanged.
 * On a device that cuts a work-item's loops short (runtime/loop_guard.h)
 * the steps run in slices, one launch of the same kernel each, told apart
 * by the launch's global offset: the forward starts a slice from the cell
 * states the last one saved, the backward carries its gradients of c and
 * h through the arena's scratch. */
#include <stdio.h>
#include <string.h>

#include "codegen_int.h"

/* Samples per work-group: each one's four gate sums are VW-wide
 * accumulators, and 5 x 4 of 16 floats still fit AVX-512's 32 registers. */
#define MAX_BLOCK 5
/* Work-items of a work-group at most: every device offers 256 or more on
 * the devices qsdc targets (CPUs under pocl, GPUs). */
#define MAX_GROUP 256

typedef struct lstm_dims {
    long long b, t, h;
    long long vw;      /* units per work-item's vectors */
    long long block;   /* samples per work-group */
    long long groups;  /* work-groups: ceil(b / block) */
    long long wi, per; /* work-items per group, vector chunks of units each */
    long long h0; /* a stateful lstm's initial h [B,H] in saved, then c; -1 if not stateful */
    long long steps, slices; /* time steps a launch runs, launches */
} lstm_dims;

/* Whether the target runs recurrence y[B,T,H] on scalar units. */
static bool scalar_units(const codegen_target *target, const tensor *y)
{
    bool scalar = target->scalar_lstm_all;
    for (int i = 0; i < target->n_scalar_lstm; i++) {
        const recur_shape *r = &target->scalar_lstm[i];
        scalar |= r->b == y->dims[0] && r->t == y->dims[1] && r->h == y->dims[2];
    }
    return scalar;
}

/* From the sequence y[B,T,H] and the saved tensor, which holds the initial
 * state after U^T only when the lstm is stateful (lower_lstm). */
static lstm_dims lstm_shape(const codegen_target *target, const tensor *y, const tensor *saved)
{
    lstm_dims s = {.b = y->dims[0], .t = y->dims[1], .h = y->dims[2],
                   .vw = scalar_units(target, y) ? 1 : codegen_vector_width(y->dims[2]),
                   .h0 = -1};
    s.groups = (s.b + MAX_BLOCK - 1) / MAX_BLOCK;
    s.block = (s.b + s.groups - 1) / s.groups;
    long long chunks = s.h / s.vw;
    s.wi = chunks < MAX_GROUP ? chunks : MAX_GROUP;
    s.per = (chunks + s.wi - 1) / s.wi;
    long long h0 = s.b * s.t * 5 * s.h + 4 * s.h * s.h;
    if (saved->nelem > h0)
        s.h0 = h0;
    return s;
}

/* Cuts the t steps into slices whose loops, per_step iterations a step,
 * stay within budget (0: no limit), as even as they can be. */
static void time_slices(lstm_dims *s, int64_t budget, long long per_step)
{
    long long steps = budget > 0 ? budget / per_step : s->t;
    if (steps < 1)
        steps = 1;
    s->slices = (s->t + steps - 1) / steps;
    if (s->slices > CODEGEN_MAX_GROUP_LAUNCHES - 1) /* the loop guard reports the rest */
        s->slices = CODEGEN_MAX_GROUP_LAUNCHES - 1;
    s->steps = (s->t + s->slices - 1) / s->slices;
}

/* t0 and t1, the steps [t0, t1) this launch runs: the slice its global
 * offset names, counted from the first step forward and from the last one
 * backward. */
static void slice_bounds(strbuf *src, const lstm_dims *s, bool backward)
{
    if (s->slices == 1) {
        sb_printf(src, "    const uint t0 = 0u, t1 = %lldu;\n", s->t);
        return;
    }
    sb_printf(src, "    const uint slice = get_global_offset(0) / %lldu;\n", s->groups * s->wi);
    if (backward)
        sb_printf(src, "    const uint t1 = %lldu - slice * %lldu, t0 = t1 > %lldu ? t1 - %lldu : 0u;\n",
                  s->t, s->steps, s->steps, s->steps);
    else
        sb_printf(src, "    const uint t0 = slice * %lldu, t1 = min(t0 + %lldu, %lldu);\n",
                  s->steps, s->steps, s->t);
}

/* Launch 0's copies, one per further slice, each offset past the last. */
static void slice_launches(plan_launch *l, const lstm_dims *s)
{
    l[0].flops /= (double)s->slices;
    l[0].bytes /= (double)s->slices;
    for (long long i = 1; i < s->slices; i++) {
        l[i] = l[0];
        l[i].offset[0] = (uint64_t)(i * s->groups * s->wi);
    }
}

/* The kernel's vector type VT and its loads and stores LD(p), ST(v, p) at
 * a float pointer, defined for one kernel (close_kernel undefines them). */
static void open_kernel(strbuf *src, const char *name, const lstm_dims *s)
{
    codegen_vector_macros(src, s->vw);
    codegen_signature(src, name);
    sb_printf(src,
              "{\n    const uint b0 = get_group_id(0) * %lldu;\n"
              "    const uint rows[%lld] = {", s->block, s->block);
    /* sample k of the block, clamped into the batch: a partial last block
       computes its missing samples on the batch's last one and stores
       nothing for them (stores_of) */
    for (long long k = 0; k < s->block; k++)
        sb_printf(src, "%smin(b0 + %lldu, %lldu)", k ? ", " : "", k, s->b - 1);
    sb_append(src, "};\n");
}

static void close_kernel(strbuf *src)
{
    sb_append(src, "}\n" CG_VECTOR_UNDEF);
}

/* The loop head over this work-item's chunks of units j (k its index). */
static void chunk_loop(strbuf *src, const lstm_dims *s)
{
    sb_printf(src,
              "        for (uint k = 0; k < %lldu; k++) {\n"
              "            const uint j = (get_local_id(0) + k * %lldu) * %lldu;\n"
              "            if (j >= %lldu) break;\n",
              s->per, s->wi, s->vw, s->h);
}

/* "if (b0 + k < B)": whether sample k of the block is in the batch. */
static void stores_of(strbuf *src, const lstm_dims *s, long long k)
{
    sb_printf(src, "            if (b0 + %lldu < %lldu) {\n", k, s->b);
}

/* h[B,T,H] and saved (i, f, g, o, c per step, then U^T) from z[B*T,4H]
 * (x W + b) and U[H,4H]: U^T first (for the backward), then the recurrence */
static void gen_forward(codegen_ctx *c, const gnode *n, const char *name, plan_launch *l,
                        int *n_launches)
{
    const graph *g = c->g;
    lstm_dims s = lstm_shape(c->target, &g->t[n->out], &g->t[n->mask]);
    long long h = s.h, t = s.t, nb = s.block, ut = s.b * t * 5 * h; /* U^T's offset in saved */
    char z[64], u[64], y[64], sv[64], ids[64] = "", carry[64] = "", tname[QSDC_NAME_MAX];
    codegen_ref(g, n->in[0], z, sizeof z);
    codegen_ref(g, n->in[1], u, sizeof u);
    codegen_ref(g, n->out, y, sizeof y);
    codegen_ref(g, n->mask, sv, sizeof sv);
    if (graph_pad_ids(g, n) >= 0)
        codegen_ref(g, graph_pad_ids(g, n), ids, sizeof ids);
    if (s.h0 >= 0)
        codegen_ref(g, n->in[2], carry, sizeof carry);
    snprintf(tname, sizeof tname, "%.50s_ut", name);
    codegen_open_flat(c->src, tname, 4 * h * h);
    sb_printf(c->src, "    %s[%lldu + idx] = %s[idx %% %lldu * %lldu + idx / %lldu];\n}\n\n", sv,
              ut, u, h, 4 * h, h);
    codegen_launch_1d(&l[0], tname, "lstm", 4 * h * h, 0, 8.0 * (double)(4 * h * h));

    time_slices(&s, c->tuning.loop_budget, 1 + s.per * (1 + h));
    open_kernel(c->src, name, &s);
    slice_bounds(c->src, &s, false);
    sb_printf(c->src, "    VT cs[%lld];\n", nb * s.per);
    sb_append(c->src, s.slices > 1 ? "    if (t0 == 0u) {\n" : "    {\n");
    chunk_loop(c->src, &s);
    for (long long k = 0; k < nb; k++) {
        if (s.h0 < 0) {
            sb_printf(c->src, "            cs[%lld * %lldu + k] = (VT)(0.0f);\n", k, s.per);
            continue;
        }
        /* start from the carry, and keep a copy for the backward */
        sb_printf(c->src,
                  "            __global const float *cr%lld = %s + rows[%lld] * %lldu + j;\n"
                  "            cs[%lld * %lldu + k] = LD(cr%lld + %lldu);\n",
                  k, carry, k, 2 * h, k, s.per, k, h);
        stores_of(c->src, &s, k);
        sb_printf(c->src,
                  "                ST(LD(cr%lld), %s + %lldu + rows[%lld] * %lldu + j);\n"
                  "                ST(cs[%lld * %lldu + k], %s + %lldu + rows[%lld] * %lldu + j);\n"
                  "            }\n",
                  k, sv, s.h0, k, h, k, s.per, sv, s.h0 + s.b * h, k, h);
    }
    sb_append(c->src, "        }\n    }\n");
    if (s.slices > 1) { /* a later slice starts from the cell states its last step saved */
        sb_append(c->src, "    else {\n");
        chunk_loop(c->src, &s);
        for (long long k = 0; k < nb; k++)
            sb_printf(c->src,
                      "            cs[%lld * %lldu + k] = LD(%s + (rows[%lld] * %lldu + t0 - 1u) * %lldu"
                      " + %lldu + j);\n",
                      k, s.per, sv, k, t, 5 * h, 4 * h);
        sb_append(c->src, "        }\n    }\n");
    }
    sb_append(c->src, "    for (uint t = t0; t < t1; t++) {\n");
    chunk_loop(c->src, &s);
    for (long long k = 0; k < nb; k++) {
        sb_printf(c->src,
                  "            const uint row%lld = rows[%lld] * %lldu + t;\n"
                  "            __global const float *z%lld = %s + row%lld * %lldu + j;\n"
                  "            VT a%lld_0 = LD(z%lld), a%lld_1 = LD(z%lld + %lldu), "
                  "a%lld_2 = LD(z%lld + %lldu), a%lld_3 = LD(z%lld + %lldu);\n",
                  k, k, t, k, z, k, 4 * h, k, k, k, k, h, k, k, 2 * h, k, k, 3 * h);
        /* h_{t-1}: the previous step's, else the carried one, else none */
        if (s.h0 >= 0)
            sb_printf(c->src,
                      "            __global const float *hp%lld = t > 0 ? %s + (row%lld - 1) * %lldu"
                      " : %s + rows[%lld] * %lldu;\n",
                      k, y, k, h, carry, k, 2 * h);
        else
            sb_printf(c->src,
                      "            __global const float *hp%lld = %s + (row%lld - 1) * %lldu;\n",
                      k, y, k, h);
    }
    sb_printf(c->src,
              "            if (%s) {\n"
              "                for (uint q = 0; q < %lldu; q++) {\n"
              "                    __global const float *uq = %s + q * %lldu + j;\n"
              "                    const VT u0 = LD(uq), u1 = LD(uq + %lldu), u2 = LD(uq + %lldu),"
              " u3 = LD(uq + %lldu);\n",
              s.h0 >= 0 ? "true" : "t > 0", h, u, 4 * h, h, 2 * h, 3 * h);
    for (long long k = 0; k < nb; k++)
        sb_printf(c->src,
                  "                    { const float x = hp%lld[q];\n"
                  "                      a%lld_0 += x * u0; a%lld_1 += x * u1;"
                  " a%lld_2 += x * u2; a%lld_3 += x * u3; }\n",
                  k, k, k, k, k);
    sb_append(c->src, "                }\n            }\n");
    for (long long k = 0; k < nb; k++) {
        stores_of(c->src, &s, k);
        sb_printf(c->src,
                  "            __global float *sv = %s + row%lld * %lldu + j;\n"
                  "            VT *cc = &cs[%lld * %lldu + k];\n",
                  sv, k, 5 * h, k, s.per);
        if (ids[0]) /* a padding step holds h and c; its gates are zero */
            sb_printf(c->src,
                      "            if (%s[row%lld] == %s) {\n"
                      "                ST((VT)(0.0f), sv); ST((VT)(0.0f), sv + %lldu);"
                      " ST((VT)(0.0f), sv + %lldu); ST((VT)(0.0f), sv + %lldu);\n"
                      "                ST(*cc, sv + %lldu);\n"
                      "                ST(%s ? LD(hp%lld + j) : (VT)(0.0f), %s + row%lld * %lldu + j);\n"
                      "            } else {\n",
                      ids, k, CG_F(QSDC_PAD_ID), h, 2 * h, 3 * h, 4 * h,
                      s.h0 >= 0 ? "true" : "t > 0", k, y, k, h);
        sb_printf(c->src,
                  "            const VT gi = 1.0f / (1.0f + exp(-a%lld_0)), gf = 1.0f / (1.0f + exp(-a%lld_1));\n"
                  "            const VT gg = tanh(a%lld_2), go = 1.0f / (1.0f + exp(-a%lld_3));\n"
                  "            *cc = gf * *cc + gi * gg;\n"
                  "            ST(gi, sv); ST(gf, sv + %lldu); ST(gg, sv + %lldu);"
                  " ST(go, sv + %lldu); ST(*cc, sv + %lldu);\n"
                  "            ST(go * tanh(*cc), %s + row%lld * %lldu + j);\n",
                  k, k, k, k, h, 2 * h, 3 * h, 4 * h, y, k, h);
        sb_append(c->src, ids[0] ? "            }\n            }\n" : "            }\n");
    }
    sb_append(c->src, "        }\n        barrier(CLK_GLOBAL_MEM_FENCE);\n    }\n");
    if (s.h0 >= 0) { /* every read of this block's carry was before the last barrier */
        sb_printf(c->src, "    if (t1 == %lldu) {\n", t);
        chunk_loop(c->src, &s);
        for (long long k = 0; k < nb; k++) {
            stores_of(c->src, &s, k);
            sb_printf(c->src,
                      "                ST(LD(%s + (rows[%lld] * %lldu + %lldu) * %lldu + j),"
                      " %s + rows[%lld] * %lldu + j);\n"
                      "                ST(cs[%lld * %lldu + k], %s + rows[%lld] * %lldu + %lldu + j);\n"
                      "            }\n",
                      y, k, t, t - 1, h, carry, k, 2 * h, k, s.per, carry, k, 2 * h, h);
        }
        sb_append(c->src, "        }\n    }\n");
    }
    close_kernel(c->src);
    codegen_launch_1d(&l[1], name, "lstm", s.groups * s.wi, s.wi,
                      4.0 * (double)(s.b * t * 10 * h) + 4.0 * (double)(s.groups * t * 4 * h * h));
    l[1].flops = 8.0 * (double)(s.b * t * h * h);
    slice_launches(&l[1], &s);
    *n_launches = 1 + (int)s.slices;
}

/* The backward's gradients of c and h at a slice's first step, for the
 * slice after it: dc, then dp, [B,H] each, in the arena's scratch from
 * scr. */
static void carry_gradients(strbuf *src, const lstm_dims *s, long long scr, bool store)
{
    chunk_loop(src, s);
    for (long long k = 0; k < s->block; k++) {
        if (store)
            stores_of(src, s, k);
        for (long long v = 0; v < 2; v++) {
            const char *name = v ? "dp" : "dc";
            long long at = scr + v * s->b * s->h;
            if (store)
                sb_printf(src, "                ST(%s[%lld * %lldu + k], A + %lldu + rows[%lld] * %lldu"
                               " + j);\n", name, k, s->per, at, k, s->h);
            else
                sb_printf(src, "            %s[%lld * %lldu + k] = LD(A + %lldu + rows[%lld] * %lldu"
                               " + j);\n", name, k, s->per, at, k, s->h);
        }
        if (store)
            sb_append(src, "            }\n");
    }
    sb_append(src, "        }\n");
}

/* dz[B*T,4H] from dh[B,T,H], saved (with U^T) and U: BPTT, dh and dc
 * carried backwards */
static void gen_backward(codegen_ctx *c, const gnode *n, const char *name, plan_launch *l,
                         int *n_launches)
{
    const graph *g = c->g;
    lstm_dims s = lstm_shape(c->target, &g->t[n->in[0]], &g->t[n->in[1]]);
    long long h = s.h, t = s.t, nb = s.block;
    char dy[64], sv[64], dz[64], ids[64] = "";
    codegen_ref(g, n->in[0], dy, sizeof dy);
    codegen_ref(g, n->in[1], sv, sizeof sv);
    codegen_ref(g, n->out, dz, sizeof dz);
    if (graph_pad_ids(g, n) >= 0)
        codegen_ref(g, graph_pad_ids(g, n), ids, sizeof ids);
    time_slices(&s, c->tuning.loop_budget, 1 + s.per * (1 + 4 * h));
    long long scr = (long long)c->scratch;
    if (s.slices > 1 && c->scratch_needed < 2 * s.b * h)
        c->scratch_needed = 2 * s.b * h;
    open_kernel(c->src, name, &s);
    slice_bounds(c->src, &s, true);
    /* dp: the gradient of h that padding steps pass back unchanged */
    sb_printf(c->src,
              "    __global const float *ut = %s + %lldu;\n"
              "    VT dc[%lld], dp[%lld];\n",
              sv, s.b * t * 5 * h, nb * s.per, nb * s.per);
    if (s.slices > 1) {
        sb_printf(c->src, "    if (t1 < %lldu) {\n", t);
        carry_gradients(c->src, &s, scr, false);
        sb_append(c->src, "    } else\n");
    }
    sb_printf(c->src,
              "    for (uint k = 0; k < %lldu; k++) dc[k] = dp[k] = (VT)(0.0f);\n"
              "    for (int t = (int)t1 - 1; t >= (int)t0; t--) {\n",
              nb * s.per);
    chunk_loop(c->src, &s);
    for (long long k = 0; k < nb; k++)
        sb_printf(c->src,
                  "            const uint row%lld = rows[%lld] * %lldu + (uint)t;\n"
                  "            VT dh%lld = LD(%s + row%lld * %lldu + j) + dp[%lld * %lldu + k];\n"
                  "            __global const float *dn%lld = %s + (row%lld + 1) * %lldu;\n",
                  k, k, t, k, dy, k, h, k, s.per, k, dz, k, 4 * h);
    sb_printf(c->src,
              "            if (t < %lld) {\n"
              "                for (uint q = 0; q < %lldu; q++) {\n"
              "                    const VT w = LD(ut + q * %lldu + j);\n",
              t - 1, 4 * h, h);
    for (long long k = 0; k < nb; k++)
        sb_printf(c->src, "                    dh%lld += dn%lld[q] * w;\n", k, k);
    sb_append(c->src, "                }\n            }\n");
    for (long long k = 0; k < nb; k++) {
        stores_of(c->src, &s, k);
        sb_printf(c->src,
                  "            __global const float *sv = %s + row%lld * %lldu + j;\n"
                  "            __global float *dz = %s + row%lld * %lldu + j;\n"
                  "            VT *dck = &dc[%lld * %lldu + k], *dpk = &dp[%lld * %lldu + k];\n"
                  "            *dpk = (VT)(0.0f);\n",
                  sv, k, 5 * h, dz, k, 4 * h, k, s.per, k, s.per);
        if (ids[0])
            sb_printf(c->src,
                      "            if (%s[row%lld] == %s) {\n"
                      "                ST((VT)(0.0f), dz); ST((VT)(0.0f), dz + %lldu);"
                      " ST((VT)(0.0f), dz + %lldu); ST((VT)(0.0f), dz + %lldu);\n"
                      "                *dpk = dh%lld;\n"
                      "            } else {\n",
                      ids, k, CG_F(QSDC_PAD_ID), h, 2 * h, 3 * h, k);
        /* c_{t-1}: the previous step's, else the carry's copy, else zero */
        char c0[160] = "(VT)(0.0f)";
        if (s.h0 >= 0)
            snprintf(c0, sizeof c0, "LD(%.60s + %lldu + rows[%lld] * %lldu + j)", sv,
                     s.h0 + s.b * h, k, h);
        sb_printf(c->src,
                  "            const VT gi = LD(sv), gf = LD(sv + %lldu), gg = LD(sv + %lldu);\n"
                  "            const VT go = LD(sv + %lldu), tc = tanh(LD(sv + %lldu));\n"
                  "            const VT cp = t > 0 ? LD(sv - %lldu) : %s;\n"
                  "            const VT d = *dck + dh%lld * go * (1.0f - tc * tc);\n"
                  "            ST(d * gg * gi * (1.0f - gi), dz);\n"
                  "            ST(d * cp * gf * (1.0f - gf), dz + %lldu);\n"
                  "            ST(d * gi * (1.0f - gg * gg), dz + %lldu);\n"
                  "            ST(dh%lld * tc * go * (1.0f - go), dz + %lldu);\n"
                  "            *dck = d * gf;\n",
                  h, 2 * h, 3 * h, 4 * h, h, c0, k, h, 2 * h, k, 3 * h);
        sb_append(c->src, ids[0] ? "            }\n            }\n" : "            }\n");
    }
    sb_append(c->src, "        }\n        barrier(CLK_GLOBAL_MEM_FENCE);\n    }\n");
    if (s.slices > 1) {
        sb_append(c->src, "    if (t0 > 0u) {\n");
        carry_gradients(c->src, &s, scr, true);
        sb_append(c->src, "    }\n");
    }
    close_kernel(c->src);
    codegen_launch_1d(l, name, "lstm_grad", s.groups * s.wi, s.wi,
                      4.0 * (double)(s.b * t * 14 * h) + 4.0 * (double)(s.groups * t * 4 * h * h));
    l->flops = 8.0 * (double)(s.b * t * h * h);
    slice_launches(l, &s);
    *n_launches = (int)s.slices;
}

void codegen_lstm(codegen_ctx *c, const gnode *n, const char *name, plan_launch *l,
                  int *n_launches)
{
    if (n->op == OP_LSTM)
        gen_forward(c, n, name, l, n_launches);
    else
        gen_backward(c, n, name, l, n_launches);
}
