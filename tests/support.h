/* Helpers shared by the cmocka suites. */
#ifndef QSDC_TEST_SUPPORT_H
#define QSDC_TEST_SUPPORT_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* A fresh directory under $TMPDIR, removed by ts_cleanup(). */
const char *ts_tmpdir(void);
void ts_cleanup(void);
/* Writes len bytes to dir/name and returns the full path (static storage
 * rotated over 8 slots). */
const char *ts_write(const char *name, const void *data, size_t len);
/* Makes a FIFO dir/name (replacing any file there) and returns its path
 * (static storage); nothing ever writes to it. */
const char *ts_fifo(const char *name);
/* Reads a whole stream into a NUL-terminated malloc'd buffer (NULL when out
 * of memory); *len receives its length when len is not NULL. */
char *ts_read_stream(FILE *f, size_t *len);
/* Sends stderr to a temporary file until ts_stderr_end, which puts it back
 * and returns what was written (malloc'd). Captures do not nest. */
void ts_stderr_begin(void);
char *ts_stderr_end(void);
/* setenv, or unsetenv when value is NULL, that ts_restore_env undoes. */
void ts_setenv(const char *name, const char *value);
/* cmocka teardown (it runs after a failed test too): puts every variable
 * ts_setenv changed back as it was before. */
int ts_restore_env(void **state);
/* cmocka group teardown that removes ts_tmpdir(). */
int ts_teardown(void **state);
/* Runs a shell command, captures stdout+stderr into *output (malloc'd),
 * and returns the exit status (or -1). */
int ts_run(const char *cmd, char **output);
/* Robustness loop of the loaders' tests: calls load on every prefix of
 * data (lengths 0 to len) and on data with each byte in turn XORed with
 * 0x01, 0x20, 0x40, 0x80 and 0xFF. */
void ts_each_mutation(const void *data, size_t len,
                      void (*load)(const unsigned char *data, size_t len));
/* Path of the built qsdc command and of the source tree. */
const char *ts_qsdc(void);
const char *ts_source_root(void);
/* Deterministic pseudo-random floats in [lo, hi). */
void ts_fill_uniform(float *x, size_t n, uint32_t seed, float lo, float hi);
/* max |a-b| / max(|b|, floor) over n elements. */
double ts_max_rel_err(const float *a, const float *b, size_t n, double floor);

/* printf into static storage (rotated over 4 slots). */
const char *ts_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
/* Fails the running cmocka test unless a call (named by what) returned -1
 * with exactly the message want. */
void ts_expect_failure(const char *what, int rc, const char *message, const char *want);
/* The same where want is the message's beginning. */
void ts_expect_failure_prefix(int rc, const char *message, const char *want);

/* max |a-b| / max |b| over n elements (0 when b is all zero and a == b). */
double ts_max_err_scaled(const float *a, const float *b, size_t n);

#endif
