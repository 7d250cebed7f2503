/* ONNX models from elsewhere (torch.onnx.export, the onnx package's
 * helpers) as qsdc models: each supported node a layer of the nodes form,
 * its initializers the layer's parameters in qsdc's layouts. A session
 * opens a path ending in .onnx through these. */
#ifndef QSDC_ONNX_IMPORT_H
#define QSDC_ONNX_IMPORT_H

#include <stdint.h>

#include "error.h"
#include "model.h"
#include "plan.h"

/* One parameter: the plan tensor's name ("dense3.weight") and its floats
 * in qsdc's layout. */
typedef struct onnx_param {
    char name[2 * QSDC_NAME_MAX];
    float *v;
    int64_t n;
} onnx_param;

typedef struct onnx_params {
    onnx_param *p;
    int n, cap;
} onnx_params;

/* The model of the ONNX file path into *m (checked as a model file's
 * graph is) and its weights into *w; an unsupported node is an error
 * naming the node and its op. */
int onnx_import(const char *path, model *m, onnx_params *w, qsdc_error *e);
/* w over params, a parameter allocation in p's layout; an error names
 * model_path and a weight that fits no parameter of p. */
int onnx_params_place(const onnx_params *w, const plan *p, const char *model_path,
                      float *params, qsdc_error *e);
void onnx_params_free(onnx_params *w);

#endif
