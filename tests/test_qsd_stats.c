/* QSD mask sampling (kernels/qsd.cl) on the device, against the oracles of
 * QSD.md measured on the device's own samples, and against the host twin
 * tests/ref_qsd.c.
 *
 * Statistical tolerances are 5 standard errors of the estimate, computed
 * from the sample size N (a correct sampler fails one check with
 * probability ~6e-7; the seeds are fixed, so a run is reproducible):
 *   mean:      SE = sqrt(Var[m] / N), Var[m] from the formula;
 *   variance:  SE = sqrt((mu4 - s^4) / N), mu4 and s^2 measured (the
 *              sampling variance of a variance estimate);
 *   Pr[m = 0]: SE = sqrt(q (1 - q) / N), q from the formula;
 *   correlation of independent streams: SE = 1 / sqrt(N);
 *   skewness:  SE = sqrt(6 / N), the normal-theory value, used only where
 *              m is near normal (excess kurtosis ~ 1 / (n p) ~ 0.01, which
 *              changes this SE by under 1%).
 * The settings are compiled with literal parameters, as generated kernels
 * call qsd_mask. The sampler's own approximations (qsd_log, the PPND7
 * normal quantile, binomial inversion with float thresholds) are checked in
 * tests/test_qsd_numerics.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cl_fixture.h"
#include "kernel_sources.h"
#include "ref_qsd.h"

#define N_SE 5.0

enum {
    N_STATS = 1 << 21, /* draws per setting for the moment checks */
    N_HOST = 1 << 17,  /* draws per setting compared with the host */
    N_WG = 1 << 16,    /* draws per work-group size */
    N_CORR = 1 << 20,  /* draws per stream in the correlation checks */
};

typedef struct setting {
    float p;
    int sites;
    float q_cv;
    float conc; /* 0: homogeneous */
} setting;

/* The four rows of QSD.md's table first, then edge cases of each sampler
 * path: plain dropout, Bernoulli counting, gamma with shape < 1 (v > 1),
 * beta with shapes < 1, binomial inversion (n > 64) with P > 1/2 and small
 * P, and inversion after a beta draw. */
static const setting settings[] = {
    {0.5f, 1, 0.0f, 0.0f},
    {0.25f, 4, 0.5f, 0.0f},
    {0.5f, 4, 0.5f, 4.0f},
    {0.3f, 8, 0.3f, 2.0f},
    {0.8f, 1, 0.0f, 0.0f},
    {1.0f, 1, 0.0f, 0.0f},
    {0.3f, 16, 0.0f, 0.0f},
    {0.5f, 16, 0.3f, 0.0f},
    {0.5f, 2, 1.5f, 0.0f},
    {0.1f, 2, 1.0f, 0.5f},
    {0.7f, 200, 0.5f, 0.0f},
    {0.02f, 200, 0.0f, 0.0f},
    {0.3f, 100, 0.3f, 2.0f},
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])
enum { DROPOUT_HALF = 0, ROW_4 = 3, DROPOUT_08 = 4, KEEP_ALL = 5, GAMMA_4 = 1, NEAR_NORMAL = 10 };

enum { FN_MASK, FN_TRY, N_FN };
static const char *const fn_names[N_FN] = {"qsd_mask", "qsd_mask_try"};
static cl_kernel kernels[N_FN][N_SETTINGS]; /* per function and setting */

/* philox.cl + qsd.cl + one kernel per function (qsd_mask, qsd_mask_try) and
 * setting + the group-helper kernel. */
static char *test_source(void)
{
    const char *philox = kernel_source("philox.cl"), *qsd = kernel_source("qsd.cl");
    assert_non_null(philox);
    assert_non_null(qsd);
    size_t cap = strlen(philox) + strlen(qsd) + 512 * (N_FN * N_SETTINGS + 1);
    char *src = malloc(cap);
    assert_non_null(src);
    size_t len = (size_t)snprintf(src, cap, "%s\n%s\n", philox, qsd);
    for (int f = 0; f < N_FN; f++)
        for (size_t i = 0; i < N_SETTINGS; i++) {
            const setting *s = &settings[i];
            len += (size_t)snprintf(src + len, cap - len,
                "__kernel void %s_%zu(__global float *out, uint seed, uint rng_id, uint step)\n"
                "{\n"
                "    uint i = get_global_id(0);\n"
                "    out[i] = %s(seed, rng_id, step, qsd_group_element(i),\n"
                "                %#.9gf, %d, %#.9gf, %#.9gf);\n"
                "}\n",
                fn_names[f], i, fn_names[f], (double)s->p, s->sites, (double)s->q_cv,
                (double)s->conc);
        }
    snprintf(src + len, cap - len,
        "__kernel void qsd_groups(__global uint *out, uint C, uint HW, uint T, uint U)\n"
        "{\n"
        "    uint i = get_global_id(0);\n"
        "    out[3 * i] = qsd_group_element(i);\n"
        "    out[3 * i + 1] = qsd_group_channel(i, C, HW);\n"
        "    out[3 * i + 2] = qsd_group_time(i, T, U);\n"
        "}\n");
    return src;
}

