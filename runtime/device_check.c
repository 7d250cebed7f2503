#include "device_check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <Random123/philox.h>

#include "codegen_gemm.h"
#include "codegen_target.h"
#include "executor.h"
#include "kernel_sources.h"

/* C[M,N] = A[M,K] B[K,N], all in G: A at 0, B after it, C after B. */
enum { CHECK_M = 5, CHECK_N = 7, CHECK_K = 9 };
enum { OFF_B = CHECK_M * CHECK_K, OFF_C = OFF_B + CHECK_K * CHECK_N,
       CHECK_ELEMS = OFF_C + CHECK_M * CHECK_N };

static const uint32_t philox_ctr[4] = {1u, 2u, 3u, 0x9e3779b9u}, philox_key[2] = {7u, 0u};

/* The GEMM kernel as the device's target shapes it, then the Philox one. */
static int check_source(cl_env *env, strbuf *src, plan_launch *gemm, qsdc_error *err)
{
    codegen_target target;
    exec_target(&env->dev, &target);
    gemm_tuning t;
    gemm_tuning_default(&t, target.is_cpu, target.pref_vector_width);
    t.loop_budget = target.loop_limit / 2;
    char b[32], c[32];
    snprintf(b, sizeof b, "(G + %d)", OFF_B);
    snprintf(c, sizeof c, "(G + %d)", OFF_C);
    gemm_spec s = {.name = "qsdc_check_gemm", .M = CHECK_M, .N = CHECK_N, .K = CHECK_K,
                   .a = "(G + 0)", .b = b, .c = c, .lda = CHECK_K, .ldb = CHECK_N,
                   .ldc = CHECK_N};
    const char *philox = kernel_source("philox.cl"), *qsd = kernel_source("qsd.cl");
    if (!philox || !qsd)
        return qsdc_fail(err, "the QSD kernel sources are missing from this build");
    if (codegen_gemm(src, &s, &t, gemm, err) < 0)
        return -1;
    sb_printf(src,
              "%s\n%s\n"
              "__kernel void qsdc_check_philox(__global uint *out)\n"
              "{\n"
              "    uint4 w = qsd_philox(%uu, %uu, %uu, %uu, %uu, %uu);\n"
              "    out[0] = w.s0; out[1] = w.s1; out[2] = w.s2; out[3] = w.s3;\n"
              "}\n",
              philox, qsd, philox_ctr[0], philox_ctr[1], philox_ctr[2], philox_ctr[3],
              philox_key[0], philox_key[1]);
    return sb_check(src, err);
}

