/* qsdc MODEL.yaml and qsdc devices. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "bundle_load.h"
#include "cl_runtime.h"
#include "cli.h"
#include "compile.h"
#include "executor.h"
#include "file_io.h"
#include "yaml_doc.h"

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

/* Builds each plan's kernels for the device and keeps the binaries in the
 * plans, for the bundle to store beside their sources (runs without an
 * OpenCL C compiler: FPGA flows). */
static int build_binaries(plan *plans, int n, const char *device, char *device_name,
                          size_t cap, qsdc_error *err)
{
    cl_env env;
    if (cl_env_open(device, false, &env, err) < 0)
        return -1;
    snprintf(device_name, cap, "%s", env.dev.name);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        cl_build_result br;
        rc = cl_build_program(&env, plans[i].source, "", &br, err);
        if (rc == 0) {
            rc = cl_program_binary(&env, br.program, &plans[i].binary, &plans[i].binary_len,
                                   err);
            clReleaseProgram(br.program);
        }
    }
    cl_env_close(&env);
    return rc;
}

/* The model's text beside the plans, for qsdc train|infer DIR. */
static int store_model(const char *dir, const char *model_path, qsdc_error *err)
{
    unsigned char *text;
    size_t len;
    if (fs_read_file_max(model_path, YDOC_MAX_BYTES, &text, &len, err) < 0)
        return -1;
    char path[QSDC_PATH_MAX + 16];
    bundle_model_path(dir, path, sizeof path);
    int rc = fs_write_atomic(path, text, len, NULL, 0, err);
    free(text);
    return rc;
}

/* The model's parameters: the P allocation less its alignment padding. */
static int64_t param_count(const plan *p)
{
    int64_t n = 0;
    for (int i = 0; i < p->n_tensors; i++)
        if (p->tensors[i].buffer == BUF_P)
            n += p->tensors[i].nelem;
    return n;
}

static double mib(int64_t elems)
{
    return (double)elems * 4 / 1048576.0;
}

/* Device memory of one plan: the three single allocations, its arena and
 * labels, against the lower bound of the same allocations plus the largest
 * set of activations live at once. */
static void report(const char *what, const plan *p)
{
    int64_t fixed = p->param_elems + (p->loss_offset >= 0 ? p->grad_elems : 0) + p->state_elems;
    int64_t peak = fixed + p->arena_elems + p->label_elems;
    int64_t bound = fixed + p->arena_live_peak_elems;
    printf("  %-9s %3d nodes -> %3d kernels; arena %.2f MiB (unplanned %.2f MiB); device "
           "memory %.2f MiB, lower bound %.2f MiB (%.2fx)\n",
           what, p->nodes_before_fusion, p->kernels, mib(p->arena_elems),
           mib(p->arena_unplanned_elems), mib(peak), mib(bound),
           bound > 0 ? (double)peak / (double)bound : 0);
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
    model m;
    if (model_load(argv[optind], &m, &err) < 0)
        return cli_error(err.message);
    if (batch == 0)
        batch = m.train.batch;
    codegen_target target;
    codegen_target_default(&target);
    if (device || emit) {
        /* opened, not only listed: its loop limit is measured then */
        cl_env env;
        if (cl_env_open(device, false, &env, &err) < 0) {
            model_free(&m);
            return cli_error(err.message);
        }
        exec_target(&env.dev, &target);
        cl_env_close(&env);
    }
    plan plans[2];
    graph g;
    fusion f;
    int n = 0, rc = 0;
    if (compile_plan(&m, MODE_INFER, batch, &target, &plans[0], train ? NULL : &g,
                     train ? NULL : &f, &err) < 0)
        rc = -1;
    else
        n = 1;
    if (rc == 0 && train) {
        if (compile_plan(&m, MODE_TRAIN, batch, &target, &plans[1], &g, &f, &err) < 0)
            rc = -1;
        else
            n = 2;
    }
    char dir[QSDC_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", out_dir ? out_dir : "");
    if (!out_dir)
        snprintf(dir, sizeof dir, "%s.qsdc", m.name);
    char device_name[256] = "";
    if (rc == 0 && emit)
        rc = build_binaries(plans, n, device, device_name, sizeof device_name, &err);
    if (rc == 0) {
        if (dump) {
            strbuf sb;
            sb_init(&sb);
            graph_dump(&g, &sb);
            fputs(sb_str(&sb), stdout);
            sb_free(&sb);
        }
        const plan *pp[2] = {&plans[0], &plans[1]};
        rc = bundle_write(dir, pp, n, &g, &f, &err);
    }
    if (rc == 0)
        rc = store_model(dir, argv[optind], &err);
    if (rc == 0) {
        int64_t params = param_count(&plans[0]);
        printf("%s: %d layers, %lld parameters (%.2f MiB), batch %lld\n", m.name,
               m.n_layers, (long long)params, (double)params * 4 / 1048576.0, batch);
        report("inference", &plans[0]);
        if (n > 1)
            report("training", &plans[1]);
        printf("wrote %s/ (kernels.cl, plan.yaml, graph.dot, model.yaml%s)\n", dir,
               n > 1 ? ", train.cl" : "");
        for (int i = 0; i < n && emit; i++)
            printf("wrote %s/%s for %s\n", dir, bundle_binary_name(&plans[i]), device_name);
    }
    for (int i = 0; i < n; i++)
        plan_free(&plans[i]);
    if (n > 0) {
        graph_free(&g);
        fusion_free(&f);
    }
    model_free(&m);
    return rc < 0 ? cli_error(err.message) : 0;
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
    cl_device_info_rec *devs = NULL;
    int n = 0;
    if (cl_list_devices(&devs, &n, &err) < 0)
        return cli_error(err.message);
    if (n == 0) {
        cl_fail_no_device(&err);
        return cli_error(err.message);
    }
    cl_device_info_rec def;
    int def_index = cl_select_device(NULL, &def, &err) == 0 ? def.index : -1;
    printf("%-3s %-40s %-24s %-22s %-5s %4s %10s\n", "#", "device", "vendor", "version",
           "type", "CUs", "memory");
    for (int i = 0; i < n; i++)
        printf("%-3d %-40.40s %-24.24s %-22.22s %-5s %4u %7.1f GiB%s\n", devs[i].index,
               devs[i].name, devs[i].vendor, devs[i].version,
               cl_device_type_name(devs[i].type), devs[i].compute_units,
               (double)devs[i].global_mem / 1073741824.0,
               devs[i].index == def_index ? "  (default)" : "");
    free(devs);
    return 0;
}