static cl_kernel build_kernel(const char *name)
{
    static char *src;
    if (!src)
        src = test_source();
    return tf_kernel(src, name);
}

static int release_kernels(void **state)
{
    (void)state;
    for (int f = 0; f < N_FN; f++)
        for (size_t i = 0; i < N_SETTINGS; i++)
            if (kernels[f][i])
                clReleaseKernel(kernels[f][i]);
    return 0;
}

static const char *describe(const setting *s)
{
    static char text[96];
    if (s->conc > 0)
        snprintf(text, sizeof text, "p=%g n=%d v=%g c=%g", (double)s->p, s->sites,
                 (double)s->q_cv, (double)s->conc);
    else
        snprintf(text, sizeof text, "p=%g n=%d v=%g", (double)s->p, s->sites,
                 (double)s->q_cv);
    return text;
}

/* Function fn's values for groups 0..n-1 of setting `which`; local NULL
 * lets the driver choose the work-group size. Returns malloc'd [n]. */
static float *draw_fn(int fn, size_t which, uint32_t seed, uint32_t rng_id, uint32_t step,
                      size_t n, const size_t *local)
{
    if (!kernels[fn][which]) {
        char name[32];
        snprintf(name, sizeof name, "%s_%zu", fn_names[fn], which);
        kernels[fn][which] = build_kernel(name);
    }
    cl_kernel k = kernels[fn][which];
    cl_env *env = tf_env();
    cl_int rc;
    cl_mem buf = clCreateBuffer(env->ctx, CL_MEM_WRITE_ONLY, n * sizeof(float), NULL, &rc);
    assert_int_equal(rc, CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 0, sizeof buf, &buf), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 1, sizeof seed, &seed), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 2, sizeof rng_id, &rng_id), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 3, sizeof step, &step), CL_SUCCESS);
    assert_int_equal(clEnqueueNDRangeKernel(env->queue, k, 1, NULL, &n, local, 0, NULL,
                                            NULL), CL_SUCCESS);
    float *m = malloc(n * sizeof(float));
    assert_non_null(m);
    assert_int_equal(clEnqueueReadBuffer(env->queue, buf, CL_TRUE, 0, n * sizeof(float),
                                         m, 0, NULL, NULL), CL_SUCCESS);
    clReleaseMemObject(buf);
    return m;
}

/* Device masks (qsd_mask) for groups 0..n-1 of setting `which`. */
static float *draw(size_t which, uint32_t seed, uint32_t rng_id, uint32_t step, size_t n,
                   const size_t *local)
{
    return draw_fn(FN_MASK, which, seed, rng_id, step, n, local);
}

typedef struct moments {
    double mean, var, mu4, skew, zero; /* zero: fraction of exact zeros */
} moments;

static moments measure(const float *m, size_t n)
{
    moments r = {0};
    for (size_t i = 0; i < n; i++) {
        r.mean += m[i];
        r.zero += m[i] == 0.0f;
    }
    r.mean /= (double)n;
    r.zero /= (double)n;
    double m3 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = m[i] - r.mean, d2 = d * d;
        r.var += d2;
        m3 += d2 * d;
        r.mu4 += d2 * d2;
    }
    r.var /= (double)n;
    r.mu4 /= (double)n;
    r.skew = r.var > 0 ? m3 / (double)n / pow(r.var, 1.5) : 0;
    return r;
}

/* Var[m] = (v^2 + (1-p) rho) / (n p), rho = (c+n)/(c+1), 1 when homogeneous. */
static double var_theory(const setting *s)
{
    double p = s->p, n = s->sites, v = s->q_cv, c = s->conc;
    double rho = c > 0 ? (c + n) / (c + 1) : 1.0;
    return (v * v + (1 - p) * rho) / (n * p);
}

