/* The ONNX model builder (onnx_graph.h) over protobuf-c's messages. */
#include "onnx_graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_io.h"

/* raw_data is little-endian: the host's floats are copied as they are */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ONNX export copies floats as raw little-endian data"
#endif

void og_init(onnx_graph *g)
{
    memset(g, 0, sizeof *g);
}

void og_free(onnx_graph *g)
{
    for (size_t i = 0; i < g->n_owned; i++)
        free(g->owned[i]);
    free(g->owned);
    free(g->nodes);
    free(g->inits);
    memset(g, 0, sizeof *g);
}

/* Appends p to the array *a of *n, growing it; false when out of memory. */
static bool push(void ***a, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 32;
        void **b = realloc(*a, c * sizeof *b);
        if (!b)
            return false;
        *a = b;
        *cap = c;
    }
    (*a)[(*n)++] = p;
    return true;
}

/* n zeroed bytes the builder frees, or NULL (marked) */
static void *own(onnx_graph *g, size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (p && !push(&g->owned, &g->n_owned, &g->cap_owned, p)) {
        free(p);
        p = NULL;
    }
    if (!p)
        g->oom = true;
    return p;
}

static char *own_str(onnx_graph *g, const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = own(g, n);
    if (c)
        memcpy(c, s, n);
    return c;
}

const char *og_name(onnx_graph *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? own(g, (size_t)n + 1) : NULL;
    if (!s)
        return "";
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static char **own_strs(onnx_graph *g, const char *const *v, int n)
{
    char **a = own(g, (size_t)n * sizeof *a);
    for (int i = 0; a && i < n; i++)
        a[i] = own_str(g, v[i]);
    return a;
}

Onnx__NodeProto *og_node(onnx_graph *g, const char *op, const char *name, const char *const *in,
                         int n_in, const char *const *out, int n_out)
{
    Onnx__NodeProto *n = own(g, sizeof *n);
    if (!n)
        return NULL;
    onnx__node_proto__init(n);
    n->op_type = own_str(g, op);
    n->name = own_str(g, name);
    n->input = own_strs(g, in, n_in);
    n->n_input = (size_t)n_in;
    n->output = own_strs(g, out, n_out);
    n->n_output = (size_t)n_out;
    if (g->oom || !push((void ***)&g->nodes, &g->n_nodes, &g->cap_nodes, n)) {
        g->oom = true;
        return NULL;
    }
    return n;
}

Onnx__NodeProto *og_op_n(onnx_graph *g, const char *op, const char *out, const char *const *in,
                         int n_in)
{
    return og_node(g, op, out, in, n_in, &out, 1);
}

Onnx__NodeProto *og_op(onnx_graph *g, const char *op, const char *out, const char *in0,
                       const char *in1)
{
    const char *in[2] = {in0, in1};
    return og_op_n(g, op, out, in, in1 ? 2 : 1);
}

static Onnx__AttributeProto *attr(onnx_graph *g, Onnx__NodeProto *n, const char *name,
                                  Onnx__AttributeProto__AttributeType type)
{
    if (!n)
        return NULL;
    Onnx__AttributeProto *a = own(g, sizeof *a);
    Onnx__AttributeProto **all = own(g, (n->n_attribute + 1) * sizeof *all);
    if (!a || !all)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = own_str(g, name);
    a->has_type = 1;
    a->type = type;
    if (n->n_attribute)
        memcpy(all, n->attribute, n->n_attribute * sizeof *all);
    all[n->n_attribute++] = a;
    n->attribute = all;
    return a;
}

void og_attr_int(onnx_graph *g, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) {
        a->has_i = 1;
        a->i = v;
    }
}

void og_attr_ints(onnx_graph *g, Onnx__NodeProto *n, const char *name, const int64_t *v,
                  int count)
{
    Onnx__AttributeProto *a = attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *c = a ? own(g, (size_t)count * sizeof *c) : NULL;
    if (c) {
        memcpy(c, v, (size_t)count * sizeof *c);
        a->ints = c;
        a->n_ints = (size_t)count;
    }
}

void og_attr_float(onnx_graph *g, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) {
        a->has_f = 1;
        a->f = v;
    }
}

/* A tensor of rank dims whose raw_data (little-endian, as ONNX stores it)
 * is bytes copied from v. */
