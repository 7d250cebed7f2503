/* OpenCL C generator for one GEMM kernel with qsdc's uniform kernel
 * signature (see plan.h): C[M,N] (+)= op(A)[M,K] op(B)[K,N], shapes, strides
 * and buffer offsets baked in as constants, an optional per-element epilogue.
 *
 * Shape of the generated kernel: each work-group (of one work-item, the
 * CPU's natural unit under pocl) owns a bm x bn block of C. For each K block
 * of depth kc and each nr-wide column panel of its block it packs that panel
 * of op(B) into __local memory as [kc][nr] (transposing when trans_b,
 * clamping columns past N), then sweeps mr-row micro-tiles down the block:
 * mr x nr accumulators in float vectors of width vec, one broadcast of A and
 * nr/vec vector loads of the packed panel per k. The packed panel removes the
 * 4 KiB-aliasing of power-of-two row strides that otherwise halves the
 * speed. Rows past M read row M-1 and are never stored. A C narrower than
 * the micro-tile and taller than wide (the output layer's 128 x 10), and
 * op(A)op(B) with both transposed, are computed as C^T = op(B)^T op(A)^T
 * with transposed stores, so that the vectors run along C's longer side;
 * M is spread evenly over the micro-tiles (10 rows: two tiles of 5).
 *
 * Batches: a third grid dimension runs `batch` independent products, each
 * matrix offset by its stride per batch index (stride 0: one matrix shared
 * by all); or, with reduce_batch, one work-group sums the products of every
 * batch index into the same C block, as further K blocks. */
#ifndef QSDC_CODEGEN_GEMM_H
#define QSDC_CODEGEN_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "gemm_family.h"
#include "plan.h"
#include "strbuf.h"

typedef struct gemm_tuning {
    int vec;        /* float vector width: 1, 2, 4, 8 or 16 */
    int mr;         /* micro-tile rows */
    int nv;         /* micro-tile columns in vectors: nr = nv * vec */
    int bm, bn;     /* work-group block of C; multiples of mr and nr */
    int kc;         /* K block depth packed at once */
    int min_groups; /* blocks are split until at least this many work-groups, */
    double min_group_flops; /* as long as each keeps this much work */
    /* loop iterations a work-item may run (loop_guard.h), 0 for no bound:
     * blocks shrink until they fit */
    int64_t loop_budget;
    /* nonzero: the tiled family (codegen_gemm_tiled.c) with these tiles,
     * and the fields above but loop_budget unused; products with
     * statements before or after them stay in the panel family */
    gemm_tiles tiles;
    /* the tiled family's work-groups wanted at least (on a GPU two per
     * compute unit; 0: no wish): a product that has fewer is split, over
     * its batch indices when it sums over them (a conv2d's weight
     * gradient), else over chunks of K, its slices' partial C summed by a
     * second kernel (gemm_choose_slices) */
    int lane_groups;
} gemm_tuning;

/* The panel family's tuning. CPUs: micro-tile 6 x (2 vectors of the
 * preferred width), blocks of 132 x 16 vectors, kc 512, up to 8
 * work-groups of at least 1 MFLOP each: the best measured on pocl (AVX2
 * and AVX-512, 2 cores). Other devices get a small correct configuration,
 * not a fast one: one work-item per group suits CPUs only, and devices
 * that run work-items in lanes get the tiled family (tiles zero here). */
void gemm_tuning_default(gemm_tuning *t, bool is_cpu, unsigned pref_vector_width);

