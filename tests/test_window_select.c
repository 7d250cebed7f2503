/* The window kernels' spread on the lane family: a row or an element per
 * work-item, both measured once per device and layer shape, cached in a
 * per-device file that later runs read, and QSDC_WINDOW overriding it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cache_fixture.h"
#include "cl_fixture.h"
#include "codegen_int.h"
#include "device_tuner.h"
#include "executor.h"
#include "support.h"
#include "window_select.h"

/* At batch 1, so that no im2col joins its GEMM: a conv2d (the first layer:
 * an im2col, no col2im) and a max pool (the pool and its gradient). */
static const char cnn[] =
    "name: windows\ninput: {shape: [3, 8, 8]}\n"
    "layers:\n  - {op: conv2d, filters: 4, kernel: 3, padding: 1}\n  - relu\n"
    "  - {op: maxpool, kernel: 2}\n  - flatten\n  - {op: dense, units: 2}\n"
    "train: {optimizer: {type: sgd, lr: 0.1}}\n";
/* Its three window kernels: two layer shapes. */
static const window_shape shapes[3] = {
    {OP_IM2COL, 1, 3, 8, 8, {3, 3, 1, 1, 1, 1, 1, 1}},
    {OP_MAXPOOL, 1, 4, 8, 8, {2, 2, 2, 2, 0, 0, 1, 1}},
    {OP_MAXPOOL_GRAD, 1, 4, 8, 8, {2, 2, 2, 2, 0, 0, 1, 1}},
};

/* How many of the three kernels run a row per work-item on env. */
static int select_rows(cl_env *env, bool remeasure)
{
    qsdc_error err = {""};
    codegen_target t;
    exec_target(&env->dev, &t);
    bool rows[3];
    if (window_select(env, &t, shapes, 3, remeasure, NULL, rows, &err) < 0)
        fail_msg("%s", err.message);
    return rows[0] + rows[1] + rows[2];
}

/* A cache line: one of the two layer shapes, each kernel measured both
 * ways. How many of its kernels in the selection ran faster as rows: the
 * pool's two, the im2col's forward alone. */
static int check_line(const char *line)
{
    char op[16];
    long long b, c, h, w;
    int k[8];
    double ms[4];
    assert_int_equal(sscanf(line, "%15s %lld %lld %lld %lld %d %d %d %d %d %d %d %d %lf %lf %lf "
                                  "%lf", op, &b, &c, &h, &w, &k[0], &k[1], &k[2], &k[3], &k[4],
                            &k[5], &k[6], &k[7], &ms[0], &ms[1], &ms[2], &ms[3]),
                     17);
    bool pool = !strcmp(op, "maxpool");
    assert_true(pool || !strcmp(op, "im2col"));
    assert_int_equal(b, 1);
    assert_int_equal(c, pool ? 4 : 3);
    assert_int_equal(k[0], pool ? 2 : 3);
    for (int i = 0; i < 4; i++)
        assert_true(ms[i] > 0);
    return (ms[0] < ms[1]) + (pool && ms[2] < ms[3]);
}

static const cf_selector selector = {
    .force_var = "QSDC_WINDOW", .yaml = cnn, .name = "window", .what = "window kernels",
    .select = select_rows, .shapes = 3, .lines = 2, .check_line = check_line,
    .one_way = "{ $14 = $16 = 1; $15 = $17 = 1000; print }",
    .other_way = "{ $14 = $16 = 1000; $15 = $17 = 1; print }", .forced_one = "rows",
    .forced_other = "lanes"};

/* How many of the plan's kernels are window kernels an element per
 * work-item. */
static int lane_kernels(const plan *p)
{
    int n = 0;
    for (const char *at = strstr(p->source, "r0 = get_global_id(1)"); at;
         at = strstr(at + 1, "r0 = get_global_id(1)"))
        n++;
    return n;
}

/* Checks the work-groups of p's window launches: on the lane family whole
 * rows of global[0] and a divisor of global[1], at most the lane items,
 * and all of global[1] where that fits (the 8 x 8 maps); on the panel
 * family the device's own choice. */
static void check_window_groups(const plan *p, bool lanes_family)
{
    codegen_target t;
    exec_target(&tf_env()->dev, &t);
    int windows = 0;
    for (int i = 0; i < p->n_launches; i++) {
        const plan_launch *l = &p->launches[i];
        if (!strstr(l->nodes, "im2col") && !strstr(l->nodes, "maxpool"))
            continue;
        windows++;
        if (!lanes_family) {
            assert_int_equal(l->local[0], 0);
            continue;
        }
        assert_int_equal(l->local[0], l->global[0]);
        assert_int_equal(l->local[2], 1);
        assert_int_equal(l->global[1] % l->local[1], 0);
        uint64_t items = (uint64_t)codegen_lane_items(&t);
        assert_true(l->local[0] * l->local[1] <= items);
        if (l->global[0] * l->global[1] <= items)
            assert_int_equal(l->local[1], l->global[1]);
    }
    assert_int_equal(windows, 3);
}

/* compile_for_device on the lane family (the tiled GEMMs forced) builds
 * what the cache chose for the three window kernels, in work-groups of
 * whole rows; on the panel family nothing is asked and every one runs a
 * row per work-item. */
static void test_compiles_the_choice(void **state)
{
    (void)state;
    int lanes[3];
    for (int run = 0; run < 3; run++) {
        ts_setenv("QSDC_GEMM", run < 2 ? "tiled" : "panel");
        cf_rewrite(run == 0 ? selector.one_way : selector.other_way);
        qsdc_error err = {""};
        plan p;
        if (compile_for_device(tf_env(), cf_model(), MODE_TRAIN, 1, false, NULL, &p, &err) < 0)
            fail_msg("%s", err.message);
        lanes[run] = lane_kernels(&p);
        check_window_groups(&p, run < 2);
        plan_free(&p);
    }
    assert_int_equal(lanes[0], 0);
    assert_int_equal(lanes[1], 3);
    assert_int_equal(lanes[2], 0);
}

/* QSDC_WINDOW makes the target itself say rows or lanes, so nothing is
 * asked. */
static void test_overrides_in_the_target(void **state)
{
    (void)state;
    codegen_target t;
    ts_setenv("QSDC_WINDOW", "rows");
    exec_target(&tf_env()->dev, &t);
    assert_int_equal(t.windows, WINDOWS_ROWS);
    ts_setenv("QSDC_WINDOW", "lanes");
    exec_target(&tf_env()->dev, &t);
    assert_int_equal(t.windows, WINDOWS_LANES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cf_test_measures_and_caches),
        cmocka_unit_test(cf_test_reads_the_cache),
        cmocka_unit_test_teardown(test_compiles_the_choice, ts_restore_env),
        cmocka_unit_test_teardown(cf_test_overrides, ts_restore_env),
        cmocka_unit_test_teardown(test_overrides_in_the_target, ts_restore_env),
    };
    cf_suite(&selector);
    return cmocka_run_group_tests(tests, cf_setup, cf_teardown);
}
