/* The pack of op(B)'s panel into __local memory, the part of the GEMM
 * generator that copies (and transposes) rather than multiplies. */
#include <inttypes.h>
#include <stdio.h>

#include "codegen_gemm_form.h"

const char *gemm_vtype(int vec)
{
    static const char *names[17] = {
        [1] = "float", [2] = "float2", [4] = "float4", [8] = "float8", [16] = "float16",
    };
    return names[vec];
}

void gemm_emit_vload(strbuf *sb, int vec, const char *off, const char *p)
{
    if (vec == 1)
        sb_printf(sb, "%s[%s]", p, off);
    else
        sb_printf(sb, "vload%d(%s, %s)", vec, off, p);
}

void gemm_emit_vstore(strbuf *sb, int vec, const char *val, const char *off,
                        const char *p)
{
    if (vec == 1)
        sb_printf(sb, "%s[%s] = %s;", p, off, val);
    else
        sb_printf(sb, "vstore%d(%s, %s, %s);", vec, val, off, p);
}

/* Copies rows of B stored [K,N] into the panel: the first ncols columns
 * from B, whole vectors where they fit, then column ncols-1 repeated. */
static void emit_pack_rows(strbuf *sb, const gemm_form *f, const gemm_geom *g, int ncols)
{
    sb_printf(sb,
        "            for (uint gm_k = 0; gm_k < gm_kn; ++gm_k) {\n"
        "                __global const float *gm_src = gm_b + (gm_k0 + gm_k) * %" PRId64 "u + gm_j0;\n"
        "                __local float *gm_dst = gm_bp + gm_k * %du;\n",
        f->ldb, g->nr);
    int full = ncols / g->vec;
    for (int q = 0; q < full; q++) {
        char off[16];
        snprintf(off, sizeof off, "%du", q);
        strbuf ld;
        sb_init(&ld);
        gemm_emit_vload(&ld, g->vec, off, "gm_src");
        sb_append(sb, "                ");
        gemm_emit_vstore(sb, g->vec, sb_str(&ld), off, "gm_dst");
        sb_append(sb, "\n");
        sb_free(&ld);
    }
    for (int col = full * g->vec; col < g->nr; col++)
        sb_printf(sb, "                gm_dst[%d] = gm_src[%d];\n", col,
                  col < ncols ? col : ncols - 1);
    sb_append(sb, "            }\n");
}

/* Transposing pack of B stored [N,K]: vec x vec blocks are read as vec
 * rows of vectors and written as vec columns, then a scalar K tail. The
 * block is transposed by log2(vec) rounds of x'[i] = (x[2i].even,
 * x[2i+1].even), x'[vec/2 + i] = (x[2i].odd, x[2i+1].odd): each round
 * rotates the bits of an element's (row, lane) by one place, and each new
 * vector is one two-source shuffle (building the columns lane by lane cost
 * about a cycle an element, more than the product itself at N = 10). */
static void emit_pack_transposed(strbuf *sb, const gemm_form *f, const gemm_geom *g)
{
    const char *vt = gemm_vtype(g->vec);
    int vec = g->vec;
    sb_printf(sb, "            for (uint gm_q = 0; gm_q < %du; gm_q += %du) {\n", g->nr, vec);
    for (int r = 0; r < vec; r++)
        sb_printf(sb, "                __global const float *gm_s%d = gm_b + min(gm_j0 + gm_q + %du, %" PRId64 "u) * %" PRId64 "u + gm_k0;\n",
                  r, r, f->N - 1, f->ldb);
    sb_printf(sb,
        "                __local float *gm_dst = gm_bp + gm_q;\n"
        "                uint gm_k = 0;\n"
        "                for (; gm_k + %du <= gm_kn; gm_k += %du) {\n", vec, vec);
    for (int r = 0; r < vec; r++)
        sb_printf(sb, "                    const %s gm_x0_%d = vload%d(0, gm_s%d + gm_k);\n",
                  vt, r, vec, r);
    int rounds = 0;
    for (int w = 1; w < vec; w *= 2, rounds++)
        for (int i = 0; i < vec / 2; i++)
            sb_printf(sb,
                "                    const %s gm_x%d_%d = (%s)(gm_x%d_%d.even, gm_x%d_%d.even), "
                "gm_x%d_%d = (%s)(gm_x%d_%d.odd, gm_x%d_%d.odd);\n",
                vt, rounds + 1, i, vt, rounds, 2 * i, rounds, 2 * i + 1,
                rounds + 1, vec / 2 + i, vt, rounds, 2 * i, rounds, 2 * i + 1);
    for (int kk = 0; kk < vec; kk++)
        sb_printf(sb, "                    vstore%d(gm_x%d_%d, 0, gm_dst + (gm_k + %du) * %du);\n",
                  vec, rounds, kk, kk, g->nr);
    sb_append(sb, "                }\n"
                  "                for (; gm_k < gm_kn; ++gm_k) {\n");
    for (int r = 0; r < vec; r++)
        sb_printf(sb, "                    gm_dst[gm_k * %du + %du] = gm_s%d[gm_k];\n", g->nr, r, r);
    sb_append(sb, "                }\n            }\n");
}

void gemm_emit_pack(strbuf *sb, const gemm_form *f, const gemm_geom *g)
{
    int64_t N = f->N, ldb = f->ldb;
    int nr = g->nr;
    if (f->b_nmajor && g->vec > 1)
        emit_pack_transposed(sb, f, g);
    else if (f->b_nmajor)
        sb_printf(sb,
            "            for (uint gm_q = 0; gm_q < %du; ++gm_q) {\n"
            "                __global const float *gm_src = gm_b + min(gm_j0 + gm_q, %" PRId64 "u) * %" PRId64 "u + gm_k0;\n"
            "                for (uint gm_k = 0; gm_k < gm_kn; ++gm_k)\n"
            "                    gm_bp[gm_k * %du + gm_q] = gm_src[gm_k];\n"
            "            }\n", nr, N - 1, ldb, nr);
    if (f->b_nmajor)
        return;
    int rem = (int)(N % nr);
    if (rem == 0) {
        emit_pack_rows(sb, f, g, nr);
        return;
    }
    sb_printf(sb, "            if (gm_j0 + %du <= %" PRId64 "u) {\n", nr, N);
    emit_pack_rows(sb, f, g, nr);
    sb_append(sb, "            } else {\n");
    emit_pack_rows(sb, f, g, rem);
    sb_append(sb, "            }\n");
}
