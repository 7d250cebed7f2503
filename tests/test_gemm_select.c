/* The GEMM backend choice (the panel or tiled family of generated kernels,
 * or CLBlast): measured once per device and shape, cached in a per-device
 * file that later runs read, and overridable by QSDC_GEMM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cl_fixture.h"
#include "compile.h"
#include "executor.h"
#include "cache_fixture.h"
#include "gemm_select.h"
#include "support.h"

static const char tiny[] =
    "name: tiny\ninput: {shape: [12]}\n"
    "layers:\n  - {op: dense, units: 8}\n  - relu\n  - {op: dense, units: 3}\n";

static plan p;

static int setup(void **state)
{
    qsdc_error err = {""};
    codegen_target t;
    codegen_target_default(&t);
    cf_setup(state);
    if (compile_plan(cf_model(), MODE_TRAIN, 4, &t, &p, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    return 0;
}

static int teardown(void **state)
{
    plan_free(&p);
    return cf_teardown(state);
}

/* The GEMMs selected for CLBlast on env; *tiled: those for the tiled
 * family. */
static int select_backends(cl_env *env, bool remeasure, int *tiled)
{
    qsdc_error err = {""};
    codegen_target t;
    exec_target(&env->dev, &t);
    plan_gemm shapes[16];
    gemm_pick picks[16];
    int n = 0;
    for (int i = 0; i < p.n_launches && n < 16; i++)
        if (p.launches[i].gemm.m > 0)
            shapes[n++] = p.launches[i].gemm;
    /* forward x W1, x W2 and the backward's dW1, dW2, dx */
    assert_int_equal(n, 5);
    if (gemm_select(env, &t, shapes, n, remeasure, NULL, picks, &err) < 0)
        fail_msg("%s", err.message);
    int library = 0;
    *tiled = 0;
    for (int i = 0; i < n; i++) {
        library += picks[i].clblast;
        *tiled += !picks[i].clblast && gemm_tiled(&picks[i].tiles);
    }
    return library;
}

static int select_tiled(cl_env *env, bool remeasure)
{
    int tiled;
    select_backends(env, remeasure, &tiled);
    return tiled;
}

/* A cache line: every backend measured, CLBlast where the device's loops
 * run their course (loop_guard.h). Whether the tiled family is the pick:
 * faster than the panel family, and than CLBlast where that is a
 * candidate. */
static int check_line(const char *line)
{
    long long m, n, k, batch;
    int ta, tb, acc;
    double panel, clblast, tiled;
    assert_int_equal(sscanf(line, "%lld %lld %lld %d %d %d %lld %lf %lf %lf", &m, &n, &k, &ta,
                            &tb, &acc, &batch, &panel, &clblast, &tiled),
                     10);
    bool library = !tf_env()->dev.loop_limit;
    assert_true(panel >= 0 && tiled >= 0 && (clblast >= 0 || !library));
    return tiled < panel && !(library && clblast >= 0 && clblast < tiled);
}

static const cf_selector selector = {
    .force_var = "QSDC_GEMM", .yaml = tiny, .name = "gemm", .what = "GEMM kernels",
    .select = select_tiled, .shapes = 5, .lines = 5, .check_line = check_line,
    .one_way = "{ $8 = 1000000; $9 = 1000000; $10 = 1; print }",
    .other_way = "{ $8 = 1; $9 = 1000000; $10 = 1000000; print }", .forced_one = "tiled",
    .forced_other = "panel"};

/* A cache saying CLBlast is faster for every shape makes every GEMM a
 * CLBlast launch where it is a candidate. */
static void test_clblast_from_the_cache(void **state)
{
    (void)state;
    int tiled;
    cf_rewrite("{ $8 = 1000000; $9 = 1; $10 = 1000000; print }");
    assert_int_equal(select_backends(tf_env(), false, &tiled), tf_env()->dev.loop_limit ? 0 : 5);
}

/* A cache line of an older qsdc (no tiled family, no batch) is measured
 * again, and dropped from the file. */
static void test_old_cache_lines_measured_again(void **state)
{
    (void)state;
    cf_rewrite("{ print $1, $2, $3, $4, $5, $6, $8, $9 }");
    ts_stderr_begin();
    select_tiled(tf_env(), false);
    cf_said_measuring("GEMM kernels");
    cf_check_lines();
}

/* QSDC_GEMM=own keeps the target's family, and =clblast takes CLBlast
 * where it is a candidate; =tiled and =panel set the target's family. */
static void test_more_overrides(void **state)
{
    (void)state;
    int tiled;
    ts_setenv("QSDC_GEMM", "own");
    assert_int_equal(select_backends(tf_env(), false, &tiled), 0);
    assert_int_equal(tiled, 0);
    codegen_target t;
    ts_setenv("QSDC_GEMM", "tiled");
    exec_target(&tf_env()->dev, &t);
    assert_true(gemm_tiled(&t.gemm_tiles));
    ts_setenv("QSDC_GEMM", "panel");
    exec_target(&tf_env()->dev, &t);
    assert_false(gemm_tiled(&t.gemm_tiles));
    if (!tf_env()->dev.loop_limit) {
        ts_setenv("QSDC_GEMM", "clblast");
        assert_int_equal(select_backends(tf_env(), false, &tiled), 5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cf_test_measures_and_caches),
        cmocka_unit_test(cf_test_reads_the_cache),
        cmocka_unit_test(test_clblast_from_the_cache),
        cmocka_unit_test(test_old_cache_lines_measured_again),
        cmocka_unit_test_teardown(cf_test_overrides, ts_restore_env),
        cmocka_unit_test_teardown(test_more_overrides, ts_restore_env),
    };
    cf_suite(&selector);
    return cmocka_run_group_tests(tests, setup, teardown);
}
