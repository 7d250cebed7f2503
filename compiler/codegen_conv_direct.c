/* Direct convolution kernels (GROUP_CONV): out[n, co, oy, ox] is the sum
 * over (c, i, j) of w[co, c, i, j] x[n, c, oy sh - ph + i dh, ox sw - pw +
 * j dw] (0 in the padding), then the group's elementwise chain. One
 * work-item per (output row, block of output channels, sample); along the
 * row 8 output columns at a time as float8, so that each input vector
 * loaded serves the whole channel block (the last vector overlaps the one
 * before, as in the window kernels). tests/ref_conv.c is the reference. */
#include "codegen_int.h"

/* Output channels per work-item: the most, up to 8, that divide co. */
static int channel_block(long long co)
{
    int b = 8;
    while (b > 1 && co % b != 0)
        b /= 2;
    return b;
}

/* xv = the inputs of vw output columns from e for tap (i, j): a vector load
 * where stride 1 keeps them contiguous and inside the row. */
static void load_inputs(strbuf *s, const window2d *w, long long width, int vw)
{
    if (vw == 1) {
        sb_printf(s, "                const float xv = ix0 >= 0 && ix0 < %lld ? xr[ix0] : 0.0f;\n",
                  width);
        return;
    }
    sb_append(s, "                float8 xv;\n");
    if (w->sw == 1)
        sb_printf(s, "                if (ix0 >= 0 && ix0 + 8 <= %lld) {\n"
                     "                    xv = vload8(0, xr + ix0);\n"
                     "                } else ", width);
    else
        sb_append(s, "                ");
    sb_printf(s, "{\n"
                 "                    float t8[8];\n"
                 "                    for (int l = 0; l < 8; l++) {\n"
                 "                        const int ix = ix0 + l * %d;\n"
                 "                        t8[l] = ix >= 0 && ix < %lld ? xr[ix] : 0.0f;\n"
                 "                    }\n"
                 "                    xv = vload8(0, t8);\n"
                 "                }\n",
              w->sw, width);
}

/* The block's accumulators to the output (through the chain, if any). */
static void store_outputs(const codegen_ctx *c, const kgroup *k, strbuf *s, int cb, int vw,
                          const tensor *y)
{
    const graph *g = c->g;
    char out[64];
    codegen_ref(g, g->n[k->nodes[0]].out, out, sizeof out);
    strbuf fin;
    sb_init(&fin);
    codegen_chain_store(c, k, &fin);
    for (int q = 0; q < cb; q++) {
        sb_printf(s, "        {\n            const uint base = ((n * %lldu + cb * %du + %du) * "
                     "%lldu + oy) * %lldu + e;\n",
                  (long long)y->dims[1], cb, q, (long long)y->dims[2], (long long)y->dims[3]);
        strbuf vec;
        sb_init(&vec);
        sb_printf(&vec, "            const uint idx = base;\n            float8 vv = acc%d;\n", q);
        bool vector = vw == 8 && codegen_vector_chain(c, k, 8, &vec);
        if (vector)
            sb_append(s, sb_str(&vec));
        else if (k->n == 1)
            sb_printf(s, "            %s[base] = acc%d;\n", out, q);
        else if (vw == 1)
            sb_printf(s, "            const uint idx = base;\n            float v = acc%d;\n%s",
                      q, sb_str(&fin));
        else
            sb_printf(s, "            float vt[8];\n            vstore8(acc%d, 0, vt);\n"
                         "            for (uint l = 0; l < 8u; l++) {\n"
                         "            const uint idx = base + l;\n            float v = vt[l];\n"
                         "%s            }\n",
                      q, sb_str(&fin));
        sb_append(s, "        }\n");
        s->oom |= vec.oom;
        sb_free(&vec);
    }
    s->oom |= fin.oom;
    sb_free(&fin);
}

int codegen_conv_direct(codegen_ctx *c, const kgroup *k, const char *name, plan_launch *l)
{
    const graph *g = c->g;
    const gnode *n = &g->n[k->nodes[0]];
    const tensor *x = &g->t[n->in[0]], *y = &g->t[n->out];
    const window2d *w = &n->win;
    long long ch = (long long)x->dims[1], h = (long long)x->dims[2], wd = (long long)x->dims[3];
    long long co = (long long)y->dims[1], ho = (long long)y->dims[2], wo = (long long)y->dims[3];
    long long taps = ch * w->kh * w->kw;
    int cb = channel_block(co), vw = wo >= 8 ? 8 : 1;
    const char *vt = vw == 8 ? "float8" : "float";
    char xs[64], ws[64];
    codegen_ref(g, n->in[0], xs, sizeof xs);
    codegen_ref(g, n->in[1], ws, sizeof ws);
    strbuf *s = c->src;
    codegen_signature(s, name);
    sb_printf(s,
              "{\n"
              "    const uint oy = get_global_id(0), cb = get_global_id(1), n = get_global_id(2);\n"
              "    __global const float *xn = %s + n * %lldu;\n"
              "    __global const float *wb = %s + cb * %lldu;\n"
              "    for (uint e0 = 0; e0 < %lldu; e0 += %du) {\n"
              "        const uint e = min(e0, %lldu);\n",
              xs, ch * h * wd, ws, cb * taps, wo, vw, wo - vw);
    for (int q = 0; q < cb; q++)
        sb_printf(s, "        %s acc%d = (%s)(0.0f);\n", vt, q, vt);
    sb_printf(s,
              "        for (int ci = 0; ci < %lld; ci++)\n"
              "        for (int i = 0; i < %d; i++) {\n"
              "            const int iy = (int)oy * %d - %d + i * %d;\n"
              "            if (iy < 0 || iy >= %lld) continue;\n"
              "            __global const float *xr = xn + ((uint)ci * %lldu + (uint)iy) * %lldu;\n"
              "            __global const float *wt = wb + (uint)(ci * %d + i) * %du;\n"
              "            for (int j = 0; j < %d; j++) {\n"
              "                const int ix0 = (int)e * %d - %d + j * %d;\n",
              ch, w->kh, w->sh, w->ph, w->dh, h, h, wd, w->kh, w->kw, w->kw, w->sw, w->pw,
              w->dw);
    load_inputs(s, w, wd, vw);
    for (int q = 0; q < cb; q++)
        sb_printf(s, "                acc%d += wt[%lldu + (uint)j] * xv;\n", q, q * taps);
    sb_append(s, "            }\n        }\n");
    store_outputs(c, k, s, cb, vw, y);
    sb_append(s, "    }\n}\n\n");
    l->work_dim = 3;
    l->global[0] = (uint64_t)ho;
    l->global[1] = (uint64_t)(co / cb);
    l->global[2] = (uint64_t)x->dims[0];
    l->flops = 2.0 * (double)y->nelem * (double)taps;
    l->bytes = 4.0 * (double)(x->nelem + g->t[n->in[1]].nelem + y->nelem * k->n);
    return 0;
}
