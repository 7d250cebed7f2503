/* Device discovery and choice, and the context + queue a run executes on. */
#include "cl_runtime.h"
#include "loop_guard.h"

#include <CL/cl_ext.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *cl_device_type_name(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return "gpu";
    if (t & CL_DEVICE_TYPE_CPU)
        return "cpu";
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    if (t & CL_DEVICE_TYPE_CUSTOM)
        return "custom";
    return "other";
}

int cl_fail_no_device(qsdc_error *err)
{
    return qsdc_fail(err, "no OpenCL device found: install an OpenCL driver, "
                          "e.g. the CPU driver pocl (apt-get install pocl-opencl-icd), "
                          "and check that /etc/OpenCL/vendors lists it");
}

/* Copies a string property into buf, truncating long values rather than
 * failing (the fixed-size query fails with CL_INVALID_VALUE when short). */
static int string_info(cl_int (*get)(void *, cl_uint, size_t, void *, size_t *),
                       void *obj, cl_uint param, char *buf, size_t cap,
                       const char *what, qsdc_error *err)
{
    size_t size = 0;
    if (cl_check(get(obj, param, 0, NULL, &size), what, err))
        return -1;
    char *tmp = malloc(size + 1);
    if (!tmp)
        return qsdc_fail(err, "%s: out of memory", what);
    cl_int rc = get(obj, param, size, tmp, NULL);
    if (rc == CL_SUCCESS) {
        tmp[size] = '\0';
        snprintf(buf, cap, "%s", tmp);
    }
    free(tmp);
    return cl_check(rc, what, err);
}

static cl_int get_device(void *obj, cl_uint param, size_t size, void *value, size_t *ret)
{
    return clGetDeviceInfo((cl_device_id)obj, param, size, value, ret);
}

static cl_int get_platform(void *obj, cl_uint param, size_t size, void *value, size_t *ret)
{
    return clGetPlatformInfo((cl_platform_id)obj, param, size, value, ret);
}

static int device_string(cl_device_id d, cl_device_info param, char *buf, size_t cap,
                         qsdc_error *err)
{
    return string_info(get_device, d, param, buf, cap, "clGetDeviceInfo", err);
}

static int device_scalar(cl_device_id d, cl_device_info param, void *value, size_t size,
                         qsdc_error *err)
{
    return cl_check(clGetDeviceInfo(d, param, size, value, NULL), "clGetDeviceInfo", err);
}

/* The widest subgroup that one of the vendor extensions reports, 0 when
 * none does; a failing query counts as none (the extension is absent). */
static unsigned subgroup_size(cl_device_id d)
{
    cl_uint width = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_WARP_SIZE_NV, sizeof width, &width, NULL) == CL_SUCCESS &&
        width)
        return width;
    if (clGetDeviceInfo(d, CL_DEVICE_WAVEFRONT_WIDTH_AMD, sizeof width, &width, NULL) ==
            CL_SUCCESS && width)
        return width;
    size_t sizes[16], bytes = 0, widest = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_SUB_GROUP_SIZES_INTEL, sizeof sizes, sizes, &bytes) !=
        CL_SUCCESS)
        return 0;
    for (size_t i = 0; i < bytes / sizeof *sizes; i++)
        widest = sizes[i] > widest ? sizes[i] : widest;
    return (unsigned)widest;
}

/* CL_DEVICE_MAX_WORK_ITEM_SIZES has one entry per dimension the device
 * has (at least three). */
static int max_items(cl_device_id d, size_t out[3], qsdc_error *err)
{
    size_t sizes[16], bytes = 0;
    if (cl_check(clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof sizes, sizes, &bytes),
                 "clGetDeviceInfo", err))
        return -1;
    for (size_t i = 0; i < 3; i++)
        out[i] = i < bytes / sizeof *sizes ? sizes[i] : 1;
    return 0;
}

