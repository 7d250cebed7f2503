/* qsdc_session_export_onnx: the model's inference graph as a standard ONNX
 * model (opset ONNX_OPSET) with the session's weights as initializers named
 * by layer. Each layer's output is the ONNX value of its name; dropout and
 * qsd are the identity at inference and leave no node.
 *
 * Token ids (an int32 input) may end in padding (QSDC_PAD_ID, -1), as qsdc's
 * sentiment data do: the embedding table gets a zero row last, which
 * Gather's index -1 reads, an lstm gets each sequence's length
 * (sequence_lens) and sequence pooling weighs only the real steps. */
#include <stdlib.h>
#include <string.h>

#include "onnx_graph.h"
#include "param_layout.h"
#include "session.h"

enum { FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32 };

typedef struct exporter {
    qsdc_session *s;
    const model *m;
    const float *all;       /* the session's parameters */
    onnx_graph g;
    const char **value;     /* per layer: the ONNX value of its output */
    int *rank;              /* per layer: its output's rank, batch included */
    const char *real;       /* token ids: the float [B, T] mask of real steps, once made */
    const char *lengths;    /* and the int32 [B] count of them */
} exporter;

static int layer_index(const exporter *x, const char *name)
{
    return strcmp(name, "input") == 0 ? -1 : model_find(x->m, name);
}

static const char *input_value(const exporter *x, const layer *l, int k)
{
    int i = layer_index(x, l->inputs[k]);
    return i < 0 ? "input" : x->value[i];
}

static int input_rank(const exporter *x, const layer *l)
{
    int i = layer_index(x, l->inputs[0]);
    return i < 0 ? x->m->input_rank + 1 : x->rank[i];
}

/* The layer's parameter what, or an error naming it. */
static const plan_tensor *param(exporter *x, const layer *l, const char *what, qsdc_error *e)
{
    const plan_tensor *pt = session_param(x->s, l->name, what);
    if (!pt)
        qsdc_fail(e, "%s: layer '%s' has no parameter '%s' in the compiled plan", x->m->path,
                  l->name, what);
    return pt;
}

/* The parameter as an initializer named "layer.what", as it is. */
static const char *param_init(exporter *x, const layer *l, const plan_tensor *pt,
                              const char *what)
{
    return og_init_f32(&x->g, og_name(&x->g, "%s.%s", l->name, what), pt->rank, pt->dims,
                       x->all + pt->offset);
}

static const char *axes(exporter *x, int64_t axis)
{
    const char *name = og_name(&x->g, "axes.%lld", (long long)axis);
    for (size_t i = 0; i < x->g.n_inits; i++)
        if (strcmp(x->g.inits[i]->name, name) == 0)
            return name;
    return og_init_i64(&x->g, name, &axis, 1, false);
}

static const char *scalar_f32(exporter *x, const char *name, float v)
{
    return og_init_f32(&x->g, name, 0, NULL, &v);
}

/* The mask and lengths of the real (not padding) steps of the token ids. */
static void real_steps(exporter *x)
{
    if (x->real)
        return;
    onnx_graph *g = &x->g;
    og_attr_int(g, og_op(g, "Cast", "input.float", "input", NULL), "to", FLOAT);
    og_op(g, "Equal", "input.padding", "input.float", scalar_f32(x, "padding_id", QSDC_PAD_ID));
    og_op(g, "Not", "input.is_real", "input.padding", NULL);
    og_attr_int(g, og_op(g, "Cast", "input.real", "input.is_real", NULL), "to", FLOAT);
    og_attr_int(g, og_op(g, "ReduceSum", "input.real_count", "input.real", axes(x, 1)),
                "keepdims", 0);
    og_attr_int(g, og_op(g, "Cast", "input.lengths", "input.real_count", NULL), "to", INT32);
    x->real = "input.real";
    x->lengths = "input.lengths";
}

