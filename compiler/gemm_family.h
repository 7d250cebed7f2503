/* The families of generated GEMM kernels: the panel family (one work-item
 * per work-group, codegen_gemm.c), shaped for CPUs, and the tiled family
 * (a 2-D block of work-items per work-group, codegen_gemm_tiled.c), shaped
 * for devices that run work-items in SIMD lanes. A family is named by its
 * tiles: all zero for the panel family. */
#ifndef QSDC_GEMM_FAMILY_H
#define QSDC_GEMM_FAMILY_H

#include <stdbool.h>

#include "device_profile.h"
#include "plan.h"

/* A tiled GEMM's work-group: items_m x items_n work-items, each owning a
 * block_m x block_n register block of C (consecutive work-items own
 * consecutive column blocks), with op(A) and op(B) staged through __local
 * memory k deep; or, direct, each work-item reading its operands from
 * global memory itself, k steps of K unrolled, with no __local memory and
 * no barrier. block_m is 1, 2, 4, 8 or 16, block_n 1, 2, 4 or 8. */
typedef struct gemm_tiles {
    int items_m, items_n, block_m, block_n, k;
    bool direct;
} gemm_tiles;

static inline bool gemm_tiled(const gemm_tiles *t)
{
    return t->items_m > 0;
}

/* A GEMM shape and the backend chosen for it: CLBlast, or else the tiled
 * family with these tiles, or the panel family when they are zero. */
typedef struct gemm_pick {
    plan_gemm shape;
    gemm_tiles tiles;
    bool clblast;
} gemm_pick;

/* Whether tiles fit the device: the work-group within its work-item
 * limits, the staged tiles within its __local memory. */
bool gemm_tiles_fit(const gemm_tiles *t, const device_profile *d);
/* The tiles a device gets when nothing was measured: 8 x 8 work-items of
 * 8 x 8 outputs, k 16 (8 KiB of __local memory), halved until they fit. */
gemm_tiles gemm_tiles_default(const device_profile *d);
/* The default tiles direct, four steps of K at a time (the unroll the
 * direct candidates measure best with, where 16 would hold 16 vectors of
 * op(B) per work-item). */
gemm_tiles gemm_tiles_direct_default(const device_profile *d);
/* The candidates measured per shape (gemm_select.c), those that fit d:
 * up to max of them into out; returns how many, at most
 * MAX_TILE_CANDIDATES. */
#define MAX_TILE_CANDIDATES 10
int gemm_tiles_candidates(const device_profile *d, gemm_tiles *out, int max);

#endif
