/* Generated GEMM kernels against a plain C reference (gemm_case.h) on the
 * default device: all four transpose combinations, odd sizes, K blocking,
 * accumulate, offsets and padded strides, an epilogue (alone or reading
 * values a tile pass computed before it), several tunings (including the
 * non-CPU default and width-1 vectors), and products run in slices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "cl_fixture.h"
#include "executor.h"
#include "gemm_case.h"

/* Every transpose combination at shapes with remainders in every tile
 * dimension, including ones smaller than one micro-tile. */
static void test_transposes_odd_sizes(void **state)
{
    (void)state;
    static const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 65}};
    gemm_tuning t = gemm_device_tuning();
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int tr = 0; tr < 4; tr++) {
            gemm_case c = {.M = shapes[s][0], .N = shapes[s][1], .K = shapes[s][2],
                           .ta = tr & 1, .tb = tr >> 1};
            gemm_case_run(&c, &t);
        }
}

/* The MLP's output layer and its weight gradient: N = 10, K past one block. */
static void test_output_layer_shapes(void **state)
{
    (void)state;
    gemm_tuning t = gemm_device_tuning();
    gemm_case fwd = {.M = 128, .N = 10, .K = 1024};
    gemm_case_run(&fwd, &t);
    gemm_case dw = {.M = 100, .N = 10, .K = 128, .ta = true};
    gemm_case_run(&dw, &t);
    gemm_case dx = {.M = 128, .N = 70, .K = 10, .tb = true};
    gemm_case_run(&dx, &t);
}

/* Shapes narrower than a micro-tile: C[M,N] with N = 1, 10 or 17 computed
 * as C^T (the vectors along M), K = 1, K blocked, every transpose, the
 * epilogue and tile pass seeing C's own row and col, batches; and a C with
 * few rows (M = 3) under both transposes, which stays unswapped. Run with
 * the default tuning and with 4-wide vectors (8 columns: N = 10 and 17 are
 * then wider than the tile and go unswapped). */
static void test_narrow_shapes(void **state)
{
    (void)state;
    gemm_tuning tunings[2] = {gemm_device_tuning(), gemm_device_tuning()};
    tunings[1].vec = 4;
    tunings[1].bn = 8 * tunings[1].nv * tunings[1].vec;
    for (int i = 0; i < 2; i++)
        tunings[i].kc = 64;
    gemm_case cases[] = {
        {.M = 45, .N = 10, .K = 70, .bias_relu = true},
        {.M = 45, .N = 10, .K = 70, .ta = true, .bias_relu = true, .pad = 1},
        {.M = 45, .N = 10, .K = 70, .tb = true, .accumulate = true},
        {.M = 45, .N = 10, .K = 70, .ta = true, .tb = true, .bias_relu = true},
        {.M = 40, .N = 1, .K = 1, .ta = true},
        {.M = 33, .N = 17, .K = 1, .tb = true, .accumulate = true, .bias_relu = true},
        {.M = 70, .N = 1, .K = 130, .bias_relu = true, .tiled = true},
        {.M = 29, .N = 17, .K = 50, .batch = 3, .reduce = true, .pad = 2},
        {.M = 17, .N = 10, .K = 9, .batch = 4, .shared_a = true, .bias_relu = true,
         .tiled = true},
        {.M = 3, .N = 40, .K = 33, .ta = true, .tb = true, .bias_relu = true},
    };
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < sizeof cases / sizeof *cases; j++)
            gemm_case_run(&cases[j], &tunings[i]);
}

