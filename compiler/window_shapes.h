/* The window kernels' shapes (codegen_target.window_shape): those a fused
 * graph runs as kernels of their own, for the tuner to choose rows or
 * lanes for, and the spread the target gives each. */
#ifndef QSDC_WINDOW_SHAPES_H
#define QSDC_WINDOW_SHAPES_H

#include "codegen_target.h"
#include "fusion.h"

/* The shape of window node n (im2col, col2im, a pool or its gradient). */
window_shape window_shape_of(const graph *g, const gnode *n);
bool window_shape_equal(const window_shape *a, const window_shape *b);
/* The shapes of f's window kernels (a GEMM's joined im2col or col2im is a
 * phase of the GEMM's kernel, and a QSD mask draw no window), each once,
 * in graph order: at most max into out; returns how many. */
int window_shapes(const graph *g, const fusion *f, window_shape *out, int max);
/* Whether t runs a window kernel of shape s an element per work-item. */
bool window_lanes(const codegen_target *t, const window_shape *s);

#endif
