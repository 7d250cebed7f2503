/* The pipeline's device-specific choices (compile_tuner.h): compile_plan
 * asks its tuner once for the conv2d layers, the lstm recurrences, the
 * GEMMs and the window kernels, before it generates code, and the plan it
 * generates is what the tuner chose.
 * No device: the tuner here answers from a script. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bundle.h"
#include "bundle_verify.h"
#include "compile.h"
#include "compile_tuner.h"
#include "support.h"

static const char cnn[] =
    "name: cnn\ninput: {shape: [2, 12, 12]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 8, kernel: 3, padding: same}\n"
    "  - tanh\n"
    "  - {op: avgpool, kernel: 2}\n"
    "  - {op: conv2d, filters: 4, kernel: 3, stride: 2}\n"
    "  - relu\n"
    "  - flatten\n"
    "  - {op: dense, units: 16}\n"
    "  - relu\n"
    "  - {op: dense, units: 3}\n";

/* What the tuner was asked and how it answers. */
typedef struct script {
    int conv_calls, gemm_calls, lstm_calls, window_calls;
    int n_convs, n_gemms, n_lstms, n_windows;
    conv_shape convs[8];
    recur_shape lstms[4];
    window_shape windows[8];
    int64_t scalar_units; /* the lstm shapes of this many units answered scalar */
    bool pool_rows;       /* the pools' window kernels answered rows */
    uint32_t loop_limit;  /* the target's (a limit keeps im2col and col2im
                           * kernels of their own) */
    plan_gemm gemms[16];
    int64_t sized_params, sized_arena;
    int direct_layer;    /* the conv2d layer answered direct (-1: none) */
    int clblast_n;       /* the GEMMs of N columns are answered CLBlast (0: none) */
    int tiled_gemms;     /* the GEMMs answered tiled: all (1), the smallest (2), all but
                          * the largest (3), none (0) */
    double tiled_work, panel_work; /* m n k summed over the GEMMs answered so */
    bool fail;
} script;

static int answer_convs(void *ctx, graph_mode mode, int64_t batch, const conv_shape *shapes,
                        int n, bool *direct, qsdc_error *err)
{
    (void)mode, (void)err;
    script *s = ctx;
    assert_int_equal(batch, 4);
    s->conv_calls++;
    s->n_convs = n;
    for (int i = 0; i < n && i < 8; i++) {
        s->convs[i] = shapes[i];
        direct[i] = i == s->direct_layer;
    }
    return 0;
}

static int answer_lstms(void *ctx, const recur_shape *shapes, int n, bool *scalar,
                        qsdc_error *err)
{
    (void)err;
    script *s = ctx;
    s->lstm_calls++;
    s->n_lstms = n;
    for (int i = 0; i < n && i < 4; i++) {
        s->lstms[i] = shapes[i];
        scalar[i] = shapes[i].h == s->scalar_units;
    }
    return 0;
}

static int answer_windows(void *ctx, const window_shape *shapes, int n, bool *rows,
                          qsdc_error *err)
{
    (void)err;
    script *s = ctx;
    s->window_calls++;
    s->n_windows = n;
    for (int i = 0; i < n && i < 8; i++) {
        s->windows[i] = shapes[i];
        rows[i] = s->pool_rows && shapes[i].op != OP_IM2COL && shapes[i].op != OP_COL2IM;
    }
    return 0;
}

static int answer_gemms(void *ctx, const plan *sizes, const plan_gemm *shapes, int n,
                        gemm_pick *picks, qsdc_error *err)
{
    script *s = ctx;
    s->gemm_calls++;
    s->n_gemms = n;
    s->sized_params = sizes->param_elems;
    s->sized_arena = sizes->arena_elems;
    assert_int_equal(sizes->n_launches, 0);
    if (s->fail)
        return qsdc_fail(err, "the device is out of GEMMs");
    int smallest = 0, largest = 0;
    for (int i = 0; i < n && i < 16; i++) {
        double w = (double)shapes[i].m * shapes[i].n * shapes[i].k;
        if (w < (double)shapes[smallest].m * shapes[smallest].n * shapes[smallest].k)
            smallest = i;
        if (w > (double)shapes[largest].m * shapes[largest].n * shapes[largest].k)
            largest = i;
    }
    for (int i = 0; i < n && i < 16; i++) {
        s->gemms[i] = shapes[i];
        picks[i] = (gemm_pick){.shape = shapes[i], .clblast = shapes[i].n == s->clblast_n};
        bool tiled = s->tiled_gemms == 1 || (s->tiled_gemms == 2 && i == smallest) ||
                     (s->tiled_gemms == 3 && i != largest);
        if (tiled)
            picks[i].tiles = (gemm_tiles){4, 4, 2, 2, 8, false};
        if (!picks[i].clblast)
            *(tiled ? &s->tiled_work : &s->panel_work) +=
                (double)shapes[i].m * shapes[i].n * shapes[i].k;
    }
    return 0;
}

