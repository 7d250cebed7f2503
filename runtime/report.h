/* qsdc report: the result.json files of an experiment's results directory,
 * grouped by task and setting, summarised in report.md with figures drawn
 * by gnuplot. */
#ifndef QSDC_REPORT_H
#define QSDC_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "experiment_result.h"

/* One setting of a task: its runs, in seed order. */
typedef struct rep_setting {
    const run_result *first;   /* for the name, kind and parameters */
    int n;
    const run_result **runs;
} rep_setting;

typedef struct rep_task {
    const char *name;
    int n_settings;
    rep_setting *settings;     /* in the experiment file's order */
} rep_task;

typedef struct report {
    const char *dir;
    int n_runs, n_tasks;
    run_result *runs;
    rep_task *tasks;
} report;

/* Reads every DIR/<run>/result.json and groups them. At least one run. */
int report_load(const char *dir, report *out, qsdc_error *err);
void report_free(report *r);

/* "dropout p=0.5", "QSD p=0.25 n=4 v=0.5 (matched variance)". */
void report_describe(const run_result *r, char *buf, size_t n);

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

#endif
