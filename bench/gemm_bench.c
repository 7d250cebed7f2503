/* GFLOP/s of qsdc's generated GEMM kernels against CLBlast on the same
 * device and the same cl_mem buffers, at the MLP's shapes and 1024^3.
 *
 *   gemm_bench [--device SPEC] [--reps N] [--shape MxNxK[:T][:T]]...
 *              [--tune vec,mr,nv,bm,bn,kc,min_groups[,min_group_flops]] [--epilogue CODE]
 *              [--tiles items_m,items_n,block_m,block_n,k[,direct]] [--no-clblast]
 *
 * A shape suffix ":TN" style is written as two letters after a colon, e.g.
 * "784x1024x128:TN" (trans_a) or "128x784x1024:NT" (trans_b). Each timing is
 * the best of --reps runs (default 20) after one warm-up. One line per shape:
 *   RESULT <label> <own GFLOP/s> <CLBlast GFLOP/s> <max rel diff>
 *          <own GFLOP per CPU-second> <CLBlast GFLOP per CPU-second>
 * --epilogue times the kernel with that per-element epilogue (e.g.
 * "v += P[col]; v = fmax(v, 0.0f);"), CLBlast without it. --tiles times
 * the tiled family with those tiles instead of the panel family (",direct":
 * its variant without __local staging). On a
 * device that cuts loops short the panel family is shaped for it, as qsdc
 * shapes it (loop_guard.h). Never a test: timings on shared machines are
 * noise-prone. */
#include "cl_runtime.h"

#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen_gemm.h"

typedef struct bench_shape {
    int64_t M, N, K;
    bool ta, tb;
    char label[96];
} bench_shape;

static const char *default_shapes[] = {
    "128x1024x784:NN",  /* forward, layer 1 */
    "128x1024x1024:NN", /* forward, layer 2 */
    "128x10x1024:NN",   /* forward, output layer */
    "784x1024x128:TN",  /* dW1 = X^T dY */
    "1024x1024x128:TN", /* dW2 */
    "128x784x1024:NT",  /* dX = dY W^T */
    "128x1024x1024:NT",
    "1024x1024x1024:NN",
};

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int parse_shape(const char *s, bench_shape *out)
{
    long long m, n, k;
    char tr[3] = "NN";
    int got = sscanf(s, "%lldx%lldx%lld:%2s", &m, &n, &k, tr);
    if (got < 3 || m < 1 || n < 1 || k < 1 ||
        (tr[0] != 'N' && tr[0] != 'T') || (tr[1] != 'N' && tr[1] != 'T'))
        return -1;
    *out = (bench_shape){.M = m, .N = n, .K = k, .ta = tr[0] == 'T', .tb = tr[1] == 'T'};
    snprintf(out->label, sizeof out->label, "%lldx%lldx%lld:%c%c", m, n, k, tr[0], tr[1]);
    return 0;
}

static int parse_tune(const char *s, gemm_tuning *t)
{
    int got = sscanf(s, "%d,%d,%d,%d,%d,%d,%d,%lf", &t->vec, &t->mr, &t->nv, &t->bm, &t->bn,
                     &t->kc, &t->min_groups, &t->min_group_flops);
    return got == 7 || got == 8 ? 0 : -1;
}

/* Best wall time and best process CPU time (all threads) of reps runs of
 * an in-order queue's work, after a warm-up. CPU time is what the work costs
 * whatever else the machine runs; wall time is what a user sees. */
typedef int (*enqueue_fn)(void *ctx);
typedef struct timing {
    double wall, cpu;
} timing;

static timing best_time(cl_command_queue q, enqueue_fn fn, void *ctx, int reps)
{
    timing best = {INFINITY, INFINITY}, failed = {-1, -1};
    if (fn(ctx) || clFinish(q) != CL_SUCCESS)
        return failed;
    for (int r = 0; r < reps; r++) {
        double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        if (fn(ctx) || clFinish(q) != CL_SUCCESS)
            return failed;
        best.wall = fmin(best.wall, clock_s(CLOCK_MONOTONIC) - w0);
        best.cpu = fmin(best.cpu, clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
    }
    return best;
}

typedef struct run_ctx {
    cl_command_queue queue;
    cl_kernel kernel;
    plan_launch launch;
    const bench_shape *sh;
    cl_mem a, b, c;
} run_ctx;

static int enqueue_own(void *p)
{
    run_ctx *r = p;
    size_t g[3], l[3];
    for (int d = 0; d < 3; d++) {
        g[d] = (size_t)r->launch.global[d];
        l[d] = (size_t)r->launch.local[d];
    }
    return clEnqueueNDRangeKernel(r->queue, r->kernel, (cl_uint)r->launch.work_dim, NULL,
                                  g, l, 0, NULL, NULL) != CL_SUCCESS;
}

static int enqueue_clblast(void *p)
{
    run_ctx *r = p;
    const bench_shape *s = r->sh;
    size_t lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    return CLBlastSgemm(CLBlastLayoutRowMajor,
                        s->ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                        s->tb ? CLBlastTransposeYes : CLBlastTransposeNo,
                        (size_t)s->M, (size_t)s->N, (size_t)s->K, 1.0f, r->a, 0, lda,
                        r->b, 0, ldb, 0.0f, r->c, 0, (size_t)s->N, &r->queue, NULL) !=
           CLBlastSuccess;
}

static double max_rel_diff(const float *x, const float *y, size_t n)
{
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)y[i]));
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)x[i] - (double)y[i]));
    return scale > 0 ? worst / scale : worst;
}

