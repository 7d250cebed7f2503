/* The compiled bundle: plan.yaml round-trips into equal plan records, the
 * directory is replaced whole, graph.dot draws the fused groups, and the
 * written kernels build on the device. Malformed plan files:
 * test_plan_yaml_errors.c. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bundle.h"
#include "bundle_fixture.h"
#include "bundle_verify.h"
#include "cl_fixture.h"
#include "compile.h"
#include "file_io.h"
#include "support.h"

static void assert_plans_equal(const plan *a, const plan *b)
{
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->source, b->source);
    assert_int_equal(a->batch, b->batch);
    assert_int_equal(a->param_elems, b->param_elems);
    assert_int_equal(a->grad_elems, b->grad_elems);
    assert_int_equal(a->state_elems, b->state_elems);
    assert_int_equal(a->arena_elems, b->arena_elems);
    assert_int_equal(a->label_elems, b->label_elems);
    assert_int_equal(a->input_offset, b->input_offset);
    assert_int_equal(a->input_elems, b->input_elems);
    assert_int_equal(a->output_offset, b->output_offset);
    assert_int_equal(a->output_elems, b->output_elems);
    assert_int_equal(a->loss_offset, b->loss_offset);
    assert_int_equal(a->nodes_before_fusion, b->nodes_before_fusion);
    assert_int_equal(a->kernels, b->kernels);
    assert_int_equal(a->arena_unplanned_elems, b->arena_unplanned_elems);
    assert_int_equal(a->arena_live_peak_elems, b->arena_live_peak_elems);
    assert_int_equal(a->n_tensors, b->n_tensors);
    for (int i = 0; i < a->n_tensors; i++) {
        const plan_tensor *x = &a->tensors[i], *y = &b->tensors[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->buffer, y->buffer);
        assert_int_equal(x->offset, y->offset);
        assert_int_equal(x->nelem, y->nelem);
        assert_int_equal(x->rank, y->rank);
        for (int d = 0; d < QSDC_MAX_RANK; d++)
            assert_int_equal(x->dims[d], y->dims[d]);
        assert_int_equal(x->init, y->init);
        assert_int_equal(x->fan_in, y->fan_in);
        assert_int_equal(x->fan_out, y->fan_out);
    }
    assert_int_equal(a->n_launches, b->n_launches);
    for (int i = 0; i < a->n_launches; i++) {
        const plan_launch *x = &a->launches[i], *y = &b->launches[i];
        assert_string_equal(x->kernel, y->kernel);
        assert_string_equal(x->nodes, y->nodes);
        assert_int_equal(x->work_dim, y->work_dim);
        for (int d = 0; d < 3; d++) {
            assert_int_equal(x->global[d], y->global[d]);
            assert_int_equal(x->local[d], y->local[d]);
        }
        /* the writer prints enough digits to read back the same double */
        assert_true(x->flops == y->flops);
        assert_true(x->bytes == y->bytes);
    }
}

/* The inference graph of make_plans: matmul, bias_add, relu fuse into one
 * GEMM kernel; softmax is its own. */
static void make_graph(graph *g, fusion *f)
{
    static const int64_t x[] = {4, 6}, w[] = {6, 3}, b[] = {3}, y[] = {4, 3};
    graph_init(g, MODE_INFER, 4);
    g->input = graph_add_tensor(g, "x", T_INPUT, 2, x);
    int tw = graph_add_tensor(g, "d1.weight", T_PARAM, 2, w);
    int tb = graph_add_tensor(g, "d1.bias", T_PARAM, 1, b);
    int h = graph_add_tensor(g, "d1.matmul", T_ACT, 2, y);
    int hb = graph_add_tensor(g, "d1", T_ACT, 2, y);
    int r = graph_add_tensor(g, "relu \"1\"", T_ACT, 2, y);
    g->output = graph_add_tensor(g, "out", T_ACT, 2, y);
    gnode nodes[] = {
        {.op = OP_MATMUL, .in = {g->input, tw}, .n_in = 2, .out = h},
        {.op = OP_BIAS_ADD, .in = {h, tb}, .n_in = 2, .out = hb},
        {.op = OP_RELU, .in = {hb}, .n_in = 1, .out = r},
        {.op = OP_SOFTMAX, .in = {r}, .n_in = 1, .out = g->output},
    };
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
        assert_true(graph_add_node(g, &nodes[i]) >= 0);
    g->n_forward = g->nn;
    qsdc_error err = {{0}};
    if (graph_fuse(g, true, f, &err))
        fail_msg("%s", err.message);
    assert_int_equal(f->n_groups, 2);
}

