/* The numerical pieces of kernels/qsd.cl's sampler against double-precision
 * references: qsd_log and qsd_normal on the device, and binomial inversion
 * (the host twin tests/ref_qsd.c, bit-identical to the device's as
 * test_qsd_stats checks), each within a bound derived from its construction
 * and OpenCL 1.2's accuracy allowances, stated at each test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cl_fixture.h"
#include "kernel_sources.h"
#include "ref_qsd.h"

/* philox.cl + qsd.cl + kernels applying qsd_log and qsd_normal. */
static char *test_source(void)
{
    const char *philox = kernel_source("philox.cl"), *qsd = kernel_source("qsd.cl");
    assert_non_null(philox);
    assert_non_null(qsd);
    size_t cap = strlen(philox) + strlen(qsd) + 512;
    char *src = malloc(cap);
    assert_non_null(src);
    snprintf(src, cap, "%s\n%s\n"
        "__kernel void qsd_log_of(__global const uint *in, __global float *out)\n"
        "{ uint i = get_global_id(0); out[i] = qsd_log(as_float(in[i])); }\n"
        "__kernel void qsd_normal_of(__global const uint *in, __global float *out)\n"
        "{ uint i = get_global_id(0); out[i] = qsd_normal(in[i]); }\n",
        philox, qsd);
    return src;
}

/* Runs kernel `name` (in[i] -> out[i], 32-bit each) over n inputs. Returns
 * malloc'd [n]. */
