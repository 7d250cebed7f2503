/* Image folders (runtime/data_images.c, data_png.c), made here with
 * libpng's writer: classes by sub-folder name in byte order, images in name
 * order, channels first and scaled to [0, 1]; a test folder's classes by
 * the training folder's names; every mismatch with the model's input, stray
 * file or damaged image an error naming it; no input crashes the decoder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"
#include "support.h"

static const int64_t grey23[3] = {1, 2, 3};

/* ts_tmpdir()/rel, its folders made. */
static const char *make_path(const char *rel)
{
    const char *path = ts_fmt("%s/%s", ts_tmpdir(), rel);
    char dir[1200];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + strlen(ts_tmpdir()) + 1; (p = strchr(p, '/')); *p++ = '/') {
        *p = '\0';
        mkdir(dir, 0755);
    }
    return path;
}

/* ts_tmpdir()/rel as a PNG of the given format, h x w, pixels from seed. */
static const char *write_png(const char *rel, png_uint_32 format, int h, int w, int seed)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.format = format;
    img.height = (png_uint_32)h;
    img.width = (png_uint_32)w;
    unsigned char px[4 * 64];
    for (size_t i = 0; i < PNG_IMAGE_SIZE(img); i++)
        px[i] = (unsigned char)(seed * 40 + (int)i * 7);
    const char *path = make_path(rel);
    assert_true(png_image_write_to_file(&img, path, 0, px, 0, NULL));
    return path;
}

/* The bytes of such a PNG (malloc'd). */
static char *png_bytes(const char *rel, png_uint_32 format, int h, int w, size_t *len)
{
    FILE *f = fopen(write_png(rel, format, h, w, 1), "rb");
    assert_non_null(f);
    char *b = ts_read_stream(f, len);
    fclose(f);
    return b;
}