/* Which products run as C^T: the generated kernel says so in its header. */
static void test_narrow_swap_chosen(void **state)
{
    (void)state;
    gemm_tuning t;
    gemm_tuning_default(&t, true, 16);
    static const struct {
        int64_t M, N;
        bool ta, tb, swapped;
    } cases[] = {
        {128, 10, false, false, true},  /* the output layer: N under 32 columns */
        {1024, 10, true, false, true},  /* its weight gradient */
        {10, 128, false, false, false}, /* few rows: vectors along N already */
        {128, 1024, false, true, false},
        {128, 128, true, true, true},   /* both transposed: both read row-major */
        {3, 40, true, true, false},     /* ... unless that makes C^T narrow */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t M = cases[i].M, N = cases[i].N, K = 64;
        gemm_spec s = {.name = "g", .M = M, .N = N, .K = K, .trans_a = cases[i].ta,
                       .trans_b = cases[i].tb, .a = "A", .b = "P", .c = "G",
                       .lda = cases[i].ta ? M : K, .ldb = cases[i].tb ? K : N, .ldc = N};
        strbuf src;
        sb_init(&src);
        plan_launch launch;
        qsdc_error err = {{0}};
        if (codegen_gemm(&src, &s, &t, &launch, &err))
            fail_msg("codegen_gemm: %s", err.message);
        bool swapped = strstr(sb_str(&src), "computed as C^T") != NULL;
        if (swapped != cases[i].swapped)
            fail_msg("%lldx%lld ta=%d tb=%d: swapped %d, expected %d", (long long)M,
                     (long long)N, cases[i].ta, cases[i].tb, swapped, cases[i].swapped);
        sb_free(&src);
    }
}

/* C += op(A)op(B) with padded strides, across several K blocks, for every
 * transpose combination. */
static void test_accumulate_padded_blocked(void **state)
{
    (void)state;
    gemm_tuning t = gemm_device_tuning();
    t.kc = 48;
    for (int tr = 0; tr < 4; tr++) {
        gemm_case c = {.M = 29, .N = 37, .K = 131, .ta = tr & 1, .tb = tr >> 1,
                       .accumulate = true, .pad = 3};
        gemm_case_run(&c, &t);
    }
}

/* Bias + relu epilogue, plain and on top of accumulation, K blocked. */
static void test_epilogue(void **state)
{
    (void)state;
    gemm_tuning t = gemm_device_tuning();
    t.kc = 64;
    gemm_case plain = {.M = 45, .N = 50, .K = 200, .bias_relu = true, .pad = 1};
    gemm_case_run(&plain, &t);
    gemm_case acc = {.M = 45, .N = 50, .K = 200, .bias_relu = true, .accumulate = true,
                     .ta = true};
    gemm_case_run(&acc, &t);
    gemm_case tt = {.M = 13, .N = 21, .K = 30, .bias_relu = true, .ta = true, .tb = true};
    gemm_case_run(&tt, &t);
}

/* The epilogue reading values of a tile pass and its fix loop: edge tiles,
 * K blocks, accumulation, transposed C, batches (the passes see each batch
 * index). */