/* Pr[m = 0] = (1-p)^n, or B(pc, (1-p)c + n) / B(pc, (1-p)c) with a beta P. */
static double zero_theory(const setting *s)
{
    double p = s->p, n = s->sites, c = s->conc;
    if (c <= 0)
        return pow(1 - p, n);
    double b = (1 - p) * c;
    return exp(lgamma(b + n) + lgamma(c) - lgamma(b) - lgamma(c + n));
}

static void check_within(const setting *s, const char *what, double got, double want,
                         double se)
{
    if (!(fabs(got - want) <= N_SE * se))
        fail_msg("%s: %s = %.6f, expected %.6f +- %.6f (5 SE)", describe(s), what, got,
                 want, N_SE * se);
}

static void test_moments(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting *s = &settings[i];
        float *m = draw(i, 12345u, 11u, 5u, N_STATS, NULL);
        moments r = measure(m, N_STATS);
        free(m);
        double var = var_theory(s), zero = zero_theory(s), n = N_STATS;
        print_message("%-26s E[m] %.5f  Var[m] %.5f (%.5f)  Pr[m=0] %.5f (%.5f)\n",
                      describe(s), r.mean, r.var, var, r.zero, zero);
        check_within(s, "E[m]", r.mean, 1.0, sqrt(var / n));
        check_within(s, "Var[m]", r.var, var, sqrt((r.mu4 - r.var * r.var) / n));
        check_within(s, "Pr[m=0]", r.zero, zero, sqrt(zero * (1 - zero) / n));
    }
}

/* n = 1, v = 0, homogeneous is inverted dropout: every value is 0 or exactly
 * the float 1/p (Pr[m = 1/p] = p is checked in test_moments); p = 1 keeps
 * everything at exactly 1. */
static void test_dropout_exact(void **state)
{
    (void)state;
    const size_t which[] = {DROPOUT_HALF, DROPOUT_08, KEEP_ALL};
    for (size_t w = 0; w < sizeof which / sizeof which[0]; w++) {
        const setting *s = &settings[which[w]];
        const float keep = 1.0f / s->p;
        float *m = draw(which[w], 777u, 1u, 0u, N_HOST, NULL);
        for (size_t i = 0; i < N_HOST; i++)
            if (m[i] != 0.0f && m[i] != keep)
                fail_msg("%s: m[%zu] = %.9g, neither 0 nor 1/p = %.9g", describe(s), i,
                         (double)m[i], (double)keep);
        if (s->p == 1.0f)
            for (size_t i = 0; i < N_HOST; i++)
                assert_true(m[i] == 1.0f);
        free(m);
    }
}

/* Large n: m is near Normal(1, Var[m]). For homogeneous P the cumulants of
 * G = Q_1 + ... + Q_K (K ~ Bin(n, p), Q ~ Gamma(1/v^2, v^2): mean 1,
 * variance v^2, third cumulant 2 v^4) are
 *   k2 = n p (v^2 + 1 - p),
 *   k3 = n p 2 v^4 + 3 n p (1-p) v^2 + n p (1-p)(1-2p),
 * and m = G / (n p) has the same skewness k3 / k2^1.5. */
static void test_normal_limit(void **state)
{
    (void)state;
    const setting *s = &settings[NEAR_NORMAL];
    double p = s->p, np = s->sites * p, v2 = (double)s->q_cv * s->q_cv;
    double k2 = np * (v2 + 1 - p);
    double k3 = np * 2 * v2 * v2 + 3 * np * (1 - p) * v2 + np * (1 - p) * (1 - 2 * p);
    float *m = draw(NEAR_NORMAL, 2024u, 4u, 8u, N_STATS, NULL);
    moments r = measure(m, N_STATS);
    free(m);
    print_message("%-26s skewness %.5f (%.5f)\n", describe(s), r.skew, k3 / pow(k2, 1.5));
    check_within(s, "skewness", r.skew, k3 / pow(k2, 1.5), sqrt(6.0 / N_STATS));
}

static int no_gamma_or_beta(const setting *s)
{
    return s->q_cv == 0.0f && s->conc == 0.0f;
}

