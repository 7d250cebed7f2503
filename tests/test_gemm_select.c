/* The GEMM backend choice: measured once per device and shape, cached in a
 * per-device file that later runs read, and overridable by QSDC_GEMM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cl_fixture.h"
#include "executor.h"
#include "gemm_select.h"
#include "support.h"

static const char tiny[] =
    "name: tiny\ninput: {shape: [12]}\n"
    "layers:\n  - {op: dense, units: 8}\n  - relu\n  - {op: dense, units: 3}\n";

static model m;
static plan p;
static char cache_file[1200];

static int setup(void **state)
{
    (void)state;
    qsdc_error err = {""};
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/cache", ts_tmpdir());
    setenv("QSDC_CACHE_DIR", dir, 1);
    unsetenv("QSDC_GEMM");
    codegen_target t;
    codegen_target_default(&t);
    if (model_load_string("<tiny>", tiny, strlen(tiny), &m, &err) < 0 ||
        compile_plan(&m, MODE_TRAIN, 4, &t, &p, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    return 0;
}

static int teardown(void **state)
{
    plan_free(&p);
    model_free(&m);
    return ts_teardown(state);
}

static int gemm_launches(void)
{
    int n = 0;
    for (int i = 0; i < p.n_launches; i++)
        n += p.launches[i].gemm.m > 0;
    return n;
}

static int select_clblast(bool remeasure)
{
    qsdc_error err = {""};
    codegen_target t;
    exec_target(&tf_env()->dev, &t);
    if (gemm_select(tf_env(), &p, remeasure, NULL, &t, &err) < 0)
        fail_msg("%s", err.message);
    int n = t.n_clblast;
    gemm_select_free(&t);
    return n;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* Runs select_clblast; returns what it wrote to stderr. */
static char *select_clblast_stderr(bool remeasure)
{
    ts_stderr_begin();
    select_clblast(remeasure);
    return ts_stderr_end();
}

/* The first selection measures every distinct shape and writes the cache,
 * saying on stderr that it measures (a wide model's shapes take minutes);
 * a selection from the cache says nothing. */
static void test_measures_and_caches(void **state)
{
    (void)state;
    char *said = select_clblast_stderr(false);
    assert_non_null(strstr(said, "qsdc: measuring GEMM kernels for this device"));
    free(said);
    said = select_clblast_stderr(false);
    assert_null(strstr(said, "measuring"));
    free(said);
    char pattern[1300];
    snprintf(pattern, sizeof pattern, "ls %s/cache/gemm-*.txt", ts_tmpdir());
    char *out = NULL;
    assert_int_equal(ts_run(pattern, &out), 0);
    snprintf(cache_file, sizeof cache_file, "%.*s", (int)strcspn(out, "\n"), out);
    free(out);
    /* forward x W1, x W2 and the backward's dW1, dW2, dx: five shapes */
    assert_int_equal(gemm_launches(), 5);
    assert_int_equal(count_lines(cache_file), 5);
}

/* A cached choice is used as it stands: a file saying CLBlast is faster for
 * every shape makes every GEMM a CLBlast launch, without measuring again. */
static void test_reads_the_cache(void **state)
{
    (void)state;
    char cmd[5200];
    snprintf(cmd, sizeof cmd, "awk '{ $7 = 1000000; $8 = 1; print }' '%s' > '%s.new' && "
             "mv '%s.new' '%s'", cache_file, cache_file, cache_file, cache_file);
    assert_int_equal(ts_run(cmd, NULL), 0);
    assert_int_equal(select_clblast(false), 5);
    /* measuring again replaces the fabricated times */
    select_clblast(true);
    FILE *f = fopen(cache_file, "r");
    assert_non_null(f);
    double own, lib;
    long long a, b, c;
    int ta, tb, acc;
    while (fscanf(f, "%lld %lld %lld %d %d %d %lf %lf", &a, &b, &c, &ta, &tb, &acc, &own,
                  &lib) == 8)
        assert_true(own < 1000000 && lib > 0);
    fclose(f);
}

static void test_environment_overrides(void **state)
{
    (void)state;
    ts_setenv("QSDC_GEMM", "own");
    assert_int_equal(select_clblast(false), 0);
    ts_setenv("QSDC_GEMM", "clblast");
    assert_int_equal(select_clblast(false), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measures_and_caches),
        cmocka_unit_test(test_reads_the_cache),
        cmocka_unit_test_teardown(test_environment_overrides, ts_restore_env),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
