/* Values of an ONNX file's tensors and node attributes (onnx_values.h). */
#include "onnx_values.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int64_t onnx_tensor_elems(const Onnx__TensorProto *t)
{
    int64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || (t->dims[i] && n > INT32_MAX / t->dims[i]))
            return -1;
        n *= t->dims[i];
    }
    return n;
}

/* t's n values as floats (float or double data, raw or typed); -1 when
 * it holds anything else. */
int onnx_tensor_floats(const Onnx__TensorProto *t, int64_t n, float *out)
{
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return -1;
    bool f32 = t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    bool f64 = t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    size_t size = f32 ? 4 : 8;
    if ((!f32 && !f64) || n < 0)
        return -1;
    if (t->has_raw_data && t->raw_data.len == (size_t)n * size) {
        for (int64_t i = 0; i < n; i++) {
            if (f32) {
                memcpy(&out[i], t->raw_data.data + 4 * i, 4);
            } else {
                double d;
                memcpy(&d, t->raw_data.data + 8 * i, 8);
                out[i] = (float)d;
            }
        }
    } else if (f32 && t->n_float_data == (size_t)n) {
        if (n > 0) /* no data is a NULL array */
            memcpy(out, t->float_data, (size_t)n * sizeof *out);
    } else if (f64 && t->n_double_data == (size_t)n) {
        for (int64_t i = 0; i < n; i++)
            out[i] = (float)t->double_data[i];
    } else {
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(out[i]))
            return -1;
    return 0;
}

/* An int64 tensor's values (at most cap); returns their count or -1. */
int onnx_tensor_ints(const Onnx__TensorProto *t, int64_t *out, int cap)
{
    int64_t n = onnx_tensor_elems(t);
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || n < 0 || n > cap)
        return -1;
    if (n == 0) /* no data is a NULL array */
        return 0;
    if (t->has_raw_data && t->raw_data.len == (size_t)n * 8)
        memcpy(out, t->raw_data.data, (size_t)n * 8);
    else if (t->n_int64_data == (size_t)n)
        memcpy(out, t->int64_data, (size_t)n * 8);
    else
        return -1;
    return (int)n;
}

const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

int64_t onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    return a && a->has_i ? a->i : dflt;
}

float onnx_attr_float(const Onnx__NodeProto *n, const char *name, float dflt)
{
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    return a && a->has_f ? a->f : dflt;
}

/* A pair attribute (kernel_shape, strides, dilations) or, for pads, the
 * symmetric [top, left] of [top, left, bottom, right]; -1 when it is
 * something else. */
int onnx_attr_pair(const Onnx__NodeProto *n, const char *name, int64_t dflt, int64_t out[2])
{
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    out[0] = out[1] = dflt;
    if (!a)
        return 0;
    bool pads = strcmp(name, "pads") == 0;
    if (a->n_ints != (pads ? 4u : 2u) || (pads && (a->ints[0] != a->ints[2] ||
                                                   a->ints[1] != a->ints[3])))
        return -1;
    out[0] = a->ints[0];
    out[1] = a->ints[1];
    return out[0] < 0 || out[1] < 0 ? -1 : 0;
}

