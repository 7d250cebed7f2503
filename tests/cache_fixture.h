/* The per-device choice caches as the selector tests see them: a private
 * cache folder, the cache file a selection wrote, and rewriting its lines. */
#ifndef QSDC_TEST_CACHE_FIXTURE_H
#define QSDC_TEST_CACHE_FIXTURE_H

#include <stddef.h>

/* QSDC_CACHE_DIR set to a folder of the test's own, and force_var (the
 * selector's override) unset. */
void cf_private_cache(const char *force_var);
/* The path of the cache file NAME-<device hash>.txt there. */
void cf_cache_file(const char *name, char *path, size_t size);
/* Every line of the file at path rewritten by the awk program, in place. */
void cf_rewrite(const char *path, const char *awk_program);

#endif
