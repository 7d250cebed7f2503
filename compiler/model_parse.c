/* The YAML front end: a model file to a validated model. The format is
 * documented in docs/model-format.md. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_io.h"
#include "model_parse.h"

#define QSD_MAX_SITES (1 << 20)

/* Indexed by layer_kind. */
static const char *const op_names[LAYER_KIND_COUNT + 1] = {
    [LAYER_DENSE] = "dense",     [LAYER_RELU] = "relu",
    [LAYER_TANH] = "tanh",       [LAYER_SIGMOID] = "sigmoid",
    [LAYER_SOFTMAX] = "softmax", [LAYER_ADD] = "add",
    [LAYER_FLATTEN] = "flatten", [LAYER_DROPOUT] = "dropout",
    [LAYER_QSD] = "qsd",         [LAYER_EMBEDDING] = "embedding",
    [LAYER_LSTM] = "lstm",       [LAYER_POOL_SEQUENCE] = "pool_sequence",
    [LAYER_CONV2D] = "conv2d",   [LAYER_MAXPOOL] = "maxpool",
    [LAYER_AVGPOOL] = "avgpool", [LAYER_GLOBAL_AVGPOOL] = "global_avgpool",
    [LAYER_BATCHNORM] = "batchnorm", [LAYER_KIND_COUNT] = NULL};

/* params: what the op accepts besides op, name and inputs; required: those
 * it cannot do without (NULL-terminated). Indexed by layer_kind. */
typedef struct op_spec {
    int n_inputs;
    const char *const *params;
    const char *const *required;
} op_spec;

static const char *const no_params[] = {NULL};
static const char *const dense_params[] = {"units", "bias", "init", NULL};
static const char *const dropout_params[] = {"p", "share", NULL};
static const char *const qsd_params_keys[] = {
    "p", "sites", "q_cv", "p_concentration", "share", "hetero", "anneal", NULL};
static const char *const embedding_params[] = {"vocab", "dim", "init", NULL};
static const char *const lstm_params[] = {"units", "return", "init", "stateful", NULL};
static const char *const pool_params[] = {"mode", NULL};
static const char *const conv_params[] = {"filters", "kernel", "stride", "padding",
                                          "dilation", "bias", "init", NULL};
static const char *const window_params_keys[] = {"kernel", "stride", "padding", NULL};
static const char *const bn_params[] = {"momentum", "eps", NULL};
static const char *const req_units[] = {"units", NULL};
static const char *const req_p[] = {"p", NULL};
static const char *const req_vocab[] = {"vocab", NULL};
static const char *const req_mode[] = {"mode", NULL};
static const char *const req_conv[] = {"filters", "kernel", NULL};
static const char *const req_kernel[] = {"kernel", NULL};

static const op_spec ops[LAYER_KIND_COUNT] = {
    [LAYER_DENSE] = {1, dense_params, req_units},
    [LAYER_RELU] = {1, no_params, NULL},
    [LAYER_TANH] = {1, no_params, NULL},
    [LAYER_SIGMOID] = {1, no_params, NULL},
    [LAYER_SOFTMAX] = {1, no_params, NULL},
    [LAYER_ADD] = {2, no_params, NULL},
    [LAYER_FLATTEN] = {1, no_params, NULL},
    [LAYER_DROPOUT] = {1, dropout_params, req_p},
    [LAYER_QSD] = {1, qsd_params_keys, req_p},
    [LAYER_EMBEDDING] = {1, embedding_params, req_vocab},
    [LAYER_LSTM] = {1, lstm_params, req_units},
    [LAYER_POOL_SEQUENCE] = {1, pool_params, req_mode},
    [LAYER_CONV2D] = {1, conv_params, req_conv},
    [LAYER_MAXPOOL] = {1, window_params_keys, req_kernel},
    [LAYER_AVGPOOL] = {1, window_params_keys, req_kernel},
    [LAYER_GLOBAL_AVGPOOL] = {1, no_params, NULL},
    [LAYER_BATCHNORM] = {1, bn_params, NULL},
};

const char *layer_kind_name(layer_kind k)
{
    return (unsigned)k < LAYER_KIND_COUNT ? op_names[k] : "unknown";
}

int model_copy(const model *src, model *dst, qsdc_error *err)
{
    layer *layers = malloc(((size_t)src->n_layers + 1) * sizeof *layers);
    if (!layers)
        return qsdc_fail(err, "out of memory");
    memcpy(layers, src->layers, (size_t)src->n_layers * sizeof *layers);
    *dst = *src;
    dst->layers = layers;
    return 0;
}

