/* Per-channel reductions (bias gradient, batchnorm statistics; one channel
 * per work-item) and the chain statements of the channel-indexed
 * elementwise ops. Shapes and offsets are constants; tests/ref_conv.c is
 * the plain C reference. */
#include <stdio.h>
#include <string.h>

#include "codegen.h"

/* A map as [n, c, pixels]: channel dims[1], pixels the rest (1 for [N, C]). */
typedef struct map_shape {
    long long n, c, px;
} map_shape;

static map_shape shape_of(const tensor *t)
{
    long long n = (long long)t->dims[0], c = (long long)t->dims[1];
    return (map_shape){n, c, (long long)t->nelem / (n * c)};
}

static void ref_of(const graph *g, int t, char *buf)
{
    codegen_ref(g, t, buf, 64);
}

void codegen_conv_stmt(const graph *g, const gnode *n, strbuf *sb)
{
    map_shape s = shape_of(&g->t[n->out]);
    char in[GRAPH_MAX_INPUTS][64], ch[64];
    for (int i = 1; i < n->n_in; i++)
        ref_of(g, n->in[i], in[i]);
    if (s.px == 1)
        snprintf(ch, sizeof ch, "idx %% %lldu", s.c);
    else
        snprintf(ch, sizeof ch, "(idx / %lldu) %% %lldu", s.px, s.c);
    switch (n->op) {
    case OP_CHANNEL_BIAS:
        sb_printf(sb, "    v += %s[%s];\n", in[1], ch);
        break;
    case OP_BN_APPLY: /* in: x, stats (mean, var), affine (gamma, beta) */
        sb_printf(sb,
                  "    { const uint ch = %s;\n"
                  "      v = (v - %s[ch]) * rsqrt(%s[%lldu + ch] + %s) * %s[ch] + %s[%lldu + ch]; }\n",
                  ch, in[1], in[1], s.c, CG_F(n->eps), in[2], in[2], s.c);
        break;
    case OP_GROUP_SCALE: {
        char grp[96];
        codegen_qsd_group(g, n, grp, sizeof grp);
        sb_printf(sb, "    v *= %s[%s];\n", in[1], grp);
        break;
    }
    case OP_BN_GRAD_INPUT: /* v = dy; in: x, stats, affine, d.affine */
        sb_printf(sb,
                  "    { const uint ch = %s;\n"
                  "      const float is = rsqrt(%s[%lldu + ch] + %s);\n"
                  "      const float xh = (%s[idx] - %s[ch]) * is;\n"
                  "      v = %s[ch] * is * (v - (%s[%lldu + ch] + xh * %s[ch]) * %s); }\n",
                  ch, in[2], s.c, CG_F(n->eps), in[1], in[2], in[3], in[4], s.c, in[4],
                  CG_F(1.0 / (double)(s.n * s.px)));
        break;
    default:
        break;
    }
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

int codegen_channels(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l)
{
    const graph *g = c->g;
    const gnode *nd = &g->n[k->nodes[0]];
    map_shape s = shape_of(&g->t[nd->in[0]]);
    char a[64], b[64] = "", st[64] = "", o[64], f[160], f8[256];
    ref_of(g, nd->in[0], a);
    if (nd->n_in > 1)
        ref_of(g, nd->in[1], b);
    if (nd->n_in > 2)
        ref_of(g, nd->in[2], st);
    ref_of(g, nd->out, o);
    codegen_signature(c->src, name);
    sb_printf(c->src, "{\n    const uint ch = get_global_id(0);\n"
                      "    if (ch >= %lldu) return;\n", s.c);
    double inv_m = 1.0 / (double)(s.n * s.px);
    if (nd->op == OP_SUM_CHANNELS) {
        sb_append(c->src, "    float s = 0.0f;\n");
        snprintf(f, sizeof f, "%s[e]", a);
        snprintf(f8, sizeof f8, "vload8(0, %s + e)", a);
        channel_loop(c->src, &s, "s", f, f8);
        sb_printf(c->src, "    %s[ch] %s s;\n", o, nd->accumulate ? "+=" : "=");
    } else if (nd->op == OP_BN_STATS) { /* a = x, b = running (mean, var) */
        double mom = nd->momentum, unbias = (double)(s.n * s.px) / (double)(s.n * s.px - 1);
        sb_append(c->src, "    float sum = 0.0f, sq = 0.0f;\n");
        snprintf(f, sizeof f, "%s[e]", a);
        snprintf(f8, sizeof f8, "vload8(0, %s + e)", a);
        channel_loop(c->src, &s, "sum", f, f8);
        sb_printf(c->src, "    const float mean = sum * %s;\n", CG_F(inv_m));
        snprintf(f, sizeof f, "(%s[e] - mean) * (%s[e] - mean)", a, a);
        snprintf(f8, sizeof f8, "(vload8(0, %s + e) - mean) * (vload8(0, %s + e) - mean)", a, a);
        channel_loop(c->src, &s, "sq", f, f8);
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
        channel_loop(c->src, &s, "sdy", f, f8);
        snprintf(f, sizeof f, "%s[e] * (%s[e] - mean)", a, b);
        snprintf(f8, sizeof f8, "vload8(0, %s + e) * (vload8(0, %s + e) - mean)", a, b);
        channel_loop(c->src, &s, "sdyx", f, f8);
        sb_printf(c->src, "    %s[ch] = sdyx * is;\n    %s[%lldu + ch] = sdy;\n", o, o, s.c);
    }
    sb_append(c->src, "}\n\n");
    l->work_dim = 1;
    l->global[0] = (uint64_t)s.c;
    l->bytes = 4.0 * (double)(s.n * s.c * s.px) * (nd->op == OP_SUM_CHANNELS ? 1 : 2);
    return 0;
}

bool codegen_vector_chain(const codegen_ctx *c, const kgroup *k, int cw, strbuf *sb)
{
    const graph *g = c->g;
    for (int i = 1; i < k->n; i++) {
        const gnode *n = &g->n[k->nodes[i]];
        if (!(n->op == OP_RELU || n->op == OP_RELU_GRAD || n->op == OP_CHANNEL_BIAS ||
              (n->op == OP_GROUP_SCALE && n->qsd.share == SHARE_CHANNEL)))
            return false;
    }
    for (int i = 0; i < k->n; i++) {
        const gnode *n = &g->n[k->nodes[i]];
        char b[64] = "", o[64];
        if (i > 0 && n->n_in > 1)
            ref_of(g, n->in[1], b);
        if (n->op == OP_RELU) {
            sb_printf(sb, "        vv = fmax(vv, (float%d)(0.0f));\n", cw);
        } else if (n->op == OP_RELU_GRAD) {
            sb_printf(sb, "        vv = select((float%d)(0.0f), vv, isgreater(vload%d(0, %s + idx), "
                          "(float%d)(0.0f)));\n", cw, cw, b, cw);
        } else if (n->op == OP_GROUP_SCALE) {
            char grp[96];
            codegen_qsd_group(g, n, grp, sizeof grp);
            sb_printf(sb, "        vv *= %s[%s];\n", b, grp);
        } else if (n->op == OP_CHANNEL_BIAS) {
            map_shape s = shape_of(&g->t[n->out]);
            sb_printf(sb, "        vv += %s[(idx / %lldu) %% %lldu];\n", b, s.px, s.c);
        }
        if (i == k->n - 1 || (k->n > 1 && c->f->stored[graph_storage(g, n->out)])) {
            ref_of(g, n->out, o);
            sb_printf(sb, "        vstore%d(vv, 0, %s + idx);\n", cw, o);
        }
    }
    return true;
}