static int export_dense(exporter *x, const layer *l, const char *in, int rank, qsdc_error *e)
{
    const plan_tensor *w = param(x, l, "weight", e), *b = NULL;
    if (!w || (l->bias && !(b = param(x, l, "bias", e))))
        return -1;
    const char *wn = param_init(x, l, w, "weight");
    const char *bn = b ? param_init(x, l, b, "bias") : NULL;
    if (rank == 2) {
        const char *gin[3] = {in, wn, bn};
        og_op_n(&x->g, "Gemm", l->name, gin, b ? 3 : 2);
    } else if (b) { /* a sequence [B, T, K]: Gemm takes matrices alone */
        const char *mm = og_name(&x->g, "%s.matmul", l->name);
        og_op(&x->g, "MatMul", mm, in, wn);
        og_op(&x->g, "Add", l->name, mm, bn);
    } else {
        og_op(&x->g, "MatMul", l->name, in, wn);
    }
    return 0;
}

static void window_attrs(exporter *x, const layer *l, Onnx__NodeProto *n, bool pool)
{
    const window_params *w = &l->win;
    int64_t k[2] = {w->kernel[0], w->kernel[1]}, s[2], p[4];
    for (int i = 0; i < 2; i++) {
        s[i] = w->stride[i] ? w->stride[i] : pool ? k[i] : 1;
        p[i] = p[i + 2] = w->pad == PAD_EXPLICIT ? w->padding[i]
                          : w->pad == PAD_SAME   ? w->dilation[i] * (k[i] - 1) / 2
                                                 : 0;
    }
    og_attr_ints(&x->g, n, "kernel_shape", k, 2);
    og_attr_ints(&x->g, n, "strides", s, 2);
    og_attr_ints(&x->g, n, "pads", p, 4);
    if (!pool)
        og_attr_ints(&x->g, n, "dilations", w->dilation, 2);
}

static int export_conv(exporter *x, const layer *l, const char *in, qsdc_error *e)
{
    const plan_tensor *w = param(x, l, "weight", e), *b = NULL;
    if (!w || (l->bias && !(b = param(x, l, "bias", e))))
        return -1;
    const char *cin[3] = {in, param_init(x, l, w, "weight"), b ? param_init(x, l, b, "bias") : ""};
    window_attrs(x, l, og_op_n(&x->g, "Conv", l->name, cin, b ? 3 : 2), false);
    return 0;
}

/* gamma and beta are rows of one [2, C] parameter, the running mean and
 * variance of another: ONNX takes four [C] tensors. */
static int export_batchnorm(exporter *x, const layer *l, const char *in, qsdc_error *e)
{
    const plan_tensor *a = param(x, l, "affine", e), *r = a ? param(x, l, "running", e) : NULL;
    if (!r)
        return -1;
    int64_t c = a->dims[1];
    const float *av = x->all + a->offset, *rv = x->all + r->offset;
    const char *bin[5] = {
        in, og_init_f32(&x->g, og_name(&x->g, "%s.weight", l->name), 1, &c, av),
        og_init_f32(&x->g, og_name(&x->g, "%s.bias", l->name), 1, &c, av + c),
        og_init_f32(&x->g, og_name(&x->g, "%s.running_mean", l->name), 1, &c, rv),
        og_init_f32(&x->g, og_name(&x->g, "%s.running_var", l->name), 1, &c, rv + c)};
    Onnx__NodeProto *n = og_op_n(&x->g, "BatchNormalization", l->name, bin, 5);
    og_attr_float(&x->g, n, "epsilon", (float)l->eps);
    return 0;
}

/* The table with a zero row after the last, the one the padding id -1 reads. */
static int export_embedding(exporter *x, const layer *l, qsdc_error *e)
{
    const plan_tensor *w = param(x, l, "weight", e);
    if (!w)
        return -1;
    int64_t dims[2] = {w->dims[0] + 1, w->dims[1]};
    float *t = calloc((size_t)(dims[0] * dims[1]), sizeof *t);
    if (!t)
        return qsdc_fail(e, "out of memory for the embedding '%s'", l->name);
    memcpy(t, x->all + w->offset, (size_t)w->nelem * sizeof *t);
    og_op(&x->g, "Gather", l->name, og_init_f32(&x->g, og_name(&x->g, "%s.weight", l->name), 2,
                                                dims, t), "input");
    free(t);
    return 0;
}