/* Settings without gamma or beta draws use no transcendental function and
 * no inexact division (1/(n p) folds from the literals; binomial inversion
 * only multiplies and adds): bit-identical to the host. Elsewhere the
 * device's sqrt, division and exp may be off by 3, 2.5 and 3 ulp (OpenCL
 * 1.2) where the host's are within 1 (qsd_log is built from basic
 * operations on both sides). Tracing one accepted Marsaglia-Tsang draw: the
 * normal z is within ~2.4e-6 of the host's (see test_normal_accuracy),
 * c = 1/sqrt(9d) within ~6 ulp, v^3 = (1 + c z)^3 triples those and
 * c |z| <= 2.6 amplifies them, so m agrees within ~90 ulp of max(m, 1);
 * tolerance 2^-16 = 128 ulp of 1. In the rare draw where a perturbed
 * quantity sits on a decision threshold (u < P, an accept test, a CDF step)
 * the paths part and the values differ completely; each comparison flips
 * with probability about its perturbation (< 1e-5), a draw makes at most
 * ~n + 10 comparisons, so at most 1e-3 of the draws may differ beyond the
 * tolerance. */
static void test_matches_host(void **state)
{
    (void)state;
    const double tol = 0x1p-16, max_outliers = 1e-3;
    for (size_t w = 0; w < N_SETTINGS; w++) {
        const setting *s = &settings[w];
        float *m = draw(w, 99u, 3u, 17u, N_HOST, NULL);
        size_t outliers = 0;
        double worst = 0;
        for (uint32_t i = 0; i < N_HOST; i++) {
            float h = ref_qsd_mask(99u, 3u, 17u, i, s->p, s->sites, s->q_cv, s->conc);
            if (no_gamma_or_beta(s)) {
                if (memcmp(&m[i], &h, sizeof h) != 0)
                    fail_msg("%s: group %u: device %.9g, host %.9g", describe(s), i,
                             (double)m[i], (double)h);
                continue;
            }
            double err = fabs((double)m[i] - h) / fmax(fabs((double)h), 1.0);
            if (err > tol)
                outliers++;
            else if (err > worst)
                worst = err;
        }
        free(m);
        if (!no_gamma_or_beta(s))
            print_message("%-26s host: max rel err %.2g, %zu of %d beyond 2^-16\n",
                          describe(s), worst, outliers, N_HOST);
        if ((double)outliers > max_outliers * N_HOST)
            fail_msg("%s: %zu of %d draws differ from the host by more than 2^-16",
                     describe(s), outliers, N_HOST);
    }
}

/* qsd_mask_try gives qsd_mask's value bit for bit or -1, and never -1 for
 * settings without gamma and beta draws and with sites <= 32. */
static void test_try_matches_mask(void **state)
{
    (void)state;
    for (size_t w = 0; w < N_SETTINGS; w++) {
        const setting *s = &settings[w];
        float *m = draw(w, 42u, 9u, 1u, N_HOST, NULL);
        float *t = draw_fn(FN_TRY, w, 42u, 9u, 1u, N_HOST, NULL);
        size_t left = 0;
        for (size_t i = 0; i < N_HOST; i++) {
            if (t[i] == -1.0f) {
                left++;
                continue;
            }
            if (memcmp(&m[i], &t[i], sizeof t[i]) != 0)
                fail_msg("%s: group %zu: qsd_mask_try %.9g, qsd_mask %.9g", describe(s), i,
                         (double)t[i], (double)m[i]);
        }
        if (no_gamma_or_beta(s) && s->sites <= 32 && left > 0)
            fail_msg("%s: qsd_mask_try left %zu draws", describe(s), left);
        print_message("%-26s qsd_mask_try leaves %.4f of draws\n", describe(s),
                      (double)left / N_HOST);
        free(m);
        free(t);
    }
}

/* Same seed, same masks whatever the work-group size. */
static void test_work_group_sizes(void **state)
{
    (void)state;
    const size_t which[] = {DROPOUT_HALF, ROW_4};
    const size_t one = 1, sixty_four = 64;
    for (size_t w = 0; w < sizeof which / sizeof which[0]; w++) {
        float *a = draw(which[w], 5u, 6u, 7u, N_WG, NULL);
        float *b = draw(which[w], 5u, 6u, 7u, N_WG, &one);
        float *c = draw(which[w], 5u, 6u, 7u, N_WG, &sixty_four);
        assert_memory_equal(a, b, N_WG * sizeof(float));
        assert_memory_equal(a, c, N_WG * sizeof(float));
        free(a);
        free(b);
        free(c);
    }
}

