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

/* How many of the two shapes run on scalar units on env. */
static int select_scalar(cl_env *env, bool remeasure)
{
    qsdc_error err = {""};
    codegen_target t;
    exec_target(&env->dev, &t);
    bool scalar[2];
    if (lstm_select(env, &t, shapes, 2, remeasure, NULL, scalar, &err) < 0)
        fail_msg("%s", err.message);
    return scalar[0] + scalar[1];
}

/* A cache line: one of the two shapes, both ways measured. Whether the
 * scalar units were faster. */
static int check_line(const char *line)
{
    long long b, t, h;
    double vector, scalar;
    assert_int_equal(sscanf(line, "%lld %lld %lld %lf %lf", &b, &t, &h, &vector, &scalar), 5);
    assert_int_equal(b, 4);
    assert_int_equal(t, 6);
    assert_true(h == 8 || h == 5);
    assert_true(vector > 0 && scalar > 0);
    return scalar < vector;
}

static const cf_selector selector = {
    .force_var = "QSDC_LSTM", .yaml = lstms, .name = "lstm", .what = "lstm kernels",
    .select = select_scalar, .shapes = 2, .lines = 2, .check_line = check_line,
    .one_way = "{ $4 = 1000; $5 = 1; print }", .other_way = "{ $4 = 1; $5 = 1000; print }",
    .forced_one = "scalar", .forced_other = "vector"};

/* compile_for_device builds what the cache chose: the 8-unit recurrence's
 * two kernels on vectors of 8 or on scalars. */
static void test_compiles_the_choice(void **state)
{
    (void)state;
    int vectors[2];
    for (int scalar = 0; scalar < 2; scalar++) {
        cf_rewrite(scalar ? selector.one_way : selector.other_way);
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

/* QSDC_LSTM=scalar makes the target itself say scalar, so nothing is
 * asked. */
static void test_scalar_override_in_the_target(void **state)
{
    (void)state;
    ts_setenv("QSDC_LSTM", "scalar");
    codegen_target t;
    exec_target(&tf_env()->dev, &t);
    assert_true(t.scalar_lstm_all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cf_test_measures_and_caches),
        cmocka_unit_test(cf_test_reads_the_cache),
        cmocka_unit_test(test_compiles_the_choice),
        cmocka_unit_test_teardown(cf_test_overrides, ts_restore_env),
        cmocka_unit_test_teardown(test_scalar_override_in_the_target, ts_restore_env),
    };
    cf_suite(&selector);
    return cmocka_run_group_tests(tests, cf_setup, cf_teardown);
}
