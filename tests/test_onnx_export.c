/* qsdc_session_export_onnx and qsdc_session_export_npz: the ONNX file
 * decoded again with protobuf-c (its nodes, initializers and the lstm's
 * gate order against the session's own weights), the .npz read as a zip
 * (every entry's checksum and .npy header) and imported again (the same
 * outputs; damaged files fail cleanly), an exported MLP opened again as an
 * ONNX model (the same outputs; every prefix and byte flip of the file
 * imported without a crash), and the errors. ONNX Runtime
 * runs the exports in tests/python/test_onnx_export.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <cmocka.h>

#include "onnx.pb-c.h"
#include "onnx_import.h"
#include "qsdc.h"
#include "support.h"

#define VOCAB 7
#define DIM 3
#define UNITS 2
#define STEPS 4

static const char *device; /* QSDC_TEST_DEVICE, else the default */

static const char lstm_model[] =
    "name: lstm\n"
    "input: {shape: [4], dtype: int32}\n"
    "layers:\n"
    "  - {op: embedding, vocab: 7, dim: 3, name: emb}\n"
    "  - {op: qsd, p: 0.5, sites: 2, q_cv: 0.5, share: time}\n"
    "  - {op: lstm, units: 2, name: rnn}\n"
    "  - {op: pool_sequence, mode: mean}\n"
    "  - {op: dense, units: 3, name: fc}\n"
    "  - softmax\n"
    "train: {batch: 2}\n";

static const char mlp_model[] =
    "name: mlp\n"
    "input: {shape: [5]}\n"
    "layers:\n"
    "  - {op: dense, units: 4, name: hidden}\n"
    "  - {op: batchnorm, name: bn}\n"
    "  - relu\n"
    "  - {op: dense, units: 3, bias: false, name: out}\n"
    "train: {batch: 2}\n";

static const char one_weight_model[] =
    "name: one\n"
    "input: {shape: [2]}\n"
    "layers:\n"
    "  - {op: dense, units: 1, bias: false, name: fc}\n"
    "train: {batch: 2}\n";

static int setup(void **state)
{
    (void)state;
    device = getenv("QSDC_TEST_DEVICE");
    return 0;
}

static qsdc_session *open_model(const char *name, const char *text, int weights)
{
    const char *path = ts_write(name, text, strlen(text));
    qsdc_open_options o = {.device = device};
    qsdc_session *s = NULL;
    qsdc_error err = {""};
    if (qsdc_session_open(path, &o, &s, &err) < 0 ||
        (weights && qsdc_session_init_weights(s, 5, &err) < 0))
        fail_msg("%s: %s", name, err.message);
    return s;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *b = (unsigned char *)ts_read_stream(f, len);
    fclose(f);
    assert_non_null(b);
    return b;
}

typedef struct named_tensor {
    const char *name;
    float v[64];
    int64_t n;
} named_tensor;

static int keep_tensor(void *ctx, const char *name, const float *v, int64_t n, qsdc_error *err)
{
    (void)err;
    named_tensor *t = ctx;
    if (strcmp(name, t->name) == 0 && n <= 64) {
        memcpy(t->v, v, (size_t)n * sizeof *v);
        t->n = n;
    }
    return 0;
}

static const Onnx__TensorProto *initializer(const Onnx__ModelProto *m, const char *name)
{
    for (size_t i = 0; i < m->graph->n_initializer; i++)
        if (strcmp(m->graph->initializer[i]->name, name) == 0)
            return m->graph->initializer[i];
    fail_msg("no initializer %s", name);
    return NULL;
}

static float raw_float(const Onnx__TensorProto *t, size_t i)
{
    float f;
    assert_true((i + 1) * sizeof f <= t->raw_data.len);
    memcpy(&f, t->raw_data.data + i * sizeof f, sizeof f);
    return f;
}

