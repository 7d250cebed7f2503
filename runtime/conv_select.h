/* conv2d per device and layer shape: im2col + GEMM or a direct
 * convolution, chosen by measuring both once and caching the times per
 * device (beside the GEMM choices). */
#ifndef QSDC_CONV_SELECT_H
#define QSDC_CONV_SELECT_H

#include <stdio.h>

#include "cl_runtime.h"
#include "codegen_target.h"

/* direct[i]: whether conv2d layer shapes[i] (of n) runs faster as a direct
 * convolution on env's device for target, in plans of mode at batch: in
 * training the backward recomputes a direct layer's im2col, so the direct
 * kernel competes with the GEMM alone; in inference with im2col + GEMM.
 * Each layer is measured alone, as a one-layer model's inference plans;
 * where fusion runs its im2col inside its GEMM kernel (batches of 2 or
 * more) the GEMM's time includes it and the im2col's is 0. QSDC_CONV=direct
 * or =gemm forces one way for every layer; otherwise the times come from
 * the per-device cache, measured when absent (and with remeasure, once per
 * env: measured_choice.h), and are printed to report when not NULL. */
int conv_select(cl_env *env, const codegen_target *target, graph_mode mode, int64_t batch,
                const conv_shape *shapes, int n, bool remeasure, FILE *report, bool *direct,
                qsdc_error *err);

#endif
