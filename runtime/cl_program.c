/* Program build for one device: from source through the on-disk binary
 * cache (cl_program_cache.c), or from a prebuilt binary file (the FPGA
 * flow, where the device has no online compiler). */
#include "cl_program_cache.h"
#include "file_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The first bytes the build log may use in an error message; the rest of
 * qsdc_error holds the call name and room for a caller's context prefix. */
#define LOG_BUDGET 760

static bool debug_build(void)
{
    const char *d = getenv("QSDC_DEBUG");
    return d && strstr(d, "build");
}

/* "-cl-std=CL1.2", then "-w" when quiet, then options (malloc'd; NULL when
 * out of memory). A compiler's warnings on generated code mean nothing to
 * a user, and some drivers print them to stderr in the middle of
 * training's progress (pocl on a CPU without AVX-512 warns of the float16
 * calling convention of its own vload16): builds are quiet unless
 * QSDC_DEBUG has build. */
static char *cl_full_options(const char *options, bool quiet)
{
    const char *std = quiet ? "-cl-std=CL1.2 -w" : "-cl-std=CL1.2";
    size_t n = strlen(std) + 2 + (options ? strlen(options) : 0);
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", std, options && *options ? " " : "",
                 options ? options : "");
    return s;
}

/* Start of the log text to show: whole log when it fits, else from the
 * line holding the first error (earlier lines are mostly warnings). */
static const char *log_excerpt_start(const char *log)
{
    if (strlen(log) <= LOG_BUDGET)
        return log;
    const char *e = strstr(log, "error");
    if (!e)
        return log;
    while (e > log && e[-1] != '\n')
        e--;
    return e;
}

/* The program's build log for dev (malloc'd), or NULL when there is none. */
static char *build_log(cl_program prog, cl_device_id dev)
{
    size_t size = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) ==
            CL_SUCCESS &&
        (log = malloc(size + 1)) != NULL &&
        clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, size, log, NULL) ==
            CL_SUCCESS)
        log[size] = '\0';
    else if (log)
        log[0] = '\0';
    if (log && !log[0]) {
        free(log);
        return NULL;
    }
    return log;
}

static int fail_with_log(cl_program prog, cl_device_id dev, cl_int rc, qsdc_error *err)
{
    char *log = build_log(prog, dev);
    if (!log)
        return qsdc_fail(err, "clBuildProgram: %s (no build log)", cl_error_name(rc));
    const char *start = log_excerpt_start(log);
    size_t len = strlen(start);
    while (len > 0 && (start[len - 1] == '\n' || start[len - 1] == ' '))
        len--;
    size_t keep = len;
    if (keep > LOG_BUDGET) {
        keep = LOG_BUDGET;
        while (keep > LOG_BUDGET / 2 && start[keep - 1] != '\n')
            keep--;  /* end on a whole line when one is near */
    }
    while (keep > 0 && start[keep - 1] == '\n')
        keep--;
    qsdc_fail(err, "clBuildProgram: %s; build log:\n%.*s%s", cl_error_name(rc),
              (int)keep, start, keep < len ? "\n[build log truncated]" : "");
    free(log);
    return -1;
}

/* clBuildProgram for env's device; a failure carries the build log. */
static int cl_build_for_device(cl_env *env, cl_program prog, const char *full_options,
                               qsdc_error *err)
{
    cl_int rc = clBuildProgram(prog, 1, &env->dev.device, full_options, NULL, NULL);
    if (rc == CL_BUILD_PROGRAM_FAILURE)
        return fail_with_log(prog, env->dev.device, rc, err);
    if (rc == CL_INVALID_BUILD_OPTIONS)
        return qsdc_fail(err, "clBuildProgram: %s (options \"%s\")", cl_error_name(rc),
                         full_options);
    return cl_check(rc, "clBuildProgram", err);
}

/* clCreateProgramWithBinary + build; NULL with err set on failure. */
static cl_program cl_program_from_binary(cl_env *env, const unsigned char *bin, size_t len,
                                         const char *full_options, qsdc_error *err)
{
    cl_int rc, status = CL_SUCCESS;
    cl_program prog = clCreateProgramWithBinary(env->ctx, 1, &env->dev.device, &len,
                                                &bin, &status, &rc);
    if (rc == CL_SUCCESS && status != CL_SUCCESS)
        rc = status;
    if (cl_check(rc, "clCreateProgramWithBinary", err)) {
        if (prog)
            clReleaseProgram(prog);
        return NULL;
    }
    if (cl_build_for_device(env, prog, full_options, err)) {
        clReleaseProgram(prog);
        return NULL;
    }
    return prog;
}

