/* Reading an ONNX file's tensors (initializers, Constant values) and node
 * attributes, every size checked against what the message holds. */
#ifndef QSDC_ONNX_VALUES_H
#define QSDC_ONNX_VALUES_H

#include <stdint.h>

#include "onnx.pb-c.h"

/* The product of t's dims, or -1 when one is negative or it passes 2^31. */
int64_t onnx_tensor_elems(const Onnx__TensorProto *t);
/* t's n values as finite floats (float or double data, raw or typed) into
 * out; -1 when it holds anything else. */
int onnx_tensor_floats(const Onnx__TensorProto *t, int64_t n, float *out);
/* An int64 tensor's values (at most cap) into out; their count, or -1. */
int onnx_tensor_ints(const Onnx__TensorProto *t, int64_t *out, int cap);

const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name);
int64_t onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt);
float onnx_attr_float(const Onnx__NodeProto *n, const char *name, float dflt);
/* A pair attribute (kernel_shape, strides, dilations; dflt when absent) or,
 * for pads, the symmetric [top, left] of [top, left, bottom, right]; -1
 * when it is something else or negative. */
int onnx_attr_pair(const Onnx__NodeProto *n, const char *name, int64_t dflt, int64_t out[2]);

#endif
