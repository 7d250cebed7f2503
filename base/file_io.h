/* Whole-file reads and crash-safe writes. */
#ifndef QSDC_FILE_IO_H
#define QSDC_FILE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

/* The largest file fs_read_file reads (as IDX data): 4 GiB. */
#define FS_MAX_FILE_BYTES ((size_t)4 << 30)

/* Opens path read-only, refusing anything but a regular file with a message
 * naming what it is (a directory, a FIFO, a device); a FIFO is refused
 * without waiting for a writer. Returns the descriptor, with the file's
 * size in *size (size may be NULL), or -1. */
int fs_open_regular(const char *path, int64_t *size, qsdc_error *err);
/* fs_open_regular as a stdio stream, or NULL. */
FILE *fs_fopen_regular(const char *path, int64_t *size, qsdc_error *err);
/* Reads the regular file path into *data (malloc'd, with a NUL after the
 * last byte), never more than its size when opened; a file past max bytes
 * fails by its size, before anything is read. */
int fs_read_file_max(const char *path, size_t max, unsigned char **data, size_t *len,
                     qsdc_error *err);
/* fs_read_file_max with max FS_MAX_FILE_BYTES. */
int fs_read_file(const char *path, unsigned char **data, size_t *len, qsdc_error *err);
/* Writes head then body to path through a temp file in the same directory,
 * flushed and fsync'd before the rename, so readers see old or new whole. */
int fs_write_atomic(const char *path, const void *head, size_t head_len,
                    const void *body, size_t body_len, qsdc_error *err);
/* mkdir -p. */
int fs_make_dirs(const char *path, qsdc_error *err);

#endif
