/* ONNX files as qsdc models (onnx_import.h). The graph's nodes are walked in
 * file order (ONNX keeps them topologically sorted): each becomes a layer
 * named after its kind and index ("dense3"), or an alias of its input
 * (Identity, Dropout, a Flatten-like Reshape after global pooling), or a
 * bias folded into the MatMul before it. Weights are read from the
 * initializers (and Constant nodes) and kept in qsdc's layouts until the
 * session's plan places them. */
#include "onnx_import.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_io.h"
#include "model_parse.h"
#include "onnx.pb-c.h"
#include "onnx_values.h"

#define ONNX_MAX_BYTES ((size_t)2 << 30)

typedef struct value {
    const char *onnx;       /* the ONNX value */
    int layer;              /* the qsdc layer that makes it, -1: the model input */
} value;

typedef struct importer {
    const char *path;
    const Onnx__GraphProto *g;
    model *m;
    onnx_params *w;
    value *values;
    int n_values;
    const Onnx__TensorProto **consts;  /* Constant nodes' values */
    const char **const_names;
    int n_consts;
    qsdc_error *e;
} importer;

/* An optional string of the file: NULL when it is absent. */
static const char *str(const char *s)
{
    return s ? s : "";
}

static int fail_node(importer *x, const Onnx__NodeProto *n, const char *why)
{
    return qsdc_fail(x->e, "%s: node '%s' (op %s): %s", x->path, str(n->name),
                     str(n->op_type), why);
}

static const Onnx__TensorProto *const_tensor(const importer *x, const char *name)
{
    for (size_t i = 0; i < x->g->n_initializer; i++)
        if (strcmp(str(x->g->initializer[i]->name), name) == 0)
            return x->g->initializer[i];
    for (int i = 0; i < x->n_consts; i++)
        if (strcmp(x->const_names[i], name) == 0)
            return x->consts[i];
    return NULL;
}

static int find_value(const importer *x, const char *name)
{
    for (int i = x->n_values - 1; i >= 0; i--)
        if (strcmp(x->values[i].onnx, name) == 0)
            return i;
    return -1;
}

static int set_value(importer *x, const char *name, int layer)
{
    value *v = realloc(x->values, (size_t)(x->n_values + 1) * sizeof *v);
    if (!v)
        return qsdc_fail(x->e, "out of memory");
    x->values = v;
    v[x->n_values++] = (value){name, layer};
    return 0;
}

/* A new layer of kind reading the node's data inputs (those that are not
 * weights), its output the node's first. */
static layer *add_layer(importer *x, const Onnx__NodeProto *n, layer_kind kind, int n_in)
{
    model *m = x->m;
    if ((size_t)n_in > n->n_input || n_in > QSDC_MAX_INPUTS || n->n_output < 1) {
        fail_node(x, n, "not the inputs and outputs its op has");
        return NULL;
    }
    layer *ls = realloc(m->layers, (size_t)(m->n_layers + 1) * sizeof *ls);
    if (!ls) {
        qsdc_fail(x->e, "out of memory");
        return NULL;
    }
    m->layers = ls;
    layer *l = &ls[m->n_layers];
    memset(l, 0, sizeof *l);
    model_conv_defaults(l);
    l->kind = kind;
    l->init = INIT_AUTO;
    snprintf(l->name, sizeof l->name, "%s%d", layer_kind_name(kind), m->n_layers);
    for (int k = 0; k < n_in; k++) {
        int v = find_value(x, n->input[k]);
        if (v < 0) {
            fail_node(x, n, "reads a value no supported node makes");
            return NULL;
        }
        int src = x->values[v].layer;
        snprintf(l->inputs[k], sizeof l->inputs[k], "%s", src < 0 ? "input" : ls[src].name);
    }
    l->n_inputs = n_in;
    if (set_value(x, n->output[0], m->n_layers) < 0)
        return NULL;
    m->n_layers++;
    return l;
}

/* The weight input k of n as floats of the given element count (n < 0:
 * any), malloc'd; NULL with an error when it is not a float initializer. */
