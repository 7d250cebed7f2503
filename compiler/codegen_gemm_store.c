/* The store of a work-item's tile of C element by element, with the
 * tile passes and the epilogue: shared by both GEMM families, whose tiles
 * differ only in where their elements lie in C. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codegen_gemm_form.h"

/* gm_i = gm_i0 + r * step (r the tile's row, a variable or expression). */
static void emit_offset(strbuf *sb, const char *base, const char *r, int step)
{
    if (step == 1)
        sb_printf(sb, "%s + %s", base, r);
    else
        sb_printf(sb, "%s + (%s) * %du", base, r, step);
}

void gemm_emit_element_store(strbuf *sb, const gemm_form *f, const gemm_store *st)
{
    const char *ind = "                    ";
    const char *row = f->c_trans ? "gm_j" : "gm_i", *col = f->c_trans ? "gm_i" : "gm_j";
    char e_row[32], e_col[32];
    snprintf(e_row, sizeof e_row, "gm_e / %du", st->cols);
    snprintf(e_col, sizeof e_col, "gm_e %% %du", st->cols);
    if (f->tile_pass)
        sb_printf(sb, "%sfloat gm_tile[%d][%d];\n", ind, f->tile_values, st->rows * st->cols);
    const char *passes[2] = {f->tile_pass, f->tile_fix};
    for (int p = 0; p < 2 && passes[p]; p++) {
        sb_printf(sb,
            "%sif (%s)\n"
            "%sfor (uint gm_e = 0; gm_e < %du; ++gm_e) {\n"
            "%s    const uint gm_i = ",
            ind, st->last_block, ind, st->rows * st->cols, ind);
        emit_offset(sb, "gm_i0", e_row, st->row_step);
        sb_append(sb, ", gm_j = ");
        emit_offset(sb, "gm_j0", e_col, st->col_step);
        sb_printf(sb, ";\n%s    const uint row = %s, col = %s, bat = gm_bat;\n%s%s}\n",
                  ind, row, col, passes[p], ind);
    }
    sb_printf(sb,
        "%sfor (uint gm_r = 0; gm_r < %du; ++gm_r)\n"
        "%sfor (uint gm_q = 0; gm_q < %du; ++gm_q) {\n"
        "%s    const uint gm_i = ",
        ind, st->rows, ind, st->cols, ind);
    emit_offset(sb, "gm_i0", "gm_r", st->row_step);
    sb_append(sb, ", gm_j = ");
    emit_offset(sb, "gm_j0", "gm_q", st->col_step);
    sb_printf(sb, ", gm_e = gm_r * %du + gm_q;\n", st->cols);
    if (st->checked)
        sb_printf(sb, "%s    if (gm_i >= %" PRId64 "u || gm_j >= %" PRId64 "u) continue;\n",
                  ind, f->M, f->N);
    sb_printf(sb,
        "%s    const uint row = %s, col = %s, bat = gm_bat;\n"
        "%s    __global float *gm_cp = gm_c + row * %" PRId64 "u + col;\n"
        "%s    float v = gm_t[gm_e];\n",
        ind, row, col, ind, f->ldc, ind);
    if (strcmp(st->load_c, "0") != 0)
        sb_printf(sb, "%s    if (%s) v += *gm_cp;\n", ind, st->load_c);
    if (f->epilogue)
        sb_printf(sb, "%s    if (%s) {\n%s\n%s    }\n", ind, st->last_block, f->epilogue, ind);
    sb_printf(sb, "%s    *gm_cp = v;\n%s}\n", ind, ind);
}
