/* CIFAR-10 binary loader: exact round trip of two files written here byte
 * by byte from the format (label byte, then 3072 pixel bytes), and each
 * malformed-file case with the byte offset its message must name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <cmocka.h>

#include "data.h"
#include "support.h"

#define REC 3073

static uint8_t pixel(int record, int i)
{
    return (uint8_t)(record * 31 + i * 7 + (i >> 10) * 101);
}

/* n records with the given labels, numbered from first. */
static const char *write_records(const char *name, int first, int n, const uint8_t *labels,
                                 size_t extra)
{
    size_t len = (size_t)n * REC + extra;
    uint8_t *b = calloc(len + 1, 1);
    assert_non_null(b);
    for (int r = 0; r < n; r++) {
        b[r * REC] = labels[r];
        for (int i = 0; i < 3072; i++)
            b[r * REC + 1 + i] = pixel(first + r, i);
    }
    const char *path = ts_write(name, b, len);
    free(b);
    return path;
}

static void expect_fail(const char *path, int64_t classes, const char *phrase)
{
    dataset d;
    qsdc_error err = {""};
    const char *paths[1] = {path};
    assert_int_equal(cifar_load(paths, 1, classes, &d, &err), -1);
    if (strncmp(err.message, path, strlen(path)) != 0 || !strstr(err.message, phrase))
        fail_msg("got \"%s\", expected \"%s: ...%s\"", err.message, path, phrase);
}

static void test_round_trip(void **s)
{
    (void)s;
    static const uint8_t la[3] = {0, 9, 4}, lb[2] = {7, 2};
    const char *paths[2] = {write_records("a.bin", 0, 3, la, 0),
                            write_records("b.bin", 3, 2, lb, 0)};
    dataset d;
    qsdc_error err = {""};
    if (cifar_load(paths, 2, 10, &d, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(d.count, 5);
    assert_int_equal(d.rank, 3);
    assert_int_equal(d.dims[0], 3);
    assert_int_equal(d.dims[1], 32);
    assert_int_equal(d.dims[2], 32);
    assert_int_equal(d.sample_elems, 3072);
    assert_int_equal(d.n_classes, 10);
    const uint8_t labels[5] = {0, 9, 4, 7, 2};
    for (int r = 0; r < 5; r++) {
        assert_int_equal(d.y[r], labels[r]);
        for (int i = 0; i < 3072; i++)
            if (d.x[r * 3072 + i] != (float)pixel(r, i) / 255.0f)
                fail_msg("sample %d element %d: %g, expected %d/255", r, i,
                         (double)d.x[r * 3072 + i], pixel(r, i));
    }
    dataset_free(&d);
}

/* data_load dispatches on the format: training files and the test file. */
static void test_data_load(void **s)
{
    (void)s;
    static const uint8_t la[2] = {1, 2}, lt[1] = {3};
    train_config t;
    train_config_defaults(&t);
    t.format = DATA_CIFAR10;
    t.n_train_files = 2;
    snprintf(t.train_files[0], QSDC_PATH_MAX, "%s", write_records("t0.bin", 0, 2, la, 0));
    snprintf(t.train_files[1], QSDC_PATH_MAX, "%s", write_records("t1.bin", 2, 2, la, 0));
    assert_false(data_has_test(&t));
    snprintf(t.test_file, QSDC_PATH_MAX, "%s", write_records("test.bin", 9, 1, lt, 0));
    assert_true(data_has_test(&t));
    dataset d;
    qsdc_error err = {""};
    static const int64_t chw[3] = {3, 32, 32}, flat[1] = {784};
    assert_int_equal(data_load(&t, false, 10, chw, 3, &d, &err), 0);
    assert_int_equal(d.count, 4);
    assert_int_equal(d.y[3], 2);
    dataset_free(&d);
    assert_int_equal(data_load(&t, true, 10, chw, 3, &d, &err), 0);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.y[0], 3);
    assert_true(d.x[5] == (float)pixel(9, 5) / 255.0f);
    dataset_free(&d);
    assert_int_equal(data_load(&t, true, 10, flat, 1, &d, &err), -1);
    assert_non_null(strstr(err.message, "samples are 3x32x32 but the model's input is 784"));
}

static void test_errors(void **s)
{
    (void)s;
    static const uint8_t ok[3] = {1, 2, 3}, bad[3] = {1, 10, 3}, seven[3] = {0, 4, 7};
    char missing[1200];
    snprintf(missing, sizeof missing, "%s/none.bin", ts_tmpdir());
    expect_fail(missing, 10, "cannot open: No such file or directory");
    expect_fail(ts_tmpdir(), 10, "cannot open: is a directory");
    expect_fail(write_records("empty.bin", 0, 0, ok, 0), 10,
                ": offset 0: empty file, expected CIFAR-10 records of 3073 bytes");
    expect_fail(write_records("short.bin", 0, 2, ok, 100), 10,
                ": offset 6146: truncated record: the file has 6246 bytes, not a whole "
                "number of 3073-byte CIFAR-10 records");
    expect_fail(write_records("label.bin", 0, 3, bad, 0), 10,
                ": offset 3073: label 10 of record 1 is not a CIFAR-10 class (0 to 9)");
    expect_fail(write_records("classes.bin", 0, 3, seven, 0), 5,
                ": offset 6146: label 7 of record 2 is outside the model's 5 classes");
    /* a sparse file of 1.4 million records: refused by its size, as 16 GiB
     * of floats, before anything is read */
    const char *huge = write_records("huge.bin", 0, 0, ok, 0);
    assert_int_equal(truncate(huge, (off_t)REC * 1400000), 0);
    expect_fail(huge, 10, ": 1400000 CIFAR-10 samples would take 16412 MiB of memory, over "
                "the limit of 4096 MiB (QSDC_MAX_DATA_MIB raises it)");
}

static int teardown(void **s)
{
    (void)s;
    ts_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_data_load),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
