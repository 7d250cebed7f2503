/* Internal to lowering: graph_lower (lower.c) lowers the dense, activation
 * and QSD layers itself and hands the other families to lower_conv.c and
 * lower_rnn.c; all of them build with lower_parts.c. Calls run that way
 * only: lower.c -> family -> parts. */
#ifndef QSDC_LOWER_INT_H
#define QSDC_LOWER_INT_H

#include "graph.h"

#define PARAM_ALIGN 16 /* elements: parameter offsets allow 64-byte vector loads */

/* lower_parts.c. Fails with "path:line:col: error: KIND 'name': msg [shape a] and [shape b]". */
int layer_fail(const model *m, const layer *l, qsdc_error *err, const char *msg,
               const tensor *a, const tensor *b);
/* A parameter "layer.what" placed in the parameter allocation. */
int add_param(graph *g, const char *layer_name, const char *what, int rank,
              const int64_t *dims, init_kind init, int64_t fan_in, int64_t fan_out);
/* A view of x's memory with another shape (same element count). */
int lower_view(graph *g, const char *name, int x, int rank, const int64_t *dims);
/* The layer's weight init: its own, or he/glorot by whether a ReLU reads it. */
init_kind auto_init(const model *m, int li);

/* lower_rnn.c: each returns the layer's output tensor, or -1 with err set
 * (or err empty when out of memory). */
int lower_embedding(const model *m, int li, graph *g, int x, qsdc_error *err);
int lower_lstm(const model *m, int li, graph *g, int x, qsdc_error *err);
int lower_pool_sequence(const model *m, int li, graph *g, int x, qsdc_error *err);

/* lower_conv.c, as lower_rnn.c: conv2d (im2col + per-sample GEMM), pooling,
 * batchnorm, and a QSD/dropout layer with share: channel in training (its
 * masks drawn once per (sample, channel) by a node at the start of the
 * graph, then applied). */
int lower_conv2d(const model *m, int li, graph *g, int x, qsdc_error *err);
int lower_pool(const model *m, int li, graph *g, int x, qsdc_error *err);
int lower_batchnorm(const model *m, int li, graph *g, int x, qsdc_error *err);
int lower_qsd_shared(const model *m, int li, graph *g, int x);

#endif
