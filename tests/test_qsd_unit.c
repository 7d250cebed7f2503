/* QSD with heterogeneity across units (hetero: unit, qsd_mask_unit in
 * kernels/qsd.cl) on the device, against the oracles of QSD.md's table for
 * it and against the host twin tests/ref_qsd.c.
 *
 * The draws of one unit at one step share its release probability and gain,
 * so they are not independent; the statistics are means over independent
 * blocks instead, a block being one (unit, step) with its B samples: the
 * block's mean of m, of m^2, its fraction of zeros, and its mean product
 * over pairs of distinct samples (the same-unit covariance plus 1). Each
 * estimate's standard error is the blocks' standard deviation over the
 * square root of their number, and a check allows 5 of them (a correct
 * sampler fails one with probability ~6e-7; the seeds are fixed). */
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

enum { UNITS = 1024, SAMPLES = 64, STEPS = 16, RNG_ID = 3 };

typedef struct unit_setting {
    float p;
    int sites;
    float q_cv;
    float conc;   /* 0: homogeneous */
    float anneal; /* s: c grows as c (1 + s step) */
} unit_setting;

/* QSD.md's table for hetero: unit, then annealing. */
static const unit_setting settings[] = {
    {0.5f, 1, 0.0f, 0.0f, 0.0f},
    {0.5f, 1, 0.5f, 4.0f, 0.0f},
    {0.8f, 1, 0.3f, 2.0f, 0.0f},
    {0.25f, 4, 0.5f, 0.0f, 0.0f},
    {0.5f, 4, 0.5f, 4.0f, 0.0f},
    {0.3f, 8, 0.3f, 2.0f, 0.0f},
    {0.5f, 1, 0.5f, 4.0f, 0.25f},
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])
enum { DROPOUT_HALF = 0, ANNEALED = 6 };

static const char kernel_text[] =
    "__kernel void unit_masks(__global float *out, uint seed, uint step0, uint B, uint U,\n"
    "    float p, int sites, float q_cv, float conc, float anneal)\n"
    "{\n"
    "    const uint i = get_global_id(0), per_step = B * U, r = i % per_step;\n"
    "    out[i] = qsd_mask_unit(seed, 3u, step0 + i / per_step, r, r % U, p, sites, q_cv,\n"
    "                           conc, anneal);\n"
    "}\n";

static const char *describe(const unit_setting *s)
{
    static char text[96];
    snprintf(text, sizeof text, "unit p=%g n=%d v=%g c=%g s=%g", (double)s->p, s->sites,
             (double)s->q_cv, (double)s->conc, (double)s->anneal);
    return text;
}

/* m for steps step0.. step0 + steps - 1, each [SAMPLES, UNITS]: the group
 * is the element's index within its step, the unit its column. */
