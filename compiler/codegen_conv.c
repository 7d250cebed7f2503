/* Kernels of conv2d's im2col/col2im, pooling and its gradients (one output
 * element per work-item, any elementwise chain fused after), per-channel
 * reductions (bias gradient, batchnorm statistics; one channel per
 * work-item), and the chain statements of the channel-indexed elementwise
 * ops. Shapes, windows and offsets are constants; tests/ref_conv.c is the
 * plain C reference. */
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

/* Output size of a window dimension. */
static long long out_size(long long in, int k, int s, int p, int d)
{
    return (in + 2 * p - (long long)d * (k - 1) - 1) / s + 1;
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

/* Window geometry of a node: the [N, C, H, W] side `big` (the forward's
 * input) and the output spatial size. */
typedef struct win_geom {
    long long c, h, w, ho, wo;
    window2d k;
} win_geom;

static win_geom geom_of(const gnode *n, const tensor *big)
{
    win_geom r = {.c = (long long)big->dims[1], .h = (long long)big->dims[2],
                  .w = (long long)big->dims[3], .k = n->win};
    r.ho = out_size(r.h, n->win.kh, n->win.sh, n->win.ph, n->win.dh);
    r.wo = out_size(r.w, n->win.kw, n->win.sw, n->win.pw, n->win.dw);
    return r;
}

/* v = col[n, (c, i, j), (oy, ox)] = x[n, c, oy sh - ph + i dh, ox sw - pw + j dw]
 * or 0 in the padding. */
static void body_im2col(strbuf *sb, const win_geom *w, const char *x)
{
    long long taps = (long long)w->k.kh * w->k.kw, kk = w->c * taps, p = w->ho * w->wo;
    sb_printf(sb,
              "    const uint n = idx / %lldu, r = idx %% %lldu;\n"
              "    const uint k = r / %lldu, q = r %% %lldu;\n"
              "    const uint c = k / %lldu, t = k %% %lldu;\n"
              "    const int iy = (int)(q / %lldu) * %d - %d + (int)(t / %du) * %d;\n"
              "    const int ix = (int)(q %% %lldu) * %d - %d + (int)(t %% %du) * %d;\n"
              "    v = (iy >= 0 && iy < %lld && ix >= 0 && ix < %lld)\n"
              "        ? %s[((n * %lldu + c) * %lldu + (uint)iy) * %lldu + (uint)ix] : 0.0f;\n",
              kk * p, kk * p, p, p, taps, taps, w->wo, w->k.sh, w->k.ph, w->k.kw, w->k.dh,
              w->wo, w->k.sw, w->k.pw, w->k.kw, w->k.dw, w->h, w->w, x, w->c, w->h, w->w);
}

/* v = dx[n, c, y, x]: the sum of the col entries im2col copied x to. */
static void body_col2im(strbuf *sb, const win_geom *w, const char *dcol)
{
    long long taps = (long long)w->k.kh * w->k.kw, p = w->ho * w->wo;
    sb_printf(sb,
              "    const uint n = idx / %lldu, c = (idx / %lldu) %% %lldu;\n"
              "    const int y = (int)((idx / %lldu) %% %lldu), x = (int)(idx %% %lldu);\n"
              "    __global const float *d = %s + (n * %lldu + c * %lldu) * %lldu;\n"
              "    v = 0.0f;\n"
              "    for (int i = 0; i < %d; i++) {\n"
              "        const int ty = y + %d - i * %d;\n"
              "        if (ty < 0 || ty %% %d != 0 || ty / %d >= %lld) continue;\n"
              "        for (int j = 0; j < %d; j++) {\n"
              "            const int tx = x + %d - j * %d;\n"
              "            if (tx < 0 || tx %% %d != 0 || tx / %d >= %lld) continue;\n"
              "            v += d[(uint)(i * %d + j) * %lldu + (uint)(ty / %d * %lld + tx / %d)];\n"
              "        }\n    }\n",
              w->c * w->h * w->w, w->h * w->w, w->c, w->w, w->h, w->w, dcol, w->c * taps,
              taps, p, w->k.kh, w->k.ph, w->k.dh, w->k.sh, w->k.sh, w->ho, w->k.kw, w->k.pw,
              w->k.dw, w->k.sw, w->k.sw, w->wo, w->k.kw, p, w->k.sh, w->wo, w->k.sw);
}

/* v = max or mean of the window of output idx; the max's index in its
 * H x W plane to argmax when given. */
static void body_pool(strbuf *sb, const win_geom *w, bool max, const char *x,
                      const char *argmax)
{
    sb_printf(sb,
              "    const uint plane = idx / %lldu, q = idx %% %lldu;\n"
              "    const int y0 = (int)(q / %lldu) * %d - %d, x0 = (int)(q %% %lldu) * %d - %d;\n"
              "    __global const float *xp = %s + plane * %lldu;\n"
              "    float acc = %s;\n    int arg = -1;\n"
              "    for (int i = 0; i < %d; i++) {\n"
              "        const int iy = y0 + i;\n"
              "        if (iy < 0 || iy >= %lld) continue;\n"
              "        for (int j = 0; j < %d; j++) {\n"
              "            const int ix = x0 + j;\n"
              "            if (ix < 0 || ix >= %lld) continue;\n"
              "            const float e = xp[iy * %lld + ix];\n",
              w->ho * w->wo, w->ho * w->wo, w->wo, w->k.sh, w->k.ph, w->wo, w->k.sw, w->k.pw,
              x, w->h * w->w, max ? "-INFINITY" : "0.0f", w->k.kh, w->h, w->k.kw, w->w, w->w);
    if (max)
        sb_printf(sb, "            if (arg < 0 || e > acc) { acc = e; arg = iy * %lld + ix; }\n",
                  w->w);
    else
        sb_append(sb, "            acc += e;\n");
    sb_append(sb, "        }\n    }\n    (void)arg;\n");
    if (max)
        sb_append(sb, "    v = acc;\n");
    else
        sb_printf(sb, "    v = acc * %s;\n", CG_F(1.0 / ((double)w->k.kh * w->k.kw)));
    if (argmax)
        sb_printf(sb, "    %s[idx] = (float)arg;\n", argmax);
}

/* v = dx[plane, iy, ix]: dy over the windows holding it, only where it was
 * the window's max (argmax given) or divided by the window size. */
static void body_pool_grad(strbuf *sb, const win_geom *w, const char *dy, const char *argmax)
{
    sb_printf(sb,
              "    const uint plane = idx / %lldu, q = idx %% %lldu;\n"
              "    const int iy = (int)(q / %lldu), ix = (int)(q %% %lldu);\n"
              "    const int ly = iy + %d - %d + 1, lx = ix + %d - %d + 1;\n"
              "    const int oy0 = ly <= 0 ? 0 : (ly + %d - 1) / %d;\n"
              "    const int ox0 = lx <= 0 ? 0 : (lx + %d - 1) / %d;\n"
              "    const int oy1 = min((iy + %d) / %d, %lld), ox1 = min((ix + %d) / %d, %lld);\n"
              "    const uint base = plane * %lldu;\n"
              "    v = 0.0f;\n"
              "    for (int oy = oy0; oy <= oy1; oy++)\n"
              "        for (int ox = ox0; ox <= ox1; ox++) {\n"
              "            const uint o = base + (uint)(oy * %lld + ox);\n",
              w->h * w->w, w->h * w->w, w->w, w->w, w->k.ph, w->k.kh, w->k.pw, w->k.kw,
              w->k.sh, w->k.sh, w->k.sw, w->k.sw, w->k.ph, w->k.sh, w->ho - 1, w->k.pw,
              w->k.sw, w->wo - 1, w->ho * w->wo, w->wo);
    if (argmax)
        sb_printf(sb, "            if (%s[o] == (float)q) v += %s[o];\n        }\n", argmax, dy);
    else
        sb_printf(sb, "            v += %s[o];\n        }\n    v *= %s;\n", dy,
                  CG_F(1.0 / ((double)w->k.kh * w->k.kw)));
}

int codegen_window(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l)
{
    const graph *g = c->g;
    const gnode *head = &g->n[k->nodes[0]];
    const tensor *out = &g->t[head->out];
    bool forward = head->op == OP_IM2COL || head->op == OP_MAXPOOL || head->op == OP_AVGPOOL;
    win_geom w = head->op == OP_QSD_DRAW ? (win_geom){0}
                                         : geom_of(head, forward ? &g->t[head->in[0]] : out);
    char x[64] = "", b[64] = "", o[64];
    if (head->n_in > 0)
        ref_of(g, head->in[0], x);
    if (head->n_in > 1)
        ref_of(g, head->in[1], b);
    codegen_signature(c->src, name);
    sb_printf(c->src, "{\n    const uint idx = get_global_id(0);\n"
                      "    if (idx >= %lldu) return;\n    float v;\n",
              (long long)out->nelem);
    switch (head->op) {
    case OP_IM2COL: body_im2col(c->src, &w, x); break;
    case OP_COL2IM: body_col2im(c->src, &w, x); break;
    case OP_MAXPOOL:
    case OP_AVGPOOL: {
        bool store = head->mask > 0 && c->f->stored[head->mask];
        char am[64] = "";
        if (store)
            ref_of(g, head->mask, am);
        body_pool(c->src, &w, head->op == OP_MAXPOOL, x, store ? am : NULL);
        break;
    }
    case OP_MAXPOOL_GRAD: body_pool_grad(c->src, &w, x, b); break;
    case OP_QSD_DRAW: /* group idx's mask */
        sb_printf(c->src, "    v = qsd_mask(seed, %uu, step, idx, %s, %d, %s, %s);\n",
                  head->rng_id, CG_F(head->qsd.p), head->qsd.sites, CG_F(head->qsd.q_cv),
                  CG_F(head->qsd.p_concentration));
        break;
    default: body_pool_grad(c->src, &w, x, NULL); break; /* OP_AVGPOOL_GRAD */
    }
    int s = graph_storage(g, head->out);
    if (k->n > 1 && c->f->stored[s]) {
        ref_of(g, head->out, o);
        sb_printf(c->src, "    %s[idx] = v;\n", o);
    }
    codegen_render_chain(c, k, 1, c->src);
    ref_of(g, g->n[k->nodes[k->n - 1]].out, o);
    sb_printf(c->src, "    %s[idx] = v;\n}\n\n", o);
    l->work_dim = 1;
    l->global[0] = (uint64_t)out->nelem;
    l->bytes = 4.0 * (double)((head->n_in ? g->t[head->in[0]].nelem : 0) + out->nelem * k->n);
    return 0;
}

/* Per channel ch of a [n, c, px] map: `sum` += f(e) over the channel's
 * elements, e its element index. */
static void channel_loop(strbuf *sb, const map_shape *s, const char *sum, const char *f)
{
    sb_printf(sb,
              "    for (uint n = 0; n < %lldu; n++) {\n"
              "        const uint e0 = (n * %lldu + ch) * %lldu;\n"
              "        float part = 0.0f;\n"
              "        for (uint e = e0; e < e0 + %lldu; e++) part += %s;\n"
              "        %s += part;\n    }\n",
              s->n, s->c, s->px, s->px, f, sum);
}

int codegen_channels(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l)
{
    const graph *g = c->g;
    const gnode *nd = &g->n[k->nodes[0]];
    map_shape s = shape_of(&g->t[nd->in[0]]);
    char a[64], b[64] = "", st[64] = "", o[64], f[160];
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
        channel_loop(c->src, &s, "s", f);
        sb_printf(c->src, "    %s[ch] %s s;\n", o, nd->accumulate ? "+=" : "=");
    } else if (nd->op == OP_BN_STATS) { /* a = x, b = running (mean, var) */
        double mom = nd->momentum, unbias = (double)(s.n * s.px) / (double)(s.n * s.px - 1);
        sb_append(c->src, "    float sum = 0.0f, sq = 0.0f;\n");
        snprintf(f, sizeof f, "%s[e]", a);
        channel_loop(c->src, &s, "sum", f);
        sb_printf(c->src, "    const float mean = sum * %s;\n", CG_F(inv_m));
        snprintf(f, sizeof f, "(%s[e] - mean) * (%s[e] - mean)", a, a);
        channel_loop(c->src, &s, "sq", f);
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
        channel_loop(c->src, &s, "sdy", f);
        snprintf(f, sizeof f, "%s[e] * (%s[e] - mean)", a, b);
        channel_loop(c->src, &s, "sdyx", f);
        sb_printf(c->src, "    %s[ch] = sdyx * is;\n    %s[%lldu + ch] = sdy;\n", o, o, s.c);
    }
    sb_append(c->src, "}\n\n");
    l->work_dim = 1;
    l->global[0] = (uint64_t)s.c;
    l->bytes = 4.0 * (double)(s.n * s.c * s.px) * (nd->op == OP_SUM_CHANNELS ? 1 : 2);
    return 0;
}
