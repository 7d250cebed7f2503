#include "measure_slot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool measure_forced(const char *var, const char *no, const char *yes, bool *yes_for, int n)
{
    const char *force = getenv(var);
    if (!force || (strcmp(force, no) != 0 && strcmp(force, yes) != 0))
        return false;
    for (int i = 0; i < n; i++)
        yes_for[i] = !strcmp(force, yes);
    return true;
}

void *measure_slot(void *items, int n, size_t size, int j, const char *what, const char *per,
                   bool *said, qsdc_error *err)
{
    if (!*said)
        fprintf(stderr, "qsdc: measuring %s for this device (once per %s; the results are "
                        "cached) ...\n", what, per);
    *said = true;
    if (j >= 0)
        return items;
    void *grown = realloc(items, (size_t)(n + 1) * size);
    if (!grown)
        qsdc_fail(err, "out of memory");
    return grown;
}
