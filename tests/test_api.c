/* The public API: everything here goes through include/qsdc.h alone, as a
 * program linking the installed library would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "qsdc.h"
#include "cli_fixture.h"
#include "support.h"

static cli_files task;

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    cli_write_task("api", &task);
    return 0;
}

static void test_errors_are_values(void **state)
{
    (void)state;
    qsdc_error err = {""};
    qsdc_model *m = NULL;
    assert_int_equal(qsdc_model_load("/nonexistent/model.yaml", &m, &err), -1);
    assert_null(m);
    assert_non_null(strstr(err.message, "/nonexistent/model.yaml"));
    const char *bad = ts_write("bad.yaml", "name: x\ninput: {shape: [3]}\nlayers: [conv9]\n", 44);
    assert_int_equal(qsdc_model_load(bad, &m, &err), -1);
    assert_non_null(strstr(err.message, "bad.yaml:3:10: error:"));
}

static void test_compile_devices_train(void **state)
{
    (void)state;
    qsdc_error err = {""};
    qsdc_model *m;
    if (qsdc_model_load(task.model, &m, &err) < 0)
        fail_msg("%s", err.message);
    char dir[1300];
    snprintf(dir, sizeof dir, "%s/api-bundle", ts_tmpdir());
    assert_int_equal(qsdc_compile(m, dir, 0, 1, &err), 0);
    const char *files[] = {"kernels.cl", "train.cl", "plan.yaml", "graph.dot"};
    for (int i = 0; i < 4; i++) {
        char path[1400];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        assert_int_equal(stat(path, &st), 0);
    }
    char list[4096];
    assert_true(qsdc_list_devices(list, sizeof list, &err) >= 1);
    assert_non_null(strstr(list, "0: "));
    qsdc_train_options o = {.epochs = 2, .quiet = 1};
    qsdc_train_result r;
    if (qsdc_train(m, &o, &r, &err) < 0)
        fail_msg("%s", err.message);
    /* the task's three classes are separable: see tests/cli_fixture.h */
    assert_int_equal(r.epochs_done, 2);
    assert_int_equal(r.steps, 2 * CLI_STEPS_PER_EPOCH);
    assert_true(r.test_accuracy > 90.0);
    /* a learning rate that overflows: stopped by the check, an error value */
    qsdc_train_options diverge = {.epochs = 1, .lr = 1e30, .quiet = 1, .check_finite = 1};
    assert_int_equal(qsdc_train(m, &diverge, &r, &err), -1);
    assert_non_null(strstr(err.message, "--check-finite: step "));
    assert_non_null(strstr(err.message, "first NaN or Inf in "));
    qsdc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_are_values),
        cmocka_unit_test(test_compile_devices_train),
    };
    return cmocka_run_group_tests(tests, setup, ts_teardown);
}
