/* The conv2d algorithm choice: both ways measured once per device, layer
 * shape and batch, cached in a per-device file that later runs read, the
 * criterion depending on the plan's mode, and QSDC_CONV overriding it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cache_fixture.h"
#include "cl_fixture.h"
#include "conv_direct.h"
#include "conv_select.h"
#include "device_tuner.h"
#include "executor.h"
#include "support.h"

static const char cnn[] =
    "name: cnn\ninput: {shape: [2, 12, 12]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 8, kernel: 3, padding: same}\n"
    "  - relu\n"
    "  - {op: maxpool, kernel: 2}\n"
    "  - {op: conv2d, filters: 4, kernel: 3, stride: 2}\n"
    "  - relu\n"
    "  - flatten\n"
    "  - {op: dense, units: 3}\n";

static char cache_file[1200];

static int setup(void **state)
{
    (void)state;
    cf_setup("QSDC_CONV", cnn);
    return 0;
}

/* The layers run directly for a plan of mode; *all when every one is. */
static int select_direct(graph_mode mode, bool remeasure, bool *all)
{
    qsdc_error err = {""};
    codegen_target t;
    exec_target(&tf_env()->dev, &t);
    graph g;
    int nodes[CONV_MAX_LAYERS];
    conv_shape shapes[CONV_MAX_LAYERS];
    bool direct[CONV_MAX_LAYERS];
    if (graph_lower(cf_model(), mode, 4, &g, &err) < 0)
        fail_msg("%s", err.message);
    int n = graph_conv_layers(&g, nodes, shapes, CONV_MAX_LAYERS);
    graph_free(&g);
    assert_int_equal(n, 2);
    if (conv_select(tf_env(), &t, mode, 4, shapes, n, remeasure, NULL, direct, &err) < 0)
        fail_msg("%s", err.message);
    int chosen = 0;
    for (int i = 0; i < n; i++)
        chosen += direct[i];
    *all = chosen == n;
    return chosen;
}

/* Rewrites every cache line's times (direct, im2col, GEMM ms). */
static void fabricate(double direct, double im2col, double gemm)
{
    cf_rewrite(cache_file, ts_fmt("{ $14 = %g; $15 = %g; $16 = %g; print }", direct, im2col,
                                  gemm));
}

/* The first selection measures both layers and writes one line each,
 * saying on stderr that it measures (a large model's layers take a
 * while); the choice follows the measured times. At batch 4 fusion joins
 * each im2col to its GEMM, whose launch then carries the whole time:
 * im2col 0. A selection from the cache says nothing. */
static void test_measures_and_caches(void **state)
{
    (void)state;
    bool all;
    ts_stderr_begin();
    int n = select_direct(MODE_TRAIN, false, &all);
    cf_said_measuring("conv2d kernels");
    ts_stderr_begin();
    assert_int_equal(select_direct(MODE_TRAIN, false, &all), n);
    cf_said_measuring(NULL);
    cf_cache_file("conv", cache_file, sizeof cache_file);
    FILE *f = fopen(cache_file, "r");
    assert_non_null(f);
    int lines = 0, faster = 0;
    long long v[5];
    int k[8];
    double direct, im2col, gemm;
    while (fscanf(f, "%lld %lld %lld %lld %lld %d %d %d %d %d %d %d %d %lf %lf %lf", &v[0],
                  &v[1], &v[2], &v[3], &v[4], &k[0], &k[1], &k[2], &k[3], &k[4], &k[5], &k[6],
                  &k[7], &direct, &im2col, &gemm) == 16) {
        assert_int_equal(v[0], 4);
        assert_true(direct > 0 && im2col == 0 && gemm > 0);
        faster += direct < gemm;
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, 2);
    assert_int_equal(n, faster);
}

/* Cached times are used as they stand, by the mode's criterion: training
 * compares the direct kernel with the GEMM alone (its backward redoes the
 * im2col), inference with im2col + GEMM. */
static void test_reads_the_cache(void **state)
{
    (void)state;
    bool all;
    fabricate(1, 1000, 1000);
    assert_int_equal(select_direct(MODE_TRAIN, false, &all), 2);
    fabricate(1000000, 1, 1);
    assert_int_equal(select_direct(MODE_TRAIN, false, &all), 0);
    fabricate(5, 3, 4);
    assert_int_equal(select_direct(MODE_TRAIN, false, &all), 0);
    assert_int_equal(select_direct(MODE_INFER, false, &all), 2);
    /* measuring again replaces the fabricated times */
    select_direct(MODE_TRAIN, true, &all);
    char *out = NULL;
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "awk '$14 == 5' '%s'", cache_file);
    assert_int_equal(ts_run(cmd, &out), 0);
    assert_string_equal(out, "");
    free(out);
}

/* compile_for_device builds what the cache chose: one direct kernel per
 * layer. */
static void test_compiles_the_choice(void **state)
{
    (void)state;
    fabricate(1, 1000, 1000);
    qsdc_error err = {""};
    plan p;
    if (compile_for_device(tf_env(), cf_model(), MODE_TRAIN, 4, false, NULL, &p, &err) < 0)
        fail_msg("%s", err.message);
    int direct = 0;
    for (int i = 0; i < p.n_launches; i++)
        direct += strncmp(p.launches[i].nodes, "conv2d", 6) == 0;
    assert_int_equal(direct, 2);
    plan_free(&p);
}

static void test_environment_overrides(void **state)
{
    (void)state;
    bool all;
    fabricate(1, 1000, 1000);
    ts_setenv("QSDC_CONV", "gemm");
    assert_int_equal(select_direct(MODE_TRAIN, false, &all), 0);
    assert_false(all);
    fabricate(1000000, 1, 1);
    ts_setenv("QSDC_CONV", "direct");
    select_direct(MODE_TRAIN, false, &all);
    assert_true(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measures_and_caches),
        cmocka_unit_test(test_reads_the_cache),
        cmocka_unit_test(test_compiles_the_choice),
        cmocka_unit_test_teardown(test_environment_overrides, ts_restore_env),
    };
    return cmocka_run_group_tests(tests, setup, cf_teardown);
}
