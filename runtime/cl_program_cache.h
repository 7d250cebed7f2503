/* Internals shared by cl_program.c and cl_program_cache.c. */
#ifndef QSDC_CL_PROGRAM_CACHE_H
#define QSDC_CL_PROGRAM_CACHE_H

#include "cl_runtime.h"

/* "-cl-std=CL1.2 " followed by options (malloc'd; NULL when out of memory). */
char *cl_full_options(const char *options);
/* clBuildProgram for env's device; a failure carries the build log. */
int cl_build_for_device(cl_env *env, cl_program prog, const char *full_options,
                        qsdc_error *err);
/* clCreateProgramWithBinary + build; NULL with err set on failure. */
cl_program cl_program_from_binary(cl_env *env, const unsigned char *bin, size_t len,
                                  const char *full_options, qsdc_error *err);

/* Fills path with the cache file for this source, options and device, creating
 * the cache directory; false when caching is off or the directory is unusable. */
bool cl_cache_path(const cl_env *env, const char *source, const char *full_options,
                   char *path, size_t cap);
/* Fills path with DIR/NAME-HASH.EXT for a per-device cache file, HASH over
 * the device's platform, name, version and driver; false when caching is
 * off or the directory cannot be made. */
bool cl_cache_device_file(const cl_env *env, const char *name, const char *ext, char *path,
                          size_t cap);
/* The cached program, or NULL when absent or unusable (never an error). */
cl_program cl_cache_load(cl_env *env, const char *path, const char *full_options);
/* Best effort: a failed write only costs a rebuild next time. */
void cl_cache_store(cl_env *env, cl_program prog, const char *path);

#endif
