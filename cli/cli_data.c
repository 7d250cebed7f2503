/* The data-file options eval, infer and predict share. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int take_option(int c, const char *arg, cli_data_args *a)
{
    long long v;
    switch (c) {
    case 'i': a->data = arg; return 0;
    case 'l': a->labels = arg[0] ? arg : NULL; return 0;
    case 'L': a->label_column = arg; return 0;
    case 'c': a->ckpt = arg; return 0;
    case 'd': a->device = arg; return 0;
    case 'p': a->binary = arg; return 0;
    case 'o': a->out = arg; return 0;
    case 'm': a->metrics = arg; return 0;
    case 'f': a->figure = arg; return 0;
    case 'b':
        if (cli_int("--batch", arg, 1, &v) < 0)
            return -1;
        a->batch = v;
        return 0;
    case 'y':
        if (!strcmp(arg, "nchw"))
            a->layout = QSDC_LAYOUT_NCHW;
        else if (!strcmp(arg, "nhwc"))
            a->layout = QSDC_LAYOUT_NHWC;
        else {
            fprintf(stderr, "qsdc: --layout expects nchw or nhwc, got '%s'\n", arg);
            return -1;
        }
        return 0;
    default:
        return -1;
    }
}

int cli_data_parse(int argc, char **argv, bool predict, const char *usage, cli_data_args *a)
{
    const struct option opts[] = {
        {"data", required_argument, 0, 'i'},      {"labels", required_argument, 0, 'l'},
        {"label-column", required_argument, 0, 'L'}, {"layout", required_argument, 0, 'y'},
        {"checkpoint", required_argument, 0, 'c'}, {"batch", required_argument, 0, 'b'},
        {"device", required_argument, 0, 'd'},    {"help", no_argument, 0, 'h'},
        {"metrics", required_argument, 0, 'm'},   {"figure", required_argument, 0, 'f'},
        predict ? (struct option){"output", required_argument, 0, 'o'}
                : (struct option){"program-binary", required_argument, 0, 'p'},
        {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, predict ? "ho:" : "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return 1;
        }
        if (c == '?' || take_option(c, optarg, a) < 0) {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fputs(usage, stderr);
        return 2;
    }
    a->model = argv[optind];
    return 0;
}

int cli_load_data(qsdc_session *s, const cli_data_args *a, qsdc_data *out, qsdc_error *err)
{
    qsdc_data_options o = {.labels = a->labels, .label_column = a->label_column,
                           .layout = a->layout};
    return qsdc_session_load_data(s, a->data, &o, out, err);
}

int cli_language_model(const char *path, bool *out, qsdc_error *err)
{
    *out = false;
    if (cli_ends_with(path, ".onnx"))
        return 0;
    qsdc_model *m;
    qsdc_model_info info;
    if (qsdc_model_load(path, &m, err) < 0)
        return -1;
    int rc = qsdc_model_get_info(m, &info, err);
    qsdc_model_free(m);
    *out = rc == 0 && info.language_model;
    return rc;
}