static void test_onnx_graph_of_an_lstm_classifier(void **state)
{
    (void)state;
    qsdc_session *s = open_model("lstm.yaml", lstm_model, 1);
    qsdc_error err = {""};
    const char *path = ts_fmt("%s/lstm.onnx", ts_tmpdir());
    if (qsdc_session_export_onnx(s, path, &err) < 0)
        fail_msg("%s", err.message);
    named_tensor w = {.name = "rnn.weight"};
    assert_int_equal(qsdc_session_weights(s, keep_tensor, &w, &err), 0);
    assert_int_equal(w.n, DIM * 4 * UNITS);
    qsdc_session_close(s);

    size_t len;
    unsigned char *bytes = read_file(path, &len);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, bytes);
    assert_non_null(m);
    assert_int_equal(m->ir_version, 8);
    assert_int_equal(m->n_opset_import, 1);
    assert_int_equal(m->opset_import[0]->version, 13);
    const Onnx__GraphProto *g = m->graph;
    assert_int_equal(g->n_input, 1);
    assert_string_equal(g->input[0]->name, "input");
    assert_int_equal(g->input[0]->type->tensor_type->elem_type,
                     ONNX__TENSOR_PROTO__DATA_TYPE__INT32);
    assert_int_equal(g->n_output, 1);
    assert_string_equal(g->output[0]->name, "softmax5");
    int lstm = 0, gather = 0, gemm = 0;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        lstm += strcmp(n->op_type, "LSTM") == 0;
        gather += strcmp(n->op_type, "Gather") == 0;
        gemm += strcmp(n->op_type, "Gemm") == 0;
        for (size_t k = 0; k < n->n_input; k++) /* the qsd layer left no trace */
            assert_null(strstr(n->input[k], "qsd"));
        if (strcmp(n->op_type, "LSTM") == 0)
            assert_string_equal(n->input[4], "input.lengths");
    }
    assert_int_equal(lstm, 1);
    assert_int_equal(gather, 1);
    assert_int_equal(gemm, 1);
    /* the padding id -1 reads the table's last row: zeros */
    const Onnx__TensorProto *emb = initializer(m, "emb.weight");
    assert_int_equal(emb->n_dims, 2);
    assert_int_equal(emb->dims[0], VOCAB + 1);
    for (int j = 0; j < DIM; j++)
        assert_true(raw_float(emb, VOCAB * DIM + j) == 0.0f);
    /* W [1, 4H, F], blocks i, o, f, c from qsdc's [F, 4H] in i, f, g, o */
    const Onnx__TensorProto *wt = initializer(m, "rnn.W");
    assert_int_equal(wt->n_dims, 3);
    assert_int_equal(wt->dims[1], 4 * UNITS);
    assert_int_equal(wt->dims[2], DIM);
    const int qsdc_block[4] = {0, 3, 1, 2};
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < UNITS; j++)
            for (int f = 0; f < DIM; f++)
                assert_true(raw_float(wt, (size_t)((k * UNITS + j) * DIM + f)) ==
                            w.v[f * 4 * UNITS + qsdc_block[k] * UNITS + j]);
    onnx__model_proto__free_unpacked(m, NULL);
    free(bytes);
}

