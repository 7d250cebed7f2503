/* The primary contrasts of a task, as its plan stated them before the
 * runs: one family, Holm-corrected, each also tested for equivalence
 * within the plan's margin (TOST), so that each ends in a verdict that
 * says which: a difference, equivalence, or neither shown. */
#include <math.h>
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

/* One contrast's tests; ok false when it has fewer than two seeds. */
typedef struct primary_test {
    bool ok;
    paired_test t;
    tost_test e;
    double p, p_holm, tost_p, tost_holm;
} primary_test;

static void test_contrasts(const report *r, const rep_task *t, primary_test *pt)
{
    const exp_plan *plan = &r->plan;
    double p[PLAN_MAX_PRIMARY], tp[PLAN_MAX_PRIMARY];
    for (int i = 0; i < plan->n_primary; i++) {
        const rep_setting *a = setting_named(t, plan->primary[i].a);
        const rep_setting *b = setting_named(t, plan->primary[i].b);
        primary_test *x = &pt[i];
        memset(x, 0, sizeof *x);
        x->ok = a && b && report_pair(a, b, MEASURE_SCORE, NULL, &x->t) == 0;
        if (x->ok)
            stats_tost(&x->t, plan->margin, PLAN_ALPHA, &x->e);
        /* a contrast without a test still counts in the family */
        p[i] = x->ok ? x->t.p : NAN;
        tp[i] = x->ok ? x->e.p : NAN;
    }
    double adj[PLAN_MAX_PRIMARY], tadj[PLAN_MAX_PRIMARY];
    stats_holm(p, plan->n_primary, adj);
    stats_holm(tp, plan->n_primary, tadj);
    for (int i = 0; i < plan->n_primary; i++) {
        pt[i].p = p[i];
        pt[i].p_holm = adj[i];
        pt[i].tost_p = tp[i];
        pt[i].tost_holm = tadj[i];
    }
}

static void put_verdict(strbuf *sb, const primary_test *x, const char *a, const char *b,
                        double margin, const rep_task *t)
{
    int digits = report_digits(MEASURE_SCORE, t->metric);
    bool differ = x->p_holm < PLAN_ALPHA && x->t.mean != 0;
    bool equivalent = x->tost_holm < PLAN_ALPHA;
    if (differ) {
        /* perplexity: the lower is the better model */
        bool a_better = (x->t.mean > 0) != (t->metric == RESULT_PERPLEXITY);
        sb_printf(sb, "**%s %s %s**", a, a_better ? "beat" : "did worse than", b);
        if (equivalent)
            sb_printf(sb, ", within ±%.*f", digits, margin);
    } else if (equivalent) {
        sb_printf(sb, "**equivalent** within ±%.*f", digits, margin);
    } else {
        sb_append(sb, "**undetermined**");
    }
}

void report_put_primary(strbuf *sb, const report *r, const rep_task *t)
{
    if (!report_has_primary(r, t))
        return;
    const exp_plan *plan = &r->plan;
    primary_test pt[PLAN_MAX_PRIMARY];
    test_contrasts(r, t, pt);
    int digits = report_digits(MEASURE_SCORE, t->metric);
    bool lm = t->metric == RESULT_PERPLEXITY;
    sb_printf(sb, "### Primary contrasts\n\nStated before the runs (the experiment file's "
                  "`primary:`, recorded in plan.json). Paired by seed; differences in %s. "
                  "p: paired t-test; Holm p: adjusted by Holm's method across the %d primary "
                  "contrast%s (family-wise error %.2f); TOST p: two one-sided paired t-tests "
                  "that the difference lies within ±%.*f, Holm-adjusted likewise. Verdict: "
                  "a difference where Holm p < %.2f, equivalent where TOST p < %.2f, "
                  "undetermined where neither.\n\n"
                  "| contrast | seeds | difference | 95%% interval | t | df | p | Holm p | "
                  "TOST p | verdict |\n|---|---|---|---|---|---|---|---|---|---|\n",
              lm ? "test perplexity (lower is better)" : "points of test accuracy",
              plan->n_primary, plan->n_primary == 1 ? "" : "s", PLAN_ALPHA, digits,
              plan->margin, PLAN_ALPHA, PLAN_ALPHA);
    for (int i = 0; i < plan->n_primary; i++) {
        const primary_test *x = &pt[i];
        char a[REPORT_MD_MAX], b[REPORT_MD_MAX];
        report_markdown(plan->primary[i].a, a, sizeof a);
        report_markdown(plan->primary[i].b, b, sizeof b);
        sb_printf(sb, "| %s − %s | %d | ", a, b, x->t.n);
        if (!x->ok) {
            sb_append(sb, "n/a | n/a | n/a | n/a | n/a | n/a | n/a | **undetermined** |\n");
            continue;
        }
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
        put_verdict(sb, x, a, b, plan->margin, t);
        sb_append(sb, " |\n");
    }
    sb_append(sb, "\nThe sections below are exploratory: not stated before the runs, their "
                  "p-values not corrected for the many comparisons.\n\n");
}
