/* Statistics for experiments: descriptive summaries, histograms, the
 * sparsity of activation vectors, Student's t distribution, the paired
 * t-test, and the decisions over pre-stated contrasts: Holm's correction
 * and equivalence tests (stats_decide.c). Plain C, no device. */
#ifndef QSDC_STATS_H
#define QSDC_STATS_H

#include <stdbool.h>
#include <stdint.h>

#define STATS_N_QUANTILES 7
/* 1, 5, 25, 50, 75, 95 and 99%. */
extern const double stats_quantile_levels[STATS_N_QUANTILES];

#define STATS_MAX_BINS 100

/* Counts of values in [lo, hi) split into bins equal parts (the last bin
 * closed); values outside [lo, hi] are counted in outside. */
typedef struct histogram {
    double lo, hi;
    int bins;
    int64_t counts[STATS_MAX_BINS];
    int64_t outside;
} histogram;

void hist_init(histogram *h, double lo, double hi, int bins);
void hist_add(histogram *h, double x);
int64_t hist_total(const histogram *h);
/* Adds src's counts to acc[0..bins), the bins of [lo, hi), spreading each
 * source bin uniformly over the bins it overlaps (counts outside [lo, hi]
 * are dropped): to pool histograms whose ranges differ. */
void hist_rebin(const histogram *src, double lo, double hi, int bins, double *acc);

/* Summary of n values (n >= 1): mean, sample standard deviation (0 when
 * n = 1), extremes and the quantiles above. */
typedef struct summary {
    int64_t n;
    double mean, sd, min, max;
    double q[STATS_N_QUANTILES];
} summary;

/* Sorts x in place, ascending. */
void stats_sort(float *x, int64_t n);
/* Sorts x in place, then summarises it. */
void stats_summarise(float *x, int64_t n, summary *out);
/* Mean and sample standard deviation of n doubles (sd 0 when n < 2). */
void stats_mean_sd(const double *x, int n, double *mean, double *sd);
/* Quantile q in [0, 1] of n >= 1 sorted values, linear between order
 * statistics (Hyndman and Fan's type 7, R's default). */
double stats_quantile_sorted(const float *sorted, int64_t n, double q);

/* Fraction of the n values that are exactly zero. */
double stats_zero_fraction(const float *a, int64_t n);
/* Hoyer sparsity (sqrt(n) - |a|_1 / |a|_2) / (sqrt(n) - 1): 0 for a
 * constant vector, 1 for a single non-zero. false (and *out untouched)
 * where it is undefined: n < 2 or every value zero. */
bool stats_hoyer(const float *a, int64_t n, double *out);

/* The regularised incomplete beta function I_x(a, b), a, b > 0, x in
 * [0, 1]. */
double stats_incbeta(double a, double b, double x);
/* Student's t distribution with df > 0 degrees of freedom: CDF, and the
 * quantile for p in (0, 1). */
double stats_t_cdf(double t, double df);
double stats_t_quantile(double p, double df);

/* Paired t-test of x[i] - y[i] over n pairs (n >= 2): mean difference, its
 * standard deviation and error, t, df = n - 1, two-sided p, and the 95%
 * interval of the mean difference. When every difference is equal (to the
 * rounding of the subtraction) the spread is 0 and the test undetermined:
 * t, p and the interval are NaN. Equal differences say nothing of how they
 * vary: two seeds that happen to differ alike are no evidence. */
typedef struct paired_test {
    int n;
    double mean, sd, se, t, df, p, lo, hi;
} paired_test;

/* Returns -1 (and leaves *out alone) when n < 2. */
int stats_paired_t(const double *x, const double *y, int n, paired_test *out);

/* Holm's step-down adjustment of m p-values for the family-wise error
 * rate: sorted ascending, adj_(i) = max over j <= i of min(1, (m - j + 1)
 * p_(j)) (R's p.adjust(p, "holm")). A NaN p (a test that could not be
 * made) counts in m as p = 1 and is adjusted to NaN. */
void stats_holm(const double *p, int m, double *adj);

/* Two one-sided tests (TOST) of a paired difference against the
 * equivalence margin > 0: H0 mean <= -margin, by t = (mean + margin) / se,
 * and H0 mean >= margin, by t = (mean - margin) / se, each on t's df. p is
 * the larger one-sided p: below alpha, the difference lies within
 * ±margin at level alpha; lo and hi are the 1 - 2 alpha interval of the
 * mean (90% for alpha 0.05), inside ±margin exactly when p < alpha. NaN
 * where the paired test is undetermined (zero spread). */
typedef struct tost_test {
    double margin, t_lower, t_upper, p, lo, hi;
} tost_test;

void stats_tost(const paired_test *t, double margin, double alpha, tost_test *out);

#endif
