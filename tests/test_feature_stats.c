/* Standardisation statistics (runtime/feature_stats.c): fitted on the rows
 * named (the training split) only, applied as (x - mean) / std, saved and
 * read back exactly, and a missing, damaged or mismatched file is an error
 * naming it; no input crashes the reader. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feature_stats.h"
#include "support.h"

/* 6 samples of 2 features: rows 0 and 1 are outliers (the validation rows
 * here), rows 2 to 5 the training split; feature 1 is constant there. */
static float xs[6][2] = {{1000, -50}, {-1000, 50}, {1, 3}, {2, 3}, {3, 3}, {6, 3}};
static const int64_t train_rows[4] = {5, 2, 4, 3};

static dataset sample_set(void)
{
    dataset d = {.count = 6, .rank = 1, .dims = {2}, .sample_elems = 2};
    d.x = malloc(sizeof xs);
    assert_non_null(d.x);
    memcpy(d.x, xs, sizeof xs);
    return d;
}

/* The sample set and its statistics over train_rows. */
static dataset fitted(feature_stats *s)
{
    dataset d = sample_set();
    qsdc_error err = {""};
    if (feature_stats_fit(&d, train_rows, 4, s, &err) < 0)
        fail_msg("%s", err.message);
    return d;
}

/* The bytes of the file feature_stats_write saves of them (malloc'd). */
static char *saved_file(size_t *len)
{
    feature_stats s;
    dataset d = fitted(&s);
    qsdc_error err = {""};
    assert_int_equal(feature_stats_write(ts_tmpdir(), &s, &err), 0);
    feature_stats_free(&s);
    dataset_free(&d);
    FILE *f = fopen(ts_fmt("%s/standardize.txt", ts_tmpdir()), "rb");
    assert_non_null(f);
    char *b = ts_read_stream(f, len);
    fclose(f);
    return b;
}

static void test_fit_apply(void **state)
{
    (void)state;
    feature_stats s;
    dataset d = fitted(&s);
    assert_int_equal(s.n, 2);
    /* mean 3, deviations -2 -1 0 3: variance 14 / 4 */
    assert_true(s.mean[0] == 3.0f);
    assert_true(s.std[0] == (float)sqrt(3.5));
    assert_true(s.mean[1] == 3.0f && s.std[1] == 1.0f);
    feature_stats_apply(&s, &d);
    assert_true(d.x[5 * 2] == (6 - 3.0f) / (float)sqrt(3.5));
    assert_true(d.x[0] == (1000 - 3.0f) / (float)sqrt(3.5));
    assert_true(d.x[1] == -53.0f);
    feature_stats_free(&s);
    dataset_free(&d);
}

static void test_write_read(void **state)
{
    (void)state;
    feature_stats s, back;
    dataset d = fitted(&s);
    qsdc_error err = {""};
    s.mean[1] = 0.1f;  /* not exact in decimal: %.9g must round-trip it */
    assert_int_equal(feature_stats_write(ts_tmpdir(), &s, &err), 0);
    if (feature_stats_read(ts_tmpdir(), &back, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(back.n, 2);
    assert_memory_equal(back.mean, s.mean, 2 * sizeof *s.mean);
    assert_memory_equal(back.std, s.std, 2 * sizeof *s.std);
    feature_stats_free(&back);
    feature_stats_free(&s);
    dataset_free(&d);
}

/* feature_stats_read of data saved as ts_tmpdir()/sub/standardize.txt. */
static int read_saved(const char *sub, const void *data, size_t len, qsdc_error *err)
{
    const char *dir = ts_fmt("%s/%s", ts_tmpdir(), sub);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(ts_fmt("%s/standardize.txt", dir), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    feature_stats s;
    int rc = feature_stats_read(dir, &s, err);
    if (rc == 0)
        feature_stats_free(&s);
    return rc;
}

static void expect_read_error(const char *text, size_t len, const char *want)
{
    qsdc_error err = {""};
    if (read_saved("bad", text, len, &err) != -1 || !strstr(err.message, want) ||
        !strstr(err.message, "/bad/standardize.txt: offset "))
        fail_msg("message \"%s\"; want -1, the path, an offset and \"%s\"", err.message,
                 want);
}

static void test_errors(void **state)
{
    (void)state;
    feature_stats s;
    qsdc_error err = {""};
    size_t len;
    char *b = saved_file(&len);
    /* a digit changed in the body */
    char *damaged = strdup(b);
    damaged[len - 3] = damaged[len - 3] == '5' ? '6' : '5';
    expect_read_error(damaged, len, "do not match the checksum: the file is damaged");
    expect_read_error(b, len - 2, "do not match the checksum");
    expect_read_error("qsdc vocab 1\n", 13, "not qsdc standardisation statistics");
    expect_read_error("qsdc standardize 1\nfeatures x\n", 30, "expected 'features N'");
    static const char huge[] = "qsdc standardize 1\nfeatures 4000000000\n"
                               "checksum cbf29ce484222325\n";
    expect_read_error(huge, sizeof huge - 1, "features do not fit in the file");
    free(damaged);
    free(b);
    /* missing: names the folder */
    const char *none = ts_fmt("%s/none", ts_tmpdir());
    assert_int_equal(feature_stats_read(none, &s, &err), -1);
    assert_non_null(strstr(err.message, "holds no standardisation statistics"));
    assert_non_null(strstr(err.message, none));
    /* another width than the data's */
    dataset wide = {.count = 1, .rank = 1, .dims = {3}, .sample_elems = 3};
    assert_int_equal(feature_stats_apply_saved(ts_tmpdir(), "w.csv", &wide, &err), -1);
    assert_non_null(strstr(err.message, "w.csv: samples of 3 features; the statistics in"));
}

static void read_bytes(const unsigned char *data, size_t len)
{
    qsdc_error err = {""};
    read_saved("m", data, len, &err);
}

static void test_mutations(void **state)
{
    (void)state;
    size_t len;
    char *b = saved_file(&len);
    ts_each_mutation(b, len, read_bytes);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_apply),
        cmocka_unit_test(test_write_read),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
