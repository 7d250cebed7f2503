/* The lstm recurrence's shape per device and shape: a vector of adjacent
 * units per work-item (what CPUs and llvmpipe run fastest) or one unit per
 * work-item, consecutive work-items on consecutive units (what devices
 * that run work-items in lanes should want), chosen by measuring both once
 * and caching the times per device (beside the GEMM and conv2d choices). */
#ifndef QSDC_LSTM_SELECT_H
#define QSDC_LSTM_SELECT_H

#include <stdio.h>

#include "cl_runtime.h"
#include "codegen_target.h"

/* scalar[i]: whether lstm shapes[i] (of n) trains faster on env's device
 * for target with one unit per work-item: the forward and backward
 * recurrences' launches timed together, each shape as a one-layer model's
 * training plan. QSDC_LSTM=vector or =scalar forces one way for every
 * shape; otherwise the times come from the per-device cache, measured when
 * absent (and with remeasure, once per env: measured_choice.h), and are
 * printed to report when not NULL. */
int lstm_select(cl_env *env, const codegen_target *target, const recur_shape *shapes, int n,
                bool remeasure, FILE *report, bool *scalar, qsdc_error *err);

#endif
