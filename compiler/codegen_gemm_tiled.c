/* The tiled GEMM family, for devices that run work-items in SIMD lanes:
 * each work-group owns a BM x BN block of C (BM = items_m * block_m, BN =
 * items_n * block_n) and each of its items_m x items_n work-items a
 * block_m x block_n micro-tile of it, work-item (x, y) the block's rows
 * from y * block_m and columns from x * block_n, so that consecutive
 * work-items read and write consecutive vectors. For each k-deep slice of
 * K the work-group copies op(A)[BM, k] and op(B)[k, BN] into __local memory
 * as [k][BM] and [k][BN], every work-item a fixed share of 4-element
 * chunks, in the order that makes consecutive work-items read consecutive
 * addresses of each operand as stored, zero past M, N and K; then, after a
 * barrier, every work-item runs the k steps of its micro-tile, one vector
 * load of A's and one of B's per step (lanes that carry out a memory
 * access lane by lane, as llvmpipe's do, pay per access, not per element),
 * and a second barrier guards the next copy. Every work-item of a group
 * runs the same iterations (no barrier in divergent code); only the copies'
 * reads and the stores are guarded. The direct variant stages nothing:
 * every work-item reads its rows of op(A) and columns of op(B) from
 * global memory, k steps at a time, leaving reuse to the device's caches;
 * with no barrier it suits devices where a barrier is costly (llvmpipe
 * runs a work-group's lanes as coroutines that switch at each one: 2.5x
 * the staged kernel's rate at 128x1024x1024 there) or caches are good.
 * Batches as in the panel family: grid dimension 2 for independent
 * products or slices of a reduced one, a reduced batch as further K. */
#include <inttypes.h>
#include <stdio.h>

#include "codegen_gemm_form.h"

static int64_t ceil_div(int64_t x, int64_t m)
{
    return (x + m - 1) / m;
}

/* vloadN(0, base + off), or base[off] for width 1. */
static void emit_load_at(strbuf *sb, int width, const char *base, const char *off)
{
    if (width == 1)
        sb_printf(sb, "%s[%s]", base, off);
    else
        sb_printf(sb, "vload%d(0, %s + %s)", width, base, off);
}

/* One operand's tile copied into __local memory as [k][rows]: rows along
 * M (A) or N (B), the operand as stored with the tile's rows adjacent
 * (k_major) or its k adjacent. */
typedef struct tile_copy {
    const char *dst, *src;  /* __local array, operand pointer */
    int64_t rows;           /* BM (A) or BN (B) */
    const char *row0;       /* the block's first row (of M or N) */
    int64_t extent, ld;     /* M or N; the operand's stride */
    bool k_major;           /* element (row, k) at src[k * ld + row], else src[row * ld + k] */
} tile_copy;

/* The chunk's guards: first, its first element inside the operand along
 * the chunk; whole, all of it; other, the other dimension ("" when
 * nothing can fall outside). */
typedef struct chunk_guards {
    char first[96], whole[96], other[96];
} chunk_guards;

static chunk_guards guards_of(const gemm_form *f, const tile_copy *c, int kt, int cw)
{
    chunk_guards g = {"", "", ""};
    bool ragged_rows = c->extent % c->rows != 0, ragged_k = f->K % kt != 0;
    const char *along = c->k_major ? c->row0 : "gm_k0";
    const char *x = c->k_major ? "gm_x" : "gm_k";
    int64_t end = c->k_major ? c->extent : f->K;
    if (c->k_major ? ragged_rows : ragged_k) {
        snprintf(g.first, sizeof g.first, "%s + %s < %" PRId64 "u", along, x, end);
        snprintf(g.whole, sizeof g.whole, "%s + %s + %du <= %" PRId64 "u", along, x, cw, end);
    }
    if (c->k_major && ragged_k)
        snprintf(g.other, sizeof g.other, "gm_k0 + gm_k < %" PRId64 "u", f->K);
    if (!c->k_major && ragged_rows)
        snprintf(g.other, sizeof g.other, "%s + gm_x < %" PRId64 "u", c->row0, c->extent);
    return g;
}

