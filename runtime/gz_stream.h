/* A data file read as gzip when it starts with the gzip magic and plainly
 * otherwise, with exact ends: zlib's gzread ignores anything after the last
 * gzip member, this reader reports it. */
#ifndef QSDC_GZ_STREAM_H
#define QSDC_GZ_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "error.h"

#define GZ_STREAM_CHUNK 65536

typedef struct gz_stream {
    const char *path;
    int fd;
    bool gzip;
    bool inflating;            /* z is initialised */
    bool file_end;             /* read() returned 0 */
    z_stream z;
    uint64_t file_read;        /* bytes read from fd so far */
    uint64_t offset;           /* uncompressed bytes delivered */
    uint8_t in[GZ_STREAM_CHUNK];
} gz_stream;

/* Opens the regular file path (refusing FIFOs, devices and directories);
 * on failure nothing is left to close. */
int gz_stream_open(gz_stream *s, const char *path, qsdc_error *err);
/* Reads up to n bytes into buf; returns the count, short only at the end of
 * the data (a gzip stream cut short ends there too), or -1 for a read error,
 * corrupt gzip data, or bytes after a gzip member that do not start another,
 * naming the path and the compressed offset. */
int64_t gz_stream_read(gz_stream *s, uint8_t *buf, size_t n, qsdc_error *err);
/* Closes an open stream; a second call does nothing. */
void gz_stream_close(gz_stream *s);

#endif