/* ONNX's LSTM reads [T, B, F] and writes Y [T, 1, B, H] and Y_h [1, B, H];
 * its weights are W [1, 4H, F], R [1, 4H, H] and B [1, 8H] (input, then
 * recurrent biases, which qsdc does not have), gates in i, o, f, c order. */
static int export_lstm(exporter *x, const layer *l, const char *in, qsdc_error *e)
{
    const plan_tensor *w = param(x, l, "weight", e);
    const plan_tensor *u = w ? param(x, l, "recurrent", e) : NULL;
    const plan_tensor *b = u ? param(x, l, "bias", e) : NULL;
    if (!b)
        return -1;
    int64_t f = w->dims[0], h = l->units;
    float *wt = malloc((size_t)(4 * h * f) * sizeof *wt);
    float *ut = malloc((size_t)(4 * h * h) * sizeof *ut);
    float *bt = calloc((size_t)(8 * h), sizeof *bt);
    if (!wt || !ut || !bt) {
        free(wt);
        free(ut);
        free(bt);
        return qsdc_fail(e, "out of memory for the lstm '%s'", l->name);
    }
    layout_transpose(x->all + w->offset, f, h, 4, LAYOUT_GATES_ONNX, wt, false);
    layout_transpose(x->all + u->offset, h, h, 4, LAYOUT_GATES_ONNX, ut, false);
    layout_gates(x->all + b->offset, h, LAYOUT_GATES_ONNX, bt);
    onnx_graph *g = &x->g;
    int64_t wd[3] = {1, 4 * h, f}, ud[3] = {1, 4 * h, h}, bd[2] = {1, 8 * h};
    const char *tm = og_name(g, "%s.time_major", l->name);
    int64_t perm[3] = {1, 0, 2};
    og_attr_ints(g, og_op(g, "Transpose", tm, in, NULL), "perm", perm, 3);
    if (x->m->dtype == DTYPE_INT32)
        real_steps(x);
    const char *lin[5] = {tm, og_init_f32(g, og_name(g, "%s.W", l->name), 3, wd, wt),
                          og_init_f32(g, og_name(g, "%s.R", l->name), 3, ud, ut),
                          og_init_f32(g, og_name(g, "%s.B", l->name), 2, bd, bt),
                          x->lengths ? x->lengths : ""};
    free(wt);
    free(ut);
    free(bt);
    const char *lout[2] = {og_name(g, "%s.Y", l->name), og_name(g, "%s.Y_h", l->name)};
    Onnx__NodeProto *n = og_node(g, "LSTM", og_name(g, "%s.lstm", l->name), lin,
                                 x->lengths ? 5 : 4, lout, 2);
    og_attr_int(g, n, "hidden_size", h);
    if (l->seq == SEQ_LAST) {
        og_op(g, "Squeeze", l->name, lout[1], axes(x, 0));
        return 0;
    }
    const char *y3 = og_name(g, "%s.Y_time_major", l->name);
    og_op(g, "Squeeze", y3, lout[0], axes(x, 1));
    og_attr_ints(g, og_op(g, "Transpose", l->name, y3, NULL), "perm", perm, 3);
    return 0;
}

/* Over token ids, the pooled value is the sum of the steps weighed by w
 * [B, T]: 1 / (real steps) at each real one (mean), 1 at the last real one
 * (last); a sequence of padding alone pools to zero, as in qsdc. */
