/* The window kernels' spread on the lane family: a row or an element per
 * work-item, both measured once per device and layer shape, cached in a
 * per-device file that later runs read, and QSDC_WINDOW overriding it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cache_fixture.h"
#include "cl_fixture.h"
#include "device_tuner.h"
#include "executor.h"
#include "support.h"
#include "window_select.h"

/* At batch 1, so that no im2col joins its GEMM: a conv2d (the first layer:
 * an im2col, no col2im) and a max pool (the pool and its gradient). */
static const char cnn[] =
    "name: windows\ninput: {shape: [3, 8, 8]}\n"
    "layers:\n  - {op: conv2d, filters: 4, kernel: 3, padding: 1}\n  - relu\n"
    "  - {op: maxpool, kernel: 2}\n  - flatten\n  - {op: dense, units: 2}\n"
    "train: {optimizer: {type: sgd, lr: 0.1}}\n";
/* Its three window kernels: two layer shapes. */
static const window_shape shapes[3] = {
    {OP_IM2COL, 1, 3, 8, 8, {3, 3, 1, 1, 1, 1, 1, 1}},
    {OP_MAXPOOL, 1, 4, 8, 8, {2, 2, 2, 2, 0, 0, 1, 1}},
    {OP_MAXPOOL_GRAD, 1, 4, 8, 8, {2, 2, 2, 2, 0, 0, 1, 1}},
};

static char cache_file[1200];

static int setup(void **state)
{
    (void)state;
    cf_setup("QSDC_WINDOW", cnn);
    return 0;
}

/* How many of the three kernels run a row per work-item. */
static int select_rows(bool remeasure)
{
    qsdc_error err = {""};
    codegen_target t;
    exec_target(&tf_env()->dev, &t);
    bool rows[3];
    if (window_select(tf_env(), &t, shapes, 3, remeasure, NULL, rows, &err) < 0)
        fail_msg("%s", err.message);
    return rows[0] + rows[1] + rows[2];
}

/* Rewrites every cache line's times (rows, lanes ms; forward, backward). */
static void fabricate(double rows, double lanes)
{
    cf_rewrite(cache_file, ts_fmt("{ $14 = $16 = %g; $15 = $17 = %g; print }", rows, lanes));
}

/* The first selection measures both layer shapes, each kernel both ways,
 * and writes a line per layer, saying on stderr that it measures; the
 * choice follows each kernel's times. A selection from the cache says
 * nothing. */
static void test_measures_and_caches(void **state)
{
    (void)state;
    int n = cf_select_twice(select_rows, "window kernels", "window", cache_file, sizeof cache_file);
    FILE *f = fopen(cache_file, "r");
    assert_non_null(f);
    int lines = 0, faster = 0;
    char op[16];
    long long b, c, h, w;
    int k[8];
    double ms[4];
    while (fscanf(f, "%15s %lld %lld %lld %lld %d %d %d %d %d %d %d %d %lf %lf %lf %lf", op, &b,
                  &c, &h, &w, &k[0], &k[1], &k[2], &k[3], &k[4], &k[5], &k[6], &k[7], &ms[0],
                  &ms[1], &ms[2], &ms[3]) == 17) {
        bool pool = !strcmp(op, "maxpool");
        assert_true(pool || !strcmp(op, "im2col"));
        assert_int_equal(b, 1);
        assert_int_equal(c, pool ? 4 : 3);
        assert_int_equal(k[0], pool ? 2 : 3);
        /* the pool's kernels both count, the im2col's forward alone */
        for (int i = 0; i < 4; i++)
            assert_true(ms[i] > 0);
        faster += ms[0] < ms[1];
        if (pool)
            faster += ms[2] < ms[3];
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, 2);
    assert_int_equal(n, faster);
}

/* Cached times are used as they stand; measuring again replaces them, each
 * layer once. */
static void test_reads_the_cache(void **state)
{
    (void)state;
    fabricate(1, 1000);
    assert_int_equal(select_rows(false), 3);
    fabricate(1000, 1);
    assert_int_equal(select_rows(false), 0);
    ts_stderr_begin();
    select_rows(true);
    cf_said_measuring("window kernels");
    char *out = NULL;
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "awk '$15 == 1 || NF != 17' '%s'; wc -l < '%s'", cache_file,
             cache_file);
    assert_int_equal(ts_run(cmd, &out), 0);
    assert_string_equal(out, "2\n");
    free(out);
}

/* How many of the plan's kernels are window kernels an element per
 * work-item. */
static int lane_kernels(const plan *p)
{
    int n = 0;
    for (const char *at = strstr(p->source, "r0 = get_global_id(1)"); at;
         at = strstr(at + 1, "r0 = get_global_id(1)"))
        n++;
    return n;
}

/* compile_for_device on the lane family (the tiled GEMMs forced) builds
 * what the cache chose for the three window kernels; on the panel family
 * nothing is asked and every one runs a row per work-item. */
static void test_compiles_the_choice(void **state)
{
    (void)state;
    int lanes[3];
    for (int run = 0; run < 3; run++) {
        ts_setenv("QSDC_GEMM", run < 2 ? "tiled" : "panel");
        fabricate(run == 0 ? 1 : 1000, run == 0 ? 1000 : 1);
        qsdc_error err = {""};
        plan p;
        if (compile_for_device(tf_env(), cf_model(), MODE_TRAIN, 1, false, NULL, &p, &err) < 0)
            fail_msg("%s", err.message);
        lanes[run] = lane_kernels(&p);
        plan_free(&p);
    }
    assert_int_equal(lanes[0], 0);
    assert_int_equal(lanes[1], 3);
    assert_int_equal(lanes[2], 0);
}

static void test_environment_overrides(void **state)
{
    (void)state;
    fabricate(1000, 1);
    ts_setenv("QSDC_WINDOW", "rows");
    assert_int_equal(select_rows(false), 3);
    codegen_target t;
    exec_target(&tf_env()->dev, &t);
    assert_int_equal(t.windows, WINDOWS_ROWS);
    fabricate(1, 1000);
    ts_setenv("QSDC_WINDOW", "lanes");
    assert_int_equal(select_rows(false), 0);
    /* the target itself says lanes, so nothing is asked */
    exec_target(&tf_env()->dev, &t);
    assert_int_equal(t.windows, WINDOWS_LANES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measures_and_caches),
        cmocka_unit_test(test_reads_the_cache),
        cmocka_unit_test_teardown(test_compiles_the_choice, ts_restore_env),
        cmocka_unit_test_teardown(test_environment_overrides, ts_restore_env),
    };
    return cmocka_run_group_tests(tests, setup, cf_teardown);
}
