/* What codegen_gemm.c and its pack emitters (codegen_gemm_pack.c) share:
 * the problem as the kernel computes it and the tuning fitted to it. */
#ifndef QSDC_CODEGEN_GEMM_FORM_H
#define QSDC_CODEGEN_GEMM_FORM_H

#include <stdbool.h>
#include <stdint.h>

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

/* "float8", or "float" for width 1. */
const char *gemm_vtype(int vec);
/* Appends vloadN(off, p), or p[off] for width 1. */
void gemm_emit_vload(strbuf *sb, int vec, const char *off, const char *p);
/* Appends vstoreN(val, off, p);, or p[off] = val; for width 1. */
void gemm_emit_vstore(strbuf *sb, int vec, const char *val, const char *off,
                      const char *p);
/* Packs op(B)[k0 .. k0+kn, j0 .. j0+nr] into gm_bp as [kn][nr]; columns past
 * N repeat column N-1 (their results are never stored). */
void gemm_emit_pack(strbuf *sb, const gemm_form *f, const gemm_geom *g);

#endif
