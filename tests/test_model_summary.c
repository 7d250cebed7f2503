/* qsdc_model_summary and `qsdc summary` on a small CNN whose shapes and
 * parameter counts are worked out below by hand, and the fixture's MLP
 * against the sizes qsdc_compile_bundle reports. No device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_fixture.h"
#include "qsdc.h"
#include "support.h"

static const char cnn[] =
    "name: small\n"
    "input: {shape: [2, 6, 6]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 4, kernel: 3, padding: same}\n"
    "  - batchnorm\n"
    "  - relu\n"
    "  - {op: maxpool, kernel: 2}\n"
    "  - flatten\n"
    "  - {op: dense, units: 5, name: out}\n"
    "  - softmax\n";

typedef struct expected {
    const char *name, *op;
    int rank;
    int64_t shape[3];
    int64_t params, stats;
} expected;

/* conv: 2 channels x 3x3 x 4 filters + 4 biases; batchnorm: a scale and a
 * shift per channel, and a running mean and variance; dense: 36 x 5 + 5. */
static const expected layers[] = {
    {"conv2d0", "conv2d", 3, {4, 6, 6}, 76, 0},
    {"batchnorm1", "batchnorm", 3, {4, 6, 6}, 8, 8},
    {"relu2", "relu", 3, {4, 6, 6}, 0, 0},
    {"maxpool3", "maxpool", 3, {4, 3, 3}, 0, 0},
    {"flatten4", "flatten", 1, {36}, 0, 0},
    {"out", "dense", 1, {5}, 185, 0},
    {"softmax6", "softmax", 1, {5}, 0, 0},
};
#define N_LAYERS (int)(sizeof layers / sizeof layers[0])

static void test_api(void **state)
{
    (void)state;
    const char *path = ts_write("small.yaml", cnn, sizeof cnn - 1);
    qsdc_model *m;
    qsdc_error err = {""};
    if (qsdc_model_load(path, &m, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(qsdc_model_summary(m, NULL, 0, &err), N_LAYERS);
    qsdc_layer_summary s[N_LAYERS];
    assert_int_equal(qsdc_model_summary(m, s, N_LAYERS, &err), N_LAYERS);
    for (int i = 0; i < N_LAYERS; i++) {
        assert_string_equal(s[i].name, layers[i].name);
        assert_string_equal(s[i].op, layers[i].op);
        assert_int_equal(s[i].rank, layers[i].rank);
        for (int d = 0; d < layers[i].rank; d++)
            assert_int_equal(s[i].shape[d], layers[i].shape[d]);
        assert_int_equal(s[i].params, layers[i].params);
        assert_int_equal(s[i].stats, layers[i].stats);
    }
    /* cap counts: the first two, and the number of all */
    memset(s, 0, sizeof s);
    assert_int_equal(qsdc_model_summary(m, s, 2, &err), N_LAYERS);
    assert_string_equal(s[1].name, "batchnorm1");
    assert_string_equal(s[2].name, "");
    assert_int_equal(qsdc_model_summary(m, NULL, 1, &err), -1);
    assert_non_null(strstr(err.message, "out is NULL"));
    qsdc_model_free(m);
    assert_int_equal(qsdc_model_summary(NULL, s, 1, &err), -1);
    assert_non_null(strstr(err.message, "m is NULL"));
}

/* The trainable parameters and running statistics add up to the
 * parameters a compiled bundle holds. */
static void test_totals_match_bundle(void **state)
{
    (void)state;
    cli_files task;
    cli_write_task("summary", &task);
    qsdc_model *m;
    qsdc_error err = {""};
    if (qsdc_model_load(task.model, &m, &err) < 0)
        fail_msg("%s", err.message);
    qsdc_layer_summary s[16];
    int n = qsdc_model_summary(m, s, 16, &err);
    assert_int_equal(n, 6);
    int64_t total = 0;
    for (int i = 0; i < n; i++)
        total += s[i].params + s[i].stats;
    assert_int_equal(total, 64 * 32 + 32 + 32 * 3 + 3);
    qsdc_bundle_info info;
    assert_int_equal(qsdc_compile_bundle(m, ts_fmt("%s/summary.qsdc", ts_tmpdir()), NULL,
                                         &info, &err), 0);
    assert_int_equal(info.params, total);
    qsdc_model_free(m);
}

static void test_command(void **state)
{
    (void)state;
    const char *path = ts_write("small-cli.yaml", cnn, sizeof cnn - 1);
    char *out = cli_run_expect(0, "summary '%s'", path);
    cli_expect(out, "small\nlayer                op               output                 params\n");
    cli_expect(out, "\nconv2d0              conv2d           4x6x6                      76\n");
    cli_expect(out, "\nbatchnorm1           batchnorm        4x6x6                       8  "
                    "(+8 running statistics)\n");
    cli_expect(out, "\nflatten4             flatten          36                          0\n");
    cli_expect(out, "\ntotal: 7 layers, 269 trainable parameters, 8 running statistics\n");
    free(out);
    out = cli_run_expect(1, "summary '%s/none.yaml'", ts_tmpdir());
    cli_expect(out, "none.yaml: cannot open");
    free(out);
    out = cli_run_expect(2, "summary");
    cli_expect(out, "usage: qsdc summary");
    free(out);
    out = cli_run_expect(0, "summary --help");
    cli_expect(out, "usage: qsdc summary");
    free(out);
}

int main(void)
{
    cli_env_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api),
        cmocka_unit_test(test_totals_match_bundle),
        cmocka_unit_test(test_command),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