static void load_model(const char *yaml, model *m)
{
    qsdc_error err = {""};
    if (model_load_string("<test>", yaml, strlen(yaml), m, &err) < 0)
        fail_msg("%s", err.message);
}

static void compile_model(const char *yaml, script *s, graph_mode mode, plan *p,
                          int rc_expected)
{
    qsdc_error err = {""};
    model m;
    load_model(yaml, &m);
    codegen_target t;
    codegen_target_default(&t);
    t.loop_limit = s->loop_limit;
    const compile_tuner tuner = {.ctx = s, .convs = answer_convs, .lstms = answer_lstms,
                                 .gemms = answer_gemms, .windows = answer_windows};
    t.tuner = &tuner;
    int rc = compile_plan(&m, mode, 4, &t, p, NULL, NULL, &err);
    model_free(&m);
    if (rc != rc_expected)
        fail_msg("compile_plan returned %d: %s", rc, err.message);
    if (rc < 0)
        assert_string_equal(err.message, "the device is out of GEMMs");
}

static void compile_with(script *s, graph_mode mode, plan *p, int rc_expected)
{
    compile_model(cnn, s, mode, p, rc_expected);
}

static int count_launches(const plan *p, const char *nodes_prefix, int kind)
{
    int n = 0;
    for (int i = 0; i < p->n_launches; i++)
        n += nodes_prefix ? strncmp(p->launches[i].nodes, nodes_prefix,
                                    strlen(nodes_prefix)) == 0
                          : p->launches[i].kind == kind;
    return n;
}

/* One question each, with every conv2d layer and every generated GEMM (the
 * training pass: two dense products forward, their weight and input
 * gradients back, less the first layer's input gradient; and the conv
 * layers' per-sample products), and the plan holds what was answered. */
static void test_asks_once_and_generates_the_answers(void **state)
{
    (void)state;
    script s = {.direct_layer = 1, .clblast_n = 16}; /* the first dense layer's */
    plan p;
    compile_with(&s, MODE_TRAIN, &p, 0);
    assert_int_equal(s.conv_calls, 1);
    assert_int_equal(s.gemm_calls, 1);
    assert_int_equal(s.n_convs, 2);
    assert_int_equal(s.convs[0].c, 2);
    assert_int_equal(s.convs[0].co, 8);
    assert_int_equal(s.convs[1].c, 8);
    assert_int_equal(s.convs[1].co, 4);
    assert_int_equal(s.convs[1].win.sh, 2);
    /* and every per-sample product, with its samples, to be measured over
     * the batch (im2col may lead a launch's nodes) */
    int per_sample = 0, batched = 0;
    for (int i = 0; i < p.n_launches; i++)
        per_sample += strstr(p.launches[i].nodes, "bmatmul") != NULL;
    assert_int_equal(s.n_gemms, 6 + per_sample);
    for (int i = 0; i < s.n_gemms; i++) {
        assert_true(s.gemms[i].batch == 0 || s.gemms[i].batch == 4);
        batched += s.gemms[i].batch == 4;
    }
    assert_int_equal(batched, per_sample);
    assert_int_equal(s.sized_params, p.param_elems);
    assert_true(s.sized_arena > 0 && s.sized_arena <= p.arena_elems);
    /* layer 1 direct: its forward is one conv2d kernel, layer 0 stays
     * im2col + GEMM */
    assert_int_equal(count_launches(&p, "conv2d", 0), 1);
    assert_true(count_launches(&p, "im2col", 0) >= 1);
    /* the shapes answered CLBlast by CLBlast, every other one generated */
    int library = 0, generated = 0;
    for (int i = 0; i < p.n_launches; i++) {
        const plan_gemm *g = &p.launches[i].gemm;
        if (g->m <= 0)
            continue;
        bool same = g->n == s.clblast_n;
        assert_int_equal(p.launches[i].kind == LAUNCH_CLBLAST_GEMM, same);
        library += same;
        generated += !same;
    }
    assert_int_equal(library + generated, 6);
    assert_true(library >= 1 && generated >= 1);
    plan_free(&p);
}

