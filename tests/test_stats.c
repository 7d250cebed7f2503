/* lab/stats.c against values known independently: closed forms, sums
 * worked here, and published tables.
 *
 * Tolerances: 1e-12 where the reference is exact arithmetic on a few
 * numbers (a handful of roundings of order 1e-16); half a unit of the last
 * printed digit for tabulated values (t quantiles to 6 decimals: 5e-7; R's
 * printed t-test results to their digits). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "stats.h"

#define EXACT 1e-12

static void test_zero_fraction(void **state)
{
    (void)state;
    const float a[] = {0, 1, 0, -2, 0};
    assert_true(fabs(stats_zero_fraction(a, 5) - 0.6) < EXACT);
    const float b[] = {1, 2};
    assert_true(stats_zero_fraction(b, 2) == 0);
}

static void test_hoyer(void **state)
{
    (void)state;
    double h;
    const float one_hot[8] = {0, 0, 0, 5, 0, 0, 0, 0};
    assert_true(stats_hoyer(one_hot, 8, &h));
    assert_true(fabs(h - 1) < EXACT);
    const float flat[4] = {3, 3, 3, 3};
    assert_true(stats_hoyer(flat, 4, &h));
    assert_true(fabs(h) < EXACT);
    /* |a|_1 / |a|_2 = 2 / sqrt(2): (2 - sqrt 2) / (2 - 1) */
    const float half[4] = {1, 1, 0, 0}, signs[4] = {-1, 0, 1, 0};
    assert_true(stats_hoyer(half, 4, &h));
    assert_true(fabs(h - (2 - sqrt(2))) < EXACT);
    assert_true(stats_hoyer(signs, 4, &h));
    assert_true(fabs(h - (2 - sqrt(2))) < EXACT);
    /* undefined: all zero, or a single unit */
    const float zeros[3] = {0, 0, 0};
    h = -7;
    assert_false(stats_hoyer(zeros, 3, &h));
    assert_false(stats_hoyer(half, 1, &h));
    assert_true(h == -7);
}

/* R: quantile(1:10, c(.01, .05, .25, .5, .75, .95, .99)) (type 7). */
static void test_summary_quantiles(void **state)
{
    (void)state;
    float x[10] = {7, 3, 10, 1, 5, 9, 2, 8, 4, 6};
    const double want[STATS_N_QUANTILES] = {1.09, 1.45, 3.25, 5.5, 7.75, 9.55, 9.91};
    summary s;
    stats_summarise(x, 10, &s);
    assert_int_equal(s.n, 10);
    assert_true(fabs(s.mean - 5.5) < EXACT);
    assert_true(fabs(s.sd - sqrt(55.0 / 6.0)) < EXACT); /* var of 1..10 = 9.1667 */
    assert_true(s.min == 1 && s.max == 10);
    for (int i = 0; i < STATS_N_QUANTILES; i++)
        assert_true(fabs(s.q[i] - want[i]) < EXACT);
    float one = 4;
    stats_summarise(&one, 1, &s);
    assert_true(s.sd == 0 && s.q[0] == 4 && s.q[6] == 4);
}

static void test_histogram(void **state)
{
    (void)state;
    histogram h;
    hist_init(&h, 0, 1, 4);
    const double v[] = {0, 0.24, 0.25, 0.99, 1, -0.1, 1.5};
    for (int i = 0; i < 7; i++)
        hist_add(&h, v[i]);
    assert_int_equal(h.counts[0], 2);
    assert_int_equal(h.counts[1], 1);
    assert_int_equal(h.counts[2], 0);
    assert_int_equal(h.counts[3], 2); /* 0.99 and the closed end 1 */
    assert_int_equal(h.outside, 2);
    assert_int_equal(hist_total(&h), 5);
    /* onto the same bins: the same counts */
    double same[4] = {0};
    hist_rebin(&h, 0, 1, 4, same);
    for (int i = 0; i < 4; i++)
        assert_true(fabs(same[i] - (double)h.counts[i]) < EXACT);
    /* onto a wider range: the total kept, each bin spread by overlap */
    double wide[6] = {0};
    hist_rebin(&h, -0.5, 1, 6, wide); /* bins 0.25 wide, offset by two */
    double total = 0;
    for (int i = 0; i < 6; i++)
        total += wide[i];
    assert_true(fabs(total - 5) < EXACT);
    assert_true(fabs(wide[2] - 2) < EXACT && fabs(wide[5] - 2) < EXACT);
    /* onto half-width bins: each count split in two */
    double fine[8] = {0};
    hist_rebin(&h, 0, 1, 8, fine);
    assert_true(fabs(fine[0] - 1) < EXACT && fabs(fine[1] - 1) < EXACT);
}

static double binom(int n, int k)
{
    double c = 1;
    for (int i = 1; i <= k; i++)
        c = c * (n - k + i) / i;
    return c;
}

