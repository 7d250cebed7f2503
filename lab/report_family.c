/* The primary contrasts of several experiments as one family: each task's
 * plan states its own contrasts, but a claim made across tasks (QSD beats
 * dropout on the MLP and on the LSTM) needs the family-wise error held
 * across all of them, so their p-values are Holm-adjusted together. */
#include <stdlib.h>
#include <string.h>

#include "file_io.h"
#include "report.h"
#include "report_escape.h"

typedef struct family {
    report *reports;
    int n_reports;
    report_contrast *c;
    int n;
} family;

static void family_free(family *f)
{
    for (int i = 0; i < f->n_reports; i++)
        report_free(&f->reports[i]);
    free(f->reports);
    free(f->c);
}

static int family_load(family *f, const char *const *dirs, int n, qsdc_error *err)
{
    f->reports = calloc((size_t)n, sizeof *f->reports);
    f->c = calloc((size_t)n * PLAN_MAX_PRIMARY, sizeof *f->c);
    if (!f->reports || !f->c)
        return qsdc_fail(err, "out of memory");
    for (int d = 0; d < n; d++) {
        report *r = &f->reports[d];
        if (report_load(dirs[d], r, err) < 0)
            return -1;
        f->n_reports++;
        for (int e = 0; e < d; e++)
            if (!strcmp(f->reports[e].plan.experiment, r->plan.experiment))
                return qsdc_fail(err, "%s and %s: both hold experiment %s, which would count "
                                      "its contrasts twice", dirs[e], dirs[d],
                                 r->plan.experiment);
        if (r->plan.n_primary == 0)
            return qsdc_fail(err, "%s: no plan.json: its experiment states no primary "
                                  "contrasts to take into the family", dirs[d]);
        int before = f->n;
        for (int t = 0; t < r->n_tasks && f->n == before; t++)
            f->n += report_primary_contrasts(r, &r->tasks[t], f->c + f->n);
        if (f->n == before)
            return qsdc_fail(err, "%s: plan.json is experiment %s's, but no runs of it are "
                                  "there", dirs[d], r->plan.experiment);
    }
    return report_contrasts_adjust(f->c, f->n, err);
}

static void put_family(strbuf *sb, const family *f)
{
    sb_printf(sb, "# Primary contrasts across tasks\n\nWritten by `qsdc report --family` "
                  "from %d results director%s; docs/experiments.md says how to read it.\n\n"
                  "Each experiment stated its contrasts before its runs (plan.json). Here "
                  "the %d of them are one family: Holm p and TOST p are adjusted by Holm's "
                  "method across all of them (family-wise error %.2f), so these verdicts, "
                  "not each report's own, back a claim made across tasks. Paired by seed; "
                  "differences in points of test accuracy or in test perplexity (lower "
                  "is better); TOST within each experiment's margin; interim while a "
                  "contrast pairs fewer seeds than its plan's.\n\n"
                  "| task | contrast | seeds | difference | 95%% interval | t | df | p | "
                  "Holm p | TOST p | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
              f->n_reports, f->n_reports == 1 ? "y" : "ies", f->n, PLAN_ALPHA);
    for (int i = 0; i < f->n; i++) {
        char task[REPORT_MD_MAX];
        sb_printf(sb, "| %s | ", report_markdown(f->c[i].task->name, task, sizeof task));
        report_put_contrast_row(sb, &f->c[i]);
    }
    sb_append(sb, "\nRuns per task:\n\n");
    for (int d = 0; d < f->n_reports; d++) {
        char dir[REPORT_MD_MAX];
        sb_printf(sb, "- %s: %d runs\n",
                  report_markdown(f->reports[d].dir, dir, sizeof dir), f->reports[d].n_runs);
    }
}

int report_family_write(const char *const *dirs, int n, const char *path, FILE *log,
                        qsdc_error *err)
{
    family f = {0};
    int rc = family_load(&f, dirs, n, err);
    strbuf sb;
    sb_init(&sb);
    if (rc == 0) {
        put_family(&sb, &f);
        rc = sb_check(&sb, err);
    }
    if (rc == 0)
        rc = fs_write_atomic(path, NULL, 0, sb_str(&sb), sb.len, err);
    if (rc == 0 && log)
        fprintf(log, "wrote %s: %d primary contrasts of %d experiments as one family\n",
                path, f.n, f.n_reports);
    sb_free(&sb);
    family_free(&f);
    return rc;
}
