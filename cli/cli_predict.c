/* qsdc predict: the model's outputs for every sample of a data file,
 * written as .npy or CSV. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "error.h"

static const char predict_usage[] =
    "usage: qsdc predict MODEL.yaml|BUNDLE --checkpoint DIR --data FILE -o OUT.npy|OUT.csv\n"
    "       qsdc predict MODEL.onnx --data FILE -o OUT.npy|OUT.csv\n"
    "                    [--labels FILE] [--label-column NAME] [--layout nchw|nhwc]\n"
    "                    [--batch N] [--device D]\n"
    "\n"
    "Runs the model's inference plan on the device over every sample of FILE\n"
    "and writes, atomically, its outputs: class probabilities when the model\n"
    "ends in softmax, else its raw outputs. OUT.npy: a float32 [N, outputs]\n"
    "array, the class of a row being its largest output; OUT.csv: a header\n"
    "class,p0,p1,... (class,y0,y1,... for raw outputs), then per sample the\n"
    "class id and the outputs; a language model's row holds the scores of\n"
    "every step, step after step, and its class field the class of each step,\n"
    "separated by spaces. With labels (--labels, or a CSV's label column) it\n"
    "also prints the accuracy. MODEL.onnx: an ONNX model (MLPs and CNNs: Gemm,\n"
    "MatMul, Add, Conv, pools, BatchNormalization, activations, Softmax,\n"
    "Flatten) imported with its weights and compiled for the device.\n"
    CLI_DATA_HELP;

/* A language model's outputs are a sequence: per sample, its input's steps
 * of scores over the vocabulary. */
static int predict(qsdc_session *s, const cli_data_args *a, bool language_model,
                   qsdc_error *err)
{
    qsdc_session_info info;
    qsdc_data d;
    if (qsdc_session_get_info(s, &info, err) < 0 || cli_load_data(s, a, &d, err) < 0)
        return -1;
    size_t out_len = (size_t)(d.count * info.output_size);
    float *out = malloc(out_len * sizeof *out);
    int rc = out ? 0 : qsdc_fail(err, "out of memory");
    if (rc == 0)
        rc = qsdc_session_predict(s, d.x, (size_t)(d.count * d.sample_size), d.count, out,
                                  out_len, err);
    int64_t steps = language_model ? info.input_shape[0] : 1;
    if (rc == 0)
        rc = qsdc_predictions_write_steps(a->out, out, d.count, steps,
                                          info.output_size / steps,
                                          info.output_is_probabilities, err);
    if (rc == 0) {
        printf("%lld samples: %s to %s\n", (long long)d.count,
               info.output_is_probabilities ? "class probabilities" : "outputs", a->out);
        /* a sample's label is one class, a language model's row one per step */
        if (d.labels && steps == 1)
            cli_print_accuracy(out, &d, info.output_size);
        else if (d.labels)
            printf("labels not scored: a language model predicts a class per step\n");
    }
    free(out);
    qsdc_data_free(&d);
    return rc;
}

int cli_predict(int argc, char **argv)
{
    cli_data_args a;
    int rc = cli_data_parse(argc, argv, true, predict_usage, &a);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    if ((!a.ckpt && !cli_ends_with(a.model, ".onnx")) || !a.data || !a.out) {
        fputs(predict_usage, stderr);
        return 2;
    }
    qsdc_error err = {""};
    bool language_model;
    if (cli_language_model(a.model, &language_model, &err) < 0)
        return cli_error(err.message);
    qsdc_open_options o = {.device = a.device, .checkpoint = a.ckpt, .batch = a.batch};
    qsdc_session *s;
    if (qsdc_session_open(a.model, &o, &s, &err) < 0)
        return cli_error(err.message);
    rc = predict(s, &a, language_model, &err);
    qsdc_session_close(s);
    return rc < 0 ? cli_error(err.message) : 0;
}