static void export_pool_sequence(exporter *x, const layer *l, const char *in)
{
    onnx_graph *g = &x->g;
    int64_t t = x->m->input_shape[0];
    const char *n = l->name;
    if (x->m->dtype != DTYPE_INT32) {
        if (l->seq == SEQ_MEAN) {
            int64_t axis = 1;
            Onnx__NodeProto *r = og_op(g, "ReduceMean", n, in, NULL);
            og_attr_ints(g, r, "axes", &axis, 1);
            og_attr_int(g, r, "keepdims", 0);
        } else {
            int64_t last = t - 1;
            og_attr_int(g, og_op(g, "Gather", n, in,
                                 og_init_i64(g, og_name(g, "%s.last", n), &last, 1, true)),
                        "axis", 1);
        }
        return;
    }
    real_steps(x);
    const char *w = og_name(g, "%s.weights", n);
    if (l->seq == SEQ_MEAN) {
        const char *count = og_name(g, "%s.count", n), *at_least = og_name(g, "%s.at_least_1", n);
        og_op(g, "ReduceSum", count, x->real, axes(x, 1));
        og_op(g, "Max", at_least, count, scalar_f32(x, og_name(g, "%s.one", n), 1.0f));
        og_op(g, "Div", w, x->real, at_least);
    } else { /* the last real step: the largest of real * (1, 2, ..., T) */
        float *pos = malloc((size_t)t * sizeof *pos);
        int64_t *idx = malloc((size_t)t * sizeof *idx);
        for (int64_t i = 0; pos && idx && i < t; i++) {
            pos[i] = (float)(i + 1);
            idx[i] = i;
        }
        if (!pos || !idx)
            x->g.oom = true;
        const char *rank = og_name(g, "%s.positions", n), *last = og_name(g, "%s.last", n);
        const char *hot = og_name(g, "%s.is_last", n), *hotf = og_name(g, "%s.is_last_f", n);
        og_op(g, "Mul", rank, x->real, pos ? og_init_f32(g, og_name(g, "%s.steps", n), 1, &t, pos)
                                           : "");
        og_attr_int(g, og_op(g, "ArgMax", last, rank, NULL), "axis", 1);
        og_op(g, "Equal", hot, idx ? og_init_i64(g, og_name(g, "%s.step_ids", n), idx, (int)t,
                                                 false) : "", last);
        og_attr_int(g, og_op(g, "Cast", hotf, hot, NULL), "to", FLOAT);
        og_op(g, "Mul", w, hotf, x->real);
        free(pos);
        free(idx);
    }
    const char *w3 = og_name(g, "%s.weights3", n), *xw = og_name(g, "%s.weighed", n);
    og_op(g, "Unsqueeze", w3, w, axes(x, 2));
    og_op(g, "Mul", xw, in, w3);
    og_attr_int(g, og_op(g, "ReduceSum", n, xw, axes(x, 1)), "keepdims", 0);
}

