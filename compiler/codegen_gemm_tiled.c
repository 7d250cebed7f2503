/* The tiled GEMM family, for devices that run work-items in SIMD lanes:
 * each work-group owns a BM x BN block of C (BM = items_m * block_m, BN =
 * items_n * block_n) and its items_m x items_n work-items each own
 * block_m x block_n accumulators, work-item (x, y) the rows y + r * items_m
 * and columns x + q * items_n, so that consecutive work-items (x) read the
 * staged B and store C at consecutive columns. For each k-deep slice of K
 * the work-group copies op(A)[BM, k] and op(B)[k, BN] into __local memory,
 * every work-item a fixed share in the order that makes consecutive
 * work-items read consecutive addresses of each operand as stored, zero
 * past M, N and K; then, after a barrier, every work-item runs its k
 * multiply-adds per accumulator from __local memory, and a second barrier
 * guards the next copy. Every work-item of a group runs the same
 * iterations (no barrier in divergent code); only the stores are guarded.
 * Batches as in the panel family: grid dimension 2 for independent
 * products or slices of a reduced one, a reduced batch as further K. */
#include <inttypes.h>
#include <stdio.h>

#include "codegen_gemm_form.h"

static int64_t ceil_div(int64_t x, int64_t m)
{
    return (x + m - 1) / m;
}

/* The copy of one operand's tile into __local memory: rows x cols of the
 * tile (rows along M or N, cols along K), the stored layout saying whether
 * consecutive tile rows (major) or tile columns are adjacent in memory. */
typedef struct tile_copy {
    const char *dst, *src;  /* __local array, operand pointer */
    int64_t rows;           /* BM (A) or BN (B) */
    const char *row0;       /* the block's first row (of M or N) */
    int64_t extent, ld;     /* M or N; the operand's stride */
    bool k_major;           /* element (row, k) at src[k * ld + row], else src[row * ld + k] */
} tile_copy;

/* Element e of the tile (each work-item takes e = gm_lid + p * items) as
 * (row, k), k-major layouts walking rows fastest, so that consecutive
 * work-items read adjacent addresses; stored at dst[k * rows + row]. */
static void emit_copy(strbuf *sb, const gemm_form *f, const tile_copy *c, int items, int kt)
{
    int64_t total = c->rows * kt, shares = ceil_div(total, items);
    bool ragged_rows = c->extent % c->rows != 0, ragged_k = f->K % kt != 0;
    for (int64_t p = 0; p < shares; p++) {
        const char *ind = "            ";
        sb_printf(sb, "%s{\n%s    const uint gm_e = gm_lid + %" PRId64 "u;\n", ind, ind,
                  p * items);
        if (c->k_major)
            sb_printf(sb, "%s    const uint gm_k = gm_e / %" PRId64 "u, gm_x = gm_e %% %" PRId64 "u;\n",
                      ind, c->rows, c->rows);
        else
            sb_printf(sb, "%s    const uint gm_x = gm_e / %du, gm_k = gm_e %% %du;\n", ind, kt, kt);
        /* the last share may run past the tile when items do not divide it */
        bool partial = (p + 1) * items > total;
        sb_printf(sb, "%s    float gm_v = 0.0f;\n", ind);
        if (partial || ragged_rows || ragged_k) {
            const char *and = "";
            sb_printf(sb, "%s    if (", ind);
            if (partial) {
                sb_printf(sb, "gm_e < %" PRId64 "u", total);
                and = " && ";
            }
            if (ragged_rows) {
                sb_printf(sb, "%s%s + gm_x < %" PRId64 "u", and, c->row0, c->extent);
                and = " && ";
            }
            if (ragged_k)
                sb_printf(sb, "%sgm_k0 + gm_k < %" PRId64 "u", and, f->K);
            sb_append(sb, ")\n    ");
        }
        if (c->k_major)
            sb_printf(sb, "%s    gm_v = %s[(gm_k0 + gm_k) * %" PRId64 "u + %s + gm_x];\n",
                      ind, c->src, c->ld, c->row0);
        else
            sb_printf(sb, "%s    gm_v = %s[(%s + gm_x) * %" PRId64 "u + gm_k0 + gm_k];\n",
                      ind, c->src, c->row0, c->ld);
        if (partial)
            sb_printf(sb, "%s    if (gm_e < %" PRId64 "u)\n    ", ind, total);
        sb_printf(sb, "%s    %s[gm_k * %" PRId64 "u + gm_x] = gm_v;\n%s}\n", ind, c->dst,
                  c->rows, ind);
    }
}

/* The k multiply-adds of every accumulator from the staged tiles. */
static void emit_product(strbuf *sb, const gemm_tiles *t)
{
    int64_t bm = (int64_t)t->items_m * t->block_m, bn = (int64_t)t->items_n * t->block_n;
    sb_printf(sb, "            for (uint gm_k = 0; gm_k < %du; ++gm_k) {\n", t->k);
    for (int r = 0; r < t->block_m; r++)
        sb_printf(sb, "                const float gm_a%d = gm_as[gm_k * %" PRId64 "u + gm_ty + %du];\n",
                  r, bm, r * t->items_m);
    for (int q = 0; q < t->block_n; q++)
        sb_printf(sb, "                const float gm_b%d = gm_bs[gm_k * %" PRId64 "u + gm_tx + %du];\n",
                  q, bn, q * t->items_n);
    for (int r = 0; r < t->block_m; r++) {
        sb_append(sb, "               ");
        for (int q = 0; q < t->block_n; q++)
            sb_printf(sb, " gm_c%d_%d = fma(gm_a%d, gm_b%d, gm_c%d_%d);", r, q, r, q, r, q);
        sb_append(sb, "\n");
    }
    sb_append(sb, "            }\n");
}

