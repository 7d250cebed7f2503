/* Per-channel reductions (bias gradient, batchnorm statistics; one channel
 * per work-item, or on the lane family one work-group per channel, its
 * work-items on consecutive elements, folding through __local memory); the
 * channel-indexed elementwise ops are chain statements (codegen_chain.c).
 * Shapes and offsets are constants; tests/ref_conv.c is the plain C
 * reference. */
#include <stdio.h>
#include <string.h>

#include "codegen_int.h"

static void ref_of(const graph *g, int t, char *buf)
{
    codegen_ref(g, t, buf, 64);
}

/* Per channel ch of a [n, c, px] map: `sum` += f(e) over the channel's
 * elements, e its element index; f8 the same for the float8 of elements
 * e .. e+7. Each sample's run of px elements is summed in eight lanes
 * first: a single running float would serialise on the add's latency. */
static void channel_loop(strbuf *sb, const map_shape *s, const char *sum, const char *f,
                         const char *f8)
{
    sb_printf(sb,
              "    for (uint n = 0; n < %lldu; n++) {\n"
              "        const uint e0 = (n * %lldu + ch) * %lldu;\n"
              "        uint e = e0;\n"
              "        float part = 0.0f;\n",
              s->n, s->c, s->px);
    if (s->px >= 8)
        sb_printf(sb,
                  "        float8 p8 = (float8)(0.0f), q8 = p8;\n"
                  "        while (e + 16u <= e0 + %lldu) {\n"
                  "            p8 += %s;\n            e += 8u;\n"
                  "            q8 += %s;\n            e += 8u;\n"
                  "        }\n"
                  "        for (; e + 8u <= e0 + %lldu; e += 8u) p8 += %s;\n"
                  "        float p[8];\n"
                  "        vstore8(p8 + q8, 0, p);\n"
                  "        part = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));\n",
                  s->px, f8, f8, s->px, f8);
    sb_printf(sb,
              "        for (; e < e0 + %lldu; e++) part += %s;\n"
              "        %s += part;\n    }\n",
              s->px, f, sum);
}

/* The lane family's channel_loop: work-group ch's work-items take the
 * channel's elements q = lid, lid + items, ... of its n runs of px, then
 * `sum` is folded over the group and given to every work-item (the barrier
 * after it lets the next fold write red again). */
static void lane_channel_loop(strbuf *sb, const map_shape *s, int64_t items, const char *sum,
                              const char *f)
{
    sb_printf(sb,
              "    for (uint q = lid; q < %lldu; q += %lldu) {\n"
              "        const uint e = (q / %lldu * %lldu + ch) * %lldu + q %% %lldu;\n"
              "        %s += %s;\n    }\n",
              s->n * s->px, (long long)items, s->px, s->c, s->px, s->px, sum, f);
    codegen_tree(sb, sum, items, 1, false);
    sb_printf(sb, "    %s = red[0];\n    barrier(CLK_LOCAL_MEM_FENCE);\n", sum);
}

/* The kernel's channel loop, shaped for the target: each call sums f (f8
 * for float8s) into sum. */
typedef struct channel_code {
    strbuf *src;
    map_shape s;
    int64_t items; /* the lane family's work-group, else 0 */
} channel_code;

static void sum_channel(const channel_code *cc, const char *sum, const char *f, const char *f8)
{
    if (cc->items > 0)
        lane_channel_loop(cc->src, &cc->s, cc->items, sum, f);
    else
        channel_loop(cc->src, &cc->s, sum, f, f8);
}

/* After the last fold: the lane family's work-item 0 alone writes the
 * channel's results. */
static void close_sums(const channel_code *cc)
{
    if (cc->items > 0)
        sb_append(cc->src, "    if (lid > 0) return;\n");
}

