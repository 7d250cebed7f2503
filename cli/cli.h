/* The qsdc command line: one function per command, each parsing its own
 * options. Exit codes: 0 success, 1 error, 2 usage. */
#ifndef QSDC_CLI_H
#define QSDC_CLI_H

#include <stdbool.h>

#include "qsdc.h"

int cli_compile(int argc, char **argv);
int cli_devices(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_infer(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_profile(int argc, char **argv);
int cli_tune(int argc, char **argv);
int cli_experiment(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_summary(int argc, char **argv);

/* Prints "qsdc: message" to stderr and returns 1. */
int cli_error(const char *message);
/* Parses a positive integer option value; prints a usage error and returns
 * -1 when it is not one. */
int cli_int(const char *opt, const char *text, long long min, long long *out);
int cli_double(const char *opt, const char *text, double *out);
/* Whether s ends with suffix (a file name's extension). */
bool cli_ends_with(const char *s, const char *suffix);

/* The data-file options of eval, infer and predict. */
typedef struct cli_data_args {
    const char *model, *data, *labels, *label_column, *ckpt, *device;
    const char *binary;   /* eval, infer: --program-binary */
    const char *out;      /* predict: -o */
    const char *metrics, *figure; /* eval: --metrics FILE.json, --figure FILE.svg */
    int layout;           /* QSDC_LAYOUT_* */
    long long batch;
} cli_data_args;

#define CLI_DATA_HELP                                                                       \
    "\n"                                                                                    \
    "--data FILE reads by its name: .npy (float32, float64, uint8 scaled to [0, 1];\n"      \
    "int32/int64 token ids for a text model), .npz (numpy.savez: samples x or\n"         \
    "arr_0, labels y or arr_1), .csv (numeric, a header row; the\n"                       \
    "column --label-column, default label, holds the classes), .txt (a text\n"            \
    "model's raw text, one text per line, tokenised with the vocabulary its\n"            \
    "checkpoint holds), a folder (PNG images, one sub-folder per class), anything\n"      \
    "else IDX (gzip or plain).\n"                                                        \
    "--labels FILE: .npy or IDX labels, one per sample. Samples are checked\n"            \
    "dimension by dimension against the model's input; --layout nhwc reads\n"             \
    "images stored height-width-channel into a [C, H, W] model (default: the\n"           \
    "layout of the model's train: data: section).\n"                                      \
    "\n"

/* Parses a command's arguments: MODEL then the data options, with -o OUT
 * for predict and --program-binary FILE otherwise. Returns 0, 1 after
 * printing usage for --help, or 2 after a usage error. */
int cli_data_parse(int argc, char **argv, bool predict, const char *usage, cli_data_args *a);
/* Whether the model file or bundle at path is a language model (its
 * outputs a sequence); an ONNX model (an MLP or a CNN) never is. */
int cli_language_model(const char *path, bool *out, qsdc_error *err);
/* a's --data, through qsdc_session_load_data. */
int cli_load_data(qsdc_session *s, const cli_data_args *a, qsdc_data *out, qsdc_error *err);

/* "accuracy: P% (correct/n)" of outputs (d->count rows) against d's labels. */
void cli_print_accuracy(const float *out, const qsdc_data *d, int64_t outputs);
/* The confusion matrix (up to 20 classes) and per-class precision, recall
 * and F1 with their macro averages, of outputs against d's labels; also
 * written to a's --metrics (JSON) and --figure (SVG) when given. */
int cli_print_class_scores(const float *out, const qsdc_data *d, int64_t classes,
                           const cli_data_args *a, qsdc_error *err);
/* cli_score_files.c: the matrix and the scores (qsdc_class_scores') as a
 * JSON object; the matrix as an SVG heat map. */
int cli_write_scores_json(const char *path, const int64_t *counts, int64_t classes,
                          const qsdc_class_score *k, qsdc_error *err);
int cli_write_confusion_svg(const char *path, const int64_t *counts, int64_t classes,
                            qsdc_error *err);

#endif
