/* conv2d per device and layer shape: im2col + GEMM or a direct
 * convolution, chosen by measuring both once and caching the times per
 * device (beside the GEMM choices). */
#ifndef QSDC_CONV_SELECT_H
#define QSDC_CONV_SELECT_H

#include <stdio.h>

#include "cl_runtime.h"
#include "compile.h"

/* Fills target->direct_conv with the conv2d layers of m (at batch) that run
 * faster as direct convolutions on env's device, for plans of mode: in
 * training the backward recomputes a direct layer's im2col, so the direct
 * kernel competes with the GEMM alone; in inference with im2col + GEMM.
 * Where fusion runs a layer's im2col inside its GEMM kernel (batches of 2
 * or more) the GEMM's time includes it and the im2col's is 0.
 * QSDC_CONV=direct or =gemm forces one way for every layer; otherwise the
 * times come from the per-device cache, measured when absent (always, with
 * remeasure), and are printed to report when not NULL. Free with
 * conv_select_free. */
int conv_select(cl_env *env, const model *m, graph_mode mode, int64_t batch, bool remeasure,
                FILE *report, codegen_target *target, qsdc_error *err);
void conv_select_free(codegen_target *target);

#endif
