/* A GEMM case run on the test device against a plain C reference (double
 * accumulation).
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
#include "gemm_case.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "cl_fixture.h"
#include "executor.h"
#include "support.h"

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

int64_t gemm_case_run(const gemm_case *c, const gemm_tuning *t)
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

gemm_tuning gemm_device_tuning(void)
{
    cl_env *env = tf_env();
    gemm_tuning t;
    gemm_tuning_default(&t, env->dev.type & CL_DEVICE_TYPE_CPU, env->dev.pref_vector_float);
    codegen_target target;
    exec_target(&env->dev, &target);
    t.tiles = target.gemm_tiles;
    return t;
}
