/* The report's strings where another interpreter reads them. A result.json
 * is untrusted input (docs/testing.md): every name from one that reaches
 * gnuplot's script or report.md's markdown goes through here. */
#ifndef QSDC_REPORT_ESCAPE_H
#define QSDC_REPORT_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

/* s as a gnuplot string expression: single-quoted (gnuplot expands
 * neither backquotes nor macros there), every control character, which
 * would end the command (a newline) or garble it, replaced by '?', and each
 * quote the string "'" joined on with `.`: gnuplot 5.4 misreads the doubled
 * quote meant to escape one where it opens the string or follows another
 * ('''x' and 'a''''b' are two strings each). Every place the report puts a
 * string (titles, labels, output, cd) takes an expression. */
void report_put_gnuplot_string(strbuf *sb, const char *s);
/* Whether report_put_gnuplot_string keeps s as it is (no control
 * characters): a path must be refused rather than rewritten. */
bool report_gnuplot_exact(const char *s);

/* Room for the markdown of a name of up to 2 * QSDC_NAME_MAX bytes, or of a
 * device name, each byte escaped. */
#define REPORT_MD_MAX 512
/* s as markdown text of a table cell or list item, into out (n bytes,
 * truncated before an escape that would not fit): '|', which would end the
 * cell, and '\' escaped by a backslash; every control character (a
 * newline would end the row) a space. Returns out. */
const char *report_markdown(const char *s, char *out, size_t n);

#endif
