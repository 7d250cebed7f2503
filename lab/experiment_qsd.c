/* QSD.md's analytic mask moments, and the QSD settings matched to dropout
 * in silence or in variance. */
#include <math.h>

#include "experiment.h"

static bool heterogeneous(double p, double conc)
{
    return conc > 0 && p < 1;
}

/* E[P^2] of a release probability: p (p c + 1) / (c + 1), or p^2 */
static double p_square(double p, double c)
{
    return heterogeneous(p, c) ? p * (p * c + 1) / (c + 1) : p * p;
}

double qsd_mask_variance(const qsdc_qsd_params *q)
{
    double n = q->sites, c = q->p_concentration, p = q->p, v2 = q->q_cv * q->q_cv;
    if (q->hetero == QSDC_HETERO_UNIT)
        return (1 + v2) * (p + (n - 1) * p_square(p, c)) / (n * p * p) - 1;
    double rho = heterogeneous(p, c) ? (c + n) / (c + 1) : 1.0;
    return (v2 + (1 - p) * rho) / (n * p);
}

static double log_beta(double a, double b)
{
    return lgamma(a) + lgamma(b) - lgamma(a + b);
}

double qsd_mask_pr_zero(const qsdc_qsd_params *q)
{
    double p = q->p, c = q->p_concentration;
    if (!heterogeneous(p, c))
        return pow(1 - p, q->sites);
    /* E[(1 - P)^n] for P ~ Beta(p c, (1 - p) c) */
    return exp(log_beta(p * c, (1 - p) * c + q->sites) - log_beta(p * c, (1 - p) * c));
}

int qsd_match_silence(double p0, const qsdc_qsd_params *shape, double *p)
{
    int sites = shape->sites;
    double conc = shape->p_concentration;
    if (!(p0 > 0 && p0 <= 1) || sites < 1)
        return -1;
    if (p0 == 1) {
        *p = 1;
        return 0;
    }
    if (!(conc > 0)) {
        *p = 1 - pow(1 - p0, 1.0 / sites);
        return 0;
    }
    /* Pr[m = 0] falls from 1 (p -> 0) to 0 (p -> 1): bisect for 1 - p0 */
    qsdc_qsd_params q = *shape;
    double lo = 0, hi = 1;
    for (int i = 0; i < 200 && hi - lo > 1e-15; i++) {
        q.p = 0.5 * (lo + hi);
        if (qsd_mask_pr_zero(&q) > 1 - p0)
            lo = q.p;
        else
            hi = q.p;
    }
    *p = 0.5 * (lo + hi);
    return 0;
}

int qsd_match_variance(double p0, const qsdc_qsd_params *shape, double *p)
{
    int sites = shape->sites;
    double conc = shape->p_concentration, v2 = shape->q_cv * shape->q_cv;
    if (!(p0 > 0 && p0 <= 1) || sites < 1)
        return -1;
    double r = (1 - p0) / p0, x;
    if (shape->hetero == QSDC_HETERO_UNIT) {
        /* Var + 1 = (1 + v^2) (1 + k (p c + 1)) / (n p) = 1 / p0 with
         * k = (n - 1) / (c + 1), or (1 + v^2) (1 / p + n - 1) / n without c */
        double u = 1 + v2;
        if (conc > 0) {
            double k = (sites - 1) / (conc + 1);
            x = u * (1 + k) / (sites / p0 - u * k * conc);
        } else {
            x = 1 / (sites / (p0 * u) - (sites - 1));
        }
    } else {
        /* (v^2 + (1 - p) rho) / (n p) = (1 - p0) / p0, rho not depending on p */
        double rho = conc > 0 ? (conc + sites) / (conc + 1) : 1.0;
        x = (v2 + rho) / (rho + sites * r);
    }
    if (!(x > 0 && x <= 1))
        return -1;
    *p = x;
    return 0;
}
