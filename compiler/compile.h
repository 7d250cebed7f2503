/* The compiler pipeline: model -> graph -> autodiff -> fusion -> memory
 * plan -> code generation -> plan. */
#ifndef QSDC_COMPILE_H
#define QSDC_COMPILE_H

#include "codegen.h"
#include "plan.h"

/* Compiles m for mode at batch. g, when not NULL, receives the graph (the
 * caller frees it) for --dump-graph and graph.dot. */
int compile_plan(const model *m, graph_mode mode, int64_t batch,
                 const codegen_target *target, plan *out, graph *g, fusion *f,
                 qsdc_error *err);
/* The default target: a CPU device with 8-wide float vectors (pocl). */
void codegen_target_default(codegen_target *t);

#endif
