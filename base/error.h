/* Error records: formatting helpers over qsdc_error. */
#ifndef QSDC_ERROR_H
#define QSDC_ERROR_H

#include "qsdc.h"

#if defined(__GNUC__)
#define QSDC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define QSDC_PRINTF(a, b)
#endif

/* Sets err->message (err may be NULL) and returns -1. */
int qsdc_fail(qsdc_error *err, const char *fmt, ...) QSDC_PRINTF(2, 3);
/* "path:line:col: error: message", line and col 1-based. */
int qsdc_fail_at(qsdc_error *err, const char *path, int line, int col,
                 const char *fmt, ...) QSDC_PRINTF(5, 6);
/* Prefixes the existing message with "context: " and returns -1. */
int qsdc_error_wrap(qsdc_error *err, const char *fmt, ...) QSDC_PRINTF(2, 3);
void qsdc_error_clear(qsdc_error *err);

#endif