typedef struct gemm_spec {
    const char *name;        /* kernel name */
    int64_t M, N, K;         /* C[M,N] = op(A)[M,K] * op(B)[K,N] */
    bool trans_a, trans_b;   /* trans_a: A stored as [K,M]; trans_b: B stored as [N,K] */
    const char *a, *b, *c;   /* base pointer expressions, e.g. "(A + 1024)", "(P + 0)" */
    int64_t lda, ldb, ldc;   /* row strides (elements) of the matrices as stored */
    bool accumulate;         /* C += op(A)op(B), else C = op(A)op(B) */
    int64_t batch;           /* 0 or 1: one product; else C_b = op(A_b) op(B_b) */
    int64_t stride_a, stride_b, stride_c; /* elements from matrix b to b+1 */
    bool reduce_batch;       /* C = sum over b of op(A_b) op(B_b) instead */
    /* NULL, or OpenCL C statements run per output element just before its
     * store, with `float v` (the product, plus C's old value when
     * accumulate), `uint row`, `uint col`, `uint bat` (C's batch index, 0
     * when reduced or unbatched) and the kernel arguments in scope;
     * whatever v holds afterwards is stored. Names starting with gm_ are
     * the kernel's own. */
    const char *epilogue;
    /* NULL, or OpenCL C statements run for every element of a micro-tile in
     * a loop of their own just before the epilogue's (a flat loop the
     * compiler can vectorise), with row, col and bat as for the epilogue
     * (on edge tiles also past M or N, where the results go unused) and
     * `uint gm_e`, the element's place in the tile, in scope. They fill
     * `float gm_tile[tile_values][tile elements]`, which the epilogue then
     * reads at gm_tile[.][gm_e]: work that vectorises across the tile
     * (random draws) done there, the rest per element. tile_fix: NULL, or
     * statements run in a second such loop, for what does not vectorise
     * (redrawing the few values the first could not give), so that neither
     * the first loop nor the epilogue's carries it. */
    const char *tile_pass, *tile_fix;
    int tile_values;         /* 1..GEMM_TILE_VALUES when tile_pass is set */
    /* NULL, or OpenCL C statements each work-group runs before its product
     * (before: writing what A or B read) or after it (after: reading C),
     * with gm_bat in scope; either makes a batched product one work-group
     * per batch index, owning all of its C, so that what before writes and
     * after reads of that index is still in cache. */
    const char *before, *after;
    /* A reduced product in slices of this many batch indices (0: one
     * piece), each work-group of grid dimension 2 summing one slice into
     * its own partial C at partials + slice * gemm_partial_span(s), in C's
     * layout, for codegen_gemm_slice_sum to add up onto C's old value
     * (accumulate) and run the tile passes and the epilogue on
     * (gemm_choose_slices). */
    int64_t slice_len;
    const char *partials;
} gemm_spec;

#define GEMM_TILE_VALUES 8

/* Appends one kernel's source to src and fills launch's kernel name,
 * work_dim, global, local, flops and bytes. Fails on a malformed spec or
 * tuning (non-positive sizes, strides too small, vec not 1/2/4/8/16, ...). */
int codegen_gemm(strbuf *src, const gemm_spec *s, const gemm_tuning *t,
                 plan_launch *launch, qsdc_error *err);
/* The batch indices a slice of a reduced product may hold for each
 * work-item's loops to stay within t->loop_budget and, in the tiled family,
 * for its work-groups to reach t->lane_groups (0: no need to split). */
int64_t gemm_reduce_slice_len(const gemm_spec *s, const gemm_tuning *t);
/* Chooses how s runs in slices under t, setting s->slice_len (0: whole);
 * the caller then points s->partials at room for gemm_slices(s) *
 * gemm_partial_span(s) elements. A reduced product gets slices of
 * gemm_reduce_slice_len. A plain product in the tiled family with fewer
 * work-groups than t->lane_groups (a GPU's wish), whose K is two or more
 * whole chunks of the tiles' depth k, becomes the product reduced over its
 * K / k chunks (K = k, A and B stepped a chunk per batch index), sliced
 * the same way. A product with statements before or after it is never
 * sliced. */
void gemm_choose_slices(gemm_spec *s, const gemm_tuning *t);
/* The slices of a sliced product (1 when it is not). */
int64_t gemm_slices(const gemm_spec *s);
/* Elements of one partial C: C's extent, (M - 1) * ldc + N. */
int64_t gemm_partial_span(const gemm_spec *s);
/* Appends the kernel `NAME_sum` that adds a sliced product's partials into
 * C (onto C's old value when accumulate), then runs its tile passes and
 * epilogue, one work-item an element. */
int codegen_gemm_slice_sum(strbuf *src, const gemm_spec *s, plan_launch *launch,
                           qsdc_error *err);

#endif
