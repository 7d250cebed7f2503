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

static model m;
static plan p;
static char cache_file[1200];

static int setup(void **state)
{
    (void)state;
    qsdc_error err = {""};
    cf_private_cache("QSDC_GEMM");
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

/* The GEMMs selected for CLBlast; *tiled: those for the tiled family. */
static int select_backends(bool remeasure, int *tiled)
{
    qsdc_error err = {""};
    codegen_target t;
    exec_target(&tf_env()->dev, &t);
    plan_gemm shapes[16];
    gemm_pick picks[16];
    int n = 0;
    for (int i = 0; i < p.n_launches && n < 16; i++)
        if (p.launches[i].gemm.m > 0)
            shapes[n++] = p.launches[i].gemm;
    if (gemm_select(tf_env(), &t, shapes, n, remeasure, NULL, picks, &err) < 0)
        fail_msg("%s", err.message);
    int library = 0;
    *tiled = 0;
    for (int i = 0; i < n; i++) {
        library += picks[i].clblast;
        *tiled += !picks[i].clblast && gemm_tiled(&picks[i].tiles);
    }
    return library;
}

static int select_clblast(bool remeasure)
{
    int tiled;
    return select_backends(remeasure, &tiled);
}

/* Rewrites the cache's times: panel, CLBlast, tiled. */
static void fake_times(const char *panel, const char *clblast, const char *tiled)
{
    cf_rewrite(cache_file, ts_fmt("{ $7 = %s; $8 = %s; $9 = %s; print }", panel, clblast, tiled));
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
    cf_cache_file("gemm", cache_file, sizeof cache_file);
    /* forward x W1, x W2 and the backward's dW1, dW2, dx: five shapes */
    assert_int_equal(gemm_launches(), 5);
    assert_int_equal(count_lines(cache_file), 5);
}

/* A cached choice is used as it stands: a file saying CLBlast is faster for
 * every shape makes every GEMM a CLBlast launch, without measuring again. */
static void test_reads_the_cache(void **state)
{
    (void)state;
    int tiled;
    /* where loops are cut short CLBlast is no candidate (loop_guard.h) */
    bool library = !tf_env()->dev.loop_limit;
    fake_times("1000000", "1", "1000000");
    assert_int_equal(select_backends(false, &tiled), library ? 5 : 0);
    fake_times("1000000", "1000000", "1");
    assert_int_equal(select_backends(false, &tiled), 0);
    assert_int_equal(tiled, 5);
    /* measuring again replaces the fabricated times */
    select_clblast(true);
    FILE *f = fopen(cache_file, "r");
    assert_non_null(f);
    double panel, lib, tiles;
    long long a, b, c;
    int ta, tb, acc, lines = 0;
    char line[512];
    while (fgets(line, sizeof line, f) &&
           sscanf(line, "%lld %lld %lld %d %d %d %lf %lf %lf", &a, &b, &c, &ta, &tb, &acc,
                  &panel, &lib, &tiles) == 9) {
        assert_true(panel < 1000000 && tiles < 1000000 && (lib > 0 || !library));
        lines++;
    }
    assert_int_equal(lines, 5);
    fclose(f);
}

/* A cache line of an older qsdc (no tiled family) is measured again. */
static void test_old_cache_lines_measured_again(void **state)
{
    (void)state;
    cf_rewrite(cache_file, "{ print $1, $2, $3, $4, $5, $6, $7, $8 }");
    char *said = select_clblast_stderr(false);
    assert_non_null(strstr(said, "measuring"));
    free(said);
    assert_int_equal(count_lines(cache_file), 5);
}

static void test_environment_overrides(void **state)
{
    (void)state;
    int tiled;
    ts_setenv("QSDC_GEMM", "own");
    assert_int_equal(select_backends(false, &tiled), 0);
    assert_int_equal(tiled, 0);
    ts_setenv("QSDC_GEMM", "tiled");
    assert_int_equal(select_backends(false, &tiled), 0);
    codegen_target t;
    exec_target(&tf_env()->dev, &t);
    assert_true(gemm_tiled(&t.gemm_tiles));
    ts_setenv("QSDC_GEMM", "panel");
    exec_target(&tf_env()->dev, &t);
    assert_false(gemm_tiled(&t.gemm_tiles));
    if (!tf_env()->dev.loop_limit) {
        ts_setenv("QSDC_GEMM", "clblast");
        assert_int_equal(select_clblast(false), 5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measures_and_caches),
        cmocka_unit_test(test_reads_the_cache),
        cmocka_unit_test(test_old_cache_lines_measured_again),
        cmocka_unit_test_teardown(test_environment_overrides, ts_restore_env),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
