/* What the per-device selectors (conv_select.c, lstm_select.c,
 * window_select.c) share: their override variable, and when a shape is
 * measured, the notice that the device is being measured, said once per
 * selection, and the cache entry the measurement goes to. */
#ifndef QSDC_MEASURE_SLOT_H
#define QSDC_MEASURE_SLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Whether the environment variable var forces one of a selection's two
 * ways, no or yes: then yes_for[i] (of n) says whether it is yes. */
bool measure_forced(const char *var, const char *no, const char *yes, bool *yes_for, int n);
/* items (n entries of size bytes), grown by one entry at the end unless
 * the shape being measured already has entry j >= 0; NULL when out of
 * memory (items is then unchanged). The first call of a selection (*said
 * false) tells stderr "qsdc: measuring WHAT for this device (once per PER;
 * the results are cached) ...": a large model's shapes take a while. */
void *measure_slot(void *items, int n, size_t size, int j, const char *what, const char *per,
                   bool *said, qsdc_error *err);

#endif
