/* .npy arrays: numpy's headers of versions 1.0 and 2.0, every dtype read
 * (samples scaled or kept, labels), the float32 writer read back, every
 * error with the path and offset it must name, and no crash on any prefix
 * or byte flip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "npy.h"
#include "support.h"

/* A version 1.0 file: the magic, the header dict padded as numpy pads it,
 * then len bytes of data; *size set. */
static unsigned char *npy_bytes(const char *dict, const void *data, size_t len, size_t *size)
{
    size_t n = strlen(dict), total = (10 + n + 1 + 63) / 64 * 64;
    unsigned char *b = malloc(total + len + 1);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)((total - 10) & 0xff);
    b[9] = (unsigned char)((total - 10) >> 8);
    memcpy(b + 10, dict, n);
    memset(b + 10 + n, ' ', total - 10 - n - 1);
    b[total - 1] = '\n';
    memcpy(b + total, data, len);
    *size = total + len;
    return b;
}

static const char *write_npy(const char *name, const char *dict, const void *data, size_t len)
{
    size_t size;
    unsigned char *b = npy_bytes(dict, data, len, &size);
    const char *path = ts_write(name, b, size);
    free(b);
    return path;
}

static void test_dtypes(void **state)
{
    (void)state;
    static const float f4[6] = {0.5f, -2, 3, 4, 5, 6};
    static const double f8[2] = {1.25, -7};
    static const uint8_t u1[2] = {0, 255};
    static const int32_t i4[3] = {7, -1, 2};
    static const int64_t i8[3] = {2, 0, 1};
    dataset d;
    qsdc_error err = {""};
    const char *x = write_npy("f4.npy", "{'descr': '<f4', 'fortran_order': False, "
                              "'shape': (3, 2), }", f4, sizeof f4);
    const char *y = write_npy("i8.npy", "{'descr': '<i8', 'fortran_order': False, "
                              "'shape': (3,), }", i8, sizeof i8);
    assert_int_equal(npy_load(x, y, &d, &err), 0);
    assert_int_equal(d.count, 3);
    assert_int_equal(d.rank, 1);
    assert_int_equal(d.dims[0], 2);
    assert_true(d.x[0] == 0.5f && d.x[1] == -2.0f && d.x[5] == 6.0f);
    assert_int_equal(d.y[0], 2);
    assert_int_equal(d.n_classes, 3);
    assert_false(d.integers);
    dataset_free(&d);
    x = write_npy("f8.npy", "{\"descr\": \"<f8\", \"fortran_order\": False, "
                  "\"shape\": (1, 1, 2)}", f8, sizeof f8);
    assert_int_equal(npy_load(x, NULL, &d, &err), 0);
    assert_int_equal(d.rank, 2);
    assert_true(d.x[0] == 1.25f && d.x[1] == -7.0f && !d.y);
    dataset_free(&d);
    x = write_npy("u1.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1), }",
                  u1, sizeof u1);
    assert_int_equal(npy_load(x, NULL, &d, &err), 0);
    assert_true(d.x[0] == 0.0f && d.x[1] == 1.0f);
    dataset_free(&d);
    x = write_npy("i4.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3), }",
                  i4, sizeof i4);
    assert_int_equal(npy_load(x, NULL, &d, &err), 0);
    assert_true(d.integers && d.x[0] == 7.0f && d.x[1] == -1.0f);
    dataset_free(&d);
    /* big-endian, and version 2.0's four-byte header length */
    static const uint8_t be[4] = {0x3f, 0x80, 0, 0};
    size_t size;
    unsigned char *b = npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1), }",
                                 be, sizeof be, &size);
    unsigned char *v2 = malloc(size + 2);
    memcpy(v2, b, 8);
    v2[6] = 2;
    size_t hlen = b[8] | (size_t)b[9] << 8;
    v2[8] = (unsigned char)hlen;
    v2[9] = (unsigned char)(hlen >> 8);
    v2[10] = v2[11] = 0;
    memcpy(v2 + 12, b + 10, size - 10);
    x = ts_write("v2.npy", v2, size + 2);
    free(b);
    free(v2);
    assert_int_equal(npy_load(x, NULL, &d, &err), 0);
    assert_true(d.x[0] == 1.0f);
    dataset_free(&d);
}

static void expect_error(const char *dict, const void *data, size_t len, const char *want)
{
    const char *path = write_npy("bad.npy", dict, data, len);
    dataset d;
    qsdc_error err = {""};
    ts_expect_failure_prefix(npy_load(path, NULL, &d, &err), err.message,
                      ts_fmt("%s: offset %s", path, want));
}

