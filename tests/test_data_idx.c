/* IDX loader: exact round trips of plain and gzip files, and one test per
 * malformed-file case with the byte offset its message must name. Every
 * file is built here byte by byte from the IDX definition. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data.h"
#include "support.h"

#define N_IMG 5
#define ROWS 3
#define COLS 4
#define IMG_BYTES (N_IMG * ROWS * COLS)        /* 60 */
#define IMG_HEADER 16                          /* magic + 3 dims */
#define LAB_HEADER 8                           /* magic + 1 dim */

typedef struct bytes {
    uint8_t data[512];
    size_t len;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    assert_true(b->len + n <= sizeof b->data);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_be32(bytes *b, uint32_t v)
{
    uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                     (uint8_t)v};
    put(b, be, 4);
}

/* An IDX header "0 0 type rank" followed by rank big-endian dimensions. */
static bytes idx_header(uint8_t type, int rank, const uint32_t *dims)
{
    bytes b = {.len = 0};
    uint8_t magic[4] = {0, 0, type, (uint8_t)rank};
    put(&b, magic, 4);
    for (int i = 0; i < rank; i++)
        put_be32(&b, dims[i]);
    return b;
}

/* Pixel values covering both ends of the range and the middle. */
static uint8_t pixel(int i)
{
    static const uint8_t edges[] = {0, 255, 1, 254, 127, 128};
    return i < 6 ? edges[i] : (uint8_t)(i * 37 + 11);
}

static const uint8_t labels5[N_IMG] = {3, 0, 9, 3, 7};

static bytes valid_images(void)
{
    uint32_t dims[3] = {N_IMG, ROWS, COLS};
    bytes b = idx_header(0x08, 3, dims);
    for (int i = 0; i < IMG_BYTES; i++) {
        uint8_t p = pixel(i);
        put(&b, &p, 1);
    }
    return b;
}

static bytes valid_labels(const uint8_t *labels)
{
    uint32_t dims[1] = {N_IMG};
    bytes b = idx_header(0x08, 1, dims);
    put(&b, labels, N_IMG);
    return b;
}

static const char *write_plain(const char *name, const bytes *b)
{
    return ts_write(name, b->data, b->len);
}

static const char *write_gzip(const char *name, const bytes *b)
{
    static char paths[4][1200];
    static int slot;
    char *path = paths[slot++ % 4];
    snprintf(path, 1200, "%s/%s", ts_tmpdir(), name);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, b->data, (unsigned)b->len), (int)b->len);
    assert_int_equal(gzclose(gz), Z_OK);
    return path;
}

