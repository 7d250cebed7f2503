/* An ONNX model under construction: nodes, initializers and the graph's
 * inputs and outputs as protobuf-c messages (the code protoc-c generates at
 * build time from the installed onnx.proto), encoded and written at the
 * end. Every string and array is the builder's own; an allocation that
 * fails marks the builder, and og_write then fails, so callers add without
 * checking each step. */
#ifndef QSDC_ONNX_GRAPH_H
#define QSDC_ONNX_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "onnx.pb-c.h"

/* The opset the exporter writes: Squeeze, Unsqueeze and ReduceSum take
 * their axes as inputs, ReduceMean as an attribute. */
#define ONNX_OPSET 13

typedef struct onnx_graph {
    void **owned;                   /* every allocation, freed by og_free */
    size_t n_owned, cap_owned;
    Onnx__NodeProto **nodes;
    size_t n_nodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
    Onnx__ValueInfoProto *inputs[4], *outputs[4];
    size_t n_inputs, n_outputs;
    bool oom;
} onnx_graph;

void og_init(onnx_graph *g);
void og_free(onnx_graph *g);

/* A string of the builder's, printf-formatted ("" when out of memory). */
const char *og_name(onnx_graph *g, const char *fmt, ...) QSDC_PRINTF(2, 3);

/* A node op(in...) -> out... named name; returns it for attributes (NULL
 * when out of memory: the attribute calls then do nothing). An input ""
 * is an omitted optional one. */
Onnx__NodeProto *og_node(onnx_graph *g, const char *op, const char *name, const char *const *in,
                         int n_in, const char *const *out, int n_out);
/* og_node with one output, the node named after it; og_op with one or
 * two inputs (in1 NULL: one). */
Onnx__NodeProto *og_op_n(onnx_graph *g, const char *op, const char *out, const char *const *in,
                         int n_in);
Onnx__NodeProto *og_op(onnx_graph *g, const char *op, const char *out, const char *in0,
                       const char *in1);
void og_attr_int(onnx_graph *g, Onnx__NodeProto *n, const char *name, int64_t v);
void og_attr_ints(onnx_graph *g, Onnx__NodeProto *n, const char *name, const int64_t *v,
                  int count);
void og_attr_float(onnx_graph *g, Onnx__NodeProto *n, const char *name, float v);

/* Initializers, the values copied: float32 of rank dims (rank 0: a
 * scalar); int64 1-D of count values, or with scalar one value of rank 0.
 * Return name. */
const char *og_init_f32(onnx_graph *g, const char *name, int rank, const int64_t *dims,
                        const float *v);
const char *og_init_i64(onnx_graph *g, const char *name, const int64_t *v, int count,
                        bool scalar);

/* A graph input or output of ONNX element type elem (ONNX__TENSOR_PROTO__DATA_TYPE__*):
 * rank dims, the first the symbolic "batch", a negative one unknown. */
void og_input(onnx_graph *g, const char *name, int32_t elem, int rank, const int64_t *dims);
void og_output(onnx_graph *g, const char *name, int32_t elem, int rank, const int64_t *dims);

/* Encodes the model (graph name, producer qsdc) and writes it to path
 * atomically. */
int og_write(onnx_graph *g, const char *graph_name, const char *path, qsdc_error *err);

#endif
