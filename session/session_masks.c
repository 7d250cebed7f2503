/* Sessions (include/qsdc.h): QSD masks sampled on the device by the
 * generated kernels' own sampler (kernels/qsd.cl), for the experiment lab to
 * compare with QSD.md's analytic moments. */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_sources.h"

/* philox.cl, qsd.cl and one kernel calling qsd_mask with literal parameters,
 * as generated kernels do (the branches on them then fold); with hetero:
 * unit, qsd_mask_unit with a unit of its own for every draw, so that the
 * draws are independent samples of m's distribution. */
static char *sampler_source(const qsd_params *q, qsdc_error *err)
{
    const char *philox = kernel_source("philox.cl"), *qsd = kernel_source("qsd.cl");
    if (!philox || !qsd) {
        qsdc_fail(err, "the QSD kernel sources are missing from this build");
        return NULL;
    }
    size_t cap = strlen(philox) + strlen(qsd) + 1024;
    char *src = malloc(cap);
    if (!src) {
        qsdc_fail(err, "out of memory");
        return NULL;
    }
    char draw[256];
    if (q->hetero == HETERO_UNIT)
        snprintf(draw, sizeof draw, "qsd_mask_unit(seed, rng_id, 0u, i, i, %#.9gf, %d, %#.9gf, "
                 "%#.9gf, %#.9gf)", q->p, q->sites, q->q_cv, q->p_concentration, q->anneal);
    else
        snprintf(draw, sizeof draw, "qsd_mask(seed, rng_id, 0u, qsd_group_element(i), %#.9gf, "
                 "%d, %#.9gf, %#.9gf)", q->p, q->sites, q->q_cv, q->p_concentration);
    snprintf(src, cap,
             "%s\n%s\n"
             "__kernel void qsd_sample(__global float *out, uint seed, uint rng_id)\n"
             "{\n"
             "    uint i = get_global_id(0);\n"
             "    out[i] = %s;\n"
             "}\n",
             philox, qsd, draw);
    return src;
}

/* n draws of the QSD multiplier m with q's parameters on env's device, from
 * qsd_mask with key (seed, rng_id), step 0 and groups 0..n-1 (the masks of
 * a training step's first n elements). */
static int sample_masks(cl_env *env, const qsd_params *q, uint32_t seed, uint32_t rng_id,
                        int64_t n, float *out, qsdc_error *err)
{
    if (n < 1 || n > INT32_MAX)
        return qsdc_fail(err, "mask draws must be in [1, 2^31), got %lld", (long long)n);
    char *src = sampler_source(q, err);
    if (!src)
        return -1;
    cl_build_result b;
    int rc = cl_build_program(env, src, "", &b, err);
    free(src);
    if (rc < 0)
        return -1;
    cl_int cr;
    cl_kernel k = clCreateKernel(b.program, "qsd_sample", &cr);
    cl_mem buf = NULL;
    rc = cl_check(cr, "clCreateKernel", err);
    if (rc == 0) {
        buf = clCreateBuffer(env->ctx, CL_MEM_WRITE_ONLY, (size_t)n * sizeof *out, NULL, &cr);
        rc = cl_check(cr, "clCreateBuffer", err);
    }
    if (rc == 0) {
        cr = clSetKernelArg(k, 0, sizeof buf, &buf);
        if (cr == CL_SUCCESS)
            cr = clSetKernelArg(k, 1, sizeof seed, &seed);
        if (cr == CL_SUCCESS)
            cr = clSetKernelArg(k, 2, sizeof rng_id, &rng_id);
        rc = cl_check(cr, "clSetKernelArg", err);
    }
    size_t global = (size_t)n;
    if (rc == 0)
        rc = cl_check(clEnqueueNDRangeKernel(env->queue, k, 1, NULL, &global, NULL, 0, NULL,
                                             NULL),
                      "clEnqueueNDRangeKernel", err);
    if (rc == 0)
        rc = cl_check(clEnqueueReadBuffer(env->queue, buf, CL_TRUE, 0, global * sizeof *out,
                                          out, 0, NULL, NULL),
                      "clEnqueueReadBuffer", err);
    if (buf)
        clReleaseMemObject(buf);
    if (k)
        clReleaseKernel(k);
    clReleaseProgram(b.program);
    return rc;
}

static int layer_masks(qsdc_session *s, const char *name, uint64_t seed, int64_t n,
                       float *out, qsdc_error *e)
{
    if (!name || !out)
        return qsdc_fail(e, "qsdc_session_sample_masks: %s is NULL", name ? "out" : "layer");
    int i = model_find(&s->m, name);
    if (i < 0 || (s->m.layers[i].kind != LAYER_QSD && s->m.layers[i].kind != LAYER_DROPOUT))
        return qsdc_fail(e, "%s: the model has no dropout or qsd layer '%s'", s->m.path, name);
    /* the generated kernels key layer i's masks by rng_id i + 1 */
    return sample_masks(&s->env, &s->m.layers[i].qsd, (uint32_t)seed, (uint32_t)i + 1, n, out,
                        e);
}

int qsdc_session_sample_masks(qsdc_session *s, const char *layer, uint64_t seed, int64_t n,
                              float *out, qsdc_error *err)
{
    qsdc_error e = {""};
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = layer_masks(s, layer, seed, n, out, &e);
    return session_finish(s, rc, &e, err);
}
