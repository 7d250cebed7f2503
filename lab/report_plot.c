/* The report's figures: data files and one gnuplot script per results
 * directory, run once, writing SVG and PNG. Histograms of different runs
 * are pooled over seeds by spreading each bin over a common set of bins. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "file_io.h"
#include "report.h"
#include "report_escape.h"
#include "strbuf.h"

extern char **environ;

#define POOL_BINS 60

const char *const report_figure_names[FIG_COUNT] = {"curves", "sparsity", "weights", "biases",
                                                    "masks"};

static bool is_bias(const char *tensor)
{
    size_t n = strlen(tensor);
    return n >= 5 && !strcmp(tensor + n - 5, ".bias");
}

bool report_has_figure(const rep_task *t, enum report_figure f)
{
    const run_result *r = t->settings[0].first;
    switch (f) {
    case FIG_CURVES:
        return true;
    case FIG_SPARSITY:
        return r->n_activity > 0;
    case FIG_WEIGHTS:
    case FIG_BIASES:
        for (int i = 0; i < r->n_params; i++)
            if (is_bias(r->params[i].tensor) == (f == FIG_BIASES))
                return true;
        return false;
    case FIG_MASKS:
        for (int i = 0; i < t->n_settings; i++)
            if (t->settings[i].first->n_masks > 0)
                return true;
        return false;
    default:
        return false;
    }
}

/* One figure being written: its data file (blocks that gnuplot's `index`
 * addresses) and the plot commands that draw them. */
typedef struct figure {
    const rep_task *task;
    const char *name;
    strbuf data, gp;
    int blocks;
    bool empty_plot;
} figure;

/* Closes the data block just written; returns its index. */
static int end_block(figure *f)
{
    sb_append(&f->data, "\n\n");
    return f->blocks++;
}

static void plot_begin(figure *f, const char *title, const char *xlabel, const char *ylabel)
{
    sb_append(&f->gp, "set title ");
    report_put_gnuplot_string(&f->gp, title);
    sb_append(&f->gp, "\nset xlabel ");
    report_put_gnuplot_string(&f->gp, xlabel);
    sb_append(&f->gp, "\nset ylabel ");
    report_put_gnuplot_string(&f->gp, ylabel);
    sb_append(&f->gp, "\n");
    f->empty_plot = true;
}

/* x tics about a quarter of the range apart, at 1, 2 or 5 times a power of
 * ten, so that narrow panels do not crowd their labels. */
static void plot_xtics(figure *f, double lo, double hi)
{
    double raw = (hi - lo) / 4, mag = pow(10, floor(log10(raw)));
    double step = raw > 5 * mag ? 10 * mag : raw > 2 * mag ? 5 * mag : raw > mag ? 2 * mag : mag;
    sb_printf(&f->gp, "set xtics %.3g\n", step);
}

/* One series of setting number `setting`: its colour is the setting's in
 * every figure. */
static void plot_series(figure *f, int block, const char *using, const char *style,
                        int setting, const char *title)
{
    char data[QSDC_PATH_MAX];
    snprintf(data, sizeof data, "%s-%s.dat", f->name, f->task->name);
    sb_append(&f->gp, f->empty_plot ? "plot " : ", \\\n     ");
    report_put_gnuplot_string(&f->gp, data);
    sb_printf(&f->gp, " index %d using %s with %s lt %d title ", block, using, style,
              setting % 10 + 1);
    report_put_gnuplot_string(&f->gp, title);
    f->empty_plot = false;
}

static void plot_end(figure *f)
{
    if (f->empty_plot) /* nothing to draw: an empty panel with its title */
        sb_append(&f->gp, "set xrange [0:1]\nset yrange [0:1]\nplot 2 notitle\n"
                          "set autoscale\n");
    else
        sb_append(&f->gp, "\n");
    sb_append(&f->gp, "set xtics autofreq\n");
}

/* Per setting, per epoch: mean and sd over seeds of the training loss and
 * the test metric. */
