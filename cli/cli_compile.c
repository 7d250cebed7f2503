/* qsdc MODEL.yaml and qsdc devices. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qsdc.h"

static const char compile_usage[] =
    "usage: qsdc MODEL.yaml [-o DIR] [--batch N] [--train] [--dump-graph]\n"
    "                   [--emit-binary [--device D]]\n"
    "\n"
    "Compiles the model to a bundle directory (default NAME.qsdc/), written\n"
    "atomically: kernels.cl (OpenCL 1.2 C), plan.yaml (buffers and launches),\n"
    "graph.dot (Graphviz, one cluster per fused kernel).\n"
    "\n"
    "  -o, --output DIR   bundle directory\n"
    "  --batch N          batch size compiled in (default: the model's, else 128)\n"
    "  --train            also compile the training step (train.cl)\n"
    "  --dump-graph       print the graph IR with shapes\n"
    "  --emit-binary      also build the kernels for a device and store the\n"
    "                     program binaries (kernels.bin, train.bin) in the bundle\n"
    "  --device D         specialise the kernels for device D (index, cpu, gpu,\n"
    "                     name); without it, for a CPU with 8-wide vectors\n";

static double mib(int64_t bytes)
{
    return (double)bytes / 1048576.0;
}

static void report(const char *what, const qsdc_plan_summary *p)
{
    printf("  %-9s %3d nodes -> %3d kernels; arena %.2f MiB (unplanned %.2f MiB); device "
           "memory %.2f MiB, lower bound %.2f MiB (%.2fx)\n",
           what, p->nodes, p->kernels, mib(p->arena_bytes), mib(p->arena_unplanned_bytes),
           mib(p->memory_bytes), mib(p->memory_bound_bytes),
           p->memory_bound_bytes > 0
               ? (double)p->memory_bytes / (double)p->memory_bound_bytes : 0);
}

int cli_compile(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"batch", required_argument, 0, 'b'},
        {"train", no_argument, 0, 't'},        {"dump-graph", no_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'},         {"emit-binary", no_argument, 0, 'e'},
        {"device", required_argument, 0, 'D'}, {0, 0, 0, 0}};
    const char *out_dir = NULL, *device = NULL;
    long long batch = 0;
    int train = 0, dump = 0, emit = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out_dir = optarg; break;
        case 'b':
            if (cli_int("--batch", optarg, 1, &batch) < 0)
                return 2;
            break;
        case 't': train = 1; break;
        case 'd': dump = 1; break;
        case 'e': emit = 1; break;
        case 'D': device = optarg; break;
        case 'h': fputs(compile_usage, stdout); return 0;
        default: fputs(compile_usage, stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fputs(compile_usage, stderr);
        return 2;
    }
    qsdc_error err = {""};
    qsdc_model *m;
    if (qsdc_model_load(argv[optind], &m, &err) < 0)
        return cli_error(err.message);
    qsdc_compile_options o = {.batch = batch, .training = train, .device = device,
                              .emit_binary = emit, .graph_out = dump ? stdout : NULL};
    qsdc_bundle_info b;
    int rc = qsdc_compile_bundle(m, out_dir, &o, &b, &err);
    qsdc_model_free(m);
    if (rc < 0)
        return cli_error(err.message);
    printf("%s: %d layers, %lld parameters (%.2f MiB), batch %lld\n", b.model, b.layers,
           (long long)b.params, (double)b.params * 4 / 1048576.0, (long long)b.batch);
    report("inference", &b.plans[0]);
    if (b.n_plans > 1)
        report("training", &b.plans[1]);
    printf("wrote %s/ (kernels.cl, plan.yaml, graph.dot, model.yaml%s)\n", b.dir,
           b.n_plans > 1 ? ", train.cl" : "");
    for (int i = 0; i < b.n_plans && emit; i++)
        printf("wrote %s/%s for %s\n", b.dir, b.plans[i].binary, b.device);
    return 0;
}

int cli_devices(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        puts("usage: qsdc devices\n\nLists every OpenCL platform and device. --device "
             "takes the index, cpu, gpu or part of the name.");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "qsdc: devices takes no arguments\n");
        return 2;
    }
    qsdc_error err = {""};
    int cap = qsdc_get_devices(NULL, 0, &err);
    if (cap < 0)
        return cli_error(err.message);
    qsdc_device_info *devs = calloc((size_t)cap, sizeof *devs);
    if (!devs)
        return cli_error("out of memory");
    int n = qsdc_get_devices(devs, cap, &err);
    if (n < 0) {
        free(devs);
        return cli_error(err.message);
    }
    n = n < cap ? n : cap;
    printf("%-3s %-40s %-24s %-22s %-5s %4s %10s\n", "#", "device", "vendor", "version",
           "type", "CUs", "memory");
    for (int i = 0; i < n; i++)
        printf("%-3d %-40.40s %-24.24s %-22.22s %-5s %4u %7.1f GiB%s\n", devs[i].index,
               devs[i].name, devs[i].vendor, devs[i].version, devs[i].type,
               devs[i].compute_units, (double)devs[i].memory_bytes / 1073741824.0,
               devs[i].is_default ? "  (default)" : "");
    free(devs);
    return 0;
}
