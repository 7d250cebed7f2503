/* The OpenCL device layer on the machine's real driver (pocl in CI):
 * listing, selection by each spec form, the queue, and error names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cl_fixture.h"
#include "support.h"

static void list(cl_device_info_rec **devs, int *n)
{
    qsdc_error err = {{0}};
    if (cl_list_devices(devs, n, &err))
        fail_msg("%s", err.message);
    assert_true(*n >= 1);
}

static void test_list_devices(void **state)
{
    (void)state;
    cl_device_info_rec *devs;
    int n;
    list(&devs, &n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(devs[i].index, i);
        assert_non_null(devs[i].device);
        assert_non_null(devs[i].platform);
        assert_true(strlen(devs[i].name) > 0);
        assert_true(strlen(devs[i].platform_name) > 0);
        assert_true(strncmp(devs[i].version, "OpenCL ", 7) == 0);
        assert_true(devs[i].compute_units >= 1);
        assert_true(devs[i].global_mem > 0);
        assert_true(devs[i].max_alloc > 0 && devs[i].max_alloc <= devs[i].global_mem);
        assert_true(devs[i].max_work_group >= 1);
        assert_string_not_equal(cl_device_type_name(devs[i].type), "other");
    }
    free(devs);
}

static void test_select_default(void **state)
{
    (void)state;
    cl_device_info_rec *devs;
    int n;
    list(&devs, &n);
    int want = -1;
    for (int i = 0; i < n && want < 0; i++)
        if (devs[i].type & CL_DEVICE_TYPE_GPU)
            want = i;
    for (int i = 0; i < n && want < 0; i++)
        if (devs[i].type & CL_DEVICE_TYPE_CPU)
            want = i;
    if (want < 0)
        want = 0;
    cl_device_info_rec got;
    qsdc_error err = {{0}};
    assert_int_equal(cl_select_device(NULL, &got, &err), 0);
    assert_int_equal(got.index, want);
    assert_int_equal(cl_select_device("", &got, &err), 0);
    assert_int_equal(got.index, want);
    free(devs);
}

static void test_select_by_index(void **state)
{
    (void)state;
    cl_device_info_rec *devs;
    int n;
    list(&devs, &n);
    cl_device_info_rec got;
    qsdc_error err = {{0}};
    char spec[16];
    snprintf(spec, sizeof spec, "%d", n - 1);
    assert_int_equal(cl_select_device(spec, &got, &err), 0);
    assert_int_equal(got.index, n - 1);
    assert_string_equal(got.name, devs[n - 1].name);

    snprintf(spec, sizeof spec, "%d", n);
    assert_int_equal(cl_select_device(spec, &got, &err), -1);
    assert_non_null(strstr(err.message, "out of range"));
    assert_non_null(strstr(err.message, devs[0].name));
    assert_int_equal(cl_select_device("99999999999999999999", &got, &err), -1);
    assert_non_null(strstr(err.message, "out of range"));
    free(devs);
}

/* "cpu" and "gpu" pick the first device of that type, and when there is
 * none the error says so and lists what there is. */
static void check_type_spec(const char *spec, cl_device_type type)
{
    cl_device_info_rec *devs;
    int n;
    list(&devs, &n);
    int want = -1;
    for (int i = 0; i < n && want < 0; i++)
        if (devs[i].type & type)
            want = i;
    cl_device_info_rec got;
    qsdc_error err = {{0}};
    int rc = cl_select_device(spec, &got, &err);
    if (want >= 0) {
        assert_int_equal(rc, 0);
        assert_int_equal(got.index, want);
    } else {
        assert_int_equal(rc, -1);
        char expect[64];
        snprintf(expect, sizeof expect, "no OpenCL %s device", spec);
        assert_non_null(strstr(err.message, expect));
        assert_non_null(strstr(err.message, "available"));
        assert_non_null(strstr(err.message, devs[0].name));
    }
    free(devs);
}

static void test_select_cpu(void **state)
{
    (void)state;
    check_type_spec("cpu", CL_DEVICE_TYPE_CPU);
}