int model_find(const model *m, const char *name)
{
    for (int i = 0; i < m->n_layers; i++)
        if (strcmp(m->layers[i].name, name) == 0)
            return i;
    return -1;
}

bool model_ends_in_softmax(const model *m)
{
    int last = m->output[0] ? model_find(m, m->output) : m->n_layers - 1;
    return last >= 0 && m->layers[last].kind == LAYER_SOFTMAX;
}

void model_free(model *m)
{
    free(m->layers);
    m->layers = NULL;
    m->n_layers = 0;
}

static int parse_param(ydoc *d, yaml_node_t *v, const char *key, layer *l)
{
    static const char *const inits[] = {"auto", "he", "glorot", "zeros", "normal", NULL};
    static const init_kind init_of[] = {INIT_AUTO, INIT_HE, INIT_GLOROT, INIT_ZEROS,
                                        INIT_NORMAL};
    static const char *const shares[] = {"element", "channel", "time", NULL};
    int choice;
    int64_t n;
    static const char *const returns[] = {"sequence", "last", NULL};
    static const char *const modes[] = {"last", "mean", NULL};
    int rc = model_conv_param(d, v, key, l);
    if (rc <= 0)
        return rc;
    if (strcmp(key, "units") == 0 || strcmp(key, "dim") == 0)
        return ydoc_int(d, v, key, 1, INT32_MAX, &l->units);
    /* ids travel as exact floats: every id below 2^24 */
    if (strcmp(key, "vocab") == 0)
        return ydoc_int(d, v, key, 1, 1 << 24, &l->vocab);
    if (strcmp(key, "return") == 0 || strcmp(key, "mode") == 0) {
        bool ret = key[0] == 'r';
        if (ydoc_choice(d, v, key, ret ? returns : modes, &choice) < 0)
            return -1;
        l->seq = ret ? (choice ? SEQ_LAST : SEQ_ALL) : (choice ? SEQ_MEAN : SEQ_LAST);
        return 0;
    }
    if (strcmp(key, "bias") == 0)
        return ydoc_bool(d, v, key, &l->bias);
    if (strcmp(key, "stateful") == 0)
        return ydoc_bool(d, v, key, &l->stateful);
    if (strcmp(key, "init") == 0) {
        if (ydoc_choice(d, v, key, inits, &choice) < 0)
            return -1;
        l->init = init_of[choice];
        return 0;
    }
    if (strcmp(key, "p") == 0) {
        if (ydoc_float(d, v, key, 0, 1, YDOC_LO_OPEN, &l->qsd.p) < 0)
            return -1;
        if (l->qsd.p < QSD_MIN_P)
            return ydoc_fail(d, v, "'p' of %g is below 2^-24 (%.6g), the smallest keep "
                             "probability the masks can draw", l->qsd.p, QSD_MIN_P);
        return 0;
    }
    if (strcmp(key, "sites") == 0) {
        if (ydoc_int(d, v, key, 1, QSD_MAX_SITES, &n) < 0)
            return -1;
        l->qsd.sites = (int)n;
        return 0;
    }
    if (strcmp(key, "q_cv") == 0)
        return ydoc_float(d, v, key, 0, INFINITY, 0, &l->qsd.q_cv);
    if (strcmp(key, "p_concentration") == 0)
        return ydoc_float(d, v, key, 0, INFINITY, YDOC_LO_OPEN,
                          &l->qsd.p_concentration);
    if (strcmp(key, "hetero") == 0) {
        static const char *const heteros[] = {"element", "unit", NULL};
        if (ydoc_choice(d, v, key, heteros, &choice) < 0)
            return -1;
        l->qsd.hetero = (qsd_hetero)choice;
        return 0;
    }
    if (strcmp(key, "anneal") == 0)
        return ydoc_float(d, v, key, 0, INFINITY, 0, &l->qsd.anneal);
    /* share: the op's key list admits nothing else */
    if (ydoc_choice(d, v, key, shares, &choice) < 0)
        return -1;
    l->qsd.share = (qsd_share)choice;
    return 0;
}

static void set_defaults(layer *l)
{
    l->bias = true;
    l->init = INIT_AUTO;
    l->qsd = (qsd_params){.sites = 1, .share = SHARE_ELEMENT};
    l->seq = SEQ_ALL;
    model_conv_defaults(l);
}

