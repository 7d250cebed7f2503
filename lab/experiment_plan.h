/* An experiment's analysis plan, stated before its runs: the primary
 * contrasts (setting a against setting b, paired by seed), Holm-corrected
 * as one family and tested for equivalence within a margin, the number of
 * seeds they are to be tested on, and optionally the margin within which
 * two settings' sparsity counts as equivalent. The experiment file states
 * it (primary:, equivalence_margin:, sparsity_margin:, seeds:); qsdc
 * experiment records it in RESULTS_DIR/plan.json before the first run, and
 * qsdc report reads it from there. */
#ifndef QSDC_EXPERIMENT_PLAN_H
#define QSDC_EXPERIMENT_PLAN_H

#include <stdbool.h>

#include "error.h"
#include "qsdc.h"
#include "yaml_doc.h"

#define PLAN_FORMAT "qsdc-experiment-plan-2"
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
    double sparsity_margin;    /* the same for Hoyer sparsity and zero fraction; 0: none */
    int seeds;                 /* the seeds planned: fewer make an interim analysis */
} exp_plan;

/* Reads primary: ["a vs b", ...], equivalence_margin: x (required with
 * primary) and sparsity_margin: y (optional) from mapping map into p
 * (n_primary 0 when map has no primary); p->seeds is left to the caller.
 * Each name must be one of the n names when names is not NULL. */
int plan_parse(ydoc *d, yaml_node_t *map, const char (*names)[QSDC_NAME_MAX], int n,
               exp_plan *p);
/* plan.json: written atomically; read with every key checked. */
int plan_write(const char *path, const exp_plan *p, qsdc_error *err);
int plan_read(const char *path, exp_plan *p, qsdc_error *err);
bool plan_equal(const exp_plan *x, const exp_plan *y);

#endif
