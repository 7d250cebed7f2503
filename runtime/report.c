/* report.md: per task, every setting's test accuracy over seeds, paired
 * comparisons by seed (QSD against dropout, everything against none),
 * hidden-layer sparsity, parameter distributions and sampled masks. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file_io.h"
#include "report.h"
#include "strbuf.h"

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_run(const void *a, const void *b)
{
    const run_result *x = a, *y = b;
    int c = strcmp(x->experiment, y->experiment);
    if (!c)
        c = (x->setting_index > y->setting_index) - (x->setting_index < y->setting_index);
    if (!c)
        c = strcmp(x->setting, y->setting);
    if (!c)
        c = (x->seed > y->seed) - (x->seed < y->seed);
    return c;
}

/* The subdirectory names of dir, sorted (malloc'd). */
static int list_dirs(const char *dir, char ***names, int *n, qsdc_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return qsdc_fail(err, "%s: cannot open the results directory", dir);
    int cap = 0, rc = 0;
    *names = NULL;
    *n = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(*names, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = qsdc_fail(err, "out of memory");
                break;
            }
            *names = grown;
        }
        if (!((*names)[*n] = strdup(e->d_name)))
            rc = qsdc_fail(err, "out of memory");
        else
            (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(*names, (size_t)*n, sizeof **names, cmp_name);
    return rc;
}

static int read_runs(report *r, char **names, int n, qsdc_error *err)
{
    r->runs = calloc((size_t)n + 1, sizeof *r->runs);
    if (!r->runs)
        return qsdc_fail(err, "out of memory");
    for (int i = 0; i < n; i++) {
        char path[QSDC_PATH_MAX];
        struct stat st;
        if (result_path(path, err, "%s/%s/result.json", r->dir, names[i]) < 0)
            return -1;
        if (stat(path, &st) != 0)
            continue; /* a run not finished yet */
        if (result_read(path, &r->runs[r->n_runs], err) < 0)
            return -1;
        r->n_runs++;
    }
    if (r->n_runs == 0)
        return qsdc_fail(err, "%s: no finished runs (no */result.json): run 'qsdc "
                              "experiment' first", r->dir);
    qsort(r->runs, (size_t)r->n_runs, sizeof *r->runs, cmp_run);
    return 0;
}

/* Runs sorted by task, setting and seed: consecutive groups. */
static int group(report *r, qsdc_error *err)
{
    r->tasks = calloc((size_t)r->n_runs, sizeof *r->tasks);
    if (!r->tasks)
        return qsdc_fail(err, "out of memory");
    for (int i = 0; i < r->n_runs;) {
        rep_task *t = &r->tasks[r->n_tasks++];
        t->name = r->runs[i].experiment;
        int end = i;
        while (end < r->n_runs && !strcmp(r->runs[end].experiment, t->name))
            end++;
        t->settings = calloc((size_t)(end - i), sizeof *t->settings);
        if (!t->settings)
            return qsdc_fail(err, "out of memory");
        for (int j = i; j < end;) {
            rep_setting *s = &t->settings[t->n_settings++];
            s->first = &r->runs[j];
            int k = j;
            while (k < end && !strcmp(r->runs[k].setting, s->first->setting))
                k++;
            s->runs = malloc((size_t)(k - j) * sizeof *s->runs);
            if (!s->runs)
                return qsdc_fail(err, "out of memory");
            for (; j < k; j++)
                s->runs[s->n++] = &r->runs[j];
        }
        i = end;
    }
    return 0;
}

int report_load(const char *dir, report *out, qsdc_error *err)
{
    memset(out, 0, sizeof *out);
    out->dir = dir;
    char **names = NULL;
    int n = 0;
    int rc = list_dirs(dir, &names, &n, err);
    if (rc == 0)
        rc = read_runs(out, names, n, err);
    if (rc == 0)
        rc = group(out, err);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc < 0)
        report_free(out);
    return rc;
}

void report_free(report *r)
{
    for (int t = 0; t < r->n_tasks; t++) {
        for (int s = 0; s < r->tasks[t].n_settings; s++)
            free(r->tasks[t].settings[s].runs);
        free(r->tasks[t].settings);
    }
    for (int i = 0; i < r->n_runs; i++)
        result_free(&r->runs[i]);
    free(r->runs);
    free(r->tasks);
    memset(r, 0, sizeof *r);
}