int64_t gemm_tiled_loops(const gemm_form *f, const gemm_tiles *t)
{
    int64_t stores = (int64_t)t->block_m * t->block_n * (1 + (f->tile_pass != NULL) +
                                                         (f->tile_fix != NULL));
    return (f->reduce ? f->batch : 1) * ceil_div(f->K, t->k) * (t->k + 1) + stores;
}

void gemm_emit_tiled(strbuf *sb, const gemm_spec *s, const gemm_form *f, const gemm_tiles *t,
                     plan_launch *launch)
{
    bool batched = f->batch > 1 && !f->reduce, reduced = f->batch > 1 && f->reduce;
    bool sliced = s->slice_len > 0;
    int items = t->items_m * t->items_n;
    int64_t bm = (int64_t)t->items_m * t->block_m, bn = (int64_t)t->items_n * t->block_n;
    int64_t groups_m = ceil_div(f->M, bm), groups_n = ceil_div(f->N, bn);
    sb_printf(sb,
        "/* %s: C[%" PRId64 ",%" PRId64 "] %s op(A) op(B), K=%" PRId64 ", A%s, B%s; tiled:"
        " %dx%d work-items of %dx%d, k %d%s%" PRId64 " */\n"
        "__kernel __attribute__((reqd_work_group_size(%d, %d, 1)))\n",
        s->name, s->M, s->N, s->accumulate ? "+=" : "=", s->K, s->trans_a ? "^T" : "",
        s->trans_b ? "^T" : "", t->items_m, t->items_n, t->block_m, t->block_n, t->k,
        reduced ? ", summed over batch " : ", batch ", f->batch, t->items_n, t->items_m);
    gemm_emit_signature(sb, s->name);
    sb_printf(sb,
        "    __local float gm_as[%" PRId64 "], gm_bs[%" PRId64 "];\n"
        "    const uint gm_bat = %s;\n"
        "    const uint gm_tx = get_local_id(0), gm_ty = get_local_id(1);\n"
        "    const uint gm_lid = gm_ty * %du + gm_tx;\n"
        "    const uint gm_bi = get_group_id(1) * %" PRId64 "u, gm_bj = get_group_id(0) * %" PRId64 "u;\n"
        "    const uint gm_i0 = gm_bi + gm_ty, gm_j0 = gm_bj + gm_tx;\n",
        bm * t->k, bn * t->k, batched ? "get_group_id(2)" : "0u", t->items_n, bm, bn);
    gemm_emit_c_pointer(sb, s, f);
    for (int r = 0; r < t->block_m; r++) {
        sb_append(sb, "    float");
        for (int q = 0; q < t->block_n; q++)
            sb_printf(sb, "%s gm_c%d_%d = 0.0f", q ? "," : "", r, q);
        sb_append(sb, ";\n");
    }
    gemm_emit_batch_loop(sb, s, f);
    sb_printf(sb, "        for (uint gm_k0 = 0; gm_k0 < %" PRId64 "u; gm_k0 += %du) {\n", f->K,
              t->k);
    tile_copy a = {"gm_as", "gm_a", bm, "gm_bi", f->M, f->lda, f->a_kmajor};
    tile_copy b = {"gm_bs", "gm_b", bn, "gm_bj", f->N, f->ldb, !f->b_nmajor};
    emit_copy(sb, f, &a, items, t->k);
    emit_copy(sb, f, &b, items, t->k);
    sb_append(sb, "            barrier(CLK_LOCAL_MEM_FENCE);\n");
    emit_product(sb, t);
    sb_append(sb, "            barrier(CLK_LOCAL_MEM_FENCE);\n        }\n    }\n    {\n");
    sb_printf(sb, "                    float gm_t[%d];\n", t->block_m * t->block_n);
    for (int r = 0; r < t->block_m; r++)
        for (int q = 0; q < t->block_n; q++)
            sb_printf(sb, "                    gm_t[%d] = gm_c%d_%d;\n", r * t->block_n + q, r, q);
    gemm_store st = {.rows = t->block_m, .cols = t->block_n, .row_step = t->items_m,
                     .col_step = t->items_n, .load_c = f->accumulate && !sliced ? "1" : "0",
                     .last_block = "1", .checked = f->M % bm != 0 || f->N % bn != 0};
    gemm_emit_element_store(sb, f, &st);
    sb_append(sb, "    }\n}\n\n");
    launch->work_dim = batched || sliced ? 3 : 2;
    launch->global[0] = (uint64_t)(groups_n * t->items_n);
    launch->global[1] = (uint64_t)(groups_m * t->items_m);
    launch->global[2] = batched ? (uint64_t)f->batch : sliced ? (uint64_t)gemm_slices(s) : 0;
    launch->local[0] = (uint64_t)t->items_n;
    launch->local[1] = (uint64_t)t->items_m;
    launch->local[2] = batched || sliced ? 1 : 0;
}
