/* What the GEMM generators (codegen_gemm.c, codegen_gemm_tiled.c), their
 * emitters (codegen_gemm_parts.c, codegen_gemm_pack.c,
 * codegen_gemm_store.c) and the slicing (codegen_gemm_slices.c) share: the
 * problem as the kernel computes it and the tuning fitted to it. The calls
 * run one way: codegen_gemm_slices.c -> codegen_gemm.c ->
 * codegen_gemm_tiled.c -> the emitters. */
#ifndef QSDC_CODEGEN_GEMM_FORM_H
#define QSDC_CODEGEN_GEMM_FORM_H

#include <stdbool.h>
#include <stdint.h>

#include "codegen_gemm.h"
#include "strbuf.h"

/* The problem as the kernel computes it: C(i,j) = sum_k A(i,k) B(k,j) over
 * M x N x K. Swapped specs (swap_operands) become C^T = op(B)^T op(A)^T
 * here, the spec's B as the left operand and its A as the right. */
typedef struct gemm_form {
    int64_t M, N, K;
    const char *a, *b, *c;
    int64_t lda, ldb, ldc;
    bool a_kmajor;  /* A(i,k) at a[k*lda + i], else a[i*lda + k] */
    bool b_nmajor;  /* B(k,j) at b[j*ldb + k], else b[k*ldb + j] */
    bool c_trans;   /* C(i,j) at c[j*ldc + i]: the spec's row is j, its col i */
    bool accumulate;
    int64_t batch;  /* >= 1 */
    int64_t stride_a, stride_b, stride_c;
    bool reduce;    /* C = sum over the batch */
    const char *epilogue;
    const char *tile_pass, *tile_fix;
    int tile_values;
    const char *before, *after;
} gemm_form;

/* Tuning fitted to one problem. */
typedef struct gemm_geom {
    int vec, mr, nv, nr;
    int64_t bm, bn, kc;
    int64_t groups_m, groups_n;
} gemm_geom;

/* The problem as the kernel computes it, as C^T = op(B)^T op(A)^T when
 * swap (codegen_gemm.c). */
gemm_form gemm_form_of(const gemm_spec *s, bool swap);
/* Whether s runs in the tiled family under t (else the panel family). */
bool gemm_runs_tiled(const gemm_spec *s, const gemm_tuning *t);
/* An upper bound on the loop iterations of one work-item of s's kernel
 * under t, in the family it runs. */
int64_t gemm_work_item_loops(const gemm_spec *s, const gemm_tuning *t);
/* "void NAME(the nine arguments of every generated kernel) {", each
 * argument marked used. */
void gemm_emit_signature(strbuf *sb, const char *name);
/* The matrix pointer `name` = base + index * stride (stride 0: base). */
void gemm_emit_pointer(strbuf *sb, const char *indent, const char *type, const char *name,
                       const char *base, const char *index, int64_t stride);
/* The pointer gm_c to the work-group's C: its batch index's, or its
 * slice's partial C. */
void gemm_emit_c_pointer(strbuf *sb, const gemm_spec *s, const gemm_form *f);
/* Opens the loop over the batch indices a work-group sums (a block of one
 * pass when it sums none) and points gm_a and gm_b at their operands. */
void gemm_emit_batch_loop(strbuf *sb, const gemm_spec *s, const gemm_form *f);
/* The tiled family's kernel (codegen_gemm_tiled.c), with its launch's
 * work_dim, global and local sizes. */
void gemm_emit_tiled(strbuf *sb, const gemm_spec *s, const gemm_form *f, const gemm_tiles *t,
                     plan_launch *launch);
/* An upper bound on the loop iterations of one of its work-items. */
int64_t gemm_tiled_loops(const gemm_form *f, const gemm_tiles *t);
/* "float8", or "float" for width 1. */
const char *gemm_vtype(int vec);
/* Appends vloadN(off, p), or p[off] for width 1. */
void gemm_emit_vload(strbuf *sb, int vec, const char *off, const char *p);
/* Appends vstoreN(val, off, p);, or p[off] = val; for width 1. */
void gemm_emit_vstore(strbuf *sb, int vec, const char *val, const char *off,
                      const char *p);
/* Writes the mr x nr micro-tile of accumulators gm_c{r}_{q} (vectors of
 * width vec) at C(gm_i0 + r, gm_j0 + q) (gm_bat and gm_c in scope; C^T
 * when c_trans): whole vectors when nothing runs per element and C is not
 * transposed, else element by element; with ragged (some micro-tiles
 * reach past M or N), those with bounds checks. load_c: whether C's old
 * value is added ("1", "gm_k0 > 0u", "0" for never); last_block: when the
 * epilogue and tile passes run (codegen_gemm_store.c). */
void gemm_emit_store(strbuf *sb, const gemm_form *f, const gemm_geom *g, bool ragged,
                     const char *load_c, const char *last_block);
/* Packs op(B)[k0 .. k0+kn, j0 .. j0+nr] into gm_bp as [kn][nr]; columns past
 * N repeat column N-1 (their results are never stored). */
void gemm_emit_pack(strbuf *sb, const gemm_form *f, const gemm_geom *g);

#endif