static double correlation(const float *a, const float *b, size_t n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= (double)n;
    mb /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double da = a[i] - ma, db = b[i] - mb;
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    return sab / sqrt(saa * sbb);
}

/* Another step, rng_id or seed gives other masks, uncorrelated with the
 * first; so are neighbouring groups of one stream (lag-1 correlation). */
static void test_streams_independent(void **state)
{
    (void)state;
    const size_t which[] = {DROPOUT_HALF, GAMMA_4};
    const double se = 1.0 / sqrt((double)N_CORR);
    for (size_t w = 0; w < sizeof which / sizeof which[0]; w++) {
        const setting *s = &settings[which[w]];
        float *base = draw(which[w], 31u, 2u, 3u, N_CORR, NULL);
        float *other[3] = {
            draw(which[w], 31u, 2u, 4u, N_CORR, NULL),
            draw(which[w], 31u, 3u, 3u, N_CORR, NULL),
            draw(which[w], 32u, 2u, 3u, N_CORR, NULL),
        };
        const char *what[3] = {"next step", "next rng_id", "next seed"};
        for (int o = 0; o < 3; o++) {
            if (memcmp(base, other[o], N_CORR * sizeof(float)) == 0)
                fail_msg("%s: %s gives the same masks", describe(s), what[o]);
            double r = correlation(base, other[o], N_CORR);
            print_message("%-26s corr with %s: %+.5f\n", describe(s), what[o], r);
            if (!(fabs(r) <= N_SE * se))
                fail_msg("%s: correlation %.5f with %s exceeds 5 SE = %.5f", describe(s),
                         r, what[o], N_SE * se);
            free(other[o]);
        }
        double lag = correlation(base, base + 1, N_CORR - 1);
        if (!(fabs(lag) <= N_SE * se))
            fail_msg("%s: lag-1 correlation %.5f exceeds 5 SE", describe(s), lag);
        free(base);
    }
}

/* qsd_group_* against coordinates: channel over [7, C=3, HW=20], time over
 * [2, T=7, U=30], both 420 elements. */
static void test_sharing_groups(void **state)
{
    (void)state;
    enum { M = 420 };
    const cl_uint C = 3, HW = 20, T = 7, U = 30;
    cl_kernel k = build_kernel("qsd_groups");
    cl_env *env = tf_env();
    cl_int rc;
    cl_mem buf = clCreateBuffer(env->ctx, CL_MEM_WRITE_ONLY, 3 * M * sizeof(cl_uint), NULL,
                                &rc);
    assert_int_equal(rc, CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 0, sizeof buf, &buf), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 1, sizeof C, &C), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 2, sizeof HW, &HW), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 3, sizeof T, &T), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 4, sizeof U, &U), CL_SUCCESS);
    size_t global = M;
    assert_int_equal(clEnqueueNDRangeKernel(env->queue, k, 1, NULL, &global, NULL, 0, NULL,
                                            NULL), CL_SUCCESS);
    cl_uint got[3 * M];
    assert_int_equal(clEnqueueReadBuffer(env->queue, buf, CL_TRUE, 0, sizeof got, got, 0,
                                         NULL, NULL), CL_SUCCESS);
    clReleaseMemObject(buf);
    clReleaseKernel(k);
    for (cl_uint i = 0; i < M; i++) {
        assert_int_equal(got[3 * i], i);
        assert_int_equal(got[3 * i + 1], ref_qsd_group_channel(i, C, HW));
        assert_int_equal(got[3 * i + 2], ref_qsd_group_time(i, T, U));
    }
    /* the reference itself: element (n=1, c=2, hw=5) and (b=1, t=4, u=9) */
    assert_int_equal(ref_qsd_group_channel((1 * 3 + 2) * 20 + 5, C, HW), 1 * 3 + 2);
    assert_int_equal(ref_qsd_group_time((1 * 7 + 4) * 30 + 9, T, U), 1 * 30 + 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moments),
        cmocka_unit_test(test_dropout_exact),
        cmocka_unit_test(test_normal_limit),
        cmocka_unit_test(test_matches_host),
        cmocka_unit_test(test_try_matches_mask),
        cmocka_unit_test(test_work_group_sizes),
        cmocka_unit_test(test_streams_independent),
        cmocka_unit_test(test_sharing_groups),
    };
    return cmocka_run_group_tests(tests, NULL, release_kernels);
}
