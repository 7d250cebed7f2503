/* conv2d, pool and batchnorm layers and the CIFAR-10/augment keys in model
 * files: parsed values and defaults, parse errors at their line:col, and
 * shape errors found when lowering, at the layer's line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "graph.h"

static model load_ok(const char *text)
{
    model m;
    qsdc_error err = {""};
    if (model_load_string("m.yaml", text, strlen(text), &m, &err) < 0)
        fail_msg("%s", err.message);
    return m;
}

/* The error of loading (lower_batch 0) or of lowering text at batch. */
static void expect_error(const char *text, int64_t lower_batch, const char *where,
                         const char *phrase)
{
    model m;
    graph g;
    qsdc_error err = {""};
    int rc = model_load_string("m.yaml", text, strlen(text), &m, &err);
    if (lower_batch > 0) {
        if (rc < 0)
            fail_msg("load failed: %s", err.message);
        rc = graph_lower(&m, MODE_TRAIN, lower_batch, &g, &err);
        graph_free(&g);
        model_free(&m);
    }
    if (rc == 0)
        fail_msg("no error, expected '%s'", phrase);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "m.yaml:%s: error: ", where);
    if (strncmp(err.message, prefix, strlen(prefix)) != 0 || !strstr(err.message, phrase))
        fail_msg("got \"%s\", expected \"%s...%s\"", err.message, prefix, phrase);
}

#define IMG "name: m\ninput: {shape: [3, 8, 8]}\nlayers:\n"

static void test_values_and_defaults(void **s)
{
    (void)s;
    model m = load_ok(IMG
        "  - {op: conv2d, filters: 5, kernel: [3, 1], stride: 2, padding: [1, 0],"
        " dilation: [1, 2], bias: false, init: he}\n"
        "  - {op: conv2d, filters: 2, kernel: 3, padding: same}\n"
        "  - {op: maxpool, kernel: 2}\n"
        "  - {op: avgpool, kernel: [2, 3], stride: [1, 2], padding: valid}\n"
        "  - global_avgpool\n"
        "  - batchnorm\n"
        "  - {op: batchnorm, momentum: 0.01, eps: 0.001}\n");
    const layer *c = &m.layers[0], *c2 = &m.layers[1], *mp = &m.layers[2];
    const layer *ap = &m.layers[3], *bn = &m.layers[5], *bn2 = &m.layers[6];
    assert_int_equal(c->kind, LAYER_CONV2D);
    assert_int_equal(c->filters, 5);
    assert_int_equal(c->win.kernel[0], 3);
    assert_int_equal(c->win.kernel[1], 1);
    assert_int_equal(c->win.stride[0], 2);
    assert_int_equal(c->win.stride[1], 2);
    assert_int_equal(c->win.pad, PAD_EXPLICIT);
    assert_int_equal(c->win.padding[0], 1);
    assert_int_equal(c->win.padding[1], 0);
    assert_int_equal(c->win.dilation[1], 2);
    assert_false(c->bias);
    assert_int_equal(c->init, INIT_HE);
    assert_int_equal(c2->win.pad, PAD_SAME);
    assert_true(c2->bias);
    assert_int_equal(c2->win.dilation[0], 1);
    assert_int_equal(mp->kind, LAYER_MAXPOOL);
    assert_int_equal(mp->win.stride[0], 0); /* default: the kernel */
    assert_int_equal(mp->win.pad, PAD_VALID);
    assert_int_equal(ap->win.kernel[1], 3);
    assert_int_equal(ap->win.stride[1], 2);
    assert_int_equal(m.layers[4].kind, LAYER_GLOBAL_AVGPOOL);
    assert_true(bn->momentum == 0.1 && bn->eps == 1e-5);
    assert_true(bn2->momentum == 0.01 && bn2->eps == 0.001);
    model_free(&m);
}