static int run_checks(cl_env *env, cl_program prog, const plan_launch *l, float *g,
                      cl_uint *words, qsdc_error *err)
{
    cl_int rc;
    cl_mem buf = clCreateBuffer(env->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                CHECK_ELEMS * sizeof *g, g, &rc);
    cl_mem out = rc == CL_SUCCESS ? clCreateBuffer(env->ctx, CL_MEM_READ_WRITE,
                                                   4 * sizeof *words, NULL, &rc)
                                  : NULL;
    cl_kernel kg = rc == CL_SUCCESS ? clCreateKernel(prog, l->kernel, &rc) : NULL;
    cl_kernel kp = rc == CL_SUCCESS ? clCreateKernel(prog, "qsdc_check_philox", &rc) : NULL;
    cl_uint zero = 0;
    float lr = 0.0f;
    /* the GEMM reads and writes G; P, S, A and L are never touched */
    for (cl_uint a = 0; rc == CL_SUCCESS && a < 5; a++)
        rc = clSetKernelArg(kg, a, sizeof buf, &buf);
    for (cl_uint a = 5; rc == CL_SUCCESS && a < 9; a++)
        rc = a == 7 ? clSetKernelArg(kg, a, sizeof lr, &lr)
                    : clSetKernelArg(kg, a, sizeof zero, &zero);
    if (rc == CL_SUCCESS)
        rc = clSetKernelArg(kp, 0, sizeof out, &out);
    size_t global[3], local[3], one = 1;
    for (int d = 0; d < 3; d++) {
        global[d] = (size_t)(l->global[d] ? l->global[d] : 1);
        local[d] = 1;
    }
    if (rc == CL_SUCCESS)
        rc = clEnqueueNDRangeKernel(env->queue, kg, (cl_uint)l->work_dim, NULL, global,
                                    local, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
        rc = clEnqueueNDRangeKernel(env->queue, kp, 1, NULL, &one, &one, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
        rc = clEnqueueReadBuffer(env->queue, buf, CL_TRUE, 0, CHECK_ELEMS * sizeof *g, g, 0,
                                 NULL, NULL);
    if (rc == CL_SUCCESS)
        rc = clEnqueueReadBuffer(env->queue, out, CL_TRUE, 0, 4 * sizeof *words, words, 0,
                                 NULL, NULL);
    if (kp)
        clReleaseKernel(kp);
    if (kg)
        clReleaseKernel(kg);
    if (out)
        clReleaseMemObject(out);
    if (buf)
        clReleaseMemObject(buf);
    return cl_check(rc, "running the device self-check", err);
}

static int compare(const cl_env *env, const float *g, const cl_uint *words, qsdc_error *err)
{
    for (int i = 0; i < CHECK_M; i++)
        for (int j = 0; j < CHECK_N; j++) {
            double want = 0, mag = 0;
            for (int k = 0; k < CHECK_K; k++) {
                want += (double)(i - k) * (double)(k + 2 * j - 3);
                mag += fabs((double)(i - k) * (double)(k + 2 * j - 3));
            }
            double got = g[OFF_C + i * CHECK_N + j];
            if (fabs(got - want) > 1e-6 * mag + 1e-6)
                return qsdc_fail(err, "device %d (%s) failed its self-check: a %dx%dx%d GEMM "
                                 "gave C[%d,%d] = %g where the host computes %g",
                                 env->dev.index, env->dev.name, CHECK_M, CHECK_N, CHECK_K,
                                 i, j, got, want);
        }
    philox4x32_ctr_t ctr = {{philox_ctr[0], philox_ctr[1], philox_ctr[2], philox_ctr[3]}};
    philox4x32_key_t key = {{philox_key[0], philox_key[1]}};
    philox4x32_ctr_t host = philox4x32(ctr, key);
    for (int w = 0; w < 4; w++)
        if (words[w] != host.v[w])
            return qsdc_fail(err, "device %d (%s) failed its self-check: Philox4x32-10 word %d "
                             "is %#x where the host computes %#x (QSD masks would differ)",
                             env->dev.index, env->dev.name, w, words[w], host.v[w]);
    return 0;
}

int device_self_check(cl_env *env, qsdc_error *err)
{
    strbuf src;
    sb_init(&src);
    plan_launch gemm;
    cl_build_result br;
    int rc = check_source(env, &src, &gemm, err);
    if (rc == 0)
        rc = cl_build_program(env, sb_str(&src), NULL, &br, err);
    sb_free(&src);
    if (rc < 0)
        return qsdc_error_wrap(err, "device %d (%s): building its self-check", env->dev.index,
                               env->dev.name);
    float g[CHECK_ELEMS] = {0};
    for (int i = 0; i < CHECK_M; i++)
        for (int k = 0; k < CHECK_K; k++)
            g[i * CHECK_K + k] = (float)(i - k);
    for (int k = 0; k < CHECK_K; k++)
        for (int j = 0; j < CHECK_N; j++)
            g[OFF_B + k * CHECK_N + j] = (float)(k + 2 * j - 3);
    cl_uint words[4] = {0};
    rc = run_checks(env, br.program, &gemm, g, words, err);
    clReleaseProgram(br.program);
    return rc < 0 ? -1 : compare(env, g, words, err);
}
