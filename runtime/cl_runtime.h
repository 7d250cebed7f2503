/* The OpenCL layer: platform and device discovery, device choice, program
 * build with an on-disk binary cache, and error names. Nothing above this
 * file calls OpenCL's platform, context or program APIs directly. */
#ifndef QSDC_CL_RUNTIME_H
#define QSDC_CL_RUNTIME_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "strbuf.h"

typedef struct cl_device_info_rec {
    int index;               /* position in the global list, as `qsdc devices` shows */
    cl_platform_id platform;
    cl_device_id device;
    char platform_name[128];
    char name[256];
    char vendor[128];
    char version[128];       /* CL_DEVICE_VERSION */
    char driver[128];        /* CL_DRIVER_VERSION */
    cl_device_type type;
    unsigned compute_units;
    uint64_t global_mem;
    uint64_t max_alloc;
    size_t max_work_group;
    size_t max_items[3];     /* CL_DEVICE_MAX_WORK_ITEM_SIZES, first three */
    uint64_t local_mem;
    bool local_mem_dedicated; /* CL_DEVICE_LOCAL_MEM_TYPE is CL_LOCAL */
    unsigned pref_vector_float, pref_vector_int;
    /* the widest subgroup an extension reports (Intel's subgroup sizes,
     * NVIDIA's warp, AMD's wavefront), 0 when none does */
    unsigned subgroup_size;
    /* loop iterations a work-item runs before the device cuts its loops
     * short (loop_guard.h), 0 for none; measured by cl_env_open */
    uint32_t loop_limit;
} cl_device_info_rec;

/* Every device of every platform, in platform order. Zero devices is not an
 * error here (the caller decides); a failing platform query is. */
int cl_list_devices(cl_device_info_rec **out, int *n, qsdc_error *err);
/* Fails with the "no OpenCL device: install pocl (apt-get install
 * pocl-opencl-icd)" message, for callers that found zero devices. */
int cl_fail_no_device(qsdc_error *err);

/* Chooses by spec: NULL or "" (first GPU, else first CPU), an index ("0"),
 * "cpu", "gpu", or a case-insensitive substring of the name or platform.
 * No device at all: an error that says how to install pocl. */
int cl_select_device(const char *spec, cl_device_info_rec *out, qsdc_error *err);

typedef struct cl_env {
    cl_device_info_rec dev;
    cl_context ctx;
    cl_command_queue queue;  /* in-order; profiling enabled when asked */
    double measure_s;        /* spent measuring the per-device choices (measured_choice.h)
                                on first use */
    /* the per-device choices' shapes measured since the env was opened,
     * "NAME KEY" lines (measured_choice.c): a tune's two compilations
     * measure the shapes they share once */
    strbuf measured;
} cl_env;

int cl_env_open(const char *spec, bool profiling, cl_env *env, qsdc_error *err);
void cl_env_close(cl_env *env);

typedef struct cl_build_result {
    cl_program program;
    bool cache_hit;          /* true when loaded from the binary cache */
    char cache_path[1024];   /* the cache file used, "" when caching is off */
} cl_build_result;

/* Builds source for env's device with "-cl-std=CL1.2" before options.
 * Binaries are cached under $QSDC_CACHE_DIR, else $XDG_CACHE_HOME/qsdc, else
 * ~/.cache/qsdc, keyed by a hash of source, options, platform and device name,
 * device and driver version; QSDC_CACHE_DIR=off disables the cache. A cache
 * problem only costs a rebuild. A failed build returns its log in the error.
 * QSDC_DEBUG containing "build" prints hit/miss, path and seconds to stderr. */
int cl_build_program(cl_env *env, const char *source, const char *options,
                     cl_build_result *out, qsdc_error *err);
/* Builds a program from a prebuilt binary (the FPGA flow) instead of
 * source; what names the binary in errors. */
int cl_build_program_binary(cl_env *env, const unsigned char *bin, size_t len,
                            const char *what, const char *options, cl_build_result *out,
                            qsdc_error *err);
/* The same from the binary file at path. */
int cl_load_program_binary(cl_env *env, const char *path, const char *options,
                           cl_build_result *out, qsdc_error *err);
/* The program's binary for env's device (malloc'd). */
int cl_program_binary(cl_env *env, cl_program prog, unsigned char **bin, size_t *len,
                      qsdc_error *err);
/* Writes the program's binary for env's device to path (atomically). */
int cl_save_program_binary(cl_env *env, cl_program prog, const char *path,
                           qsdc_error *err);

/* "CL_OUT_OF_RESOURCES" and so on; "CL_UNKNOWN_ERROR(-n)" for others. */
const char *cl_error_name(cl_int code);
/* Fails with "what: CL_NAME" when code != CL_SUCCESS; returns 0 otherwise. */
int cl_check(cl_int code, const char *what, qsdc_error *err);
const char *cl_device_type_name(cl_device_type t);

#endif