/* I_x(a, b) for integers: P(Binomial(a + b - 1, x) >= a). */
static void test_incbeta(void **state)
{
    (void)state;
    const double xs[] = {0.01, 0.2, 0.4, 0.5, 0.77, 0.99};
    for (int a = 1; a <= 6; a++)
        for (int b = 1; b <= 6; b++)
            for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
                double x = xs[i], want = 0;
                int n = a + b - 1;
                for (int j = a; j <= n; j++)
                    want += binom(n, j) * pow(x, j) * pow(1 - x, n - j);
                double got = stats_incbeta(a, b, x);
                if (fabs(got - want) > EXACT)
                    fail_msg("I_%g(%d, %d) = %.15g, want %.15g", x, a, b, got, want);
            }
    /* symmetric shapes at 1/2, and the ends */
    assert_true(fabs(stats_incbeta(2.5, 2.5, 0.5) - 0.5) < EXACT);
    assert_true(fabs(stats_incbeta(0.3, 0.3, 0.5) - 0.5) < EXACT);
    assert_true(stats_incbeta(2, 3, 0) == 0 && stats_incbeta(2, 3, 1) == 1);
}

/* df 1 (Cauchy) and df 2 have closed forms. */
static void test_t_cdf(void **state)
{
    (void)state;
    const double ts[] = {-30, -2.5, -1, 0, 0.3, 1, 4, 100};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        double t = ts[i];
        assert_true(fabs(stats_t_cdf(t, 1) - (0.5 + atan(t) / M_PI)) < EXACT);
        assert_true(fabs(stats_t_cdf(t, 2) - (0.5 + t / (2 * sqrt(2 + t * t)))) < EXACT);
    }
    assert_true(stats_t_cdf(HUGE_VAL, 3) == 1 && stats_t_cdf(-HUGE_VAL, 3) == 0);
}

/* Student's t table (two-sided 95%, and a few more), 6 decimals. */
static void test_t_quantile(void **state)
{
    (void)state;
    static const struct {
        double p, df, t;
    } table[] = {
        {0.975, 1, 12.706205}, {0.975, 2, 4.302653}, {0.975, 3, 3.182446},
        {0.975, 4, 2.776445},  {0.975, 5, 2.570582}, {0.975, 9, 2.262157},
        {0.975, 10, 2.228139}, {0.975, 30, 2.042272}, {0.995, 4, 4.604095},
        {0.95, 10, 1.812461},  {0.025, 4, -2.776445},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        double got = stats_t_quantile(table[i].p, table[i].df);
        if (fabs(got - table[i].t) > 5e-7)
            fail_msg("t(%g, df %g) = %.8f, want %.6f", table[i].p, table[i].df, got,
                     table[i].t);
    }
    /* many degrees of freedom: the normal's 1.959964, plus (z^3 + z) / (4 df) */
    assert_true(fabs(stats_t_quantile(0.975, 1e6) - 1.959964) < 1e-5);
    /* the quantile inverts the CDF, fractional df included */
    const double ps[] = {0.6, 0.9, 0.999};
    for (size_t i = 0; i < 3; i++)
        assert_true(fabs(stats_t_cdf(stats_t_quantile(ps[i], 2.5), 2.5) - ps[i]) < EXACT);
    assert_true(stats_t_quantile(0.5, 7) == 0);
}

/* Student's sleep data (R: t.test(extra ~ group, data = sleep, paired =
 * TRUE)), second group minus first: t = 4.0621, df = 9, p-value =
 * 0.002833, 95% interval 0.7001142 to 2.4598858, mean difference 1.58. */
static void test_paired_t(void **state)
{
    (void)state;
    const double g1[] = {0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0};
    const double g2[] = {1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4};
    paired_test t;
    assert_int_equal(stats_paired_t(g2, g1, 10, &t), 0);
    assert_int_equal(t.n, 10);
    assert_true(fabs(t.mean - 1.58) < EXACT);
    assert_true(fabs(t.t - 4.0621) < 5e-5);
    assert_true(t.df == 9);
    assert_true(fabs(t.p - 0.002833) < 5e-7);
    assert_true(fabs(t.lo - 0.7001142) < 5e-8);
    assert_true(fabs(t.hi - 2.4598858) < 5e-8);
    /* swapped: the same test, mirrored */
    paired_test u;
    assert_int_equal(stats_paired_t(g1, g2, 10, &u), 0);
    assert_true(fabs(u.t + t.t) < EXACT && fabs(u.p - t.p) < EXACT);
    const double a[] = {1, 2, 3}, b[] = {0, 1, 2};
    assert_int_equal(stats_paired_t(a, b, 1, &u), -1);
}

/* Differences without spread are no evidence either way: the test is
 * undetermined (t, p and the interval NaN), never p = 0 from t = inf. */
