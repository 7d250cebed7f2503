/* Internal to lowering: the helpers lower.c shares with lower_conv.c, and
 * the layers lower_conv.c lowers. Each returns the new tensor or node id, or
 * -1 (on allocation failure, or with err set for the *_fail/layer ones). */
#ifndef QSDC_LOWER_H
#define QSDC_LOWER_H

#include "graph.h"

/* "path:line:col: error: <op> '<name>': msg [a shape] and [b shape]" */
int lower_fail(const model *m, const layer *l, qsdc_error *err, const char *msg,
               const tensor *a, const tensor *b);
/* The layer's init, or he/glorot by whether a ReLU reads it. */
init_kind lower_auto_init(const model *m, int li);
/* A parameter "<layer_name>.<what>" at the end of the parameter allocation. */
int lower_param(graph *g, const char *layer_name, const char *what, int rank,
                const int64_t *dims, init_kind init, int64_t fan_in, int64_t fan_out);
/* An activation shaped like `like`. */
int lower_act(graph *g, const char *name, const tensor *like);
/* A view of x's memory with another shape. */
int lower_view(graph *g, const char *name, int x, int rank, const int64_t *dims);

/* lower_conv.c: x is the layer's input tensor. */
int lower_conv2d(const model *m, int li, graph *g, int x, qsdc_error *err);
int lower_pool(const model *m, int li, graph *g, int x, qsdc_error *err);
int lower_batchnorm(const model *m, int li, graph *g, int x, qsdc_error *err);
/* A QSD/dropout layer with share channel or time, in training: its masks
 * drawn once per group (a node at the start of the graph), then applied. */
int lower_qsd_shared(const model *m, int li, graph *g, int x);

#endif
