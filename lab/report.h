/* qsdc report: the result.json files of an experiment's results directory,
 * grouped by task and setting, summarised in report.md with figures drawn
 * by gnuplot. */
#ifndef QSDC_REPORT_H
#define QSDC_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "experiment_plan.h"
#include "experiment_result.h"
#include "strbuf.h"

/* One setting of a task: its runs, in seed order. */
typedef struct rep_setting {
    const run_result *first;   /* for the name, kind and parameters */
    int n;
    const run_result **runs;
} rep_setting;

typedef struct rep_task {
    const char *name;
    result_metric metric;      /* every run's (report_load checks) */
    double margin;             /* the plan's equivalence margin, 0 without a plan */
    double sparsity_margin;    /* the plan's for sparsity, 0 without one */
    int n_settings;
    rep_setting *settings;     /* in the experiment file's order */
} rep_task;

typedef struct report {
    const char *dir;
    int n_runs, n_tasks;
    run_result *runs;
    rep_task *tasks;
    exp_plan plan;             /* DIR/plan.json's; n_primary 0 without one */
} report;

/* Reads every DIR/<run>/result.json and groups them (at least one run),
 * and DIR/plan.json when there is one. */
int report_load(const char *dir, report *out, qsdc_error *err);
void report_free(report *r);

/* "dropout p=0.5", "QSD p=0.25 n=4 v=0.5 (matched variance)"; a setting
 * that swept strengths: "dropout, p chosen on validation", "QSD n=4 v=0.5
 * (matched variance), dropout_p chosen on validation". */
void report_describe(const run_result *r, char *buf, size_t n);

/* What a comparison compares: the task's test metric (accuracy or
 * perplexity), or a hidden layer's mean zero fraction or Hoyer sparsity. */
typedef enum rep_measure { MEASURE_SCORE, MEASURE_ZERO, MEASURE_HOYER } rep_measure;

/* A run's value of measure k (of layer for the activity measures); NaN
 * when the run has no such layer. */
double report_measure(const run_result *r, rep_measure k, const char *layer);
/* Mean and sample sd over a setting's runs of the finite values of k, and
 * their number. */
void report_setting_stats(const rep_setting *s, rep_measure k, const char *layer,
                          double *mean, double *sd, int *n);
/* "85.10 ± 0.20" (the sd left out for a single run, "n/a" for none). */
void report_put_mean_sd(strbuf *sb, double mean, double sd, int n, int digits);

/* One paired comparison a − b of a task; its names as markdown text
 * (report_markdown). */
typedef struct rep_comparison {
    const char *task, *a, *b;
    const char *layer;         /* NULL for the test metric */
    rep_measure measure;
    result_metric metric;      /* the task's: which way is better */
    double margin;             /* > 0: a difference not shown is tested for
                                  equivalence within ±margin (TOST) */
} rep_comparison;

/* a − b paired by seed on measure k (of layer): -1, with t->n the seeds
 * they share, when fewer than 2 have finite values. */
int report_pair(const rep_setting *a, const rep_setting *b, rep_measure k, const char *layer,
                paired_test *t);
/* Digits the report prints a measure's differences with. */
int report_digits(rep_measure k, result_metric metric);
/* p to 3 decimals ("< 0.001", "n/a" for NaN), 5 near 0.05; an interval
 * "lo to hi" with signs; t to 2 decimals. */
void report_put_p(strbuf *sb, double p);
void report_put_interval(strbuf *sb, double lo, double hi, int digits);
void report_put_t(strbuf *sb, double t);

/* The strength each swept setting chose per seed, and every candidate's
 * validation score; nothing when no setting swept. */
void report_put_selection(strbuf *sb, const rep_task *t);

/* One primary contrast a − b of a task, its paired test and TOST against
 * its plan's margin, and their p-values Holm-adjusted over a family. */
typedef struct report_contrast {
    const rep_task *task;
    const char *a, *b;
    double margin;
    int planned;               /* the plan's seeds: fewer paired is an interim verdict */
    bool ok;                   /* false: fewer than two seeds to pair */
    paired_test t;
    tost_test e;
    double p, p_holm, tost_p, tost_holm;
} report_contrast;

/* The primary contrasts the plan of r states for task t, into out (room
 * for PLAN_MAX_PRIMARY), unadjusted: their number, 0 without a plan. */
int report_primary_contrasts(const report *r, const rep_task *t, report_contrast *out);
/* Holm's adjustment of the n contrasts' p and TOST p as one family. */
int report_contrasts_adjust(report_contrast *c, int n, qsdc_error *err);
/* "a − b | seeds | difference | interval | t | df | p | Holm p | TOST p |
 * verdict |\n": a row's cells after its first "| ". */
void report_put_contrast_row(strbuf *sb, const report_contrast *c);

/* The task's primary contrasts, when the report's plan is the task's:
 * their paired tests, Holm-adjusted p, TOST against the plan's margin and
 * the verdict of each. */
void report_put_primary(strbuf *sb, const report *r, const rep_task *t);
/* Whether the report states primary contrasts for task t (its other
 * comparisons are then exploratory). */
bool report_has_primary(const report *r, const rep_task *t);

/* The sentence for the paired test t of c: "**a beat b** on task: test
 * perplexity lower by ..." when p < 0.05 (beat: higher accuracy, lower
 * perplexity), "**Undetermined** ..." when the differences have zero
 * spread (p NaN), else "**No significant difference** ...", which with a
 * margin ends in its TOST: "...; TOST within ±0.50: p = 0.012, so
 * **equivalent**" (or **undetermined**). */
void report_verdict(strbuf *sb, const rep_comparison *c, const paired_test *t);
/* The table row "| a − b | [layer |] seeds | difference | interval | t | df
 * | p |" of a and b paired by seed and, when verdict is not NULL, its
 * sentence appended there. */
void report_compare_row(strbuf *sb, strbuf *verdict, const rep_task *task, const rep_setting *a,
                        const rep_setting *b, rep_measure k, const char *layer);

/* The figures of a task, figures/NAME-TASK.svg and .png. */
enum report_figure { FIG_CURVES, FIG_SPARSITY, FIG_WEIGHTS, FIG_BIASES, FIG_MASKS, FIG_COUNT };
extern const char *const report_figure_names[FIG_COUNT];
/* Whether the task has data for the figure (hidden layers, biases, masks). */
bool report_has_figure(const rep_task *t, enum report_figure f);

/* Writes dir/figures/: per task its figures' data files, one gnuplot
 * script (report.gp) and through it each figure as SVG and PNG, each made
 * under a temporary name and renamed. *made is false (and why says why)
 * when gnuplot is not installed; a failing gnuplot is an error (its output
 * is in figures/gnuplot.log). */
int report_plot(const report *r, bool *made, char *why, size_t why_len, qsdc_error *err);

/* report_load, report_plot, then dir/report.md (atomically); a line on
 * log says what was written. */
int report_write(const char *dir, FILE *log, qsdc_error *err);

/* The primary contrasts of the n results directories' plans as one family
 * across their tasks, Holm-adjusted together, written to path as markdown
 * (atomically); a line on log says what was written. */
int report_family_write(const char *const *dirs, int n, const char *path, FILE *log,
                        qsdc_error *err);

#endif
