/* The GEMM backend per device and shape: generated kernels or CLBlast,
 * chosen by measuring both once and caching the choice per device. */
#ifndef QSDC_GEMM_SELECT_H
#define QSDC_GEMM_SELECT_H

#include <stdio.h>

#include "cl_runtime.h"
#include "compile.h"

/* Fills target->clblast with the GEMM shapes of p that run faster with
 * CLBlast on env's device. QSDC_GEMM=own or =clblast forces one backend;
 * otherwise each shape's measured choice is read from the per-device cache
 * and measured when absent (always, with remeasure). Measurements are
 * printed to report when not NULL. Free with gemm_select_free. */
int gemm_select(cl_env *env, const plan *p, bool remeasure, FILE *report,
                codegen_target *target, qsdc_error *err);
void gemm_select_free(codegen_target *target);

/* Compiles m for env's device: the target's vector width, direct
 * convolutions for the conv2d layers where they win (conv_select.h), and
 * CLBlast for the GEMM shapes where it wins (a second compilation when any
 * does). */
int compile_for_device(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                       bool remeasure, FILE *report, plan *out, qsdc_error *err);

#endif
