/* What every command shares: its error line, its number options and file
 * names. */
#include <errno.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_error(const char *message)
{
    fprintf(stderr, "qsdc: %s\n", message);
    return 1;
}

int cli_int(const char *opt, const char *text, long long min, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min) {
        fprintf(stderr, "qsdc: %s expects an integer >= %lld, got '%s'\n", opt, min, text);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_double(const char *opt, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v > 0) || v > 1e6) {
        fprintf(stderr, "qsdc: %s expects a positive number, got '%s'\n", opt, text);
        return -1;
    }
    if (v < FLT_MIN) {  /* the device computes in float32 */
        fprintf(stderr, "qsdc: %s %s is below the smallest normal float32 (%g) and would "
                "round to 0 or lose precision on the device\n", opt, text, FLT_MIN);
        return -1;
    }
    *out = v;
    return 0;
}

bool cli_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}
