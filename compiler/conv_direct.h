/* Direct convolution where the target chose it: a conv2d layer lowers to
 * im2col + per-sample GEMM (lower_conv.c); this pass, run before autodiff,
 * turns the pair into one OP_CONV2D node for the layers the target lists.
 * The backward then recomputes the im2col for the weight gradient
 * (autodiff_conv.c), so no col matrix stays alive across the pass. */
#ifndef QSDC_CONV_DIRECT_H
#define QSDC_CONV_DIRECT_H

#include "codegen_target.h"

#define CONV_MAX_LAYERS 64

/* The forward's im2col + bmatmul pairs: the im2col node ids and the layers'
 * shapes, at most max of them; returns how many. */
int graph_conv_layers(const graph *g, int *im2col_node, conv_shape *shape, int max);
bool conv_shape_equal(const conv_shape *a, const conv_shape *b);
/* Rewrites the pairs the target runs directly; graph g has no backward yet. */
void graph_direct_conv(graph *g, const codegen_target *t);

#endif
