/* The primary contrasts of a task, as its plan stated them before the
 * runs: one family, Holm-corrected, each also tested for equivalence
 * within the plan's margin (TOST), so that each ends in a verdict that
 * says which: a difference, equivalence, or neither shown. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_escape.h"

bool report_has_primary(const report *r, const rep_task *t)
{
    return r->plan.n_primary > 0 && !strcmp(r->plan.experiment, t->name);
}

static const rep_setting *setting_named(const rep_task *t, const char *name)
{
    for (int i = 0; i < t->n_settings; i++)
        if (!strcmp(t->settings[i].first->setting, name))
            return &t->settings[i];
    return NULL;
}

int report_primary_contrasts(const report *r, const rep_task *t, report_contrast *out)
{
    if (!report_has_primary(r, t))
        return 0;
    const exp_plan *plan = &r->plan;
    for (int i = 0; i < plan->n_primary; i++) {
        const rep_setting *a = setting_named(t, plan->primary[i].a);
        const rep_setting *b = setting_named(t, plan->primary[i].b);
        report_contrast *x = &out[i];
        memset(x, 0, sizeof *x);
        x->task = t;
        x->a = plan->primary[i].a;
        x->b = plan->primary[i].b;
        x->margin = plan->margin;
        x->planned = plan->seeds;
        x->ok = a && b && report_pair(a, b, MEASURE_SCORE, NULL, &x->t) == 0;
        if (x->ok)
            stats_tost(&x->t, plan->margin, PLAN_ALPHA, &x->e);
        /* a contrast without a test still counts in the family */
        x->p = x->ok ? x->t.p : NAN;
        x->tost_p = x->ok ? x->e.p : NAN;
    }
    return plan->n_primary;
}

int report_contrasts_adjust(report_contrast *c, int n, qsdc_error *err)
{
    double *p = calloc(4 * (size_t)(n > 0 ? n : 1), sizeof *p);
    if (!p)
        return qsdc_fail(err, "out of memory");
    double *tp = p + n, *adj = tp + n, *tadj = adj + n;
    for (int i = 0; i < n; i++) {
        p[i] = c[i].p;
        tp[i] = c[i].tost_p;
    }
    stats_holm(p, n, adj);
    stats_holm(tp, n, tadj);
    for (int i = 0; i < n; i++) {
        c[i].p_holm = adj[i];
        c[i].tost_holm = tadj[i];
    }
    free(p);
    return 0;
}

static void put_verdict(strbuf *sb, const report_contrast *x, const char *a, const char *b)
{
    int digits = report_digits(MEASURE_SCORE, x->task->metric);
    bool differ = x->p_holm < PLAN_ALPHA && x->t.mean != 0;
    bool equivalent = x->tost_holm < PLAN_ALPHA;
    if (x->t.n < x->planned) {
        /* a verdict before the planned seeds are in is not the plan's test:
         * stopping when p first dips below alpha would inflate the error */
        sb_printf(sb, "**interim**: %d of %d planned seeds", x->t.n, x->planned);
    } else if (differ) {
        /* perplexity: the lower is the better model */
        bool a_better = (x->t.mean > 0) != (x->task->metric == RESULT_PERPLEXITY);
        sb_printf(sb, "**%s %s %s**", a, a_better ? "beat" : "did worse than", b);
        if (equivalent)
            sb_printf(sb, ", within ±%.*f", digits, x->margin);
    } else if (equivalent) {
        sb_printf(sb, "**equivalent** within ±%.*f", digits, x->margin);
    } else {
        sb_append(sb, "**undetermined**");
    }
}

void report_put_contrast_row(strbuf *sb, const report_contrast *x)
{
    char a[REPORT_MD_MAX], b[REPORT_MD_MAX];
    report_markdown(x->a, a, sizeof a);
    report_markdown(x->b, b, sizeof b);
    sb_printf(sb, "%s − %s | %d | ", a, b, x->t.n);
    if (!x->ok) {
        sb_append(sb, "n/a | n/a | n/a | n/a | n/a | n/a | n/a | **undetermined** |\n");
        return;
    }
    int digits = report_digits(MEASURE_SCORE, x->task->metric);
    sb_printf(sb, "%+.*f | ", digits, x->t.mean);
    report_put_interval(sb, x->t.lo, x->t.hi, digits);
    sb_append(sb, " | ");
    report_put_t(sb, x->t.t);
    sb_printf(sb, " | %.0f | ", x->t.df);
    report_put_p(sb, x->p);
    sb_append(sb, " | ");
    report_put_p(sb, x->p_holm);
    sb_append(sb, " | ");
    report_put_p(sb, x->tost_holm);
    sb_append(sb, " | ");
    put_verdict(sb, x, a, b);
    sb_append(sb, " |\n");
}

void report_put_primary(strbuf *sb, const report *r, const rep_task *t)
{
    report_contrast c[PLAN_MAX_PRIMARY];
    int n = report_primary_contrasts(r, t, c);
    qsdc_error err;
    if (n == 0 || report_contrasts_adjust(c, n, &err) < 0)
        return;
    const exp_plan *plan = &r->plan;
    int digits = report_digits(MEASURE_SCORE, t->metric);
    bool lm = t->metric == RESULT_PERPLEXITY;
    sb_printf(sb, "### Primary contrasts\n\nStated before the runs (the experiment file's "
                  "`primary:`, recorded in plan.json). Paired by seed; differences in %s. "
                  "p: paired t-test; Holm p: adjusted by Holm's method across the %d primary "
                  "contrast%s (family-wise error %.2f); TOST p: two one-sided paired t-tests "
                  "that the difference lies within ±%.*f, Holm-adjusted likewise. Verdict: "
                  "a difference where Holm p < %.2f, equivalent where TOST p < %.2f, "
                  "undetermined where neither, interim while fewer than the plan's %d "
                  "seeds are paired.\n\n"
                  "| contrast | seeds | difference | 95%% interval | t | df | p | Holm p | "
                  "TOST p | verdict |\n|---|---|---|---|---|---|---|---|---|---|\n",
              lm ? "test perplexity (lower is better)" : "points of test accuracy",
              plan->n_primary, plan->n_primary == 1 ? "" : "s", PLAN_ALPHA, digits,
              plan->margin, PLAN_ALPHA, PLAN_ALPHA, plan->seeds);
    for (int i = 0; i < n; i++) {
        sb_append(sb, "| ");
        report_put_contrast_row(sb, &c[i]);
    }
    sb_append(sb, "\nThe sections below are exploratory: not stated before the runs, their "
                  "p-values not corrected for the many comparisons.\n\n");
}
