/* An experiment's analysis plan, stated before its runs: the primary
 * contrasts (setting a against setting b, paired by seed), Holm-corrected
 * as one family and tested for equivalence within a margin. The
 * experiment file states it (primary:, equivalence_margin:); qsdc
 * experiment records it in RESULTS_DIR/plan.json before the first run, and
 * qsdc report reads it from there. */
#ifndef QSDC_EXPERIMENT_PLAN_H
#define QSDC_EXPERIMENT_PLAN_H

#include <stdbool.h>

#include "error.h"
#include "qsdc.h"
#include "yaml_doc.h"

#define PLAN_FORMAT "qsdc-experiment-plan-1"
#define PLAN_MAX_PRIMARY 16
/* The family-wise error rate of the primary verdicts. */
#define PLAN_ALPHA 0.05

typedef struct exp_contrast {
    char a[QSDC_NAME_MAX], b[QSDC_NAME_MAX];
} exp_contrast;

typedef struct exp_plan {
    char experiment[QSDC_NAME_MAX];
    int n_primary;             /* 0: no plan stated */
    exp_contrast primary[PLAN_MAX_PRIMARY];
    double margin;             /* equivalence margin, in the task's metric, > 0 */
} exp_plan;

/* Reads primary: ["a vs b", ...] and equivalence_margin: x (required with
 * primary) from mapping map into p (n_primary 0 when map has no primary).
 * Each name must be one of the n names when names is not NULL. */
int plan_parse(ydoc *d, yaml_node_t *map, const char (*names)[QSDC_NAME_MAX], int n,
               exp_plan *p);
/* plan.json: written atomically; read with every key checked. */
int plan_write(const char *path, const exp_plan *p, qsdc_error *err);
int plan_read(const char *path, exp_plan *p, qsdc_error *err);
bool plan_equal(const exp_plan *x, const exp_plan *y);

#endif
