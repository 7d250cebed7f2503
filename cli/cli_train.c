/* qsdc train, eval and infer. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_load.h"
#include "cli.h"
#include "data.h"
#include "dist.h"
#include "evaluate.h"
#include "infer_session.h"
#include "progress.h"
#include "signals.h"
#include "train.h"
#include "train_lm.h"

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

/* The model file of arg: arg itself, or the model.yaml of the bundle arg
 * (then *bundle = arg). */
static int model_source(const char *arg, char path[QSDC_PATH_MAX], const char **bundle,
                        qsdc_error *err)
{
    *bundle = bundle_is_dir(arg) ? arg : NULL;
    if (strlen(arg) + sizeof "/" BUNDLE_MODEL > QSDC_PATH_MAX)
        return qsdc_fail(err, "%.64s...: path too long", arg);
    if (*bundle)
        bundle_model_path(arg, path, QSDC_PATH_MAX);
    else
        snprintf(path, QSDC_PATH_MAX, "%s", arg);
    return 0;
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
        {0, 0, 0, 0}};
    train_options o;
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
            o.seed_set = true;
            break;
        case 'l': if (cli_double("--lr", optarg, &o.lr) < 0) return 2; break;
        case 'd': o.device = optarg; break;
        case 'D': o.devices = optarg; break;
        case 'c': o.checkpoint_dir = optarg; break;
        case 'r': o.resume = true; break;
        case 'm': o.metrics_path = optarg; break;
        case 'x': if (cli_int("--max-steps", optarg, 1, &v) < 0) return 2; o.max_steps = v; break;
        case 'f': o.check_finite = true; break;
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
    if (dist_launch_rank() > 0) { /* rank 0 speaks for all */
        o.quiet = true;
        o.metrics_path = NULL;
        if (!freopen("/dev/null", "w", stdout))
            return cli_error("cannot silence the output of a rank > 0");
    }
    qsdc_error err = {""};
    model m;
    char model_path[QSDC_PATH_MAX];
    if (model_source(argv[optind], model_path, &o.bundle, &err) < 0 ||
        model_load(model_path, &m, &err) < 0)
        return cli_error(err.message);
    train_summary s;
    o.stop = stop_signals_install();
    int rc = train_model(&m, &o, &s, &err);
    stop_signals_restore();
    model_free(&m);
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

typedef struct eval_args {
    const char *device, *ckpt, *binary, *bundle, *images, *labels;
    const train_config *test_data; /* eval: the model's test data, else NULL */
    int64_t batch;
    bool show_kernels;
} eval_args;

/* eval of a language model: perplexity on its corpus's test split */
static int run_eval_lm(const model *m, const eval_args *a, qsdc_error *err)
{
    infer_session s;
    lm_source lm;
    memset(&lm, 0, sizeof lm);
    double t0 = now_seconds(), ppl = NAN;
    int rc = infer_session_open(&s, m, a->batch, a->device, a->ckpt, a->binary, a->bundle, err);
    if (rc == 0)
        rc = lm_source_open(&lm, m, &s.p, err);
    if (rc == 0)
        rc = lm_split_check(&lm, m->train.text_path, TEXT_TEST, "no perplexity to report", err);
    if (rc == 0)
        rc = lm_perplexity(&lm, &s.ex, &s.ms, TEXT_TEST, &ppl, err);
    if (rc == 0) {
        int64_t tokens = lm_source_batches(&lm, TEXT_TEST) * lm.batch * lm.steps;
        printf("device: %s (%s)\n", s.env.dev.name, s.env.dev.platform_name);
        printf("%lld test tokens in %.3f s\n", (long long)tokens, now_seconds() - t0);
        printf("perplexity: %.4f\n", ppl);
    }
    lm_source_free(&lm);
    infer_session_close(&s);
    return rc;
}

static int run_eval(const model *m, const eval_args *a, qsdc_error *err)
{
    if (a->test_data && a->test_data->format == DATA_TEXT)
        return run_eval_lm(m, a, err);
    infer_session s;
    dataset d;
    memset(&d, 0, sizeof d);
    int64_t batch = a->batch;
    const char *ckpt = a->ckpt, *labels = a->labels;
    int rc = infer_session_open(&s, m, batch, a->device, ckpt, a->binary, a->bundle, err);
    if (rc == 0 && a->test_data)
        rc = data_load(a->test_data, true, s.p.output_elems / batch, s.p.input_elems / batch,
                       &d, err);
    else if (rc == 0)
        rc = idx_load(a->images, labels, s.p.input_elems / batch, &d, err);
    if (rc == 0 && !a->test_data)
        rc = dataset_check(&d, labels, s.p.output_elems / batch, a->images,
                           s.p.input_elems / batch, err);
    if (rc == 0) {
        printf("device: %s (%s)\n", s.env.dev.name, s.env.dev.platform_name);
        if (a->show_kernels) {
            printf("kernels (%d, program %s):\n", s.p.n_launches,
                   s.ex.from_binary ? "from binary" : s.ex.cache_hit ? "from cache" : "built");
            for (int i = 0; i < s.p.n_launches; i++)
                printf("  %-20s %s\n", s.p.launches[i].kernel, s.p.launches[i].nodes);
        }
        if (!ckpt)
            printf("parameters: untrained, initialised from seed %" PRIu64 "\n",
                   m->train.seed);
        eval_result r;
        rc = evaluate(&s.ex, &d, NULL, 0, &r, err);
        if (rc == 0) {
            printf("%lld samples in %.3f s: %.0f samples/s\n", (long long)r.count, r.seconds,
                   (double)r.count / r.seconds);
            if (labels)
                printf("accuracy: %.2f%% (%lld/%lld)\n", eval_accuracy(&r),
                       (long long)r.correct, (long long)r.count);
        }
    }
    dataset_free(&d);
    infer_session_close(&s);
    return rc;
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
    model m;
    char model_path[QSDC_PATH_MAX];
    const char *bundle;
    if (model_source(argv[optind], model_path, &bundle, &err) < 0 ||
        model_load(model_path, &m, &err) < 0)
        return cli_error(err.message);
    /* eval: the model's test data, in its format, always labelled */
    eval_args a = {.device = device, .ckpt = ckpt, .binary = binary, .bundle = bundle,
                   .images = images,
                   .labels = eval ? "" : labels && labels[0] ? labels : NULL,
                   .test_data = eval ? &m.train : NULL,
                   .batch = batch ? batch : m.train.batch, .show_kernels = !eval};
    int rc = !eval || data_has_test(&m.train)
                 ? run_eval(&m, &a, &err)
                 : qsdc_fail(&err, "%s: the model's train: section names no test data",
                             m.path);
    model_free(&m);
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