/* Without a tuner nothing is asked: every conv2d is im2col + GEMM and
 * every GEMM generated. */
static void test_no_tuner_no_choices(void **state)
{
    (void)state;
    qsdc_error err = {""};
    model m;
    load_model(cnn, &m);
    codegen_target t;
    codegen_target_default(&t);
    plan p;
    if (compile_plan(&m, MODE_INFER, 4, &t, &p, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(count_launches(&p, "conv2d", 0), 0);
    assert_int_equal(count_launches(&p, NULL, LAUNCH_CLBLAST_GEMM), 0);
    plan_free(&p);
    model_free(&m);
}

/* Whether launch l's kernel is a tiled GEMM (its comment says so). */
static bool tiled_kernel(const plan *p, const plan_launch *l)
{
    char head[96];
    snprintf(head, sizeof head, "/* %s: C[", l->kernel);
    const char *at = strstr(p->source, head), *end = at ? strchr(at, '\n') : NULL;
    const char *tiled = at ? strstr(at, "; tiled:") : NULL;
    return tiled && tiled < end;
}

/* A device without a family (not a GPU, not forced) takes the tiled
 * family where the tuner picked it for at least twice the products' work
 * of the panel family: the plan records those tiles and the per-sample
 * products run tiled too; where it won only the smallest product, or every
 * product but the largest (more of the work, not twice), the panel family
 * stays, for the per-sample products whatever their picks. */
static void test_family_follows_the_picks(void **state)
{
    (void)state;
    bool seen[2] = {false, false};
    for (int mode = 1; mode <= 3; mode++) {
        script s = {.direct_layer = -1, .tiled_gemms = mode};
        plan p;
        compile_with(&s, MODE_TRAIN, &p, 0);
        bool lanes = s.tiled_work >= 2 * s.panel_work;
        seen[lanes] = true;
        int64_t want[5] = {4, 4, 2, 2, 8};
        for (int i = 0; i < 5; i++)
            assert_int_equal(p.target_gemm_tiles[i], lanes ? want[i] : 0);
        int per_sample = 0;
        for (int i = 0; i < p.n_launches; i++)
            if (!strcmp(p.launches[i].nodes, "bmatmul")) {
                assert_int_equal(tiled_kernel(&p, &p.launches[i]), lanes);
                per_sample++;
            }
        assert_true(per_sample >= 2);
        plan_free(&p);
        if (mode == 3 && !(s.tiled_work > s.panel_work && s.tiled_work < 2 * s.panel_work))
            fail_msg("all but the largest product tiled: %.3g of the work against the panel's "
                     "%.3g, not between half and two thirds of it as the margin's case needs",
                     s.tiled_work, s.panel_work);
    }
    assert_true(seen[0] && seen[1]);
}

static int occurrences(const char *text, const char *what)
{
    int n = 0;
    for (const char *at = strstr(text, what); at; at = strstr(at + 1, what))
        n++;
    return n;
}

/* The lstm recurrences are asked about once, each shape once in lowering
 * order (the two layers of 8 units share one), and a shape answered scalar
 * has both its kernels on scalar units (VT float) where it had vectors of
 * its 4 units, the other shape keeping its vectors of 8. */
static void test_lstm_shapes_follow_the_answers(void **state)
{
    (void)state;
    static const char lstms[] =
        "name: lstms\ninput: {shape: [5, 3]}\n"
        "layers:\n  - {op: lstm, units: 8}\n  - {op: lstm, units: 8}\n"
        "  - {op: lstm, units: 4, return: last}\n  - {op: dense, units: 2}\n"
        "train: {optimizer: {type: sgd, lr: 0.1}}\n";
    plan vec, scal;
    script s = {.direct_layer = -1};
    compile_model(lstms, &s, MODE_TRAIN, &vec, 0);
    assert_int_equal(s.lstm_calls, 1);
    assert_int_equal(s.n_lstms, 2);
    recur_shape want[2] = {{4, 5, 8}, {4, 5, 4}};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s.lstms[i].b, want[i].b);
        assert_int_equal(s.lstms[i].t, want[i].t);
        assert_int_equal(s.lstms[i].h, want[i].h);
    }
    script t = {.direct_layer = -1, .scalar_units = 4};
    compile_model(lstms, &t, MODE_TRAIN, &scal, 0);
    assert_int_equal(occurrences(vec.source, "#define VT float4\n"), 2);
    assert_int_equal(occurrences(scal.source, "#define VT float4\n"), 0);
    assert_int_equal(occurrences(scal.source, "#define VT float\n"),
                     occurrences(vec.source, "#define VT float\n") + 2);
    assert_int_equal(occurrences(scal.source, "#define VT float8\n"), 4);
    assert_int_equal(occurrences(vec.source, "#define VT float8\n"), 4);
    plan_free(&vec);
    plan_free(&scal);
}

