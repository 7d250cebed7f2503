/* Numeric CSV data sets: the header and its label column, floats kept
 * unscaled, CRLF rows and blank lines, every error with the path, offset and
 * line it must name, and no crash on any prefix or byte flip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "support.h"

static const char *write_csv(const char *text)
{
    return ts_write("t.csv", text, strlen(text));
}

static void test_rows(void **state)
{
    (void)state;
    dataset d;
    qsdc_error err = {""};
    const char *p = write_csv("a, label ,b\r\n1.5,2,-3e2\r\n\r\n0,0,255\n");
    assert_int_equal(table_load(p, "label", true, &d, &err), 0);
    assert_int_equal(d.count, 2);
    assert_int_equal(d.rank, 1);
    assert_int_equal(d.sample_elems, 2);
    assert_true(d.x[0] == 1.5f && d.x[1] == -300.0f && d.x[3] == 255.0f);
    assert_int_equal(d.y[0], 2);
    assert_int_equal(d.n_classes, 3);
    dataset_free(&d);
    /* no label column: every column is a feature, and there are no labels */
    assert_int_equal(table_load(p, "class", false, &d, &err), 0);
    assert_int_equal(d.sample_elems, 3);
    assert_null(d.y);
    dataset_free(&d);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool need_labels;
        const char *want;  /* after "PATH: offset " */
    } cases[] = {
        {"", false, "0 (line 1): empty file"},
        {"x,y\n1,2\n", true, "0 (line 1): the header names no label column 'label'"},
        {"label\n1\n", false, "0 (line 1): no feature columns"},
        {"x,,label\n", false, "2 (line 1): an empty column name"},
        {"label,x,label\n", false, "8 (line 1): the label column is named twice"},
        {"label,x\n1,abc\n", false, "10 (line 2): 'abc' is not a finite float32"},
        {"label,x\n1,nan\n", false, "10 (line 2): 'nan' is not a finite float32"},
        {"label,x\n1,-2e55\n", false, "10 (line 2): '-2e55' is not a finite float32"},
        {"label,x\n1,\n", false, "10 (line 2): an empty field"},
        {"label,x\n1.5,2\n", false, "8 (line 2): a label that is not a class id"},
        {"label,x\n-1,2\n", false, "8 (line 2): a label that is not a class id"},
        {"label,x\n1,2,3\n", false, "11 (line 2): too many fields"},
        {"label,x\n1\n", false, "9 (line 2): too few fields"},
        {"label,x\n\n", false, "9: no rows after the header"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = write_csv(cases[i].text);
        dataset d;
        qsdc_error err = {""};
        ts_expect_failure_prefix(table_load(p, "label", cases[i].need_labels, &d, &err),
                                 err.message, ts_fmt("%s: offset %s", p, cases[i].want));
    }
}

static void load_anything(const unsigned char *data, size_t len)
{
    const char *p = ts_write("m.csv", data, len);
    dataset d;
    qsdc_error err = {""};
    if (table_load(p, "label", false, &d, &err) < 0) {
        assert_non_null(strstr(err.message, ": offset "));
        return;
    }
    assert_true(d.count >= 1 && d.sample_elems >= 1);
    dataset_free(&d);
}

static void test_mutations(void **state)
{
    (void)state;
    static const char sample[] = "f0,label,f1\n0.5,1,2\n-1e3,0,4.25\r\n";
    ts_each_mutation(sample, sizeof sample - 1, load_anything);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
