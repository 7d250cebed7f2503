/* GEMM cases for the gemm suite: a product with its layout and epilogue,
 * generated, run on the test device (cl_fixture.h) and checked element by
 * element against a C reference within the dot product's error bound.
 * Call from inside a cmocka test: a failure ends the test. */
#ifndef QSDC_GEMM_CASE_H
#define QSDC_GEMM_CASE_H

#include <stdbool.h>
#include <stdint.h>

#include "codegen_gemm.h"

typedef struct gemm_case {
    int64_t M, N, K;
    bool ta, tb, accumulate, bias_relu;
    bool tiled;    /* the epilogue's bias and batch term come from a tile pass */
    int64_t pad;   /* extra elements in every row stride */
    int64_t batch; /* 0: one product */
    bool shared_a, shared_b, reduce; /* stride 0 for A or B; C = sum over batch */
} gemm_case;

/* Runs case c under t, sliced as gemm_choose_slices says; returns the
 * slices (1: one piece). */
int64_t gemm_case_run(const gemm_case *c, const gemm_tuning *t);
/* The device's default tuning, in the family its target runs
 * (QSDC_GEMM=tiled or =panel forces one). */
gemm_tuning gemm_device_tuning(void);

#endif