static float *weight(importer *x, const Onnx__NodeProto *n, size_t k, int64_t want,
                     const Onnx__TensorProto **tp)
{
    const Onnx__TensorProto *t = k < n->n_input ? const_tensor(x, n->input[k]) : NULL;
    int64_t count = t ? onnx_tensor_elems(t) : -1;
    float *v = count >= 0 && (want < 0 || count == want)
                   ? malloc((size_t)(count ? count : 1) * sizeof *v) : NULL;
    if (!v || onnx_tensor_floats(t, count, v) < 0) {
        free(v);
        fail_node(x, n, t ? "a weight that is not finite float data of the size its op "
                           "needs" : "a weight that is not an initializer or Constant");
        return NULL;
    }
    if (tp)
        *tp = t;
    return v;
}

/* Takes v (count floats) as the parameter "layer.what". */
static int add_param(importer *x, const layer *l, const char *what, float *v, int64_t count)
{
    onnx_params *w = x->w;
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        onnx_param *p = realloc(w->p, (size_t)cap * sizeof *p);
        if (!p) {
            free(v);
            return qsdc_fail(x->e, "out of memory");
        }
        w->p = p;
        w->cap = cap;
    }
    onnx_param *p = &w->p[w->n++];
    snprintf(p->name, sizeof p->name, "%s.%s", l->name, what);
    p->v = v;
    p->n = count;
    return 0;
}

/* Gemm: y = A B (+ C), B [in, out] or with transB [out, in] (PyTorch's). */
static int import_gemm(importer *x, const Onnx__NodeProto *n)
{
    if (onnx_attr_int(n, "transA", 0) || onnx_attr_float(n, "alpha", 1) != 1.0f ||
        onnx_attr_float(n, "beta", 1) != 1.0f)
        return fail_node(x, n, "only alpha 1, beta 1 and no transA are supported");
    const Onnx__TensorProto *bt;
    float *b = weight(x, n, 1, -1, &bt);
    if (!b)
        return -1;
    if (bt->n_dims != 2) {
        free(b);
        return fail_node(x, n, "B must be a matrix");
    }
    bool trans = onnx_attr_int(n, "transB", 0) != 0;
    int64_t in = bt->dims[trans ? 1 : 0], out = bt->dims[trans ? 0 : 1];
    if (in < 1 || out < 1) {
        free(b);
        return fail_node(x, n, "B has an empty dimension");
    }
    float *wq = malloc((size_t)(in * out > 0 ? in * out : 1) * sizeof *wq);
    layer *l = wq ? add_layer(x, n, LAYER_DENSE, 1) : NULL;
    if (!l) {
        free(b);
        free(wq);
        return wq ? -1 : qsdc_fail(x->e, "out of memory");
    }
    for (int64_t i = 0; i < in; i++)
        for (int64_t o = 0; o < out; o++)
            wq[i * out + o] = trans ? b[o * in + i] : b[i * out + o];
    free(b);
    l->units = out;
    l->bias = n->n_input > 2 && n->input[2][0];
    if (add_param(x, l, "weight", wq, in * out) < 0)
        return -1;
    if (!l->bias)
        return 0;
    float *c = weight(x, n, 2, out, NULL);
    return c ? add_param(x, l, "bias", c, out) : -1;
}

/* A layer of kind over its weight w, when the weight is shaped for it;
 * else NULL, w freed, with why as the error. */
static layer *weighted_layer(importer *x, const Onnx__NodeProto *n, layer_kind kind, float *w,
                             bool shaped, const char *why)
{
    layer *l = shaped ? add_layer(x, n, kind, 1) : NULL;
    if (!l) {
        free(w);
        if (!shaped)
            fail_node(x, n, why);
    }
    return l;
}

/* MatMul by a weight [in, out]: a dense layer without bias, until an Add
 * of a [out] initializer gives it one. */
static int import_matmul(importer *x, const Onnx__NodeProto *n)
{
    const Onnx__TensorProto *wt;
    float *w = weight(x, n, 1, -1, &wt);
    if (!w)
        return -1;
    bool matrix = wt->n_dims == 2 && wt->dims[0] >= 1 && wt->dims[1] >= 1;
    layer *l = weighted_layer(x, n, LAYER_DENSE, w, matrix,
                              "only a product by a matrix initializer is supported");
    if (!l)
        return -1;
    l->units = wt->dims[1];
    return add_param(x, l, "weight", w, wt->dims[0] * wt->dims[1]);
}

