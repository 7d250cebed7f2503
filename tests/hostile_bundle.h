/* Bundles changed after compiling, as issue 24 found them: each made the
 * kernels write outside their buffers or crashed the driver's loader before
 * qsdc verified bundles. test_bundle_run checks qsdc refuses them and
 * test_oclgrind_bundles that nothing runs out of bounds meanwhile.
 * Call only from inside cmocka tests: failures end the current test. */
#ifndef QSDC_HOSTILE_BUNDLE_H
#define QSDC_HOSTILE_BUNDLE_H

#include <stdbool.h>

/* Copies the bundle folder at from to ts_tmpdir()/name; returns the copy's
 * path (static storage, overwritten by the next call). */
const char *hostile_copy(const char *from, const char *name);
/* The inference plan's arena shrunk to the smallest plan_yaml_read
 * accepts, every offset plan.yaml states moved into it, checksums
 * rewritten to match; the kernels keep their offsets. */
void hostile_shrink_arena(const char *dir);
/* kernels.cl's first kernel writes far below the arena; with
 * reseal, plan.yaml's checksum of it is rewritten to match. */
void hostile_write_below(const char *dir, bool reseal);
/* Every 97th byte of kernels.bin's last seven eighths flipped. */
void hostile_garble_binary(const char *dir);

#endif