static bytes read_back(const char *path)
{
    bytes b = {.len = 0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    b.len = fread(b.data, 1, sizeof b.data, f);
    fclose(f);
    return b;
}

static void expect_load_error(const char *images, const char *labels,
                              const char *want)
{
    dataset d;
    qsdc_error err = {{0}};
    int rc = idx_load(images, labels, 0, &d, &err);
    ts_expect_failure("idx_load", rc, err.message, want);
}

/* x/255 correctly rounded to float. Double rounding through double is
 * exact for division (53 >= 2*24 + 2), so this reference is the correctly
 * rounded quotient; the loader must match it bit for bit. */
static float scaled(uint8_t v)
{
    return (float)((double)v / 255.0);
}

static void check_valid(const dataset *d, int with_labels)
{
    assert_int_equal(d->count, N_IMG);
    assert_int_equal(d->rank, 2);
    assert_int_equal(d->dims[0], ROWS);
    assert_int_equal(d->dims[1], COLS);
    assert_int_equal(d->sample_elems, ROWS * COLS);
    for (int i = 0; i < IMG_BYTES; i++)
        if (d->x[i] != scaled(pixel(i)))
            fail_msg("x[%d] = %.9g, want %.9g", i, d->x[i], scaled(pixel(i)));
    assert_true(d->x[0] == 0.0f);
    assert_true(d->x[1] == 1.0f);
    if (with_labels) {
        assert_non_null(d->y);
        for (int i = 0; i < N_IMG; i++)
            assert_int_equal(d->y[i], labels5[i]);
        assert_int_equal(d->n_classes, 10);
    } else {
        assert_null(d->y);
        assert_int_equal(d->n_classes, 0);
    }
}

static void test_round_trip_plain(void **state)
{
    (void)state;
    bytes img = valid_images(), lab = valid_labels(labels5);
    dataset d;
    qsdc_error err = {{0}};
    assert_int_equal(idx_load(write_plain("img", &img), write_plain("lab", &lab),
                              ROWS * COLS, &d, &err), 0);
    check_valid(&d, 1);
    dataset_free(&d);
    assert_null(d.x);
    assert_null(d.y);
}

static void test_round_trip_gzip(void **state)
{
    (void)state;
    bytes img = valid_images(), lab = valid_labels(labels5);
    dataset d;
    qsdc_error err = {{0}};
    assert_int_equal(idx_load(write_gzip("img.gz", &img), write_gzip("lab.gz", &lab),
                              ROWS * COLS, &d, &err), 0);
    check_valid(&d, 1);
    dataset_free(&d);
    /* Mixed: gzip images, plain labels. */
    assert_int_equal(idx_load(write_gzip("img.gz", &img), write_plain("lab", &lab),
                              ROWS * COLS, &d, &err), 0);
    check_valid(&d, 1);
    dataset_free(&d);
}

static void test_images_only(void **state)
{
    (void)state;
    bytes img = valid_images();
    dataset d;
    qsdc_error err = {{0}};
    assert_int_equal(idx_load(write_plain("img", &img), NULL, 0, &d, &err), 0);
    check_valid(&d, 0);
    dataset_free(&d);
}

static void test_other_ranks(void **state)
{
    (void)state;
    dataset d;
    qsdc_error err = {{0}};
    uint32_t flat[2] = {2, 3};
    bytes b = idx_header(0x08, 2, flat);
    uint8_t v[6] = {10, 20, 30, 40, 50, 60};
    put(&b, v, 6);
    assert_int_equal(idx_load(write_plain("flat", &b), NULL, 0, &d, &err), 0);
    assert_int_equal(d.rank, 1);
    assert_int_equal(d.dims[0], 3);
    assert_int_equal(d.sample_elems, 3);
    assert_true(d.x[5] == scaled(60));
    dataset_free(&d);

    uint32_t vol[4] = {1, 2, 3, 2};
    b = idx_header(0x08, 4, vol);
    uint8_t w[12] = {0};
    w[11] = 255;
    put(&b, w, 12);
    assert_int_equal(idx_load(write_plain("vol", &b), NULL, 0, &d, &err), 0);
    assert_int_equal(d.rank, 3);
    assert_int_equal(d.sample_elems, 12);
    assert_true(d.x[11] == 1.0f);
    dataset_free(&d);
}

static void test_missing_file(void **state)
{
    (void)state;
    const char *missing = ts_fmt("%s/no-such-file", ts_tmpdir());
    char want[1200];
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory",
             missing);
    expect_load_error(missing, NULL, want);
    bytes img = valid_images();
    const char *img_path = write_plain("img", &img);
    expect_load_error(img_path, missing, want);
    expect_load_error(ts_tmpdir(), NULL,
                      ts_fmt("%s: cannot open: is a directory", ts_tmpdir()));
    /* a FIFO is refused at once, not waited on for a writer */
    const char *fifo = ts_fifo("fifo");
    expect_load_error(fifo, NULL, ts_fmt("%s: cannot open: not a regular file (a FIFO)",
                                         fifo));
}

static void test_truncated_header(void **state)
{
    (void)state;
    bytes img = valid_images();
    for (int gz = 0; gz < 2; gz++) {
        bytes cut = img;
        cut.len = 0;
        const char *p = gz ? write_gzip("e.gz", &cut) : write_plain("e", &cut);
        expect_load_error(p, NULL, ts_fmt("%s: offset 0: unexpected end of file, "
                                       "expected 4 bytes of magic number", p));
        cut.len = 2;
        p = gz ? write_gzip("m.gz", &cut) : write_plain("m", &cut);
        expect_load_error(p, NULL, ts_fmt("%s: offset 2: unexpected end of file, "
                                       "expected 4 bytes of magic number", p));
        cut.len = 10;
        p = gz ? write_gzip("d.gz", &cut) : write_plain("d", &cut);
        expect_load_error(p, NULL, ts_fmt("%s: offset 10: unexpected end of file, "
                                       "expected 12 bytes of dimensions", p));
    }
}

