/* qsdc_confusion_matrix and qsdc_class_scores on hand-made outputs whose
 * matrix and scores are worked out below, and their refusals of bad
 * arguments. No device: both score on the host. */
#include <setjmp.h>
#include <stdarg.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "qsdc.h"

#define N 7
#define K 3

/* Rows predict 0, 0, 1, 1, 2, 0, 0 (row 6 ties 0 and 2: the first wins);
 * labels 0, 1, 1, 1, 2, 2, 2. */
static const float outputs[N * K] = {
    0.8f, 0.1f, 0.1f,  0.5f, 0.4f, 0.1f,  0.2f, 0.7f, 0.1f,  -1, 3, 2,
    0, 0, 1,           2, 1, 1,           0.4f, 0.2f, 0.4f,
};
static const int32_t labels[N] = {0, 1, 1, 1, 2, 2, 2};

static void near(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("got %.17g, want %.17g", got, want);
}

static void test_matrix(void **state)
{
    (void)state;
    int64_t counts[K * K];
    memset(counts, 0x7f, sizeof counts);  /* zeroed by the call */
    qsdc_error err = {""};
    assert_int_equal(qsdc_confusion_matrix(outputs, N, K, labels, counts, K * K, &err), 0);
    static const int64_t want[K * K] = {1, 0, 0,  1, 2, 0,  2, 0, 1};
    assert_memory_equal(counts, want, sizeof want);
}

static void test_scores(void **state)
{
    (void)state;
    static const int64_t counts[K * K] = {1, 0, 0,  1, 2, 0,  2, 0, 1};
    qsdc_class_score k[K + 1];
    qsdc_error err = {""};
    assert_int_equal(qsdc_class_scores(counts, K, k, K + 1, &err), 0);
    /* class 0: 1 of 4 predicted right, 1 of 1 found */
    assert_int_equal(k[0].support, 1);
    assert_int_equal(k[0].predicted, 4);
    assert_int_equal(k[0].correct, 1);
    near(k[0].precision, 0.25, 1e-15);
    near(k[0].recall, 1.0, 1e-15);
    near(k[0].f1, 0.4, 1e-15);
    /* class 1: 2 of 2 predicted, 2 of 3 found */
    near(k[1].precision, 1.0, 1e-15);
    near(k[1].recall, 2.0 / 3, 1e-15);
    near(k[1].f1, 0.8, 1e-15);
    /* class 2: 1 of 1 predicted, 1 of 3 found */
    near(k[2].precision, 1.0, 1e-15);
    near(k[2].recall, 1.0 / 3, 1e-15);
    near(k[2].f1, 0.5, 1e-15);
    assert_int_equal(k[K].support, N);
    assert_int_equal(k[K].predicted, N);
    assert_int_equal(k[K].correct, 4);
    near(k[K].precision, 0.75, 1e-15);
    near(k[K].recall, 2.0 / 3, 1e-15);
    near(k[K].f1, 1.7 / 3, 1e-15);
}

/* A class never predicted and one without samples score 0, not NaN. */
static void test_empty_classes(void **state)
{
    (void)state;
    static const int64_t counts[4] = {3, 0,  0, 0};
    qsdc_class_score k[3];
    qsdc_error err = {""};
    assert_int_equal(qsdc_class_scores(counts, 2, k, 3, &err), 0);
    near(k[0].f1, 1.0, 0);
    assert_true(k[1].precision == 0 && k[1].recall == 0 && k[1].f1 == 0);
    near(k[2].f1, 0.5, 0);
}

static void expect_error(int rc, const qsdc_error *err, const char *want)
{
    if (rc != -1 || !strstr(err->message, want))
        fail_msg("rc %d, message \"%s\"; want -1 and \"%s\"", rc, err->message, want);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    int64_t counts[K * K];
    qsdc_class_score k[K + 1];
    qsdc_error err = {""};
    static const int32_t bad[N] = {0, 1, 3, 0, 0, 0, 0};
    expect_error(qsdc_confusion_matrix(outputs, N, K, bad, counts, K * K, &err), &err,
                 "labels[2] is 3, outside the 3 classes [0, 3)");
    expect_error(qsdc_confusion_matrix(outputs, N, K, labels, counts, K * K - 1, &err), &err,
                 "counts holds 8 values; 3 classes need 3 x 3");
    expect_error(qsdc_confusion_matrix(outputs, N, 0, labels, counts, K * K, &err), &err,
                 "0 classes");
    expect_error(qsdc_confusion_matrix(NULL, N, K, labels, counts, K * K, &err), &err,
                 "outputs is NULL");
    expect_error(qsdc_confusion_matrix(outputs, -1, K, labels, counts, K * K, &err), &err,
                 "n is -1");
    expect_error(qsdc_confusion_matrix(outputs, N, INT64_MAX, labels, counts, K * K, &err),
                 &err, "counts holds 9 values");
    static const int64_t negative[4] = {1, -1, 0, 0};
    expect_error(qsdc_class_scores(negative, 2, k, 3, &err), &err, "negative count");
    expect_error(qsdc_class_scores(counts, K, k, K, &err), &err,
                 "out holds 3 scores; 3 classes and their macro average need 4");
    expect_error(qsdc_class_scores(NULL, K, k, K + 1, &err), &err, "counts is NULL");
    assert_int_equal(qsdc_confusion_matrix(outputs, 0, K, labels, counts, K * K, NULL), 0);
    assert_int_equal(counts[0], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_scores),
        cmocka_unit_test(test_empty_classes),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
