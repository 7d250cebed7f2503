/* Window kernels: im2col, col2im, pooling and its gradients, and shared
 * QSD mask draws. One work-item per output row (im2col: per kh x kw rows of
 * one input row), its coordinates the work-item's 3-D id (no integer
 * division: oclgrind cannot follow the div/rem pairs LLVM rewrites with
 * freeze), then the row's elements, each through the group's elementwise
 * chain; or, where the target says lanes (window_lanes: on the lane
 * family, unless measured slower), one work-item per element of those
 * rows, consecutive work-items on consecutive elements (one output per
 * work-item for pools). Where the window allows it (unit stride along rows
 * for im2col/col2im, 2x2 pools with stride 2), chunks of 8 elements are
 * computed as float8 vectors first, with contiguous vector loads: pocl
 * does not vectorise the strided scalar code. tests/ref_conv.c is the
 * plain C reference. */
#include <stdio.h>
#include <string.h>

#include "codegen_int.h"
#include "window_shapes.h"

#define CHUNK 8

/* Output size of a window dimension. */
static long long out_size(long long in, int k, int s, int p, int d)
{
    return (in + 2 * p - (long long)d * (k - 1) - 1) / s + 1;
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

/* The code of one row kernel over the rows dims (r0, then r1 and r2 as
 * `plane` = r2 dims[1] + r1): prologue (defines `row`; may open loops over
 * several rows, which close closes), scalar element body (v at element e),
 * and optionally a chunk body (vv, chunk_w floats: 8, or 4 for short rows,
 * at elements e .. e + chunk_w - 1) valid while e + chunk_w <= chunk_end. */
typedef struct row_code {
    strbuf *pro, *elem, *chunk;
    long long chunk_end;
    int chunk_w;
    long long dims[3];
    const char *close;
} row_code;

static bool is_2x2_pool(const window2d *k)
{
    return k->kh == 2 && k->kw == 2 && k->sh == 2 && k->sw == 2 && k->ph == 0 && k->pw == 0;
}

/* col[n, (c, i, j), (oy, ox)] = x[n, c, oy sh - ph + i dh, ox sw - pw + j dw]
 * or 0 in the padding; ids (oy, c, n), one row per tap (i, j), e = ox. */
static void body_im2col(row_code *rc, const win_geom *w, const char *x, long long n)
{
    long long taps = (long long)w->k.kh * w->k.kw;
    sb_printf(rc->pro,
              "    for (int i = 0; i < %d; i++)\n"
              "    for (int j = 0; j < %d; j++) {\n"
              "    const uint row = (plane * %lldu + (uint)(i * %d + j)) * %lldu + r0;\n"
              "    const int iy = (int)r0 * %d - %d + i * %d;\n"
              "    const int xoff = j * %d - %d;\n"
              "    const bool in_row = iy >= 0 && iy < %lld;\n"
              "    __global const float *xr = %s + (plane * %lldu + (in_row ? (uint)iy : 0u)) * %lldu;\n",
              w->k.kh, w->k.kw, taps, w->k.kw, w->ho, w->k.sh, w->k.ph, w->k.dh, w->k.dw,
              w->k.pw, w->h, x, w->h, w->w);
    rc->close = "    }\n";
    rc->dims[0] = w->ho;
    rc->dims[1] = w->c;
    rc->dims[2] = n;
    sb_printf(rc->elem,
              "        const int ix = (int)e * %d + xoff;\n"
              "        v = in_row && ix >= 0 && ix < %lld ? xr[ix] : 0.0f;\n",
              w->k.sw, w->w);
}

/* Ids (y, c, n) of a map [n, C, H, W] as `row` and rows dims. */
static void map_rows(row_code *rc, long long n, long long c, long long h)
{
    sb_printf(rc->pro, "    const uint row = plane * %lldu + r0;\n", h);
    rc->dims[0] = h;
    rc->dims[1] = c;
    rc->dims[2] = n;
}

/* dx[n, c, y, x]: the sum of the col entries im2col copied x to; ids
 * (y, c, n), e = x. */
static void body_col2im(row_code *rc, const win_geom *w, const char *dcol, long long n)
{
    long long taps = (long long)w->k.kh * w->k.kw, p = w->ho * w->wo;
    map_rows(rc, n, w->c, w->h);
    sb_printf(rc->pro,
              "    const int y = (int)r0;\n"
              "    __global const float *d = %s + plane * %lldu;\n",
              dcol, taps * p);
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
 * argmax when given. Ids (oy, c, n), e = ox. */
static void body_pool(row_code *rc, const win_geom *w, bool max, const char *x,
                      const char *argmax, long long n)
{
    /* without padding every window lies inside the map */
    char checks[2][64] = {"false", "false"};
    if (w->k.ph)
        snprintf(checks[0], sizeof checks[0], "iy < 0 || iy >= %lld", w->h);
    if (w->k.pw)
        snprintf(checks[1], sizeof checks[1], "ix < 0 || ix >= %lld", w->w);
    map_rows(rc, n, w->c, w->ho);
    sb_printf(rc->pro,
              "    const int y0 = (int)r0 * %d - %d;\n"
              "    __global const float *xp = %s + plane * %lldu;\n",
              w->k.sh, w->k.ph, x, w->h * w->w);
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
              "    const int iy = (int)r0, oy = (iy + %d) / %d;\n"
              "    const bool in_row = iy + %d - oy * %d < %d && oy < %lld;\n"
              "    __global const float *dyp = %s + plane * %lldu + (in_row ? oy : 0) * %lld;\n",
              w->k.ph, w->k.sh, w->k.ph, w->k.sh, w->k.kh, w->ho, dy, w->ho * w->wo, w->wo);
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
 * window's max (argmax given) or divided by the window size. Ids (iy, c, n),
 * e = ix. */
static void body_pool_grad(row_code *rc, const win_geom *w, const char *dy, const char *argmax,
                           long long n)
{
    map_rows(rc, n, w->c, w->h);
    if (w->k.sh >= w->k.kh && w->k.sw >= w->k.kw) {
        body_pool_grad_tiled(rc, w, dy, argmax);
        return;
    }
    sb_printf(rc->pro,
              "    const int iy = (int)r0, ly = iy + %d - %d + 1;\n"
              "    const int oy0 = ly <= 0 ? 0 : (ly + %d - 1) / %d;\n"
              "    const int oy1 = min((iy + %d) / %d, %lld);\n"
              "    __global const float *dyp = %s + plane * %lldu;\n",
              w->k.ph, w->k.kh, w->k.sh, w->k.sh, w->k.ph, w->k.sh, w->ho - 1,
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

/* im2col with unit stride along rows: a shifted copy of an input row. */
static void chunk_im2col(row_code *rc, const win_geom *w)
{
    sb_printf(rc->chunk,
              "        const int ix0 = (int)e + xoff;\n"
              "        if (in_row && ix0 >= 0 && ix0 + %d <= %lld) {\n"
              "            vv = vload8(0, xr + ix0);\n"
              "        } else {\n"
              "            float t8[%d];\n"
              "            for (int l = 0; l < %d; l++)\n"
              "                t8[l] = in_row && ix0 + l >= 0 && ix0 + l < %lld ? xr[ix0 + l] : 0.0f;\n"
              "            vv = vload8(0, t8);\n"
              "        }\n",
              CHUNK, w->w, CHUNK, CHUNK, w->w);
    rc->chunk_end = w->wo;
}

/* col2im with unit stride along rows: shifted dcol rows summed. */
static void chunk_col2im(row_code *rc, const win_geom *w)
{
    long long p = w->ho * w->wo;
    sb_printf(rc->chunk,
              "        vv = (float8)(0.0f);\n"
              "        for (int i = 0; i < %d; i++) {\n"
              "            const int ty = y + %d - i * %d;\n"
              "            if (ty < 0 || ty %% %d != 0 || ty / %d >= %lld) continue;\n"
              "            for (int j = 0; j < %d; j++) {\n"
              "                const int tx0 = (int)e + %d - j * %d;\n"
              "                __global const float *dr = d + (uint)(i * %d + j) * %lldu + (uint)(ty / %d) * %lldu;\n"
              "                if (tx0 >= 0 && tx0 + %d <= %lld) {\n"
              "                    vv += vload8(0, dr + tx0);\n"
              "                } else {\n"
              "                    float t8[%d];\n"
              "                    for (int l = 0; l < %d; l++)\n"
              "                        t8[l] = tx0 + l >= 0 && tx0 + l < %lld ? dr[tx0 + l] : 0.0f;\n"
              "                    vv += vload8(0, t8);\n"
              "                }\n"
              "            }\n"
              "        }\n",
              w->k.kh, w->k.ph, w->k.dh, w->k.sh, w->k.sh, w->ho, w->k.kw, w->k.pw, w->k.dw,
              w->k.kw, p, w->k.sh, w->wo, CHUNK, w->wo, CHUNK, CHUNK, w->wo);
    rc->chunk_end = w->w;
}

/* 2x2 pool, stride 2: the even and odd columns of two 16-wide stretches of
 * input rows (read as float8 pairs: float16 values are not passed in
 * registers without AVX-512), or 8-wide (float4 pairs) for rows of 4 to 7
 * outputs; the max's candidates in the scalar body's order (row by row,
 * left first). */
static void chunk_pool_2x2(row_code *rc, const win_geom *w, bool max, const char *argmax)
{
    int cw = w->wo >= CHUNK ? CHUNK : CHUNK / 2;
    for (int i = 0; i < 2; i++)
        sb_printf(rc->chunk,
                  "        const float%d r%da = vload%d(0, xp + (uint)(y0 + %d) * %lldu + 2u * e);\n"
                  "        const float%d r%db = vload%d(1, xp + (uint)(y0 + %d) * %lldu + 2u * e);\n"
                  "        const float%d e%d = (float%d)(r%da.even, r%db.even);\n"
                  "        const float%d o%d = (float%d)(r%da.odd, r%db.odd);\n",
                  cw, i, cw, i, w->w, cw, i, cw, i, w->w, cw, i, cw, i, i, cw, i, cw, i, i);
    if (!max) {
        sb_append(rc->chunk, "        vv = (e0 + o0 + e1 + o1) * 0.25f;\n");
    } else {
        sb_printf(rc->chunk,
                  "        float%d best = e0;\n"
                  "        int%d arg = (int%d)(0);\n"
                  "        int%d gt = isgreater(o0, best);\n"
                  "        best = select(best, o0, gt); arg = select(arg, (int%d)(1), gt);\n"
                  "        gt = isgreater(e1, best);\n"
                  "        best = select(best, e1, gt); arg = select(arg, (int%d)(2), gt);\n"
                  "        gt = isgreater(o1, best);\n"
                  "        best = select(best, o1, gt); arg = select(arg, (int%d)(3), gt);\n"
                  "        vv = best;\n",
                  cw, cw, cw, cw, cw, cw, cw);
        if (argmax)
            sb_printf(rc->chunk,
                      "        const int%d lane = (int%d)(%s);\n"
                      "        const int%d at = (y0 + (arg >> 1)) * %lld + 2 * ((int)e + lane) + (arg & 1);\n"
                      "        vstore%d(convert_float%d(at), 0, %s + row * %lldu + e);\n",
                      cw, cw, cw == CHUNK ? "0, 1, 2, 3, 4, 5, 6, 7" : "0, 1, 2, 3", cw, w->w,
                      cw, cw, argmax, w->wo);
    }
    rc->chunk_end = w->wo;
    rc->chunk_w = cw;
}

/* Gradient of a 2x2 pool with stride 2: each dy (and argmax) feeds two
 * neighbouring columns. */
static void chunk_pool_grad_2x2(row_code *rc, const win_geom *w, const char *argmax)
{
    sb_append(rc->chunk, "        const float8 d8 = vload4(0, dyp + e / 2u).s00112233;\n");
    if (argmax)
        sb_printf(rc->chunk,
                  "        const float8 a8 = vload4(0, amp + e / 2u).s00112233;\n"
                  "        const float8 me = (float8)((float)(iy * %lld + (int)e)) +\n"
                  "                          (float8)(0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f);\n"
                  "        vv = in_row ? select((float8)(0.0f), d8, isequal(a8, me)) : (float8)(0.0f);\n",
                  w->w);
    else
        sb_append(rc->chunk, "        vv = in_row ? d8 * 0.25f : (float8)(0.0f);\n");
    rc->chunk_end = 2 * w->wo;
}

/* Fills rc for the group's head; returns the elements per row. */
static long long row_bodies(const codegen_ctx *c, const gnode *head, row_code *rc)
{
    const graph *g = c->g;
    const tensor *out = &g->t[head->out];
    bool forward = head->op == OP_IM2COL || head->op == OP_MAXPOOL || head->op == OP_AVGPOOL;
    win_geom w = head->op == OP_QSD_DRAW ? (win_geom){0}
                                         : geom_of(head, forward ? &g->t[head->in[0]] : out);
    char x[64] = "", b[64] = "", am[64] = "";
    if (head->n_in > 0)
        codegen_ref(g, head->in[0], x, sizeof x);
    if (head->n_in > 1)
        codegen_ref(g, head->in[1], b, sizeof b);
    bool store_arg = head->op == OP_MAXPOOL && head->mask > 0 && c->f->stored[head->mask];
    if (store_arg)
        codegen_ref(g, head->mask, am, sizeof am);
    long long n = (long long)out->dims[0];
    switch (head->op) {
    case OP_IM2COL:
        body_im2col(rc, &w, x, n);
        if (w.k.sw == 1)
            chunk_im2col(rc, &w);
        return w.wo; /* rows of [N, K, Ho Wo] by output row */
    case OP_COL2IM:
        body_col2im(rc, &w, x, n);
        if (w.k.sw == 1)
            chunk_col2im(rc, &w);
        break;
    case OP_MAXPOOL:
    case OP_AVGPOOL:
        body_pool(rc, &w, head->op == OP_MAXPOOL, x, store_arg ? am : NULL, n);
        if (is_2x2_pool(&w.k) && w.wo >= CHUNK / 2)
            chunk_pool_2x2(rc, &w, head->op == OP_MAXPOOL, store_arg ? am : NULL);
        break;
    case OP_MAXPOOL_GRAD:
    case OP_AVGPOOL_GRAD: {
        const char *arg = head->op == OP_MAXPOOL_GRAD ? b : NULL;
        body_pool_grad(rc, &w, x, arg, n);
        if (is_2x2_pool(&w.k))
            chunk_pool_grad_2x2(rc, &w, arg);
        break;
    }
    default: /* OP_QSD_DRAW: group idx's mask, rows [N] of [N, C] */
        sb_append(rc->pro, "    const uint row = r0;\n");
        rc->dims[0] = n;
        /* the mask is [N, C]: C draws per sample */
        if (head->qsd.hetero == HETERO_UNIT) {
            char grp[64], call[512];
            snprintf(grp, sizeof grp, "idx + sample0 * %lldu", (long long)out->dims[1]);
            codegen_qsd_unit_call(g, head, grp, call, sizeof call);
            sb_printf(rc->elem, "        v = %s;\n", call);
        } else {
            sb_printf(rc->elem,
                      "        v = qsd_mask(seed, %uu, step, idx + sample0 * %lldu, %s, %d, %s, %s);\n",
                      head->rng_id, (long long)out->dims[1], CG_F(head->qsd.p), head->qsd.sites,
                      CG_F(head->qsd.q_cv), CG_F(head->qsd.p_concentration));
        }
        break;
    }
    return (long long)out->dims[out->rank - 1];
}

/* Who runs a group's rows: a kernel's work-items a row each (CPUs), a
 * kernel's work-items an element each, consecutive ones on consecutive
 * elements (the lane family), or a per-sample GEMM's phase, row by row. */
typedef enum rows_by { ROWS_KERNEL, ROWS_LANES, ROWS_PHASE } rows_by;

/* A lane's element: v at element e of row `row`, through the chain. */
static void emit_lane(strbuf *out, const row_code *rc, long long len, const strbuf *fin)
{
    sb_printf(out, "%s        const uint idx = row * %lldu + e;\n        float v;\n%s%s%s}\n",
              sb_str(rc->pro), len, sb_str(rc->elem), sb_str(fin), rc->close);
}

/* A row's elements: chunks of vectors where the body has them, then
 * scalars. */
static void emit_row(const codegen_ctx *c, const kgroup *k, strbuf *out, const row_code *rc,
                     long long len, const strbuf *fin)
{
    sb_printf(out, "%s    uint e = 0;\n", sb_str(rc->pro));
    /* the last chunk ends at chunk_end, overlapping the one before: each
     * element's value and its chain are the same whichever chunk stores it */
    int cw = rc->chunk_w;
    if (rc->chunk_end >= cw) {
        sb_printf(out, "    for (uint e0 = 0; e0 < %lldu; e0 += %du) {\n"
                       "        e = min(e0, %lldu);\n        float%d vv;\n%s",
                  rc->chunk_end, cw, rc->chunk_end - cw, cw, sb_str(rc->chunk));
        strbuf vec;
        sb_init(&vec);
        sb_printf(&vec, "        const uint idx = row * %lldu + e;\n", len);
        if (codegen_vector_chain(c, k, cw, &vec)) {
            sb_printf(out, "%s    }\n", sb_str(&vec));
        } else {
            sb_printf(out, "        float vt[%d];\n        vstore%d(vv, 0, vt);\n"
                           "        for (uint l = 0; l < %du; l++) {\n"
                           "    const uint idx = row * %lldu + e + l;\n"
                           "    float v = vt[l];\n%s        }\n    }\n",
                      cw, cw, cw, len, sb_str(fin));
        }
        out->oom |= vec.oom;
        sb_free(&vec);
        sb_printf(out, "    e = %lldu;\n", rc->chunk_end);
    }
    sb_printf(out, "    for (; e < %lldu; e++) {\n"
                   "        const uint idx = row * %lldu + e;\n        float v;\n%s%s    }\n%s}\n",
              len, len, sb_str(rc->elem), sb_str(fin), rc->close);
}

/* The rows code of group k as one block; dims receives the NDRange: the
 * rows, or for lanes (elements, rows dims[0], planes). */
static void emit_rows(const codegen_ctx *c, const kgroup *k, rows_by by, strbuf *out,
                      long long dims[3])
{
    const graph *g = c->g;
    const gnode *head = &g->n[k->nodes[0]];
    strbuf pro, elem, chunk, fin;
    sb_init(&pro);
    sb_init(&elem);
    sb_init(&chunk);
    sb_init(&fin);
    row_code rc = {&pro, &elem, &chunk, 0, CHUNK, {1, 1, 1}, ""};
    long long len = row_bodies(c, head, &rc);
    codegen_chain_store(c, k, &fin);
    /* the rows (and a lane's elements) are exactly the NDRange: no bounds
     * check */
    if (by == ROWS_KERNEL)
        sb_printf(out, "{\n    const uint r0 = get_global_id(0), plane = get_global_id(2) * %lldu"
                       " + get_global_id(1);\n", rc.dims[1]);
    else if (by == ROWS_PHASE)
        sb_printf(out, "{\n    const uint r0 = gm_r0, plane = gm_bat * %lldu + gm_r1;\n",
                  rc.dims[1]);
    else
        sb_append(out, "{\n    const uint e = get_global_id(0), r0 = get_global_id(1), "
                       "plane = get_global_id(2);\n");
    if (by == ROWS_LANES)
        emit_lane(out, &rc, len, &fin);
    else
        emit_row(c, k, out, &rc, len, &fin);
    out->oom |= pro.oom | elem.oom | chunk.oom | fin.oom; /* the caller's check reports */
    sb_free(&pro);
    sb_free(&elem);
    sb_free(&chunk);
    sb_free(&fin);
    memcpy(dims, rc.dims, sizeof rc.dims);
    if (by == ROWS_LANES) {
        dims[2] *= dims[1];
        dims[1] = dims[0];
        dims[0] = len;
    }
}

/* A lane device's work-group for window launch l: whole rows of dims[0]
 * and as many of dims[1] as divide it within items work-items. Left to
 * itself, rusticl takes gcd(its limit, dims[0]) along x, 2 of a 14-wide
 * map: a quarter of llvmpipe's 8 SIMD lanes. Rows wider than items keep
 * the device's choice. */
static void window_work_group(plan_launch *l, int64_t items)
{
    uint64_t x = l->global[0], y = l->global[1];
    if (x > (uint64_t)items)
        return;
    uint64_t ly = 1;
    for (uint64_t d = 1; d <= y && x * d <= (uint64_t)items; d++)
        if (y % d == 0)
            ly = d;
    l->local[0] = x;
    l->local[1] = ly;
    l->local[2] = 1;
}

int codegen_window(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l)
{
    const graph *g = c->g;
    const gnode *head = &g->n[k->nodes[0]];
    long long dims[3];
    /* a QSD mask draw is no window: it follows the family */
    bool lanes = codegen_lanes(c->target);
    if (head->op != OP_QSD_DRAW) {
        window_shape shape = window_shape_of(g, head);
        lanes = window_lanes(c->target, &shape);
    }
    codegen_signature(c->src, name);
    emit_rows(c, k, lanes ? ROWS_LANES : ROWS_KERNEL, c->src, dims);
    sb_append(c->src, "\n");
    l->work_dim = 3;
    for (int d = 0; d < 3; d++)
        l->global[d] = (uint64_t)dims[d];
    if (codegen_lanes(c->target))
        window_work_group(l, codegen_lane_items(c->target));
    l->bytes = 4.0 * (double)((head->n_in ? g->t[head->in[0]].nelem : 0) +
                              g->t[head->out].nelem * k->n);
    return 0;
}

void codegen_window_phase(const codegen_ctx *c, const kgroup *k, strbuf *sb)
{
    strbuf rows;
    sb_init(&rows);
    long long dims[3];
    emit_rows(c, k, ROWS_PHASE, &rows, dims);
    sb_printf(sb, "    for (uint gm_r1 = 0; gm_r1 < %lldu; ++gm_r1)\n"
                  "    for (uint gm_r0 = 0; gm_r0 < %lldu; ++gm_r0)\n%s",
              dims[1], dims[0], sb_str(&rows));
    sb->oom |= rows.oom;
    sb_free(&rows);
}