static void fig_curves(figure *f)
{
    const rep_task *t = f->task;
    int *block = calloc((size_t)t->n_settings, sizeof *block);
    if (!block) {
        f->data.oom = 1;
        return;
    }
    int64_t max_epoch = 1;
    for (int i = 0; i < t->n_settings; i++)
        for (int j = 0; j < t->settings[i].n; j++)
            for (int k = 0; k < t->settings[i].runs[j]->n_epochs; k++)
                if (t->settings[i].runs[j]->epochs[k].epoch > max_epoch)
                    max_epoch = t->settings[i].runs[j]->epochs[k].epoch;
    for (int i = 0; i < t->n_settings; i++) {
        const rep_setting *s = &t->settings[i];
        double *l = malloc((size_t)s->n * sizeof *l), *a = malloc((size_t)s->n * sizeof *a);
        for (int64_t e = 1; l && a && e <= max_epoch; e++) {
            int n = 0;
            for (int j = 0; j < s->n; j++)
                for (int k = 0; k < s->runs[j]->n_epochs; k++)
                    if (s->runs[j]->epochs[k].epoch == e) {
                        l[n] = s->runs[j]->epochs[k].train_loss;
                        a[n++] = s->runs[j]->epochs[k].test;
                    }
            double lm, ls, am, as;
            stats_mean_sd(l, n, &lm, &ls);
            stats_mean_sd(a, n, &am, &as);
            if (n > 0)
                sb_printf(&f->data, "%lld %.9g %.9g %.9g %.9g\n", (long long)e, lm, ls, am, as);
        }
        if (!l || !a)
            f->data.oom = 1;
        free(l);
        free(a);
        block[i] = end_block(f);
    }
    sb_printf(&f->gp, "set multiplot layout 1,2\nset xrange [0.5:%lld.5]\n",
              (long long)max_epoch);
    for (int p = 0; p < 2; p++) {
        bool lm = t->metric == RESULT_PERPLEXITY;
        plot_begin(f, p == 0 ? "training loss by epoch"
                      : lm   ? "test perplexity by epoch"
                             : "test accuracy by epoch",
                   "", p == 0 ? "mean loss over the epoch" : lm ? "perplexity" : "accuracy (%)");
        if (max_epoch <= 20)
            sb_append(&f->gp, "set xtics 1\n");
        for (int i = 0; i < t->n_settings; i++)
            plot_series(f, block[i], p == 0 ? "1:2:3" : "1:4:5", "yerrorlines", i,
                        t->settings[i].first->setting);
        plot_end(f);
    }
    sb_append(&f->gp, "set autoscale x\n");
    free(block);
}

/* Writes the pooled histogram acc over [lo, hi) as a block of "centre
 * value" rows, value = acc / scale. */
static int put_pooled(figure *f, const double *acc, double lo, double hi, double scale)
{
    double w = (hi - lo) / POOL_BINS;
    for (int b = 0; b < POOL_BINS; b++)
        sb_printf(&f->data, "%.9g %.9g\n", lo + (b + 0.5) * w, scale > 0 ? acc[b] / scale : 0);
    return end_block(f);
}

static double acc_sum(const double *acc)
{
    double s = 0;
    for (int b = 0; b < POOL_BINS; b++)
        s += acc[b];
    return s;
}

/* The union of the ranges of a histogram of every run (what picks it:
 * which = 0 zero fraction, 1 Hoyer, of layer). */
static const histogram *activity_hist(const run_result *r, const char *layer, int which)
{
    for (int k = 0; k < r->n_activity; k++)
        if (!strcmp(r->activity[k].layer, layer))
            return which == 0 ? &r->activity[k].zero_hist : &r->activity[k].hoyer_hist;
    return NULL;
}

/* Panels of hidden layers: the per-sample zero fraction and Hoyer
 * sparsity, as the fraction of test samples per bin, pooled over seeds on
 * the union of the runs' ranges. */