static void put(const char *rel, const char *text)
{
    FILE *f = fopen(make_path(rel), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_failure(const char *dir, const char *classes, const int64_t chw[3],
                           const char *want)
{
    dataset d;
    qsdc_error err = {""};
    const char *a = ts_fmt("%s/%s", ts_tmpdir(), dir), *b = ts_fmt("%s/%s", ts_tmpdir(), classes);
    if (images_load(a, b, chw, 3, &d, &err) != -1 || !strstr(err.message, want))
        fail_msg("%s: message \"%s\"; want -1 and \"%s\"", dir, err.message, want);
}

static void test_reads_classes(void **state)
{
    (void)state;
    write_png("tr/dog/b.png", PNG_FORMAT_GRAY, 2, 3, 3);
    write_png("tr/dog/a.png", PNG_FORMAT_GRAY, 2, 3, 2);
    write_png("tr/cat/x.png", PNG_FORMAT_GA, 2, 3, 1);
    put("tr/README", "files beside the class folders are skipped\n");
    put("tr/cat/.DS_Store", "and hidden ones\n");
    dataset d;
    qsdc_error err = {""};
    const char *dir = ts_fmt("%s/tr", ts_tmpdir());
    if (images_load(dir, dir, grey23, 3, &d, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(d.count, 3);
    assert_int_equal(d.rank, 3);
    assert_int_equal(d.sample_elems, 6);
    assert_int_equal(d.n_classes, 2);
    static const int32_t want_y[3] = {0, 1, 1};
    assert_memory_equal(d.y, want_y, sizeof want_y);
    /* dog/a.png (seed 2) is the second sample */
    for (int i = 0; i < 6; i++)
        assert_true(d.x[6 + i] == (unsigned char)(2 * 40 + i * 7) / 255.0f);
    dataset_free(&d);
    /* a test folder's classes are the training folder's, by name */
    write_png("te/dog/c.png", PNG_FORMAT_GRAY, 2, 3, 4);
    const char *te = ts_fmt("%s/te", ts_tmpdir());
    dir = ts_fmt("%s/tr", ts_tmpdir());
    if (images_load(te, dir, grey23, 3, &d, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.y[0], 1);
    dataset_free(&d);
}

static void test_colour_channels_first(void **state)
{
    (void)state;
    write_png("rgb/a/p.png", PNG_FORMAT_RGB, 1, 2, 0);
    static const int64_t chw[3] = {3, 1, 2};
    dataset d;
    qsdc_error err = {""};
    const char *dir = ts_fmt("%s/rgb", ts_tmpdir());
    if (images_load(dir, dir, chw, 3, &d, &err) < 0)
        fail_msg("%s", err.message);
    /* interleaved r0 g0 b0 r1 g1 b1 becomes r0 r1 g0 g1 b0 b1 */
    static const int order[6] = {0, 3, 1, 4, 2, 5};
    for (int i = 0; i < 6; i++)
        assert_true(d.x[i] == (unsigned char)(order[i] * 7) / 255.0f);
    dataset_free(&d);
}

static void test_errors(void **state)
{
    (void)state;
    write_png("big/a/p.png", PNG_FORMAT_GRAY, 3, 3, 0);
    expect_failure("big", "big", grey23, "big/a/p.png: a grey image of 3x3; the model's "
                   "input is 1x2x3 (channels, height, width)");
    write_png("col/a/p.png", PNG_FORMAT_RGBA, 2, 3, 0);
    expect_failure("col", "col", grey23, "col/a/p.png: a colour image of 2x3; the model's "
                   "input is 1x2x3");
    write_png("txt/a/p.png", PNG_FORMAT_GRAY, 2, 3, 0);
    put("txt/a/notes.txt", "x\n");
    expect_failure("txt", "txt", grey23, "txt/a/notes.txt: not a .png file");
    put("bad/a/p.png", "\x89PNG\r\n\x1a\nshort");
    expect_failure("bad", "bad", grey23, "bad/a/p.png: not a readable PNG image");
    write_png("other/bird/p.png", PNG_FORMAT_GRAY, 2, 3, 0);
    expect_failure("other", "tr", grey23, "other/bird: a class the training folder");
    put("flat/p.png", "x");
    expect_failure("flat", "flat", grey23, "flat: no class folders");
    put("empty/a/.keep", "");
    expect_failure("empty", "empty", grey23, "empty: the class folders hold no images");
    expect_failure("none", "none", grey23, "none: cannot read the image folder");
}

/* train: data: {format: images}: the model's [H, W] input reads one
 * channel; a flat input is an error; labels must be the model's classes. */
static void test_data_section(void **state)
{
    (void)state;
    write_png("sec/a/p.png", PNG_FORMAT_GRAY, 2, 3, 0);
    write_png("sec/b/p.png", PNG_FORMAT_GRAY, 2, 3, 1);
    train_config t;
    train_config_defaults(&t);
    t.format = DATA_IMAGES;
    snprintf(t.train_images, sizeof t.train_images, "%s/sec", ts_tmpdir());
    static const int64_t hw[2] = {2, 3}, flat[1] = {6};
    dataset d;
    qsdc_error err = {""};
    if (data_load(&t, false, 2, hw, 2, &d, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(d.count, 2);
    dataset_free(&d);
    assert_int_equal(data_load(&t, false, 2, flat, 1, &d, &err), -1);
    assert_non_null(strstr(err.message, "sec: image folders are for a model whose input is "
                           "[C, H, W] with 1 or 3 channels, or [H, W]; this one's is 6"));
    assert_int_equal(data_load(&t, false, 1, hw, 2, &d, &err), -1);
    assert_non_null(strstr(err.message, "sec: label 1 of sample 1 is outside the model's 1 "
                           "classes"));
}

/* A truncated colour image: its pixels are an error, not a crash. */
static void test_truncated_pixels(void **state)
{
    (void)state;
    size_t len;
    char *b = png_bytes("cut/a/p.png", PNG_FORMAT_RGB, 8, 8, &len);
    static const int64_t chw[3] = {3, 8, 8};
    float out[3 * 64];
    qsdc_error err = {""};
    assert_int_equal(png_read_sample("cut.png", (unsigned char *)b, len - 20, chw, out, &err),
                     -1);
    assert_non_null(strstr(err.message, "cut.png: "));
    free(b);
}

static void decode(const unsigned char *data, size_t len)
{
    static const int64_t chw[3] = {3, 4, 4};
    float out[3 * 16];
    qsdc_error err = {""};
    if (png_read_sample("m.png", data, len, chw, out, &err) < 0 &&
        strncmp(err.message, "m.png: ", 7) != 0)
        fail_msg("message \"%s\" does not name the file", err.message);
}

static void test_mutations(void **state)
{
    (void)state;
    size_t len;
    char *b = png_bytes("mut/a/p.png", PNG_FORMAT_RGB, 4, 4, &len);
    ts_each_mutation(b, len, decode);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_classes),
        cmocka_unit_test(test_colour_channels_first),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_data_section),
        cmocka_unit_test(test_truncated_pixels),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
