/* Generated GEMM kernels against a plain C reference (double accumulation)
 * on the default device: all four transpose combinations, odd sizes, K
 * blocking, accumulate, offsets and padded strides, an epilogue (alone or
 * reading values a tile pass computed before it), and several tunings (including the non-CPU default and width-1 vectors).
 *
 * Error bound per element, from the standard dot-product bound with unit
 * roundoff u = 2^-24: the kernel forms K fused multiply-adds, then (at most)
 * adds C's old value and a bias, so K + 2 roundings and
 *   |got - ref| <= gamma(K+2) * (sum_k |a_ik b_kj| + |c_ij| + |bias_j|),
 *   gamma(n) = n u / (1 - n u).
 * relu is 1-Lipschitz and does not enlarge it. Elements of the C buffer
 * outside the matrix (padding columns, guard cells) must stay unchanged.
 * Batched cases sum over the batch too when reduced: K times the batch
 * count products then. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "cl_fixture.h"
#include "codegen_gemm.h"
#include "executor.h"
#include "support.h"

typedef struct gemm_case {
    int64_t M, N, K;
    bool ta, tb, accumulate, bias_relu;
    bool tiled;    /* the epilogue's bias and batch term come from a tile pass */
    int64_t pad;   /* extra elements in every row stride */
    int64_t batch; /* 0: one product */
    bool shared_a, shared_b, reduce; /* stride 0 for A or B; C = sum over batch */
} gemm_case;

/* Where the case's matrices live: A in the arena, B and the bias in P, C in
 * G, each at an odd offset. */
enum { A_OFF = 37, B_OFF = 5, C_OFF = 11, GUARD = 19 };

static float mat_a(const float *a, const gemm_case *c, int64_t lda, int64_t i, int64_t k)
{
    return c->ta ? a[k * lda + i] : a[i * lda + k];
}

static float mat_b(const float *b, const gemm_case *c, int64_t ldb, int64_t k, int64_t j)
{
    return c->tb ? b[j * ldb + k] : b[k * ldb + j];
}

static cl_mem make_buffer(cl_env *env, float *host, size_t n)
{
    cl_int rc;
    cl_mem m = clCreateBuffer(env->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              n * sizeof(float), host, &rc);
    assert_int_equal(rc, CL_SUCCESS);
    return m;
}

/* The spec of case c, its strings written into the buffers given. */
static void make_spec(const gemm_case *c, int64_t lda, int64_t ldb,
                      int64_t ldc, int64_t sa, int64_t sb, int64_t sc, int64_t bias_off,
                      char *ptr_a, char *ptr_b, char *ptr_c, char *epilogue, char *tile_fix,
                      gemm_spec *spec)
{
    int64_t N = c->N;
    snprintf(ptr_a, 32, "(A + %d)", A_OFF);
    snprintf(ptr_b, 32, "(P + %d)", B_OFF);
    snprintf(ptr_c, 32, "(G + %d)", C_OFF);
    if (c->tiled) {
        /* the fix loop replaces the first loop's placeholder; columns past
         * N on edge tiles must not read past the bias */
        snprintf(tile_fix, 128,
                 "if (gm_tile[1][gm_e] < 0.0f) gm_tile[1][gm_e] = P[%lldu + min(col, %lldu)];",
                 (long long)bias_off, (long long)N - 1);
        snprintf(epilogue, 128,
                 "v += gm_tile[1][gm_e] + gm_tile[0][gm_e]; v = fmax(v, 0.0f);");
    } else {
        snprintf(epilogue, 128,
                 "v += P[%lldu + col] + 0.25f * (float)bat; v = fmax(v, 0.0f);",
                 (long long)bias_off);
    }
    *spec = (gemm_spec){.name = "gemm_case", .M = c->M, .N = N, .K = c->K, .trans_a = c->ta,
                      .trans_b = c->tb, .a = ptr_a, .b = ptr_b, .c = ptr_c,
                      .lda = lda, .ldb = ldb, .ldc = ldc, .accumulate = c->accumulate,
                      .batch = c->batch, .stride_a = sa, .stride_b = sb, .stride_c = sc,
                      .reduce_batch = c->reduce,
                      .epilogue = c->bias_relu ? epilogue : NULL,
                      .tile_pass = c->tiled ? "gm_tile[0][gm_e] = 0.25f * (float)bat;"
                                              " gm_tile[1][gm_e] = -1.0f;" : NULL,
                      .tile_fix = c->tiled ? tile_fix : NULL, .tile_values = 2};
}

