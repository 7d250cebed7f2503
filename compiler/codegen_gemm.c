#include "codegen_gemm.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codegen_gemm_form.h"

static int64_t ceil_div(int64_t x, int64_t m)
{
    return (x + m - 1) / m;
}

void gemm_tuning_default(gemm_tuning *t, bool is_cpu, unsigned pref_vector_width)
{
    t->loop_budget = 0;
    t->lane_groups = 0;
    t->tiles = (gemm_tiles){0};
    int vec = 1;
    while (vec * 2 <= 16 && (unsigned)(vec * 2) <= pref_vector_width)
        vec *= 2;
    if (is_cpu) {
        /* 6 x 2 vectors: 12 accumulators + 2 B vectors + 1 broadcast fill
         * the 16 vector registers of AVX2 (or SSE); narrower vectors than
         * 4 mean a scalar machine: 4 x 4 floats. */
        t->vec = vec;
        t->mr = vec >= 4 ? 6 : 4;
        t->nv = vec >= 4 ? 2 : 4 / vec;
        t->bm = 22 * t->mr;
        t->bn = 8 * t->nv * vec;
        t->kc = 8192 / (t->nv * vec) < 512 ? 8192 / (t->nv * vec) : 512;
        t->min_groups = 8;
        /* ~20 us of one core, twice a launch's cost: the output layer's
         * 2.6 MFLOP products get a group per core (at 4e6 they ran on one);
         * splitting changed no shape's GFLOP per CPU-second */
        t->min_group_flops = 1e6;
    } else {
        t->vec = vec < 4 ? 4 : vec;
        t->mr = 4;
        t->nv = 1;
        t->bm = 4;
        t->bn = t->vec;
        t->kc = 64;
        t->min_groups = 1;
        t->min_group_flops = 0;
    }
}

