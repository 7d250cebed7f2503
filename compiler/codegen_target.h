/* What the compiler is told about the device it generates code for: plain
 * data that the runtime fills (the device's facts) and hands down to
 * compile_plan, with the tuner the pipeline asks for the choices that need
 * measuring (compile_tuner.h). The compiler never asks a device itself. */
#ifndef QSDC_CODEGEN_TARGET_H
#define QSDC_CODEGEN_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "device_profile.h"
#include "gemm_family.h"
#include "graph.h"
#include "plan.h"

/* A conv2d layer as the direct-or-GEMM choice keys it: input channels and
 * size, output channels, window. */
typedef struct conv_shape {
    int64_t c, h, w, co;
    window2d win;
} conv_shape;

/* An lstm recurrence as its shape choice keys it: batch, time steps,
 * units. */
typedef struct recur_shape {
    int64_t b, t, h;
} recur_shape;

/* Distinct lstm shapes a compilation asks the tuner about; the rest keep
 * vectors. */
#define LSTM_MAX_SHAPES 16

/* A window kernel as its rows-or-lanes choice keys it: its op (im2col,
 * col2im, a pool or a pool's gradient) and its geometry, the [N, C, H, W]
 * map it windows (the forward's input, the backward's output) and the
 * window, so that a layer's forward and backward kernels share one. */
typedef struct window_shape {
    op_kind op;
    int64_t n, c, h, w;
    window2d win;
} window_shape;

/* Distinct window shapes a compilation asks the tuner about; the rest
 * follow the family. */
#define WINDOW_MAX_SHAPES 32

/* How window kernels spread over work-items (codegen_window.c): a row
 * each, or an element each, consecutive work-items on consecutive elements
 * (lanes). */
typedef enum window_spread {
    WINDOWS_BY_FAMILY, /* lanes on the lane family (codegen_lanes) but for the
                          shapes codegen_target.row_windows lists; rows elsewhere */
    WINDOWS_ROWS,      /* every one a row per work-item */
    WINDOWS_LANES,     /* every one an element per work-item */
} window_spread;

typedef struct codegen_target {
    bool is_cpu;
    unsigned pref_vector_width;
    device_profile profile;
    /* the GEMM family of the shapes neither list below names: the panel
     * family when zero, else the tiled family with these tiles */
    gemm_tiles gemm_tiles;
    /* GEMM shapes whose backend was chosen (m, n, k and transposes are
     * compared): CLBlast, or a family by its tiles (zero: panel); compile_plan
     * fills them from the tuner */
    const gemm_pick *picks;
    int n_picks;
    /* keep each hidden activation (the output of every relu, tanh and
     * sigmoid layer) to the end of the pass, host-visible by layer name */
    bool observe;
    /* keep every node's output to the end of the pass and list them in
     * plan.probes, for --check-finite */
    bool observe_all;
    /* conv2d layers run as direct convolutions (conv_direct.c) instead of
     * im2col + per-sample GEMM: every one, or those of the listed shapes */
    bool direct_conv_all;
    const conv_shape *direct_conv;
    int n_direct_conv;
    /* lstm recurrences whose work-items own one unit each, consecutive
     * work-items consecutive units (codegen_lstm.c), instead of a vector of
     * adjacent units each: every one, or those of the listed shapes */
    bool scalar_lstm_all;
    const recur_shape *scalar_lstm;
    int n_scalar_lstm;
    /* window kernels (im2col, col2im, pools and their gradients) as rows or
     * lanes: by the family, with the listed shapes rows on the lane family
     * (compile_plan fills them from the tuner), or every one one way */
    window_spread windows;
    const window_shape *row_windows;
    int n_row_windows;
    /* the device ends a work-item's loops after this many iterations (0:
     * never); kernels are shaped to stay under half of it */
    uint32_t loop_limit;
    /* asked for the choices above that are not set, once per compilation
     * (NULL: none are made) */
    const struct compile_tuner *tuner;
} codegen_target;

/* The lane family: kernels shaped for devices that run work-items in SIMD
 * lanes (work-group tree reductions, explicit work-groups for flat
 * kernels), chosen with the tiled GEMM family, so that plan.yaml's tiles
 * record it; the panel family's kernels are shaped for CPUs. */
static inline bool codegen_lanes(const codegen_target *t)
{
    return gemm_tiled(&t->gemm_tiles);
}

#endif
