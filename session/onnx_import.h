/* ONNX models from elsewhere (torch.onnx.export, the onnx package's
 * helpers) as qsdc models: each supported node a layer of the nodes form,
 * its initializers the layer's parameters in qsdc's layouts. A session
 * opens a path ending in .onnx through these. */
#ifndef QSDC_ONNX_IMPORT_H
#define QSDC_ONNX_IMPORT_H

#include <stdint.h>

#include "error.h"
#include "model.h"

struct qsdc_session;

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
/* w into the session's parameters (its plan's layout), as its weights. */
int onnx_params_apply(struct qsdc_session *s, const onnx_params *w, qsdc_error *e);
void onnx_params_free(onnx_params *w);

#endif
