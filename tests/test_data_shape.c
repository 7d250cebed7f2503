/* Samples against the model's input shape: size-1 dimensions and flat
 * vectors fit, a channels-last image against a channels-first model is an
 * error naming both shapes unless layout nhwc transposes it, and data_load
 * applies the rule to the npy and csv formats of a train: section. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "support.h"

/* count samples of dims[rank], element i = i. */
static dataset make(int64_t count, int rank, const int64_t *dims)
{
    dataset d = {.count = count, .rank = rank, .sample_elems = 1};
    for (int i = 0; i < rank; i++) {
        d.dims[i] = dims[i];
        d.sample_elems *= dims[i];
    }
    d.x = malloc((size_t)(count * d.sample_elems) * sizeof *d.x);
    for (int64_t i = 0; i < count * d.sample_elems; i++)
        d.x[i] = (float)i;
    return d;
}

static void expect_fit(const int64_t *have, int have_rank, const int64_t *want, int rank,
                       data_layout layout, const char *error)
{
    dataset d = make(2, have_rank, have);
    qsdc_error err = {""};
    int rc = dataset_fit_input(&d, "f", want, rank, layout, &err);
    if (error)
        ts_expect_failure_prefix(rc, err.message, error);
    else if (rc != 0)
        fail_msg("%s", err.message);
    else
        assert_int_equal(d.rank, rank);
    dataset_free(&d);
}

static void test_rule(void **state)
{
    (void)state;
    static const int64_t img[2] = {28, 28}, chw1[3] = {1, 28, 28}, flat[1] = {784};
    static const int64_t hwc[3] = {32, 32, 3}, chw[3] = {3, 32, 32}, wide[2] = {14, 56};
    expect_fit(img, 2, chw1, 3, LAYOUT_AUTO, NULL);
    expect_fit(img, 2, flat, 1, LAYOUT_AUTO, NULL);
    expect_fit(hwc, 3, (int64_t[]){3072}, 1, LAYOUT_AUTO, NULL);
    expect_fit(chw, 3, chw, 3, LAYOUT_NCHW, NULL);
    expect_fit(wide, 2, chw1, 3, LAYOUT_AUTO,
               "f: samples are 14x56 but the model's input is 1x28x28");
    expect_fit(hwc, 3, chw, 3, LAYOUT_AUTO,
               "f: samples are 32x32x3 but the model's input is 3x32x32 (channels first); "
               "samples stored height-width-channel need layout nhwc");
    expect_fit(hwc, 3, chw, 3, LAYOUT_NCHW, "f: samples are 32x32x3 but the model's input is "
                                            "3x32x32");
    expect_fit(chw, 3, chw, 3, LAYOUT_NHWC, "f: samples are 3x32x32 but layout nhwc needs "
                                            "32x32x3 (height, width, channels) for the "
                                            "model's input 3x32x32");
    expect_fit(hwc, 3, chw, 3, LAYOUT_NHWC, NULL);
}

static void test_nhwc_transposes(void **state)
{
    (void)state;
    static const int64_t hwc[3] = {2, 3, 4}, chw[3] = {4, 2, 3};
    dataset d = make(2, 3, hwc);
    qsdc_error err = {""};
    assert_int_equal(dataset_fit_input(&d, "f", chw, 3, LAYOUT_NHWC, &err), 0);
    assert_int_equal(d.dims[0], 4);
    for (int64_t n = 0; n < 2; n++)
        for (int64_t c = 0; c < 4; c++)
            for (int64_t y = 0; y < 2; y++)
                for (int64_t x = 0; x < 3; x++)
                    assert_true(d.x[n * 24 + (c * 2 + y) * 3 + x] ==
                                (float)(n * 24 + (y * 3 + x) * 4 + c));
    dataset_free(&d);
}

static void test_data_load_formats(void **state)
{
    (void)state;
    train_config t;
    train_config_defaults(&t);
    t.format = DATA_TABLE;
    const char *csv = ts_write("d.csv", "f0,f1,label,f2,f3\n1,2,0,3,4\n5,6,2,7,8\n", 38);
    snprintf(t.train_images, sizeof t.train_images, "%s", csv);
    dataset d;
    qsdc_error err = {""};
    static const int64_t square[2] = {2, 2}, three[1] = {3};
    assert_int_equal(data_load(&t, false, 3, square, 2, &d, &err), 0);
    assert_int_equal(d.rank, 2);
    assert_true(d.x[4] == 5.0f && d.y[1] == 2);
    dataset_free(&d);
    ts_expect_failure_prefix(data_load(&t, false, 2, square, 2, &d, &err), err.message,
                             ts_fmt("%s: label 2 of sample 1 is outside the model's 2 "
                                    "classes", csv));
    ts_expect_failure_prefix(data_load(&t, false, 3, three, 1, &d, &err), err.message,
                             ts_fmt("%s: samples are 4 but the model's input is 3", csv));
    /* another label column: the former label is a feature */
    snprintf(t.label_column, sizeof t.label_column, "f3");
    ts_expect_failure_prefix(data_load(&t, false, 3, square, 2, &d, &err), err.message,
                             ts_fmt("%s: label 4 of sample 0 is outside", csv));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_nhwc_transposes),
        cmocka_unit_test(test_data_load_formats),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