static uint32_t le(const unsigned char *p, int bytes)
{
    uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The zip's entries in file order: names, and each stored .npy's header
 * holding shape, with its CRC-32 checked. */
static void expect_npz(const unsigned char *b, size_t len, const char *const *names,
                       const char *const *shapes, int count)
{
    assert_true(len > 22);
    const unsigned char *end = b + len - 22;
    assert_int_equal(le(end, 4), 0x06054b50);
    assert_int_equal(le(end + 10, 2), count);
    size_t at = 0;
    for (int i = 0; i < count; i++) {
        const unsigned char *h = b + at;
        assert_true(at + 30 <= len);
        assert_int_equal(le(h, 4), 0x04034b50);
        assert_int_equal(le(h + 8, 2), 0); /* stored */
        uint32_t size = le(h + 18, 4), name_len = le(h + 26, 2);
        assert_true(at + 30 + name_len + size <= len);
        assert_int_equal(name_len, strlen(names[i]) + 4);
        assert_memory_equal(h + 30, names[i], strlen(names[i]));
        const unsigned char *data = h + 30 + name_len;
        assert_int_equal(le(h + 14, 4), (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, size));
        char head[128]; /* the header's text, after magic, version and its length */
        assert_true(size > 10 + 127);
        snprintf(head, sizeof head, "%.*s", 127, (const char *)data + 10);
        assert_non_null(strstr(head, shapes[i]));
        at += 30 + name_len + size;
    }
    assert_int_equal(le(end + 16, 4), at); /* the central directory follows */
}

static void test_npz_names_and_layouts(void **state)
{
    (void)state;
    qsdc_session *s = open_model("mlp.yaml", mlp_model, 1);
    qsdc_error err = {""};
    const char *path = ts_fmt("%s/mlp.npz", ts_tmpdir());
    if (qsdc_session_export_npz(s, path, &err) < 0)
        fail_msg("%s", err.message);
    qsdc_session_close(s);
    size_t len;
    unsigned char *b = read_file(path, &len);
    const char *names[] = {"hidden.weight", "hidden.bias", "bn.weight", "bn.bias",
                           "bn.running_mean", "bn.running_var", "out.weight"};
    const char *shapes[] = {"'shape': (4, 5), }", "'shape': (4,), }", "'shape': (4,), }",
                            "'shape': (4,), }", "'shape': (4,), }", "'shape': (4,), }",
                            "'shape': (3, 4), }"};
    expect_npz(b, len, names, shapes, 7);
    free(b);
}

static qsdc_session *importer;

/* Any bytes: the import succeeds or fails with a message, never crashes. */
static void import_bytes(const unsigned char *data, size_t len)
{
    qsdc_error err = {""};
    const char *path = ts_write("mutated.npz", data, len);
    if (qsdc_session_import_npz(importer, path, &err) < 0)
        assert_true(err.message[0] != '\0');
}

static void test_npz_import_round_trip_and_damage(void **state)
{
    (void)state;
    qsdc_session *s = open_model("mlp-import.yaml", mlp_model, 1);
    qsdc_error err = {""};
    const char *path = ts_fmt("%s/round.npz", ts_tmpdir());
    float x[2 * 5] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 1.0f, 0.5f, -1.0f, 2.0f, 0.0f};
    float want[6], got[6];
    assert_int_equal(qsdc_session_predict(s, x, 10, 2, want, 6, &err), 0);
    assert_int_equal(qsdc_session_export_npz(s, path, &err), 0);
    assert_int_equal(qsdc_session_init_weights(s, 77, &err), 0);
    if (qsdc_session_import_npz(s, path, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(qsdc_session_predict(s, x, 10, 2, got, 6, &err), 0);
    assert_memory_equal(got, want, sizeof want);

    assert_int_equal(qsdc_session_import_npz(s, ts_fmt("%s/none.npz", ts_tmpdir()), &err), -1);
    assert_non_null(strstr(err.message, "none.npz"));
    const char *text = ts_write("text.npz", "not a zip at all, longer than 22 bytes", 38);
    assert_int_equal(qsdc_session_import_npz(s, text, &err), -1);
    assert_non_null(strstr(err.message, "not a readable .npz (zip) archive"));
    qsdc_session_close(s);

    /* the damage on the smallest archive: one array of two floats */
    importer = open_model("one.yaml", one_weight_model, 1);
    path = ts_fmt("%s/one.npz", ts_tmpdir());
    assert_int_equal(qsdc_session_export_npz(importer, path, &err), 0);
    size_t len;
    unsigned char *b = read_file(path, &len);
    ts_each_mutation(b, len, import_bytes);
    free(b);
    qsdc_session_close(importer);
}

/* Any bytes as an ONNX file: imported or refused with a message, no crash. */
static void import_onnx_bytes(const unsigned char *data, size_t len)
{
    qsdc_error err = {""};
    const char *path = ts_write("mutated.onnx", data, len);
    model m;
    onnx_params w;
    if (onnx_import(path, &m, &w, &err) < 0) {
        assert_true(err.message[0] != '\0');
        return;
    }
    model_free(&m);
    onnx_params_free(&w);
}

static void test_onnx_import_round_trip_and_damage(void **state)
{
    (void)state;
    qsdc_session *s = open_model("mlp-onnx.yaml", mlp_model, 1);
    qsdc_error err = {""};
    const char *path = ts_fmt("%s/mlp-again.onnx", ts_tmpdir());
    float x[2 * 5] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 1.0f, 0.5f, -1.0f, 2.0f, 0.0f};
    float want[6], got[6];
    assert_int_equal(qsdc_session_predict(s, x, 10, 2, want, 6, &err), 0);
    assert_int_equal(qsdc_session_export_onnx(s, path, &err), 0);
    qsdc_session_close(s);
    qsdc_open_options o = {.device = device};
    if (qsdc_session_open(path, &o, &s, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(qsdc_session_predict(s, x, 10, 2, got, 6, &err), 0);
    assert_memory_equal(got, want, sizeof want);
    qsdc_session_close(s);
    size_t len;
    unsigned char *b = read_file(path, &len);
    ts_each_mutation(b, len, import_onnx_bytes);
    free(b);
}

/* The exported MLP with a Pad (its pads an int64 Constant, as
 * torch.onnx.export writes before nn.AvgPool2d's AveragePool) between the
 * input and the first node, written to path. */
static void write_padded(const unsigned char *onnx, size_t len, int64_t pad, const char *path)
{
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, onnx);
    assert_non_null(m);
    Onnx__GraphProto *g = m->graph;
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_input; k++)
            if (strcmp(g->node[i]->input[k], "input") == 0)
                memcpy(g->node[i]->input[k], "pad_x", 5); /* in place: same length */
    int64_t pads[4] = {0, pad, 0, pad};
    Onnx__TensorProto value = ONNX__TENSOR_PROTO__INIT;
    value.has_data_type = 1;
    value.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    int64_t dims[1] = {4};
    value.n_dims = 1;
    value.dims = dims;
    value.n_int64_data = 4;
    value.int64_data = pads;
    Onnx__AttributeProto attr = ONNX__ATTRIBUTE_PROTO__INIT, mode = ONNX__ATTRIBUTE_PROTO__INIT;
    attr.name = "value";
    attr.has_type = 1;
    attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    attr.t = &value;
    mode.name = "mode";
    mode.has_type = 1;
    mode.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    mode.s.data = (uint8_t *)"constant";
    mode.s.len = 8;
    mode.has_s = 1;
    Onnx__AttributeProto *cattrs[1] = {&attr}, *pattrs[1] = {&mode};
    char *cout[1] = {"pads"}, *pin[2] = {"input", "pads"}, *pout[1] = {"pad_x"};
    Onnx__NodeProto c = ONNX__NODE_PROTO__INIT, pn = ONNX__NODE_PROTO__INIT;
    c.op_type = "Constant";
    c.name = "pads_const";
    c.n_output = 1;
    c.output = cout;
    c.n_attribute = 1;
    c.attribute = cattrs;
    pn.op_type = "Pad";
    pn.name = "pad0";
    pn.n_input = 2;
    pn.input = pin;
    pn.n_output = 1;
    pn.output = pout;
    pn.n_attribute = 1;
    pn.attribute = pattrs;
    Onnx__NodeProto **nodes = malloc((g->n_node + 2) * sizeof *nodes);
    assert_non_null(nodes);
    nodes[0] = &c;
    nodes[1] = &pn;
    memcpy(nodes + 2, g->node, g->n_node * sizeof *nodes);
    Onnx__NodeProto **old_nodes = g->node;
    size_t old_n = g->n_node;
    g->node = nodes;
    g->n_node = old_n + 2;
    size_t size = onnx__model_proto__get_packed_size(m);
    uint8_t *out = malloc(size);
    assert_non_null(out);
    onnx__model_proto__pack(m, out);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(out, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
    free(out);
    g->node = old_nodes; /* as unpacked: free_unpacked frees only its own */
    g->n_node = old_n;
    free(nodes);
    onnx__model_proto__free_unpacked(m, NULL);
}

/* A Pad of zero width imports as the identity (the same outputs); one that
 * pads is an error naming the node and the op. */
static void test_onnx_import_of_a_pad(void **state)
{
    (void)state;
    qsdc_session *s = open_model("mlp-pad.yaml", mlp_model, 1);
    qsdc_error err = {""};
    const char *path = ts_fmt("%s/mlp-for-pad.onnx", ts_tmpdir());
    float x[2 * 5] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 1.0f, 0.5f, -1.0f, 2.0f, 0.0f};
    float want[6], got[6];
    assert_int_equal(qsdc_session_predict(s, x, 10, 2, want, 6, &err), 0);
    assert_int_equal(qsdc_session_export_onnx(s, path, &err), 0);
    qsdc_session_close(s);
    size_t len;
    unsigned char *b = read_file(path, &len);
    const char *zero = ts_fmt("%s/mlp-pad0.onnx", ts_tmpdir());
    const char *one = ts_fmt("%s/mlp-pad1.onnx", ts_tmpdir());
    write_padded(b, len, 0, zero);
    write_padded(b, len, 1, one);
    free(b);
    qsdc_open_options o = {.device = device};
    if (qsdc_session_open(zero, &o, &s, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(qsdc_session_predict(s, x, 10, 2, got, 6, &err), 0);
    assert_memory_equal(got, want, sizeof want);
    qsdc_session_close(s);
    s = NULL;
    assert_int_equal(qsdc_session_open(one, &o, &s, &err), -1);
    assert_null(s);
    if (!strstr(err.message, "node 'pad0' (op Pad): only a Pad of zero width"))
        fail_msg("%s", err.message);
}

static void test_export_errors(void **state)
{
    (void)state;
    qsdc_session *s = open_model("mlp-no-weights.yaml", mlp_model, 0);
    qsdc_error err = {""};
    const char *path = ts_fmt("%s/never.onnx", ts_tmpdir());
    assert_int_equal(qsdc_session_export_onnx(s, path, &err), -1);
    assert_non_null(strstr(err.message, "has no weights yet"));
    assert_int_equal(qsdc_session_export_npz(s, path, &err), -1);
    assert_non_null(strstr(err.message, "has no weights yet"));
    struct stat st;
    assert_int_equal(stat(path, &st), -1);
    assert_int_equal(qsdc_session_init_weights(s, 1, &err), 0);
    assert_int_equal(qsdc_session_export_onnx(s, "", &err), -1);
    assert_non_null(strstr(err.message, "no output path"));
    assert_int_equal(qsdc_session_export_npz(s, NULL, &err), -1);
    assert_non_null(strstr(err.message, "no output path"));
    const char *missing = ts_fmt("%s/no-such-dir/m.onnx", ts_tmpdir());
    assert_int_equal(qsdc_session_export_onnx(s, missing, &err), -1);
    assert_non_null(strstr(err.message, missing));
    assert_string_equal(qsdc_session_last_error(s), err.message);
    assert_int_equal(qsdc_session_export_onnx(NULL, path, &err), -1);
    qsdc_session_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onnx_graph_of_an_lstm_classifier),
        cmocka_unit_test(test_npz_names_and_layouts),
        cmocka_unit_test(test_npz_import_round_trip_and_damage),
        cmocka_unit_test(test_onnx_import_round_trip_and_damage),
        cmocka_unit_test(test_onnx_import_of_a_pad),
        cmocka_unit_test(test_export_errors),
    };
    return cmocka_run_group_tests(tests, setup, ts_teardown);
}
