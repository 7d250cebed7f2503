/* Internal to autodiff: the state autodiff.c shares with the per-family
 * backward files (autodiff_rnn.c). */
#ifndef QSDC_AUTODIFF_H
#define QSDC_AUTODIFF_H

#include "graph.h"

typedef struct ad {
    graph *g;
    int *grad;      /* forward tensor id -> its gradient tensor, or -1 */
    bool *needs;    /* forward tensor id -> depends on a parameter */
} ad;

/* A new tensor "d.NAME" shaped like tensor `of`. */
int grad_tensor(graph *g, int of, tensor_kind kind);
/* Adds dx to x's gradient (views map back to their storage, fan-out sums). */
int add_grad(ad *s, int x, int dx);
bool needs_grad(const ad *s, int t);

/* The backward of forward node i (an embedding, lstm or sequence pool) whose
 * output gradient is dy; -1 when out of memory. */
int backward_rnn(ad *s, int i, int dy);

#endif