int codegen_channels(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l)
{
    const graph *g = c->g;
    const gnode *nd = &g->n[k->nodes[0]];
    map_shape s = codegen_map_shape(&g->t[nd->in[0]]);
    char a[64], b[64] = "", st[64] = "", o[64], f[160], f8[256];
    ref_of(g, nd->in[0], a);
    if (nd->n_in > 1)
        ref_of(g, nd->in[1], b);
    if (nd->n_in > 2)
        ref_of(g, nd->in[2], st);
    ref_of(g, nd->out, o);
    channel_code cc = {c->src, s, codegen_lanes(c->target) ? codegen_lane_items(c->target) : 0};
    codegen_signature(c->src, name);
    if (cc.items > 0)
        sb_printf(c->src, "{\n    __local float red[%lld];\n"
                          "    const uint ch = get_group_id(0), lid = get_local_id(0);\n",
                  (long long)cc.items);
    else
        sb_printf(c->src, "{\n    const uint ch = get_global_id(0);\n"
                          "    if (ch >= %lldu) return;\n", s.c);
    double inv_m = 1.0 / (double)(s.n * s.px);
    if (nd->op == OP_SUM_CHANNELS) {
        sb_append(c->src, "    float s = 0.0f;\n");
        snprintf(f, sizeof f, "%s[e]", a);
        snprintf(f8, sizeof f8, "vload8(0, %s + e)", a);
        sum_channel(&cc, "s", f, f8);
        close_sums(&cc);
        sb_printf(c->src, "    %s[ch] %s s;\n", o, nd->accumulate ? "+=" : "=");
    } else if (nd->op == OP_BN_STATS) { /* a = x, b = running (mean, var) */
        double mom = nd->momentum, unbias = (double)(s.n * s.px) / (double)(s.n * s.px - 1);
        sb_append(c->src, "    float sum = 0.0f, sq = 0.0f;\n");
        snprintf(f, sizeof f, "%s[e]", a);
        snprintf(f8, sizeof f8, "vload8(0, %s + e)", a);
        sum_channel(&cc, "sum", f, f8);
        sb_printf(c->src, "    const float mean = sum * %s;\n", CG_F(inv_m));
        snprintf(f, sizeof f, "(%s[e] - mean) * (%s[e] - mean)", a, a);
        snprintf(f8, sizeof f8, "(vload8(0, %s + e) - mean) * (vload8(0, %s + e) - mean)", a, a);
        sum_channel(&cc, "sq", f, f8);
        close_sums(&cc);
        sb_printf(c->src,
                  "    const float var = sq * %s;\n"
                  "    %s[ch] = mean;\n    %s[%lldu + ch] = var;\n"
                  "    %s[ch] = %s * %s[ch] + %s * mean;\n"
                  "    %s[%lldu + ch] = %s * %s[%lldu + ch] + %s * var;\n",
                  CG_F(inv_m), o, o, s.c, b, CG_F(1.0 - mom), b, CG_F(mom), b, s.c,
                  CG_F(1.0 - mom), b, s.c, CG_F(mom * unbias));
    } else { /* OP_BN_GRAD_STATS: a = dy, b = x, st = stats -> (gamma, beta) grads */
        sb_printf(c->src,
                  "    const float mean = %s[ch];\n"
                  "    const float is = rsqrt(%s[%lldu + ch] + %s);\n"
                  "    float sdy = 0.0f, sdyx = 0.0f;\n",
                  st, st, s.c, CG_F(nd->eps));
        snprintf(f, sizeof f, "%s[e]", a);
        snprintf(f8, sizeof f8, "vload8(0, %s + e)", a);
        sum_channel(&cc, "sdy", f, f8);
        snprintf(f, sizeof f, "%s[e] * (%s[e] - mean)", a, b);
        snprintf(f8, sizeof f8, "vload8(0, %s + e) * (vload8(0, %s + e) - mean)", a, b);
        sum_channel(&cc, "sdyx", f, f8);
        close_sums(&cc);
        sb_printf(c->src, "    %s[ch] = sdyx * is;\n    %s[%lldu + ch] = sdy;\n", o, o, s.c);
    }
    sb_append(c->src, "}\n\n");
    if (cc.items > 0) {
        codegen_launch_groups(l, s.c * cc.items, cc.items);
    } else {
        l->work_dim = 1;
        l->global[0] = (uint64_t)s.c;
    }
    l->bytes = 4.0 * (double)(s.n * s.c * s.px) * (nd->op == OP_SUM_CHANNELS ? 1 : 2);
    return 0;
}