/* Chunk e of the tile (each work-item takes e = gm_lid + p * items): cw
 * elements adjacent in the operand, one vector load when all lie inside
 * it, element by element at its edge. */
static void emit_copy(strbuf *sb, const gemm_form *f, const tile_copy *c, int items, int kt)
{
    int line = (int)(c->k_major ? c->rows : kt);
    int cw = line % 4 == 0 ? 4 : 1, per_line = line / cw;
    int64_t chunks = c->rows * kt / cw, shares = ceil_div(chunks, items);
    chunk_guards g = guards_of(f, c, kt, cw);
    const char *vt = gemm_vtype(cw), *ind = "                ";
    char at[128];
    if (c->k_major)
        snprintf(at, sizeof at, "(gm_k0 + gm_k) * %" PRId64 "u + %s + gm_x", c->ld, c->row0);
    else
        snprintf(at, sizeof at, "(%s + gm_x) * %" PRId64 "u + gm_k0 + gm_k", c->row0, c->ld);
    for (int64_t p = 0; p < shares; p++) {
        sb_printf(sb, "            {\n%sconst uint gm_e = gm_lid + %" PRId64 "u;\n", ind,
                  p * items);
        if ((p + 1) * items > chunks)
            sb_printf(sb, "%sif (gm_e < %" PRId64 "u) {\n", ind, chunks);
        else
            sb_printf(sb, "%s{\n", ind);
        sb_printf(sb, "%sconst uint %s = gm_e / %du, %s = gm_e %% %du * %du;\n", ind,
                  c->k_major ? "gm_k" : "gm_x", per_line, c->k_major ? "gm_x" : "gm_k",
                  per_line, cw);
        sb_printf(sb, "%s%s gm_v = (%s)(0.0f);\n%s", ind, vt, vt, ind);
        if (g.whole[0] || g.other[0])
            sb_printf(sb, "if (%s%s%s)\n%s    ", g.other, g.other[0] && g.whole[0] ? " && " : "",
                      g.whole, ind);
        sb_append(sb, "gm_v = ");
        emit_load_at(sb, cw, c->src, at);
        sb_append(sb, ";\n");
        if (g.whole[0] && cw > 1) {
            sb_printf(sb, "%selse if (%s%s%s) {\n", ind, g.other, g.other[0] ? " && " : "",
                      g.first);
            for (int u = 1; u < cw; u++)
                sb_printf(sb, "%s    gm_v.s%d = %s + %s + %du < %" PRId64 "u ? %s[%s + %d] : 0.0f;\n",
                          ind, u, c->k_major ? c->row0 : "gm_k0", c->k_major ? "gm_x" : "gm_k",
                          u, c->k_major ? c->extent : f->K, c->src, at, u);
            sb_printf(sb, "%s    gm_v.s0 = %s[%s];\n%s}\n", ind, c->src, at, ind);
        }
        if (c->k_major && cw > 1)
            sb_printf(sb, "%svstore%d(gm_v, 0, %s + gm_k * %" PRId64 "u + gm_x);\n", ind, cw,
                      c->dst, c->rows);
        else if (c->k_major)
            sb_printf(sb, "%s%s[gm_k * %" PRId64 "u + gm_x] = gm_v;\n", ind, c->dst, c->rows);
        for (int u = 0; !c->k_major && u < cw; u++)
            sb_printf(sb, "%s%s[(gm_k + %du) * %" PRId64 "u + gm_x] = gm_v%s%.*d;\n", ind, c->dst,
                      u, c->rows, cw > 1 ? ".s" : "", cw > 1, u);
        sb_printf(sb, "%s}\n            }\n", ind);
    }
}

/* The k steps of the micro-tile from the staged tiles, into accumulators
 * gm_c{r}_0, vectors of block_n. As c += a * b, not fma(a, b, c): fma must
 * round once even where the device has no fused multiply-add to offer
 * (llvmpipe computes it in software: the 128x1024x1024 product ran 3 to 4x
 * slower with it), while OpenCL C contracts c += a * b into one where
 * that is fast; rounding twice otherwise keeps the dot product's error
 * bound. */
