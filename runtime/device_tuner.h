/* Compiling for a device: the pipeline's tuner (compile_tuner.h) answered
 * on an OpenCL device, conv2d methods by conv_select.c, lstm shapes by
 * lstm_select.c, GEMM backends by gemm_select.c and window kernels' spread
 * by window_select.c, with the device's memory checked before any GEMM is
 * measured. */
#ifndef QSDC_DEVICE_TUNER_H
#define QSDC_DEVICE_TUNER_H

#include <stdio.h>

#include "cl_runtime.h"
#include "compile.h"

/* Compiles m for env's device once, its choices read from the device's
 * caches or measured (with remeasure, each shape once per env) and printed
 * to report when not NULL. */
int compile_for_device(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                       bool remeasure, FILE *report, plan *out, qsdc_error *err);
/* The same with every node's output kept and listed in out->probes
 * (codegen_target.observe_all), for --check-finite. */
int compile_observed_for_device(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                                plan *out, qsdc_error *err);
/* compile_plan with target's choices made on env's device: target->tuner
 * is set to one that lives until the call returns. */
int compile_tuned(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                  codegen_target *target, bool remeasure, FILE *report, plan *out, graph *g,
                  fusion *f, qsdc_error *err);

#endif
