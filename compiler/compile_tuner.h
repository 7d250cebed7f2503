/* The device-specific choices of a compilation, each asked for once inside
 * compile_plan: how every conv2d layer runs, right after lowering (the
 * choice decides the graph that autodiff differentiates), how every lstm
 * recurrence spreads its units over work-items, which backend runs every
 * GEMM, after fusion and the memory plan, and then, where the GEMMs' family
 * is the lane family, how every window kernel spreads over work-items;
 * all before code generation, so the model is generated once. The runtime answers from its
 * per-device cache or by measuring (runtime/device_tuner.c); the compiler
 * knows only this interface. */
#ifndef QSDC_COMPILE_TUNER_H
#define QSDC_COMPILE_TUNER_H

#include "codegen_target.h"
#include "error.h"

typedef struct compile_tuner {
    void *ctx;
    /* direct[i]: whether conv2d layer shapes[i] (of n, in lowering order)
     * runs as a direct convolution in a pass of mode at batch */
    int (*convs)(void *ctx, graph_mode mode, int64_t batch, const conv_shape *shapes, int n,
                 bool *direct, qsdc_error *err);
    /* scalar[i]: whether lstm recurrence shapes[i] (of n, in lowering
     * order) runs one unit per work-item (codegen_target.scalar_lstm) */
    int (*lstms)(void *ctx, const recur_shape *shapes, int n, bool *scalar, qsdc_error *err);
    /* sizes: the plan's sizes (params, state, arena, labels; no launches),
     * for refusing a plan the device cannot hold before measuring for it;
     * picks[i]: the backend of shapes[i] (of n, the generated GEMMs in
     * launch order, repeats included) */
    int (*gemms)(void *ctx, const plan *sizes, const plan_gemm *shapes, int n, gemm_pick *picks,
                 qsdc_error *err);
    /* rows[i]: whether window kernel shapes[i] (of n, in graph order) runs a
     * row per work-item on the lane family (codegen_target.row_windows) */
    int (*windows)(void *ctx, const window_shape *shapes, int n, bool *rows, qsdc_error *err);
} compile_tuner;

#endif
