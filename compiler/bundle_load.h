/* Running from a bundle (bundle.h): `qsdc train|infer DIR` take the plans
 * and, when DIR holds them, the program binaries (kernels.bin, train.bin:
 * `qsdc MODEL.yaml -o DIR --emit-binary --device D`) from DIR instead of
 * compiling the model, so no OpenCL C compiler is needed at run time. The
 * model's text is stored as DIR/model.yaml for its train: section (data,
 * epochs, schedule); relative data paths in it resolve against DIR. */
#ifndef QSDC_BUNDLE_LOAD_H
#define QSDC_BUNDLE_LOAD_H

#include <stdbool.h>

#include "cl_runtime.h"
#include "graph.h"
#include "plan.h"

#define BUNDLE_MODEL "model.yaml"

/* True when path is a folder holding a plan.yaml. */
bool bundle_is_dir(const char *path);
/* The program binary of p's kernels in dir: DIR/kernels.bin, DIR/train.bin. */
void bundle_binary_path(const char *dir, const plan *p, char *out, size_t cap);
/* DIR/model.yaml into out (cap bytes). */
void bundle_model_path(const char *dir, char *out, size_t cap);
/* The plan of mode's role for env's device at batch: read from the bundle
 * dir when dir is not NULL (binary is then its program binary's path, or ""
 * when the bundle holds none), else compiled from m (binary ""). */
int plan_for_device(cl_env *env, const model *m, const char *dir, graph_mode mode,
                    int64_t batch, plan *out, char binary[QSDC_PATH_MAX], qsdc_error *err);

#endif