/* Add of two values, or of a MatMul's output and a bias initializer. */
static int import_add(importer *x, const Onnx__NodeProto *n)
{
    if (n->n_input != 2 || n->n_output < 1)
        return fail_node(x, n, "not two inputs");
    int k = const_tensor(x, n->input[1]) ? 1 : const_tensor(x, n->input[0]) ? 0 : -1;
    if (k < 0)
        return add_layer(x, n, LAYER_ADD, 2) ? 0 : -1;
    int v = find_value(x, n->input[1 - k]);
    layer *l = v >= 0 && x->values[v].layer >= 0 ? &x->m->layers[x->values[v].layer] : NULL;
    if (!l || l->kind != LAYER_DENSE || l->bias)
        return fail_node(x, n, "adds a constant to something other than a MatMul's output");
    float *b = weight(x, n, (size_t)k, l->units, NULL);
    if (!b)
        return -1;
    l->bias = true;
    if (add_param(x, l, "bias", b, l->units) < 0)
        return -1;
    return set_value(x, n->output[0], x->values[v].layer);
}

/* The bounds a model file's windows have (compiler/model_conv.c). */
#define WINDOW_MAX 65536

static bool window_ok(const int64_t k[2], const int64_t stride[2], const int64_t pad[2],
                      const int64_t dil[2])
{
    for (int i = 0; i < 2; i++)
        if (k[i] < 1 || k[i] > WINDOW_MAX || stride[i] < 1 || stride[i] > WINDOW_MAX ||
            pad[i] > WINDOW_MAX || dil[i] < 1 || dil[i] > WINDOW_MAX)
            return false;
    return true;
}

static int import_conv(importer *x, const Onnx__NodeProto *n)
{
    const Onnx__TensorProto *wt;
    int64_t stride[2], pad[2], dil[2];
    if (onnx_attr_int(n, "group", 1) != 1)
        return fail_node(x, n, "grouped convolutions are not supported");
    if (onnx_attr(n, "auto_pad") || onnx_attr_pair(n, "strides", 1, stride) < 0 ||
        onnx_attr_pair(n, "pads", 0, pad) < 0 || onnx_attr_pair(n, "dilations", 1, dil) < 0)
        return fail_node(x, n, "only 2-D windows with symmetric explicit pads are supported");
    float *w = weight(x, n, 1, -1, &wt);
    if (!w)
        return -1;
    bool shaped = wt->n_dims == 4 && wt->dims[0] >= 1 &&
                  window_ok(wt->dims + 2, stride, pad, dil);
    layer *l = weighted_layer(x, n, LAYER_CONV2D, w, shaped, "the weight must be [out, in, "
                              "kh, kw] with windows within qsdc's bounds");
    if (!l)
        return -1;
    l->filters = wt->dims[0];
    l->win = (window_params){.kernel = {wt->dims[2], wt->dims[3]}, .stride = {stride[0], stride[1]},
                             .dilation = {dil[0], dil[1]}, .pad = PAD_EXPLICIT,
                             .padding = {pad[0], pad[1]}};
    l->bias = n->n_input > 2 && n->input[2][0];
    if (add_param(x, l, "weight", w, onnx_tensor_elems(wt)) < 0)
        return -1;
    if (!l->bias)
        return 0;
    float *b = weight(x, n, 2, l->filters, NULL);
    return b ? add_param(x, l, "bias", b, l->filters) : -1;
}

static int import_pool(importer *x, const Onnx__NodeProto *n, layer_kind kind)
{
    int64_t k[2], stride[2], pad[2], dil[2];
    if (onnx_attr(n, "auto_pad") || onnx_attr_int(n, "ceil_mode", 0) ||
        onnx_attr_pair(n, "kernel_shape", 0, k) < 0 ||
        onnx_attr_pair(n, "strides", 1, stride) < 0 || onnx_attr_pair(n, "pads", 0, pad) < 0 ||
        onnx_attr_pair(n, "dilations", 1, dil) < 0 || dil[0] != 1 || dil[1] != 1 ||
        !window_ok(k, stride, pad, dil))
        return fail_node(x, n, "only 2-D windows with symmetric explicit pads, no dilation "
                         "and ceil_mode 0 are supported");
    if (kind == LAYER_AVGPOOL && (pad[0] || pad[1]) && !onnx_attr_int(n, "count_include_pad", 0))
        return fail_node(x, n, "padded average pooling must count the padding "
                         "(count_include_pad 1), as qsdc divides by the whole window");
    layer *l = add_layer(x, n, kind, 1);
    if (!l)
        return -1;
    l->win = (window_params){.kernel = {k[0], k[1]}, .stride = {stride[0], stride[1]},
                             .dilation = {1, 1}, .pad = PAD_EXPLICIT, .padding = {pad[0], pad[1]}};
    return 0;
}