static float *apply(const char *name, const uint32_t *in, size_t n)
{
    char *src = test_source();
    cl_kernel k = tf_kernel(src, name);
    free(src);
    cl_env *env = tf_env();
    cl_int rc;
    cl_mem bin = clCreateBuffer(env->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                n * sizeof(uint32_t), (void *)in, &rc);
    assert_int_equal(rc, CL_SUCCESS);
    cl_mem bout = clCreateBuffer(env->ctx, CL_MEM_WRITE_ONLY, n * sizeof(float), NULL, &rc);
    assert_int_equal(rc, CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 0, sizeof bin, &bin), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 1, sizeof bout, &bout), CL_SUCCESS);
    assert_int_equal(clEnqueueNDRangeKernel(env->queue, k, 1, NULL, &n, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    float *out = malloc(n * sizeof(float));
    assert_non_null(out);
    assert_int_equal(clEnqueueReadBuffer(env->queue, bout, CL_TRUE, 0, n * sizeof(float), out,
                                         0, NULL, NULL), CL_SUCCESS);
    clReleaseMemObject(bin);
    clReleaseMemObject(bout);
    clReleaseKernel(k);
    return out;
}

/* The spacing of floats at |y| (2^-149 below the normal range). */
static double float_ulp(double y)
{
    int e;
    frexp(fabs(y), &e);
    return fmax(ldexp(1.0, e - 24), 0x1p-149);
}

/* qsd_log, used by the acceptance test of every gamma draw and by the
 * normal's tail, is within 1 ulp of log over the positive normal floats.
 * On the host the same operations stay below 0.86 ulp (exhaustively over
 * [2^-33, 64], the arguments draws produce). The device may round the
 * quotient s = f / (2 + f) 2.5 ulp off (OpenCL 1.2's division) where the
 * host rounds it exactly; s only enters the term s (f^2/2 + R), at most
 * 0.052 of |log|, adding under 0.13 ulp. Inputs: a stride through all
 * positive normal floats, and a finer one through [1/2, 2), where log is
 * small and cancellation would show. */
static void test_log_accuracy(void **state)
{
    (void)state;
    enum { N_ALL = 1 << 20, N_NEAR_ONE = 1 << 20 };
    uint32_t *in = malloc((N_ALL + N_NEAR_ONE) * sizeof(uint32_t));
    assert_non_null(in);
    for (uint32_t i = 0; i < N_ALL; i++)
        in[i] = 0x00800000u + (uint32_t)((uint64_t)i * (0x7f800000u - 0x00800000u) / N_ALL);
    for (uint32_t i = 0; i < N_NEAR_ONE; i++)
        in[N_ALL + i] = 0x3f000000u + i * (0x01000000u / N_NEAR_ONE);
    float *got = apply("qsd_log_of", in, N_ALL + N_NEAR_ONE);
    double worst = 0;
    for (size_t i = 0; i < N_ALL + N_NEAR_ONE; i++) {
        float x;
        memcpy(&x, &in[i], sizeof x);
        double want = log((double)x), err = fabs(got[i] - want) / float_ulp(want);
        if (!(err <= 1.0))
            fail_msg("qsd_log(%a) = %a, log = %.17g: %.2f ulp", (double)x, (double)got[i],
                     want, err);
        worst = fmax(worst, err);
    }
    print_message("qsd_log: max error %.3f ulp\n", worst);
    free(in);
    free(got);
}

/* qsd_normal(w) against the exact quantile of the float u it maps the word
 * to (signed by the top bit), computed in double by Newton steps on erfc.
 * Bound 2^-17: on the host the float evaluation stays within 1.5e-6 (PPND7
 * itself is good to about 1e-7 relative, Wichura 1988, so 6.4e-7 at
 * |z| <= 6.34); OpenCL 1.2 lets the device's sqrt be 3 ulp off (of r <= 4.8,
 * moving z by under 1.5 * 1.4e-6) and its divisions 2.5 ulp (of |z|, under
 * 2.4e-6): 1.5e-6 + 2.1e-6 + 2.4e-6 < 2^-17 = 7.6e-6. Words: a stride over
 * all 2^32, the extremes, and both sides of the branch at u = 0.075. */
static void test_normal_accuracy(void **state)
{
    (void)state;
    enum { N_STRIDE = 1 << 20, N_EDGE = 8, N_SPLIT = 200 };
    const uint32_t edges[N_EDGE] = {0u, 1u, 2u, 0x7ffffffeu, 0x7fffffffu, 0x80000000u,
                                    0x80000001u, 0xffffffffu};
    const size_t n = N_STRIDE + N_EDGE + 2 * N_SPLIT;
    uint32_t *in = malloc(n * sizeof(uint32_t));
    assert_non_null(in);
    for (uint32_t i = 0; i < N_STRIDE; i++)
        in[i] = i * 4093u;
    memcpy(in + N_STRIDE, edges, sizeof edges);
    const uint32_t split = 322122547u; /* 0.075 * 2^32 */
    for (uint32_t i = 0; i < N_SPLIT; i++) {
        in[N_STRIDE + N_EDGE + i] = split - N_SPLIT / 2 + i;
        in[N_STRIDE + N_EDGE + N_SPLIT + i] = 0x80000000u | (split - N_SPLIT / 2 + i);
    }
    float *got = apply("qsd_normal_of", in, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double u = ((float)(in[i] & 0x7fffffffu) + 0.5f) * 0x1.0p-32f;
        double z = -fabs((double)got[i]); /* the quantile of u <= 1/2 */
        for (int it = 0; it < 4; it++)
            z -= (0.5 * erfc(-z / sqrt(2.0)) - u) / (exp(-0.5 * z * z) / sqrt(2.0 * 3.14159265358979323846));
        double want = (in[i] >> 31) ? -z : z, err = fabs(got[i] - want);
        if (!(err <= 0x1p-17))
            fail_msg("qsd_normal(0x%08x) = %.9g, quantile %.9g (u = %.9g)", in[i],
                     (double)got[i], want, u);
        worst = fmax(worst, err);
    }
    print_message("qsd_normal: max |z - quantile| %.3g\n", worst);
    free(in);
    free(got);
}

/* Binomial(m, P) by inversion of one word (the host twin, which matches
 * the device bit for bit: test_matches_host). K is monotone in the 24-bit
 * u = j / 2^24 of the word, so the smallest j with K >= k gives the exact
 * probability of every k over all 2^24 u. Each threshold F_k is a sum of
 * k + 1 terms C(m, j) P^j (1-P)^(m-j), each within (m + 3) 2^-24 relative
 * (m + 2 rounded products and the conversion of C(m, j)), the sum within
 * another k 2^-24; u's grid adds 2^-24: every CDF value within
 * (2m + 4) 2^-24, every Pr[K = k] within (4m + 8) 2^-24 of the binomial
 * probability of the float P. */
static void test_binomial_inversion(void **state)
{
    (void)state;
    const struct {
        int m;
        float P;
    } cases[] = {{2, 0.5f}, {4, 0.25f}, {4, 0.7f}, {16, 0.3f}, {32, 0.02f}, {32, 0.5f},
                 {32, 0.93f}, {32, 1.0f}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int m = cases[c].m;
        double P = cases[c].P, tol = (4.0 * m + 8.0) * 0x1p-24, worst = 0;
        uint32_t first[34]; /* first[k]: smallest j with K(j) >= k; 2^24 if none */
        for (int k = 0; k <= m + 1; k++) {
            uint32_t lo = 0, hi = 1u << 24;
            while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (ref_qsd_binomial_chunk(mid << 8, m, cases[c].P) >= k)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            first[k] = lo;
        }
        assert_int_equal(first[0], 0);
        assert_int_equal(first[m + 1], 1u << 24);
        for (int k = 0; k <= m; k++) {
            double got = (double)(first[k + 1] - first[k]) * 0x1p-24;
            double want = exp(lgamma(m + 1.0) - lgamma(k + 1.0) - lgamma(m - k + 1.0)) *
                          pow(P, k) * pow(1 - P, m - k);
            if (!(fabs(got - want) <= tol))
                fail_msg("Binomial(%d, %g): Pr[K = %d] = %.9g, expected %.9g +- %.2g", m, P,
                         k, got, want, tol);
            worst = fmax(worst, fabs(got - want));
        }
        print_message("Binomial(%d, %g) by inversion: max |Pr error| %.2g (bound %.2g)\n", m,
                      P, worst, tol);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_accuracy),
        cmocka_unit_test(test_normal_accuracy),
        cmocka_unit_test(test_binomial_inversion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
