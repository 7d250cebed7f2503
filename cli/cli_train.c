/* qsdc train. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "qsdc.h"
#include "signals.h"

static const char train_usage[] =
    "usage: qsdc train MODEL.yaml|BUNDLE [OPTIONS]\n"
    "\n"
    "Trains the model on the data of its train: section, printing progress and\n"
    "one line per epoch with the training loss and validation/test accuracy.\n"
    "From a bundle (qsdc MODEL.yaml --train -o BUNDLE) the plans are the\n"
    "bundle's and its program binaries, if it holds them, are loaded instead\n"
    "of compiling kernels.\n"
    "\n"
    "  --epochs N        epochs (default: the model's)\n"
    "  --batch N         batch size\n"
    "  --seed N          seed of initialisation, shuffling and QSD masks\n"
    "  --lr X            base learning rate\n"
    "  --device D        index, cpu, gpu or part of a device name (qsdc devices)\n"
    "  --devices D,D...  data parallel over these devices, each on its shard of\n"
    "                    every batch (their count must divide the batch)\n"
    "  --checkpoint DIR  save parameters and optimiser state after every epoch; a DIR\n"
    "                    that already holds a run is refused without --resume or\n"
    "                    --overwrite\n"
    "  --resume          continue from the checkpoint in DIR\n"
    "  --overwrite       start over in a DIR that holds a run, replacing it\n"
    "  --early-stop N    stop once N epochs in a row have not bettered the best\n"
    "                    validation accuracy (a language model: perplexity); needs a\n"
    "                    validation split (train: val_split)\n"
    "  --keep-best       also keep the best validation epoch's checkpoint in\n"
    "                    DIR/best (qsdc eval --checkpoint DIR/best reads it)\n"
    "  --metrics FILE    write one JSON object per epoch\n"
    "  --metrics-every N also one every N steps (its step, epoch, batch, the mean\n"
    "                    loss since the last such line and the learning rate)\n"
    "  --max-steps N     stop after N optimiser steps in total\n"
    "  --check-finite    after every step, scan every node's output and gradient\n"
    "                    on the device; stop at the first NaN or Inf, naming the\n"
    "                    node, its op and the step (slower: every tensor is stored)\n"
    "  --init-from W.npz start from these weights (qsdc export -o W.npz, or a\n"
    "                    PyTorch state_dict saved with numpy.savez), each array's\n"
    "                    shape checked by name; one device (not with --devices,\n"
    "                    --resume or mpirun)\n"
    "\n"
    "Under mpirun -np N each rank trains on its shard of every batch (N must\n"
    "divide the batch) and the gradients are summed across ranks each step;\n"
    "rank 0 alone prints, writes metrics and checkpoints.\n"
    "\n"
    "Ctrl-C or SIGTERM stops after the current step, saving a checkpoint\n"
    "(with --checkpoint) that --resume continues exactly; the exit status is\n"
    "then 130 (143 after SIGTERM). A second signal aborts at once.\n";

/* Training in a session that starts from the weights of an .npz. */
static int train_from(const qsdc_model *m, const char *npz, const qsdc_train_options *o,
                      qsdc_train_result *r, qsdc_error *err)
{
    qsdc_open_options oo = {.device = o->device};
    qsdc_session *s;
    if (qsdc_session_open_model(m, &oo, &s, err) < 0)
        return -1;
    int rc = qsdc_session_import_npz(s, npz, err);
    if (rc == 0)
        rc = qsdc_session_train(s, o, r, err);
    qsdc_session_close(s);
    return rc;
}