static const char *add_init(onnx_graph *g, const char *name, int32_t type, int rank,
                            const int64_t *dims, const void *v, size_t bytes)
{
    Onnx__TensorProto *t = own(g, sizeof *t);
    int64_t *d = own(g, (size_t)rank * sizeof *d);
    uint8_t *data = own(g, bytes);
    if (!t || !d || !data)
        return name;
    onnx__tensor_proto__init(t);
    t->name = own_str(g, name);
    t->has_data_type = 1;
    t->data_type = type;
    if (rank)
        memcpy(d, dims, (size_t)rank * sizeof *d);
    t->dims = d;
    t->n_dims = (size_t)rank;
    memcpy(data, v, bytes);
    t->has_raw_data = 1;
    t->raw_data.data = data;
    t->raw_data.len = bytes;
    if (!push((void ***)&g->inits, &g->n_inits, &g->cap_inits, t))
        g->oom = true;
    return name;
}

const char *og_init_f32(onnx_graph *g, const char *name, int rank, const int64_t *dims,
                        const float *v)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    return add_init(g, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims, v,
                    (size_t)n * sizeof *v);
}

const char *og_init_i64(onnx_graph *g, const char *name, const int64_t *v, int count,
                        bool scalar)
{
    int64_t dims[1] = {count};
    return add_init(g, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, scalar ? 0 : 1, dims, v,
                    (size_t)count * sizeof *v);
}

static Onnx__ValueInfoProto *value_info(onnx_graph *g, const char *name, int32_t elem,
                                        int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = own(g, sizeof *v);
    Onnx__TypeProto *type = own(g, sizeof *type);
    Onnx__TypeProto__Tensor *tt = own(g, sizeof *tt);
    Onnx__TensorShapeProto *shape = own(g, sizeof *shape);
    Onnx__TensorShapeProto__Dimension **dim = own(g, (size_t)rank * sizeof *dim);
    if (!v || !type || !tt || !shape || !dim)
        return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(type);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(shape);
    v->name = own_str(g, name);
    v->type = type;
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    tt->shape = shape;
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = own(g, sizeof *d);
        if (!d)
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (i == 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = own_str(g, "batch");
        } else if (dims[i] >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        }
        dim[i] = d;
    }
    shape->dim = dim;
    shape->n_dim = (size_t)rank;
    return v;
}

static void add_value(onnx_graph *g, Onnx__ValueInfoProto **list, size_t *n, const char *name,
                      int32_t elem, int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = value_info(g, name, elem, rank, dims);
    if (!v || *n == 4)
        g->oom = true;
    else
        list[(*n)++] = v;
}

void og_input(onnx_graph *g, const char *name, int32_t elem, int rank, const int64_t *dims)
{
    add_value(g, g->inputs, &g->n_inputs, name, elem, rank, dims);
}

void og_output(onnx_graph *g, const char *name, int32_t elem, int rank, const int64_t *dims)
{
    add_value(g, g->outputs, &g->n_outputs, name, elem, rank, dims);
}

int og_write(onnx_graph *g, const char *graph_name, const char *path, qsdc_error *err)
{
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *opsets[1] = {&opset};
    if (g->oom)
        return qsdc_fail(err, "%s: out of memory building the ONNX model", path);
    opset.domain = "";
    opset.has_version = 1;
    opset.version = ONNX_OPSET;
    graph.name = (char *)graph_name;
    graph.node = g->nodes;
    graph.n_node = g->n_nodes;
    graph.initializer = g->inits;
    graph.n_initializer = g->n_inits;
    graph.input = g->inputs;
    graph.n_input = g->n_inputs;
    graph.output = g->outputs;
    graph.n_output = g->n_outputs;
    model.has_ir_version = 1;
    model.ir_version = ONNX__VERSION__IR_VERSION;
    model.opset_import = opsets;
    model.n_opset_import = 1;
    model.producer_name = "qsdc";
    model.producer_version = QSDC_VERSION;
    model.graph = &graph;
    size_t len = onnx__model_proto__get_packed_size(&model);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return qsdc_fail(err, "%s: out of memory encoding %zu bytes of ONNX", path, len);
    onnx__model_proto__pack(&model, buf);
    int rc = fs_write_atomic(path, buf, len, NULL, 0, err);
    free(buf);
    return rc;
}
