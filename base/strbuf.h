/* A growable string for rendering kernel source, YAML and reports. */
#ifndef QSDC_STRBUF_H
#define QSDC_STRBUF_H

#include <stddef.h>

#include "error.h"

typedef struct strbuf {
    char *data;   /* always NUL-terminated once anything was appended */
    size_t len, cap;
    int oom;      /* set when an allocation failed; later appends are no-ops */
} strbuf;

void sb_init(strbuf *sb);
void sb_free(strbuf *sb);
void sb_append(strbuf *sb, const char *s);
void sb_appendn(strbuf *sb, const char *s, size_t n);
void sb_printf(strbuf *sb, const char *fmt, ...) QSDC_PRINTF(2, 3);
/* Returns the string (never NULL) or fails with "out of memory". */
int sb_check(const strbuf *sb, qsdc_error *err);
const char *sb_str(const strbuf *sb);

#endif
