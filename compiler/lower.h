/* Internal to lowering: helpers lower.c shares with the per-family lowering
 * files (lower_rnn.c). */
#ifndef QSDC_LOWER_H
#define QSDC_LOWER_H

#include "graph.h"

/* Fails with "path:line:col: error: KIND 'name': msg [shape a] and [shape b]". */
int layer_fail(const model *m, const layer *l, qsdc_error *err, const char *msg,
               const tensor *a, const tensor *b);
/* A parameter "layer.what" placed in the parameter allocation. */
int add_param(graph *g, const char *layer_name, const char *what, int rank,
              const int64_t *dims, init_kind init, int64_t fan_in, int64_t fan_out);
/* A view of x's memory with another shape (same element count). */
int lower_view(graph *g, const char *name, int x, int rank, const int64_t *dims);

/* lower_rnn.c: each returns the layer's output tensor, or -1 with err set
 * (or err empty when out of memory). */
int lower_embedding(const model *m, int li, graph *g, int x, qsdc_error *err);
int lower_lstm(const model *m, int li, graph *g, int x, qsdc_error *err);
int lower_pool_sequence(const model *m, int li, graph *g, int x, qsdc_error *err);

#endif
