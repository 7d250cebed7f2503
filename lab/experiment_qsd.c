/* QSD.md's analytic mask moments, and the QSD settings matched to dropout
 * in silence or in variance. */
#include <math.h>

#include "experiment.h"

static bool heterogeneous(double p, double conc)
{
    return conc > 0 && p < 1;
}

double qsd_mask_variance(const qsdc_qsd_params *q)
{
    double n = q->sites, c = q->p_concentration;
    double rho = heterogeneous(q->p, c) ? (c + n) / (c + 1) : 1.0;
    return (q->q_cv * q->q_cv + (1 - q->p) * rho) / (n * q->p);
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

int qsd_match_silence(double p0, int sites, double q_cv, double conc, double *p)
{
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
    qsdc_qsd_params q = {.sites = sites, .q_cv = q_cv, .p_concentration = conc};
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

int qsd_match_variance(double p0, int sites, double q_cv, double conc, double *p)
{
    if (!(p0 > 0 && p0 <= 1) || sites < 1)
        return -1;
    /* (v^2 + (1 - p) rho) / (n p) = (1 - p0) / p0, rho not depending on p */
    double rho = conc > 0 ? (conc + sites) / (conc + 1) : 1.0;
    double r = (1 - p0) / p0, v2 = q_cv * q_cv;
    double x = (v2 + rho) / (rho + sites * r);
    if (!(x > 0 && x <= 1))
        return -1;
    *p = x;
    return 0;
}
