/* Code generation: one OpenCL kernel per fused group, specialised to the
 * graph's static shapes and memory plan. This is its face to compile.c;
 * the generators share codegen_int.h among themselves. */
#ifndef QSDC_CODEGEN_H
#define QSDC_CODEGEN_H

#include "codegen_gemm.h"
#include "codegen_target.h"
#include "fusion.h"
#include "strbuf.h"

typedef struct codegen_ctx {
    const graph *g;
    const fusion *f;
    const codegen_target *target;
    gemm_tuning tuning;
    int64_t scratch;     /* arena offset of the update's scratch space */
    /* scratch elements the kernels need beyond it (sliced products'
     * partials; they and the update never run at once) */
    int64_t scratch_needed;
    strbuf *src;
} codegen_ctx;

/* "k3_matmul": the name of group k's kernel (the update's clipping kernels
 * add _norm and _scale). */
void codegen_kernel_name(const graph *g, const fusion *f, int k, char *buf, size_t n);
/* Launches a group may have at most: an lstm cut into time slices has one
 * per slice. */
#define CODEGEN_MAX_GROUP_LAUNCHES 64
/* Appends the kernel(s) of group k and their launches (at most
 * CODEGEN_MAX_GROUP_LAUNCHES). A GEMM group run by CLBlast is a library
 * launch plus, when the group has an epilogue, an in-place kernel for it. */
int codegen_group(codegen_ctx *c, int k, plan_launch *launches, int *n_launches,
                  qsdc_error *err);
/* The products codegen_group will generate or hand to CLBlast, one per
 * GEMM group, in launch order, into out (room for f->n_groups); returns
 * how many. A per-sample product (conv2d's) is listed as one sample's
 * product: CLBlast never runs it, and it takes a tiled pick's tiles only on
 * a target of the tiled family. */
int codegen_gemm_shapes(const graph *g, const fusion *f, plan_gemm *out);
#define UPDATE_SCRATCH 80 /* arena elements the update's reductions need */
/* codegen_qsd_unit.c: places the per-unit draws of every QSD node with
 * hetero: unit in the arena from offset at (gnode.unit_params) and
 * returns the elements they take; then appends their kernels, which run
 * before every other launch, into l (at most max), returning how many. */
int64_t codegen_qsd_units_place(graph *g, int64_t at);
int codegen_qsd_unit_kernels(codegen_ctx *c, plan_launch *l, int max, qsdc_error *err);

#endif