static void test_tile_pass(void **state)
{
    (void)state;
    gemm_tuning t = gemm_device_tuning();
    t.kc = 64;
    gemm_case cases[] = {
        {.M = 45, .N = 50, .K = 200, .bias_relu = true, .tiled = true, .pad = 1},
        {.M = 45, .N = 50, .K = 200, .bias_relu = true, .tiled = true, .accumulate = true},
        {.M = 13, .N = 21, .K = 30, .bias_relu = true, .tiled = true, .ta = true, .tb = true},
        {.M = 7, .N = 45, .K = 50, .batch = 5, .shared_a = true, .bias_relu = true,
         .tiled = true},
        {.M = 12, .N = 32, .K = 90, .batch = 3, .reduce = true, .bias_relu = true,
         .tiled = true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        gemm_case_run(&cases[i], &t);
}

/* A tile pass needs an epilogue to read it and 1..GEMM_TILE_VALUES values;
 * a fix loop needs a tile pass. */
static void test_tile_pass_rejected(void **state)
{
    (void)state;
    gemm_tuning t = gemm_device_tuning();
    gemm_spec base = {.name = "g", .M = 4, .N = 4, .K = 4, .a = "A", .b = "P", .c = "G",
                      .lda = 4, .ldb = 4, .ldc = 4, .tile_pass = "gm_tile[0][gm_e] = 1.0f;",
                      .tile_values = 1};
    gemm_spec bad[4] = {base, base, base, base};
    bad[0].epilogue = NULL;
    bad[1].epilogue = "v += gm_tile[0][gm_e];";
    bad[1].tile_values = 0;
    bad[2].epilogue = bad[1].epilogue;
    bad[2].tile_values = GEMM_TILE_VALUES + 1;
    bad[3].epilogue = bad[1].epilogue;
    bad[3].tile_fix = bad[3].tile_pass;
    bad[3].tile_pass = NULL;
    for (int i = 0; i < 4; i++) {
        strbuf src;
        sb_init(&src);
        plan_launch launch;
        qsdc_error err = {{0}};
        assert_int_equal(codegen_gemm(&src, &bad[i], &t, &launch, &err), -1);
        assert_non_null(strstr(err.message, "tile pass"));
        sb_free(&src);
    }
}

/* Per-sample products as conv2d uses them (W shared, col batched) and their
 * gradients (batch summed), with every transpose and an epilogue that reads
 * the batch index; K blocked so blocks and batches both accumulate. */
static void test_batched(void **state)
{
    (void)state;
    gemm_tuning t = gemm_device_tuning();
    t.kc = 40;
    for (int tr = 0; tr < 4; tr++) {
        gemm_case fwd = {.M = 7, .N = 45, .K = 50, .ta = tr & 1, .tb = tr >> 1, .batch = 5,
                         .shared_a = true, .bias_relu = true};
        gemm_case_run(&fwd, &t);
        gemm_case dw = {.M = 7, .N = 45, .K = 50, .ta = tr & 1, .tb = tr >> 1, .batch = 4,
                        .reduce = true, .pad = 2};
        gemm_case_run(&dw, &t);
        gemm_case both = {.M = 13, .N = 9, .K = 11, .ta = tr & 1, .tb = tr >> 1, .batch = 3,
                          .shared_b = true, .accumulate = true, .bias_relu = true};
        gemm_case_run(&both, &t);
    }
    gemm_case reduce_epilogue = {.M = 6, .N = 20, .K = 90, .batch = 3, .reduce = true,
                                 .bias_relu = true, .tb = true};
    gemm_case_run(&reduce_epilogue, &t);
}

/* Reduced products split into batch slices for a loop budget (devices
 * that cut long loops short): partial sums in scratch, then their sum,
 * which adds C's old value and runs the tile passes and the epilogue. */
static void test_sliced_reduction(void **state)
{
    (void)state;
    gemm_tuning t = gemm_device_tuning();
    for (int tr = 0; tr < 4; tr++) {
        gemm_case dw = {.M = 9, .N = 37, .K = 50, .ta = tr & 1, .tb = tr >> 1, .batch = 11,
                        .reduce = true, .pad = 2, .accumulate = tr == 3, .bias_relu = tr >= 2,
                        .tiled = tr == 2};
        gemm_spec probe = {.M = dw.M, .N = dw.N, .K = dw.K, .batch = dw.batch,
                           .reduce_batch = true, .trans_a = dw.ta, .trans_b = dw.tb};
        /* the largest budget this device's tuning must slice under: a
         * work-item's loops differ by family and tuning (llvmpipe's panel
         * default loops fewer times than pocl's) */
        t.loop_budget = 3000;
        while (t.loop_budget > 1 && gemm_reduce_slice_len(&probe, &t) == 0)
            t.loop_budget /= 2;
        assert_true(gemm_reduce_slice_len(&probe, &t) > 0);
        assert_true(gemm_case_run(&dw, &t) > 1);
    }
}

/* A summed product cut for a loop budget is cut into equal slices: a
 * budget for 110 of a batch of 128 makes two slices of 64, not of 110 and
 * 18, which left the second slice's work-groups idle most of the time (a
 * CNN's weight gradient on llvmpipe); one for 40 makes four of 32. */
static void test_sliced_reduction_equal(void **state)
{
    (void)state;
    gemm_tuning t;
    gemm_tuning_default(&t, false, 8);
    t.tiles = (gemm_tiles){8, 16, 8, 8, 4, true};
    gemm_spec dw = {.name = "g", .M = 64, .N = 288, .K = 196, .trans_b = true, .a = "A",
                    .b = "P", .c = "G", .lda = 196, .ldb = 196, .ldc = 288, .batch = 128,
                    .reduce_batch = true, .stride_a = 64 * 196, .stride_b = 288 * 196};
    /* a batch index's loops: half the smallest budget that fits two */
    int64_t lo = 1, hi = 1;
    for (t.loop_budget = hi; gemm_reduce_slice_len(&dw, &t) == 1; t.loop_budget = hi)
        lo = hi, hi *= 2;
    while (lo + 1 < hi) {
        t.loop_budget = (lo + hi) / 2;
        *(gemm_reduce_slice_len(&dw, &t) == 1 ? &lo : &hi) = t.loop_budget;
    }
    int64_t per_index = hi / 2;
    static const int64_t fits[][2] = {{110, 64}, {40, 32}, {64, 64}, {127, 64}, {1, 1}};
    for (size_t i = 0; i < sizeof fits / sizeof *fits; i++) {
        t.loop_budget = fits[i][0] * per_index;
        assert_int_equal(gemm_reduce_slice_len(&dw, &t), fits[i][1]);
    }
}

/* The tiles a GPU's split products are checked with: the device's own
 * (its default when it runs the panel family) and two that divide
 * nothing. */
static int split_tiles(gemm_tiles *out)
{
    codegen_target target;
    exec_target(&tf_env()->dev, &target);
    out[0] = gemm_tiled(&target.gemm_tiles) ? target.gemm_tiles
                                            : gemm_tiles_default(&target.profile);
    out[1] = (gemm_tiles){3, 5, 2, 4, 7, false};
    out[2] = (gemm_tiles){4, 8, 8, 1, 5, false};
    return 3;
}

/* Plain products on a GPU (lane_groups, here a GPU of 512 compute units)
 * with fewer tiled work-groups than it wants, split into chunks of K as a
 * product summed over them: every transpose, C's old value added, the
 * epilogue and the tile passes run once, on the sum; the MLP's output
 * layer (128x10x1024, its bias and relu) and its weight gradient
 * (1024x10x128 TN) among them. K is a whole number of chunks of the
 * tiles' depth (1024 and 128 with the default tiles), or 3 (k + 1): three
 * chunks of k + 1, each ending in the tiles' loop over a remainder. */
static void test_split_k(void **state)
{
    (void)state;
    gemm_tiles tiles[3];
    int n_tiles = split_tiles(tiles);
    static const struct {
        gemm_case c;
        int64_t chunks; /* 0: 3 (k + 1), chunks of k + 1 */
    } cases[] = {
        {{.M = 1024, .N = 10, .ta = true}, 8},
        {{.M = 128, .N = 10, .bias_relu = true}, 64},
        {{.M = 29, .N = 37, .tb = true, .accumulate = true, .pad = 3}, 5},
        {{.M = 13, .N = 21, .ta = true, .tb = true, .accumulate = true, .bias_relu = true},
         3},
        {{.M = 45, .N = 10, .tb = true, .bias_relu = true, .tiled = true}, 6},
        {{.M = 17, .N = 33, .ta = true, .accumulate = true, .bias_relu = true, .tiled = true},
         2},
        {{.M = 128, .N = 10, .bias_relu = true}, 0},
        {{.M = 29, .N = 37, .ta = true, .tb = true, .accumulate = true, .pad = 3}, 0},
    };
    for (int i = 0; i < n_tiles; i++) {
        gemm_tuning t = gemm_device_tuning();
        t.tiles = tiles[i];
        t.lane_groups = 1024;
        for (size_t j = 0; j < sizeof cases / sizeof *cases; j++) {
            gemm_case c = cases[j].c;
            c.K = cases[j].chunks ? cases[j].chunks * tiles[i].k : 3 * (tiles[i].k + 1);
            if (gemm_case_run(&c, &t) < 2)
                fail_msg("%lldx%lldx%lld, tiles k %d: not split", (long long)c.M,
                         (long long)c.N, (long long)c.K, tiles[i].k);
        }
    }
}

/* Which plain products split along K, and how: into chunks of the tiles'
 * depth, or of K's smallest divisor above it (1000 in 50 of 20), A and B
 * stepped one chunk per batch index in their layouts, as many slices as
 * the wanted work-groups need, fewer chunks to a slice than a loop budget
 * allows; not without a GPU's wish or the tiled family, nor a K of one
 * chunk or without such a divisor (a prime), nor a product with
 * work-groups enough, a batch, or statements before it. */
static void test_split_k_choice(void **state)
{
    (void)state;
    gemm_tuning t;
    gemm_tuning_default(&t, false, 8);
    t.tiles = (gemm_tiles){8, 8, 8, 8, 16, false};
    t.lane_groups = 128;
    const gemm_spec fwd = {.name = "g", .M = 128, .N = 10, .K = 1024, .a = "A", .b = "P",
                           .c = "G", .lda = 1024, .ldb = 10, .ldc = 10};
    gemm_spec s = fwd;
    gemm_choose_slices(&s, &t);
    assert_true(s.reduce_batch);
    assert_int_equal(s.K, 16);
    assert_int_equal(s.batch, 64);
    assert_int_equal(s.stride_a, 16);
    assert_int_equal(s.stride_b, 160);
    assert_int_equal(s.slice_len, 1);
    /* the weight gradient 1024x10x128 TN: 16 work-groups want 8 slices */
    gemm_spec dw = {.name = "g", .M = 1024, .N = 10, .K = 128, .trans_a = true, .a = "A",
                    .b = "P", .c = "G", .lda = 1024, .ldb = 10, .ldc = 10};
    gemm_choose_slices(&dw, &t);
    assert_int_equal(dw.stride_a, 16 * 1024);
    assert_int_equal(dw.stride_b, 160);
    assert_int_equal(gemm_slices(&dw), 8);
    gemm_spec nt = fwd;
    nt.trans_b = true;
    nt.ldb = 1024;
    gemm_choose_slices(&nt, &t);
    assert_int_equal(nt.stride_b, 16);
    /* 2 work-groups of 4 wanted: 2 slices of 32 chunks, or of 4 under a
     * budget of 100 loops (21 a chunk) */
    gemm_tuning few = t;
    few.lane_groups = 4;
    s = fwd;
    gemm_choose_slices(&s, &few);
    assert_int_equal(s.slice_len, 32);
    few.loop_budget = 100;
    s = fwd;
    gemm_choose_slices(&s, &few);
    assert_int_equal(s.slice_len, 4);
    gemm_tuning unsplit[3] = {t, t, t};
    unsplit[0].lane_groups = 0;
    unsplit[1].tiles = (gemm_tiles){0};
    unsplit[2].lane_groups = 2;
    for (int i = 0; i < 3; i++) {
        s = fwd;
        gemm_choose_slices(&s, &unsplit[i]);
        assert_int_equal(s.slice_len, 0);
        assert_int_equal(s.K, 1024);
    }
    gemm_spec ragged = fwd;
    ragged.K = 1000;
    gemm_choose_slices(&ragged, &t);
    assert_int_equal(ragged.K, 20);
    assert_int_equal(ragged.batch, 50);
    assert_int_equal(ragged.stride_a, 20);
    assert_int_equal(ragged.stride_b, 200);
    gemm_spec whole[4] = {fwd, fwd, fwd, fwd};
    whole[0].K = 16;
    whole[1].K = 1009;
    whole[2].batch = 3;
    whole[2].stride_a = 128 * 1024;
    whole[3].before = "gm_bat;";
    for (int i = 0; i < 4; i++) {
        gemm_spec w = whole[i];
        gemm_choose_slices(&w, &t);
        assert_int_equal(w.slice_len, 0);
        assert_int_equal(w.K, whole[i].K);
    }
}

/* Tunings other than this device's default: the non-CPU default, width-1
 * and width-16 vectors, tiny blocks that make many work-groups. */
static void test_other_tunings(void **state)
{
    (void)state;
    gemm_tuning tunings[4];
    gemm_tuning_default(&tunings[0], false, 1);
    tunings[1] = (gemm_tuning){.vec = 1, .mr = 3, .nv = 5, .bm = 6, .bn = 10, .kc = 7,
                               .min_groups = 1};
    tunings[2] = (gemm_tuning){.vec = 16, .mr = 2, .nv = 1, .bm = 4, .bn = 32, .kc = 100,
                               .min_groups = 3};
    tunings[3] = (gemm_tuning){.vec = 4, .mr = 5, .nv = 2, .bm = 5, .bn = 8, .kc = 16,
                               .min_groups = 64};
    /* B transposed (the transposing pack) and A transposed or both (k-major
     * A, transposed stores); plain NN runs in every other test. */
    for (int i = 0; i < 4; i++) {
        gemm_case nt = {.M = 23, .N = 41, .K = 57, .tb = true, .bias_relu = true};
        gemm_case_run(&nt, &tunings[i]);
        gemm_case tx = {.M = 23, .N = 41, .K = 57, .ta = true, .tb = i % 2,
                        .accumulate = true};
        gemm_case_run(&tx, &tunings[i]);
    }
}

/* The tiled family on any device, with tiles that divide nothing (the
 * copies' last shares run past the tile), one work-item of one element,
 * the direct variant's vectors along every operand's adjacent dimension
 * (whole, clamped past the grid's edge, element by element where they
 * straddle it) and its steps of K with a remainder, and the candidates
 * selection measures: every transpose at ragged sizes, batches,
 * reductions (sliced for a loop budget), accumulation, the epilogue and
 * tile passes. */
static void test_tiled_family(void **state)
{
    (void)state;
    gemm_tiles tiles[6 + MAX_TILE_CANDIDATES] = {
        {3, 5, 2, 4, 7, false}, {1, 1, 1, 1, 1, false}, {4, 8, 8, 1, 5, false},
        {3, 5, 2, 4, 8, true},  {1, 1, 1, 1, 1, true},  {2, 4, 4, 2, 4, true}};
    codegen_target target;
    exec_target(&tf_env()->dev, &target);
    int n = 6 + gemm_tiles_candidates(&target.profile, tiles + 6, MAX_TILE_CANDIDATES);
    gemm_case cases[] = {
        {.M = 17, .N = 33, .K = 65, .bias_relu = true},
        {.M = 17, .N = 33, .K = 65, .ta = true, .accumulate = true, .pad = 1},
        {.M = 45, .N = 10, .K = 70, .tb = true, .bias_relu = true, .tiled = true},
        {.M = 13, .N = 21, .K = 30, .ta = true, .tb = true, .bias_relu = true},
        {.M = 7, .N = 45, .K = 50, .tb = true, .batch = 5, .shared_a = true,
         .bias_relu = true, .tiled = true},
        {.M = 12, .N = 32, .K = 90, .ta = true, .batch = 3, .reduce = true,
         .bias_relu = true},
        {.M = 9, .N = 37, .K = 50, .batch = 11, .reduce = true, .pad = 2, .accumulate = true},
    };
    for (int i = 0; i < n; i++) {
        gemm_tuning t = gemm_device_tuning();
        t.tiles = tiles[i];
        for (size_t j = 0; j < sizeof cases / sizeof *cases; j++) {
            /* the last case again in slices of a loop budget */
            t.loop_budget = j + 1 == sizeof cases / sizeof *cases ? 600 : 0;
            gemm_case_run(&cases[j], &t);
        }
    }
}

/* Every default tuning generates (its panel fits 32 KiB of local memory). */
static void test_defaults_valid(void **state)
{
    (void)state;
    const gemm_spec s = {.name = "g", .M = 300, .N = 300, .K = 3000, .a = "A", .b = "P",
                         .c = "G", .lda = 3000, .ldb = 300, .ldc = 300};
    for (int cpu = 0; cpu < 2; cpu++)
        for (unsigned width = 0; width <= 32; width++) {
            gemm_tuning t;
            gemm_tuning_default(&t, cpu, width);
            strbuf src;
            sb_init(&src);
            plan_launch launch;
            qsdc_error err = {{0}};
            if (codegen_gemm(&src, &s, &t, &launch, &err))
                fail_msg("default tuning (cpu %d, width %u): %s", cpu, width, err.message);
            sb_free(&src);
        }
}

static void expect_failure(const gemm_spec *s, const gemm_tuning *t, const char *needle)
{
    strbuf src;
    sb_init(&src);
    plan_launch launch;
    qsdc_error err = {{0}};
    assert_int_equal(codegen_gemm(&src, s, t, &launch, &err), -1);
    if (!strstr(err.message, needle))
        fail_msg("error '%s' does not mention '%s'", err.message, needle);
    sb_free(&src);
}

static void test_rejects_bad_specs(void **state)
{
    (void)state;
    gemm_tuning t;
    gemm_tuning_default(&t, true, 8);
    const gemm_spec good = {.name = "g", .M = 4, .N = 4, .K = 4, .a = "A", .b = "P",
                            .c = "G", .lda = 4, .ldb = 4, .ldc = 4};
    gemm_spec s = good;
    s.name = "bad name";
    expect_failure(&s, &t, "identifier");
    s = good;
    s.K = 0;
    expect_failure(&s, &t, "positive");
    s = good;
    s.trans_a = true;
    s.M = 6;
    expect_failure(&s, &t, "lda=4");
    s = good;
    s.b = NULL;
    expect_failure(&s, &t, "pointer");
    s = good;
    s.ldc = 1LL << 31;
    expect_failure(&s, &t, "2^31");
    s = good;
    s.after = "gm_c[0] = 1.0f;";
    expect_failure(&s, &t, "batch of independent products");
    s.batch = 3;
    s.reduce_batch = true;
    expect_failure(&s, &t, "batch of independent products");
    gemm_tuning bad = t;
    bad.vec = 3;
    expect_failure(&good, &bad, "vector width");
    bad = t;
    bad.bm = t.mr + 1;
    expect_failure(&good, &bad, "multiple");
    bad = t;
    bad.kc = 0;
    expect_failure(&good, &bad, "K block");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_bad_specs),
        cmocka_unit_test(test_defaults_valid),
        cmocka_unit_test(test_transposes_odd_sizes),
        cmocka_unit_test(test_output_layer_shapes),
        cmocka_unit_test(test_narrow_shapes),
        cmocka_unit_test(test_narrow_swap_chosen),
        cmocka_unit_test(test_accumulate_padded_blocked),
        cmocka_unit_test(test_epilogue),
        cmocka_unit_test(test_tile_pass),
        cmocka_unit_test(test_tile_pass_rejected),
        cmocka_unit_test(test_batched),
        cmocka_unit_test(test_sliced_reduction),
        cmocka_unit_test(test_sliced_reduction_equal),
        cmocka_unit_test(test_split_k),
        cmocka_unit_test(test_split_k_choice),
        cmocka_unit_test(test_other_tunings),
        cmocka_unit_test(test_tiled_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
