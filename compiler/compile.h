/* The compiler pipeline: model -> graph -> (conv2d choices) -> autodiff ->
 * fusion -> memory plan -> (GEMM choices) -> code generation -> plan. The
 * choices in brackets are the target's tuner's (compile_tuner.h), asked
 * once each. */
#ifndef QSDC_COMPILE_H
#define QSDC_COMPILE_H

#include "codegen.h"
#include "plan.h"

/* Compiles m for mode at batch. g, when not NULL, receives the graph (the
 * caller frees it) for --dump-graph and graph.dot. With a tuner, the
 * tuner's GEMM choices replace the target's picks and its conv2d choices
 * join the target's direct_conv. */
int compile_plan(const model *m, graph_mode mode, int64_t batch,
                 const codegen_target *target, plan *out, graph *g, fusion *f,
                 qsdc_error *err);
/* The default target: a CPU device with 8-wide float vectors (pocl). */
void codegen_target_default(codegen_target *t);

#endif