static void test_paired_t_zero_spread(void **state)
{
    (void)state;
    paired_test u;
    /* a constant non-zero difference */
    const double a[] = {1, 2, 3}, b[] = {0, 1, 2};
    assert_int_equal(stats_paired_t(a, b, 3, &u), 0);
    assert_true(u.mean == 1 && u.sd == 0 && u.df == 2);
    assert_true(isnan(u.t) && isnan(u.p) && isnan(u.lo) && isnan(u.hi));
    /* equal differences of accuracies, unequal only by rounding */
    const double qsd[] = {89.60, 89.61}, none[] = {89.93, 89.94};
    assert_int_equal(stats_paired_t(qsd, none, 2, &u), 0);
    assert_true(fabs(u.mean + 0.33) < 1e-12 && u.sd == 0);
    assert_true(isnan(u.t) && isnan(u.p));
    /* no difference at all */
    assert_int_equal(stats_paired_t(a, a, 3, &u), 0);
    assert_true(u.mean == 0 && isnan(u.t) && isnan(u.p));
    /* a spread just above the rounding is a test again */
    const double c[] = {1, 2, 3.001};
    assert_int_equal(stats_paired_t(c, b, 3, &u), 0);
    assert_true(isfinite(u.t) && u.p > 0 && u.p < 0.001 && u.lo < u.mean && u.hi > u.mean);
}

/* Holm's step-down on a worked family (R: p.adjust(c(.01, .04, .03, .005),
 * "holm") = .03 .06 .06 .02): sorted .005 .01 .03 .04 times 4 3 2 1 are
 * .02 .03 .06 .04, and the last is raised to .06 to keep the order. */
static void test_holm(void **state)
{
    (void)state;
    const double p[] = {0.01, 0.04, 0.03, 0.005}, want[] = {0.03, 0.06, 0.06, 0.02};
    double adj[4];
    stats_holm(p, 4, adj);
    for (int i = 0; i < 4; i++)
        if (fabs(adj[i] - want[i]) > EXACT)
            fail_msg("Holm of p[%d] = %g is %.15g, want %g", i, p[i], adj[i], want[i]);
    /* capped at 1; one test alone is its own p */
    const double big[] = {0.6, 0.7};
    stats_holm(big, 2, adj);
    assert_true(adj[0] == 1 && adj[1] == 1);
    stats_holm(p, 1, adj);
    assert_true(adj[0] == 0.01);
    /* an undetermined test counts in the family, as p = 1, and stays NaN */
    const double with_nan[] = {0.02, NAN};
    stats_holm(with_nan, 2, adj);
    assert_true(fabs(adj[0] - 0.04) < EXACT && isnan(adj[1]));
}

/* TOST on the sleep data (mean 1.58, se 0.388972, df 9). The references
 * are Student's t in closed form for integer df (A&S 26.7.4, as
 * tests/report_oracle.py computes it): margin 2.5: t = 6.4315 and -2.3652,
 * p = max(1.2002e-06, 0.0211169) = 0.0211169; margin 3: p = 0.00265557. */
static void test_tost(void **state)
{
    (void)state;
    const double g1[] = {0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0};
    const double g2[] = {1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4};
    paired_test t;
    assert_int_equal(stats_paired_t(g2, g1, 10, &t), 0);
    tost_test e;
    stats_tost(&t, 2.5, 0.05, &e);
    assert_true(fabs(e.p - 0.021116860246500724) < 1e-9);
    assert_true(fabs(e.t_upper - (1.58 - 2.5) / t.se) < EXACT);
    assert_true(fabs(e.t_lower - (1.58 + 2.5) / t.se) < EXACT);
    /* the 90% interval: 1.58 -+ t(0.95, 9) = 1.833113 times se */
    assert_true(fabs(e.lo - (1.58 - 1.833113 * t.se)) < 5e-7);
    assert_true(fabs(e.hi - (1.58 + 1.833113 * t.se)) < 5e-7);
    assert_true(e.hi < 2.5 && e.p < 0.05);
    stats_tost(&t, 3, 0.05, &e);
    assert_true(fabs(e.p - 0.0026555702926586155) < 1e-10);
    /* a margin inside the interval: not equivalent */
    stats_tost(&t, 2, 0.05, &e);
    assert_true(e.p > 0.05 && e.hi > 2);
    /* mirrored: the same p */
    paired_test u;
    assert_int_equal(stats_paired_t(g1, g2, 10, &u), 0);
    stats_tost(&u, 2.5, 0.05, &e);
    assert_true(fabs(e.p - 0.021116860246500724) < 1e-9);
    /* zero spread: undetermined */
    const double a[] = {1, 2, 3}, b[] = {0, 1, 2};
    assert_int_equal(stats_paired_t(a, b, 3, &u), 0);
    stats_tost(&u, 5, 0.05, &e);
    assert_true(isnan(e.p) && isnan(e.lo));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_fraction),   cmocka_unit_test(test_hoyer),
        cmocka_unit_test(test_summary_quantiles), cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_incbeta),         cmocka_unit_test(test_t_cdf),
        cmocka_unit_test(test_t_quantile),      cmocka_unit_test(test_paired_t),
        cmocka_unit_test(test_paired_t_zero_spread),
        cmocka_unit_test(test_holm),            cmocka_unit_test(test_tost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
