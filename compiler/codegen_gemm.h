/* GEMM kernel generator: C[M,N] (+)= op(A)[M,K] op(B)[K,N] with a fused
 * per-element epilogue, specialised to static shapes and offsets. */
#ifndef QSDC_CODEGEN_GEMM_H
#define QSDC_CODEGEN_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "plan.h"
#include "strbuf.h"

typedef struct gemm_tuning {
    int tile_m, tile_n; /* outputs per work-item */
} gemm_tuning;

void gemm_tuning_default(gemm_tuning *t, bool is_cpu, unsigned pref_vector_width);

typedef struct gemm_spec {
    const char *name;
    int64_t M, N, K;
    bool trans_a, trans_b;   /* A stored [K,M]; B stored [N,K] */
    const char *a, *b, *c;   /* pointer expressions, e.g. "(A + 1024)" */
    int64_t lda, ldb, ldc;   /* row strides of the stored matrices */
    bool accumulate;         /* C += result */
    /* statements run per element before the store, with float v and uint
     * row, col in scope; NULL for none. Not allowed with accumulate. */
    const char *epilogue;
} gemm_spec;

int codegen_gemm(strbuf *src, const gemm_spec *s, const gemm_tuning *t,
                 plan_launch *launch, qsdc_error *err);

#endif
