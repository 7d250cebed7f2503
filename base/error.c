#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int qsdc_fail(qsdc_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

int qsdc_fail_at(qsdc_error *err, const char *path, int line, int col,
                 const char *fmt, ...)
{
    if (!err)
        return -1;
    int n = snprintf(err->message, sizeof err->message, "%s:%d:%d: error: ",
                     path, line, col);
    if (n < 0 || (size_t)n >= sizeof err->message)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + n, sizeof err->message - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

int qsdc_error_wrap(qsdc_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    size_t plen = strlen(prefix);
    memcpy(prefix + plen, ": ", 3);
    plen += 2;
    size_t cap = sizeof err->message;
    size_t keep = strnlen(err->message, cap - 1);
    if (plen + keep >= cap)
        keep = cap - 1 - plen;
    memmove(err->message + plen, err->message, keep);
    memcpy(err->message, prefix, plen);
    err->message[plen + keep] = '\0';
    return -1;
}

void qsdc_error_clear(qsdc_error *err)
{
    if (err)
        err->message[0] = '\0';
}
