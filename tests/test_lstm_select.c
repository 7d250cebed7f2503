/* The lstm recurrence's shape choice: vectors of units or one unit per
 * work-item, both measured once per device and shape, cached in a
 * per-device file that later runs read, and QSDC_LSTM overriding it. */
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
#include "lstm_select.h"
#include "support.h"

/* Two shapes: 8 units (vectors of 8) and 5 (no vector divides it, so
 * scalars both ways). */
static const char lstms[] =
    "name: lstms\ninput: {shape: [6, 3]}\n"
    "layers:\n  - {op: lstm, units: 8}\n  - {op: lstm, units: 5, return: last}\n"
    "  - {op: dense, units: 2}\n"
    "train: {optimizer: {type: sgd, lr: 0.1}}\n";
static const recur_shape shapes[2] = {{4, 6, 8}, {4, 6, 5}};

static char cache_file[1200];

static int setup(void **state)
{
    (void)state;
    cf_setup("QSDC_LSTM", lstms);
    return 0;
}

/* How many of the two shapes run on scalar units. */
static int select_scalar(bool remeasure)
{
    qsdc_error err = {""};
    codegen_target t;
    exec_target(&tf_env()->dev, &t);
    bool scalar[2];
    if (lstm_select(tf_env(), &t, shapes, 2, remeasure, NULL, scalar, &err) < 0)
        fail_msg("%s", err.message);
    return scalar[0] + scalar[1];
}

/* Rewrites every cache line's times (vector, scalar ms). */
static void fabricate(double vector, double scalar)
{
    cf_rewrite(cache_file, ts_fmt("{ $4 = %g; $5 = %g; print }", vector, scalar));
}

/* The first selection measures both shapes both ways and writes a line
 * each, saying on stderr that it measures; the choice follows the times. A
 * selection from the cache says nothing. */
static void test_measures_and_caches(void **state)
{
    (void)state;
    int n = cf_select_twice(select_scalar, "lstm kernels", "lstm", cache_file, sizeof cache_file);
    FILE *f = fopen(cache_file, "r");
    assert_non_null(f);
    int lines = 0, faster = 0;
    long long b, t, h;
    double vector, scalar;
    while (fscanf(f, "%lld %lld %lld %lf %lf", &b, &t, &h, &vector, &scalar) == 5) {
        assert_int_equal(b, 4);
        assert_int_equal(t, 6);
        assert_true(h == 8 || h == 5);
        assert_true(vector > 0 && scalar > 0);
        faster += scalar < vector;
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, 2);
    assert_int_equal(n, faster);
}

/* Cached times are used as they stand; measuring again replaces them. */
static void test_reads_the_cache(void **state)
{
    (void)state;
    fabricate(1000, 1);
    assert_int_equal(select_scalar(false), 2);
    fabricate(1, 1000);
    assert_int_equal(select_scalar(false), 0);
    select_scalar(true);
    char *out = NULL;
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "awk '$4 == 1' '%s'", cache_file);
    assert_int_equal(ts_run(cmd, &out), 0);
    assert_string_equal(out, "");
    free(out);
}

/* compile_for_device builds what the cache chose: the 8-unit recurrence's
 * two kernels on vectors of 8 or on scalars. */
static void test_compiles_the_choice(void **state)
{
    (void)state;
    int vectors[2];
    for (int scalar = 0; scalar < 2; scalar++) {
        fabricate(scalar ? 1000 : 1, scalar ? 1 : 1000);
        qsdc_error err = {""};
        plan p;
        if (compile_for_device(tf_env(), cf_model(), MODE_TRAIN, 4, false, NULL, &p, &err) < 0)
            fail_msg("%s", err.message);
        vectors[scalar] = 0;
        for (const char *at = strstr(p.source, "#define VT float8\n"); at;
             at = strstr(at + 1, "#define VT float8\n"))
            vectors[scalar]++;
        plan_free(&p);
    }
    assert_int_equal(vectors[0], 2);
    assert_int_equal(vectors[1], 0);
}

static void test_environment_overrides(void **state)
{
    (void)state;
    fabricate(1000, 1);
    ts_setenv("QSDC_LSTM", "vector");
    assert_int_equal(select_scalar(false), 0);
    fabricate(1, 1000);
    ts_setenv("QSDC_LSTM", "scalar");
    assert_int_equal(select_scalar(false), 2);
    /* the target itself says scalar, so nothing is asked */
    codegen_target t;
    exec_target(&tf_env()->dev, &t);
    assert_true(t.scalar_lstm_all);
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
