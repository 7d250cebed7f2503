/* The per-device choice caches as the selector tests see them: a private
 * cache folder, the model a suite selects for, the cache file a selection
 * wrote, and rewriting its lines. */
#ifndef QSDC_TEST_CACHE_FIXTURE_H
#define QSDC_TEST_CACHE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

/* QSDC_CACHE_DIR set to a folder of the test's own, and force_var (the
 * selector's override) unset. */
void cf_private_cache(const char *force_var);
/* cf_private_cache(force_var), then yaml loaded as the suite's model,
 * cf_model(), which the group teardown cf_teardown frees. */
void cf_setup(const char *force_var, const char *yaml);
model *cf_model(void);
int cf_teardown(void **state);
/* Ends a ts_stderr_begin capture around a selection: it said "qsdc:
 * measuring WHAT for this device", or with what NULL nothing of measuring
 * (the selection read the cache). */
void cf_said_measuring(const char *what);
/* Runs select (a selection of the suite's shapes, returning how many it
 * chose one way) twice: measuring, and then from the cache the same
 * choice, each saying so (cf_said_measuring: WHAT); path gets the cache
 * file NAME-<device hash>.txt they wrote. Returns the count. */
int cf_select_twice(int (*select)(bool remeasure), const char *what, const char *name,
                    char *path, size_t size);
/* The path of the cache file NAME-<device hash>.txt there. */
void cf_cache_file(const char *name, char *path, size_t size);
/* Every line of the file at path rewritten by the awk program, in place. */
void cf_rewrite(const char *path, const char *awk_program);

#endif
