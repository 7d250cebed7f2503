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

/* Window kernels run one work-item per output row: a row prologue decodes
 * the row once, then an element loop over e computes v for idx = row * len
 * + e (the elementwise chain follows). Each body appends both parts. */
typedef struct row_code {
    strbuf *pro, *elem;
} row_code;

/* col[n, (c, i, j), (oy, ox)] = x[n, c, oy sh - ph + i dh, ox sw - pw + j dw]
 * or 0 in the padding; rows (n, c i j, oy), e = ox. */
static void body_im2col(row_code *rc, const win_geom *w, const char *x)
{
    long long taps = (long long)w->k.kh * w->k.kw, kk = w->c * taps;
    sb_printf(rc->pro,
              "    const uint n = row / %lldu, r = row %% %lldu;\n"
              "    const uint k = r / %lldu, oy = r %% %lldu;\n"
              "    const uint c = k / %lldu, t = k %% %lldu;\n"
              "    const int iy = (int)oy * %d - %d + (int)(t / %du) * %d;\n"
              "    const int xoff = (int)(t %% %du) * %d - %d;\n"
              "    const bool in_row = iy >= 0 && iy < %lld;\n"
              "    __global const float *xr = %s + ((n * %lldu + c) * %lldu + (in_row ? (uint)iy : 0u)) * %lldu;\n",
              kk * w->ho, kk * w->ho, w->ho, w->ho, taps, taps, w->k.sh, w->k.ph, w->k.kw,
              w->k.dh, w->k.kw, w->k.dw, w->k.pw, w->h, x, w->c, w->h, w->w);
    sb_printf(rc->elem,
              "        const int ix = (int)e * %d + xoff;\n"
              "        v = in_row && ix >= 0 && ix < %lld ? xr[ix] : 0.0f;\n",
              w->k.sw, w->w);
}

/* dx[n, c, y, x]: the sum of the col entries im2col copied x to; rows
 * (n, c, y), e = x. */
static void body_col2im(row_code *rc, const win_geom *w, const char *dcol)
{
    long long taps = (long long)w->k.kh * w->k.kw, p = w->ho * w->wo;
    sb_printf(rc->pro,
              "    const uint n = row / %lldu, c = (row / %lldu) %% %lldu;\n"
              "    const int y = (int)(row %% %lldu);\n"
              "    __global const float *d = %s + (n * %lldu + c) * %lldu;\n",
              w->c * w->h, w->h, w->c, w->h, dcol, w->c, taps * p);
    sb_printf(rc->elem,
              "        v = 0.0f;\n"
              "        for (int i = 0; i < %d; i++) {\n"
              "            const int ty = y + %d - i * %d;\n"
              "            if (ty < 0 || ty %% %d != 0 || ty / %d >= %lld) continue;\n"
              "            for (int j = 0; j < %d; j++) {\n"
              "                const int tx = (int)e + %d - j * %d;\n"
              "                if (tx < 0 || tx %% %d != 0 || tx / %d >= %lld) continue;\n"
              "                v += d[(uint)(i * %d + j) * %lldu + (uint)(ty / %d * %lld + tx / %d)];\n"
              "            }\n        }\n",
              w->k.kh, w->k.ph, w->k.dh, w->k.sh, w->k.sh, w->ho, w->k.kw, w->k.pw, w->k.dw,
              w->k.sw, w->k.sw, w->wo, w->k.kw, p, w->k.sh, w->wo, w->k.sw);
}

/* The max or mean of window (oy, ox); the max's index in its H x W plane to
 * argmax when given. Rows (plane, oy), e = ox. */
