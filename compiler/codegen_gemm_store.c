/* The store of a work-item's micro-tile of C, with the tile passes and
 * the epilogue: whole vectors where it can, else element by element. Both
 * GEMM families store this way. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codegen_gemm_form.h"

/* Stores the accumulators of a full tile as vectors. load_c: the
 * expression saying whether C's current value is added ("1", "gm_k0 > 0u"),
 * "0" for never. */
static void emit_vector_store(strbuf *sb, const gemm_form *f, const gemm_geom *g,
                              const char *load_c)
{
    const char *ind = "                    ";
    for (int r = 0; r < g->mr; r++) {
        sb_printf(sb, "%s__global float *gm_cp%d = gm_c + (gm_i0 + %du) * %" PRId64 "u + gm_j0;\n",
                  ind, r, r, f->ldc);
        for (int q = 0; q < g->nv; q++) {
            char acc[32], off[16], cp[16];
            snprintf(acc, sizeof acc, "gm_c%d_%d", r, q);
            snprintf(off, sizeof off, "%du", q);
            snprintf(cp, sizeof cp, "gm_cp%d", r);
            if (strcmp(load_c, "0") != 0) {
                sb_printf(sb, "%sif (%s) %s += ", ind, load_c, acc);
                gemm_emit_vload(sb, g->vec, off, cp);
                sb_append(sb, ";\n");
            }
            sb_append(sb, ind);
            gemm_emit_vstore(sb, g->vec, acc, off, cp);
            sb_append(sb, "\n");
        }
    }
}

/* Stores the accumulators element by element through a private array,
 * running the epilogue on the last K block (last_block); checked: skip
 * elements outside C (edge tiles). Full tiles get simple constant-trip loops
 * the compiler can vectorise. */
static void emit_element_store(strbuf *sb, const gemm_form *f, const gemm_geom *g,
                               const char *load_c, const char *last_block, bool checked)
{
    const char *ind = "                    ";
    sb_printf(sb, "%sfloat gm_t[%d];\n", ind, g->mr * g->nr);
    for (int r = 0; r < g->mr; r++)
        for (int q = 0; q < g->nv; q++) {
            char acc[32], off[16];
            snprintf(acc, sizeof acc, "gm_c%d_%d", r, q);
            snprintf(off, sizeof off, "%du", r * g->nv + q);
            sb_append(sb, ind);
            gemm_emit_vstore(sb, g->vec, acc, off, "gm_t");
            sb_append(sb, "\n");
        }
    const char *row = f->c_trans ? "gm_j" : "gm_i", *col = f->c_trans ? "gm_i" : "gm_j";
    if (f->tile_pass)
        sb_printf(sb, "%sfloat gm_tile[%d][%d];\n", ind, f->tile_values, g->mr * g->nr);
    const char *passes[2] = {f->tile_pass, f->tile_fix};
    for (int p = 0; p < 2 && passes[p]; p++)
        sb_printf(sb,
            "%sif (%s)\n"
            "%sfor (uint gm_e = 0; gm_e < %du; ++gm_e) {\n"
            "%s    const uint gm_i = gm_i0 + gm_e / %du, gm_j = gm_j0 + gm_e %% %du;\n"
            "%s    const uint row = %s, col = %s, bat = gm_bat;\n"
            "%s"
            "%s}\n",
            ind, last_block, ind, g->mr * g->nr, ind, g->nr, g->nr, ind, row, col,
            passes[p], ind);
    sb_printf(sb,
        "%sfor (uint gm_r = 0; gm_r < %du; ++gm_r)\n"
        "%sfor (uint gm_q = 0; gm_q < %du; ++gm_q) {\n"
        "%s    const uint gm_i = gm_i0 + gm_r, gm_j = gm_j0 + gm_q, gm_e = gm_r * %du + gm_q;\n",
        ind, g->mr, ind, g->nr, ind, g->nr);
    if (checked)
        sb_printf(sb, "%s    if (gm_i >= %" PRId64 "u || gm_j >= %" PRId64 "u) continue;\n",
                  ind, f->M, f->N);
    sb_printf(sb,
        "%s    const uint row = %s, col = %s, bat = gm_bat;\n"
        "%s    __global float *gm_cp = gm_c + row * %" PRId64 "u + col;\n"
        "%s    float v = gm_t[gm_e];\n",
        ind, row, col, ind, f->ldc, ind);
    if (strcmp(load_c, "0") != 0)
        sb_printf(sb, "%s    if (%s) v += *gm_cp;\n", ind, load_c);
    if (f->epilogue)
        sb_printf(sb, "%s    if (%s) {\n%s\n%s    }\n", ind, last_block, f->epilogue, ind);
    sb_printf(sb, "%s    *gm_cp = v;\n%s}\n", ind, ind);
}

void gemm_emit_store(strbuf *sb, const gemm_form *f, const gemm_geom *g, bool ragged,
                     const char *load_c, const char *last_block)
{
    const char *ind = "                ";
    if (ragged)
        sb_printf(sb, "%sif (gm_i0 + %du <= %" PRId64 "u && gm_j0 + %du <= %" PRId64 "u) {\n",
                  ind, g->mr, f->M, g->nr, f->N);
    else
        sb_printf(sb, "%s{\n", ind);
    if (!f->epilogue && !f->c_trans)
        emit_vector_store(sb, f, g, load_c);
    else
        emit_element_store(sb, f, g, load_c, last_block, false);
    sb_printf(sb, "%s}\n", ind);
    if (ragged) {
        sb_printf(sb, "%selse {\n", ind);
        emit_element_store(sb, f, g, load_c, last_block, true);
        sb_printf(sb, "%s}\n", ind);
    }
}