/* The shapes lowering infers, and the parameters it allocates. */
static void test_shapes(void **s)
{
    (void)s;
    model m = load_ok(IMG
        "  - {op: conv2d, filters: 4, kernel: 3, padding: same, name: c}\n"
        "  - {op: maxpool, kernel: 3, stride: 2, padding: 1, name: p}\n"
        "  - {op: conv2d, filters: 6, kernel: [2, 3], stride: [1, 2], dilation: [2, 1],"
        " name: d}\n"
        "  - {op: batchnorm, name: b}\n"
        "  - {op: global_avgpool, name: g}\n");
    graph g;
    qsdc_error err = {""};
    if (graph_lower(&m, MODE_TRAIN, 2, &g, &err) < 0)
        fail_msg("%s", err.message);
    static const struct { const char *name; int rank; int64_t dims[4]; } want[] = {
        {"c", 4, {2, 4, 8, 8}},      {"c.weight", 4, {4, 3, 3, 3}}, {"c.col", 3, {2, 27, 64}},
        {"p", 4, {2, 4, 4, 4}},      {"d", 4, {2, 6, 2, 1}},        {"b.affine", 2, {2, 6}},
        {"b.running", 2, {2, 6}},    {"g", 2, {2, 6}},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int t = -1;
        for (int j = 0; j < g.nt; j++)
            if (strcmp(g.t[j].name, want[i].name) == 0)
                t = j;
        if (t < 0)
            fail_msg("no tensor %s", want[i].name);
        assert_int_equal(g.t[t].rank, want[i].rank);
        for (int d = 0; d < want[i].rank; d++)
            if (g.t[t].dims[d] != want[i].dims[d])
                fail_msg("%s: dim %d is %lld, expected %lld", want[i].name, d,
                         (long long)g.t[t].dims[d], (long long)want[i].dims[d]);
    }
    graph_free(&g);
    model_free(&m);
}

static void test_parse_errors(void **s)
{
    (void)s;
    expect_error(IMG "  - {op: conv2d, filters: 3}\n", 0, "4:5",
                 "missing required parameter 'kernel' for op 'conv2d'");
    expect_error(IMG "  - {op: conv2d, kernel: 3}\n", 0, "4:5",
                 "missing required parameter 'filters'");
    expect_error(IMG "  - maxpool\n", 0, "4:5", "missing required parameter 'kernel'");
    expect_error(IMG "  - {op: conv2d, filters: 3, kernel: [3, 3, 3]}\n", 0, "4:38",
                 "'kernel' takes an integer or a list [height, width], found a list of 3");
    expect_error(IMG "  - {op: conv2d, filters: 3, kernel: 0}\n", 0, "4:38",
                 "'kernel' must be in [1, 65536], found 0");
    expect_error(IMG "  - {op: conv2d, filters: 3, kernel: 3, padding: full}\n", 0, "4:50",
                 "padding");
    expect_error(IMG "  - {op: conv2d, filters: 3, kernel: 3, padding: [1, -1]}\n", 0, "4:54",
                 "'padding' must be in [0, 65536], found -1");
    expect_error(IMG "  - {op: conv2d, filters: 3, kernel: 3, stride: {a: 1}}\n", 0, "4:49",
                 "expected an integer or a list [height, width], found mapping");
    expect_error(IMG "  - {op: maxpool, kernel: 2, dilation: 2}\n", 0, "4:30",
                 "unknown parameter 'dilation' for op 'maxpool'");
    expect_error(IMG "  - {op: batchnorm, momentum: 1.5}\n", 0, "4:31", "'momentum'");
    expect_error(IMG "  - {op: batchnorm, eps: 0}\n", 0, "4:26", "'eps'");
    expect_error(IMG "  - {op: global_avgpool, kernel: 2}\n", 0, "4:26",
                 "unknown parameter 'kernel'");
}

