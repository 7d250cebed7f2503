/* Whole-file reads and crash-safe writes. */
#ifndef QSDC_FILE_IO_H
#define QSDC_FILE_IO_H

#include <stddef.h>

#include "error.h"

/* The largest file fs_read_file reads (as IDX data): 4 GiB. */
#define FS_MAX_FILE_BYTES ((size_t)4 << 30)

/* Reads path into *data (malloc'd, with a NUL after the last byte); a file
 * past FS_MAX_FILE_BYTES fails, by its size before reading when it has one. */
int fs_read_file(const char *path, unsigned char **data, size_t *len, qsdc_error *err);
/* Writes head then body to path through a temp file in the same directory,
 * flushed and fsync'd before the rename, so readers see old or new whole. */
int fs_write_atomic(const char *path, const void *head, size_t head_len,
                    const void *body, size_t body_len, qsdc_error *err);
/* mkdir -p. */
int fs_make_dirs(const char *path, qsdc_error *err);

#endif
