#include "stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const double stats_quantile_levels[STATS_N_QUANTILES] = {0.01, 0.05, 0.25, 0.5,
                                                         0.75, 0.95, 0.99};

void hist_init(histogram *h, double lo, double hi, int bins)
{
    memset(h, 0, sizeof *h);
    if (bins < 1)
        bins = 1;
    if (bins > STATS_MAX_BINS)
        bins = STATS_MAX_BINS;
    if (!(hi > lo))
        hi = lo + 1.0; /* a constant sample still gets a bin of width 1 */
    h->lo = lo;
    h->hi = hi;
    h->bins = bins;
}

void hist_add(histogram *h, double x)
{
    if (!(x >= h->lo && x <= h->hi)) {
        h->outside++;
        return;
    }
    int b = (int)((x - h->lo) / (h->hi - h->lo) * h->bins);
    h->counts[b < h->bins ? b : h->bins - 1]++;
}

int64_t hist_total(const histogram *h)
{
    int64_t n = 0;
    for (int i = 0; i < h->bins; i++)
        n += h->counts[i];
    return n;
}

void hist_rebin(const histogram *src, double lo, double hi, int bins, double *acc)
{
    double sw = (src->hi - src->lo) / src->bins, dw = (hi - lo) / bins;
    for (int i = 0; i < src->bins; i++) {
        if (src->counts[i] == 0)
            continue;
        double a = src->lo + i * sw, b = a + sw;
        double first = floor((a - lo) / dw), last = floor((b - lo) / dw);
        if (last < 0 || first >= bins)
            continue;
        for (int j = first < 0 ? 0 : (int)first; j <= last && j < bins; j++) {
            double l = lo + j * dw, r = l + dw;
            double overlap = fmin(b, r) - fmax(a, l);
            if (overlap > 0)
                acc[j] += (double)src->counts[i] * overlap / sw;
        }
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void stats_sort(float *x, int64_t n)
{
    if (n > 1)
        qsort(x, (size_t)n, sizeof *x, cmp_float);
}

double stats_quantile_sorted(const float *sorted, int64_t n, double q)
{
    double h = (double)(n - 1) * q;
    int64_t i = (int64_t)floor(h);
    if (i >= n - 1)
        return sorted[n - 1];
    double f = h - (double)i;
    return (double)sorted[i] + f * ((double)sorted[i + 1] - (double)sorted[i]);
}

void stats_summarise(float *x, int64_t n, summary *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    if (n < 1)
        return;
    stats_sort(x, n);
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += x[i];
    out->mean = sum / (double)n;
    double ss = 0;
    for (int64_t i = 0; i < n; i++)
        ss += ((double)x[i] - out->mean) * ((double)x[i] - out->mean);
    out->sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    out->min = x[0];
    out->max = x[n - 1];
    for (int k = 0; k < STATS_N_QUANTILES; k++)
        out->q[k] = stats_quantile_sorted(x, n, stats_quantile_levels[k]);
}

void stats_mean_sd(const double *x, int n, double *mean, double *sd)
{
    double sum = 0, ss = 0;
    for (int i = 0; i < n; i++)
        sum += x[i];
    double m = n > 0 ? sum / n : 0;
    for (int i = 0; i < n; i++)
        ss += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
}

double stats_zero_fraction(const float *a, int64_t n)
{
    int64_t z = 0;
    for (int64_t i = 0; i < n; i++)
        z += a[i] == 0.0f;
    return n > 0 ? (double)z / (double)n : 0.0;
}

bool stats_hoyer(const float *a, int64_t n, double *out)
{
    double l1 = 0, l2 = 0;
    for (int64_t i = 0; i < n; i++) {
        l1 += fabs((double)a[i]);
        l2 += (double)a[i] * (double)a[i];
    }
    if (n < 2 || l2 == 0)
        return false;
    double rn = sqrt((double)n);
    *out = (rn - l1 / sqrt(l2)) / (rn - 1.0);
    return true;
}

/* The continued fraction of I_x(a, b) (modified Lentz), converging fast
 * for x < (a + 1) / (a + b + 2). */
static double incbeta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    d = 1.0 / (fabs(d) < tiny ? tiny : d);
    double f = d;
    for (int m = 1; m <= 10000; m++) {
        for (int odd = 0; odd < 2; odd++) {
            double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1.0 + num * d;
            d = 1.0 / (fabs(d) < tiny ? tiny : d);
            c = 1.0 + num / c;
            if (fabs(c) < tiny)
                c = tiny;
            f *= c * d;
            if (odd && fabs(c * d - 1.0) < 4 * DBL_EPSILON)
                return f;
        }
    }
    return f;
}

double stats_incbeta(double a, double b, double x)
{
    if (x <= 0)
        return 0.0;
    if (x >= 1)
        return 1.0;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1.0) / (a + b + 2.0))
        return front * incbeta_cf(a, b, x) / a;
    return 1.0 - front * incbeta_cf(b, a, 1.0 - x) / b;
}

double stats_t_cdf(double t, double df)
{
    if (isinf(t))
        return t > 0 ? 1.0 : 0.0;
    /* the tail beyond |t| is I_x(df/2, 1/2) / 2 with x = df / (df + t^2) */
    double tail = 0.5 * stats_incbeta(0.5 * df, 0.5, df / (df + t * t));
    return t >= 0 ? 1.0 - tail : tail;
}

double stats_t_quantile(double p, double df)
{
    if (p < 0.5)
        return -stats_t_quantile(1.0 - p, df);
    if (p == 0.5)
        return 0.0;
    double lo = 0.0, hi = 1.0;
    while (stats_t_cdf(hi, df) < p && hi < 1e300)
        hi *= 2.0;
    /* bisection: the CDF is monotone, and 200 halvings reach adjacent doubles */
    for (int i = 0; i < 200 && hi - lo > 4 * DBL_EPSILON * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (stats_t_cdf(mid, df) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

int stats_paired_t(const double *x, const double *y, int n, paired_test *out)
{
    if (n < 2)
        return -1;
    double *d = malloc((size_t)n * sizeof *d);
    if (!d)
        return -1;
    double scale = 0;
    for (int i = 0; i < n; i++) {
        d[i] = x[i] - y[i];
        scale = fmax(scale, fmax(fabs(x[i]), fabs(y[i])));
    }
    paired_test r = {.n = n, .df = n - 1};
    stats_mean_sd(d, n, &r.mean, &r.sd);
    free(d);
    /* differences equal but for the rounding of the subtraction (89.61 -
       89.94 against 89.60 - 89.93) have no spread */
    if (r.sd <= 64 * DBL_EPSILON * scale)
        r.sd = 0;
    r.se = r.sd / sqrt((double)n);
    if (r.se > 0) {
        double half = stats_t_quantile(0.975, r.df) * r.se;
        r.lo = r.mean - half;
        r.hi = r.mean + half;
        r.t = r.mean / r.se;
        r.p = 2.0 * stats_t_cdf(-fabs(r.t), r.df);
    } else {
        r.lo = r.hi = r.t = r.p = NAN;
    }
    *out = r;
    return 0;
}
