/* qsdc train, eval and infer. */
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
    "  --checkpoint DIR  save parameters and optimiser state after every epoch\n"
    "  --resume          continue from the checkpoint in DIR\n"
    "  --metrics FILE    write one JSON object per epoch\n"
    "  --max-steps N     stop after N optimiser steps in total\n"
    "  --check-finite    after every step, scan every node's output and gradient\n"
    "                    on the device; stop at the first NaN or Inf, naming the\n"
    "                    node, its op and the step (slower: every tensor is stored)\n"
    "\n"
    "Under mpirun -np N each rank trains on its shard of every batch (N must\n"
    "divide the batch) and the gradients are summed across ranks each step;\n"
    "rank 0 alone prints, writes metrics and checkpoints.\n"
    "\n"
    "Ctrl-C or SIGTERM stops after the current step, saving a checkpoint\n"
    "(with --checkpoint) that --resume continues exactly; the exit status is\n"
    "then 130 (143 after SIGTERM). A second signal aborts at once.\n";

int cli_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"epochs", required_argument, 0, 'e'},  {"batch", required_argument, 0, 'b'},
        {"seed", required_argument, 0, 's'},    {"lr", required_argument, 0, 'l'},
        {"device", required_argument, 0, 'd'},  {"checkpoint", required_argument, 0, 'c'},
        {"resume", no_argument, 0, 'r'},        {"metrics", required_argument, 0, 'm'},
        {"max-steps", required_argument, 0, 'x'}, {"help", no_argument, 0, 'h'},
        {"devices", required_argument, 0, 'D'}, {"check-finite", no_argument, 0, 'f'},
        {0, 0, 0, 0}};
    qsdc_train_options o;
    memset(&o, 0, sizeof o);
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
    if (o.resume && !o.checkpoint_dir) {
        fprintf(stderr, "qsdc: --resume needs --checkpoint DIR\n");
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
    int rc = qsdc_train(m, &o, &s, &err);
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

/* The kernels of s's inference plan and how its program was made. */
static int print_kernels(qsdc_session *s, const char *program, qsdc_error *err)
{
    int n = qsdc_session_kernels(s, NULL, 0, err);
    if (n < 0)
        return -1;
    qsdc_kernel_info *k = calloc((size_t)n + 1, sizeof *k);
    if (!k)
        return qsdc_fail(err, "out of memory");
    int rc = qsdc_session_kernels(s, k, n, err) < 0 ? -1 : 0;
    if (rc == 0)
        printf("kernels (%d, program %s):\n", n, program);
    for (int i = 0; rc == 0 && i < n; i++)
        printf("  %-20s %s\n", k[i].name, k[i].nodes);
    free(k);
    return rc;
}

/* eval: the model's test data (a language model: the perplexity of its
 * corpus's test split); infer: images, and labels when not NULL. */
static int run_eval(qsdc_session *s, bool eval, bool trained, const char *images,
                    const char *labels, qsdc_error *err)
{
    qsdc_session_info info;
    qsdc_eval_result r;
    if (qsdc_session_get_info(s, &info, err) < 0 ||
        (!trained && qsdc_session_init_weights(s, info.seed, err) < 0) ||
        (eval ? qsdc_session_evaluate(s, &r, err)
              : qsdc_session_evaluate_idx(s, images, labels, &r, err)) < 0)
        return -1;
    printf("device: %s (%s)\n", info.device, info.platform);
    if (r.perplexity > 0) {
        printf("%lld test tokens in %.3f s\n", (long long)r.count, r.seconds);
        printf("perplexity: %.4f\n", r.perplexity);
        return 0;
    }
    if (!eval && print_kernels(s, info.program, err) < 0)
        return -1;
    if (!trained)
        printf("parameters: untrained, initialised from seed %" PRIu64 "\n", info.seed);
    printf("%lld samples in %.3f s: %.0f samples/s\n", (long long)r.count, r.seconds,
           (double)r.count / r.seconds);
    if (eval || labels)
        printf("accuracy: %.2f%% (%lld/%lld)\n", r.accuracy, (long long)r.correct,
               (long long)r.count);
    return 0;
}

static const char infer_usage[] =
    "usage: qsdc infer MODEL.yaml|BUNDLE --data IMAGES.idx[.gz] [--labels LABELS.idx[.gz]]\n"
    "                  [--checkpoint DIR] [--batch N] [--device D] [--program-binary FILE]\n"
    "       qsdc eval MODEL.yaml|BUNDLE --checkpoint DIR [--batch N] [--device D]\n"
    "\n"
    "infer runs the forward pass over an IDX file and prints throughput and,\n"
    "with labels, accuracy; without --checkpoint the parameters are the seeded\n"
    "initialisation. eval prints the test accuracy of a checkpoint on the\n"
    "model's test data (a language model: the perplexity of its corpus's test\n"
    "split, at the training batch). --program-binary loads the inference kernels from a\n"
    "binary built for the device (qsdc MODEL.yaml --emit-binary writes one)\n"
    "instead of compiling kernels.cl; from a bundle (qsdc MODEL.yaml -o BUNDLE)\n"
    "the bundle's plan and kernels.bin, if it holds one, are used.\n";

static int infer_or_eval(int argc, char **argv, bool eval)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'i'},   {"labels", required_argument, 0, 'l'},
        {"checkpoint", required_argument, 0, 'c'}, {"batch", required_argument, 0, 'b'},
        {"device", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'},
        {"program-binary", required_argument, 0, 'p'}, {0, 0, 0, 0}};
    const char *images = NULL, *labels = NULL, *ckpt = NULL, *device = NULL, *binary = NULL;
    long long batch = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': images = optarg; break;
        case 'l': labels = optarg; break;
        case 'c': ckpt = optarg; break;
        case 'b': if (cli_int("--batch", optarg, 1, &batch) < 0) return 2; break;
        case 'd': device = optarg; break;
        case 'p': binary = optarg; break;
        case 'h': fputs(infer_usage, stdout); return 0;
        default: fputs(infer_usage, stderr); return 2;
        }
    }
    if (optind != argc - 1 || (eval && (!ckpt || images)) || (!eval && !images)) {
        fputs(infer_usage, stderr);
        return 2;
    }
    qsdc_error err = {""};
    qsdc_open_options o = {.device = device, .checkpoint = ckpt, .batch = batch,
                           .program_binary = binary};
    qsdc_session *s;
    if (qsdc_session_open(argv[optind], &o, &s, &err) < 0)
        return cli_error(err.message);
    int rc = run_eval(s, eval, ckpt != NULL, images, labels && labels[0] ? labels : NULL, &err);
    qsdc_session_close(s);
    return rc < 0 ? cli_error(err.message) : 0;
}

int cli_infer(int argc, char **argv)
{
    return infer_or_eval(argc, argv, false);
}

int cli_eval(int argc, char **argv)
{
    return infer_or_eval(argc, argv, true);
}