/* inputs: a name or a list of names, as many as the op takes. */
static int parse_inputs(ydoc *d, yaml_node_t *v, const op_spec *op, layer *l)
{
    yaml_node_item_t *items = NULL;
    int n = 1;
    if (v->type == YAML_SEQUENCE_NODE) {
        items = v->data.sequence.items.start;
        n = (int)(v->data.sequence.items.top - items);
    } else if (v->type != YAML_SCALAR_NODE) {
        return ydoc_fail_found(d, v, "a name or a list of names for 'inputs'");
    }
    if (n != op->n_inputs)
        return ydoc_fail(d, v, "op '%s' takes %d input%s, found %d",
                         layer_kind_name(l->kind), op->n_inputs,
                         op->n_inputs == 1 ? "" : "s", n);
    for (int k = 0; k < n; k++) {
        yaml_node_t *item = items ? ydoc_node(d, items[k]) : v;
        if (ydoc_ident(d, item, "inputs", l->inputs[k]) < 0)
            return -1;
        l->input_loc[k] = ydoc_loc(item);
    }
    l->n_inputs = n;
    return 0;
}

/* The keys a layer mapping may hold: op, name, (inputs,) then params. */
static void allowed_keys(const op_spec *op, bool nodes_form,
                         const char *out[16])
{
    int n = 0;
    out[n++] = "op";
    out[n++] = "name";
    if (nodes_form)
        out[n++] = "inputs";
    for (const char *const *p = op->params; *p; p++)
        out[n++] = *p;
    out[n] = NULL;
}

static int parse_layer_map(ydoc *d, yaml_node_t *n, bool nodes_form,
                           const op_spec *op, layer *l, src_loc *name_loc)
{
    const char *allowed[16];
    char suffix[QSDC_NAME_MAX + 16];
    allowed_keys(op, nodes_form, allowed);
    snprintf(suffix, sizeof suffix, " for op '%s'", layer_kind_name(l->kind));
    if (ydoc_check_keys(d, n, allowed, "parameter", suffix) < 0)
        return -1;
    yaml_node_t *v = ydoc_get(d, n, "name");
    if (v) {
        if (ydoc_ident(d, v, "name", l->name) < 0)
            return -1;
        if (strcmp(l->name, "input") == 0)
            return ydoc_fail(d, v,
                             "the name 'input' is reserved for the "
                             "model input");
        *name_loc = ydoc_loc(v);
    } else if (nodes_form) {
        return ydoc_fail(d, n, "missing required key 'name' in node");
    }
    if (nodes_form) {
        v = ydoc_get(d, n, "inputs");
        if (!v)
            return ydoc_fail(d, n, "missing required key 'inputs' in node");
        if (parse_inputs(d, v, op, l) < 0)
            return -1;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        const char *key = ydoc_text(ydoc_node(d, p->key));
        if (strcmp(key, "op") && strcmp(key, "name") && strcmp(key, "inputs") &&
            parse_param(d, ydoc_node(d, p->value), key, l) < 0)
            return -1;
    }
    for (const char *const *r = op->required; r && *r; r++)
        if (!ydoc_get(d, n, *r))
            return ydoc_fail(d, n, "missing required parameter '%s' for op '%s'",
                             *r, layer_kind_name(l->kind));
    v = ydoc_get(d, n, "anneal");
    if (v && (l->qsd.hetero != HETERO_UNIT || l->qsd.p_concentration <= 0))
        return ydoc_fail(d, v, "'anneal' needs hetero: unit and a p_concentration: it "
                         "grows the concentration of the per-unit release probabilities");
    return 0;
}

/* One entry of layers: or nodes:. In layers: form a bare op name stands
 * for a layer without parameters, and the input is the previous layer. */
static int parse_layer(ydoc *d, yaml_node_t *n, int index, bool nodes_form,
                       layer *l, src_loc *name_loc)
{
    memset(l, 0, sizeof *l);
    set_defaults(l);
    l->loc = ydoc_loc(n);
    *name_loc = l->loc;
    yaml_node_t *opn = n;
    if (n->type == YAML_MAPPING_NODE) {
        opn = ydoc_get(d, n, "op");
        if (!opn)
            return ydoc_fail(d, n, "missing required key 'op' in %s",
                             nodes_form ? "node" : "layer");
    } else if (n->type != YAML_SCALAR_NODE || nodes_form) {
        return ydoc_fail_found(d, n,
                               nodes_form
                                   ? "a mapping for a node"
                                   : "an op name or a mapping for a layer");
    }
    int kind;
    if (ydoc_choice(d, opn, "op", op_names, &kind) < 0)
        return -1;
    l->kind = (layer_kind)kind;
    const op_spec *op = &ops[kind];
    if (!nodes_form && op->n_inputs != 1)
        return ydoc_fail(d, opn,
                         "op '%s' takes %d inputs, so it needs the "
                         "nodes: form",
                         layer_kind_name(l->kind), op->n_inputs);
    if (n->type == YAML_MAPPING_NODE) {
        if (parse_layer_map(d, n, nodes_form, op, l, name_loc) < 0)
            return -1;
    } else if (op->required) {
        return ydoc_fail(d, n, "missing required parameter '%s' for op '%s'",
                         op->required[0], layer_kind_name(l->kind));
    }
    if (!l->name[0])
        snprintf(l->name, sizeof l->name, "%s%d", layer_kind_name(l->kind),
                 index);
    return 0;
}

