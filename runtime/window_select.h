/* The window kernels' spread per device and shape on the lane family: a
 * row per work-item with vector loads (the CPU shape) or an element per
 * work-item, consecutive work-items on consecutive elements (lanes),
 * chosen by measuring both once and caching the times per device (beside
 * the GEMM, conv2d and lstm choices). On llvmpipe im2col and col2im ran
 * faster as lanes and the pools and their gradients as rows. */
#ifndef QSDC_WINDOW_SELECT_H
#define QSDC_WINDOW_SELECT_H

#include <stdio.h>

#include "cl_runtime.h"
#include "codegen_target.h"

/* rows[i]: whether window kernel shapes[i] (of n) runs faster on env's
 * device for target a row per work-item than an element per work-item.
 * Each layer shape (a conv2d's im2col and col2im, a pool and its
 * gradient) is measured once for both of its kernels, in a training plan
 * of a model that computes the layer's input gradient. QSDC_WINDOW=rows or
 * =lanes forces one way for every shape; otherwise the times come from the
 * per-device cache, measured when absent (and with remeasure, once per
 * env: measured_choice.h), and are printed to report when not NULL. */
int window_select(cl_env *env, const codegen_target *target, const window_shape *shapes, int n,
                  bool remeasure, FILE *report, bool *rows, qsdc_error *err);

#endif