static void body_pool(row_code *rc, const win_geom *w, bool max, const char *x,
                      const char *argmax)
{
    /* without padding every window lies inside the map */
    char checks[2][64] = {"false", "false"};
    if (w->k.ph)
        snprintf(checks[0], sizeof checks[0], "iy < 0 || iy >= %lld", w->h);
    if (w->k.pw)
        snprintf(checks[1], sizeof checks[1], "ix < 0 || ix >= %lld", w->w);
    sb_printf(rc->pro,
              "    const uint plane = row / %lldu;\n"
              "    const int y0 = (int)(row %% %lldu) * %d - %d;\n"
              "    __global const float *xp = %s + plane * %lldu;\n",
              w->ho, w->ho, w->k.sh, w->k.ph, x, w->h * w->w);
    sb_printf(rc->elem,
              "        const int x0 = (int)e * %d - %d;\n"
              "        float acc = %s;\n        int arg = -1;\n"
              "        for (int i = 0; i < %d; i++) {\n"
              "            const int iy = y0 + i;\n"
              "            if (%s) continue;\n"
              "            for (int j = 0; j < %d; j++) {\n"
              "                const int ix = x0 + j;\n"
              "                if (%s) continue;\n"
              "                const float q = xp[iy * %lld + ix];\n",
              w->k.sw, w->k.pw, max ? "-INFINITY" : "0.0f", w->k.kh, checks[0], w->k.kw,
              checks[1], w->w);
    if (max)
        sb_printf(rc->elem,
                  "                if (arg < 0 || q > acc) { acc = q; arg = iy * %lld + ix; }\n",
                  w->w);
    else
        sb_append(rc->elem, "                acc += q;\n");
    sb_append(rc->elem, "            }\n        }\n        (void)arg;\n");
    if (max)
        sb_append(rc->elem, "        v = acc;\n");
    else
        sb_printf(rc->elem, "        v = acc * %s;\n", CG_F(1.0 / ((double)w->k.kh * w->k.kw)));
    if (argmax)
        sb_printf(rc->elem, "        %s[idx] = (float)arg;\n", argmax);
}

/* Windows that do not overlap: each element lies in at most one. */
static void body_pool_grad_tiled(row_code *rc, const win_geom *w, const char *dy,
                                 const char *argmax)
{
    sb_printf(rc->pro,
              "    const uint plane = row / %lldu;\n"
              "    const int iy = (int)(row %% %lldu), oy = (iy + %d) / %d;\n"
              "    const bool in_row = iy + %d - oy * %d < %d && oy < %lld;\n"
              "    __global const float *dyp = %s + plane * %lldu + (in_row ? oy : 0) * %lld;\n",
              w->h, w->h, w->k.ph, w->k.sh, w->k.ph, w->k.sh, w->k.kh, w->ho, dy,
              w->ho * w->wo, w->wo);
    if (argmax)
        sb_printf(rc->pro,
                  "    __global const float *amp = %s + plane * %lldu + (in_row ? oy : 0) * %lld;\n",
                  argmax, w->ho * w->wo, w->wo);
    sb_printf(rc->elem,
              "        const int ox = ((int)e + %d) / %d;\n"
              "        const bool in = in_row && (int)e + %d - ox * %d < %d && ox < %lld;\n",
              w->k.pw, w->k.sw, w->k.pw, w->k.sw, w->k.kw, w->wo);
    if (argmax)
        sb_printf(rc->elem,
                  "        v = in && amp[ox] == (float)(iy * %lld + (int)e) ? dyp[ox] : 0.0f;\n",
                  w->w);
    else
        sb_printf(rc->elem, "        v = in ? dyp[ox] * %s : 0.0f;\n",
                  CG_F(1.0 / ((double)w->k.kh * w->k.kw)));
}

/* dx[plane, iy, ix]: dy over the windows holding it, only where it was the
 * window's max (argmax given) or divided by the window size. Rows
 * (plane, iy), e = ix. */
