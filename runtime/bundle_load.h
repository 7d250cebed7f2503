/* Running from a bundle (bundle.h): `qsdc train|infer DIR` take the plans
 * and, when DIR holds them, the program binaries (kernels.bin, train.bin:
 * `qsdc MODEL.yaml -o DIR --emit-binary --device D`) from DIR instead of
 * building the kernels, so no OpenCL C compiler is needed at run time. The
 * model's text is stored as DIR/model.yaml for its train: section (data,
 * epochs, schedule); relative data paths in it resolve against DIR. Each
 * plan is checked against the one model.yaml compiles to (bundle_verify.h). */
#ifndef QSDC_BUNDLE_LOAD_H
#define QSDC_BUNDLE_LOAD_H

#include <stdbool.h>

#include "cl_runtime.h"
#include "graph.h"
#include "bundle_verify.h"
#include "plan.h"

/* True when path is a folder holding a plan.yaml. */
bool bundle_is_dir(const char *path);
/* DIR/model.yaml into out (cap bytes). */
void bundle_model_path(const char *dir, char *out, size_t cap);
/* The plan of mode's role for env's device at batch: read from the bundle
 * dir when dir is not NULL (with its program binary, when the bundle holds
 * one) and checked against m, the bundle's model, else compiled from m. */
int plan_for_device(cl_env *env, const model *m, const char *dir, graph_mode mode,
                    int64_t batch, plan *out, qsdc_error *err);

#endif