static void test_select_gpu(void **state)
{
    (void)state;
    check_type_spec("gpu", CL_DEVICE_TYPE_GPU);
}

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static void test_select_by_name(void **state)
{
    (void)state;
    cl_device_info_rec *devs;
    int n;
    list(&devs, &n);
    /* A middle piece of the last device's name, upper-cased: the match is by
     * substring and ignores case. The first device containing it wins. */
    const char *name = devs[n - 1].name;
    size_t len = strlen(name);
    char piece[256];
    size_t from = len / 4, take = len - from > 8 ? 8 : len - from;
    for (size_t i = 0; i < take; i++)
        piece[i] = (char)((name[from + i] >= 'a' && name[from + i] <= 'z')
                              ? name[from + i] - 32 : name[from + i]);
    piece[take] = '\0';
    cl_device_info_rec got;
    qsdc_error err = {{0}};
    assert_int_equal(cl_select_device(piece, &got, &err), 0);
    assert_true(contains_nocase(got.name, piece) || contains_nocase(got.platform_name, piece));
    assert_true(got.index <= n - 1);

    assert_int_equal(cl_select_device(devs[0].platform_name, &got, &err), 0);
    assert_string_equal(got.platform_name, devs[0].platform_name);

    assert_int_equal(cl_select_device("no-such-device-xyzzy", &got, &err), -1);
    assert_non_null(strstr(err.message, "\"no-such-device-xyzzy\""));
    assert_non_null(strstr(err.message, "available"));
    assert_non_null(strstr(err.message, devs[0].name));
    free(devs);
}

static void test_env_queue_properties(void **state)
{
    (void)state;
    qsdc_error err = {{0}};
    for (int profiling = 0; profiling <= 1; profiling++) {
        cl_env env;
        if (cl_env_open("0", profiling, &env, &err))
            fail_msg("%s", err.message);
        cl_command_queue_properties props = 0;
        assert_int_equal(clGetCommandQueueInfo(env.queue, CL_QUEUE_PROPERTIES,
                                               sizeof props, &props, NULL), CL_SUCCESS);
        assert_int_equal(!!(props & CL_QUEUE_PROFILING_ENABLE), profiling);
        assert_int_equal(props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, 0);
        cl_env_close(&env);
        assert_null(env.queue);
    }
}

/* Child mode for test_no_device: lists and selects in a process whose ICD
 * loader found no platform. */
static int no_device_child(void)
{
    cl_device_info_rec *devs, dev;
    int n = -1;
    qsdc_error err = {{0}};
    if (cl_list_devices(&devs, &n, &err) || n != 0) {
        printf("listing: rc != 0 or n = %d: %s\n", n, err.message);
        return 2;
    }
    if (cl_select_device(NULL, &dev, &err) == 0) {
        printf("selected %s\n", dev.name);
        return 2;
    }
    printf("%s\n", err.message);
    return 1;
}

static void test_no_device(void **state)
{
    (void)state;
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    char empty[1200], cmd[2600];
    snprintf(empty, sizeof empty, "%s/no-vendors", ts_tmpdir());
    assert_int_equal(mkdir(empty, 0755), 0);
    snprintf(cmd, sizeof cmd, "OCL_ICD_VENDORS='%s' '%s' --no-device-child", empty, self);
    char *out = NULL;
    int rc = ts_run(cmd, &out);
    if (rc != 1)
        fail_msg("child exited %d: %s", rc, out);
    assert_non_null(strstr(out, "no OpenCL device found"));
    assert_non_null(strstr(out, "apt-get install pocl-opencl-icd"));
    free(out);
}

static void test_error_names(void **state)
{
    (void)state;
    assert_string_equal(cl_error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
    assert_string_equal(cl_error_name(CL_SUCCESS), "CL_SUCCESS");
    assert_string_equal(cl_error_name(CL_INVALID_WORK_GROUP_SIZE),
                        "CL_INVALID_WORK_GROUP_SIZE");
    assert_string_equal(cl_error_name(CL_INVALID_DEVICE_PARTITION_COUNT),
                        "CL_INVALID_DEVICE_PARTITION_COUNT");
    assert_string_equal(cl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    assert_string_equal(cl_error_name(-9999), "CL_UNKNOWN_ERROR(-9999)");
    /* Every CL 1.2 code has a name. */
    for (int code = 0; code >= -68; code--)
        if (code > -20 || code <= -30)
            assert_null(strstr(cl_error_name(code), "UNKNOWN"));

    qsdc_error err = {{0}};
    assert_int_equal(cl_check(CL_SUCCESS, "clFinish", &err), 0);
    assert_int_equal(cl_check(CL_MEM_OBJECT_ALLOCATION_FAILURE, "clCreateBuffer", &err), -1);
    assert_string_equal(err.message, "clCreateBuffer: CL_MEM_OBJECT_ALLOCATION_FAILURE");
    assert_int_equal(cl_fail_no_device(&err), -1);
    assert_non_null(strstr(err.message, "apt-get install pocl-opencl-icd"));
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--no-device-child") == 0)
        return no_device_child();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_devices),
        cmocka_unit_test(test_select_default),
        cmocka_unit_test(test_select_by_index),
        cmocka_unit_test(test_select_cpu),
        cmocka_unit_test(test_select_gpu),
        cmocka_unit_test(test_select_by_name),
        cmocka_unit_test(test_env_queue_properties),
        cmocka_unit_test(test_no_device),
        cmocka_unit_test(test_error_names),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ts_cleanup();
    return failed;
}