/* The window kernels are asked about once, on the lane family alone (here
 * the GEMMs' picks make it), each shape once in graph order: the CNN's
 * im2cols, its pool, then the backward's col2im (the first layer has no
 * input gradient) and the pool's gradient; and the plan runs those answered
 * rows a row per work-item, the rest an element per work-item. */
static void test_window_shapes_follow_the_answers(void **state)
{
    (void)state;
    script panel = {.direct_layer = -1, .loop_limit = 65536};
    plan p;
    compile_with(&panel, MODE_TRAIN, &p, 0);
    assert_int_equal(panel.window_calls, 0);
    plan_free(&p);
    const op_kind want[5] = {OP_IM2COL, OP_AVGPOOL, OP_IM2COL, OP_COL2IM, OP_AVGPOOL_GRAD};
    const int64_t channels[5] = {2, 8, 8, 8, 8}, size[5] = {12, 12, 6, 6, 12};
    int lanes[2];
    for (int rows = 0; rows < 2; rows++) {
        script s = {.direct_layer = -1, .loop_limit = 65536, .tiled_gemms = 1,
                    .pool_rows = rows};
        compile_with(&s, MODE_TRAIN, &p, 0);
        assert_int_equal(s.window_calls, 1);
        assert_int_equal(s.n_windows, 5);
        for (int i = 0; i < 5; i++) {
            assert_int_equal(s.windows[i].op, want[i]);
            assert_int_equal(s.windows[i].n, 4);
            assert_int_equal(s.windows[i].c, channels[i]);
            assert_int_equal(s.windows[i].h, size[i]);
            assert_int_equal(s.windows[i].w, size[i]);
        }
        assert_int_equal(s.windows[2].win.sh, 2);
        assert_int_equal(s.windows[1].win.kh, 2);
        lanes[rows] = occurrences(p.source, "r0 = get_global_id(1)");
        plan_free(&p);
    }
    assert_int_equal(lanes[0], 5);
    assert_int_equal(lanes[1], 3);
}

/* yaml's training plan at batch for the tiled family with tiles, on a
 * GPU of 64 compute units or (gpu false) a CPU device (llvmpipe's compute
 * units are threads): the plan records the GPU's units, and a bundle of it
 * reads back as the plan the model compiles to. */