static void fig_sparsity(figure *f)
{
    const rep_task *t = f->task;
    const run_result *ref = t->settings[0].first;
    sb_printf(&f->gp, "set multiplot layout 2,%d\n", ref->n_activity);
    for (int row = 0; row < 2; row++)
        for (int l = 0; l < ref->n_activity; l++) {
            const char *layer = ref->activity[l].layer;
            double lo = HUGE_VAL, hi = -HUGE_VAL;
            for (int i = 0; i < t->n_settings; i++)
                for (int j = 0; j < t->settings[i].n; j++) {
                    const histogram *h = activity_hist(t->settings[i].runs[j], layer, row);
                    if (h && hist_total(h) > 0) {
                        lo = fmin(lo, h->lo);
                        hi = fmax(hi, h->hi);
                    }
                }
            char title[160];
            snprintf(title, sizeof title, "%s: %s", layer,
                     row == 0 ? "fraction of zero units" : "Hoyer sparsity");
            plot_begin(f, title, "", "fraction of test samples");
            if (hi > lo)
                plot_xtics(f, lo, hi);
            for (int i = 0; i < t->n_settings && hi > lo; i++) {
                const rep_setting *s = &t->settings[i];
                double acc[POOL_BINS] = {0};
                for (int j = 0; j < s->n; j++) {
                    const histogram *h = activity_hist(s->runs[j], layer, row);
                    if (h)
                        hist_rebin(h, lo, hi, POOL_BINS, acc);
                }
                if (acc_sum(acc) > 0)
                    plot_series(f, put_pooled(f, acc, lo, hi, acc_sum(acc)), "1:2", "histeps",
                                i, s->first->setting);
            }
            plot_end(f);
        }
}

/* Panels of parameter tensors (biases or the rest): the density of the
 * trained values, pooled over seeds on the union of the runs' ranges. */
static void fig_params(figure *f, bool biases)
{
    const rep_task *t = f->task;
    const run_result *ref = t->settings[0].first;
    int panels = 0;
    for (int p = 0; p < ref->n_params; p++)
        panels += is_bias(ref->params[p].tensor) == biases;
    int cols = panels < 3 ? panels : 3;
    sb_printf(&f->gp, "set multiplot layout %d,%d\n", (panels + cols - 1) / cols, cols);
    for (int p = 0; p < ref->n_params; p++) {
        const char *name = ref->params[p].tensor;
        if (is_bias(name) != biases)
            continue;
        double lo = HUGE_VAL, hi = -HUGE_VAL;
        for (int i = 0; i < t->n_settings; i++)
            for (int j = 0; j < t->settings[i].n; j++)
                for (int k = 0; k < t->settings[i].runs[j]->n_params; k++) {
                    const param_record *pr = &t->settings[i].runs[j]->params[k];
                    if (!strcmp(pr->tensor, name)) {
                        lo = fmin(lo, pr->hist.lo);
                        hi = fmax(hi, pr->hist.hi);
                    }
                }
        plot_begin(f, name, "", "density");
        if (hi > lo)
            plot_xtics(f, lo, hi);
        for (int i = 0; i < t->n_settings && hi > lo; i++) {
            const rep_setting *s = &t->settings[i];
            double acc[POOL_BINS] = {0};
            for (int j = 0; j < s->n; j++)
                for (int k = 0; k < s->runs[j]->n_params; k++)
                    if (!strcmp(s->runs[j]->params[k].tensor, name))
                        hist_rebin(&s->runs[j]->params[k].hist, lo, hi, POOL_BINS, acc);
            double area = acc_sum(acc) * (hi - lo) / POOL_BINS;
            if (area > 0)
                plot_series(f, put_pooled(f, acc, lo, hi, area), "1:2", "histeps", i,
                            s->first->setting);
        }
        plot_end(f);
    }
}

/* One panel: the density of the non-zero masks of each setting's first
 * regularised layer, scaled so its area is 1 - Pr[m = 0]. */
