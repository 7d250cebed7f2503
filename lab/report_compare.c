/* The report's numbers per setting and its paired comparisons by seed:
 * mean ± sd over seeds, the difference a − b with its interval and t-test,
 * and the sentence saying which way it fell, the right way round for a
 * metric where lower is better (perplexity). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_escape.h"

double report_measure(const run_result *r, rep_measure k, const char *layer)
{
    if (k == MEASURE_SCORE)
        return r->test;
    for (int i = 0; i < r->n_activity; i++)
        if (!strcmp(r->activity[i].layer, layer))
            return k == MEASURE_ZERO ? r->activity[i].zero_mean : r->activity[i].hoyer_mean;
    return NAN;
}

void report_setting_stats(const rep_setting *s, rep_measure k, const char *layer,
                          double *mean, double *sd, int *n)
{
    double *v = malloc((size_t)s->n * sizeof *v);
    *n = 0;
    for (int i = 0; v && i < s->n; i++) {
        double x = report_measure(s->runs[i], k, layer);
        if (isfinite(x))
            v[(*n)++] = x;
    }
    if (v)
        stats_mean_sd(v, *n, mean, sd);
    free(v);
}

void report_put_mean_sd(strbuf *sb, double mean, double sd, int n, int digits)
{
    if (n == 0)
        sb_append(sb, "n/a");
    else if (n == 1)
        sb_printf(sb, "%.*f", digits, mean);
    else
        sb_printf(sb, "%.*f ± %.*f", digits, mean, digits, sd);
}

int report_pair(const rep_setting *a, const rep_setting *b, rep_measure k, const char *layer,
                paired_test *t)
{
    int n = a->n < b->n ? a->n : b->n, m = 0;
    double *x = malloc((size_t)(n + 1) * sizeof *x), *y = malloc((size_t)(n + 1) * sizeof *y);
    for (int i = 0; x && y && i < a->n; i++)
        for (int j = 0; j < b->n; j++)
            if (a->runs[i]->seed == b->runs[j]->seed) {
                double u = report_measure(a->runs[i], k, layer);
                double v = report_measure(b->runs[j], k, layer);
                if (isfinite(u) && isfinite(v)) {
                    x[m] = u;
                    y[m++] = v;
                }
            }
    int rc = x && y ? stats_paired_t(x, y, m, t) : -1;
    if (rc < 0) {
        memset(t, 0, sizeof *t);
        t->n = m;
    }
    free(x);
    free(y);
    return rc;
}

/* 5 decimals where 3 would print 0.050 and hide on which side of the 0.05
 * that the verdicts use it lies. */
void report_put_p(strbuf *sb, double p)
{
    if (isnan(p))
        sb_append(sb, "n/a");
    else if (p < 0.001)
        sb_append(sb, "< 0.001");
    else
        sb_printf(sb, fabs(p - 0.05) < 0.0005 ? "%.5f" : "%.3f", p);
}

/* A bound that would round to 0 without being 0 gets two significant
 * digits, so that an interval that only just excludes 0 does not read as
 * touching it. */
void report_put_interval(strbuf *sb, double lo, double hi, int digits)
{
    if (isnan(lo)) {
        sb_append(sb, "n/a");
        return;
    }
    double bound[2] = {lo, hi};
    for (int i = 0; i < 2; i++) {
        double x = bound[i];
        if (x != 0 && fabs(x) < 0.5 * pow(10, -digits))
            sb_printf(sb, "%+.2g", x);
        else
            sb_printf(sb, "%+.*f", digits, x);
        if (i == 0)
            sb_append(sb, " to ");
    }
}

void report_put_t(strbuf *sb, double t)
{
    if (isnan(t))
        sb_append(sb, "n/a");
    else
        sb_printf(sb, "%.2f", t);
}

/* How a measure reads in a sentence: its name, unit and digits. */
typedef struct measure_words {
    const char *what, *unit;
    int digits;
} measure_words;

static measure_words words_for(rep_measure k, result_metric metric)
{
    if (k == MEASURE_ZERO)
        return (measure_words){"zero fraction", "", 4};
    if (k == MEASURE_HOYER)
        return (measure_words){"Hoyer sparsity", "", 4};
    if (metric == RESULT_PERPLEXITY)
        return (measure_words){"test perplexity", "", 2};
    return (measure_words){"test accuracy", " points", 2};
}

int report_digits(rep_measure k, result_metric metric)
{
    return words_for(k, metric).digits;
}

