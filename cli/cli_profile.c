/* qsdc profile: where the time of one training step goes, per kernel. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qsdc.h"

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

static void print_table(const qsdc_kernel_profile *k, int n, bool alone, long long steps)
{
    double total = 0;
    for (int i = 0; i < n; i++)
        total += k[i].ms;
    printf("%-22s %-34s %8s %10s %9s %6s %10s%s\n", "kernel", "nodes", "launches", "total ms",
           "ms/step", "share", "rate", alone ? "    best ms   alone ms best/alone" : "");
    for (int i = 0; i < n; i++) {
        const qsdc_kernel_info *l = &k[i].kernel;
        double s = k[i].ms / 1e3;
        char rate[32] = "";
        if (l->flops > 0 && s > 0)
            snprintf(rate, sizeof rate, "%.1f GFLOP/s", l->flops * (double)steps / s / 1e9);
        else if (l->bytes > 0 && s > 0)
            snprintf(rate, sizeof rate, "%.1f GB/s", l->bytes * (double)steps / s / 1e9);
        printf("%-22s %-34.34s %8lld %10.2f %9.3f %5.1f%% %10s", l->name, l->nodes, steps,
               k[i].ms, k[i].ms / (double)steps, total > 0 ? 100 * k[i].ms / total : 0, rate);
        if (alone)
            printf(" %10.3f %10.3f %10.2f", k[i].best_ms, k[i].alone_ms,
                   k[i].alone_ms > 0 ? k[i].best_ms / k[i].alone_ms : 0.0);
        printf("\n");
    }
    printf("%-22s %-34s %8s %10.2f %9.3f\n", "total", "", "", total, total / (double)steps);
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
    qsdc_open_options o = {.device = device, .batch = batch, .profiling = 1};
    qsdc_profile_options po = {.steps = steps, .alone = alone};
    qsdc_session *s;
    if (qsdc_session_open(argv[optind], &o, &s, &err) < 0)
        return cli_error(err.message);
    qsdc_session_info info;
    qsdc_kernel_profile *k = NULL;
    int n = qsdc_session_get_info(s, &info, &err);
    if (n == 0)
        n = qsdc_session_profile(s, &po, &k, &err);
    qsdc_session_close(s);
    if (n < 0)
        return cli_error(err.message);
    printf("%s: one training step at batch %lld on %s (%lld steps timed)\n", info.model,
           (long long)info.batch, info.device, steps);
    print_table(k, n, alone, steps);
    free(k);
    return 0;
}

static const char tune_usage[] =
    "usage: qsdc tune MODEL.yaml [--batch N] [--device D]\n"
    "\n"
    "Measures every conv2d layer of the model as a direct convolution and as\n"
    "im2col + GEMM, every lstm layer's recurrence on vectors of units and on\n"
    "one unit per work-item, and every GEMM shape of its training and\n"
    "inference passes with both families of generated kernels (panel: one\n"
    "work-item per work-group, for CPUs; tiled: work-groups of work-items\n"
    "sharing tiles in local memory, for devices that run work-items in lanes;\n"
    "the fastest of its candidate tiles) and with CLBlast on the device; where\n"
    "the tiled family is chosen, every im2col, col2im, pool and pool gradient\n"
    "kernel with a row of outputs and with one output per work-item. Prints\n"
    "the times, and caches the fastest choices per device (training and\n"
    "inference then use them). Without tuning, a shape is measured the first\n"
    "time it is met.\n"
    "QSDC_CONV=direct|gemm, QSDC_LSTM=vector|scalar, QSDC_WINDOW=rows|lanes\n"
    "and QSDC_GEMM=own|panel|tiled|direct|clblast override them.\n";

int cli_tune(int argc, char **argv)
{
    long long batch = 0;
    const char *device = NULL;
    int status = parse_options(argc, argv, tune_usage, &batch, NULL, NULL, &device);
    if (status >= 0)
        return status;
    qsdc_error err = {""};
    qsdc_model *m;
    if (qsdc_model_load(argv[optind], &m, &err) < 0)
        return cli_error(err.message);
    int rc = qsdc_tune(m, device, batch, stdout, &err);
    qsdc_model_free(m);
    return rc < 0 ? cli_error(err.message) : 0;
}
