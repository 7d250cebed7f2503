/* Whether a plan read from a bundle is the plan its model compiles to
 * (bundle_verify.c). */
#ifndef QSDC_BUNDLE_VERIFY_H
#define QSDC_BUNDLE_VERIFY_H

#include "plan.h"

#define BUNDLE_MODEL "model.yaml"

/* Compiles m (the bundle dir's model.yaml) for p's role, batch and target
 * and refuses p, naming the first difference, unless the two plans agree in
 * every field plan.yaml holds and in their kernels' source. */
int bundle_verify_plan(const char *dir, const model *m, const plan *p, qsdc_error *err);

#endif