static void body_pool_grad(row_code *rc, const win_geom *w, const char *dy, const char *argmax)
{
    if (w->k.sh >= w->k.kh && w->k.sw >= w->k.kw) {
        body_pool_grad_tiled(rc, w, dy, argmax);
        return;
    }
    sb_printf(rc->pro,
              "    const uint plane = row / %lldu;\n"
              "    const int iy = (int)(row %% %lldu), ly = iy + %d - %d + 1;\n"
              "    const int oy0 = ly <= 0 ? 0 : (ly + %d - 1) / %d;\n"
              "    const int oy1 = min((iy + %d) / %d, %lld);\n"
              "    __global const float *dyp = %s + plane * %lldu;\n",
              w->h, w->h, w->k.ph, w->k.kh, w->k.sh, w->k.sh, w->k.ph, w->k.sh, w->ho - 1,
              dy, w->ho * w->wo);
    if (argmax)
        sb_printf(rc->pro, "    __global const float *amp = %s + plane * %lldu;\n", argmax,
                  w->ho * w->wo);
    sb_printf(rc->elem,
              "        const int ix = (int)e, lx = ix + %d - %d + 1;\n"
              "        const int ox0 = lx <= 0 ? 0 : (lx + %d - 1) / %d;\n"
              "        const int ox1 = min((ix + %d) / %d, %lld);\n"
              "        v = 0.0f;\n"
              "        for (int oy = oy0; oy <= oy1; oy++)\n"
              "            for (int ox = ox0; ox <= ox1; ox++) {\n"
              "                const int o = oy * %lld + ox;\n",
              w->k.pw, w->k.kw, w->k.sw, w->k.sw, w->k.pw, w->k.sw, w->wo - 1, w->wo);
    if (argmax)
        sb_printf(rc->elem,
                  "                if (amp[o] == (float)(iy * %lld + ix)) v += dyp[o];\n"
                  "            }\n", w->w);
    else
        sb_printf(rc->elem, "                v += dyp[o];\n            }\n        v *= %s;\n",
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
    /* elements per row: im2col's [N, K, Ho Wo] goes by output rows of Wo */
    long long len = head->op == OP_IM2COL ? w.wo : (long long)out->dims[out->rank - 1];
    long long rows = (long long)out->nelem / len;
    char x[64] = "", b[64] = "", o[64];
    if (head->n_in > 0)
        ref_of(g, head->in[0], x);
    if (head->n_in > 1)
        ref_of(g, head->in[1], b);
    strbuf pro, elem;
    sb_init(&pro);
    sb_init(&elem);
    row_code rc = {&pro, &elem};
    switch (head->op) {
    case OP_IM2COL: body_im2col(&rc, &w, x); break;
    case OP_COL2IM: body_col2im(&rc, &w, x); break;
    case OP_MAXPOOL:
    case OP_AVGPOOL: {
        bool store = head->mask > 0 && c->f->stored[head->mask];
        char am[64] = "";
        if (store)
            ref_of(g, head->mask, am);
        body_pool(&rc, &w, head->op == OP_MAXPOOL, x, store ? am : NULL);
        break;
    }
    case OP_MAXPOOL_GRAD: body_pool_grad(&rc, &w, x, b); break;
    case OP_QSD_DRAW: /* group idx's mask */
        sb_printf(&elem, "        v = qsd_mask(seed, %uu, step, idx, %s, %d, %s, %s);\n",
                  head->rng_id, CG_F(head->qsd.p), head->qsd.sites, CG_F(head->qsd.q_cv),
                  CG_F(head->qsd.p_concentration));
        break;
    default: body_pool_grad(&rc, &w, x, NULL); break; /* OP_AVGPOOL_GRAD */
    }
    codegen_signature(c->src, name);
    sb_printf(c->src, "{\n    const uint row = get_global_id(0);\n"
                      "    if (row >= %lldu) return;\n%s"
                      "    for (uint e = 0; e < %lldu; e++) {\n"
                      "        const uint idx = row * %lldu + e;\n        float v;\n%s",
              rows, sb_str(&pro), len, len, sb_str(&elem));
    c->src->oom |= pro.oom | elem.oom; /* reported by the caller's check */
    sb_free(&pro);
    sb_free(&elem);
    int s = graph_storage(g, head->out);
    if (k->n > 1 && c->f->stored[s]) {
        ref_of(g, head->out, o);
        sb_printf(c->src, "    %s[idx] = v;\n", o);
    }
    codegen_render_chain(c, k, 1, c->src);
    ref_of(g, g->n[k->nodes[k->n - 1]].out, o);
    sb_printf(c->src, "    %s[idx] = v;\n    }\n}\n\n", o);
    l->work_dim = 1;
    l->global[0] = (uint64_t)rows;
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
