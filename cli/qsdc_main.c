/* qsdc: a thin command line over libqsdc. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "qsdc.h"

static const char usage[] =
    "usage: qsdc MODEL.yaml [-o DIR] [--batch N] [--train] [--dump-graph]\n"
    "       qsdc COMMAND [OPTIONS]\n"
    "       qsdc --help | --version\n"
    "\n"
    "Compiles and trains neural networks regularised with Quantal Synaptic\n"
    "Dilution on OpenCL devices.\n"
    "\n"
    "commands:\n"
    "  MODEL.yaml   compile a model to a bundle (kernels.cl, plan.yaml, graph.dot)\n"
    "  summary      a model's layers: output shapes and parameter counts\n"
    "  devices      list OpenCL platforms and devices\n"
    "  train        train a model on its data (train: section of the model)\n"
    "  eval         test accuracy of a trained checkpoint\n"
    "  infer        forward pass over a data file, accuracy and throughput\n"
    "  predict      class probabilities (or outputs) of a data file, to .npy or CSV\n"
    "  export       a trained model as ONNX, or its weights as .npz in PyTorch's layouts\n"
    "  profile      time each kernel of one training step\n"
    "  tune         measure generated GEMMs against CLBlast, cache the choice\n"
    "  experiment   train a grid of regulariser settings x seeds (QSD vs dropout)\n"
    "  report       summarise an experiment's results: tables, tests, figures\n"
    "\n"
    "Run 'qsdc COMMAND --help' for a command's options.\n"
    "environment: QSDC_DEBUG=kernels,build  QSDC_CACHE_DIR=DIR|off\n";

static int run_command(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("qsdc %s\n", QSDC_VERSION);
        return 0;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {{"devices", cli_devices}, {"train", cli_train},
                    {"eval", cli_eval},       {"infer", cli_infer},
                    {"predict", cli_predict}, {"export", cli_export},
                    {"compile", cli_compile}, {"profile", cli_profile},
                    {"tune", cli_tune},       {"experiment", cli_experiment},
                    {"report", cli_report},   {"summary", cli_summary}};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    if (cmd[0] == '-') {
        fprintf(stderr, "qsdc: unknown option '%s'\n%s", cmd, usage);
        return 2;
    }
    /* qsdc MODEL.yaml ...: compile. A word that names no file and is not
     * named like a model file is a mistyped command, not a missing model. */
    if (access(cmd, F_OK) != 0 && !cli_ends_with(cmd, ".yaml") && !cli_ends_with(cmd, ".yml")) {
        fprintf(stderr, "qsdc: unknown command '%s'\n%s", cmd, usage);
        return 2;
    }
    return cli_compile(argc, argv);
}

/* Results go to stdout: output lost to a full disk is a failure, not exit 0. */
int main(int argc, char **argv)
{
    int rc = run_command(argc, argv);
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "qsdc: cannot write the output%s%s\n", errno ? ": " : "",
                errno ? strerror(errno) : "");
        return rc ? rc : 1;
    }
    return rc;
}