static int parse_layers(ydoc *d, yaml_node_t *list, const char *key, model *m)
{
    if (ydoc_expect(d, list, key, YAML_SEQUENCE_NODE) < 0)
        return -1;
    yaml_node_item_t *items = list->data.sequence.items.start;
    long n = (long)(list->data.sequence.items.top - items);
    if (n == 0)
        return ydoc_fail(d, list, "'%s' is empty", key);
    if (n > QSDC_MAX_LAYERS)
        return ydoc_fail(d, list, "'%s' has %ld entries, at most %d allowed",
                         key, n, QSDC_MAX_LAYERS);
    bool nodes_form = strcmp(key, "nodes") == 0;
    m->layers = calloc((size_t)n, sizeof *m->layers);
    src_loc *name_loc = calloc((size_t)n, sizeof *name_loc);
    int rc = m->layers && name_loc
                 ? 0
                 : qsdc_fail(d->err, "%s: out of memory", d->path);
    for (int i = 0; rc == 0 && i < n; i++) {
        layer *l = &m->layers[i];
        rc = parse_layer(d, ydoc_node(d, items[i]), i, nodes_form, l,
                         &name_loc[i]);
        m->n_layers = i + 1;
        if (rc == 0 && !nodes_form) {
            l->n_inputs = 1;
            strcpy(l->inputs[0], i ? m->layers[i - 1].name : "input");
        }
    }
    if (rc == 0)
        rc = model_check_graph(m, name_loc, d->err);
    free(name_loc);
    return rc;
}

/* input: {shape: [d0, ...], dtype: float32 | int32} */
static int parse_input(ydoc *d, yaml_node_t *n, model *m)
{
    static const char *const keys[] = {"shape", "dtype", NULL};
    static const char *const dtypes[] = {"float32", "int32", NULL};
    if (ydoc_expect(d, n, "input", YAML_MAPPING_NODE) < 0 ||
        ydoc_check_keys(d, n, keys, "key", " in 'input'") < 0)
        return -1;
    m->input_loc = ydoc_loc(n);
    yaml_node_t *dtype = ydoc_get(d, n, "dtype");
    int choice = 0;
    if (dtype && ydoc_choice(d, dtype, "dtype", dtypes, &choice) < 0)
        return -1;
    m->dtype = (input_dtype)choice;
    yaml_node_t *shape = ydoc_get(d, n, "shape");
    if (!shape)
        return ydoc_fail(d, n, "missing required key 'shape' in 'input'");
    if (ydoc_expect(d, shape, "shape", YAML_SEQUENCE_NODE) < 0)
        return -1;
    yaml_node_item_t *items = shape->data.sequence.items.start;
    long rank = (long)(shape->data.sequence.items.top - items);
    /* the batch takes one of the QSDC_MAX_RANK dimensions of a tensor */
    if (rank < 1 || rank > QSDC_MAX_RANK - 1)
        return ydoc_fail(d, shape,
                         "'shape' must have 1 to %d dimensions, "
                         "found %ld",
                         QSDC_MAX_RANK - 1, rank);
    for (int i = 0; i < rank; i++)
        if (ydoc_int(d, ydoc_node(d, items[i]), "shape", 1, INT32_MAX,
                     &m->input_shape[i]) < 0)
            return -1;
    m->input_rank = (int)rank;
    return 0;
}

static int parse_output(ydoc *d, yaml_node_t *root, model *m)
{
    yaml_node_t *v = ydoc_get(d, root, "output");
    if (!v) {
        strcpy(m->output, m->layers[m->n_layers - 1].name);
        return 0;
    }
    if (ydoc_ident(d, v, "output", m->output) < 0)
        return -1;
    if (model_find(m, m->output) < 0)
        return ydoc_fail(d, v, "output '%s' is not a layer", m->output);
    return 0;
}