static void test_truncated_data(void **state)
{
    (void)state;
    bytes img = valid_images(), lab = valid_labels(labels5);
    for (int gz = 0; gz < 2; gz++) {
        bytes cut = img;
        cut.len = IMG_HEADER + 37;
        const char *p = gz ? write_gzip("t.gz", &cut) : write_plain("t", &cut);
        expect_load_error(p, NULL, ts_fmt("%s: offset 53: unexpected end of file, "
                                       "expected 60 bytes of image data", p));
        cut.len = IMG_HEADER;
        p = gz ? write_gzip("h.gz", &cut) : write_plain("h", &cut);
        expect_load_error(p, NULL, ts_fmt("%s: offset 16: unexpected end of file, "
                                       "expected 60 bytes of image data", p));
        bytes lcut = lab;
        lcut.len = LAB_HEADER + 4;
        const char *ip = write_plain("img", &img);
        p = gz ? write_gzip("l.gz", &lcut) : write_plain("l", &lcut);
        expect_load_error(ip, p, ts_fmt("%s: offset 12: unexpected end of file, "
                                     "expected 5 bytes of label data", p));
    }
}

/* A gzip stream cut short in its compressed form is an end of file too. */
static void test_truncated_gzip_stream(void **state)
{
    (void)state;
    bytes img = valid_images();
    const char *p = write_gzip("full.gz", &img);
    bytes gz = read_back(p);
    assert_true(gz.len > 20);
    gz.len -= 12;   /* drops the 8-byte trailer and some deflate data */
    p = write_plain("cut.gz", &gz);
    dataset d;
    qsdc_error err = {{0}};
    assert_int_equal(idx_load(p, NULL, 0, &d, &err), -1);
    if (!strstr(err.message, "unexpected end of file, expected 60 bytes of image data") ||
        strncmp(err.message, ts_fmt("%s: offset ", p), strlen(ts_fmt("%s: offset ", p))))
        fail_msg("message: %s", err.message);
}

static void test_corrupt_gzip(void **state)
{
    (void)state;
    bytes img = valid_images();
    const char *p = write_gzip("full.gz", &img);
    bytes gz = read_back(p);
    gz.data[gz.len - 8] ^= 0xff;   /* the stored crc32 of the contents */
    p = write_plain("bad.gz", &gz);
    dataset d;
    qsdc_error err = {{0}};
    assert_int_equal(idx_load(p, NULL, 0, &d, &err), -1);
    /* the crc is checked at the stream's end, after the 76 bytes */
    assert_string_equal(err.message, ts_fmt("%s: offset 76: corrupt gzip data: "
                                         "incorrect data check", p));
}

/* Every element type the format defines, big-endian: bytes scaled, the
 * other types kept as they are, integer labels of any width. */