/* Layer li's nodes; its output's rank into x->rank[li]. */
static int export_layer(exporter *x, int li, qsdc_error *e)
{
    const layer *l = &x->m->layers[li];
    const char *in = input_value(x, l, 0);
    int rank = input_rank(x, l);
    onnx_graph *g = &x->g;
    x->value[li] = l->name;
    x->rank[li] = rank;
    switch (l->kind) {
    case LAYER_DENSE: return export_dense(x, l, in, rank, e);
    case LAYER_RELU: og_op(g, "Relu", l->name, in, NULL); return 0;
    case LAYER_TANH: og_op(g, "Tanh", l->name, in, NULL); return 0;
    case LAYER_SIGMOID: og_op(g, "Sigmoid", l->name, in, NULL); return 0;
    case LAYER_SOFTMAX: og_attr_int(g, og_op(g, "Softmax", l->name, in, NULL), "axis", -1);
        return 0;
    case LAYER_ADD: og_op(g, "Add", l->name, in, input_value(x, l, 1)); return 0;
    case LAYER_FLATTEN:
        og_attr_int(g, og_op(g, "Flatten", l->name, in, NULL), "axis", 1);
        x->rank[li] = 2;
        return 0;
    case LAYER_DROPOUT: case LAYER_QSD: x->value[li] = in; return 0;
    case LAYER_EMBEDDING: x->rank[li] = 3; return export_embedding(x, l, e);
    case LAYER_LSTM: x->rank[li] = l->seq == SEQ_LAST ? 2 : 3; return export_lstm(x, l, in, e);
    case LAYER_POOL_SEQUENCE: x->rank[li] = 2; export_pool_sequence(x, l, in); return 0;
    case LAYER_CONV2D: return export_conv(x, l, in, e);
    case LAYER_MAXPOOL: case LAYER_AVGPOOL: {
        Onnx__NodeProto *n = og_op(g, l->kind == LAYER_MAXPOOL ? "MaxPool" : "AveragePool",
                                   l->name, in, NULL);
        window_attrs(x, l, n, true);
        if (l->kind == LAYER_AVGPOOL) /* qsdc divides by the whole window */
            og_attr_int(g, n, "count_include_pad", 1);
        return 0;
    }
    case LAYER_GLOBAL_AVGPOOL: {
        const char *pooled = og_name(g, "%s.pool", l->name);
        og_op(g, "GlobalAveragePool", pooled, in, NULL);
        og_attr_int(g, og_op(g, "Flatten", l->name, pooled, NULL), "axis", 1);
        x->rank[li] = 2;
        return 0;
    }
    case LAYER_BATCHNORM: return export_batchnorm(x, l, in, e);
    default:
        return qsdc_fail(e, "%s: layer '%s' (%s) has no ONNX export", x->m->path, l->name,
                         layer_kind_name(l->kind));
    }
}

static int export_model(exporter *x, const char *path, qsdc_error *e)
{
    const model *m = x->m;
    int *order = malloc((size_t)m->n_layers * sizeof *order);
    int rc = order && x->value && x->rank ? model_topo_order(m, order, e)
                                          : qsdc_fail(e, "out of memory");
    int64_t dims[QSDC_MAX_RANK + 1] = {0};
    memcpy(dims + 1, m->input_shape, (size_t)m->input_rank * sizeof *dims);
    og_input(&x->g, "input", m->dtype == DTYPE_INT32 ? INT32 : FLOAT, m->input_rank + 1, dims);
    for (int i = 0; rc == 0 && i < m->n_layers; i++)
        rc = export_layer(x, order[i], e);
    free(order);
    if (rc < 0)
        return -1;
    int out = model_find(m, m->output);
    if (out < 0)
        return qsdc_fail(e, "%s: no output layer '%s'", m->path, m->output);
    if (strcmp(x->value[out], m->output) != 0) /* a dropout or qsd output: give it its name */
        og_op(&x->g, "Identity", m->output, x->value[out], NULL);
    /* a sequence's outputs are [batch, time, units], time the input's first dim */
    int64_t per = x->s->ep.output_elems / x->s->ep.batch, od[4] = {0, per, -1, -1};
    if (x->rank[out] == 3) {
        od[1] = m->input_shape[0];
        od[2] = per / m->input_shape[0];
    }
    og_output(&x->g, m->output, FLOAT, x->rank[out], od);
    return og_write(&x->g, m->name, path, e);
}

static int export_onnx(qsdc_session *s, const char *path, qsdc_error *e)
{
    if (!path || !*path)
        return qsdc_fail(e, "qsdc_session_export_onnx: no output path");
    exporter x = {.s = s, .m = &s->m};
    float *all;
    int rc = session_read_params(s, &all, e);
    x.all = all;
    og_init(&x.g);
    x.value = calloc((size_t)s->m.n_layers, sizeof *x.value);
    x.rank = calloc((size_t)s->m.n_layers, sizeof *x.rank);
    if (rc == 0)
        rc = export_model(&x, path, e);
    og_free(&x.g);
    free(x.value);
    free(x.rank);
    free(all);
    return rc;
}

int qsdc_session_export_onnx(qsdc_session *s, const char *path, qsdc_error *err)
{
    qsdc_error e = {""};
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = export_onnx(s, path, &e);
    return session_finish(s, rc, &e, err);
}