static int describe_device(cl_platform_id p, cl_device_id d, cl_device_info_rec *r,
                           qsdc_error *err)
{
    cl_uint units = 0, vec = 0, vec_int = 0;
    cl_ulong mem = 0, alloc = 0, local = 0;
    cl_device_local_mem_type local_type = CL_GLOBAL;
    memset(r, 0, sizeof *r);
    r->platform = p;
    r->device = d;
    if (string_info(get_platform, p, CL_PLATFORM_NAME, r->platform_name,
                    sizeof r->platform_name, "clGetPlatformInfo", err) ||
        device_string(d, CL_DEVICE_NAME, r->name, sizeof r->name, err) ||
        device_string(d, CL_DEVICE_VENDOR, r->vendor, sizeof r->vendor, err) ||
        device_string(d, CL_DEVICE_VERSION, r->version, sizeof r->version, err) ||
        device_string(d, CL_DRIVER_VERSION, r->driver, sizeof r->driver, err) ||
        device_scalar(d, CL_DEVICE_TYPE, &r->type, sizeof r->type, err) ||
        device_scalar(d, CL_DEVICE_MAX_COMPUTE_UNITS, &units, sizeof units, err) ||
        device_scalar(d, CL_DEVICE_GLOBAL_MEM_SIZE, &mem, sizeof mem, err) ||
        device_scalar(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, &alloc, sizeof alloc, err) ||
        device_scalar(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, &r->max_work_group,
                      sizeof r->max_work_group, err) ||
        device_scalar(d, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, &vec, sizeof vec, err) ||
        device_scalar(d, CL_DEVICE_PREFERRED_VECTOR_WIDTH_INT, &vec_int, sizeof vec_int, err) ||
        device_scalar(d, CL_DEVICE_LOCAL_MEM_SIZE, &local, sizeof local, err) ||
        device_scalar(d, CL_DEVICE_LOCAL_MEM_TYPE, &local_type, sizeof local_type, err) ||
        max_items(d, r->max_items, err))
        return -1;
    r->pref_vector_int = vec_int;
    r->local_mem = local;
    r->local_mem_dedicated = local_type == CL_LOCAL;
    r->subgroup_size = subgroup_size(d);
    r->compute_units = units;
    r->global_mem = mem;
    r->max_alloc = alloc;
    r->pref_vector_float = vec;
    return 0;
}

/* Appends platform p's devices to *list (grown as needed). */
static int list_platform(cl_platform_id p, cl_device_info_rec **list, int *n,
                         qsdc_error *err)
{
    cl_uint count = 0;
    cl_int rc = clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, NULL, &count);
    if (rc == CL_DEVICE_NOT_FOUND || (rc == CL_SUCCESS && count == 0))
        return 0;
    if (cl_check(rc, "clGetDeviceIDs", err))
        return -1;
    cl_device_id *ids = malloc(count * sizeof *ids);
    cl_device_info_rec *grown = realloc(*list, ((size_t)*n + count) * sizeof **list);
    if (grown)
        *list = grown;
    if (!ids || !grown) {
        free(ids);
        return qsdc_fail(err, "listing OpenCL devices: out of memory");
    }
    rc = clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, count, ids, NULL);
    for (cl_uint i = 0; rc == CL_SUCCESS && i < count; i++) {
        if (describe_device(p, ids[i], &(*list)[*n], err)) {
            free(ids);
            return -1;
        }
        (*list)[*n].index = *n;
        (*n)++;
    }
    free(ids);
    return cl_check(rc, "clGetDeviceIDs", err);
}

int cl_list_devices(cl_device_info_rec **out, int *n, qsdc_error *err)
{
    *out = NULL;
    *n = 0;
    cl_uint np = 0;
    cl_int rc = clGetPlatformIDs(0, NULL, &np);
    if (rc == CL_PLATFORM_NOT_FOUND_KHR || (rc == CL_SUCCESS && np == 0))
        return 0;
    if (cl_check(rc, "clGetPlatformIDs", err))
        return -1;
    cl_platform_id *platforms = malloc(np * sizeof *platforms);
    if (!platforms)
        return qsdc_fail(err, "listing OpenCL platforms: out of memory");
    rc = clGetPlatformIDs(np, platforms, NULL);
    int status = cl_check(rc, "clGetPlatformIDs", err);
    for (cl_uint i = 0; status == 0 && i < np; i++)
        status = list_platform(platforms[i], out, n, err);
    free(platforms);
    if (status) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return status;
}

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < nl && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == nl)
            return true;
    }
    return nl == 0;
}