static int parse_model(ydoc *d, model *m)
{
    static const char *const keys[] = {"name",   "input", "layers", "nodes",
                                       "output", "train", NULL};
    yaml_node_t *root = ydoc_root(d);
    if (root->type != YAML_MAPPING_NODE)
        return ydoc_fail_found(d, root, "a mapping at the top level");
    if (ydoc_check_keys(d, root, keys, "top-level key", "") < 0)
        return -1;
    static const char *const required[] = {"name", "input", NULL};
    for (const char *const *k = required; *k; k++)
        if (!ydoc_get(d, root, *k))
            return ydoc_fail(d, root, "missing required key '%s'", *k);
    if (ydoc_ident(d, ydoc_get(d, root, "name"), "name", m->name) < 0 ||
        parse_input(d, ydoc_get(d, root, "input"), m) < 0)
        return -1;
    yaml_node_t *layers = ydoc_get(d, root, "layers");
    yaml_node_t *nodes = ydoc_get(d, root, "nodes");
    if (layers && nodes)
        return ydoc_fail(d, ydoc_key(d, root, "nodes"),
                         "'layers' and 'nodes' are mutually exclusive: give "
                         "one of them");
    if (!layers && !nodes)
        return ydoc_fail(d, root,
                         "missing required key 'layers' (a chain) "
                         "or 'nodes' (a graph)");
    if (parse_layers(d, layers ? layers : nodes, layers ? "layers" : "nodes",
                     m) < 0 ||
        parse_output(d, root, m) < 0)
        return -1;
    train_config_defaults(&m->train);
    yaml_node_t *train = ydoc_get(d, root, "train");
    m->has_train = train != NULL;
    if (train && model_parse_train(d, train, m->path, &m->train) < 0)
        return -1;
    train_config *t = &m->train;
    if ((t->crop_pad > 0 || t->flip) && m->input_rank != 3)
        return qsdc_fail_at(d->err, m->path, t->augment_loc.line, t->augment_loc.col,
                            "'augment' needs image samples, input shape [channels, "
                            "height, width]");
    if (t->crop_pad > 0) {
        int64_t h = m->input_shape[1], w = m->input_shape[2], half = (h < w ? h : w) / 2;
        if (t->crop_pad > half)
            return qsdc_fail_at(d->err, m->path, t->augment_loc.line, t->augment_loc.col,
                                "'crop_pad' %" PRId64 " is more than half the %" PRId64
                                "x%" PRId64 " image: crops would hold mostly padding (at "
                                "most %" PRId64 ")", t->crop_pad, h, w, half);
    }
    if ((t->format == DATA_TEXT || t->format == DATA_SENTIMENT) &&
        (m->dtype != DTYPE_INT32 || m->input_rank != 1))
        return qsdc_fail_at(d->err, m->path, t->data_loc.line, t->data_loc.col,
                            "text data give token ids: the model needs input "
                            "{shape: [time], dtype: int32}");
    bool has_lstm = false, text = t->format == DATA_TEXT || t->format == DATA_SENTIMENT;
    for (int i = 0; i < m->n_layers; i++) {
        const layer *l = &m->layers[i];
        has_lstm |= l->kind == LAYER_LSTM;
        /* both formats add two special tokens to the vocab kept words */
        if (text && l->kind == LAYER_EMBEDDING && l->vocab < t->vocab + 2)
            return qsdc_fail_at(d->err, m->path, l->loc.line, l->loc.col,
                                "embedding '%s' has %lld rows, fewer than the data's "
                                "vocab %lld plus its 2 special tokens", l->name,
                                (long long)l->vocab, (long long)t->vocab);
    }
    if (has_lstm && !(train && ydoc_get(d, train, "clip_norm")))
        t->clip_norm = QSDC_RNN_CLIP_NORM;
    return 0;
}

int model_load_string(const char *path, const char *text, size_t len,
                      model *out, qsdc_error *err)
{
    model m;
    memset(&m, 0, sizeof m);
    snprintf(m.path, sizeof m.path, "%s", path);
    ydoc d;
    if (ydoc_load(&d, path, text, len, err) < 0)
        return -1;
    int rc = parse_model(&d, &m);
    ydoc_free(&d);
    if (rc < 0) {
        model_free(&m);
        return -1;
    }
    *out = m;
    return 0;
}

int model_load(const char *path, model *out, qsdc_error *err)
{
    unsigned char *text = NULL;
    size_t len = 0;
    if (fs_read_file_max(path, YDOC_MAX_BYTES, &text, &len, err) < 0)
        return -1;
    int rc = model_load_string(path, (const char *)text, len, out, err);
    free(text);
    return rc;
}
