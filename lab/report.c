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
#include "report_escape.h"
#include "strbuf.h"

/* Devices one task's report names; runs on further ones are not named. */
#define REPORT_MAX_DEVICES 8

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

/* The run read before runs[n] from the same experiment, setting and seed
 * (a copied run folder), or -1. */
static int same_run(const run_result *runs, int n)
{
    for (int i = 0; i < n; i++)
        if (runs[i].seed == runs[n].seed && !strcmp(runs[i].setting, runs[n].setting) &&
            !strcmp(runs[i].experiment, runs[n].experiment))
            return i;
    return -1;
}

static int read_runs(report *r, char **names, int n, qsdc_error *err)
{
    r->runs = calloc((size_t)n + 1, sizeof *r->runs);
    int *dir_of = malloc(((size_t)n + 1) * sizeof *dir_of); /* run -> names[] */
    if (!r->runs || !dir_of) {
        free(dir_of);
        return qsdc_fail(err, "out of memory");
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        char path[QSDC_PATH_MAX];
        struct stat st;
        if ((rc = result_path(path, err, "%s/%s/result.json", r->dir, names[i])) < 0)
            break;
        if (stat(path, &st) != 0)
            continue; /* a run not finished yet */
        if ((rc = result_read(path, &r->runs[r->n_runs], err)) < 0)
            break;
        int first = same_run(r->runs, r->n_runs);
        dir_of[r->n_runs++] = i;
        if (first >= 0)
            rc = qsdc_fail(err, "%s/%s/result.json and %s both hold seed %llu of setting %s "
                                "of experiment %s: a seed counted twice would make the paired "
                                "tests wrong; remove one",
                           r->dir, names[dir_of[first]], path,
                           (unsigned long long)r->runs[first].seed, r->runs[first].setting,
                           r->runs[first].experiment);
    }
    free(dir_of);
    if (rc < 0)
        return rc;
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
        t->metric = r->runs[i].metric;
        int end = i;
        for (; end < r->n_runs && !strcmp(r->runs[end].experiment, t->name); end++)
            if (r->runs[end].metric != t->metric)
                return qsdc_fail(err, "%s: the runs of %s record different metrics (%s and "
                                      "%s): they are not one task's", r->dir, t->name,
                                 result_metric_name(t->metric),
                                 result_metric_name(r->runs[end].metric));
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

/* DIR/plan.json, when the grid stated one. */
static int read_plan(report *r, qsdc_error *err)
{
    char path[QSDC_PATH_MAX];
    struct stat st;
    if (result_path(path, err, "%s/plan.json", r->dir) < 0)
        return -1;
    return stat(path, &st) == 0 ? plan_read(path, &r->plan, err) : 0;
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
    if (rc == 0)
        rc = read_plan(out, err);
    for (int t = 0; rc == 0 && t < out->n_tasks; t++)
        if (report_has_primary(out, &out->tasks[t])) {
            out->tasks[t].margin = out->plan.margin;
            out->tasks[t].sparsity_margin = out->plan.sparsity_margin;
        }
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
    const qsdc_qsd_params *q = &r->qsd;
    /* a swept setting's p differs by seed: the sweep is said instead */
    char p[32] = "";
    if (r->selection.n == 0)
        snprintf(p, sizeof p, " p=%.4g", q->p);
    if (r->kind == SETTING_NONE) {
        snprintf(buf, n, "none");
    } else if (r->kind == SETTING_DROPOUT) {
        snprintf(buf, n, "dropout%s", p);
    } else {
        int len = snprintf(buf, n, "QSD%s n=%d v=%.4g", p, q->sites, q->q_cv);
        if (q->p_concentration > 0 && len > 0 && (size_t)len < n)
            len += snprintf(buf + len, n - (size_t)len, " c=%.4g", q->p_concentration);
        if (q->hetero == QSDC_HETERO_UNIT && len > 0 && (size_t)len < n)
            len += snprintf(buf + len, n - (size_t)len, " unit");
        if (q->anneal > 0 && len > 0 && (size_t)len < n)
            len += snprintf(buf + len, n - (size_t)len, " s=%.4g", q->anneal);
        if (r->match != MATCH_EXPLICIT && len > 0 && (size_t)len < n)
            snprintf(buf + len, n - (size_t)len, " (matched %s)", match_kind_name(r->match));
    }
    size_t len = strlen(buf);
    if (r->selection.n > 0 && len < n)
        snprintf(buf + len, n - len, ", %s chosen on validation",
                 r->selection.swept_p0 ? "dropout_p" : "p");
}

static const char cmp_header[] = "| comparison | seeds | difference | 95% interval | t | df | "
                                 "p |\n|---|---|---|---|---|---|---|\n";
static const char cmp_header_layer[] = "| comparison | layer | seeds | difference | 95% "
                                       "interval | t | df | p |\n"
                                       "|---|---|---|---|---|---|---|---|\n";

static void put_scores(strbuf *sb, const rep_task *t)
{
    if (t->metric == RESULT_PERPLEXITY)
        sb_append(sb, "### Test perplexity\n\nLower is better.\n\n| setting | regulariser | "
                      "seeds | test perplexity (mean ± sd) | final train loss | training "
                      "s/run |\n|---|---|---|---|---|---|\n");
    else
        sb_append(sb, "### Test accuracy\n\n| setting | regulariser | seeds | test accuracy % "
                      "(mean ± sd) | final train loss | training s/run |\n"
                      "|---|---|---|---|---|---|\n");
    for (int i = 0; i < t->n_settings; i++) {
        const rep_setting *s = &t->settings[i];
        char desc[160], name[REPORT_MD_MAX];
        report_describe(s->first, desc, sizeof desc);
        double mean, sd, loss = 0, secs = 0;
        int n;
        report_setting_stats(s, MEASURE_SCORE, NULL, &mean, &sd, &n);
        for (int j = 0; j < s->n; j++) {
            const run_result *r = s->runs[j];
            loss += r->n_epochs ? r->epochs[r->n_epochs - 1].train_loss / s->n : 0;
            secs += r->train_seconds / s->n;
        }
        sb_printf(sb, "| %s | %s | %d | ", report_markdown(s->first->setting, name, sizeof name),
                  desc, s->n);
        report_put_mean_sd(sb, mean, sd, n, 2);
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
                    sb_printf(sb, "\n### %s\n\nPaired by seed; differences in %s.\n\n%s",
                              pass == 0 ? "QSD against dropout" : "Against no regularisation",
                              t->metric == RESULT_PERPLEXITY
                                  ? "test perplexity (lower is better: a negative difference "
                                    "favours the first setting)"
                                  : "points of test accuracy",
                              cmp_header);
                    header = any = true;
                }
                report_compare_row(sb, &verdict, t, &t->settings[a], &t->settings[b],
                                   MEASURE_SCORE, NULL);
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
    if (!layer_name(t, 0)) {
        sb_printf(sb, "\n### Sparsity of hidden activity on the test set\n\nNot measured: %s\n",
                  t->metric == RESULT_PERPLEXITY
                      ? "a language model's test set is streams of tokens through stateful "
                        "layers rather than separate samples, and its lstm layers' gates are "
                        "not layers of the model (hidden activity is measured at relu, tanh "
                        "and sigmoid layers of classifiers)."
                      : "the model has no relu, tanh or sigmoid layer.");
        return;
    }
    sb_append(sb, "\n### Sparsity of hidden activity on the test set\n\nPer sample over a "
                  "layer's units, then averaged over the test set; mean ± sd over seeds. "
                  "Hoyer sparsity is (√N − |a|₁/|a|₂)/(√N − 1): 0 when all units are equal, "
                  "1 when one is active.\n\n| setting | layer | zero fraction | Hoyer |\n"
                  "|---|---|---|---|\n");
    for (int i = 0; i < t->n_settings; i++)
        for (int l = 0; layer_name(t, l); l++) {
            double mean, sd;
            int n;
            char name[REPORT_MD_MAX], layer[REPORT_MD_MAX];
            sb_printf(sb, "| %s | %s | ",
                      report_markdown(t->settings[i].first->setting, name, sizeof name),
                      report_markdown(layer_name(t, l), layer, sizeof layer));
            report_setting_stats(&t->settings[i], MEASURE_ZERO, layer_name(t, l), &mean, &sd,
                                 &n);
            report_put_mean_sd(sb, mean, sd, n, 4);
            sb_append(sb, " | ");
            report_setting_stats(&t->settings[i], MEASURE_HOYER, layer_name(t, l), &mean, &sd,
                                 &n);
            report_put_mean_sd(sb, mean, sd, n, 4);
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
                report_compare_row(sb, &verdict, t, &t->settings[a], &t->settings[b],
                                   MEASURE_HOYER, layer_name(t, l));
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
            char tensor[REPORT_MD_MAX], name[REPORT_MD_MAX];
            sb_printf(sb, "| %s | %s |",
                      report_markdown(ref->params[p].tensor, tensor, sizeof tensor),
                      report_markdown(s->first->setting, name, sizeof name));
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
            /* each run's expected values are its own strength's (a swept
             * setting's chosen p differs by seed), pooled as its draws are */
            double mean = 0, var = 0, pz = 0, want_var = 0, want_pz = 0;
            int64_t draws = 0;
            for (int j = 0; j < s->n; j++) {
                if (l >= s->runs[j]->n_masks)
                    continue;
                const mask_record *m = &s->runs[j]->masks[l];
                mean += m->mean * (double)m->draws;
                var += m->var * (double)m->draws;
                pz += m->pr_zero * (double)m->draws;
                want_var += m->want_var * (double)m->draws;
                want_pz += m->want_pr_zero * (double)m->draws;
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
            char name[REPORT_MD_MAX], layer[REPORT_MD_MAX];
            sb_printf(sb, "| %s | %s | %lld | %.4f | %.4f | %.4f | %.4f | %.4f |\n",
                      report_markdown(s->first->setting, name, sizeof name),
                      report_markdown(m0->layer, layer, sizeof layer), (long long)draws,
                      mean / (double)draws, var / (double)draws, want_var / (double)draws,
                      pz / (double)draws, want_pz / (double)draws);
        }
    }
}

/* The devices the task's runs trained on, each with its run count where
 * there are several (a grid resumed on another machine). */
static void put_devices(strbuf *sb, const rep_task *t, int runs)
{
    const char *seen[REPORT_MAX_DEVICES];
    int count[REPORT_MAX_DEVICES], n = 0;
    for (int i = 0; i < t->n_settings; i++)
        for (int k = 0; k < t->settings[i].n; k++) {
            const char *d = t->settings[i].runs[k]->device;
            int j = 0;
            while (j < n && strcmp(seen[j], d) != 0)
                j++;
            if (j == n && n < REPORT_MAX_DEVICES) {
                seen[n] = d;
                count[n++] = 0;
            }
            if (j < n)
                count[j]++;
        }
    char md[REPORT_MD_MAX];
    for (int j = 0; j < n; j++) {
        sb_printf(sb, "%s%s", j == 0 ? "" : j == n - 1 ? " and " : ", ",
                  report_markdown(seen[j], md, sizeof md));
        if (n > 1)
            sb_printf(sb, " (%d of the %d runs)", count[j], runs);
    }
}

static void put_task_header(strbuf *sb, const rep_task *t)
{
    const run_result *r = t->settings[0].first;
    int runs = 0;
    for (int i = 0; i < t->n_settings; i++)
        runs += t->settings[i].n;
    bool lm = t->metric == RESULT_PERPLEXITY;
    sb_printf(sb, "\n## %s\n\n%d runs of %d settings (%s grid): %d epoch%s, %lld training "
                  "%s, %lld test %s, on ",
              t->name, runs, t->n_settings, r->quick ? "quick" : "full", r->n_epochs,
              r->n_epochs == 1 ? "" : "s", (long long)r->train_samples,
              lm ? "sequences" : "samples (validation included)", (long long)r->test_samples,
              lm ? "sequences (of the model's input length in tokens)" : "samples");
    put_devices(sb, t, runs);
    sb_append(sb, ".\n\n");
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
        report_put_primary(&sb, &r, task);
        put_scores(&sb, task);
        report_put_selection(&sb, task);
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