static void test_errors(void **state)
{
    (void)state;
    static const float f[4] = {1, 2, 3, 4};
    expect_error("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f, sizeof f,
                 "44: fortran_order is True");
    expect_error("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }", f, sizeof f,
                 "20: unsupported .npy dtype '<f2'");
    expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'x': 1}", f,
                 sizeof f, "68: bad .npy header: unknown key 'x'");
    expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, }", f, sizeof f,
                 "67: bad .npy header: expected a dimension");
    expect_error("{'descr': '<f4', 'fortran_order': False}", f, sizeof f,
                 "50: bad .npy header: no 'shape' key");
    expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f, sizeof f,
                 "144: unexpected end of file");
    expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", f, sizeof f,
                 "136: unexpected data after the last element");
    expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f, sizeof f,
                 "128: a samples array of rank 1");
    expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", f, 0,
                 "128: the array holds no samples");
    const char *path = ts_write("magic.npy", "\x93NUMPX\x01\x00\x00\x00", 10);
    dataset d;
    qsdc_error err = {""};
    ts_expect_failure_prefix(npy_load(path, NULL, &d, &err), err.message,
                      ts_fmt("%s: offset 0: bad magic", path));
    path = ts_write("v3.npy", "\x93NUMPY\x03\x00\x00\x00", 10);
    ts_expect_failure_prefix(npy_load(path, NULL, &d, &err), err.message,
                      ts_fmt("%s: offset 6: .npy format version 3.0", path));
    /* labels: floats, a count that differs, a negative class */
    const char *x = write_npy("x.npy", "{'descr': '<f4', 'fortran_order': False, "
                              "'shape': (2, 2), }", f, sizeof f);
    static const int32_t neg[2] = {0, -3};
    const char *y = write_npy("yf.npy", "{'descr': '<f4', 'fortran_order': False, "
                              "'shape': (2,), }", f, 8);
    ts_expect_failure_prefix(npy_load(x, y, &d, &err), err.message,
                      ts_fmt("%s: offset 128: labels are floats", y));
    y = write_npy("y3.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }",
                  neg, 4);
    ts_expect_failure_prefix(npy_load(x, y, &d, &err), err.message,
                      ts_fmt("%s: offset 128: labels of rank 1 and 1 elements", y));
    y = write_npy("yneg.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
                  neg, sizeof neg);
    ts_expect_failure_prefix(npy_load(x, y, &d, &err), err.message,
                      ts_fmt("%s: offset 132: label -3 at index 1", y));
}

static void test_write_reads_back(void **state)
{
    (void)state;
    static const float x[6] = {0.25f, 0.75f, 1, 0, -1e-7f, 3e38f};
    qsdc_error err = {""};
    char path[1200];
    snprintf(path, sizeof path, "%s/out.npy", ts_tmpdir());
    assert_int_equal(npy_write_f32(path, x, 3, 2, &err), 0);
    unsigned char *b;
    size_t len;
    assert_int_equal(data_read_file(path, &b, &len, &err), 0);
    assert_int_equal(len % 64, 24 % 64);  /* a 64-byte aligned header, then 24 bytes */
    npy_array a;
    assert_int_equal(npy_parse(path, b, len, &a, &err), 0);
    assert_int_equal(a.rank, 2);
    assert_int_equal(a.dims[0], 3);
    assert_int_equal(a.dims[1], 2);
    assert_int_equal(a.data_offset % 64, 0);
    for (int i = 0; i < 6; i++)
        assert_true((float)npy_element(&a, (uint64_t)i) == x[i]);
    free(b);
}

static void load_anything(const unsigned char *data, size_t len)
{
    npy_array a;
    qsdc_error err = {""};
    if (npy_parse("m.npy", data, len, &a, &err) < 0) {
        assert_non_null(strstr(err.message, "m.npy: offset "));
        return;
    }
    assert_true(a.data_offset + a.count * (uint64_t)a.size == len);
    for (uint64_t i = 0; i < a.count; i++)
        (void)npy_element(&a, i);
}

static void test_mutations(void **state)
{
    (void)state;
    static const int64_t v[3] = {1, 2, 3};
    size_t size;
    unsigned char *b = npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                                 v, sizeof v, &size);
    ts_each_mutation(b, size, load_anything);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtypes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_write_reads_back),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
