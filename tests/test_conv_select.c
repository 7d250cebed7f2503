/* The conv2d algorithm choice: both ways measured once per device, layer
 * shape and batch, cached in a per-device file that later runs read, the
 * criterion depending on the plan's mode, and QSDC_CONV overriding it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cache_fixture.h"
#include "cl_fixture.h"
#include "compile_tuner.h"
#include "conv_direct.h"
#include "conv_select.h"
#include "device_tuner.h"
#include "executor.h"
#include "support.h"

static const char cnn[] =
    "name: cnn\ninput: {shape: [2, 12, 12]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 8, kernel: 3, padding: same}\n"
    "  - relu\n"
    "  - {op: maxpool, kernel: 2}\n"
    "  - {op: conv2d, filters: 4, kernel: 3, stride: 2}\n"
    "  - relu\n"
    "  - flatten\n"
    "  - {op: dense, units: 3}\n";

/* How many of the model's 2 conv2d layers run directly in a plan of mode
 * at batch on env, the target's tuner tuner (NULL: none). */
static int select_with(cl_env *env, graph_mode mode, int64_t batch, bool remeasure,
                       const compile_tuner *tuner)
{
    qsdc_error err = {""};
    codegen_target t;
    exec_target(&env->dev, &t);
    t.tuner = tuner;
    graph g;
    int nodes[CONV_MAX_LAYERS];
    conv_shape shapes[CONV_MAX_LAYERS];
    bool direct[CONV_MAX_LAYERS];
    if (graph_lower(cf_model(), mode, batch, &g, &err) < 0)
        fail_msg("%s", err.message);
    int n = graph_conv_layers(&g, nodes, shapes, CONV_MAX_LAYERS);
    graph_free(&g);
    assert_int_equal(n, 2);
    if (conv_select(env, &t, mode, batch, shapes, n, remeasure, NULL, direct, &err) < 0)
        fail_msg("%s", err.message);
    int chosen = 0;
    for (int i = 0; i < n; i++)
        chosen += direct[i];
    return chosen;
}

/* How many layers run directly in a plan of mode on env, at batch 4. */
static int select_direct(cl_env *env, graph_mode mode, bool remeasure)
{
    return select_with(env, mode, 4, remeasure, NULL);
}

/* For a training plan. */
static int select_training(cl_env *env, bool remeasure)
{
    return select_direct(env, MODE_TRAIN, remeasure);
}

/* A cache line: at batch 4 fusion joins each im2col to its GEMM, whose
 * launch then carries the whole time (im2col 0). Whether the direct
 * kernel was faster. */
static int check_line(const char *line)
{
    long long v[5];
    int k[8];
    double direct, im2col, gemm;
    assert_int_equal(sscanf(line, "%lld %lld %lld %lld %lld %d %d %d %d %d %d %d %d %lf %lf %lf",
                            &v[0], &v[1], &v[2], &v[3], &v[4], &k[0], &k[1], &k[2], &k[3],
                            &k[4], &k[5], &k[6], &k[7], &direct, &im2col, &gemm),
                     16);
    assert_int_equal(v[0], 4);
    assert_true(direct > 0 && im2col == 0 && gemm > 0);
    return direct < gemm;
}

static const cf_selector selector = {
    .force_var = "QSDC_CONV", .yaml = cnn, .name = "conv", .what = "conv2d kernels",
    .select = select_training, .shapes = 2, .lines = 2, .check_line = check_line,
    .one_way = "{ $14 = 1; $15 = 1000; $16 = 1000; print }",
    .other_way = "{ $14 = 1000000; $15 = 1; $16 = 1; print }", .forced_one = "direct",
    .forced_other = "gemm"};

/* Cached times are used by the mode's criterion: training compares the
 * direct kernel with the GEMM alone (its backward redoes the im2col),
 * inference with im2col + GEMM. */
static void test_mode_criterion(void **state)
{
    (void)state;
    cf_rewrite("{ $14 = 5; $15 = 3; $16 = 4; print }");
    assert_int_equal(select_direct(tf_env(), MODE_TRAIN, false), 0);
    assert_int_equal(select_direct(tf_env(), MODE_INFER, false), 2);
}

/* compile_for_device builds what the cache chose: one direct kernel per
 * layer. */
static void test_compiles_the_choice(void **state)
{
    (void)state;
    cf_rewrite(selector.one_way);
    qsdc_error err = {""};
    plan p;
    if (compile_for_device(tf_env(), cf_model(), MODE_TRAIN, 4, false, NULL, &p, &err) < 0)
        fail_msg("%s", err.message);
    int direct = 0;
    for (int i = 0; i < p.n_launches; i++)
        direct += strncmp(p.launches[i].nodes, "conv2d", 6) == 0;
    assert_int_equal(direct, 2);
    plan_free(&p);
}

/* The gemm way is measured with the GEMMs the tuner picks, as the model's
 * plan will run them: measured with an untuned target's GEMM family, rusticl
 * on llvmpipe timed the CNN's second layer's product at 8.3 s where its
 * tiled pick takes 0.32 s, and chose the slower direct kernel. */
static int gemm_questions;

static int count_gemms(void *ctx, const plan *sizes, const plan_gemm *shapes, int n,
                       gemm_pick *picks, qsdc_error *err)
{
    (void)ctx, (void)sizes, (void)err;
    gemm_questions += n > 0;
    for (int i = 0; i < n; i++)
        picks[i] = (gemm_pick){.shape = shapes[i]};
    return 0;
}

static void test_gemm_way_asks_the_tuner(void **state)
{
    (void)state;
    const compile_tuner tuner = {.gemms = count_gemms};
    gemm_questions = 0;
    /* batch 3: shapes no other test measured, so both are measured here */
    select_with(tf_env(), MODE_INFER, 3, false, &tuner);
    /* each layer's gemm-way plan asked about its GEMM; the direct plans
     * have none to ask about */
    assert_int_equal(gemm_questions, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cf_test_measures_and_caches),
        cmocka_unit_test(cf_test_reads_the_cache),
        cmocka_unit_test(test_mode_criterion),
        cmocka_unit_test(test_compiles_the_choice),
        cmocka_unit_test(test_gemm_way_asks_the_tuner),
        cmocka_unit_test_teardown(cf_test_overrides, ts_restore_env),
    };
    cf_suite(&selector);
    return cmocka_run_group_tests(tests, cf_setup, cf_teardown);
}
