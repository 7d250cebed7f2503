/* Nanoseconds per QSD mask draw (kernels/qsd.cl) on one device.
 *
 *   qsd_bench [--device SPEC] [--n N] [--reps R] [--qsd FILE] [--setting P,N,V,C]...
 *
 * --setting times those parameters (p, sites, q_cv, p_concentration with 0
 * for homogeneous) instead of the defaults. For each setting three kernels
 * fill N masks:
 *   elementwise: one draw per work-item, the driver picks the work-group size
 *                (a CPU driver may vectorise across work-items);
 *   loop:        work-groups of one work-item, each drawing a run of 1024
 *                consecutive masks in a loop, as a fused GEMM epilogue does;
 *   try+fix:     the same runs in blocks of 64: qsd_mask_try for the block
 *                into private memory (a loop that vectorises), then
 *                qsd_mask for the few it leaves (-1); only where the qsd.cl
 *                timed has qsd_mask_try.
 * A kernel that only stores is timed the same way and subtracted, so the
 * figures are the cost of the draws. --qsd FILE times another qsd.cl (for
 * instance an earlier version from git).
 * Each figure is the best of R runs after a warm-up, by wall time and by
 * process CPU time (all threads; less sensitive to other load).
 * Never a test: timings on shared machines are noise-prone. */
#include "cl_runtime.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel_sources.h"

enum { RUN = 1024 }; /* masks per work-item in the loop kernels */

typedef struct setting {
    const char *label;
    float p;
    int sites;
    float q_cv;
    float conc;
} setting;

static const setting default_settings[] = {
    {"dropout p=0.5", 0.5f, 1, 0.0f, 0.0f},
    {"qsd p=0.25 n=4 v=0.5", 0.25f, 4, 0.5f, 0.0f},
    {"qsd p=0.5 n=6 v=0.5", 0.5f, 6, 0.5f, 0.0f}, /* models/mlp_fashion_qsd.yaml */
    {"qsd p=0.5 n=4 v=0.5 c=4", 0.5f, 4, 0.5f, 4.0f},
    {"qsd p=0.3 n=8 v=0.3 c=2", 0.3f, 8, 0.3f, 2.0f},
};
enum { MAX_SETTINGS = 16 };
static setting settings[MAX_SETTINGS];
static size_t n_settings;

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)len + 1))) {
        if (fread(text, 1, (size_t)len, f) != (size_t)len) {
            free(text);
            text = NULL;
        } else {
            text[len] = '\0';
        }
    }
    fclose(f);
    return text;
}

/* philox.cl + qsd + per setting s: qsd_elem_s, qsd_loop_s, qsd_split_s;
 * and the store-only store_elem, store_loop. */
static char *bench_source(const char *qsd, bool with_try)
{
    const char *philox = kernel_source("philox.cl");
    size_t cap = strlen(philox) + strlen(qsd) + 2048 * (n_settings + 1);
    char *src = malloc(cap);
    if (!src)
        return NULL;
    size_t len = (size_t)snprintf(src, cap, "%s\n%s\n"
        "__kernel void store_elem(__global float *out, uint seed, uint step)\n"
        "{ uint i = get_global_id(0); out[i] = (float)(i ^ seed ^ step); }\n"
        "__kernel __attribute__((reqd_work_group_size(1, 1, 1)))\n"
        "void store_loop(__global float *out, uint seed, uint step)\n"
        "{\n"
        "    for (uint i = get_global_id(0) * %du, e = i + %du; i < e; i++)\n"
        "        out[i] = (float)(i ^ seed ^ step);\n"
        "}\n", philox, qsd, RUN, RUN);
    for (size_t s = 0; s < n_settings; s++) {
        const setting *t = &settings[s];
        char args[96];
        snprintf(args, sizeof args, "%#.9gf, %d, %#.9gf, %#.9gf", (double)t->p, t->sites,
                 (double)t->q_cv, (double)t->conc);
        len += (size_t)snprintf(src + len, cap - len,
            "__kernel void qsd_elem_%zu(__global float *out, uint seed, uint step)\n"
            "{ uint i = get_global_id(0); out[i] = qsd_mask(seed, 1u, step, i, %s); }\n"
            "__kernel __attribute__((reqd_work_group_size(1, 1, 1)))\n"
            "void qsd_loop_%zu(__global float *out, uint seed, uint step)\n"
            "{\n"
            "    for (uint i = get_global_id(0) * %du, e = i + %du; i < e; i++)\n"
            "        out[i] = qsd_mask(seed, 1u, step, i, %s);\n"
            "}\n", s, args, s, RUN, RUN, args);
        if (with_try)
            len += (size_t)snprintf(src + len, cap - len,
                "__kernel __attribute__((reqd_work_group_size(1, 1, 1)))\n"
                "void qsd_split_%zu(__global float *out, uint seed, uint step)\n"
                "{\n"
                "    for (uint b = get_global_id(0) * %du, e = b + %du; b < e; b += 64u) {\n"
                "        float m[64];\n"
                "        for (uint j = 0; j < 64u; j++)\n"
                "            m[j] = qsd_mask_try(seed, 1u, step, b + j, %s);\n"
                "        for (uint j = 0; j < 64u; j++)\n"
                "            out[b + j] = m[j] >= 0.0f ? m[j]\n"
                "                                      : qsd_mask(seed, 1u, step, b + j, %s);\n"
                "    }\n"
                "}\n", s, RUN, RUN, args, args);
    }
    return src;
}

typedef struct timing {
    double wall, cpu;
} timing;

