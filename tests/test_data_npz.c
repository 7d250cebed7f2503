/* .npz archives (numpy.savez), made here with libzip: samples and labels
 * read as the same arrays in .npy files read, stored or deflated, named
 * x/y or savez's arr_0/arr_1; without labels; and every error naming the
 * archive, its member and the offset, with no crash on a truncated or
 * corrupted archive. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "data.h"
#include "support.h"

#define N 3
#define ELEMS 4

static const float xs[N * ELEMS] = {0, 0.5f, 1, 2, -1, 3, 4, 5, 6, 7, 8, 9.25f};
static const int64_t ys[N] = {2, 0, 1};

/* A version 1.0 .npy: the magic, the header dict padded as numpy pads it,
 * the data. */
static unsigned char *npy(const char *dict, const void *data, size_t len, size_t *size)
{
    size_t n = strlen(dict), total = (10 + n + 1 + 63) / 64 * 64;
    unsigned char *b = malloc(total + len);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(total - 10);
    b[9] = 0;
    memcpy(b + 10, dict, n);
    memset(b + 10 + n, ' ', total - 11 - n);
    b[total - 1] = '\n';
    memcpy(b + total, data, len);
    *size = total + len;
    return b;
}

static unsigned char *x_npy(size_t *size)
{
    return npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", xs, sizeof xs,
               size);
}

static unsigned char *y_npy(size_t *size)
{
    return npy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", ys, sizeof ys,
               size);
}

/* An archive at ts_tmpdir()/name of the members given (NULL name: none). */
static const char *write_npz(const char *name, const char *x_member, const char *y_member,
                             bool deflate)
{
    const char *path = ts_fmt("%s/%s", ts_tmpdir(), name);
    int code;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
    assert_non_null(z);
    const char *members[2] = {x_member, y_member};
    for (int i = 0; i < 2; i++) {
        if (!members[i])
            continue;
        size_t size;
        unsigned char *b = i == 0 ? x_npy(&size) : y_npy(&size);
        zip_source_t *src = zip_source_buffer(z, b, size, 1);  /* frees b */
        assert_non_null(src);
        zip_int64_t at = zip_file_add(z, members[i], src, ZIP_FL_OVERWRITE);
        assert_true(at >= 0);
        assert_int_equal(zip_set_file_compression(z, (zip_uint64_t)at,
                                                  deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0),
                         0);
    }
    assert_int_equal(zip_close(z), 0);
    return path;
}

static void expect_task(const dataset *d, bool labels)
{
    assert_int_equal(d->count, N);
    assert_int_equal(d->sample_elems, ELEMS);
    assert_memory_equal(d->x, xs, sizeof xs);
    if (!labels) {
        assert_null(d->y);
        return;
    }
    assert_non_null(d->y);
    for (int i = 0; i < N; i++)
        assert_int_equal(d->y[i], ys[i]);
}

static void test_reads_members(void **state)
{
    (void)state;
    static const struct {
        const char *x, *y;
        bool deflate;
    } cases[] = {
        {"x.npy", "y.npy", false},
        {"x.npy", "y.npy", true},
        {"arr_0.npy", "arr_1.npy", true},
        {"x.npy", NULL, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = write_npz(ts_fmt("t%zu.npz", i), cases[i].x, cases[i].y,
                                     cases[i].deflate);
        dataset d;
        qsdc_error err = {""};
        if (npz_load(path, false, &d, &err) < 0)
            fail_msg("%s", err.message);
        expect_task(&d, cases[i].y != NULL);
        dataset_free(&d);
    }
}

static void expect_failure(const char *path, bool need_labels, const char *want)
{
    dataset d;
    qsdc_error err = {""};
    if (npz_load(path, need_labels, &d, &err) != -1 || !strstr(err.message, want))
        fail_msg("%s: message \"%s\"; want -1 and \"%s\"", path, err.message, want);
}

static void test_errors(void **state)
{
    (void)state;
    const char *none = write_npz("none.npz", NULL, "y.npy", false);
    expect_failure(none, false, ts_fmt("%s: the archive holds no samples: no array x", none));
    /* labels in x's place: a samples array needs rank 2 */
    const char *swapped = write_npz("swapped.npz", NULL, "x.npy", false);
    expect_failure(swapped, false,
                   ts_fmt("%s:x.npy: offset 128: a samples array of rank 1", swapped));
    const char *text = ts_write("text.npz", "not a zip\n", 10);
    expect_failure(text, false, ts_fmt("%s: not a readable .npz (zip) archive", text));
    /* training needs the labels */
    const char *unlabelled = write_npz("unlabelled.npz", "x.npy", NULL, false);
    expect_failure(unlabelled, true, ts_fmt("%s: the archive holds no labels: no array y "
                                            "(y.npy) or arr_1", unlabelled));
    expect_failure(ts_fmt("%s/missing.npz", ts_tmpdir()), false,
                   "not a readable .npz (zip) archive");
}

/* Every prefix and a flipped byte at every offset of a deflated archive:
 * an error or the data, never a crash. */
static void test_mutations(void **state)
{
    (void)state;
    const char *path = write_npz("m.npz", "x.npy", "y.npy", true);
    size_t len;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *b = ts_read_stream(f, &len);
    fclose(f);
    assert_non_null(b);
    for (size_t cut = 0; cut <= len; cut++) {
        const char *p = ts_write("cut.npz", b, cut);
        dataset d;
        qsdc_error err = {""};
        if (npz_load(p, false, &d, &err) == 0)
            dataset_free(&d);
    }
    for (size_t at = 0; at < len; at++) {
        b[at] ^= 0x5a;
        const char *p = ts_write("flip.npz", b, len);
        b[at] ^= 0x5a;
        dataset d;
        qsdc_error err = {""};
        if (npz_load(p, false, &d, &err) == 0)
            dataset_free(&d);
    }
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_members),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