static void emit_product(strbuf *sb, const gemm_tiles *t)
{
    int64_t bm = (int64_t)t->items_m * t->block_m, bn = (int64_t)t->items_n * t->block_n;
    const char *vb = gemm_vtype(t->block_n);
    char off[96];
    sb_printf(sb, "            for (uint gm_k = 0; gm_k < %du; ++gm_k) {\n"
                  "                const %s gm_a = ", t->k, gemm_vtype(t->block_m));
    snprintf(off, sizeof off, "gm_k * %" PRId64 "u + gm_ty * %du", bm, t->block_m);
    emit_load_at(sb, t->block_m, "gm_as", off);
    sb_printf(sb, ";\n                const %s gm_b = ", vb);
    snprintf(off, sizeof off, "gm_k * %" PRId64 "u + gm_tx * %du", bn, t->block_n);
    emit_load_at(sb, t->block_n, "gm_bs", off);
    sb_append(sb, ";\n");
    for (int r = 0; r < t->block_m; r++) {
        char lane[16] = "";
        if (t->block_m > 1)
            snprintf(lane, sizeof lane, ".s%x", r);
        sb_printf(sb, "                gm_c%d_0 += (%s)(gm_a%s) * gm_b;\n", r, vb, lane);
    }
    sb_append(sb, "            }\n");
}

/* const type name = w operand elements adjacent in memory, the first at
 * base[outer + x0], x0 along an extent: one vector load where w divides
 * the extent (x0 clamped to its last vector when the grid reaches past it:
 * those values are never stored); else a vector load where the vector
 * lies inside the extent and each element at its index clamped to the
 * extent's last where it straddles the end (one work-item in a row of
 * them, so lanes rarely run both). */
static void emit_adjacent(strbuf *sb, const char *ind, const char *name, int w,
                          const char *base, const char *outer, const char *x0, int64_t extent,
                          bool overshoot)
{
    const char *type = gemm_vtype(w);
    char at[128];
    if (extent % w == 0) {
        if (overshoot)
            snprintf(at, sizeof at, "%s + min(%s, %" PRId64 "u)", outer, x0, extent - w);
        else
            snprintf(at, sizeof at, "%s + %s", outer, x0);
        sb_printf(sb, "%sconst %s %s = ", ind, type, name);
        emit_load_at(sb, w, base, at);
        sb_append(sb, ";\n");
        return;
    }
    snprintf(at, sizeof at, "%s + %s", outer, x0);
    sb_printf(sb, "%s%s %s;\n%sif (%s + %du <= %" PRId64 "u)\n%s    %s = ", ind, type, name, ind,
              x0, w, extent, ind, name);
    emit_load_at(sb, w, base, at);
    sb_printf(sb, ";\n%selse\n%s    %s = (%s)(", ind, ind, name, type);
    for (int e = 0; e < w; e++)
        sb_printf(sb, "%s%s[%s + min(%s + %du, %" PRId64 "u)]", e ? ", " : "", base, outer, x0,
                  e, extent - 1);
    sb_append(sb, ");\n");
}

/* Row (or column) x0 + e of an operand whose elements along K are
 * adjacent, clamped to the extent's last when the grid reaches past it. */
static void row_of(char *out, size_t n, const char *x0, int e, int64_t extent, bool overshoot)
{
    if (overshoot)
        snprintf(out, n, "min(%s + %du, %" PRId64 "u)", x0, e, extent - 1);
    else
        snprintf(out, n, "%s + %du", x0, e);
}

/* Element (r, u) of a w-vector named name{i}, or the name itself for w 1. */
static void lane_of(char *out, size_t n, const char *name, int i, int w, int e)
{
    if (w == 1)
        snprintf(out, n, "%s%d", name, i);
    else
        snprintf(out, n, "%s%d.s%x", name, i, e);
}