void report_describe(const run_result *r, char *buf, size_t n)
{
    const qsd_params *q = &r->qsd;
    if (r->kind == SETTING_NONE) {
        snprintf(buf, n, "none");
    } else if (r->kind == SETTING_DROPOUT) {
        snprintf(buf, n, "dropout p=%.4g", q->p);
    } else {
        int len = snprintf(buf, n, "QSD p=%.4g n=%d v=%.4g", q->p, q->sites, q->q_cv);
        if (q->p_concentration > 0 && len > 0 && (size_t)len < n)
            len += snprintf(buf + len, n - (size_t)len, " c=%.4g", q->p_concentration);
        if (r->match != MATCH_EXPLICIT && len > 0 && (size_t)len < n)
            snprintf(buf + len, n - (size_t)len, " (matched %s)", match_kind_name(r->match));
    }
}

/* A per-run number the report compares: test accuracy, or a hidden
 * layer's mean zero fraction or Hoyer sparsity. */
typedef enum metric_kind { METRIC_ACCURACY, METRIC_ZERO, METRIC_HOYER } metric_kind;

static double metric(const run_result *r, metric_kind k, const char *layer)
{
    if (k == METRIC_ACCURACY)
        return r->test_accuracy;
    for (int i = 0; i < r->n_activity; i++)
        if (!strcmp(r->activity[i].layer, layer))
            return k == METRIC_ZERO ? r->activity[i].zero_mean : r->activity[i].hoyer_mean;
    return NAN;
}

static void setting_stats(const rep_setting *s, metric_kind k, const char *layer, double *mean,
                          double *sd, int *n)
{
    double *v = malloc((size_t)s->n * sizeof *v);
    *n = 0;
    for (int i = 0; v && i < s->n; i++) {
        double x = metric(s->runs[i], k, layer);
        if (isfinite(x))
            v[(*n)++] = x;
    }
    if (v)
        stats_mean_sd(v, *n, mean, sd);
    free(v);
}

/* "85.10 ± 0.20" (the sd left out for a single run). */
static void put_mean_sd(strbuf *sb, double mean, double sd, int n, int digits)
{
    if (n == 0)
        sb_append(sb, "n/a");
    else if (n == 1)
        sb_printf(sb, "%.*f", digits, mean);
    else
        sb_printf(sb, "%.*f ± %.*f", digits, mean, digits, sd);
}