static bool is_identifier(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

/* Largest element index of a rows x cols matrix with row stride ld. */
static int64_t last_index(int64_t rows, int64_t cols, int64_t ld)
{
    return (rows - 1) * ld + cols - 1;
}

static bool vector_width(int w)
{
    return w == 1 || w == 2 || w == 4 || w == 8 || w == 16;
}

static int check_spec(const gemm_spec *s, const gemm_tuning *t, qsdc_error *err)
{
    if (!is_identifier(s->name))
        return qsdc_fail(err, "gemm: kernel name '%s' is not an identifier",
                         s->name ? s->name : "(null)");
    const char *n = s->name;
    if (!s->a || !s->b || !s->c)
        return qsdc_fail(err, "gemm %s: missing a matrix pointer expression", n);
    if (s->M < 1 || s->N < 1 || s->K < 1)
        return qsdc_fail(err, "gemm %s: shape %" PRId64 "x%" PRId64 "x%" PRId64
                         " must be positive", n, s->M, s->N, s->K);
    if (s->batch < 0 || s->stride_a < 0 || s->stride_b < 0 || s->stride_c < 0)
        return qsdc_fail(err, "gemm %s: negative batch or batch stride", n);
    int64_t nb = s->batch > 1 ? s->batch : 1;
    int64_t a_rows = s->trans_a ? s->K : s->M, a_cols = s->trans_a ? s->M : s->K;
    int64_t b_rows = s->trans_b ? s->N : s->K, b_cols = s->trans_b ? s->K : s->N;
    if (s->lda < a_cols || s->ldb < b_cols || s->ldc < s->N)
        return qsdc_fail(err, "gemm %s: row strides lda=%" PRId64 " ldb=%" PRId64
                         " ldc=%" PRId64 " are below the row lengths %" PRId64
                         ", %" PRId64 ", %" PRId64, n, s->lda, s->ldb, s->ldc,
                         a_cols, b_cols, s->N);
    /* Kernel index arithmetic is 32-bit unsigned. */
    const int64_t limit = INT32_MAX;
    int64_t c_batches = s->reduce_batch ? 0 : nb - 1;
    if (nb > limit || s->stride_a > limit || s->stride_b > limit || s->stride_c > limit ||
        last_index(a_rows, a_cols, s->lda) + (nb - 1) * s->stride_a > limit ||
        last_index(b_rows, b_cols, s->ldb) + (nb - 1) * s->stride_b > limit ||
        last_index(s->M, s->N, s->ldc) + c_batches * s->stride_c > limit || s->K > limit)
        return qsdc_fail(err, "gemm %s: a matrix spans more than 2^31 elements", n);
    if (!vector_width(t->vec))
        return qsdc_fail(err, "gemm %s: vector width %d is not 1, 2, 4, 8 or 16",
                         n, t->vec);
    if (t->mr < 1 || t->mr > 16 || t->nv < 1 || t->nv > 8)
        return qsdc_fail(err, "gemm %s: micro-tile %d x %d vectors out of range "
                         "(1..16 x 1..8)", n, t->mr, t->nv);
    int nr = t->nv * t->vec;
    if (t->bm < t->mr || t->bm % t->mr || t->bn < nr || t->bn % nr)
        return qsdc_fail(err, "gemm %s: block %d x %d is not a multiple of the "
                         "micro-tile %d x %d", n, t->bm, t->bn, t->mr, nr);
    if ((s->tile_pass || s->tile_fix) &&
        (!s->tile_pass || !s->epilogue || s->tile_values < 1 ||
         s->tile_values > GEMM_TILE_VALUES))
        return qsdc_fail(err, "gemm %s: a tile pass needs an epilogue and 1..%d values",
                         n, GEMM_TILE_VALUES);
    if (s->slice_len < 0 ||
        (s->slice_len > 0 && (!s->reduce_batch || s->batch <= s->slice_len || !s->partials ||
                              s->before || s->after)))
        return qsdc_fail(err, "gemm %s: only a reduced product without statements before "
                         "or after splits into slices of %" PRId64 ", with a partials buffer",
                         n, s->slice_len);
    if ((s->before || s->after) && (s->batch < 2 || s->reduce_batch))
        return qsdc_fail(err, "gemm %s: statements before or after need a batch of "
                         "independent products", n);
    if (!(t->min_group_flops >= 0))
        return qsdc_fail(err, "gemm %s: min_group_flops must be >= 0", n);
    const gemm_tiles *tl = &t->tiles;
    if (gemm_tiled(tl) &&
        (tl->items_n < 1 || tl->items_m * tl->items_n > 1024 || !vector_width(tl->block_m) ||
         tl->block_m > 16 || !vector_width(tl->block_n) || tl->block_n > 8 || tl->k < 1 ||
         tl->k > 64 || (tl->direct && (!vector_width(tl->k) || tl->k > 16))))
        return qsdc_fail(err, "gemm %s: tiles of %dx%d work-items of %dx%d, k %d%s, out of "
                         "range (up to 1024 work-items of 1, 2, 4, 8 or 16 x 1, 2, 4 or 8, k "
                         "1..64, direct 1, 2, 4, 8 or 16)", n, tl->items_m, tl->items_n,
                         tl->block_m, tl->block_n, tl->k, tl->direct ? " direct" : "");
    /* The packed panel must fit the smallest __local memory OpenCL allows. */
    const int panel_floats = 32 * 1024 / 4;
    if (t->kc < 1 || (int64_t)t->kc * nr > panel_floats)
        return qsdc_fail(err, "gemm %s: K block %d must be in 1..%d for %d columns "
                         "(32 KiB of local memory)", n, t->kc, panel_floats / nr, nr);
    return 0;
}

/* Whether the kernel computes C^T = op(B)^T op(A)^T, with C's rows along
 * the vectors: for a C narrower than a micro-tile and taller than wide
 * (the output layer's 128 x 10: 10 of 32 lanes used, else whole vectors),
 * and for both operands transposed (then both are read row-major), unless
 * that would make C's vectors the narrow side. */
static bool swap_operands(const gemm_spec *s, int nr)
{
    if (s->N < nr && s->M > s->N)
        return true;
    if (s->M < nr && s->N > s->M)
        return false;
    return s->trans_a && s->trans_b;
}

gemm_form gemm_form_of(const gemm_spec *s, bool swap)
{
    /* a sliced product's kernel writes bare partial sums: C's old value,
     * the tile passes and the epilogue are the sum kernel's */
    bool whole = s->slice_len == 0;
    gemm_form f = {
        .M = s->M, .N = s->N, .K = s->K,
        .a = s->a, .b = s->b, .c = s->c,
        .lda = s->lda, .ldb = s->ldb, .ldc = s->ldc,
        .a_kmajor = s->trans_a, .b_nmajor = s->trans_b, .c_trans = false,
        .accumulate = whole && s->accumulate, .epilogue = whole ? s->epilogue : NULL,
        .tile_pass = whole ? s->tile_pass : NULL, .tile_fix = whole ? s->tile_fix : NULL,
        .tile_values = s->tile_values,
        .before = s->before, .after = s->after, .batch = s->batch > 1 ? s->batch : 1, .stride_a = s->stride_a,
        .stride_b = s->stride_b, .stride_c = s->stride_c, .reduce = s->reduce_batch,
    };
    if (swap) {
        /* C^T[N,M] = op(B)^T[N,K] op(A)^T[K,M]: B stored [K,N] is k-major
         * as the left operand, A stored [M,K] n-major as the right one */
        f.M = s->N;
        f.N = s->M;
        f.a = s->b;
        f.lda = s->ldb;
        f.stride_a = s->stride_b;
        f.a_kmajor = !s->trans_b;
        f.b = s->a;
        f.ldb = s->lda;
        f.stride_b = s->stride_a;
        f.b_nmajor = !s->trans_a;
        f.c_trans = true;
    }
    return f;
}

/* One more block along the side whose blocks are longer. */
static void split_once(const gemm_geom *g, int64_t tiles_m, int64_t tiles_n, int64_t *parts_m,
                       int64_t *parts_n)
{
    bool split_n = *parts_n < tiles_n &&
                   (*parts_m == tiles_m ||
                    ceil_div(tiles_n, *parts_n) * g->nr >= ceil_div(tiles_m, *parts_m) * g->mr);
    if (split_n)
        ++*parts_n;
    else
        ++*parts_m;
}

static void set_blocks(const gemm_form *f, gemm_geom *g, int64_t tiles_m, int64_t tiles_n,
                       int64_t parts_m, int64_t parts_n)
{
    g->bm = ceil_div(tiles_m, parts_m) * g->mr;
    g->bn = ceil_div(tiles_n, parts_n) * g->nr;
    g->groups_m = ceil_div(f->M, g->bm);
    g->groups_n = ceil_div(f->N, g->bn);
}

/* An upper bound on the loop iterations of one work-item: for each batch
 * index it sums over and each K block, every panel's pack (up to two
 * loops over the block) and every micro-tile's K loop and epilogue loops
 * (a tile pass, its fix-ups and the store, each over the tile). */
static int64_t work_item_loops(const gemm_form *f, const gemm_geom *g)
{
    int64_t panels = ceil_div(g->bn, g->nr), tiles = ceil_div(g->bm, g->mr);
    int64_t per_panel = 2 * g->kc + tiles * (g->kc + g->mr + 3 * g->mr * g->nr);
    return (f->reduce ? f->batch : 1) * ceil_div(f->K, g->kc) * panels * per_panel;
}

/* Splits M and N into near-equal blocks of at most bm x bn (in whole
 * micro-tiles), with more blocks along the longer side until there are
 * min(min_groups, flops / min_group_flops) work-groups or blocks are single
 * micro-tiles. */
static gemm_geom make_geom(const gemm_form *f, const gemm_tuning *t)
{
    /* rows spread evenly over the fewest micro-tiles: M = 10 as two tiles
     * of 5 rows, not 6 and 4 computed as 6 (1.1x faster at 128x10x1024) */
    int mr = (int)ceil_div(f->M, ceil_div(f->M, t->mr));
    gemm_geom g = { .vec = t->vec, .mr = mr, .nv = t->nv, .nr = t->nv * t->vec };
    int64_t tiles_m = ceil_div(f->M, g.mr), tiles_n = ceil_div(f->N, g.nr);
    int64_t parts_m = ceil_div(tiles_m, t->bm / t->mr);
    int64_t parts_n = ceil_div(tiles_n, t->bn / g.nr);
    /* independent batches are work-groups already; reduced ones add work,
     * and each of their work-groups streams its operand rows over the whole
     * batch, so they get half as many (the CNN's weight gradients, 4 groups
     * against 8: 1.3-1.7x faster on 2 cores) */
    double flops = 2.0 * (double)f->M * (double)f->N * (double)f->K *
                   (double)(f->reduce ? f->batch : 1);
    int64_t wanted = f->reduce ? (t->min_groups + 1) / 2 : ceil_div(t->min_groups, f->batch);
    if (t->min_group_flops > 0 && flops / t->min_group_flops < (double)wanted)
        wanted = (int64_t)(flops / t->min_group_flops);
    if (f->before || f->after)
        parts_m = parts_n = wanted = 1;
    while (parts_m * parts_n < wanted && (parts_m < tiles_m || parts_n < tiles_n))
        split_once(&g, tiles_m, tiles_n, &parts_m, &parts_n);
    g.kc = t->kc < f->K ? t->kc : f->K;
    set_blocks(f, &g, tiles_m, tiles_n, parts_m, parts_n);
    /* a device that cuts loops short gets smaller blocks, down to one
     * micro-tile; what still runs longer (a long K or a reduced batch) the
     * executor's loop guard refuses */
    while (t->loop_budget > 0 && !(f->before || f->after) &&
           work_item_loops(f, &g) > t->loop_budget && (parts_m < tiles_m || parts_n < tiles_n)) {
        split_once(&g, tiles_m, tiles_n, &parts_m, &parts_n);
        set_blocks(f, &g, tiles_m, tiles_n, parts_m, parts_n);
    }
    return g;
}

/* The mr x nr accumulators over one K block, from A in global memory and
 * the packed panel. */
static void emit_micro(strbuf *sb, const gemm_form *f, const gemm_geom *g)
{
    const char *vt = gemm_vtype(g->vec);
    bool ragged_m = f->M % g->mr != 0;
    for (int r = 0; r < g->mr; r++) {
        char row[64];
        if (ragged_m)
            snprintf(row, sizeof row, "min(gm_i0 + %du, %" PRId64 "u)", r, f->M - 1);
        else
            snprintf(row, sizeof row, "(gm_i0 + %du)", r);
        if (f->a_kmajor)
            sb_printf(sb, "                __global const float *gm_a%d = gm_a + gm_k0 * %" PRId64 "u + %s;\n",
                      r, f->lda, row);
        else
            sb_printf(sb, "                __global const float *gm_a%d = gm_a + %s * %" PRId64 "u + gm_k0;\n",
                      r, row, f->lda);
    }
    for (int r = 0; r < g->mr; r++) {
        sb_printf(sb, "                %s", vt);
        for (int q = 0; q < g->nv; q++)
            sb_printf(sb, "%s gm_c%d_%d = 0.0f", q ? "," : "", r, q);
        sb_append(sb, ";\n");
    }
    sb_printf(sb,
        "                __local const float *gm_pb = gm_bp;\n"
        "                for (uint gm_k = 0; gm_k < gm_kn; ++gm_k, gm_pb += %du) {\n",
        g->nr);
    for (int q = 0; q < g->nv; q++) {
        char off[16];
        snprintf(off, sizeof off, "%du", q);
        sb_printf(sb, "                    const %s gm_b%d = ", vt, q);
        gemm_emit_vload(sb, g->vec, off, "gm_pb");
        sb_append(sb, ";\n");
    }
    char k_index[64];
    if (f->a_kmajor)
        snprintf(k_index, sizeof k_index, "gm_k * %" PRId64 "u", f->lda);
    else
        snprintf(k_index, sizeof k_index, "gm_k");
    for (int r = 0; r < g->mr; r++) {
        sb_printf(sb, "                    { const %s gm_x = (%s)(gm_a%d[%s]);", vt, vt, r, k_index);
        for (int q = 0; q < g->nv; q++)
            sb_printf(sb, " gm_c%d_%d = fma(gm_x, gm_b%d, gm_c%d_%d);", r, q, q, r, q);
        sb_append(sb, " }\n");
    }
    sb_append(sb, "                }\n");
}

static void emit_kernel(strbuf *sb, const gemm_spec *s, const gemm_form *f,
                        const gemm_geom *g)
{
    bool blocked = g->kc < f->K;
    bool batched = f->batch > 1 && !f->reduce, reduced = f->batch > 1 && f->reduce;
    bool sliced = s->slice_len > 0;
    sb_printf(sb,
        "/* %s: C[%" PRId64 ",%" PRId64 "] %s op(A) op(B), K=%" PRId64 ", A%s, B%s;%s"
        " blocks %" PRId64 "x%" PRId64 ", micro-tile %dx%d, kc %" PRId64 "%s%" PRId64 " */\n"
        "__kernel __attribute__((reqd_work_group_size(1, 1, 1)))\n",
        s->name, s->M, s->N, s->accumulate ? "+=" : "=", s->K,
        s->trans_a ? "^T" : "", s->trans_b ? "^T" : "",
        f->c_trans ? " computed as C^T = op(B)^T op(A)^T;" : "", g->bm, g->bn, g->mr, g->nr, g->kc,
        reduced ? ", summed over batch " : batched ? ", batch " : ", batch ", f->batch);
    gemm_emit_signature(sb, s->name);
    sb_printf(sb,
        "    __local float gm_bp[%" PRId64 "];\n"
        "    const uint gm_bat = %s;\n",
        g->kc * g->nr, batched ? "get_group_id(2)" : "0u");
    gemm_emit_c_pointer(sb, s, f);
    if (f->before)
        sb_printf(sb, "%s\n", f->before);
    sb_printf(sb,
        "    const uint gm_i_begin = get_group_id(1) * %" PRId64 "u;\n"
        "    const uint gm_i_end = min(gm_i_begin + %" PRId64 "u, %" PRId64 "u);\n"
        "    const uint gm_j_begin = get_group_id(0) * %" PRId64 "u;\n"
        "    const uint gm_j_end = min(gm_j_begin + %" PRId64 "u, %" PRId64 "u);\n",
        g->bm, g->bm, f->M, g->bn, g->bn, f->N);
    gemm_emit_batch_loop(sb, s, f);
    if (blocked)
        sb_printf(sb,
            "    for (uint gm_k0 = 0; gm_k0 < %" PRId64 "u; gm_k0 += %" PRId64 "u) {\n"
            "        const uint gm_kn = min(%" PRId64 "u, %" PRId64 "u - gm_k0);\n",
            f->K, g->kc, g->kc, f->K);
    else
        sb_printf(sb, "    {\n        const uint gm_k0 = 0u, gm_kn = %" PRId64 "u;\n", f->K);
    sb_printf(sb, "        for (uint gm_j0 = gm_j_begin; gm_j0 < gm_j_end; gm_j0 += %du) {\n",
              g->nr);
    gemm_emit_pack(sb, f, g);
    sb_printf(sb, "            for (uint gm_i0 = gm_i_begin; gm_i0 < gm_i_end; gm_i0 += %du) {\n",
              g->mr);
    emit_micro(sb, f, g);
    /* C's old value is added after the first K block of the first batch
     * index; the epilogue runs after the last of both */
    char load_c[96], last[128];
    if (f->accumulate)
        snprintf(load_c, sizeof load_c, "1");
    else
        snprintf(load_c, sizeof load_c, "%s%s%s",
                 sliced ? "gm_rb > gm_rb0" : reduced ? "gm_rb > 0u" : "",
                 reduced && blocked ? " || " : "", blocked ? "gm_k0 > 0u" : "");
    if (!load_c[0])
        snprintf(load_c, sizeof load_c, "0");
    snprintf(last, sizeof last, "%s%" PRId64 "u%s", reduced ? "gm_rb == " : "",
             f->batch - 1, reduced && blocked ? " && " : "");
    if (!reduced)
        last[0] = '\0';
    if (blocked)
        snprintf(last + strlen(last), sizeof last - strlen(last),
                 "gm_k0 + %" PRId64 "u >= %" PRId64 "u", g->kc, f->K);
    bool ragged = f->M % g->mr != 0 || f->N % g->nr != 0;
    gemm_emit_store(sb, f, g, ragged, load_c, last[0] ? last : "1");
    sb_append(sb, "            }\n        }\n    }\n    }\n");
    if (f->after)
        sb_printf(sb, "%s\n", f->after);
    sb_append(sb, "}\n\n");
}

/* Products with statements before or after them need one work-item to
 * own all of a batch index's C: the panel family. */
bool gemm_runs_tiled(const gemm_spec *s, const gemm_tuning *t)
{
    return gemm_tiled(&t->tiles) && !s->before && !s->after;
}

int64_t gemm_work_item_loops(const gemm_spec *s, const gemm_tuning *t)
{
    if (gemm_runs_tiled(s, t)) {
        gemm_form f = gemm_form_of(s, false);
        return gemm_tiled_loops(&f, &t->tiles);
    }
    gemm_form f = gemm_form_of(s, swap_operands(s, t->nv * t->vec));
    gemm_geom g = make_geom(&f, t);
    return work_item_loops(&f, &g);
}

int codegen_gemm(strbuf *src, const gemm_spec *s, const gemm_tuning *t,
                 plan_launch *launch, qsdc_error *err)
{
    if (check_spec(s, t, err) < 0)
        return -1;
    if (strlen(s->name) >= sizeof launch->kernel)
        return qsdc_fail(err, "gemm: kernel name '%s' is too long", s->name);
    memset(launch, 0, sizeof *launch);
    bool tiled = gemm_runs_tiled(s, t);
    gemm_form f = gemm_form_of(s, !tiled && swap_operands(s, t->nv * t->vec));
    bool batched = f.batch > 1 && !f.reduce, sliced = s->slice_len > 0;
    if (tiled) {
        gemm_emit_tiled(src, s, &f, &t->tiles, launch);
    } else {
        gemm_geom g = make_geom(&f, t);
        emit_kernel(src, s, &f, &g);
        launch->work_dim = batched || sliced ? 3 : 2;
        launch->global[0] = (uint64_t)g.groups_n;
        launch->global[1] = (uint64_t)g.groups_m;
        launch->global[2] = batched ? (uint64_t)f.batch : sliced ? (uint64_t)gemm_slices(s) : 0;
        launch->local[0] = launch->local[1] = 1;
        launch->local[2] = batched || sliced ? 1 : 0;
    }
    if (sb_check(src, err) < 0)
        return -1;
    snprintf(launch->kernel, sizeof launch->kernel, "%s", s->name);
    double nb = (double)f.batch;
    launch->flops = 2.0 * (double)s->M * (double)s->N * (double)s->K * nb;
    launch->bytes = 4.0 * ((double)s->M * (double)s->K * (s->stride_a ? nb : 1.0) +
                           (double)s->K * (double)s->N * (s->stride_b ? nb : 1.0) +
                           (double)s->M * (double)s->N * (batched ? nb : 1.0) *
                               (s->accumulate ? 2.0 : 1.0));
    return 0;
}