static int first_of_type(const cl_device_info_rec *devs, int n, cl_device_type type)
{
    for (int i = 0; i < n; i++)
        if (devs[i].type & type)
            return i;
    return -1;
}

static bool is_index(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* The position in devs that spec names, or -1. */
static int match_spec(const char *spec, const cl_device_info_rec *devs, int n)
{
    if (!spec || !*spec) {
        int i = first_of_type(devs, n, CL_DEVICE_TYPE_GPU);
        if (i < 0)
            i = first_of_type(devs, n, CL_DEVICE_TYPE_CPU);
        return i < 0 ? 0 : i;
    }
    if (is_index(spec)) {
        long i = strlen(spec) > 9 ? -1 : strtol(spec, NULL, 10);
        return i < n ? (int)i : -1;
    }
    if (strcasecmp(spec, "gpu") == 0)
        return first_of_type(devs, n, CL_DEVICE_TYPE_GPU);
    if (strcasecmp(spec, "cpu") == 0)
        return first_of_type(devs, n, CL_DEVICE_TYPE_CPU);
    for (int i = 0; i < n; i++)
        if (contains_nocase(devs[i].name, spec) || contains_nocase(devs[i].platform_name, spec))
            return i;
    return -1;
}

static int fail_no_match(const char *spec, const cl_device_info_rec *devs, int n,
                         qsdc_error *err)
{
    char avail[800] = "";
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof avail; i++) {
        int w = snprintf(avail + len, sizeof avail - len, "%s%d: %s [%s, %s]",
                         i ? "; " : "", devs[i].index, devs[i].name,
                         cl_device_type_name(devs[i].type), devs[i].platform_name);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (is_index(spec))
        return qsdc_fail(err, "OpenCL device index %s is out of range (%d device%s); "
                              "available: %s", spec, n, n == 1 ? "" : "s", avail);
    if (strcasecmp(spec, "gpu") == 0 || strcasecmp(spec, "cpu") == 0)
        return qsdc_fail(err, "no OpenCL %s device; available: %s", spec, avail);
    return qsdc_fail(err, "no OpenCL device or platform name contains \"%s\" "
                          "(a device is chosen by index, \"cpu\", \"gpu\" or part of "
                          "its name); available: %s", spec, avail);
}

int cl_select_device(const char *spec, cl_device_info_rec *out, qsdc_error *err)
{
    cl_device_info_rec *devs;
    int n;
    if (cl_list_devices(&devs, &n, err))
        return -1;
    if (n == 0)
        return cl_fail_no_device(err);
    int i = match_spec(spec, devs, n);
    if (i < 0) {
        fail_no_match(spec, devs, n, err);
        free(devs);
        return -1;
    }
    *out = devs[i];
    free(devs);
    return 0;
}

int cl_env_open(const char *spec, bool profiling, cl_env *env, qsdc_error *err)
{
    memset(env, 0, sizeof *env);
    if (cl_select_device(spec, &env->dev, err))
        return -1;
    cl_context_properties props[] = {
        CL_CONTEXT_PLATFORM, (cl_context_properties)env->dev.platform, 0};
    cl_int rc;
    env->ctx = clCreateContext(props, 1, &env->dev.device, NULL, NULL, &rc);
    if (cl_check(rc, "clCreateContext", err))
        goto fail;
    cl_command_queue_properties qprops = profiling ? CL_QUEUE_PROFILING_ENABLE : 0;
    env->queue = clCreateCommandQueue(env->ctx, env->dev.device, qprops, &rc);
    if (cl_check(rc, "clCreateCommandQueue", err) || loop_limit_probe(env, err) < 0)
        goto fail;
    return 0;
fail:
    qsdc_error_wrap(err, "opening OpenCL device %d (%s)", env->dev.index, env->dev.name);
    cl_env_close(env);
    return -1;
}

void cl_env_close(cl_env *env)
{
    if (env->queue)
        clReleaseCommandQueue(env->queue);
    if (env->ctx)
        clReleaseContext(env->ctx);
    sb_free(&env->measured);
    memset(env, 0, sizeof *env);
}