/* Pairs a's and b's runs by seed: a - b on their common seeds. */
static int pair_runs(const rep_setting *a, const rep_setting *b, metric_kind k,
                     const char *layer, paired_test *t)
{
    int n = a->n < b->n ? a->n : b->n, m = 0;
    double *x = malloc((size_t)(n + 1) * sizeof *x), *y = malloc((size_t)(n + 1) * sizeof *y);
    for (int i = 0; x && y && i < a->n; i++)
        for (int j = 0; j < b->n; j++)
            if (a->runs[i]->seed == b->runs[j]->seed) {
                double u = metric(a->runs[i], k, layer), v = metric(b->runs[j], k, layer);
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

static void put_p(strbuf *sb, double p)
{
    if (p < 0.001)
        sb_append(sb, "< 0.001");
    else
        sb_printf(sb, "%.3f", p);
}

static void put_t(strbuf *sb, double t)
{
    if (isinf(t))
        sb_append(sb, t > 0 ? "+inf" : "-inf");
    else
        sb_printf(sb, "%.2f", t);
}

/* One comparison row "| a − b | seeds | diff | interval | t | df | p |"
 * and, when verdict is not NULL, its sentence appended there. */
static void compare_row(strbuf *sb, strbuf *verdict, const char *task, const rep_setting *a,
                        const rep_setting *b, metric_kind k, const char *layer)
{
    static const char *const what[] = {"test accuracy", "zero fraction", "Hoyer sparsity"};
    static const char *const unit[] = {" points", "", ""};
    int digits = k == METRIC_ACCURACY ? 2 : 4;
    paired_test t;
    int rc = pair_runs(a, b, k, layer, &t);
    sb_printf(sb, "| %s − %s | ", a->first->setting, b->first->setting);
    if (layer)
        sb_printf(sb, "%s | ", layer);
    sb_printf(sb, "%d | ", t.n);
    if (rc < 0) {
        sb_append(sb, "n/a | n/a | n/a | n/a | n/a |\n");
        if (verdict)
            sb_printf(verdict, "- %s and %s share %d seed%s: no test of %s on %s.\n",
                      a->first->setting, b->first->setting, t.n, t.n == 1 ? "" : "s",
                      what[k], task);
        return;
    }
    sb_printf(sb, "%+.*f | %+.*f to %+.*f | ", digits, t.mean, digits, t.lo, digits, t.hi);
    put_t(sb, t.t);
    sb_printf(sb, " | %.0f | ", t.df);
    put_p(sb, t.p);
    sb_append(sb, " |\n");
    if (!verdict)
        return;
    const char *an = a->first->setting, *bn = b->first->setting;
    char where[QSDC_NAME_MAX + 8] = "";
    if (layer)
        snprintf(where, sizeof where, " in %s", layer);
    if (t.p < 0.05 && t.mean != 0) {
        const char *verb = k == METRIC_ACCURACY   ? (t.mean > 0 ? "beat" : "did worse than")
                           : k == METRIC_HOYER ? (t.mean > 0 ? "gave sparser activity than"
                                                             : "gave denser activity than")
                           : (t.mean > 0 ? "silenced more units than"
                                         : "silenced fewer units than");
        sb_printf(verdict, "- **%s %s %s**%s on %s: %s %s by %.*f%s (95%% interval %+.*f to "
                           "%+.*f, paired t = ",
                  an, verb, bn, where, task, what[k], t.mean > 0 ? "higher" : "lower", digits,
                  fabs(t.mean), unit[k], digits, t.lo, digits, t.hi);
    } else {
        sb_printf(verdict, "- **No significant difference** between %s and %s%s on %s: %s "
                           "differs by %+.*f%s (95%% interval %+.*f to %+.*f, paired t = ",
                  an, bn, where, task, what[k], digits, t.mean, unit[k], digits, t.lo, digits,
                  t.hi);
    }
    put_t(verdict, t.t);
    sb_printf(verdict, ", df = %.0f, p = ", t.df);
    put_p(verdict, t.p);
    sb_printf(verdict, ", %d seeds).\n", t.n);
}

static const char cmp_header[] = "| comparison | seeds | difference | 95% interval | t | df | "
                                 "p |\n|---|---|---|---|---|---|---|\n";
static const char cmp_header_layer[] = "| comparison | layer | seeds | difference | 95% "
                                       "interval | t | df | p |\n"
                                       "|---|---|---|---|---|---|---|---|\n";

static void put_accuracy(strbuf *sb, const rep_task *t)
{
    sb_append(sb, "### Test accuracy\n\n| setting | regulariser | seeds | test accuracy % "
                  "(mean ± sd) | final train loss | training s/run |\n"
                  "|---|---|---|---|---|---|\n");
    for (int i = 0; i < t->n_settings; i++) {
        const rep_setting *s = &t->settings[i];
        char desc[160];
        report_describe(s->first, desc, sizeof desc);
        double mean, sd, loss = 0, secs = 0;
        int n;
        setting_stats(s, METRIC_ACCURACY, NULL, &mean, &sd, &n);
        for (int j = 0; j < s->n; j++) {
            const run_result *r = s->runs[j];
            loss += r->n_epochs ? r->epochs[r->n_epochs - 1].train_loss / s->n : 0;
            secs += r->train_seconds / s->n;
        }
        sb_printf(sb, "| %s | %s | %d | ", s->first->setting, desc, s->n);
        put_mean_sd(sb, mean, sd, n, 2);
        sb_printf(sb, " | %.4f | %.0f |\n", loss, secs);
    }
}

/* QSD against dropout, then every regularised setting against none. */
static void put_comparisons(strbuf *sb, const rep_task *t)
{
    strbuf verdict;
    sb_init(&verdict);
    bool any = false;
    for (int pass = 0; pass < 2; pass++) {
        setting_kind against = pass == 0 ? SETTING_DROPOUT : SETTING_NONE;
        bool header = false;
        for (int b = 0; b < t->n_settings; b++) {
            if (t->settings[b].first->kind != against)
                continue;
            for (int a = 0; a < t->n_settings; a++) {
                setting_kind k = t->settings[a].first->kind;
                if (pass == 0 ? k != SETTING_QSD : k == SETTING_NONE)
                    continue;
                if (!header) {
                    sb_printf(sb, "\n### %s\n\nPaired by seed; differences in points of "
                                  "test accuracy.\n\n%s",
                              pass == 0 ? "QSD against dropout" : "Against no regularisation",
                              cmp_header);
                    header = any = true;
                }
                compare_row(sb, &verdict, t->name, &t->settings[a], &t->settings[b],
                            METRIC_ACCURACY, NULL);
            }
        }
        if (header)
            sb_printf(sb, "\n%s", sb_str(&verdict));
        sb_free(&verdict);
        sb_init(&verdict);
    }
    if (!any)
        sb_append(sb, "\nNo dropout or unregularised setting to compare with.\n");
    sb_free(&verdict);
}

static const char *layer_name(const rep_task *t, int i)
{
    const run_result *r = t->settings[0].first;
    return i < r->n_activity ? r->activity[i].layer : NULL;
}

static void put_sparsity(strbuf *sb, const rep_task *t)
{
    sb_append(sb, "\n### Sparsity of hidden activity on the test set\n\nPer sample over a "
                  "layer's units, then averaged over the test set; mean ± sd over seeds. "
                  "Hoyer sparsity is (√N − |a|₁/|a|₂)/(√N − 1): 0 when all units are equal, "
                  "1 when one is active.\n\n| setting | layer | zero fraction | Hoyer |\n"
                  "|---|---|---|---|\n");
    for (int i = 0; i < t->n_settings; i++)
        for (int l = 0; layer_name(t, l); l++) {
            double mean, sd;
            int n;
            sb_printf(sb, "| %s | %s | ", t->settings[i].first->setting, layer_name(t, l));
            setting_stats(&t->settings[i], METRIC_ZERO, layer_name(t, l), &mean, &sd, &n);
            put_mean_sd(sb, mean, sd, n, 4);
            sb_append(sb, " | ");
            setting_stats(&t->settings[i], METRIC_HOYER, layer_name(t, l), &mean, &sd, &n);
            put_mean_sd(sb, mean, sd, n, 4);
            sb_append(sb, " |\n");
        }
    strbuf verdict;
    sb_init(&verdict);
    bool header = false;
    for (int b = 0; b < t->n_settings; b++)
        for (int a = 0; a < t->n_settings && t->settings[b].first->kind == SETTING_DROPOUT;
             a++) {
            if (t->settings[a].first->kind != SETTING_QSD)
                continue;
            for (int l = 0; layer_name(t, l); l++) {
                if (!header)
                    sb_printf(sb, "\nHoyer sparsity, QSD against dropout:\n\n%s",
                              cmp_header_layer);
                header = true;
                compare_row(sb, &verdict, t->name, &t->settings[a], &t->settings[b],
                            METRIC_HOYER, layer_name(t, l));
            }
        }
    if (header)
        sb_printf(sb, "\n%s", sb_str(&verdict));
    sb_free(&verdict);
}

static void put_params(strbuf *sb, const rep_task *t)
{
    sb_append(sb, "\n### Trained weights and biases\n\nMeans over seeds of each run's "
                  "statistics.\n\n| tensor | setting | mean | sd | 1% | 5% | 25% | 50% | 75% "
                  "| 95% | 99% |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    const run_result *ref = t->settings[0].first;
    for (int p = 0; p < ref->n_params; p++)
        for (int i = 0; i < t->n_settings; i++) {
            const rep_setting *s = &t->settings[i];
            double v[2 + STATS_N_QUANTILES] = {0};
            int n = 0;
            for (int j = 0; j < s->n; j++)
                for (int k = 0; k < s->runs[j]->n_params; k++) {
                    const param_record *pr = &s->runs[j]->params[k];
                    if (strcmp(pr->tensor, ref->params[p].tensor))
                        continue;
                    v[0] += pr->s.mean;
                    v[1] += pr->s.sd;
                    for (int q = 0; q < STATS_N_QUANTILES; q++)
                        v[2 + q] += pr->s.q[q];
                    n++;
                }
            sb_printf(sb, "| %s | %s |", ref->params[p].tensor, s->first->setting);
            for (int c = 0; c < 2 + STATS_N_QUANTILES; c++)
                sb_printf(sb, " %.4g |", n ? v[c] / n : NAN);
            sb_append(sb, "\n");
        }
}

static void put_masks(strbuf *sb, const rep_task *t)
{
    bool header = false;
    for (int i = 0; i < t->n_settings; i++) {
        const rep_setting *s = &t->settings[i];
        for (int l = 0; l < s->first->n_masks; l++) {
            double mean = 0, var = 0, pz = 0;
            int64_t draws = 0;
            for (int j = 0; j < s->n; j++) {
                if (l >= s->runs[j]->n_masks)
                    continue;
                const mask_record *m = &s->runs[j]->masks[l];
                mean += m->mean * (double)m->draws;
                var += m->var * (double)m->draws;
                pz += m->pr_zero * (double)m->draws;
                draws += m->draws;
            }
            if (!header)
                sb_append(sb, "\n### Masks sampled on the device\n\nDrawn by the training "
                              "kernels' sampler (kernels/qsd.cl), pooled over seeds, against "
                              "QSD.md's analytic values.\n\n| setting | layer | draws | mean "
                              "(expected 1) | Var[m] | expected | Pr[m=0] | expected |\n"
                              "|---|---|---|---|---|---|---|---|\n");
            header = true;
            const mask_record *m0 = &s->first->masks[l];
            sb_printf(sb, "| %s | %s | %lld | %.4f | %.4f | %.4f | %.4f | %.4f |\n",
                      s->first->setting, m0->layer, (long long)draws, mean / (double)draws,
                      var / (double)draws, m0->want_var, pz / (double)draws,
                      m0->want_pr_zero);
        }
    }
}

static void put_task_header(strbuf *sb, const rep_task *t)
{
    const run_result *r = t->settings[0].first;
    int runs = 0;
    for (int i = 0; i < t->n_settings; i++)
        runs += t->settings[i].n;
    sb_printf(sb, "\n## %s\n\n%d runs of %d settings (%s grid): %d epoch%s, %lld training "
                  "samples (validation included), %lld test samples, on %s.\n\n",
              t->name, runs, t->n_settings, r->quick ? "quick" : "full", r->n_epochs,
              r->n_epochs == 1 ? "" : "s", (long long)r->train_samples,
              (long long)r->test_samples, r->device);
}

static void put_figures(strbuf *sb, const rep_task *t)
{
    static const char *const captions[FIG_COUNT] = {
        "Learning curves (mean ± sd over seeds)",
        "Hidden activity on the test set: per-sample zero fraction and Hoyer sparsity",
        "Trained weights (density, pooled over seeds)",
        "Trained biases (density, pooled over seeds)",
        "Masks sampled on the device (non-zero values; Pr[m=0] in the legend)"};
    sb_append(sb, "\n### Figures\n\n");
    for (int f = 0; f < FIG_COUNT; f++)
        if (report_has_figure(t, f))
            sb_printf(sb, "%s ([SVG](figures/%s-%s.svg)):\n\n![%s](figures/%s-%s.png)\n\n",
                      captions[f], report_figure_names[f], t->name, captions[f],
                      report_figure_names[f], t->name);
}

int report_write(const char *dir, FILE *log, qsdc_error *err)
{
    report r;
    if (report_load(dir, &r, err) < 0)
        return -1;
    bool made = false;
    char why[1024] = "";
    qsdc_error plot_err = {""};
    int plot_rc = report_plot(&r, &made, why, sizeof why, &plot_err), rc = 0;
    if (plot_rc < 0) {
        made = false;
        snprintf(why, sizeof why, "%s", plot_err.message);
    }
    strbuf sb;
    sb_init(&sb);
    sb_append(&sb, "# QSD against dropout: experiment report\n\nWritten by `qsdc report` "
                   "from the result.json files beside this file; docs/experiments.md says "
                   "how to read it.\n");
    for (int t = 0; t < r.n_tasks; t++) {
        const rep_task *task = &r.tasks[t];
        put_task_header(&sb, task);
        put_accuracy(&sb, task);
        put_comparisons(&sb, task);
        put_sparsity(&sb, task);
        put_params(&sb, task);
        put_masks(&sb, task);
        if (made)
            put_figures(&sb, task);
    }
    if (!made)
        sb_printf(&sb, "\nNo figures: %s.\n", why);
    char path[QSDC_PATH_MAX];
    rc = result_path(path, err, "%s/report.md", dir);
    if (rc == 0)
        rc = sb_check(&sb, err);
    if (rc == 0)
        rc = fs_write_atomic(path, NULL, 0, sb_str(&sb), sb.len, err);
    if (rc == 0 && log) {
        fprintf(log, "wrote %s: %d runs of %d task%s", path, r.n_runs, r.n_tasks,
                r.n_tasks == 1 ? "" : "s");
        if (made)
            fprintf(log, ", figures in %s/figures\n", dir);
        else
            fprintf(log, "; no figures: %s\n", why);
    }
    if (rc == 0 && plot_rc < 0)
        rc = qsdc_fail(err, "%s", plot_err.message);
    sb_free(&sb);
    report_free(&r);
    return rc;
}