/* Runs case c under t, sliced as gemm_choose_slices says; returns the
 * slices (1: one piece). */
static int64_t run_case(const gemm_case *c, const gemm_tuning *t)
{
    cl_env *env = tf_env();
    int64_t M = c->M, N = c->N, K = c->K;
    int64_t lda = (c->ta ? M : K) + c->pad, ldb = (c->tb ? K : N) + c->pad, ldc = N + c->pad;
    int64_t a_rows = c->ta ? K : M, b_rows = c->tb ? N : K;
    /* batch strides leave a gap after each matrix */
    int64_t nb = c->batch > 1 ? c->batch : 1, nc = c->reduce ? 1 : nb;
    int64_t sa = c->shared_a ? 0 : a_rows * lda + 3, sb = c->shared_b ? 0 : b_rows * ldb + 2;
    int64_t sc = c->reduce ? 0 : M * ldc + 1;
    /* a sliced product keeps its partials after A's data */
    int64_t partials_off = A_OFF + (nb - 1) * sa + a_rows * lda + GUARD;
    char ptr_partials[32];
    snprintf(ptr_partials, sizeof ptr_partials, "(A + %lld)", (long long)partials_off);
    size_t np = (size_t)(B_OFF + (nb - 1) * sb + b_rows * ldb + N + GUARD);
    size_t ng = (size_t)(C_OFF + (nc - 1) * sc + M * ldc + GUARD);
    int64_t bias_off = B_OFF + (nb - 1) * sb + b_rows * ldb;
    char ptr_a[32], ptr_b[32], ptr_c[32], epilogue[128], tile_fix[128];
    gemm_spec spec;
    make_spec(c, lda, ldb, ldc, sa, sb, sc, bias_off, ptr_a, ptr_b, ptr_c, epilogue,
              tile_fix, &spec);
    gemm_choose_slices(&spec, t);
    spec.partials = spec.slice_len > 0 ? ptr_partials : NULL;
    size_t na = (size_t)(partials_off + gemm_slices(&spec) * gemm_partial_span(&spec));
    float *ha = malloc(na * sizeof(float)), *hp = malloc(np * sizeof(float));
    float *hg = malloc(ng * sizeof(float)), *out = malloc(ng * sizeof(float));
    assert_non_null(ha);
    assert_non_null(hp);
    assert_non_null(hg);
    assert_non_null(out);
    ts_fill_uniform(ha, na, 1, -1.0f, 1.0f);
    ts_fill_uniform(hp, np, 2, -1.0f, 1.0f);
    ts_fill_uniform(hg, ng, 3, -1.0f, 1.0f);

    strbuf src;
    sb_init(&src);
    plan_launch launches[2];
    int n_launches = spec.slice_len > 0 ? 2 : 1;
    qsdc_error err = {{0}};
    if (codegen_gemm(&src, &spec, t, &launches[0], &err) ||
        (n_launches == 2 && codegen_gemm_slice_sum(&src, &spec, &launches[1], &err)))
        fail_msg("codegen_gemm: %s", err.message);
    assert_string_equal(launches[0].kernel, "gemm_case");
    assert_true(launches[0].flops == 2.0 * (double)M * (double)N * (double)K * (double)nb);

    cl_mem bp = make_buffer(env, hp, np), bg = make_buffer(env, hg, ng);
    cl_mem ba = make_buffer(env, ha, na), bs = make_buffer(env, hg, 1);
    int32_t labels[1] = {0};
    cl_int rc;
    cl_mem bl = clCreateBuffer(env->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                               sizeof labels, labels, &rc);
    assert_int_equal(rc, CL_SUCCESS);
    cl_mem args[5] = {bp, bg, bs, ba, bl};
    cl_kernel kernels[2] = {NULL, NULL};
    for (int l = 0; l < n_launches; l++) {
        const plan_launch *launch = &launches[l];
        cl_kernel k = kernels[l] = tf_kernel(sb_str(&src), launch->kernel);
        for (cl_uint i = 0; i < 5; i++)
            assert_int_equal(clSetKernelArg(k, i, sizeof(cl_mem), &args[i]), CL_SUCCESS);
        cl_uint seed = 1, step = 0;
        float lr = 0.0f;
        assert_int_equal(clSetKernelArg(k, 5, sizeof seed, &seed), CL_SUCCESS);
        assert_int_equal(clSetKernelArg(k, 6, sizeof step, &step), CL_SUCCESS);
        assert_int_equal(clSetKernelArg(k, 7, sizeof lr, &lr), CL_SUCCESS);
        assert_int_equal(clSetKernelArg(k, 8, sizeof step, &step), CL_SUCCESS);
        size_t global[3], local[3];
        for (int d = 0; d < 3; d++) {
            local[d] = (size_t)(launch->local[d] ? launch->local[d] : 1);
            global[d] = (size_t)(launch->global[d] ? launch->global[d] : 1);
        }
        assert_int_equal(clEnqueueNDRangeKernel(env->queue, k, (cl_uint)launch->work_dim,
                                                NULL, global,
                                                launch->local[0] ? local : NULL, 0, NULL,
                                                NULL),
                         CL_SUCCESS);
    }
    sb_free(&src);
    assert_int_equal(clEnqueueReadBuffer(env->queue, bg, CL_TRUE, 0, ng * sizeof(float),
                                         out, 0, NULL, NULL), CL_SUCCESS);

    const float *bias = hp + bias_off;
    const double u = ldexp(1.0, -24), n_round = (double)(K * (nb / nc)) + 2.0;
    const double gamma = n_round * u / (1.0 - n_round * u);
    for (int64_t x = 0; x < (int64_t)ng; x++) {
        int64_t rel = x - C_OFF, bat = sc ? rel / sc : 0, in_c = sc ? rel % sc : rel;
        int64_t i = in_c / ldc, j = in_c % ldc;
        bool inside = rel >= 0 && bat < nc && i < M && j < N;
        if (!inside) {
            if (out[x] != hg[x])
                fail_msg("%lldx%lldx%lld: G[%lld] outside C changed from %g to %g",
                         (long long)M, (long long)N, (long long)K, (long long)x, hg[x],
                         out[x]);
            continue;
        }
        double ref = c->accumulate ? hg[x] : 0.0;
        double mag = fabs(ref);
        for (int64_t r = c->reduce ? 0 : bat; r < (c->reduce ? nb : bat + 1); r++) {
            const float *a = ha + A_OFF + r * sa, *b = hp + B_OFF + r * sb;
            for (int64_t kk = 0; kk < K; kk++) {
                double p = (double)mat_a(a, c, lda, i, kk) * (double)mat_b(b, c, ldb, kk, j);
                ref += p;
                mag += fabs(p);
            }
        }
        if (c->bias_relu) {
            ref = fmax(ref + bias[j] + 0.25 * (double)bat, 0.0);
            mag += fabs(bias[j]) + 0.25 * (double)bat;
        }
        double bound = gamma * mag;
        if (fabs(out[x] - ref) > bound)
            fail_msg("%lldx%lldx%lld ta=%d tb=%d acc=%d: C[%lld,%lld] = %.9g, "
                     "reference %.9g, bound %.3g", (long long)M, (long long)N,
                     (long long)K, c->ta, c->tb, c->accumulate, (long long)i, (long long)j,
                     out[x], ref, bound);
    }
    clReleaseMemObject(bp);
    clReleaseMemObject(bg);
    clReleaseMemObject(ba);
    clReleaseMemObject(bs);
    clReleaseMemObject(bl);
    for (int l = 0; l < n_launches; l++)
        clReleaseKernel(kernels[l]);
    free(ha);
    free(hp);
    free(hg);
    free(out);
    return gemm_slices(&spec);
}

