#include "check_finite.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_sources.h"

#define SCAN_LANES 64 /* work-items per probe */

void finite_check_free(finite_check *fc)
{
    if (fc->kernel)
        clReleaseKernel(fc->kernel);
    if (fc->program)
        clReleaseProgram(fc->program);
    if (fc->table)
        clReleaseMemObject(fc->table);
    if (fc->flags)
        clReleaseMemObject(fc->flags);
    free(fc->host_flags);
    memset(fc, 0, sizeof *fc);
}

static int clear_flags(finite_check *fc, qsdc_error *err)
{
    cl_int zero = 0;
    size_t bytes = (size_t)fc->ex->p->n_probes * sizeof zero;
    return cl_check(clEnqueueFillBuffer(fc->ex->env->queue, fc->flags, &zero, sizeof zero, 0,
                                        bytes, 0, NULL, NULL),
                    "clEnqueueFillBuffer", err);
}

static int create_buffers(finite_check *fc, qsdc_error *err)
{
    const plan *p = fc->ex->p;
    cl_env *env = fc->ex->env;
    size_t n = (size_t)p->n_probes;
    cl_long *table = malloc(3 * n * sizeof *table);
    fc->host_flags = malloc(n * sizeof *fc->host_flags);
    if (!table || !fc->host_flags) {
        free(table);
        return qsdc_fail(err, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        table[3 * i] = p->probes[i].buffer;
        table[3 * i + 1] = p->probes[i].offset;
        table[3 * i + 2] = p->probes[i].nelem;
    }
    cl_int rc;
    fc->table = clCreateBuffer(env->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                               3 * n * sizeof *table, table, &rc);
    free(table);
    if (rc == CL_SUCCESS)
        fc->flags = clCreateBuffer(env->ctx, CL_MEM_READ_WRITE, n * sizeof(cl_int), NULL,
                                   &rc);
    return cl_check(rc, "clCreateBuffer", err);
}

int finite_check_create(executor *ex, finite_check *fc, qsdc_error *err)
{
    memset(fc, 0, sizeof *fc);
    fc->ex = ex;
    if (ex->p->n_probes == 0)
        return qsdc_fail(err, "--check-finite: plan %s was compiled without probes",
                         ex->p->name);
    const char *src = kernel_source("check_finite.cl");
    if (!src)
        return qsdc_fail(err, "the --check-finite kernel is missing from this build");
    cl_build_result br;
    if (cl_build_program(ex->env, src, "", &br, err) < 0)
        return qsdc_error_wrap(err, "building the --check-finite kernel");
    fc->program = br.program;
    cl_int rc;
    fc->kernel = clCreateKernel(fc->program, "qsdc_find_nonfinite", &rc);
    if (cl_check(rc, "clCreateKernel", err) < 0 || create_buffers(fc, err) < 0) {
        finite_check_free(fc);
        return -1;
    }
    cl_mem args[] = {ex->bufs[BUF_P], ex->bufs[BUF_G], ex->bufs[BUF_S], ex->bufs[BUF_A],
                     fc->table, fc->flags};
    for (cl_uint a = 0; rc == CL_SUCCESS && a < sizeof args / sizeof *args; a++)
        rc = clSetKernelArg(fc->kernel, a, sizeof(cl_mem), &args[a]);
    if (cl_check(rc, "clSetKernelArg", err) < 0 || clear_flags(fc, err) < 0) {
        finite_check_free(fc);
        return -1;
    }
    return 0;
}

static const char *phase_words(probe_phase phase)
{
    switch (phase) {
    case PROBE_INPUT: return "the input batch";
    case PROBE_FORWARD: return "the forward output";
    case PROBE_LOSS: return "the loss";
    case PROBE_GRADIENT: return "the gradient";
    case PROBE_UPDATE: return "the optimizer update, in";
    }
    return "";
}

int finite_check_step(finite_check *fc, uint64_t step, uint64_t epoch, qsdc_error *err)
{
    const plan *p = fc->ex->p;
    cl_command_queue q = fc->ex->env->queue;
    size_t global[2] = {SCAN_LANES, (size_t)p->n_probes};
    cl_int rc = clEnqueueNDRangeKernel(q, fc->kernel, 2, NULL, global, NULL, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
        rc = clEnqueueReadBuffer(q, fc->flags, CL_TRUE, 0,
                                 (size_t)p->n_probes * sizeof *fc->host_flags,
                                 fc->host_flags, 0, NULL, NULL);
    if (cl_check(rc, "--check-finite scan", err) < 0)
        return -1;
    for (int i = 0; i < p->n_probes; i++) {
        if (!fc->host_flags[i])
            continue;
        const plan_probe *pr = &p->probes[i];
        char layer[QSDC_NAME_MAX + 16] = "";
        if (pr->layer[0])
            snprintf(layer, sizeof layer, ", layer %s", pr->layer);
        return qsdc_fail(err, "--check-finite: step %" PRIu64 " (epoch %" PRIu64
                         "): first NaN or Inf in %s %s (op %s%s); training stopped",
                         step, epoch + 1, phase_words((probe_phase)pr->phase), pr->tensor,
                         pr->op, layer);
    }
    return clear_flags(fc, err);
}
