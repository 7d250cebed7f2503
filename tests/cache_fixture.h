/* The per-device choice caches as the selector suites test them: a
 * private cache folder, the model a suite selects for, and the tests
 * every selector passes: its cache file as a first selection writes it and
 * later ones read it, and measuring again. */
#ifndef QSDC_TEST_CACHE_FIXTURE_H
#define QSDC_TEST_CACHE_FIXTURE_H

#include <stdbool.h>

#include "cl_runtime.h"
#include "model.h"

/* A selector as its suite tests it. */
typedef struct cf_selector {
    const char *force_var; /* its override, unset for the suite */
    const char *yaml;      /* the suite's model */
    const char *name;      /* its cache file: NAME-<device hash>.txt */
    const char *what;      /* what its notice says it measures */
    /* a selection of the suite's shapes on env: how many it chose one way */
    int (*select)(cl_env *env, bool remeasure);
    int shapes; /* the shapes the selection asks about */
    int lines;  /* their distinct keys, a cache line each */
    /* checks a cache line of measured times: how many of the selection's
     * shapes its times choose the one way */
    int (*check_line)(const char *line);
    /* awk programs that rewrite every cache line's times so that each
     * shape goes the one way, and the other */
    const char *one_way, *other_way;
    /* the values of force_var that force the one way, and the other */
    const char *forced_one, *forced_other;
} cf_selector;

/* The suite's selector, for the group setup cf_setup: QSDC_CACHE_DIR set
 * to a folder of the test's own, s->force_var unset, and s->yaml loaded as
 * the suite's model, cf_model(), which the group teardown cf_teardown
 * frees. Call before cmocka_run_group_tests. */
void cf_suite(const cf_selector *s);
int cf_setup(void **state);
model *cf_model(void);
int cf_teardown(void **state);
/* Ends a ts_stderr_begin capture around a selection: it said "qsdc:
 * measuring WHAT for this device", or with what NULL nothing of measuring
 * (the selection read the cache). */
void cf_said_measuring(const char *what);
/* The first selection on the test device measures, saying so (a large
 * model's shapes take a while), and writes the suite's cache lines, which
 * check_line passes and whose times made its choice; a second reads them,
 * saying nothing, and chooses the same. The suite's first test. */
void cf_test_measures_and_caches(void **state);
/* Cached times are used as they stand: the selection goes the one way or
 * the other as the lines say; measuring again, as `qsdc tune` does,
 * replaces every line, measuring each distinct shape once however often it
 * is asked about. */
void cf_test_reads_the_cache(void **state);
/* force_var forces the one way or the other whatever the cache says; with
 * ts_restore_env as its teardown. */
void cf_test_overrides(void **state);
/* The sum of check_line over the suite's cache file, which has its lines. */
int cf_check_lines(void);
/* Every line of the suite's cache file rewritten by the awk program, in
 * place. */
void cf_rewrite(const char *awk_program);

#endif