static void fig_masks(figure *f)
{
    const rep_task *t = f->task;
    double hi = 0;
    for (int i = 0; i < t->n_settings; i++)
        for (int j = 0; j < t->settings[i].n; j++)
            if (t->settings[i].runs[j]->n_masks > 0)
                hi = fmax(hi, t->settings[i].runs[j]->masks[0].hist.hi);
    plot_begin(f, "masks m drawn on the device (first regularised layer)", "", "density");
    for (int i = 0; i < t->n_settings && hi > 0; i++) {
        const rep_setting *s = &t->settings[i];
        double acc[POOL_BINS] = {0}, draws = 0, zeros = 0;
        for (int j = 0; j < s->n; j++) {
            if (s->runs[j]->n_masks == 0)
                continue;
            const mask_record *m = &s->runs[j]->masks[0];
            hist_rebin(&m->hist, 0, hi, POOL_BINS, acc);
            draws += (double)m->draws;
            zeros += m->pr_zero * (double)m->draws;
        }
        if (draws == 0)
            continue;
        char title[160];
        snprintf(title, sizeof title, "%s, Pr[m=0] = %.3f", s->first->setting, zeros / draws);
        plot_series(f, put_pooled(f, acc, 0, hi, draws * hi / POOL_BINS), "1:2", "histeps", i,
                    title);
    }
    plot_end(f);
}

static const struct {
    int width, height;
} sizes[FIG_COUNT] = {{1000, 420}, {0, 640}, {0, 0}, {0, 0}, {720, 440}};

/* The figure's size in pixels: a few hundred per panel. */
static void figure_size(const rep_task *t, enum report_figure fig, int *w, int *h)
{
    const run_result *ref = t->settings[0].first;
    *w = sizes[fig].width;
    *h = sizes[fig].height;
    if (fig == FIG_SPARSITY)
        *w = 400 * (ref->n_activity > 1 ? ref->n_activity : 2);
    if (fig == FIG_WEIGHTS || fig == FIG_BIASES) {
        int panels = 0;
        for (int p = 0; p < ref->n_params; p++)
            panels += is_bias(ref->params[p].tensor) == (fig == FIG_BIASES);
        int cols = panels < 3 ? panels : 3;
        *w = 400 * cols;
        *h = 340 * ((panels + cols - 1) / cols);
    }
}

/* Data file and script part of one figure, drawn once per format. */
static int write_figure(const char *figdir, const rep_task *t, enum report_figure fig,
                        strbuf *script, qsdc_error *err)
{
    figure f = {.task = t, .name = report_figure_names[fig]};
    sb_init(&f.data);
    sb_init(&f.gp);
    switch (fig) {
    case FIG_CURVES: fig_curves(&f); break;
    case FIG_SPARSITY: fig_sparsity(&f); break;
    case FIG_WEIGHTS: fig_params(&f, false); break;
    case FIG_BIASES: fig_params(&f, true); break;
    default: fig_masks(&f); break;
    }
    int w, h;
    figure_size(t, fig, &w, &h);
    char stem[QSDC_PATH_MAX];
    snprintf(stem, sizeof stem, "%s-%s.", f.name, t->name);
    sb_printf(script, "do for [fmt in \"svg png\"] {\n  eval term(fmt, %d, %d)\n  set output ",
              w, h);
    report_put_gnuplot_string(script, stem);
    sb_printf(script,
              ".fmt.'.tmp'\n"
              "%s"
              "  unset multiplot\n"
              "  set output\n"
              "}\n",
              sb_str(&f.gp));
    char path[QSDC_PATH_MAX];
    int rc = result_path(path, err, "%s/%s-%s.dat", figdir, f.name, t->name);
    if (rc == 0)
        rc = sb_check(&f.data, err);
    if (rc == 0)
        rc = sb_check(&f.gp, err);
    if (rc == 0)
        rc = fs_write_atomic(path, NULL, 0, sb_str(&f.data), f.data.len, err);
    sb_free(&f.data);
    sb_free(&f.gp);
    return rc;
}

/* Runs gnuplot on the script, output to figures/gnuplot.log. 1 when
 * gnuplot is not installed. */