int cl_program_binary(cl_env *env, cl_program prog, unsigned char **bin, size_t *len,
                      qsdc_error *err)
{
    cl_uint ndev = 0, k = 0;
    *bin = NULL;
    if (cl_check(clGetProgramInfo(prog, CL_PROGRAM_NUM_DEVICES, sizeof ndev, &ndev, NULL),
                 "clGetProgramInfo", err))
        return -1;
    cl_device_id *devs = calloc(ndev ? ndev : 1, sizeof *devs);
    size_t *sizes = calloc(ndev ? ndev : 1, sizeof *sizes);
    unsigned char **bins = calloc(ndev ? ndev : 1, sizeof *bins);
    int status = -1;
    if (!devs || !sizes || !bins) {
        qsdc_fail(err, "reading program binary: out of memory");
        goto done;
    }
    if (cl_check(clGetProgramInfo(prog, CL_PROGRAM_DEVICES, ndev * sizeof *devs, devs,
                                  NULL), "clGetProgramInfo", err) ||
        cl_check(clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, ndev * sizeof *sizes,
                                  sizes, NULL), "clGetProgramInfo", err))
        goto done;
    while (k < ndev && devs[k] != env->dev.device)
        k++;
    if (k == ndev) {
        qsdc_fail(err, "program was not built for device %s", env->dev.name);
        goto done;
    }
    if (sizes[k] == 0) {
        qsdc_fail(err, "device %s returned an empty program binary", env->dev.name);
        goto done;
    }
    /* Only our device's slot gets a buffer; OpenCL skips NULL entries. */
    bins[k] = malloc(sizes[k]);
    if (!bins[k]) {
        qsdc_fail(err, "reading program binary: out of memory");
        goto done;
    }
    if (cl_check(clGetProgramInfo(prog, CL_PROGRAM_BINARIES, ndev * sizeof *bins, bins,
                                  NULL), "clGetProgramInfo", err))
        goto done;
    *bin = bins[k];
    *len = sizes[k];
    bins[k] = NULL;
    status = 0;
done:
    if (bins && k < ndev)
        free(bins[k]);
    free(devs);
    free(sizes);
    free(bins);
    return status;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static cl_program build_source(cl_env *env, const char *source, const char *opts,
                               qsdc_error *err)
{
    cl_int rc;
    cl_program prog = clCreateProgramWithSource(env->ctx, 1, &source, NULL, &rc);
    if (cl_check(rc, "clCreateProgramWithSource", err))
        return NULL;
    if (cl_build_for_device(env, prog, opts, err)) {
        clReleaseProgram(prog);
        return NULL;
    }
    char *log = debug_build() ? build_log(prog, env->dev.device) : NULL;
    if (log)
        fprintf(stderr, "qsdc: build log:\n%s\n", log);
    free(log);
    return prog;
}

/* The cached program for this source, or NULL when the cache holds none
 * that loads (never an error). */
static cl_program load_cached(cl_env *env, const char *path, const char *full_options)
{
    unsigned char *file;
    const unsigned char *bin;
    size_t len;
    if (!cl_cache_load(path, &file, &bin, &len))
        return NULL;
    cl_program prog = cl_program_from_binary(env, bin, len, full_options, NULL);
    free(file);
    return prog;
}

/* Best effort: a failed write only costs a rebuild next time. */
static void store_cached(cl_env *env, cl_program prog, const char *path)
{
    unsigned char *bin;
    size_t len;
    if (cl_program_binary(env, prog, &bin, &len, NULL))
        return;
    cl_cache_store(path, bin, len);
    free(bin);
}

int cl_build_program(cl_env *env, const char *source, const char *options,
                     cl_build_result *out, qsdc_error *err)
{
    double t0 = seconds_now();
    memset(out, 0, sizeof *out);
    /* warnings shown or not, the binary is the same: one cache entry */
    char *opts = cl_full_options(options, !debug_build()), *key = cl_full_options(options, false);
    if (!opts || !key) {
        free(opts);
        free(key);
        return qsdc_fail(err, "building program: out of memory");
    }
    bool cached = cl_cache_path(env, source, key, out->cache_path, sizeof out->cache_path);
    if (cached) {
        out->program = load_cached(env, out->cache_path, opts);
        out->cache_hit = out->program != NULL;
    }
    if (!out->program) {
        out->program = build_source(env, source, opts, err);
        if (out->program && cached)
            store_cached(env, out->program, out->cache_path);
    }
    free(opts);
    free(key);
    if (debug_build())
        fprintf(stderr, "qsdc: build: %s%s%s (%.3f s)\n",
                !cached ? "cache off" : out->cache_hit ? "cache hit" : "cache miss",
                cached ? " " : "", out->cache_path, seconds_now() - t0);
    return out->program ? 0 : -1;
}

int cl_build_program_binary(cl_env *env, const unsigned char *bin, size_t len,
                            const char *what, const char *options, cl_build_result *out,
                            qsdc_error *err)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return qsdc_fail(err, "%s: empty file, not an OpenCL program binary", what);
    char *opts = cl_full_options(options, !debug_build());
    if (!opts)
        return qsdc_fail(err, "loading program binary %s: out of memory", what);
    out->program = cl_program_from_binary(env, bin, len, opts, err);
    free(opts);
    if (!out->program)
        return qsdc_error_wrap(err, "loading program binary %s for device %s", what,
                               env->dev.name);
    return 0;
}

int cl_load_program_binary(cl_env *env, const char *path, const char *options,
                           cl_build_result *out, qsdc_error *err)
{
    memset(out, 0, sizeof *out);
    unsigned char *bin;
    size_t len;
    if (fs_read_file(path, &bin, &len, err))
        return -1;
    int rc = cl_build_program_binary(env, bin, len, path, options, out, err);
    free(bin);
    return rc;
}

int cl_save_program_binary(cl_env *env, cl_program prog, const char *path,
                           qsdc_error *err)
{
    unsigned char *bin;
    size_t len;
    if (cl_program_binary(env, prog, &bin, &len, err))
        return qsdc_error_wrap(err, "saving program binary %s", path);
    int rc = fs_write_atomic(path, NULL, 0, bin, len, err);
    free(bin);
    return rc;
}