/* scale, B, mean and var [C] as qsdc's affine and running [2, C]. */
static int import_batchnorm(importer *x, const Onnx__NodeProto *n)
{
    if (n->n_input != 5 || onnx_attr_int(n, "training_mode", 0))
        return fail_node(x, n, "only inference batch normalisation is supported");
    const Onnx__TensorProto *st;
    float *scale = weight(x, n, 1, -1, &st);
    int64_t c = scale ? onnx_tensor_elems(st) : 0;
    if (scale && c < 1) {
        free(scale);
        return fail_node(x, n, "no channels");
    }
    float *rows[3] = {NULL, NULL, NULL};
    for (int i = 0; scale && i < 3 && (i == 0 || rows[i - 1]); i++)
        rows[i] = weight(x, n, (size_t)(2 + i), c, NULL);
    float *affine = rows[2] ? malloc((size_t)(2 * c) * sizeof *affine) : NULL;
    float *running = affine ? malloc((size_t)(2 * c) * sizeof *running) : NULL;
    layer *l = running ? add_layer(x, n, LAYER_BATCHNORM, 1) : NULL;
    if (l) {
        memcpy(affine, scale, (size_t)c * sizeof *affine);
        memcpy(affine + c, rows[0], (size_t)c * sizeof *affine);
        memcpy(running, rows[1], (size_t)c * sizeof *running);
        memcpy(running + c, rows[2], (size_t)c * sizeof *running);
        l->eps = onnx_attr_float(n, "epsilon", 1e-5f);
    }
    free(scale);
    for (int i = 0; i < 3; i++)
        free(rows[i]);
    if (!l) {
        free(affine);
        free(running);
        return rows[2] && !running ? qsdc_fail(x->e, "out of memory") : -1;
    }
    if (add_param(x, l, "affine", affine, 2 * c) < 0) {
        free(running);
        return -1;
    }
    return add_param(x, l, "running", running, 2 * c);
}

/* Reshape to [batch, -1] (PyTorch's x.view(n, -1) or flatten) is a flatten. */
static bool flattening_reshape(const importer *x, const Onnx__NodeProto *n)
{
    const Onnx__TensorProto *t = n->n_input == 2 ? const_tensor(x, n->input[1]) : NULL;
    int64_t shape[2];
    return t && onnx_tensor_ints(t, shape, 2) == 2 &&
           (shape[0] == 0 || shape[0] == -1 || shape[1] == -1);
}

static int alias(importer *x, const Onnx__NodeProto *n)
{
    int v = n->n_input >= 1 && n->n_output >= 1 ? find_value(x, n->input[0]) : -1;
    if (v < 0)
        return fail_node(x, n, "reads a value no supported node makes");
    return set_value(x, n->output[0], x->values[v].layer);
}

/* A Pad of zero width everywhere is the identity: torch.onnx.export (1.13)
 * writes nn.AvgPool2d, which counts padding by default, as a Pad (its pads an
 * int64 Constant, opset 11 on; an attribute before) then an AveragePool,
 * even without padding. Real padding is refused: pad in the Conv or pool. */
static int import_pad(importer *x, const Onnx__NodeProto *n)
{
    int64_t pads[2 * QSDC_MAX_RANK + 4];
    const int cap = (int)(sizeof pads / sizeof pads[0]);
    const Onnx__AttributeProto *a = onnx_attr(n, "pads");
    const Onnx__TensorProto *t = n->n_input >= 2 ? const_tensor(x, n->input[1]) : NULL;
    int count = -1;
    if (t)
        count = onnx_tensor_ints(t, pads, cap);
    else if (a && n->n_input == 1 && a->n_ints <= (size_t)cap) {
        count = (int)a->n_ints;
        for (int i = 0; i < count; i++)
            pads[i] = a->ints[i];
    }
    bool zero = count > 0;
    for (int i = 0; zero && i < count; i++)
        zero = pads[i] == 0;
    if (!zero)
        return fail_node(x, n, "only a Pad of zero width (its pads constant zeros) is "
                         "supported; pad in the Conv or pool instead");
    return alias(x, n);
}