static void test_shape_errors(void **s)
{
    (void)s;
    expect_error(IMG "  - flatten\n  - {op: conv2d, filters: 2, kernel: 1}\n", 2, "5:5",
                 "conv2d 'conv2d1': expects a feature map [batch, channels, height, width], "
                 "got [2,192]");
    expect_error(IMG "  - {op: conv2d, filters: 2, kernel: 3, stride: 2, padding: same}\n", 2,
                 "4:5", "padding: same needs stride 1 and an odd (dilated) kernel");
    expect_error(IMG "  - {op: conv2d, filters: 2, kernel: [2, 3], padding: same}\n", 2, "4:5",
                 "padding: same needs stride 1");
    expect_error(IMG "  - {op: conv2d, filters: 2, kernel: [3, 5], dilation: 2}\n", 2, "4:5",
                 "its width window (kernel 5, dilation 2, padding 0) is larger than the "
                 "input [2,3,8,8]");
    expect_error(IMG "  - {op: maxpool, kernel: 3, padding: 2}\n", 2, "4:5",
                 "maxpool 'maxpool0': padding 2 is more than half the kernel 3");
    expect_error("name: m\ninput: {shape: [5]}\nlayers:\n  - batchnorm\n", 1, "4:5",
                 "needs more than one value per channel in training");
    expect_error("name: m\ninput: {shape: [5]}\nlayers:\n  - global_avgpool\n", 2, "4:5",
                 "expects a feature map");
}

#define TRAIN IMG "  - flatten\ntrain:\n"

static void test_data_and_augment(void **s)
{
    (void)s;
    model m = load_ok(TRAIN "  data: {format: cifar10, train: [a.bin, /d/b.bin], test: t.bin}\n"
                            "  augment: {crop_pad: 4, flip: true}\n");
    assert_int_equal(m.train.format, DATA_CIFAR10);
    assert_int_equal(m.train.n_train_files, 2);
    assert_string_equal(m.train.train_files[0], "a.bin");
    assert_string_equal(m.train.train_files[1], "/d/b.bin");
    assert_string_equal(m.train.test_file, "t.bin");
    assert_int_equal(m.train.crop_pad, 4);
    assert_true(m.train.flip);
    model_free(&m);
    m = load_ok(TRAIN "  data: {format: cifar10, train: one.bin}\n");
    assert_int_equal(m.train.n_train_files, 1);
    assert_string_equal(m.train.test_file, "");
    assert_int_equal(m.train.crop_pad, 0);
    assert_false(m.train.flip);
    model_free(&m);
    m = load_ok(TRAIN "  data: {format: idx, train_images: i, train_labels: l}\n");
    assert_int_equal(m.train.format, DATA_IDX);
    model_free(&m);

    expect_error(TRAIN "  data: {format: cifar10, test: t.bin}\n", 0, "6:9",
                 "missing required key 'train' in 'data'");
    expect_error(TRAIN "  data: {format: cifar10, train: a, train_images: b}\n", 0, "6:37",
                 "unknown key 'train_images' in 'data' (format cifar10)");
    expect_error(TRAIN "  data: {format: cifar100, train: a}\n", 0, "6:18",
                 "unknown format 'cifar100' (expected one of: idx, cifar10, text, sentiment, npy, "
                 "csv, npz, images)");
    expect_error(TRAIN "  data: {format: cifar10, train: []}\n", 0, "6:34",
                 "'train' lists 0 files; give 1 to 8");
    expect_error(TRAIN "  augment: {crop_pad: -1}\n", 0, "6:23", "'crop_pad'");
    /* crops of more padding than image train on blanks */
    expect_error(TRAIN "  augment: {crop_pad: 5}\n", 0, "6:12",
                 "'crop_pad' 5 is more than half the 8x8 image: crops would hold mostly "
                 "padding (at most 4)");
    expect_error(TRAIN "  augment: {flip: yes}\n", 0, "6:19", "'flip'");
    expect_error(TRAIN "  augment: {rotate: 3}\n", 0, "6:13", "unknown key 'rotate' in 'augment'");
    expect_error("name: m\ninput: {shape: [5]}\nlayers: [relu]\ntrain:\n  augment: {flip: true}\n",
                 0, "5:12", "'augment' needs image samples");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_defaults),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_data_and_augment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