/* kc steps of K from gm_k on, operands read from global memory: op(A)'s
 * block_m rows and op(B)'s block_n columns, each as vectors along
 * whichever of its dimensions lies adjacent in memory. */
static void emit_direct_step(strbuf *sb, const gemm_form *f, const gemm_tiles *t, int kc,
                             bool over_m, bool over_n)
{
    const char *ind = "            ", *vb = gemm_vtype(t->block_n);
    char outer[128], row[96], name[16];
    for (int u = 0; f->a_kmajor && u < kc; u++) {
        snprintf(outer, sizeof outer, "(gm_k + %du) * %" PRId64 "u", u, f->lda);
        snprintf(name, sizeof name, "gm_au%d", u);
        emit_adjacent(sb, ind, name, t->block_m, "gm_a", outer, "gm_i0", f->M, over_m);
    }
    for (int r = 0; !f->a_kmajor && r < t->block_m; r++) {
        row_of(row, sizeof row, "gm_i0", r, f->M, over_m);
        snprintf(outer, sizeof outer, "(%s) * %" PRId64 "u + gm_k", row, f->lda);
        sb_printf(sb, "%sconst %s gm_ar%d = ", ind, gemm_vtype(kc), r);
        emit_load_at(sb, kc, "gm_a", outer);
        sb_append(sb, ";\n");
    }
    for (int u = 0; !f->b_nmajor && u < kc; u++) {
        snprintf(outer, sizeof outer, "(gm_k + %du) * %" PRId64 "u", u, f->ldb);
        snprintf(name, sizeof name, "gm_bu%d", u);
        emit_adjacent(sb, ind, name, t->block_n, "gm_b", outer, "gm_j0", f->N, over_n);
    }
    for (int q = 0; f->b_nmajor && q < t->block_n; q++) {
        row_of(row, sizeof row, "gm_j0", q, f->N, over_n);
        snprintf(outer, sizeof outer, "(%s) * %" PRId64 "u + gm_k", row, f->ldb);
        sb_printf(sb, "%sconst %s gm_bc%d = ", ind, gemm_vtype(kc), q);
        emit_load_at(sb, kc, "gm_b", outer);
        sb_append(sb, ";\n");
    }
    for (int u = 0; f->b_nmajor && u < kc; u++) {
        sb_printf(sb, "%sconst %s gm_bu%d = (%s)(", ind, vb, u, vb);
        for (int q = 0; q < t->block_n; q++) {
            char lane[48];
            lane_of(lane, sizeof lane, "gm_bc", q, kc, u);
            sb_printf(sb, "%s%s", q ? ", " : "", lane);
        }
        sb_append(sb, ");\n");
    }
    for (int u = 0; u < kc; u++)
        for (int r = 0; r < t->block_m; r++) {
            char a[48];
            if (f->a_kmajor)
                lane_of(a, sizeof a, "gm_au", u, t->block_m, r);
            else
                lane_of(a, sizeof a, "gm_ar", r, kc, u);
            sb_printf(sb, "%sgm_c%d_0 += (%s)(%s) * gm_bu%d;\n", ind, r, vb, a, u);
        }
}

/* The direct variant's K loop: whole steps of k, then one at a time. */
static void emit_direct(strbuf *sb, const gemm_form *f, const gemm_tiles *t, int64_t bm,
                        int64_t bn)
{
    bool over_m = f->M % bm != 0, over_n = f->N % bn != 0;
    int64_t whole = f->K / t->k * t->k;
    if (whole > 0) {
        sb_printf(sb, "        for (uint gm_k = 0; gm_k < %" PRId64 "u; gm_k += %du) {\n", whole,
                  t->k);
        emit_direct_step(sb, f, t, t->k, over_m, over_n);
        sb_append(sb, "        }\n");
    }
    if (whole < f->K) {
        sb_printf(sb, "        for (uint gm_k = %" PRId64 "u; gm_k < %" PRId64 "u; ++gm_k) {\n",
                  whole, f->K);
        emit_direct_step(sb, f, t, 1, over_m, over_n);
        sb_append(sb, "        }\n");
    }
}