static int run_gnuplot(const char *figdir, const char *script, qsdc_error *err)
{
    char log[QSDC_PATH_MAX];
    if (result_path(log, err, "%s/gnuplot.log", figdir) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char *argv[] = {"gnuplot", (char *)script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == ENOENT)
        return 1;
    if (rc != 0)
        return qsdc_fail(err, "cannot run gnuplot: %s", strerror(rc));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return qsdc_fail(err, "waiting for gnuplot: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return qsdc_fail(err, "gnuplot failed drawing the figures (see %s)", log);
    return 0;
}

/* The temporary files gnuplot wrote, renamed into place. */
static int publish(const char *figdir, const report *r, qsdc_error *err)
{
    static const char *const formats[] = {"svg", "png"};
    for (int t = 0; t < r->n_tasks; t++)
        for (int fig = 0; fig < FIG_COUNT; fig++)
            for (int k = 0; k < 2 && report_has_figure(&r->tasks[t], fig); k++) {
                char from[QSDC_PATH_MAX], to[QSDC_PATH_MAX];
                if (result_path(to, err, "%s/%s-%s.%s", figdir, report_figure_names[fig],
                                r->tasks[t].name, formats[k]) < 0 ||
                    result_path(from, err, "%s.tmp", to) < 0)
                    return -1;
                if (rename(from, to) != 0)
                    return qsdc_fail(err, "%s: %s", from, strerror(errno));
            }
    return 0;
}

int report_plot(const report *r, bool *made, char *why, size_t why_len, qsdc_error *err)
{
    *made = false;
    char figdir[QSDC_PATH_MAX], script_path[QSDC_PATH_MAX];
    if (result_path(figdir, err, "%s/figures", r->dir) < 0 ||
        result_path(script_path, err, "%s/report.gp", figdir) < 0)
        return -1;
    if (!report_gnuplot_exact(figdir))
        return qsdc_fail(err, "%s: a control character in the path, which gnuplot's script "
                              "cannot name", figdir);
    if (fs_make_dirs(figdir, err) < 0)
        return -1;
    strbuf gp;
    sb_init(&gp);
    sb_append(&gp, "# Written by qsdc report: every figure of this directory, as SVG and "
                   "PNG.\ncd ");
    report_put_gnuplot_string(&gp, figdir);
    sb_append(&gp, "\nset encoding utf8\n"
                   "pngterm = strstrt(GPVAL_TERMINALS, 'pngcairo') > 0 ? 'pngcairo' : 'png'\n"
                   "term(fmt, w, h) = fmt eq 'svg' ? sprintf(\"set terminal svg size %d,%d "
                   "dynamic noenhanced font 'Sans,11' background rgb 'white'\", w, h) : "
                   "sprintf(\"set terminal %s size %d,%d noenhanced font 'Sans,10'\", "
                   "pngterm, w, h)\n"
                   "set grid\nset key below\n"
                   "set linetype cycle 10\n");
    static const char *const colours[] = {"#000000", "#d62728", "#1f77b4", "#2ca02c",
                                           "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
                                           "#e377c2", "#7f7f7f"};
    for (int i = 0; i < 10; i++)
        sb_printf(&gp, "set linetype %d lc rgb '%s' lw 1.5\n", i + 1, colours[i]);
    int rc = 0;
    for (int t = 0; rc == 0 && t < r->n_tasks; t++)
        for (int fig = 0; rc == 0 && fig < FIG_COUNT; fig++)
            if (report_has_figure(&r->tasks[t], fig))
                rc = write_figure(figdir, &r->tasks[t], fig, &gp, err);
    if (rc == 0)
        rc = sb_check(&gp, err);
    if (rc == 0)
        rc = fs_write_atomic(script_path, NULL, 0, sb_str(&gp), gp.len, err);
    sb_free(&gp);
    /* the script changes directory itself, so it is given by its name there */
    if (rc == 0)
        rc = run_gnuplot(figdir, script_path, err);
    if (rc == 1) {
        snprintf(why, why_len, "gnuplot is not installed (apt-get install gnuplot-nox), "
                               "then run qsdc report again");
        return 0;
    }
    if (rc == 0)
        rc = publish(figdir, r, err);
    *made = rc == 0;
    return rc;
}
