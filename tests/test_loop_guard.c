/* The loop guard (runtime/loop_guard.h) and the start-up self-check on the
 * device under test (QSDC_TEST_DEVICE): the probe, the instrumented source,
 * and, on a device that cuts loops short (rusticl on llvmpipe), a kernel
 * that would have returned a wrong answer refused by name, and the same
 * layer shaped for the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cl_fixture.h"
#include "compile.h"
#include "device_check.h"
#include "executor.h"
#include "graph_check.h"
#include "loop_guard.h"

/* One work-item counts to n in a loop nested in another of 4: llvmpipe
 * counts every iteration of both against one budget. */
static const char counting_source[] =
    "/* a comment with a brace { and __kernel void fake(int) */\n"
    "__kernel __attribute__((reqd_work_group_size(1, 1, 1)))\n"
    "void count_to(__global uint *out, const uint n)\n"
    "{\n"
    "    if (get_global_id(0) > 0u) return;\n"
    "    uint c = 0u;\n"
    "    for (uint j = 0u; j < 4u; ++j) { for (uint i = 0u; i < n; ++i) { c += 1u; } }\n"
    "    out[0] = c;\n"
    "}\n"
    "__kernel void second(__global uint *out, const uint n) { out[1] = n; }\n";

static void test_instrumented_source(void **s)
{
    (void)s;
    strbuf sb;
    sb_init(&sb);
    qsdc_error err = {{0}};
    assert_int_equal(loop_guard_source(counting_source, &sb, &err), 0);
    const char *g = sb_str(&sb);
    assert_non_null(strstr(g, "void count_to(__global uint *out, const uint n, "
                              "__global uint *qsdc_loop)"));
    assert_non_null(strstr(g, "void second(__global uint *out, const uint n, "
                              "__global uint *qsdc_loop)"));
    assert_non_null(strstr(g, "qsdc_loop[0] = 1u;"));
    assert_non_null(strstr(g, "qsdc_loop[0] = 2u;"));
    assert_null(strstr(g, "fake(int, __global"));
    char name[64];
    loop_guard_kernel_name(counting_source, 1, name, sizeof name);
    assert_string_equal(name, "second");
    loop_guard_kernel_name(counting_source, 2, name, sizeof name);
    assert_string_equal(name, "?");
    sb_free(&sb);
    sb_init(&sb);
    assert_int_equal(loop_guard_source("__kernel void k(int a { }", &sb, &err), -1);
    assert_non_null(strstr(err.message, "offset 0"));
    sb_free(&sb);
}

/* Runs the guarded count_to(n) on one work-item: *count gets its count,
 * *flag the guard's. */
static void run_guarded(cl_uint n, cl_uint *count, cl_uint *flag)
{
    cl_env *env = tf_env();
    strbuf sb;
    sb_init(&sb);
    qsdc_error err = {{0}};
    assert_int_equal(loop_guard_source(counting_source, &sb, &err), 0);
    cl_build_result br;
    if (cl_build_program(env, sb_str(&sb), NULL, &br, &err) < 0)
        fail_msg("%s", err.message);
    sb_free(&sb);
    cl_int rc;
    cl_kernel k = clCreateKernel(br.program, "count_to", &rc);
    assert_int_equal(rc, CL_SUCCESS);
    cl_uint init[2] = {0, 2}, out[2] = {0, 0};
    cl_mem bo = clCreateBuffer(env->ctx, CL_MEM_READ_WRITE, sizeof out, NULL, &rc);
    cl_mem bf = clCreateBuffer(env->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                               sizeof init, init, &rc);
    clSetKernelArg(k, 0, sizeof bo, &bo);
    clSetKernelArg(k, 1, sizeof n, &n);
    clSetKernelArg(k, 2, sizeof bf, &bf);
    size_t one = 1;
    assert_int_equal(clEnqueueNDRangeKernel(env->queue, k, 1, NULL, &one, &one, 0, NULL, NULL),
                     CL_SUCCESS);
    clEnqueueReadBuffer(env->queue, bo, CL_TRUE, 0, sizeof out, out, 0, NULL, NULL);
    clEnqueueReadBuffer(env->queue, bf, CL_TRUE, 0, sizeof init, init, 0, NULL, NULL);
    *count = out[0];
    *flag = init[0];
    clReleaseMemObject(bo);
    clReleaseMemObject(bf);
    clReleaseKernel(k);
    clReleaseProgram(br.program);
}

static void test_guard_on_device(void **s)
{
    (void)s;
    cl_uint limit = tf_env()->dev.loop_limit, count, flag;
    run_guarded(1000, &count, &flag);
    assert_int_equal(count, 4000);
    assert_int_equal(flag, 0);
    /* 4 x 20,000 iterations: past llvmpipe's 65,535 */
    run_guarded(20000, &count, &flag);
    if (limit == 0) {
        assert_int_equal(count, 80000);
        assert_int_equal(flag, 0);
    } else {
        print_message("%s cuts loops after %u iterations: counted %u of 80000, "
                      "guard flag %u\n", tf_env()->dev.name, limit, count, flag);
        assert_true(count < 80000);
        assert_int_equal(flag, 1);
    }
}

/* The example CNN's dense layer at batch 128 compiled for a device without
 * a loop limit: one work-item a block runs 7 K blocks of 512 for each of
 * its micro-tiles, far past llvmpipe's limit. There the run fails naming
 * the kernel; elsewhere it runs. */
static void test_plan_refused_by_name(void **s)
{
    (void)s;
    static const char dense[] = "name: wide\ninput: {shape: [3136]}\n"
                                "layers:\n  - {op: dense, units: 256}\n";
    qsdc_error err = {""};
    model m;
    plan p;
    graph g;
    fusion f;
    codegen_target t;
    codegen_target_default(&t);
    if (model_load_string("<test>", dense, strlen(dense), &m, &err) < 0 ||
        compile_plan(&m, MODE_INFER, 128, &t, &p, &g, &f, &err) < 0)
        fail_msg("%s", err.message);
    cl_env *env = tf_env();
    model_state ms;
    executor ex;
    if (model_state_create(env, p.param_elems, 0, &ms, &err) < 0 ||
        exec_create(env, &p, &ms, &ex, &err) < 0)
        fail_msg("%s", err.message);
    int rc = exec_run(&ex, 0, 0, 0.0f, &err);
    if (env->dev.loop_limit == 0) {
        assert_int_equal(rc, 0);
    } else {
        assert_int_equal(rc, -1);
        print_message("%s\n", err.message);
        assert_non_null(strstr(err.message, "cut kernel k0_matmul of wide short"));
    }
    exec_destroy(&ex);
    model_state_free(&ms);
    plan_free(&p);
    graph_free(&g);
    fusion_free(&f);
    model_free(&m);
}

/* The same layer shaped for the device under test runs on every device,
 * and matches the reference. */
static void test_shaped_for_the_limit(void **s)
{
    (void)s;
    gc_check_inference("name: wide\ninput: {shape: [3136]}\n"
                       "layers:\n  - {op: dense, units: 256}\n", 128, 1e-4);
}

/* The start-up check (device_check.h) passes on the device under test. */
static void test_self_check(void **s)
{
    (void)s;
    qsdc_error err = {""};
    if (device_self_check(tf_env(), &err) < 0)
        fail_msg("%s", err.message);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_check),
        cmocka_unit_test(test_instrumented_source),
        cmocka_unit_test(test_guard_on_device),
        cmocka_unit_test(test_plan_refused_by_name),
        cmocka_unit_test(test_shaped_for_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
