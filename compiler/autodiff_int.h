/* Internal to autodiff: graph_autodiff (autodiff.c) writes the backward of
 * the dense, activation and QSD nodes itself and hands the other families
 * to autodiff_conv.c and autodiff_rnn.c; all of them build with
 * autodiff_parts.c. Calls run that way only: autodiff.c -> family -> parts. */
#ifndef QSDC_AUTODIFF_INT_H
#define QSDC_AUTODIFF_INT_H

#include "graph.h"

typedef struct ad {
    graph *g;
    int *grad;      /* forward tensor id -> its gradient tensor, or -1 */
    bool *needs;    /* forward tensor id -> depends on a parameter */
} ad;

/* autodiff_parts.c. A new tensor "d.NAME" shaped like tensor `of`. */
int grad_tensor(graph *g, int of, tensor_kind kind);
/* Adds dx to x's gradient (views map back to their storage, fan-out sums). */
int add_grad(ad *s, int x, int dx);
bool needs_grad(const ad *s, int t);

/* The backward of forward node i (an embedding, lstm or sequence pool) whose
 * output gradient is dy; -1 when out of memory. */
int backward_rnn(ad *s, int i, int dy);
/* The same for conv2d's, pooling's, batchnorm's and shared-mask QSD's nodes
 * (autodiff_conv.c); 0 for nodes without a backward. */
int backward_conv(ad *s, int i, int dy);

#endif
