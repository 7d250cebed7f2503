/* What every harness checks of a failure: the target returned -1 with a
 * message that names where the problem is (it starts with `origin`), as
 * the conventions require, and never crashed on the way. */
#ifndef QSDC_FUZZ_COMMON_H
#define QSDC_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qsdc.h"

static inline void fuzz_expect_error(const qsdc_error *err, const char *origin)
{
    size_t len = strnlen(err->message, sizeof err->message);
    if (len == 0 || len == sizeof err->message ||
        (origin && strncmp(err->message, origin, strlen(origin)) != 0)) {
        fprintf(stderr, "failure without a proper message (want prefix '%s'): '%.*s'\n",
                origin ? origin : "", (int)sizeof err->message, err->message);
        abort();
    }
}

#endif
