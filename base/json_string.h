/* A string as JSON that the YAML reader (which reads result.json) gives
 * back unchanged. */
#ifndef QSDC_JSON_STRING_H
#define QSDC_JSON_STRING_H

#include "strbuf.h"

/* s in double quotes: '"' and '\' escaped, and as \u escapes every
 * character YAML does not take raw or would read as a line break (C0 and
 * C1 controls, DEL, U+2028, U+2029, U+FFFE, U+FFFF); a byte that starts no
 * UTF-8 sequence (a stray continuation, an overlong or cut-short sequence,
 * a surrogate) as U+FFFD. */
void json_put_string(strbuf *sb, const char *s);

#endif