int cli_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"epochs", required_argument, 0, 'e'},  {"batch", required_argument, 0, 'b'},
        {"seed", required_argument, 0, 's'},    {"lr", required_argument, 0, 'l'},
        {"device", required_argument, 0, 'd'},  {"checkpoint", required_argument, 0, 'c'},
        {"resume", no_argument, 0, 'r'},        {"metrics", required_argument, 0, 'm'},
        {"max-steps", required_argument, 0, 'x'}, {"help", no_argument, 0, 'h'},
        {"devices", required_argument, 0, 'D'}, {"check-finite", no_argument, 0, 'f'},
        {"overwrite", no_argument, 0, 'o'},     {"early-stop", required_argument, 0, 'E'},
        {"keep-best", no_argument, 0, 'k'},     {"init-from", required_argument, 0, 'i'},
        {"metrics-every", required_argument, 0, 'M'},
        {0, 0, 0, 0}};
    const char *init_from = NULL;
    qsdc_train_options o;
    memset(&o, 0, sizeof o);
    bool overwrite = false;
    long long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'e': if (cli_int("--epochs", optarg, 1, &v) < 0) return 2; o.epochs = v; break;
        case 'b': if (cli_int("--batch", optarg, 1, &v) < 0) return 2; o.batch = v; break;
        case 's':
            if (cli_int("--seed", optarg, 0, &v) < 0) return 2;
            o.seed = (uint64_t)v;
            o.seed_set = 1;
            break;
        case 'l': if (cli_double("--lr", optarg, &o.lr) < 0) return 2; break;
        case 'd': o.device = optarg; break;
        case 'D': o.devices = optarg; break;
        case 'c': o.checkpoint_dir = optarg; break;
        case 'r': o.resume = 1; break;
        case 'm': o.metrics_path = optarg; break;
        case 'x': if (cli_int("--max-steps", optarg, 1, &v) < 0) return 2; o.max_steps = v; break;
        case 'f': o.check_finite = 1; break;
        case 'o': overwrite = true; break;
        case 'E':
            if (cli_int("--early-stop", optarg, 1, &v) < 0) return 2;
            o.early_stop = v;
            break;
        case 'k': o.keep_best = 1; break;
        case 'i': init_from = optarg; break;
        case 'M':
            if (cli_int("--metrics-every", optarg, 1, &v) < 0) return 2;
            o.metrics_every = v;
            break;
        case 'h': fputs(train_usage, stdout); return 0;
        default: fputs(train_usage, stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fputs(train_usage, stderr);
        return 2;
    }
    if (o.device && o.devices) {
        fprintf(stderr, "qsdc: give --device or --devices, not both\n");
        return 2;
    }
    if ((o.resume || overwrite || o.keep_best) && !o.checkpoint_dir) {
        fprintf(stderr, "qsdc: %s needs --checkpoint DIR\n",
                o.resume ? "--resume" : overwrite ? "--overwrite" : "--keep-best");
        return 2;
    }
    if (o.metrics_every && !o.metrics_path) {
        fprintf(stderr, "qsdc: --metrics-every needs --metrics FILE\n");
        return 2;
    }
    if (o.resume && overwrite) {
        fprintf(stderr, "qsdc: give --resume or --overwrite, not both\n");
        return 2;
    }
    o.keep_existing = !overwrite;
    if (init_from && (o.devices || o.resume || qsdc_launch_rank() > 0)) {
        fprintf(stderr, "qsdc: --init-from trains on one device: not with --devices, "
                "--resume or mpirun\n");
        return 2;
    }
    if (qsdc_launch_rank() > 0) { /* rank 0 speaks for all */
        o.quiet = 1;
        o.metrics_path = NULL;
        if (!freopen("/dev/null", "w", stdout))
            return cli_error("cannot silence the output of a rank > 0");
    }
    qsdc_error err = {""};
    qsdc_model *m;
    if (qsdc_model_load(argv[optind], &m, &err) < 0)
        return cli_error(err.message);
    qsdc_train_result s;
    o.stop = stop_signals_install();
    int rc = init_from ? train_from(m, init_from, &o, &s, &err) : qsdc_train(m, &o, &s, &err);
    stop_signals_restore();
    qsdc_model_free(m);
    if (rc < 0)
        return cli_error(err.message);
    if (s.interrupted) {
        if (s.steps == 0)
            fprintf(stderr, "qsdc: interrupted before the first step\n");
        else if (o.checkpoint_dir)
            fprintf(stderr, "qsdc: interrupted after %lld steps; %s holds the step "
                    "reached (continue with --resume)\n", (long long)s.steps,
                    o.checkpoint_dir);
        else
            fprintf(stderr, "qsdc: interrupted after %lld steps (no --checkpoint: "
                    "nothing saved)\n", (long long)s.steps);
        return 128 + *o.stop;
    }
    return 0;
}