static void test_element_types(void **state)
{
    (void)state;
    uint32_t dims[2] = {2, 2};
    bytes b = idx_header(0x0B, 2, dims);
    static const uint8_t shorts[8] = {0x7f, 0xff, 0x80, 0x00, 0x00, 0x01, 0xff, 0xff};
    put(&b, shorts, sizeof shorts);
    uint32_t one[1] = {2};
    bytes lab = idx_header(0x0C, 1, one);
    put_be32(&lab, 1);
    put_be32(&lab, 70000);
    dataset d;
    qsdc_error err = {{0}};
    const char *lp = write_plain("l32", &lab);
    assert_int_equal(idx_load(write_plain("i16", &b), lp, 0, &d, &err), 0);
    assert_true(d.x[0] == 32767.0f && d.x[1] == -32768.0f && d.x[2] == 1.0f &&
                d.x[3] == -1.0f);
    assert_true(d.integers);
    assert_int_equal(d.y[1], 70000);
    /* the offset of an out-of-range label counts four bytes a label */
    assert_int_equal(dataset_check(&d, lp, 10, "i16", 2, &err), -1);
    assert_non_null(strstr(err.message, "label 70000 at index 1 (offset 12)"));
    dataset_free(&d);
    b = idx_header(0x09, 2, dims);
    static const uint8_t sbytes[4] = {0x80, 0x7f, 0x00, 0xff};
    put(&b, sbytes, sizeof sbytes);
    assert_int_equal(idx_load(write_plain("i8", &b), NULL, 0, &d, &err), 0);
    assert_true(d.x[0] == -128.0f && d.x[1] == 127.0f && d.x[3] == -1.0f);
    dataset_free(&d);
    b = idx_header(0x0D, 2, dims);
    put_be32(&b, 0x3fc00000);  /* 1.5 */
    put_be32(&b, 0xc2c80000);  /* -100 */
    put_be32(&b, 0);
    put_be32(&b, 0x437f0000);  /* 255, not scaled */
    assert_int_equal(idx_load(write_plain("f32", &b), NULL, 0, &d, &err), 0);
    assert_true(d.x[0] == 1.5f && d.x[1] == -100.0f && d.x[3] == 255.0f && !d.integers);
    dataset_free(&d);
    b = idx_header(0x0E, 2, (uint32_t[]){1, 1});
    put_be32(&b, 0x3fd00000);  /* 0.25 */
    put_be32(&b, 0);
    assert_int_equal(idx_load(write_plain("f64", &b), NULL, 0, &d, &err), 0);
    assert_true(d.x[0] == 0.25f);
    dataset_free(&d);
    b = idx_header(0x0D, 2, (uint32_t[]){1, 2});
    put_be32(&b, 0);
    put_be32(&b, 0x7fc00000);  /* NaN */
    const char *p = write_plain("nan", &b);
    expect_load_error(p, NULL, ts_fmt("%s: offset 16: element 1 is not a finite number", p));
    lab = idx_header(0x0D, 1, one);
    put_be32(&lab, 0);
    put_be32(&lab, 0);
    lp = write_plain("lf", &lab);
    expect_load_error(write_plain("i16", &b), lp,
                      ts_fmt("%s: offset 2: label file of float32 elements; labels are "
                             "integers (types 0x08 to 0x0C)", lp));
}

static void test_bad_magic(void **state)
{
    (void)state;
    bytes img = valid_images();
    bytes b = img;
    b.data[1] = 0x01;
    const char *p = write_plain("bm", &b);
    expect_load_error(p, NULL, ts_fmt("%s: offset 0: bad magic 0x00010803: not an "
                                   "IDX file (the first two bytes must be zero)", p));
    b = img;
    b.data[2] = 0x0A;
    p = write_plain("ty", &b);
    expect_load_error(p, NULL, ts_fmt("%s: offset 2: IDX element type 0x0a is not one the "
                                   "format defines (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)",
                                   p));
    b = img;
    b.data[2] = 0x0D;
    p = write_plain("ty", &b);
    expect_load_error(p, NULL, ts_fmt("%s: offset 76: unexpected end of file, expected 240 "
                                   "bytes of image data", p));
    b = img;
    b.data[3] = 0;
    p = write_plain("r0", &b);
    expect_load_error(p, NULL, ts_fmt("%s: offset 3: IDX rank 0 is not supported "
                                   "(must be 1 to 4)", p));
    b.data[3] = 5;
    p = write_plain("r5", &b);
    expect_load_error(p, NULL, ts_fmt("%s: offset 3: IDX rank 5 is not supported "
                                   "(must be 1 to 4)", p));
    uint32_t one[1] = {3};
    b = idx_header(0x08, 1, one);
    p = write_plain("r1", &b);
    expect_load_error(p, NULL, ts_fmt("%s: offset 3: image file has rank 1 (a count "
                                   "only); expected 2 to 4 (the count, then the "
                                   "sample shape)", p));
    const char *ip = write_plain("img", &img);
    p = write_plain("lab2", &img);
    expect_load_error(ip, p, ts_fmt("%s: offset 3: label file has rank 3; expected "
                                 "1 (one label per sample)", p));
}