/* What a significant difference a − b > 0 (up) or < 0 says a did. */
static const char *verb_for(rep_measure k, result_metric metric, bool up)
{
    if (k == MEASURE_HOYER)
        return up ? "gave sparser activity than" : "gave denser activity than";
    if (k == MEASURE_ZERO)
        return up ? "silenced more units than" : "silenced fewer units than";
    /* perplexity: the lower is the better model */
    return up != (metric == RESULT_PERPLEXITY) ? "beat" : "did worse than";
}

void report_verdict(strbuf *sb, const rep_comparison *c, const paired_test *t)
{
    measure_words w = words_for(c->measure, c->metric);
    char where[REPORT_MD_MAX + 8] = "";
    if (c->layer)
        snprintf(where, sizeof where, " in %s", c->layer);
    if (isnan(t->p)) {
        sb_printf(sb, "- **Undetermined** between %s and %s%s on %s: %s differs by %+.*f%s "
                      "on each of the %d seeds; the differences have zero spread, so the "
                      "paired t-test is undefined.\n",
                  c->a, c->b, where, c->task, w.what, w.digits, t->mean, w.unit, t->n);
        return;
    }
    if (t->p < 0.05 && t->mean != 0)
        sb_printf(sb, "- **%s %s %s**%s on %s: %s %s by %.*f%s (95%% interval ", c->a,
                  verb_for(c->measure, c->metric, t->mean > 0), c->b, where, c->task, w.what,
                  t->mean > 0 ? "higher" : "lower", w.digits, fabs(t->mean), w.unit);
    else
        sb_printf(sb, "- **No significant difference** between %s and %s%s on %s: %s "
                      "differs by %+.*f%s (95%% interval ",
                  c->a, c->b, where, c->task, w.what, w.digits, t->mean, w.unit);
    report_put_interval(sb, t->lo, t->hi, w.digits);
    sb_append(sb, ", paired t = ");
    report_put_t(sb, t->t);
    sb_printf(sb, ", df = %.0f, p %s", t->df, t->p < 0.001 ? "" : "= ");
    report_put_p(sb, t->p);
    sb_printf(sb, ", %d seeds)", t->n);
    if (c->margin > 0 && !(t->p < 0.05 && t->mean != 0)) {
        tost_test e;
        stats_tost(t, c->margin, 0.05, &e);
        sb_printf(sb, "; TOST within ±%.*f: p %s", w.digits, c->margin, e.p < 0.001 ? "" : "= ");
        report_put_p(sb, e.p);
        sb_printf(sb, ", so **%s**", e.p < 0.05 ? "equivalent" : "undetermined");
    }
    sb_append(sb, ".\n");
}

void report_compare_row(strbuf *sb, strbuf *verdict, const rep_task *task, const rep_setting *a,
                        const rep_setting *b, rep_measure k, const char *layer)
{
    char a_md[REPORT_MD_MAX], b_md[REPORT_MD_MAX], layer_md[REPORT_MD_MAX];
    rep_comparison c = {.task = task->name,
                        .a = report_markdown(a->first->setting, a_md, sizeof a_md),
                        .b = report_markdown(b->first->setting, b_md, sizeof b_md),
                        .layer = layer ? report_markdown(layer, layer_md, sizeof layer_md) : NULL,
                        .measure = k, .metric = task->metric,
                        .margin = k == MEASURE_SCORE ? task->margin : task->sparsity_margin};
    int digits = report_digits(k, task->metric);
    paired_test t;
    int rc = report_pair(a, b, k, layer, &t);
    sb_printf(sb, "| %s − %s | ", c.a, c.b);
    if (layer)
        sb_printf(sb, "%s | ", c.layer);
    sb_printf(sb, "%d | ", t.n);
    if (rc < 0) {
        sb_append(sb, "n/a | n/a | n/a | n/a | n/a |\n");
        if (verdict)
            sb_printf(verdict, "- %s and %s share %d seed%s: no test of %s%s%s on %s.\n", c.a,
                      c.b, t.n, t.n == 1 ? "" : "s", words_for(k, task->metric).what,
                      layer ? " in " : "", layer ? c.layer : "", c.task);
        return;
    }
    sb_printf(sb, "%+.*f | ", digits, t.mean);
    report_put_interval(sb, t.lo, t.hi, digits);
    sb_append(sb, " | ");
    report_put_t(sb, t.t);
    sb_printf(sb, " | %.0f | ", t.df);
    report_put_p(sb, t.p);
    sb_append(sb, " |\n");
    if (verdict)
        report_verdict(verdict, &c, &t);
}
