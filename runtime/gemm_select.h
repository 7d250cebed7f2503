/* The GEMM backend per device and shape: generated kernels or CLBlast,
 * chosen by measuring both once and caching the choice per device. */
#ifndef QSDC_GEMM_SELECT_H
#define QSDC_GEMM_SELECT_H

#include <stdio.h>

#include "cl_runtime.h"
#include "compile.h"

/* Fills target->clblast with the GEMM shapes of p that run fastest with
 * CLBlast on env's device, and target->picks with those whose fastest
 * generated family differs from the target's (the tiled family's with its
 * fastest tiles). QSDC_GEMM=own (the target's family), =panel or =tiled
 * (that family: exec_target reads it) or =clblast forces a backend;
 * otherwise each shape's measured choice is read from the per-device
 * cache and measured when absent (always, with remeasure). CLBlast is no
 * candidate on a device that cuts loops short (loop_guard.h). Measurements
 * are printed to report when not NULL. Free with gemm_select_free. */
int gemm_select(cl_env *env, const plan *p, bool remeasure, FILE *report,
                codegen_target *target, qsdc_error *err);
void gemm_select_free(codegen_target *target);

/* Compiles m for env's device: the target's vector width, direct
 * convolutions for the conv2d layers where they win (conv_select.h), and
 * CLBlast for the GEMM shapes where it wins (a second compilation when any
 * does). */
int compile_for_device(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                       bool remeasure, FILE *report, plan *out, qsdc_error *err);
/* The same with every node's output kept and listed in out->probes
 * (codegen_target.observe_all), for --check-finite. */
int compile_observed_for_device(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                                plan *out, qsdc_error *err);

#endif