/* The device's default tuning, in the family its target runs
 * (QSDC_GEMM=tiled or =panel forces one). */
static gemm_tuning device_default(void)
{
    cl_env *env = tf_env();
    gemm_tuning t;
    gemm_tuning_default(&t, env->dev.type & CL_DEVICE_TYPE_CPU, env->dev.pref_vector_float);
    codegen_target target;
    exec_target(&env->dev, &target);
    t.tiles = target.gemm_tiles;
    return t;
}

/* Every transpose combination at shapes with remainders in every tile
 * dimension, including ones smaller than one micro-tile. */
static void test_transposes_odd_sizes(void **state)
{
    (void)state;
    static const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 65}};
    gemm_tuning t = device_default();
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int tr = 0; tr < 4; tr++) {
            gemm_case c = {.M = shapes[s][0], .N = shapes[s][1], .K = shapes[s][2],
                           .ta = tr & 1, .tb = tr >> 1};
            run_case(&c, &t);
        }
}

/* The MLP's output layer and its weight gradient: N = 10, K past one block. */
static void test_output_layer_shapes(void **state)
{
    (void)state;
    gemm_tuning t = device_default();
    gemm_case fwd = {.M = 128, .N = 10, .K = 1024};
    run_case(&fwd, &t);
    gemm_case dw = {.M = 100, .N = 10, .K = 128, .ta = true};
    run_case(&dw, &t);
    gemm_case dx = {.M = 128, .N = 70, .K = 10, .tb = true};
    run_case(&dx, &t);
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
    gemm_tuning tunings[2] = {device_default(), device_default()};
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
            run_case(&cases[j], &tunings[i]);
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
    gemm_tuning t = device_default();
    t.kc = 48;
    for (int tr = 0; tr < 4; tr++) {
        gemm_case c = {.M = 29, .N = 37, .K = 131, .ta = tr & 1, .tb = tr >> 1,
                       .accumulate = true, .pad = 3};
        run_case(&c, &t);
    }
}

