/* The on-disk cache of program binaries (and the per-device files beside
 * it): bytes keyed by source, options and device. It knows files, not
 * programs: cl_program.c builds, and hands it the binary to keep. */
#ifndef QSDC_CL_PROGRAM_CACHE_H
#define QSDC_CL_PROGRAM_CACHE_H

#include "cl_runtime.h"

/* Fills path with the cache file for this source, options and device, creating
 * the cache directory; false when caching is off or the directory is unusable. */
bool cl_cache_path(const cl_env *env, const char *source, const char *full_options,
                   char *path, size_t cap);
/* Fills path with DIR/NAME-HASH.EXT for a per-device cache file, HASH over
 * the device's platform, name, version and driver; false when caching is
 * off or the directory cannot be made. */
bool cl_cache_device_file(const cl_env *env, const char *name, const char *ext, char *path,
                          size_t cap);
/* The cached binary at path: *bin, *len bytes inside *file (the caller
 * frees *file); false when absent, damaged or writable by another user
 * (never an error). */
bool cl_cache_load(const char *path, unsigned char **file, const unsigned char **bin,
                   size_t *len);
/* Best effort: a failed write only costs a rebuild next time. */
void cl_cache_store(const char *path, const unsigned char *bin, size_t len);
/* Writes text's lines (each ending in a newline) to the per-device file
 * path, keeping the file's lines whose first key_fields fields no line of
 * text has: processes that measure at once (a grid beside a user's run)
 * each add their own lines instead of the last writer's replacing the
 * others'. Lines with another number of fields than text's first are an
 * older qsdc's format, which no parse takes: dropped. The read and write
 * hold an flock on path.lock. Best effort, as the file only saves
 * measuring again. */
void cl_cache_merge_lines(const char *path, const char *text, int key_fields);
/* The length of a per-device file line's key, line[0, len)'s first fields
 * space-separated fields. */
size_t cl_cache_key_length(const char *line, size_t len, int fields);

#endif
