/* The elementwise chain of a kernel group: the statements that apply the
 * nodes after the group's head to its value while it is still in a
 * register (bias, activations and their derivatives, QSD masks, the
 * channel-indexed ops), as scalars or, where every node has one, as
 * vectors; and the QSD tile passes of a GEMM's epilogue. Every generator
 * whose kernels end in a chain writes it through these. */
#include <stdio.h>
#include <string.h>

#include "codegen_int.h"

/* "seed, 4u, step, idx, 0.5f, 6, 0.5f, 0.0f": qsd_mask's arguments for n. */
static void qsd_args(const graph *g, const gnode *n, char *buf, size_t len)
{
    char grp[128];
    codegen_qsd_counter(g, n, grp, sizeof grp);
    snprintf(buf, len, "seed, %uu, step, %s, %s, %d, %s, %s", n->rng_id, grp,
             CG_F(n->qsd.p), n->qsd.sites, CG_F(n->qsd.q_cv), CG_F(n->qsd.p_concentration));
}

/* The draw of n's mask: qsd_mask(...), or qsd_mask_unit(...) for hetero: unit. */
static void qsd_call(const graph *g, const gnode *n, char *buf, size_t len)
{
    char args[256];
    if (n->qsd.hetero == HETERO_UNIT) {
        codegen_qsd_counter(g, n, args, sizeof args);
        codegen_qsd_unit_call(g, n, args, buf, len);
        return;
    }
    qsd_args(g, n, args, sizeof args);
    snprintf(buf, len, "qsd_mask(%s)", args);
}

/* The channel-indexed elementwise ops: channel bias, batchnorm's apply and
 * input gradient, a QSD scale shared per channel or time step. */
static void channel_stmt(const graph *g, const gnode *n, strbuf *sb)
{
    map_shape s = codegen_map_shape(&g->t[n->out]);
    char in[GRAPH_MAX_INPUTS][64], ch[64];
    for (int i = 1; i < n->n_in; i++)
        codegen_ref(g, n->in[i], in[i], sizeof in[i]);
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

/* One elementwise node as statements on the running value v at flat index
 * idx (and column col, for the bias). A QSD node with tile_slot >= 0 fixes
 * the draw its GEMM's tile pass tried (gm_tile[tile_slot][gm_e]). */
static void chain_stmt(const graph *g, const fusion *f, const gnode *n, int tile_slot,
                       strbuf *sb)
{
    char b[64] = "";
    if (n->n_in > 1)
        codegen_ref(g, n->in[1], b, sizeof b);
    switch (n->op) {
    case OP_BIAS_ADD: sb_printf(sb, "    v += %s[col];\n", b); break;
    case OP_RELU: sb_append(sb, "    v = fmax(v, 0.0f);\n"); break;
    case OP_TANH: sb_append(sb, "    v = tanh(v);\n"); break;
    case OP_SIGMOID: sb_append(sb, "    v = 1.0f / (1.0f + exp(-v));\n"); break;
    case OP_ADD: sb_printf(sb, "    v += %s[idx];\n", b); break;
    case OP_MUL: sb_printf(sb, "    v *= %s[idx];\n", b); break;
    case OP_RELU_GRAD: sb_printf(sb, "    v = %s[idx] > 0.0f ? v : 0.0f;\n", b); break;
    case OP_TANH_GRAD:
        sb_printf(sb, "    { const float t = %s[idx]; v *= 1.0f - t * t; }\n", b);
        break;
    case OP_SIGMOID_GRAD:
        sb_printf(sb, "    { const float s = %s[idx]; v *= s * (1.0f - s); }\n", b);
        break;
    case OP_QSD: {
        char call[512];
        qsd_call(g, n, call, sizeof call);
        if (tile_slot >= 0)
            sb_printf(sb, "    { const float m = gm_tile[%d][gm_e];\n", tile_slot);
        else
            sb_printf(sb, "    { const float m = %s;\n", call);
        if (n->mask > 0 && f->stored[n->mask]) {
            char mk[64];
            codegen_ref(g, n->mask, mk, sizeof mk);
            sb_printf(sb, "      %s[idx] = m;\n", mk);
        }
        sb_append(sb, "      v *= m; }\n");
        break;
    }
    default: channel_stmt(g, n, sb); break;
    }
}

void codegen_render_chain(const codegen_ctx *c, const kgroup *k, int from, bool tiled,
                          strbuf *sb)
{
    const graph *g = c->g;
    int slot = 0;
    for (int i = from; i < k->n; i++) {
        const gnode *n = &g->n[k->nodes[i]];
        chain_stmt(g, c->f, n, tiled && n->op == OP_QSD ? slot++ : -1, sb);
        if (i < k->n - 1 && c->f->stored[graph_storage(g, n->out)]) {
            char o[64];
            codegen_ref(g, n->out, o, sizeof o);
            sb_printf(sb, "    %s[idx] = v;\n", o);
        }
    }
}

void codegen_store_head(const codegen_ctx *c, const kgroup *k, strbuf *sb)
{
    int head = c->g->n[k->nodes[0]].out;
    if (k->n > 1 && c->f->stored[graph_storage(c->g, head)]) {
        char o[64];
        codegen_ref(c->g, head, o, sizeof o);
        sb_printf(sb, "    %s[idx] = v;\n", o);
    }
}

int codegen_tile_passes(const graph *g, const kgroup *k, const char *idx_decl,
                        strbuf *try, strbuf *fix)
{
    int slots = 0;
    for (int i = 1; i < k->n; i++)
        slots += g->n[k->nodes[i]].op == OP_QSD;
    if (slots == 0 || slots > GEMM_TILE_VALUES)
        return slots ? -1 : 0;
    sb_append(try, idx_decl);
    sb_append(fix, idx_decl);
    for (int i = 1, slot = 0; i < k->n; i++) {
        const gnode *n = &g->n[k->nodes[i]];
        if (n->op != OP_QSD)
            continue;
        char args[512];
        if (n->qsd.hetero == HETERO_UNIT) { /* no split: its unit draws hold loops */
            qsd_call(g, n, args, sizeof args);
            sb_printf(try, "    gm_tile[%d][gm_e] = %s;\n", slot, args);
            slot++;
            continue;
        }
        qsd_args(g, n, args, sizeof args);
        sb_printf(try, "    gm_tile[%d][gm_e] = qsd_mask_try(%s);\n", slot, args);
        sb_printf(fix, "    gm_tile[%d][gm_e] = qsd_mask_fix(gm_tile[%d][gm_e], %s);\n",
                  slot, slot, args);
        slot++;
    }
    return slots;
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
            codegen_ref(g, n->in[1], b, sizeof b);
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
            map_shape s = codegen_map_shape(&g->t[n->out]);
            sb_printf(sb, "        vv += %s[(idx / %lldu) %% %lldu];\n", b, s.px, s.c);
        }
        if (i == k->n - 1 || (k->n > 1 && c->f->stored[graph_storage(g, n->out)])) {
            codegen_ref(g, n->out, o, sizeof o);
            sb_printf(sb, "        vstore%d(vv, 0, %s + idx);\n", cw, o);
        }
    }
    return true;
}

void codegen_chain_store(const codegen_ctx *c, const kgroup *k, strbuf *sb)
{
    char o[64];
    codegen_store_head(c, k, sb);
    codegen_render_chain(c, k, 1, false, sb);
    codegen_ref(c->g, c->g->n[k->nodes[k->n - 1]].out, o, sizeof o);
    sb_printf(sb, "    %s[idx] = v;\n", o);
}