static float *draw(const unit_setting *s, uint32_t seed, uint32_t step0, uint32_t steps)
{
    static cl_kernel k;
    if (!k) {
        const char *philox = kernel_source("philox.cl"), *qsd = kernel_source("qsd.cl");
        assert_non_null(philox);
        assert_non_null(qsd);
        size_t cap = strlen(philox) + strlen(qsd) + sizeof kernel_text + 4;
        char *src = malloc(cap);
        assert_non_null(src);
        snprintf(src, cap, "%s\n%s\n%s", philox, qsd, kernel_text);
        k = tf_kernel(src, "unit_masks");
        free(src);
    }
    cl_env *env = tf_env();
    size_t n = (size_t)steps * SAMPLES * UNITS;
    cl_int rc;
    cl_mem buf = clCreateBuffer(env->ctx, CL_MEM_WRITE_ONLY, n * sizeof(float), NULL, &rc);
    assert_int_equal(rc, CL_SUCCESS);
    cl_uint b = SAMPLES, u = UNITS;
    assert_int_equal(clSetKernelArg(k, 0, sizeof buf, &buf), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 1, sizeof seed, &seed), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 2, sizeof step0, &step0), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 3, sizeof b, &b), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 4, sizeof u, &u), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 5, sizeof s->p, &s->p), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 6, sizeof s->sites, &s->sites), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 7, sizeof s->q_cv, &s->q_cv), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 8, sizeof s->conc, &s->conc), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 9, sizeof s->anneal, &s->anneal), CL_SUCCESS);
    assert_int_equal(clEnqueueNDRangeKernel(env->queue, k, 1, NULL, &n, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    float *m = malloc(n * sizeof(float));
    assert_non_null(m);
    assert_int_equal(clEnqueueReadBuffer(env->queue, buf, CL_TRUE, 0, n * sizeof(float), m, 0,
                                         NULL, NULL), CL_SUCCESS);
    clReleaseMemObject(buf);
    return m;
}

/* A block statistic's mean over the blocks and its standard error. */
typedef struct estimate {
    double sum, sum2;
    long n;
} estimate;

static void add(estimate *e, double x)
{
    e->sum += x;
    e->sum2 += x * x;
    e->n++;
}

static double mean_of(const estimate *e)
{
    return e->sum / (double)e->n;
}

static double se_of(const estimate *e)
{
    double m = mean_of(e), var = e->sum2 / (double)e->n - m * m;
    return sqrt((var > 0 ? var : 0) / (double)e->n);
}

typedef struct unit_stats {
    estimate mean, square, zero, pair; /* pair: E[m_1j m_2j] */
} unit_stats;

static unit_stats measure(const float *m, uint32_t steps)
{
    unit_stats st;
    memset(&st, 0, sizeof st);
    for (uint32_t t = 0; t < steps; t++)
        for (int j = 0; j < UNITS; j++) {
            double s1 = 0, s2 = 0, zeros = 0;
            for (int b = 0; b < SAMPLES; b++) {
                double x = m[((size_t)t * SAMPLES + (size_t)b) * UNITS + (size_t)j];
                s1 += x;
                s2 += x * x;
                zeros += x == 0;
            }
            add(&st.mean, s1 / SAMPLES);
            add(&st.square, s2 / SAMPLES);
            add(&st.zero, zeros / SAMPLES);
            add(&st.pair, (s1 * s1 - s2) / ((double)SAMPLES * (SAMPLES - 1)));
        }
    return st;
}

/* QSD.md: E[P^2] = p (p c + 1) / (c + 1), or p^2 without c. */
static double p_square(double p, double c)
{
    return c > 0 ? p * (p * c + 1) / (c + 1) : p * p;
}

static void check_within(const unit_setting *s, const char *what, const estimate *e,
                         double want)
{
    double got = mean_of(e), se = se_of(e);
    if (se == 0 && got == want)
        return;
    if (!(fabs(got - want) <= N_SE * se))
        fail_msg("%s: %s = %.6f, expected %.6f +- %.6f (5 SE)", describe(s), what, got, want,
                 N_SE * se);
}

/* E[m] = 1; Var[m] = (1 + v^2)(p + (n-1) E[P^2]) / (n p^2) - 1 (checked as
 * E[m^2] = Var + 1); Pr[m = 0] = B(pc, (1-p)c + n) / B(pc, (1-p)c), or
 * (1-p)^n; two samples of one unit: Cov = (1 + v^2) E[P^2] / p^2 - 1 (as
 * E[m_1 m_2] = Cov + 1). c is the annealed c_t, constant over a block. */
static void check_moments(const unit_setting *s, const float *m, uint32_t step0,
                          uint32_t steps)
{
    unit_stats st = measure(m, steps);
    double p = s->p, n = s->sites, v2 = (double)s->q_cv * s->q_cv;
    double c = s->conc * (1.0 + (double)s->anneal * (step0 + 0.5 * (steps - 1)));
    double pp = p_square(p, c);
    double zero = c > 0 ? exp(lgamma((1 - p) * c + n) + lgamma(c) - lgamma((1 - p) * c) -
                              lgamma(c + n))
                        : pow(1 - p, n);
    print_message("%-36s steps %u-%u: Var %.4f  Pr0 %.4f  Cov %.4f\n", describe(s), step0,
                  step0 + steps - 1, mean_of(&st.square) - 1, mean_of(&st.zero),
                  mean_of(&st.pair) - 1);
    check_within(s, "E[m]", &st.mean, 1.0);
    check_within(s, "E[m^2]", &st.square, (1 + v2) * (p + (n - 1) * pp) / (n * p * p));
    check_within(s, "Pr[m=0]", &st.zero, zero);
    check_within(s, "E[m1 m2] same unit", &st.pair, (1 + v2) * pp / (p * p));
}

static void test_moments(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (i == ANNEALED)
            continue;
        float *m = draw(&settings[i], 11u, 5u, STEPS);
        check_moments(&settings[i], m, 5u, STEPS);
        free(m);
    }
}

