/* Internal to autodiff: the state and helpers autodiff.c shares with
 * autodiff_conv.c, which emits the backward of the conv2d, pooling and
 * batchnorm nodes. */
#ifndef QSDC_AUTODIFF_H
#define QSDC_AUTODIFF_H

#include "graph.h"

typedef struct ad {
    graph *g;
    int *grad;      /* forward tensor id -> its gradient tensor, or -1 */
    bool *needs;    /* forward tensor id -> depends on a parameter */
} ad;

/* A new tensor "d.<name>" shaped like tensor `of`. */
int ad_grad_tensor(graph *g, int of, tensor_kind kind);
/* Adds dx to x's gradient (through views, summing fan-out). */
int ad_add_grad(ad *s, int x, int dx);
bool ad_needs_grad(const ad *s, int t);
/* The backward of forward node i (an op of autodiff_conv.c, or none) with
 * output gradient dy. */
int ad_backward_conv(ad *s, int i, int dy);

#endif
