/* Device faults of qsdc train on the tiny task of cli_fixture.h, each a
 * clear message and exit status 1:
 * - activations larger than the device's largest allocation (found before
 *   anything is allocated or measured), and plans whose total exceeds its
 *   global memory (exec_check_memory on a made-up device);
 * - a device lost in the middle of a run (QSDC_TEST_LOSE_DEVICE_AT_STEP):
 *   the step, the OpenCL error, the intact checkpoint and the command that
 *   resumes it, which then ends on the uninterrupted run's loss.
 * A failed program build (its log in the message) is tested in
 * test_cl_program.c and, through --program-binary, in test_cli.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli_fixture.h"
#include "executor.h"
#include "support.h"

static cli_files task;

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    cli_write_task("faults", &task);
    return 0;
}

static void test_activations_beyond_the_largest_allocation(void **state)
{
    (void)state;
    char path[CLI_PATH_MAX];
    cli_model_variant(task.model, "huge.yaml", "units: 32", "units: 1024", path);
    /* 2^20 samples x 1024 units: each hidden activation alone is 4 GiB */
    char *out = cli_run_expect(1, "train %s --batch 1048576", path);
    cli_expect(out, "qsdc: the activations of the training pass need ");
    cli_expect(out, " bytes in one allocation, more than ");
    cli_expect(out, "(CL_DEVICE_MAX_MEM_ALLOC_SIZE ");
    cli_expect(out, "try a smaller --batch");
    free(out);
}

static void test_plans_beyond_global_memory(void **state)
{
    (void)state;
    cl_device_info_rec dev = {.name = "small", .global_mem = 10000, .max_alloc = 4000};
    plan train = {.name = "tiny", .batch = 16, .param_elems = 500, .state_elems = 500,
                  .arena_elems = 900, .label_elems = 16, .loss_offset = 0};
    plan infer = {.name = "tiny", .batch = 16, .param_elems = 500, .arena_elems = 600,
                  .loss_offset = -1};
    qsdc_error err = {""};
    /* 3 x 2000 (P, G, S) + 3600 + 64 + 2400 = 12064 bytes */
    assert_int_equal(exec_check_memory(&dev, (const plan *[]){&train, &infer}, 2, &err), -1);
    assert_string_equal(err.message, "tiny at batch 16 needs 12064 bytes of device memory, "
                        "more than small has (CL_DEVICE_GLOBAL_MEM_SIZE 10000 bytes); try a "
                        "smaller --batch");
    assert_int_equal(exec_check_memory(&dev, (const plan *[]){&train}, 1, &err), 0);
    train.arena_elems = 1001;
    assert_int_equal(exec_check_memory(&dev, (const plan *[]){&train}, 1, &err), -1);
    assert_non_null(strstr(err.message, "the activations of the training pass need 4004 "
                           "bytes in one allocation"));
}

static void test_lost_device_names_step_and_checkpoint(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/lost", ts_tmpdir());
    char *ref = cli_run_expect(0, "train %s --epochs 2", task.model);
    char *out;
    ts_setenv("QSDC_TEST_LOSE_DEVICE_AT_STEP", "30");
    int rc = cli_run(&out, "train %s --epochs 2 --checkpoint %s", task.model, dir);
    ts_restore_env(NULL);
    cli_expect_status(rc, 1, out);
    char want[4 * CLI_PATH_MAX + 400];
    snprintf(want, sizeof want, "qsdc: the device was lost at step 30 (epoch 2): "
             "clEnqueueNDRangeKernel (QSDC_TEST_LOSE_DEVICE_AT_STEP): CL_DEVICE_NOT_AVAILABLE; "
             "the last checkpoint, %s (epoch 1, step 27), is intact: continue with "
             "'qsdc train %s --checkpoint %s --resume'", dir, task.model, dir);
    cli_expect(out, want);
    free(out);
    out = cli_run_expect(0, "train %s --epochs 2 --checkpoint %s --resume", task.model, dir);
    cli_epoch a[2], b[2];
    assert_int_equal(cli_epochs(ref, a, 2), 2);
    assert_int_equal(cli_epochs(out, b, 2), 1);
    assert_true(a[1].loss == b[0].loss);
    free(out);
    free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activations_beyond_the_largest_allocation),
        cmocka_unit_test(test_plans_beyond_global_memory),
        cmocka_unit_test_teardown(test_lost_device_names_step_and_checkpoint, ts_restore_env),
    };
    return cmocka_run_group_tests(tests, setup, ts_teardown);
}