static void test_zero_dimension(void **state)
{
    (void)state;
    uint32_t dims[3] = {N_IMG, 0, COLS};
    bytes b = idx_header(0x08, 3, dims);
    const char *p = write_plain("z", &b);
    expect_load_error(p, NULL, ts_fmt("%s: offset 8: dimension 2 of 3 is 0", p));
    uint32_t count0[3] = {0, ROWS, COLS};
    b = idx_header(0x08, 3, count0);
    p = write_plain("z0", &b);
    expect_load_error(p, NULL, ts_fmt("%s: offset 4: dimension 1 of 3 is 0", p));
}

static void test_absurd_dimensions(void **state)
{
    (void)state;
    /* 65536 * 65536 * 2 = 8 GiB. */
    uint32_t big[3] = {65536, 65536, 2};
    bytes b = idx_header(0x08, 3, big);
    const char *p = write_plain("big", &b);
    expect_load_error(p, NULL, ts_fmt("%s: offset 12: dimension 3 (2) takes the "
                                   "data past the 4 GiB limit", p));
    /* A product that overflows 64 bits if multiplied unchecked. */
    uint32_t huge[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    b = idx_header(0x08, 4, huge);
    p = write_plain("huge", &b);
    expect_load_error(p, NULL, ts_fmt("%s: offset 8: dimension 2 (4294967295) "
                                   "takes the data past the 4 GiB limit", p));
    /* Exactly 4 GiB is allowed by the header, with a memory limit for its
     * 16 GiB as floats; the file then runs out. */
    setenv("QSDC_MAX_DATA_MIB", "16384", 1);
    uint32_t edge[2] = {65536, 65536};
    b = idx_header(0x08, 2, edge);
    uint8_t v[10] = {0};
    put(&b, v, sizeof v);
    p = write_plain("edge", &b);
    expect_load_error(p, NULL, ts_fmt("%s: offset 22: unexpected end of file, "
                                   "expected 4294967296 bytes of image data", p));
    unsetenv("QSDC_MAX_DATA_MIB");
}

/* The headers decide the shape and the memory: both are refused before any
 * data is decompressed, so the data here (none) is never reached. */
static void test_header_checked_first(void **state)
{
    (void)state;
    uint32_t wide[3] = {1, 32768, 32768};
    bytes b = idx_header(0x08, 3, wide);
    const char *p = write_gzip("wide.gz", &b);
    dataset d;
    qsdc_error err = {{0}};
    assert_int_equal(idx_load(p, NULL, 784, &d, &err), -1);
    assert_string_equal(err.message, ts_fmt("%s: samples are 32768x32768 (1073741824 "
                                            "elements) but the model expects 784 "
                                            "elements per sample", p));
    /* 1000 samples of 28x28 with labels: 3.0 MiB as floats */
    uint32_t many[3] = {1000, 28, 28};
    b = idx_header(0x08, 3, many);
    p = write_gzip("many.gz", &b);
    uint32_t count[1] = {1000};
    bytes lab = idx_header(0x08, 1, count);
    const char *lp = write_gzip("many-labels.gz", &lab);
    setenv("QSDC_MAX_DATA_MIB", "2", 1);
    assert_int_equal(idx_load(p, lp, 784, &d, &err), -1);
    assert_string_equal(err.message, ts_fmt("%s: 1000 samples of 784 elements would "
                                            "take 3 MiB of memory, over the limit of 2 "
                                            "MiB (QSDC_MAX_DATA_MIB raises it)", p));
    setenv("QSDC_MAX_DATA_MIB", "0x10", 1);
    assert_int_equal(idx_load(p, lp, 784, &d, &err), -1);
    assert_string_equal(err.message, "QSDC_MAX_DATA_MIB=0x10: expected a positive number "
                                     "of MiB");
    unsetenv("QSDC_MAX_DATA_MIB");
}

/* Bytes after the gzip stream are an error naming their offset in the
 * compressed file; a second gzip member is read on. */
static void test_after_gzip_stream(void **state)
{
    (void)state;
    bytes img = valid_images();
    bytes gz = read_back(write_gzip("img.gz", &img));
    size_t member = gz.len;
    put(&gz, "junk", 4);
    const char *p = write_plain("junk.gz", &gz);
    expect_load_error(p, NULL, ts_fmt("%s: offset %zu of the compressed file: unexpected "
                                      "data after the end of the gzip stream", p, member));

    bytes head = img, tail = {.len = 0};
    head.len = 30;
    put(&tail, img.data + 30, img.len - 30);
    bytes two = read_back(write_gzip("head.gz", &head));
    bytes second = read_back(write_gzip("tail.gz", &tail));
    put(&two, second.data, second.len);
    dataset d;
    qsdc_error err = {{0}};
    assert_int_equal(idx_load(write_plain("two.gz", &two), NULL, ROWS * COLS, &d, &err), 0);
    check_valid(&d, 0);
    dataset_free(&d);
}

static void test_count_mismatch(void **state)
{
    (void)state;
    bytes img = valid_images();
    uint32_t four[1] = {4};
    bytes lab = idx_header(0x08, 1, four);
    put(&lab, labels5, 4);
    const char *ip = write_plain("img", &img), *lp = write_plain("lab4", &lab);
    expect_load_error(ip, lp, ts_fmt("%s: 5 images but %s: 4 labels; the counts "
                                  "must match", ip, lp));
}

static void test_trailing_data(void **state)
{
    (void)state;
    bytes img = valid_images(), lab = valid_labels(labels5);
    uint8_t extra[3] = {1, 2, 3};
    put(&img, extra, 3);
    const char *p = write_gzip("trail.gz", &img);
    expect_load_error(p, NULL, ts_fmt("%s: offset 76: unexpected data after the last "
                                   "of 5 samples (the file is longer than its "
                                   "header declares)", p));
    put(&lab, extra, 1);
    bytes good = valid_images();
    const char *ip = write_plain("img", &good);
    p = write_plain("ltrail", &lab);
    expect_load_error(ip, p, ts_fmt("%s: offset 13: unexpected data after the last "
                                 "of 5 samples (the file is longer than its "
                                 "header declares)", p));
}

static void test_dataset_check(void **state)
{
    (void)state;
    bytes img = valid_images();
    uint8_t bad[N_IMG] = {3, 0, 9, 11, 12};
    bytes lab = valid_labels(bad);
    const char *ip = write_plain("img", &img), *lp = write_plain("labels.idx", &lab);
    dataset d;
    qsdc_error err = {{0}};
    assert_int_equal(idx_load(ip, lp, 0, &d, &err), 0);
    assert_int_equal(d.n_classes, 13);
    assert_int_equal(dataset_check(&d, lp, 13, ip, ROWS * COLS, &err), 0);
    assert_int_equal(dataset_check(&d, lp, 10, ip, ROWS * COLS, &err), -1);
    assert_string_equal(err.message, ts_fmt("%s: label 11 at index 3 (offset 11) is "
                                         "outside the model's 10 classes", lp));
    assert_int_equal(dataset_check(&d, lp, 13, ip, 13, &err), -1);
    assert_string_equal(err.message, ts_fmt("%s: samples are 3x4 (12 elements) but "
                                         "the model expects 13 elements per "
                                         "sample", ip));
    dataset_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_plain),
        cmocka_unit_test(test_round_trip_gzip),
        cmocka_unit_test(test_images_only),
        cmocka_unit_test(test_other_ranks),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_truncated_data),
        cmocka_unit_test(test_truncated_gzip_stream),
        cmocka_unit_test(test_corrupt_gzip),
        cmocka_unit_test(test_element_types),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_zero_dimension),
        cmocka_unit_test(test_absurd_dimensions),
        cmocka_unit_test(test_header_checked_first),
        cmocka_unit_test(test_after_gzip_stream),
        cmocka_unit_test(test_count_mismatch),
        cmocka_unit_test(test_trailing_data),
        cmocka_unit_test(test_dataset_check),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