static int import_node(importer *x, const Onnx__NodeProto *n)
{
    static const struct { const char *op; layer_kind kind; } unary[] = {
        {"Relu", LAYER_RELU}, {"Tanh", LAYER_TANH}, {"Sigmoid", LAYER_SIGMOID},
        {"GlobalAveragePool", LAYER_GLOBAL_AVGPOOL}};
    const char *op = str(n->op_type);
    if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
        return fail_node(x, n, "ops outside the default domain are not supported");
    for (size_t i = 0; i < sizeof unary / sizeof unary[0]; i++)
        if (strcmp(op, unary[i].op) == 0)
            return add_layer(x, n, unary[i].kind, 1) ? 0 : -1;
    if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0)
        return alias(x, n);
    if (strcmp(op, "Constant") == 0) {
        const Onnx__AttributeProto *a = onnx_attr(n, "value");
        if (!a || !a->t || n->n_output != 1)
            return fail_node(x, n, "only a tensor value is supported");
        const Onnx__TensorProto **c = realloc(x->consts, (size_t)(x->n_consts + 1) * sizeof *c);
        const char **names = c ? realloc(x->const_names, (size_t)(x->n_consts + 1) *
                                         sizeof *names) : NULL;
        if (c)
            x->consts = c;
        if (!names)
            return qsdc_fail(x->e, "out of memory");
        x->const_names = names;
        c[x->n_consts] = a->t;
        names[x->n_consts++] = n->output[0];
        return 0;
    }
    if (strcmp(op, "Softmax") == 0) {
        int64_t axis = onnx_attr_int(n, "axis", -1);
        if (axis != -1 && axis != 1)
            return fail_node(x, n, "only a softmax over the last axis of [batch, classes]");
        return add_layer(x, n, LAYER_SOFTMAX, 1) ? 0 : -1;
    }
    if (strcmp(op, "Flatten") == 0 || (strcmp(op, "Reshape") == 0 && flattening_reshape(x, n))) {
        if (strcmp(op, "Flatten") == 0 && onnx_attr_int(n, "axis", 1) != 1)
            return fail_node(x, n, "only a flatten from axis 1 is supported");
        return add_layer(x, n, LAYER_FLATTEN, 1) ? 0 : -1;
    }
    if (strcmp(op, "Gemm") == 0)
        return import_gemm(x, n);
    if (strcmp(op, "MatMul") == 0)
        return import_matmul(x, n);
    if (strcmp(op, "Add") == 0)
        return import_add(x, n);
    if (strcmp(op, "Conv") == 0)
        return import_conv(x, n);
    if (strcmp(op, "MaxPool") == 0 || strcmp(op, "AveragePool") == 0) {
        if (n->n_output > 1)
            return fail_node(x, n, "MaxPool's indices output is not supported");
        return import_pool(x, n, op[0] == 'M' ? LAYER_MAXPOOL : LAYER_AVGPOOL);
    }
    if (strcmp(op, "BatchNormalization") == 0)
        return import_batchnorm(x, n);
    if (strcmp(op, "Pad") == 0)
        return import_pad(x, n);
    return fail_node(x, n, "this op is not supported (qsdc imports Gemm, MatMul, Add, Conv, "
                     "MaxPool, AveragePool, GlobalAveragePool, BatchNormalization, Relu, Tanh, "
                     "Sigmoid, Softmax, Flatten, Reshape to [batch, -1], Identity, Dropout, "
                     "Pad of zero width, Constant)");
}

/* The graph's input: its one value that is no initializer, a float
 * [batch, ...] of known sample dims. */
