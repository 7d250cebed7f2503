/* OpenCL C generator for one GEMM kernel with qsdc's uniform kernel
 * signature (see plan.h): C[M,N] (+)= op(A)[M,K] op(B)[K,N], shapes, strides
 * and buffer offsets baked in as constants, an optional per-element epilogue.
 *
 * Shape of the generated kernel: each work-group (of one work-item, the
 * CPU's natural unit under pocl) owns a bm x bn block of C. For each K block
 * of depth kc and each nr-wide column panel of its block it packs that panel
 * of op(B) into __local memory as [kc][nr] (transposing when trans_b,
 * clamping columns past N), then sweeps mr-row micro-tiles down the block:
 * mr x nr accumulators in float vectors of width vec, one broadcast of A and
 * nr/vec vector loads of the packed panel per k. The packed panel removes the
 * 4 KiB-aliasing of power-of-two row strides that otherwise halves the
 * speed. Rows past M read row M-1 and are never stored; op(A)op(B) with both
 * transposed is computed as (B A)^T with transposed stores. */
#ifndef QSDC_CODEGEN_GEMM_H
#define QSDC_CODEGEN_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "plan.h"
#include "strbuf.h"

typedef struct gemm_tuning {
    int vec;        /* float vector width: 1, 2, 4, 8 or 16 */
    int mr;         /* micro-tile rows */
    int nv;         /* micro-tile columns in vectors: nr = nv * vec */
    int bm, bn;     /* work-group block of C; multiples of mr and nr */
    int kc;         /* K block depth packed at once */
    int min_groups; /* blocks are split until at least this many work-groups, */
    double min_group_flops; /* as long as each keeps this much work */
} gemm_tuning;

/* CPUs: micro-tile 6 x (2 vectors of the preferred width), blocks of
 * 132 x 16 vectors, kc 512, 8 work-groups for problems of 32+ MFLOP: the
 * best measured on pocl (AVX2, 2 cores). Other devices get a small correct
 * configuration, not a fast one: one work-item per group suits CPUs only,
 * so GPUs are better served by CLBlast. */
void gemm_tuning_default(gemm_tuning *t, bool is_cpu, unsigned pref_vector_width);

typedef struct gemm_spec {
    const char *name;        /* kernel name */
    int64_t M, N, K;         /* C[M,N] = op(A)[M,K] * op(B)[K,N] */
    bool trans_a, trans_b;   /* trans_a: A stored as [K,M]; trans_b: B stored as [N,K] */
    const char *a, *b, *c;   /* base pointer expressions, e.g. "(A + 1024)", "(P + 0)" */
    int64_t lda, ldb, ldc;   /* row strides (elements) of the matrices as stored */
    bool accumulate;         /* C += op(A)op(B), else C = op(A)op(B) */
    /* NULL, or OpenCL C statements run per output element just before its
     * store, with `float v` (the product, plus C's old value when
     * accumulate), `uint row`, `uint col` and the kernel arguments in scope;
     * whatever v holds afterwards is stored. Names starting with gm_ are
     * the kernel's own. */
    const char *epilogue;
} gemm_spec;

/* Appends one kernel's source to src and fills launch's kernel name,
 * work_dim, global, local, flops and bytes. Fails on a malformed spec or
 * tuning (non-positive sizes, strides too small, vec not 1/2/4/8/16, ...). */
int codegen_gemm(strbuf *src, const gemm_spec *s, const gemm_tuning *t,
                 plan_launch *launch, qsdc_error *err);

#endif
