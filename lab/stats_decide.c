/* Decisions over a family of pre-stated paired contrasts: Holm's
 * correction of their p-values, and the two one-sided tests that make "no
 * difference" a statement of equivalence within a margin. */
#include <math.h>
#include <stdlib.h>

#include "stats.h"

void stats_holm(const double *p, int m, double *adj)
{
    /* insertion sort of the indices: families are a handful of contrasts */
    int *order = malloc((size_t)(m > 0 ? m : 1) * sizeof *order);
    if (!order) {
        for (int i = 0; i < m; i++)
            adj[i] = NAN;
        return;
    }
    for (int i = 0; i < m; i++) {
        int j = i;
        double pi = isnan(p[i]) ? 1 : p[i];
        for (; j > 0 && (isnan(p[order[j - 1]]) ? 1 : p[order[j - 1]]) > pi; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    double running = 0;
    for (int r = 0; r < m; r++) {
        int i = order[r];
        double scaled = (m - r) * (isnan(p[i]) ? 1 : p[i]);
        running = fmax(running, fmin(1, scaled));
        adj[i] = isnan(p[i]) ? NAN : running;
    }
    free(order);
}

void stats_tost(const paired_test *t, double margin, double alpha, tost_test *out)
{
    tost_test r = {.margin = margin};
    if (t->se > 0) {
        r.t_lower = (t->mean + margin) / t->se;
        r.t_upper = (t->mean - margin) / t->se;
        double p_lower = stats_t_cdf(-r.t_lower, t->df);
        double p_upper = stats_t_cdf(r.t_upper, t->df);
        r.p = fmax(p_lower, p_upper);
        double half = stats_t_quantile(1 - alpha, t->df) * t->se;
        r.lo = t->mean - half;
        r.hi = t->mean + half;
    } else {
        r.t_lower = r.t_upper = r.p = r.lo = r.hi = NAN;
    }
    *out = r;
}