/* Best wall and CPU seconds of reps launches of kernel over n masks. */
static timing time_kernel(cl_env *env, cl_program prog, const char *name, cl_mem out,
                          size_t n, int loop, int reps)
{
    timing best = {INFINITY, INFINITY};
    cl_int rc;
    cl_kernel k = clCreateKernel(prog, name, &rc);
    if (rc != CL_SUCCESS)
        return (timing){NAN, NAN};
    cl_uint seed = 12345u, step = 0u;
    size_t global = loop ? n / RUN : n, one = 1;
    clSetKernelArg(k, 0, sizeof out, &out);
    clSetKernelArg(k, 1, sizeof seed, &seed);
    for (int r = -1; r < reps; r++) {
        step++;
        clSetKernelArg(k, 2, sizeof step, &step);
        double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        rc = clEnqueueNDRangeKernel(env->queue, k, 1, NULL, &global, loop ? &one : NULL, 0,
                                    NULL, NULL);
        if (rc != CL_SUCCESS || clFinish(env->queue) != CL_SUCCESS) {
            best = (timing){NAN, NAN};
            break;
        }
        if (r >= 0) {
            best.wall = fmin(best.wall, clock_s(CLOCK_MONOTONIC) - w0);
            best.cpu = fmin(best.cpu, clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
        }
    }
    clReleaseKernel(k);
    return best;
}

int main(int argc, char **argv)
{
    const char *device = NULL, *qsd_path = NULL;
    long n_arg = 1 << 20;
    int reps = 5;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--device") && val) {
            device = argv[++i];
        } else if (!strcmp(arg, "--n") && val) {
            n_arg = atol(argv[++i]);
        } else if (!strcmp(arg, "--reps") && val) {
            reps = atoi(argv[++i]);
        } else if (!strcmp(arg, "--qsd") && val) {
            qsd_path = argv[++i];
        } else if (!strcmp(arg, "--setting") && val && n_settings < MAX_SETTINGS) {
            setting *t = &settings[n_settings++];
            if (sscanf(argv[++i], "%f,%d,%f,%f", &t->p, &t->sites, &t->q_cv, &t->conc) != 4) {
                fprintf(stderr, "qsd_bench: bad setting '%s'\n", argv[i]);
                return 2;
            }
            t->label = argv[i];
        } else {
            fprintf(stderr, "usage: qsd_bench [--device SPEC] [--n N] [--reps R] "
                            "[--qsd FILE] [--setting P,N,V,C]...\n");
            return 2;
        }
    }
    if (n_arg < RUN || reps < 1) {
        fprintf(stderr, "qsd_bench: --n must be at least %d and --reps at least 1\n", RUN);
        return 2;
    }
    if (n_settings == 0) {
        n_settings = sizeof default_settings / sizeof default_settings[0];
        memcpy(settings, default_settings, sizeof default_settings);
    }
    size_t n = (size_t)n_arg / RUN * RUN;
    char *qsd = qsd_path ? read_file(qsd_path) : NULL;
    if (qsd_path && !qsd) {
        fprintf(stderr, "qsd_bench: cannot read %s\n", qsd_path);
        return 1;
    }
    const char *timed = qsd ? qsd : kernel_source("qsd.cl");
    bool with_try = strstr(timed, "qsd_mask_try") != NULL;
    char *src = bench_source(timed, with_try);
    free(qsd);
    cl_env env;
    qsdc_error err = {{0}};
    if (!src || cl_env_open(device, false, &env, &err)) {
        fprintf(stderr, "qsd_bench: %s\n", src ? err.message : "out of memory");
        free(src);
        return 1;
    }
    int status = 1;
    cl_build_result built = {0};
    cl_int rc;
    cl_mem out = clCreateBuffer(env.ctx, CL_MEM_WRITE_ONLY, n * sizeof(float), NULL, &rc);
    if (rc != CL_SUCCESS || cl_build_program(&env, src, "", &built, &err)) {
        fprintf(stderr, "qsd_bench: %s\n", rc != CL_SUCCESS ? "buffer allocation failed"
                                                            : err.message);
        goto out;
    }
    printf("device: %s; %zu draws per launch, best of %d\n", env.dev.name, n, reps);
    printf("ns per draw by wall time (by CPU time, all threads), store cost subtracted\n");
    printf("%-26s %22s %22s %22s\n", "setting", "elementwise", "loop (as in GEMM)",
           with_try ? "try+fix loop" : "");
    timing base[2];
    for (int loop = 0; loop < 2; loop++)
        base[loop] = time_kernel(&env, built.program, loop ? "store_loop" : "store_elem",
                                 out, n, loop, reps);
    static const char *const kinds[3] = {"elem", "loop", "split"};
    for (size_t s = 0; s < n_settings; s++) {
        printf("%-26s", settings[s].label);
        for (int kind = 0; kind < (with_try ? 3 : 2); kind++) {
            char name[32];
            int loop = kind > 0;
            snprintf(name, sizeof name, "qsd_%s_%zu", kinds[kind], s);
            timing t = time_kernel(&env, built.program, name, out, n, loop, reps);
            double scale = 1e9 / (double)n;
            printf(" %10.2f (%8.2f)", (t.wall - base[loop].wall) * scale,
                   (t.cpu - base[loop].cpu) * scale);
        }
        printf("\n");
        fflush(stdout);
    }
    status = 0;
out:
    if (built.program)
        clReleaseProgram(built.program);
    if (out)
        clReleaseMemObject(out);
    cl_env_close(&env);
    free(src);
    return status;
}
