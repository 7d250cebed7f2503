/* The GEMM backend per device and shape: generated kernels of the panel or
 * the tiled family, or CLBlast, chosen by measuring them once and caching
 * the times per device. */
#ifndef QSDC_GEMM_SELECT_H
#define QSDC_GEMM_SELECT_H

#include <stdio.h>

#include "cl_runtime.h"
#include "codegen_target.h"

/* picks[i]: the backend of shapes[i] (of n) on env's device for target.
 * QSDC_GEMM=own (the target's family), =panel, =tiled or =direct (that
 * family, direct the tiled one's unstaged variant: exec_target reads it)
 * or =clblast forces a backend; otherwise each
 * shape's measured choice is read from the per-device cache and measured
 * when absent (and with remeasure, once per env: measured_choice.h).
 * CLBlast is no candidate on a device that cuts loops short
 * (loop_guard.h). Measurements are printed to report when not NULL. */
int gemm_select(cl_env *env, const codegen_target *target, const plan_gemm *shapes, int n,
                bool remeasure, FILE *report, gemm_pick *picks, qsdc_error *err);

#endif
