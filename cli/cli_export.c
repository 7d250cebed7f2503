/* qsdc export: a trained model for other frameworks, as ONNX or as NumPy
 * arrays in PyTorch's layouts. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qsdc.h"

static const char export_usage[] =
    "usage: qsdc export MODEL.yaml|BUNDLE --checkpoint DIR -o OUT.onnx|OUT.npz [--device D]\n"
    "\n"
    "Writes the model with the checkpoint's weights, atomically, in the format\n"
    "OUT's name ends with:\n"
    "  .onnx  the inference graph as a standard ONNX model (opset 13), the\n"
    "         weights as initializers named by layer; dropout and qsd, the\n"
    "         identity at inference, are left out. Input \"input\" (token ids\n"
    "         as int32, padding -1 only at the end), output the output layer.\n"
    "  .npz   every parameter by its layer's name in PyTorch's names and\n"
    "         layouts (dense weight [out, in], lstm weight_ih_l0, weight_hh_l0,\n"
    "         bias_ih_l0, bias_hh_l0, gates i, f, g, o; batchnorm running_mean\n"
    "         and running_var): the state_dict of the equivalent torch.nn model.\n"
    "\n"
    "  --device D  the device that reads the weights (default: the first GPU,\n"
    "              else the first CPU)\n";

int cli_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"checkpoint", required_argument, 0, 'c'}, {"device", required_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *ckpt = NULL, *device = NULL, *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ckpt = optarg; break;
        case 'd': device = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(export_usage, stdout); return 0;
        default: fputs(export_usage, stderr); return 2;
        }
    }
    if (optind != argc - 1 || !ckpt || !out) {
        fputs(export_usage, stderr);
        return 2;
    }
    bool onnx = cli_ends_with(out, ".onnx");
    if (!onnx && !cli_ends_with(out, ".npz")) {
        fprintf(stderr, "qsdc: -o %s: the name must end in .onnx or .npz\n", out);
        return 2;
    }
    qsdc_error err = {""};
    qsdc_open_options o = {.device = device, .checkpoint = ckpt};
    qsdc_session *s;
    if (qsdc_session_open(argv[optind], &o, &s, &err) < 0)
        return cli_error(err.message);
    int rc = onnx ? qsdc_session_export_onnx(s, out, &err) : qsdc_session_export_npz(s, out, &err);
    qsdc_session_close(s);
    if (rc < 0)
        return cli_error(err.message);
    printf("%s: %s\n", onnx ? "ONNX model" : "weights", out);
    return 0;
}
