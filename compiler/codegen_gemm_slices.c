/* A product cut into slices, each work-group of a slice writing its share
 * of a partial C, and the second kernel that sums the partials into C:
 * which products are cut and where. A product summed over a batch (a
 * conv2d's weight gradient) is cut into runs of its batch indices, for a
 * device's loop limit or to give a GPU's compute units work; a plain
 * product on a GPU, into chunks of K (gemm_choose_slices). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codegen_gemm_form.h"

static int64_t ceil_div(int64_t x, int64_t m)
{
    return (x + m - 1) / m;
}

/* The tiled family's work-groups over s's M x N: one per BM x BN block. */
static int64_t tiled_groups(const gemm_spec *s, const gemm_tiles *t)
{
    return ceil_div(s->M, (int64_t)t->items_m * t->block_m) *
           ceil_div(s->N, (int64_t)t->items_n * t->block_n);
}

/* Batch indices per slice that fill t->lane_groups work-groups, or the
 * whole batch. */
static int64_t slice_len_for_groups(const gemm_spec *s, const gemm_tuning *t)
{
    if (t->lane_groups <= 0 || !gemm_runs_tiled(s, t))
        return s->batch;
    int64_t slices = ceil_div(t->lane_groups, tiled_groups(s, &t->tiles));
    return ceil_div(s->batch, slices < s->batch ? slices : s->batch);
}

int64_t gemm_reduce_slice_len(const gemm_spec *s, const gemm_tuning *t)
{
    if (!s->reduce_batch || s->batch < 2)
        return 0;
    int64_t len = slice_len_for_groups(s, t);
    if (t->loop_budget > 0) {
        int64_t per_index = ceil_div(gemm_work_item_loops(s, t), s->batch);
        int64_t fit = t->loop_budget / per_index > 1 ? t->loop_budget / per_index : 1;
        len = fit < len ? fit : len;
    }
    /* equal slices: runs of 110 and 18 left the second slice's work-groups
     * idle for most of the first's (a CNN's weight gradient on llvmpipe) */
    len = ceil_div(s->batch, ceil_div(s->batch, len));
    return len < s->batch ? len : 0;
}

/* Deepest chunk searched, in tile depths: beyond it K stays whole. */
#define MAX_CHUNK_TILES 16

/* The depth of the chunks K is cut into, at least two of them: the tiles'
 * depth k where K is a whole number of them, else the smallest divisor of
 * K above k (up to MAX_CHUNK_TILES k), whose chunks end in the tiles' loop
 * over a remainder of K; 0 where there is none (a prime K among them). The
 * chunks are equal because the batch form below gives every batch index
 * the same K. */
static int64_t chunk_depth(int64_t K, int64_t k)
{
    for (int64_t d = k; d <= K / 2 && d <= MAX_CHUNK_TILES * k; d++)
        if (K % d == 0)
            return d;
    return 0;
}

/* Whether plain product s is cut along K: on a GPU (lane_groups) whose
 * tiled work-groups for it are fewer than lane_groups, when K has a chunk
 * depth. Products with statements before or after them run in the panel
 * family and are never cut. */
static bool splits_k(const gemm_spec *s, const gemm_tuning *t)
{
    return t->lane_groups > 0 && gemm_runs_tiled(s, t) && s->batch <= 1 &&
           chunk_depth(s->K, t->tiles.k) > 0 && tiled_groups(s, &t->tiles) < t->lane_groups;
}

/* s as the product summed over its K / k chunks of K: batch index r
 * multiplies op(A)'s columns and op(B)'s rows r k .. r k + k - 1, so A
 * steps k elements along its rows (k rows when stored transposed) and B k
 * rows (k elements when stored transposed). */
static gemm_spec k_chunks(const gemm_spec *s, int64_t depth)
{
    gemm_spec c = *s;
    c.K = depth;
    c.batch = s->K / depth;
    c.reduce_batch = true;
    c.stride_a = s->trans_a ? depth * s->lda : depth;
    c.stride_b = s->trans_b ? depth : depth * s->ldb;
    c.stride_c = 0;
    return c;
}

void gemm_choose_slices(gemm_spec *s, const gemm_tuning *t)
{
    s->slice_len = 0;
    if (s->before || s->after)
        return;
    if (s->reduce_batch) {
        s->slice_len = gemm_reduce_slice_len(s, t);
        return;
    }
    if (!splits_k(s, t))
        return;
    gemm_spec chunks = k_chunks(s, chunk_depth(s->K, t->tiles.k));
    chunks.slice_len = gemm_reduce_slice_len(&chunks, t);
    if (chunks.slice_len > 0)
        *s = chunks;
}

/* The tile passes and the epilogue on the summed v of element e, as the
 * product's own store would run them on a tile of one element (gm_e 0). */
static void emit_epilogue(strbuf *src, const gemm_spec *s)
{
    sb_printf(src,
        "    {\n"
        "        const uint row = e / %" PRId64 "u, col = e %% %" PRId64 "u, bat = 0u, "
        "gm_e = 0u;\n", s->N, s->N);
    if (s->tile_pass)
        sb_printf(src, "        float gm_tile[%d][1];\n", s->tile_values);
    const char *passes[2] = {s->tile_pass, s->tile_fix};
    for (int p = 0; p < 2; p++)
        if (passes[p])
            sb_printf(src, "        {\n%s\n        }\n", passes[p]);
    sb_printf(src, "%s\n    }\n", s->epilogue);
}

int codegen_gemm_slice_sum(strbuf *src, const gemm_spec *s, plan_launch *launch,
                           qsdc_error *err)
{
    int64_t n = s->M * s->N, span = gemm_partial_span(s);
    if (strlen(s->name) + 4 >= sizeof launch->kernel)
        return qsdc_fail(err, "gemm: kernel name '%s_sum' is too long", s->name);
    char init[96];
    snprintf(init, sizeof init, s->accumulate ? "%s[o]" : "0.0f", s->c);
    sb_printf(src,
        "/* %s_sum: C[%" PRId64 ",%" PRId64 "] %s the sum of %s's %" PRId64 " partials */\n"
        "__kernel void %s_sum(__global float *P, __global float *G, __global float *S,\n"
        "    __global float *A, __global const int *L, const uint seed,\n"
        "    const uint step, const float lr, const uint sample0)\n"
        "{\n"
        "    const uint e = get_global_id(0);\n"
        "    if (e >= %" PRId64 "u) return;\n"
        "    const uint o = e / %" PRId64 "u * %" PRId64 "u + e %% %" PRId64 "u;\n"
        "    float v = %s;\n"
        "    for (uint s = 0; s < %" PRId64 "u; ++s)\n"
        "        v += %s[s * %" PRId64 "u + o];\n",
        s->name, s->M, s->N, s->accumulate ? "+=" : "=", s->name, gemm_slices(s), s->name, n,
        s->N, s->ldc, s->N, init, gemm_slices(s), s->partials, span);
    if (s->epilogue)
        emit_epilogue(src, s);
    sb_printf(src, "    %s[o] = v;\n}\n\n", s->c);
    if (sb_check(src, err) < 0)
        return -1;
    memset(launch, 0, sizeof *launch);
    snprintf(launch->kernel, sizeof launch->kernel, "%s_sum", s->name);
    launch->work_dim = 1;
    launch->global[0] = (uint64_t)n;
    launch->bytes = 4.0 * (double)n * (double)(gemm_slices(s) + 1);
    return 0;
}
