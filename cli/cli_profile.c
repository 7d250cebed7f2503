/* qsdc profile: where the time of one training step goes, per kernel. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compile.h"
#include "executor.h"
#include "gemm_select.h"
#include "init.h"

static const char profile_usage[] =
    "usage: qsdc profile MODEL.yaml [--batch N] [--steps N] [--alone] [--device D]\n"
    "\n"
    "Runs training steps on seeded parameters and a synthetic batch and prints\n"
    "a table per kernel: launches, total and per-step milliseconds, share of\n"
    "the step, and GFLOP/s (GEMMs) or GB/s (the rest).\n"
    "\n"
    "  --batch N    batch size (default: the model's)\n"
    "  --steps N    timed steps after one warm-up step (default 10)\n"
    "  --alone      also each kernel's best time in a step, and alone: best of\n"
    "               20 launches in a row on the step's buffers\n"
    "  --device D   index, cpu, gpu or part of a device name\n";

/* MODEL.yaml [--batch N] [--steps N] [--alone] [--device D], without
 * --steps and --alone when steps is NULL (tune). Returns -1 to go on (the
 * model is argv[optind]), else the exit status. */
static int parse_options(int argc, char **argv, const char *usage, long long *batch,
                         long long *steps, bool *alone, const char **device)
{
    static const struct option opts[] = {{"batch", required_argument, 0, 'b'},
                                         {"steps", required_argument, 0, 's'},
                                         {"device", required_argument, 0, 'd'},
                                         {"alone", no_argument, 0, 'a'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': if (cli_int("--batch", optarg, 1, batch) < 0) return 2; break;
        case 's':
            if (!steps) {
                fputs(usage, stderr);
                return 2;
            }
            if (cli_int("--steps", optarg, 1, steps) < 0)
                return 2;
            break;
        case 'd': *device = optarg; break;
        case 'a':
            if (!alone) {
                fputs(usage, stderr);
                return 2;
            }
            *alone = true;
            break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fputs(usage, stderr);
        return 2;
    }
    return -1;
}

/* best: NULL, or each launch's best time in a step (best[i]) and by
 * itself (best[n_launches + i]), in ms. */
static void print_table(const plan *p, const double *ms, const double *best,
                        long long steps)
{
    double total = 0;
    for (int i = 0; i < p->n_launches; i++)
        total += ms[i];
    printf("%-22s %-34s %8s %10s %9s %6s %10s%s\n", "kernel", "nodes", "launches", "total ms",
           "ms/step", "share", "rate", best ? "    best ms   alone ms best/alone" : "");
    for (int i = 0; i < p->n_launches; i++) {
        const plan_launch *l = &p->launches[i];
        double s = ms[i] / 1e3;
        char rate[32] = "";
        if (l->flops > 0 && s > 0)
            snprintf(rate, sizeof rate, "%.1f GFLOP/s", l->flops * (double)steps / s / 1e9);
        else if (l->bytes > 0 && s > 0)
            snprintf(rate, sizeof rate, "%.1f GB/s", l->bytes * (double)steps / s / 1e9);
        printf("%-22s %-34.34s %8lld %10.2f %9.3f %5.1f%% %10s", l->kernel, l->nodes, steps,
               ms[i], ms[i] / (double)steps, total > 0 ? 100 * ms[i] / total : 0, rate);
        if (best) {
            double alone = best[p->n_launches + i];
            printf(" %10.3f %10.3f %10.2f", best[i], alone, alone > 0 ? best[i] / alone : 0.0);
        }
        printf("\n");
    }
    printf("%-22s %-34s %8s %10.2f %9.3f\n", "total", "", "", total, total / (double)steps);
}

/* Launches [from, to): best[i] = their time since before[i] if first or
 * shorter, and before[i] the time so far. */
static void keep_best(const executor *ex, int from, int to, bool first, double *before,
                      double *best)
{
    for (int i = from; i < to; i++) {
        double ms = ex->launch_ms[i] - before[i];
        if (first || ms < best[i])
            best[i] = ms;
        before[i] = ex->launch_ms[i];
    }
}

/* A synthetic input from u in [0, 1): token ids, drawn uniformly from the
 * first embedding's vocabulary, for an int32 input (ids that read rows and
 * repeat, as text does), else u itself. */
static float input_value(const model *m, double u)
{
    for (int i = 0; m->dtype == DTYPE_INT32 && i < m->n_layers; i++)
        if (m->layers[i].kind == LAYER_EMBEDDING)
            return (float)(int64_t)(u * (double)m->layers[i].vocab);
    return (float)u;
}

int cli_profile(int argc, char **argv)
{
    long long batch = 0, steps = 10;
    const char *device = NULL;
    bool alone = false;
    int status = parse_options(argc, argv, profile_usage, &batch, &steps, &alone, &device);
    if (status >= 0)
        return status;
    qsdc_error err = {""};
    model m;
    if (model_load(argv[optind], &m, &err) < 0)
        return cli_error(err.message);
    cl_env env;
    plan p;
    model_state ms;
    executor ex;
    memset(&env, 0, sizeof env);
    memset(&p, 0, sizeof p);
    memset(&ms, 0, sizeof ms);
    memset(&ex, 0, sizeof ex);
    float *params = NULL, *x = NULL;
    double *best = NULL, *before = NULL;
    int32_t *y = NULL;
    int rc = cl_env_open(device, true, &env, &err);
    if (rc == 0)
        rc = compile_for_device(&env, &m, MODE_TRAIN, batch ? batch : m.train.batch, false,
                                NULL, &p, &err);
    if (rc == 0)
        rc = model_state_create(&env, p.param_elems, p.state_elems, &ms, &err);
    if (rc == 0) {
        params = malloc((size_t)p.param_elems * sizeof *params);
        x = malloc((size_t)p.input_elems * sizeof *x);
        y = calloc((size_t)(p.label_elems > p.batch ? p.label_elems : p.batch), sizeof *y);
        if (!params || !x || !y)
            rc = qsdc_fail(&err, "out of memory");
    }
    if (rc == 0) {
        params_init(&p, m.train.seed, params);
        for (int64_t i = 0; i < p.input_elems; i++)
            x[i] = input_value(&m, philox_uniform(1, 9, (uint64_t)i));
        rc = model_state_write(&env, &ms, params, NULL, &err);
    }
    if (rc == 0)
        rc = exec_create(&env, &p, &ms, &ex, &err);
    if (rc == 0)
        rc = exec_set_batch(&ex, x, y, &err);
    if (rc == 0)
        rc = exec_run(&ex, 1, 0, 0.0f, &err); /* warm-up, untimed */
    if (rc == 0 && alone) {
        best = malloc(2 * (size_t)p.n_launches * sizeof *best);
        before = calloc((size_t)p.n_launches, sizeof *before);
        if (!best || !before)
            rc = qsdc_fail(&err, "out of memory");
    }
    if (rc == 0) {
        ex.timing = true;
        memset(ex.launch_ms, 0, (size_t)p.n_launches * sizeof *ex.launch_ms);
        for (long long s = 1; s <= steps && rc == 0; s++) {
            rc = exec_run(&ex, 1, (uint32_t)s, 0.0f, &err);
            if (alone)
                keep_best(&ex, 0, p.n_launches, s == 1, before, best);
        }
    }
    /* each kernel again on the same buffers, launched back to back: what a
     * standalone benchmark sees (its own data in the caches, the threads
     * warm); best against best, as load on the machine inflates means */
    for (int i = 0; rc == 0 && alone && i < p.n_launches; i++) {
        double step_ms = ex.launch_ms[i];
        for (int r = 0; r <= 20 && rc == 0; r++) {
            before[i] = ex.launch_ms[i];
            rc = exec_run_launches(&ex, i, i + 1, 1, (uint32_t)steps, 0.0f, &err);
            if (r > 0) /* r = 0 warms the caches */
                keep_best(&ex, i, i + 1, r == 1, before, best + p.n_launches);
        }
        ex.launch_ms[i] = step_ms;
    }
    ex.timing = false; /* the table replaces exec_destroy's report */
    if (rc == 0) {
        printf("%s: one training step at batch %lld on %s (%lld steps timed)\n", m.name,
               (long long)p.batch, env.dev.name, steps);
        print_table(&p, ex.launch_ms, best, steps);
    }
    exec_destroy(&ex);
    model_state_free(&ms);
    plan_free(&p);
    cl_env_close(&env);
    free(params);
    free(best);
    free(before);
    free(x);
    free(y);
    model_free(&m);
    return rc < 0 ? cli_error(err.message) : 0;
}

static const char tune_usage[] =
    "usage: qsdc tune MODEL.yaml [--batch N] [--device D]\n"
    "\n"
    "Measures every conv2d layer of the model as a direct convolution and as\n"
    "im2col + GEMM, and every GEMM shape of its training and inference passes\n"
    "with the generated kernels and with CLBlast on the device, prints the\n"
    "times, and caches the faster choices per device (training and inference\n"
    "then use them). Without tuning, a shape is measured the first time it is\n"
    "met. QSDC_CONV=direct|gemm and QSDC_GEMM=own|clblast override them.\n";

int cli_tune(int argc, char **argv)
{
    long long batch = 0;
    const char *device = NULL;
    int status = parse_options(argc, argv, tune_usage, &batch, NULL, NULL, &device);
    if (status >= 0)
        return status;
    qsdc_error err = {""};
    model m;
    if (model_load(argv[optind], &m, &err) < 0)
        return cli_error(err.message);
    cl_env env;
    memset(&env, 0, sizeof env);
    plan p;
    int rc = cl_env_open(device, false, &env, &err);
    if (rc == 0)
        printf("conv2d and GEMM backends for %s on %s:\n", m.name, env.dev.name);
    for (int mode = MODE_TRAIN; rc == 0 && mode >= MODE_INFER; mode--) {
        rc = compile_for_device(&env, &m, (graph_mode)mode, batch ? batch : m.train.batch,
                                true, stdout, &p, &err);
        if (rc == 0)
            plan_free(&p);
    }
    cl_env_close(&env);
    model_free(&m);
    return rc < 0 ? cli_error(err.message) : 0;
}