/* Bias + relu epilogue, plain and on top of accumulation, K blocked. */
static void test_epilogue(void **state)
{
    (void)state;
    gemm_tuning t = device_default();
    t.kc = 64;
    gemm_case plain = {.M = 45, .N = 50, .K = 200, .bias_relu = true, .pad = 1};
    run_case(&plain, &t);
    gemm_case acc = {.M = 45, .N = 50, .K = 200, .bias_relu = true, .accumulate = true,
                     .ta = true};
    run_case(&acc, &t);
    gemm_case tt = {.M = 13, .N = 21, .K = 30, .bias_relu = true, .ta = true, .tb = true};
    run_case(&tt, &t);
}

/* The epilogue reading values of a tile pass and its fix loop: edge tiles,
 * K blocks, accumulation, transposed C, batches (the passes see each batch
 * index). */
static void test_tile_pass(void **state)
{
    (void)state;
    gemm_tuning t = device_default();
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
        run_case(&cases[i], &t);
}

/* A tile pass needs an epilogue to read it and 1..GEMM_TILE_VALUES values;
 * a fix loop needs a tile pass. */
static void test_tile_pass_rejected(void **state)
{
    (void)state;
    gemm_tuning t = device_default();
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
    gemm_tuning t = device_default();
    t.kc = 40;
    for (int tr = 0; tr < 4; tr++) {
        gemm_case fwd = {.M = 7, .N = 45, .K = 50, .ta = tr & 1, .tb = tr >> 1, .batch = 5,
                         .shared_a = true, .bias_relu = true};
        run_case(&fwd, &t);
        gemm_case dw = {.M = 7, .N = 45, .K = 50, .ta = tr & 1, .tb = tr >> 1, .batch = 4,
                        .reduce = true, .pad = 2};
        run_case(&dw, &t);
        gemm_case both = {.M = 13, .N = 9, .K = 11, .ta = tr & 1, .tb = tr >> 1, .batch = 3,
                          .shared_b = true, .accumulate = true, .bias_relu = true};
        run_case(&both, &t);
    }
    gemm_case reduce_epilogue = {.M = 6, .N = 20, .K = 90, .batch = 3, .reduce = true,
                                 .bias_relu = true, .tb = true};
    run_case(&reduce_epilogue, &t);
}

/* Reduced products split into batch slices for a loop budget (devices
 * that cut long loops short): partial sums in scratch, then their sum,
 * which adds C's old value and runs the tile passes and the epilogue. */
static void test_sliced_reduction(void **state)
{
    (void)state;
    gemm_tuning t = device_default();
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
        assert_true(run_case(&dw, &t) > 1);
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
    out[1] = (gemm_tiles){3, 5, 2, 4, 7};
    out[2] = (gemm_tiles){4, 8, 8, 1, 5};
    return 3;
}

