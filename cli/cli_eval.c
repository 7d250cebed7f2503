/* qsdc eval and infer: a checkpoint's accuracy on the model's test data or
 * on a data file, and the forward pass's throughput. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "error.h"
#include "qsdc.h"

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

/* A language model's perplexity on its corpus's test split. */
static int print_perplexity(qsdc_session *s, const qsdc_session_info *info, qsdc_error *err)
{
    qsdc_eval_result r;
    if (qsdc_session_evaluate(s, &r, err) < 0)
        return -1;
    printf("device: %s (%s)\n", info->device, info->platform);
    printf("%lld test tokens in %.3f s\n", (long long)r.count, r.seconds);
    printf("perplexity: %.4f\n", r.perplexity);
    return 0;
}

/* The outputs of every sample of d, timed, and their scores: accuracy with
 * labels, and for eval the confusion matrix and per-class scores. */
static int score_samples(qsdc_session *s, bool eval, const qsdc_data *d,
                         const qsdc_session_info *info, const cli_data_args *a,
                         qsdc_error *err)
{
    size_t out_len = (size_t)(d->count * info->output_size);
    float *out = malloc(out_len * sizeof *out);
    double t0 = now_seconds();
    int rc = out ? qsdc_session_predict(s, d->x, (size_t)(d->count * d->sample_size),
                                        d->count, out, out_len, err)
                 : qsdc_fail(err, "out of memory");
    double secs = now_seconds() - t0;
    if (rc == 0) {
        printf("device: %s (%s)\n", info->device, info->platform);
        if (!eval)
            rc = print_kernels(s, info->program, err);
    }
    if (rc == 0) {
        if (!info->has_weights)
            printf("parameters: untrained, initialised from seed %" PRIu64 "\n", info->seed);
        printf("%lld samples in %.3f s: %.0f samples/s\n", (long long)d->count, secs,
               (double)d->count / secs);
        if (d->labels)
            cli_print_accuracy(out, d, info->output_size);
        if (eval)
            rc = cli_print_class_scores(out, d, info->output_size, a, err);
    }
    free(out);
    return rc;
}

/* eval: the model's test data (a language model: the perplexity of its
 * corpus's test split) or a data file; infer: a data file. */
static int run_eval(qsdc_session *s, bool eval, bool language_model, const cli_data_args *a,
                    qsdc_error *err)
{
    qsdc_session_info info;
    /* weights come from --checkpoint or an ONNX model, else the seed */
    if (qsdc_session_get_info(s, &info, err) < 0 ||
        (!info.has_weights && qsdc_session_init_weights(s, info.seed, err) < 0))
        return -1;
    if (eval && !a->data && language_model)
        return a->metrics || a->figure
                   ? qsdc_fail(err, "--metrics and --figure score a classifier; a language "
                               "model's eval is its perplexity")
                   : print_perplexity(s, &info, err);
    qsdc_data d;
    if ((a->data ? cli_load_data(s, a, &d, err) : qsdc_session_load_test_data(s, &d, err)) < 0)
        return -1;
    int rc = eval && !d.labels ? qsdc_fail(err, "%s: no labels to score; give --labels (a "
                                           "CSV: a label column)", a->data)
                               : score_samples(s, eval, &d, &info, a, err);
    qsdc_data_free(&d);
    return rc;
}

static const char infer_usage[] =
    "usage: qsdc infer MODEL.yaml|BUNDLE|MODEL.onnx --data FILE [--labels FILE]\n"
    "                  [--checkpoint DIR]\n"
    "                  [--label-column NAME] [--layout nchw|nhwc] [--batch N]\n"
    "                  [--device D] [--program-binary FILE]\n"
    "       qsdc eval MODEL.yaml|BUNDLE --checkpoint DIR [--data FILE [--labels FILE]]\n"
    "                  [--label-column NAME] [--layout nchw|nhwc] [--batch N] [--device D]\n"
    "                  [--metrics FILE.json] [--figure FILE.svg]\n"
    "\n"
    "infer runs the forward pass over a data file and prints throughput and,\n"
    "with labels, accuracy; without --checkpoint the parameters are the seeded\n"
    "initialisation (an ONNX model brings its own). eval prints the test\n"
    "accuracy of a checkpoint on the model's test data, or on --data, with the\n"
    "confusion matrix (rows: true class; up to 20 classes) and each class's\n"
    "precision, recall and F1 and their macro averages (a language model: the\n"
    "perplexity of its corpus's test split, at the training batch). --metrics\n"
    "writes the matrix and the scores as JSON, --figure the matrix as an SVG\n"
    "heat map (rows shaded by the share of the class's samples).\n"
    CLI_DATA_HELP
    "--program-binary loads the inference kernels from a binary built for the\n"
    "device (qsdc MODEL.yaml --emit-binary writes one) instead of compiling\n"
    "kernels.cl; from a bundle (qsdc MODEL.yaml -o BUNDLE) the bundle's plan and\n"
    "kernels.bin, if it holds one, are used.\n";

static int infer_or_eval(int argc, char **argv, bool eval)
{
    cli_data_args a;
    int rc = cli_data_parse(argc, argv, false, infer_usage, &a);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    if ((eval && !a.ckpt) || (!eval && !a.data) || (!eval && (a.metrics || a.figure)) ||
        (!a.data && (a.labels || a.label_column || a.layout))) {
        fputs(infer_usage, stderr);
        return 2;
    }
    qsdc_error err = {""};
    bool language_model;
    if (cli_language_model(a.model, &language_model, &err) < 0)
        return cli_error(err.message);
    qsdc_open_options o = {.device = a.device, .checkpoint = a.ckpt, .batch = a.batch,
                           .program_binary = a.binary};
    qsdc_session *s;
    if (qsdc_session_open(a.model, &o, &s, &err) < 0)
        return cli_error(err.message);
    rc = run_eval(s, eval, language_model, &a, &err);
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
