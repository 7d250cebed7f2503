/* Plan records and bundle folders for the bundle tests. */
#ifndef QSDC_BUNDLE_FIXTURE_H
#define QSDC_BUNDLE_FIXTURE_H

#include <stdint.h>

#include "plan.h"

/* x[4,6] -> dense 3 -> relu -> softmax, and an update kernel: the sources
 * make_plans' plans carry. */
extern const char bundle_infer_source[], bundle_train_source[];
/* An inference and a training plan over those sources. Field values are
 * distinct so a swapped field shows; names need quoting; flops and bytes
 * need 17 digits or an exponent to survive the trip. */
void make_plans(plan *infer, plan *train, int64_t batch);
/* dir/name (static storage rotated over 4 slots); dir is at most 1300 bytes. */
const char *path_in(const char *dir, const char *name);
/* ts_tmpdir()/name (static storage rotated over 4 slots). */
const char *bundle_dir(const char *name);

#endif