static void compile_on(const char *yaml, int64_t batch, gemm_tiles tiles, bool gpu, plan *p)
{
    qsdc_error err = {""};
    model m;
    load_model(yaml, &m);
    codegen_target t;
    codegen_target_default(&t);
    t.gemm_tiles = tiles;
    t.profile.compute_units = 64;
    t.profile.is_gpu = gpu;
    if (compile_plan(&m, MODE_TRAIN, batch, &t, p, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(p->target_compute_units, gpu ? 64 : 0);
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/%s%d", ts_tmpdir(), m.name, gpu);
    const plan *one = p;
    plan *back;
    int n_back;
    char path[1200];
    snprintf(path, sizeof path, "%s/plan.yaml", dir);
    if (bundle_write(dir, &one, 1, NULL, NULL, &err) < 0 ||
        plan_yaml_read(path, &back, &n_back, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(back[0].target_compute_units, gpu ? 64 : 0);
    if (bundle_verify_plan(dir, &m, &back[0], &err) < 0)
        fail_msg("%s", err.message);
    plan_yaml_free(back, n_back);
    model_free(&m);
}

/* Whether launch i sums the partials of the sliced product before it. */
static bool sums_slices(const plan *p, int i)
{
    size_t len = strlen(p->launches[i].kernel);
    return i > 0 && len > 4 && !strcmp(p->launches[i].kernel + len - 4, "_sum");
}

/* On a GPU's tiled family a conv2d weight gradient (a product summed over
 * the batch) with fewer work-groups than two per compute unit is split
 * over the batch, its slices summed by a second kernel; on a CPU device it
 * is not. */
static void test_reduced_products_fill_the_compute_units(void **state)
{
    (void)state;
    int sliced[2];
    for (int gpu = 0; gpu < 2; gpu++) {
        plan p;
        compile_on(cnn, 4, (gemm_tiles){4, 4, 2, 2, 8, false}, gpu, &p);
        sliced[gpu] = 0;
        for (int i = 0; i < p.n_launches; i++)
            if (sums_slices(&p, i) && strstr(p.launches[i - 1].nodes, "bmatmul")) {
                /* its product runs its 4 samples as slices */
                assert_int_equal(p.launches[i - 1].global[2], 4);
                sliced[gpu]++;
            }
        plan_free(&p);
    }
    assert_int_equal(sliced[0], 0);
    assert_int_equal(sliced[1], 2);
}

/* On a GPU's tiled family a plain product with fewer work-groups than two
 * per compute unit is split into chunks of K, each a slice of its own
 * while there are no more than the units want: the output layer's
 * 128x10x1024 (2 work-groups of 64x64, 64 chunks of 16, its bias and relu
 * in the sum) and its weight gradient 1024x10x128 TN (16 work-groups, 8
 * chunks); the other layer's 10x16x128 TN weight gradient too (8 chunks),
 * not its input gradient 128x10x16 (one chunk) nor the 128x16x10 forward
 * (K not a whole number of chunks). On a CPU device none is. */
static void test_plain_products_fill_the_compute_units(void **state)
{
    (void)state;
    static const char mlp[] =
        "name: mlp\ninput: {shape: [1024]}\n"
        "layers:\n  - {op: dense, units: 10}\n  - relu\n  - {op: dense, units: 16}\n";
    static const struct {
        int64_t m, n, k;
        int trans_a, slices;
    } want[] = {{128, 10, 1024, 0, 64}, {10, 16, 128, 1, 8}, {1024, 10, 128, 1, 8}};
    const int n_want = (int)(sizeof want / sizeof *want);
    for (int gpu = 0; gpu < 2; gpu++) {
        plan p;
        compile_on(mlp, 128, (gemm_tiles){8, 8, 8, 8, 16, false}, gpu, &p);
        int sliced = 0;
        for (int i = 0; i < p.n_launches; i++) {
            if (!sums_slices(&p, i))
                continue;
            const plan_launch *product = &p.launches[i - 1];
            const plan_gemm *g = &product->gemm;
            int w = 0;
            while (w < n_want && !(want[w].m == g->m && want[w].n == g->n &&
                                   want[w].k == g->k && want[w].trans_a == g->trans_a &&
                                   !g->trans_b))
                w++;
            if (w == n_want)
                fail_msg("%s (%lldx%lldx%lld) is split", product->kernel, (long long)g->m,
                         (long long)g->n, (long long)g->k);
            assert_int_equal(product->global[2], want[w].slices);
            sliced++;
        }
        assert_int_equal(sliced, gpu ? n_want : 0);
        plan_free(&p);
    }
}

/* A tuner's error ends the compilation with its message. */
static void test_tuner_error(void **state)
{
    (void)state;
    script s = {.direct_layer = -1, .fail = true};
    plan p;
    compile_with(&s, MODE_INFER, &p, -1);
    assert_int_equal(s.gemm_calls, 1);
    assert_null(p.launches);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_asks_once_and_generates_the_answers),
        cmocka_unit_test(test_no_tuner_no_choices),
        cmocka_unit_test(test_tuner_error),
        cmocka_unit_test(test_family_follows_the_picks),
        cmocka_unit_test(test_lstm_shapes_follow_the_answers),
        cmocka_unit_test(test_window_shapes_follow_the_answers),
        cmocka_unit_test(test_reduced_products_fill_the_compute_units),
        cmocka_unit_test(test_plain_products_fill_the_compute_units),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