static int import_input(importer *x)
{
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t i = 0; i < x->g->n_input; i++) {
        if (const_tensor(x, str(x->g->input[i]->name)))
            continue;
        if (in)
            return qsdc_fail(x->e, "%s: the graph has several inputs; qsdc models take one",
                             x->path);
        in = x->g->input[i];
    }
    const Onnx__TypeProto *t = in ? in->type : NULL;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type ||
        t->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
        !t->tensor_type->shape)
        return qsdc_fail(x->e, "%s: the graph needs one float32 input with a shape", x->path);
    const Onnx__TensorShapeProto *sh = t->tensor_type->shape;
    if (sh->n_dim < 2 || sh->n_dim > QSDC_MAX_RANK)
        return qsdc_fail(x->e, "%s: input '%s' has rank %zu; qsdc takes [batch, ...] of rank "
                         "2 to %d", x->path, str(in->name), sh->n_dim, QSDC_MAX_RANK);
    x->m->input_rank = (int)sh->n_dim - 1;
    for (size_t i = 1; i < sh->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
        if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
            d->dim_value < 1)
            return qsdc_fail(x->e, "%s: input '%s' dimension %zu is not a fixed size",
                             x->path, str(in->name), i);
        x->m->input_shape[i - 1] = d->dim_value;
    }
    x->m->dtype = DTYPE_FLOAT32;
    return set_value(x, str(in->name), -1);
}

static int import_graph(importer *x)
{
    model *m = x->m;
    snprintf(m->path, sizeof m->path, "%s", x->path);
    const char *name = x->g->name && x->g->name[0] ? x->g->name : "onnx";
    size_t k = 0;
    for (; name[k] && k + 1 < sizeof m->name; k++) /* an identifier, as model names are */
        m->name[k] = isalnum((unsigned char)name[k]) ? name[k] : '_';
    m->name[k] = '\0';
    train_config_defaults(&m->train);
    if (import_input(x) < 0)
        return -1;
    for (size_t i = 0; i < x->g->n_node; i++)
        if (import_node(x, x->g->node[i]) < 0)
            return -1;
    int v = x->g->n_output == 1 ? find_value(x, str(x->g->output[0]->name)) : -1;
    if (v < 0 || x->values[v].layer < 0)
        return qsdc_fail(x->e, "%s: the graph needs one output made by its nodes", x->path);
    snprintf(m->output, sizeof m->output, "%s", m->layers[x->values[v].layer].name);
    src_loc *locs = calloc((size_t)m->n_layers + 1, sizeof *locs);
    if (!locs)
        return qsdc_fail(x->e, "out of memory");
    int rc = m->n_layers ? model_check_graph(m, locs, x->e)
                         : qsdc_fail(x->e, "%s: the graph has no node qsdc runs", x->path);
    free(locs);
    return rc;
}

int onnx_import(const char *path, model *m, onnx_params *w, qsdc_error *e)
{
    memset(m, 0, sizeof *m);
    memset(w, 0, sizeof *w);
    unsigned char *bytes;
    size_t len;
    if (fs_read_file_max(path, ONNX_MAX_BYTES, &bytes, &len, e) < 0)
        return -1;
    Onnx__ModelProto *proto = onnx__model_proto__unpack(NULL, len, bytes);
    free(bytes);
    if (!proto || !proto->graph) {
        if (proto)
            onnx__model_proto__free_unpacked(proto, NULL);
        return qsdc_fail(e, "%s: not an ONNX model (protobuf decoding failed)", path);
    }
    importer x = {.path = path, .g = proto->graph, .m = m, .w = w, .e = e};
    int rc = import_graph(&x);
    free(x.values);
    free(x.consts);
    free(x.const_names);
    onnx__model_proto__free_unpacked(proto, NULL);
    if (rc < 0) {
        model_free(m);
        onnx_params_free(w);
    }
    return rc;
}

int onnx_params_place(const onnx_params *w, const plan *p, const char *model_path,
                      float *params, qsdc_error *e)
{
    for (int i = 0; i < w->n; i++) {
        int t = plan_find_tensor(p, w->p[i].name);
        if (t < 0 || p->tensors[t].nelem != w->p[i].n)
            return qsdc_fail(e, "%s: the weights of %s (%lld values) do not fit its layer%s",
                             model_path, w->p[i].name, (long long)w->p[i].n,
                             t < 0 ? " (no such parameter)" : "");
        memcpy(params + p->tensors[t].offset, w->p[i].v, (size_t)w->p[i].n * sizeof *params);
    }
    return 0;
}

void onnx_params_free(onnx_params *w)
{
    for (int i = 0; i < w->n; i++)
        free(w->p[i].v);
    free(w->p);
    memset(w, 0, sizeof *w);
}