static double gflops(double flops, double seconds)
{
    return seconds > 0 ? flops / seconds * 1e-9 : 0.0;
}

/* Own kernel: A in the arena, B in P, C in G, as the MLP's forward pass. */
static int bench_one(cl_env *env, const bench_shape *s, const gemm_tuning *t,
                     const char *epilogue, int reps, bool clblast)
{
    qsdc_error err = {{0}};
    size_t na = (size_t)(s->M * s->K), nb = (size_t)(s->K * s->N), nc = (size_t)(s->M * s->N);
    float *host = malloc(sizeof(float) * (na + nb + 2 * nc));
    if (!host)
        return -1;
    for (size_t i = 0; i < na + nb; i++)
        host[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    cl_int rc;
    cl_mem a = clCreateBuffer(env->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              na * sizeof(float), host, &rc);
    cl_mem b = clCreateBuffer(env->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              nb * sizeof(float), host + na, &rc);
    cl_mem c = clCreateBuffer(env->ctx, CL_MEM_READ_WRITE, nc * sizeof(float), NULL, &rc);
    cl_mem unused = clCreateBuffer(env->ctx, CL_MEM_READ_WRITE, 64, NULL, &rc);
    int status = -1;
    run_ctx r = {.queue = env->queue, .sh = s, .a = a, .b = b, .c = c};
    strbuf src;
    sb_init(&src);
    gemm_spec spec = {.name = "gemm_bench", .M = s->M, .N = s->N, .K = s->K,
                      .trans_a = s->ta, .trans_b = s->tb, .a = "A", .b = "P", .c = "G",
                      .lda = s->ta ? s->M : s->K, .ldb = s->tb ? s->K : s->N, .ldc = s->N,
                      .epilogue = epilogue};
    cl_build_result built = {0};
    if (!a || !b || !c || !unused) {
        fprintf(stderr, "%s: buffer allocation failed\n", s->label);
        goto out;
    }
    if (codegen_gemm(&src, &spec, t, &r.launch, &err) ||
        cl_build_program(env, sb_str(&src), "-cl-std=CL1.2", &built, &err)) {
        fprintf(stderr, "%s: %s\n", s->label, err.message);
        goto out;
    }
    r.kernel = clCreateKernel(built.program, spec.name, &rc);
    if (cl_check(rc, "clCreateKernel", &err)) {
        fprintf(stderr, "%s: %s\n", s->label, err.message);
        goto out;
    }
    cl_mem args[5] = {b, c, unused, a, unused};
    for (cl_uint i = 0; i < 5; i++)
        clSetKernelArg(r.kernel, i, sizeof(cl_mem), &args[i]);
    cl_uint zero = 0;
    float lr = 0;
    clSetKernelArg(r.kernel, 5, sizeof zero, &zero);
    clSetKernelArg(r.kernel, 6, sizeof zero, &zero);
    clSetKernelArg(r.kernel, 7, sizeof lr, &lr);
    clSetKernelArg(r.kernel, 8, sizeof zero, &zero);
    timing t_own = best_time(env->queue, enqueue_own, &r, reps);
    float *own_c = host + na + nb, *ref_c = own_c + nc;
    clEnqueueReadBuffer(env->queue, c, CL_TRUE, 0, nc * sizeof(float), own_c, 0, NULL, NULL);
    timing t_blast = {-1, -1};
    double diff = NAN;
    if (clblast) {
        t_blast = best_time(env->queue, enqueue_clblast, &r, reps);
        clEnqueueReadBuffer(env->queue, c, CL_TRUE, 0, nc * sizeof(float), ref_c, 0, NULL,
                            NULL);
        diff = max_rel_diff(own_c, ref_c, nc);
    }
    double flops = 2.0 * (double)s->M * (double)s->N * (double)s->K;
    printf("RESULT %-18s %8.1f %8.1f %9.2e %8.1f %8.1f  (own %.3f ms, CLBlast %.3f ms, "
           "%llux%llu work-items)\n",
           s->label, gflops(flops, t_own.wall), gflops(flops, t_blast.wall), diff,
           gflops(flops, t_own.cpu), gflops(flops, t_blast.cpu), t_own.wall * 1e3,
           t_blast.wall * 1e3, (unsigned long long)r.launch.global[0],
           (unsigned long long)r.launch.global[1]);
    fflush(stdout);
    status = t_own.wall > 0 ? 0 : -1;
out:
    if (r.kernel)
        clReleaseKernel(r.kernel);
    if (built.program)
        clReleaseProgram(built.program);
    sb_free(&src);
    clReleaseMemObject(a);
    clReleaseMemObject(b);
    clReleaseMemObject(c);
    clReleaseMemObject(unused);
    free(host);
    return status;
}

int main(int argc, char **argv)
{
    const char *device = NULL, *epilogue = NULL, *tune_arg = NULL, *tiles_arg = NULL;
    int reps = 20;
    bool clblast = true;
    gemm_tuning tune;
    bench_shape shapes[64];
    int n_shapes = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--device") && val) {
            device = val;
            i++;
        } else if (!strcmp(arg, "--reps") && val) {
            reps = atoi(val);
            i++;
        } else if (!strcmp(arg, "--shape") && val && n_shapes < 64) {
            if (parse_shape(val, &shapes[n_shapes++])) {
                fprintf(stderr, "gemm_bench: bad shape '%s'\n", val);
                return 2;
            }
            i++;
        } else if (!strcmp(arg, "--tune") && val) {
            tune_arg = val;
            i++;
        } else if (!strcmp(arg, "--tiles") && val) {
            tiles_arg = val;
            i++;
        } else if (!strcmp(arg, "--epilogue") && val) {
            epilogue = val;
            i++;
        } else if (!strcmp(arg, "--no-clblast")) {
            clblast = false;
        } else {
            fprintf(stderr, "usage: gemm_bench [--device SPEC] [--reps N] "
                            "[--shape MxNxK[:TN]]... [--tune vec,mr,nv,bm,bn,kc,min_groups[,min_group_flops]] "
                            "[--epilogue CODE] [--tiles im,in,bm,bn,k[,direct]] [--no-clblast]\n");
            return 2;
        }
    }
    if (n_shapes == 0)
        for (size_t i = 0; i < sizeof default_shapes / sizeof *default_shapes; i++)
            parse_shape(default_shapes[i], &shapes[n_shapes++]);
    cl_env env;
    qsdc_error err = {{0}};
    if (cl_env_open(device, false, &env, &err)) {
        fprintf(stderr, "gemm_bench: %s\n", err.message);
        return 1;
    }
    gemm_tuning_default(&tune, env.dev.type & CL_DEVICE_TYPE_CPU, env.dev.pref_vector_float);
    tune.loop_budget = env.dev.loop_limit / 2;
    gemm_tiles *tl = &tune.tiles;
    char direct[8] = "";
    if ((tune_arg && parse_tune(tune_arg, &tune)) ||
        (tiles_arg && sscanf(tiles_arg, "%d,%d,%d,%d,%d,%7s", &tl->items_m, &tl->items_n,
                             &tl->block_m, &tl->block_n, &tl->k, direct) < 5) ||
        (direct[0] && strcmp(direct, "direct"))) {
        fprintf(stderr, "gemm_bench: bad tuning or tiles\n");
        cl_env_close(&env);
        return 2;
    }
    tl->direct = direct[0] != '\0';
    printf("device: %s\ntuning: vec %d, micro-tile %dx%d, block %dx%d, kc %d, "
           "min groups %d of %g+ FLOP\n",
           env.dev.name, tune.vec, tune.mr, tune.nv * tune.vec, tune.bm, tune.bn, tune.kc,
           tune.min_groups, tune.min_group_flops);
    if (gemm_tiled(tl))
        printf("tiled: %dx%d work-items of %dx%d, k %d%s\n", tl->items_m, tl->items_n,
               tl->block_m, tl->block_n, tl->k, tl->direct ? ", direct" : "");
    printf("GFLOP/s by wall time, then per CPU-second (immune to other load)\n");
    printf("%-25s %8s %8s %9s %8s %8s\n", "       shape", "own", "CLBlast", "max rel",
           "own/cpu", "CLB/cpu");
    int failed = 0;
    for (int i = 0; i < n_shapes; i++)
        failed |= bench_one(&env, &shapes[i], &tune, epilogue, reps, clblast) != 0;
    cl_env_close(&env);
    return failed;
}