static char *slurp(const char *path)
{
    unsigned char *data;
    size_t len;
    qsdc_error err = {{0}};
    if (fs_read_file(path, &data, &len, &err))
        fail_msg("%s", err.message);
    return (char *)data;
}

static void write_bundle(const char *dir, plan *infer, plan *train, const graph *g,
                         const fusion *f)
{
    const plan *ps[2] = {infer, train};
    qsdc_error err = {{0}};
    if (bundle_write(dir, ps, train ? 2 : 1, g, f, &err))
        fail_msg("bundle_write: %s", err.message);
}

static void test_round_trip(void **state)
{
    (void)state;
    plan infer, train;
    make_plans(&infer, &train, 4);
    const char *dir = bundle_dir("rt");
    write_bundle(dir, &infer, &train, NULL, NULL);
    struct stat st;
    assert_int_equal(stat(path_in(dir, "kernels.cl"), &st), 0);
    assert_int_equal(stat(path_in(dir, "train.cl"), &st), 0);
    assert_int_not_equal(stat(path_in(dir, "graph.dot"), &st), 0); /* no graph given */

    plan *back;
    int n;
    qsdc_error err = {{0}};
    if (plan_yaml_read(path_in(dir, "plan.yaml"), &back, &n, &err))
        fail_msg("plan_yaml_read: %s", err.message);
    assert_int_equal(n, 2);
    assert_plans_equal(&infer, &back[0]);
    assert_plans_equal(&train, &back[1]);

    /* what was read writes the same text again */
    strbuf again;
    sb_init(&again);
    const plan *bp[2] = {&back[0], &back[1]};
    assert_int_equal(plan_yaml_write(&again, bp, 2, &err), 0);
    char *first = slurp(path_in(dir, "plan.yaml"));
    assert_string_equal(first, sb_str(&again));
    free(first);
    sb_free(&again);
    plan_yaml_free(back, n);
    plan_free(&infer);
    plan_free(&train);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_graph_dot(void **state)
{
    (void)state;
    plan infer, train;
    make_plans(&infer, &train, 4);
    graph g;
    fusion f;
    make_graph(&g, &f);
    const char *dir = bundle_dir("dot");
    write_bundle(dir, &infer, NULL, &g, &f);
    char *dot = slurp(path_in(dir, "graph.dot"));
    assert_non_null(strstr(dot, "digraph"));
    assert_int_equal(count(dot, "subgraph cluster_"), f.n_groups);
    assert_non_null(strstr(dot, "label=\"k0_matmul\""));
    assert_non_null(strstr(dot, "label=\"k1_softmax\""));
    assert_non_null(strstr(dot, "d1.weight\\n[6,3]"));
    assert_non_null(strstr(dot, "relu \\\"1\\\"\\n[4,3]")); /* quotes escaped */
    assert_int_equal(count(dot, "fillcolor=\"#f9cb9c\""), 2); /* the two parameters */
    assert_int_equal(count(dot, "{"), count(dot, "}"));
    free(dot);
    fusion_free(&f);
    graph_free(&g);
    plan_free(&infer);
    plan_free(&train);
}

/* Entries of dir whose names start with prefix. */
static int entries_with_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void test_overwrite(void **state)
{
    (void)state;
    const char *parent = bundle_dir("over/nested");
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/model.qsdc", parent);
    plan infer, train;
    make_plans(&infer, &train, 4);
    write_bundle(dir, &infer, &train, NULL, NULL);
    plan_free(&infer);
    plan_free(&train);

    make_plans(&infer, &train, 9);
    char slashed[1300];
    snprintf(slashed, sizeof slashed, "%s//", dir); /* trailing slashes are fine */
    write_bundle(slashed, &infer, NULL, NULL, NULL);
    plan *back;
    int n;
    qsdc_error err = {{0}};
    if (plan_yaml_read(path_in(dir, "plan.yaml"), &back, &n, &err))
        fail_msg("%s", err.message);
    assert_int_equal(n, 1);
    assert_plans_equal(&infer, &back[0]);
    plan_yaml_free(back, n);
    struct stat st;
    assert_int_not_equal(stat(path_in(dir, "train.cl"), &st), 0); /* the old one's */
    assert_int_equal(entries_with_prefix(parent, "model.qsdc"), 1);
    assert_int_equal(entries_with_prefix(dir, "plan.yaml.tmp"), 0);
    plan_free(&infer);
    plan_free(&train);
}

static void test_refuses_foreign_paths(void **state)
{
    (void)state;
    plan infer, train;
    make_plans(&infer, &train, 4);
    const plan *ps[1] = {&infer};
    qsdc_error err = {{0}};

    const char *dir = bundle_dir("foreign");
    assert_int_equal(mkdir(dir, 0755), 0);
    ts_write("foreign/notes.txt", "keep me", 7);
    assert_int_equal(bundle_write(dir, ps, 1, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.message, "not a qsdc bundle"));
    char *kept = slurp(path_in(dir, "notes.txt"));
    assert_string_equal(kept, "keep me");
    free(kept);

    const char *file = ts_write("plain_file", "data", 4);
    assert_int_equal(bundle_write(file, ps, 1, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.message, "not a directory"));
    kept = slurp(file);
    assert_string_equal(kept, "data");
    free(kept);
    assert_int_equal(entries_with_prefix(ts_tmpdir(), "foreign."), 0);
    assert_int_equal(entries_with_prefix(ts_tmpdir(), "plain_file."), 0);

    const char *empty = bundle_dir("empty");
    assert_int_equal(mkdir(empty, 0755), 0);
    assert_int_equal(bundle_write(empty, ps, 1, NULL, NULL, &err), 0);

    const plan *two_infer[2] = {&infer, &infer};
    assert_int_equal(bundle_write(bundle_dir("twice"), two_infer, 2, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.message, "both inference plans"));
    plan_free(&infer);
    plan_free(&train);
}

/* A real model through compile_plan: both passes round-trip, graph.dot has
 * a cluster per fused group, and every launch's kernel builds from the
 * written sources on the device. QSD pulls in the Philox prologue; clipping
 * gives the update three kernels. */
static const char tiny_model[] =
    "name: tiny\n"
    "input: {shape: [2, 3, 2]}\n"
    "layers:\n"
    "  - flatten\n"
    "  - {op: dense, units: 8}\n"
    "  - relu\n"
    "  - {op: qsd, p: 0.5, sites: 2, q_cv: 0.3}\n"
    "  - {op: dense, units: 3}\n"
    "  - softmax\n"
    "train: {batch: 5, optimizer: adam, clip_norm: 1.0}\n";

static void build_every_launch(const plan *p)
{
    cl_build_result b;
    qsdc_error err = {{0}};
    if (cl_build_program(tf_env(), p->source, NULL, &b, &err))
        fail_msg("%s: %s", bundle_source_name(p), err.message);
    for (int j = 0; j < p->n_launches; j++) {
        cl_int rc;
        cl_kernel k = clCreateKernel(b.program, p->launches[j].kernel, &rc);
        if (rc != CL_SUCCESS)
            fail_msg("kernel %s: %s", p->launches[j].kernel, cl_error_name(rc));
        clReleaseKernel(k);
    }
    clReleaseProgram(b.program);
}

/* The tiny model and the default target it is compiled for. */
static void load_tiny(model *m, codegen_target *target)
{
    qsdc_error err = {{0}};
    if (model_load_string("<tiny>", tiny_model, strlen(tiny_model), m, &err))
        fail_msg("%s", err.message);
    codegen_target_default(target);
}

static void test_compiled_bundle(void **state)
{
    (void)state;
    qsdc_error err = {{0}};
    model m;
    codegen_target target;
    load_tiny(&m, &target);
    plan infer, train;
    graph g;
    fusion f;
    if (compile_plan(&m, MODE_INFER, 5, &target, &infer, NULL, NULL, &err) ||
        compile_plan(&m, MODE_TRAIN, 5, &target, &train, &g, &f, &err))
        fail_msg("%s", err.message);
    const char *dir = bundle_dir("tiny.qsdc");
    write_bundle(dir, &infer, &train, &g, &f);

    plan *back;
    int n;
    if (plan_yaml_read(path_in(dir, "plan.yaml"), &back, &n, &err))
        fail_msg("%s", err.message);
    assert_int_equal(n, 2);
    assert_plans_equal(&infer, &back[0]);
    assert_plans_equal(&train, &back[1]);
    assert_true(back[1].n_launches > f.n_groups); /* clipping's extra kernels */

    char *dot = slurp(path_in(dir, "graph.dot"));
    assert_int_equal(count(dot, "subgraph cluster_"), f.n_groups);
    for (int k = 0; k < f.n_groups; k++) {
        char name[QSDC_NAME_MAX], label[QSDC_NAME_MAX + 16];
        codegen_kernel_name(&g, &f, k, name, sizeof name);
        snprintf(label, sizeof label, "label=\"%s\"", name);
        assert_non_null(strstr(dot, label));
    }
    free(dot);
    for (int i = 0; i < n; i++)
        build_every_launch(&back[i]);
    plan_yaml_free(back, n);
    plan_free(&infer);
    plan_free(&train);
    graph_free(&g);
    fusion_free(&f);
    model_free(&m);
}

/* A plan made for the tiled GEMM family keeps its tiles in plan.yaml, and
 * whether they are direct, so that the bundle's plan compiles again to the
 * same kernels; without them it would compile to the panel family's (or
 * the other variant's) and be refused. */
static void test_tiled_target_verified(void **state)
{
    (void)state;
    for (int direct = 0; direct < 2; direct++) {
        qsdc_error err = {{0}};
        model m;
        codegen_target target;
        load_tiny(&m, &target);
        target.gemm_tiles = (gemm_tiles){4, 8, 2, 4, 8, direct};
        plan infer;
        if (compile_plan(&m, MODE_INFER, 5, &target, &infer, NULL, NULL, &err))
            fail_msg("%s", err.message);
        assert_non_null(strstr(infer.source, direct ? "tiled: 4x8 work-items of 2x4, k 8, direct"
                                                    : "tiled: 4x8 work-items of 2x4, k 8, "
                                                      "batch"));
        const char *dir = bundle_dir(direct ? "direct.qsdc" : "tiled.qsdc");
        write_bundle(dir, &infer, NULL, NULL, NULL);
        plan *back;
        int n;
        if (plan_yaml_read(path_in(dir, "plan.yaml"), &back, &n, &err))
            fail_msg("%s", err.message);
        assert_int_equal(back[0].target_gemm_tiles[1], 8);
        assert_int_equal(back[0].target_gemm_direct, direct);
        if (bundle_verify_plan(dir, &m, &back[0], &err) < 0)
            fail_msg("%s", err.message);
        back[0].target_gemm_direct = !direct;
        assert_int_equal(bundle_verify_plan(dir, &m, &back[0], &err), -1);
        back[0].target_gemm_direct = direct;
        back[0].target_gemm_tiles[0] = 0;
        assert_int_equal(bundle_verify_plan(dir, &m, &back[0], &err), -1);
        plan_yaml_free(back, n);
        plan_free(&infer);
        model_free(&m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_graph_dot),
        cmocka_unit_test(test_overwrite),
        cmocka_unit_test(test_refuses_foreign_paths),
        cmocka_unit_test(test_compiled_bundle),
        cmocka_unit_test(test_tiled_target_verified),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ts_cleanup();
    return failed;
}