/* Plain products on a GPU (lane_groups, here a GPU of 512 compute units)
 * with fewer tiled work-groups than it wants, split into chunks of K as a
 * product summed over them: every transpose, C's old value added, the
 * epilogue and the tile passes run once, on the sum; the MLP's output
 * layer (128x10x1024, its bias and relu) and its weight gradient
 * (1024x10x128 TN) among them. K is a whole number of chunks of the
 * tiles' depth: 1024 and 128 with the default tiles. */
static void test_split_k(void **state)
{
    (void)state;
    gemm_tiles tiles[3];
    int n_tiles = split_tiles(tiles);
    static const struct {
        gemm_case c;
        int64_t chunks;
    } cases[] = {
        {{.M = 1024, .N = 10, .ta = true}, 8},
        {{.M = 128, .N = 10, .bias_relu = true}, 64},
        {{.M = 29, .N = 37, .tb = true, .accumulate = true, .pad = 3}, 5},
        {{.M = 13, .N = 21, .ta = true, .tb = true, .accumulate = true, .bias_relu = true},
         3},
        {{.M = 45, .N = 10, .tb = true, .bias_relu = true, .tiled = true}, 6},
        {{.M = 17, .N = 33, .ta = true, .accumulate = true, .bias_relu = true, .tiled = true},
         2},
    };
    for (int i = 0; i < n_tiles; i++) {
        gemm_tuning t = device_default();
        t.tiles = tiles[i];
        t.lane_groups = 1024;
        for (size_t j = 0; j < sizeof cases / sizeof *cases; j++) {
            gemm_case c = cases[j].c;
            c.K = cases[j].chunks * tiles[i].k;
            if (run_case(&c, &t) < 2)
                fail_msg("%lldx%lldx%lld, tiles k %d: not split", (long long)c.M,
                         (long long)c.N, (long long)c.K, tiles[i].k);
        }
    }
}

/* Which plain products split along K, and how: into chunks of the tiles'
 * depth, A and B stepped one chunk per batch index in their layouts, as
 * many slices as the wanted work-groups need, fewer chunks to a slice
 * than a loop budget allows; not without a GPU's wish or the tiled
 * family, nor a K of one chunk or not a whole number of them, nor a
 * product with work-groups enough, a batch, or statements before it. */
static void test_split_k_choice(void **state)
{
    (void)state;
    gemm_tuning t;
    gemm_tuning_default(&t, false, 8);
    t.tiles = (gemm_tiles){8, 8, 8, 8, 16};
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
    unsplit[1].tiles = (gemm_tiles){0, 0, 0, 0, 0};
    unsplit[2].lane_groups = 2;
    for (int i = 0; i < 3; i++) {
        s = fwd;
        gemm_choose_slices(&s, &unsplit[i]);
        assert_int_equal(s.slice_len, 0);
        assert_int_equal(s.K, 1024);
    }
    gemm_spec whole[4] = {fwd, fwd, fwd, fwd};
    whole[0].K = 16;
    whole[1].K = 1000;
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
        run_case(&nt, &tunings[i]);
        gemm_case tx = {.M = 23, .N = 41, .K = 57, .ta = true, .tb = i % 2,
                        .accumulate = true};
        run_case(&tx, &tunings[i]);
    }
}

/* The tiled family on any device, with tiles that divide nothing (the
 * copies' last shares run past the tile), one work-item of one element,
 * and the candidates selection measures: every transpose at ragged sizes,
 * batches, reductions (sliced for a loop budget), accumulation, the
 * epilogue and tile passes. */
static void test_tiled_family(void **state)
{
    (void)state;
    gemm_tiles tiles[8] = {{3, 5, 2, 4, 7}, {1, 1, 1, 1, 1}, {4, 8, 8, 1, 5}};
    codegen_target target;
    exec_target(&tf_env()->dev, &target);
    int n = 3 + gemm_tiles_candidates(&target.profile, tiles + 3, 5);
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
        gemm_tuning t = device_default();
        t.tiles = tiles[i];
        for (size_t j = 0; j < sizeof cases / sizeof *cases; j++) {
            /* the last case again in slices of a loop budget */
            t.loop_budget = j + 1 == sizeof cases / sizeof *cases ? 600 : 0;
            run_case(&cases[j], &t);
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
        cmocka_unit_test(test_split_k),
        cmocka_unit_test(test_split_k_choice),
        cmocka_unit_test(test_other_tunings),
        cmocka_unit_test(test_tiled_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