/* Annealing: c_t = c (1 + s t) makes release probabilities homogeneous as
 * t grows: c = 4 to 5 over steps 0-1, 4004 to 4011 over 4000-4007 (same
 * unit covariance 0.50 and 0.25), the checks taking the middle c. */
static void test_annealing(void **state)
{
    (void)state;
    const unit_setting *s = &settings[ANNEALED];
    static const uint32_t from[] = {0, 4000}, steps[] = {2, 8};
    for (int i = 0; i < 2; i++) {
        float *m = draw(s, 12u, from[i], steps[i]);
        check_moments(s, m, from[i], steps[i]);
        free(m);
    }
}

/* n = 1, v = 0, no c: inverted dropout, m in {0, 1/p}, Pr[m = 1/p] = p,
 * no correlation within a unit. */
static void test_dropout_exact(void **state)
{
    (void)state;
    const unit_setting *s = &settings[DROPOUT_HALF];
    float *m = draw(s, 13u, 0u, STEPS);
    for (size_t i = 0; i < (size_t)STEPS * SAMPLES * UNITS; i++)
        if (m[i] != 0.0f && m[i] != 1.0f / s->p)
            fail_msg("draw %zu is %.9g, neither 0 nor 1/p", i, (double)m[i]);
    free(m);
}

/* Different units (and steps) are independent: the correlation of the same
 * sample in neighbouring units is 0. */
static void test_units_independent(void **state)
{
    (void)state;
    const unit_setting *s = &settings[1];
    float *m = draw(s, 14u, 0u, STEPS);
    estimate e;
    memset(&e, 0, sizeof e);
    for (size_t t = 0; t < STEPS; t++)
        for (int j = 0; j + 1 < UNITS; j += 2) {
            double prod = 0;
            for (int b = 0; b < SAMPLES; b++) {
                size_t at = (t * SAMPLES + (size_t)b) * UNITS + (size_t)j;
                prod += (double)m[at] * m[at + 1];
            }
            add(&e, prod / SAMPLES);
        }
    check_within(s, "E[m_j m_j+1]", &e, 1.0);
    free(m);
}

/* The device's draws are the host twin's: bit for bit without gamma and
 * beta draws, within a few ulp (the device's exp and sqrt) with them. */
static void test_matches_host(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const unit_setting *s = &settings[i];
        uint32_t step0 = s->anneal > 0 ? 100u : 7u;
        float *m = draw(s, 99u, step0, 1);
        bool exact = s->q_cv == 0.0f && s->conc == 0.0f;
        for (uint32_t g = 0; g < SAMPLES * UNITS; g++) {
            float h = ref_qsd_mask_unit(99u, RNG_ID, step0, g, g % UNITS, s->p, s->sites,
                                        s->q_cv, s->conc, s->anneal);
            bool same = exact ? m[g] == h : fabsf(m[g] - h) <= 1e-5f * fmaxf(1.0f, fabsf(h));
            if (!same)
                fail_msg("%s: group %u: device %.9g, host %.9g", describe(s), g,
                         (double)m[g], (double)h);
        }
        free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moments),
        cmocka_unit_test(test_annealing),
        cmocka_unit_test(test_dropout_exact),
        cmocka_unit_test(test_units_independent),
        cmocka_unit_test(test_matches_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