int64_t gemm_tiled_loops(const gemm_form *f, const gemm_tiles *t)
{
    /* the K loop's steps, the copies' and the stores' loops at most */
    int64_t stores = 3 * (int64_t)t->block_m * t->block_n;
    return (f->reduce ? f->batch : 1) * ceil_div(f->K, t->k) * (t->k + 2) + stores;
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
        " %dx%d work-items of %dx%d, k %d%s%s%" PRId64 " */\n"
        "__kernel __attribute__((reqd_work_group_size(%d, %d, 1)))\n",
        s->name, s->M, s->N, s->accumulate ? "+=" : "=", s->K, s->trans_a ? "^T" : "",
        s->trans_b ? "^T" : "", t->items_m, t->items_n, t->block_m, t->block_n, t->k,
        t->direct ? ", direct" : "", reduced ? ", summed over batch " : ", batch ", f->batch,
        t->items_n, t->items_m);
    gemm_emit_signature(sb, s->name);
    if (!t->direct)
        sb_printf(sb,
            "    __local float gm_as[%" PRId64 "], gm_bs[%" PRId64 "];\n"
            "    const uint gm_lid = get_local_id(1) * %du + get_local_id(0);\n",
            bm * t->k, bn * t->k, t->items_n);
    sb_printf(sb,
        "    const uint gm_bat = %s;\n"
        "    const uint gm_tx = get_local_id(0), gm_ty = get_local_id(1);\n"
        "    const uint gm_bi = get_group_id(1) * %" PRId64 "u, gm_bj = get_group_id(0) * %" PRId64 "u;\n"
        "    const uint gm_i0 = gm_bi + gm_ty * %du, gm_j0 = gm_bj + gm_tx * %du;\n",
        batched ? "get_group_id(2)" : "0u", bm, bn, t->block_m, t->block_n);
    gemm_emit_c_pointer(sb, s, f);
    const char *vb = gemm_vtype(t->block_n);
    for (int r = 0; r < t->block_m; r++)
        sb_printf(sb, "    %s gm_c%d_0 = (%s)(0.0f);\n", vb, r, vb);
    gemm_emit_batch_loop(sb, s, f);
    if (t->direct) {
        emit_direct(sb, f, t, bm, bn);
    } else {
        sb_printf(sb, "        for (uint gm_k0 = 0; gm_k0 < %" PRId64 "u; gm_k0 += %du) {\n",
                  f->K, t->k);
        tile_copy a = {"gm_as", "gm_a", bm, "gm_bi", f->M, f->lda, f->a_kmajor};
        tile_copy b = {"gm_bs", "gm_b", bn, "gm_bj", f->N, f->ldb, !f->b_nmajor};
        emit_copy(sb, f, &a, items, t->k);
        emit_copy(sb, f, &b, items, t->k);
        sb_append(sb, "            barrier(CLK_LOCAL_MEM_FENCE);\n");
        emit_product(sb, t);
        sb_append(sb, "            barrier(CLK_LOCAL_MEM_FENCE);\n        }\n");
    }
    sb_append(sb, "    }\n    {\n");
    gemm_geom g = {.vec = t->block_n, .mr = t->block_m, .nv = 1, .nr = t->block_n};
    gemm_emit_store(sb, f, &g, f->M % bm != 0 || f->N % bn != 0,
                    f->accumulate ? "1" : "0", "1");
    sb_append(sb, "    }\n}\n\n");
    launch->work_dim = batched || sliced ? 3 : 2;
    launch->global[0] = (uint64_t)(groups_n * t->items_n);
    launch->global[1] = (uint64_t)(groups_m * t->items_m);
    launch->global[2] = batched ? (uint64_t)f->batch : sliced ? (uint64_t)gemm_slices(s) : 0;
    launch->local[0] = (uint64_t)t->items_n;
    launch->local[1] = (uint64_t)t->items_m;
    launch->local[2] = batched || sliced ? 1 : 0;
}
