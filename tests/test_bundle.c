/* The compiled bundle: plan.yaml round-trips into equal plan records, the
 * directory is replaced whole, graph.dot draws the fused groups, malformed
 * plan files fail with path:line:col, and the written kernels build on the
 * device. */
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
#include "cl_fixture.h"
#include "compile.h"
#include "file_io.h"
#include "support.h"

#define SIG(name)                                                                   \
    "__kernel void " name "(__global float *P, __global float *G, __global float *S,\n" \
    "    __global float *A, __global const int *L, const uint seed,\n"                 \
    "    const uint step, const float lr, const uint sample0)\n"

/* x[4,6] -> dense 3 (P: weight [6,3] at 0, bias [3] at 18) -> relu -> softmax;
 * arena: x at 0, logits at 24, probabilities at 36, per-sample loss at 48. */
static const char infer_source[] =
    SIG("k0_matmul")
    "{\n    const uint col = get_global_id(0), row = get_global_id(1);\n"
    "    float v = P[18 + col];\n"
    "    for (uint k = 0; k < 6u; k++) v += A[row * 6u + k] * P[k * 3u + col];\n"
    "    A[24 + row * 3u + col] = fmax(v, 0.0f);\n}\n\n"
    SIG("k1_softmax")
    "{\n    const uint row = get_global_id(0);\n    float m = A[24 + row * 3u], s = 0.0f;\n"
    "    for (uint j = 1; j < 3u; j++) m = fmax(m, A[24 + row * 3u + j]);\n"
    "    for (uint j = 0; j < 3u; j++) s += exp(A[24 + row * 3u + j] - m);\n"
    "    for (uint j = 0; j < 3u; j++) A[36 + row * 3u + j] = exp(A[24 + row * 3u + j] - m) / s;\n"
    "}\n";

static const char train_source[] =
    SIG("k0_update")
    "{\n    const uint i = get_global_id(0);\n    P[i] -= lr * G[i];\n    S[i] = G[i];\n}\n";

static void add_tensor(plan *p, const char *name, int buffer, int64_t offset, int rank,
                       const int64_t *dims, init_kind init)
{
    plan_tensor *t = &p->tensors[p->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->buffer = buffer;
    t->offset = offset;
    t->rank = rank;
    t->nelem = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        t->nelem *= dims[i];
    }
    if (buffer == BUF_P) {
        t->init = init;
        t->fan_in = 6;
        t->fan_out = 3;
    }
}

static void add_launch(plan *p, const char *kernel, int work_dim, const uint64_t *global,
                       const uint64_t *local, const char *nodes, double flops,
                       double bytes)
{
    plan_launch *l = &p->launches[p->n_launches++];
    snprintf(l->kernel, sizeof l->kernel, "%s", kernel);
    snprintf(l->nodes, sizeof l->nodes, "%s", nodes);
    l->work_dim = work_dim;
    memcpy(l->global, global, (size_t)work_dim * sizeof *global);
    memcpy(l->local, local, (size_t)work_dim * sizeof *local);
    l->flops = flops;
    l->bytes = bytes;
}

/* Field values are distinct so a swapped field shows; names need quoting;
 * flops and bytes need 17 digits or an exponent to survive the trip. */
static void make_plans(plan *infer, plan *train, int64_t batch)
{
    static const int64_t x[] = {4, 6}, w[] = {6, 3}, b[] = {3}, y[] = {4, 3}, l[] = {4};
    memset(infer, 0, sizeof *infer);
    memset(train, 0, sizeof *train);
    plan *ps[2] = {infer, train};
    for (int i = 0; i < 2; i++) {
        plan *p = ps[i];
        snprintf(p->name, sizeof p->name, "mlp: v2 # \"test\"");
        p->batch = batch;
        p->param_elems = 21;
        p->arena_elems = 60 + 80 * i;
        p->input_offset = 0;
        p->input_elems = 24;
        p->output_offset = 36;
        p->output_elems = 12;
        p->loss_offset = i ? 48 : -1;
        p->tensors = calloc(6, sizeof *p->tensors);
        p->launches = calloc(4, sizeof *p->launches);
        assert_non_null(p->tensors);
        assert_non_null(p->launches);
        add_tensor(p, "x", BUF_A, 0, 2, x, INIT_AUTO);
        add_tensor(p, "d1.weight", BUF_P, 0, 2, w, INIT_HE);
        add_tensor(p, "null", BUF_P, 18, 1, b, INIT_ZEROS);
        add_tensor(p, "1e3: 'out'", BUF_A, 36, 2, y, INIT_AUTO);
        p->nodes_before_fusion = 4 + 7 * i;
        p->arena_unplanned_elems = 72 + i;
        p->arena_live_peak_elems = 48 + i;
    }
    infer->source = strdup(infer_source);
    train->source = strdup(train_source);
    add_launch(infer, "k0_matmul", 2, (uint64_t[]){3, 4}, (uint64_t[]){0, 0},
               "matmul+bias_add+relu", 144, 0.1);
    add_launch(infer, "k1_softmax", 1, (uint64_t[]){4}, (uint64_t[]){2}, "softmax",
               3.0000000000000004, 1e20);
    infer->kernels = 2;
    train->grad_elems = 21;
    train->state_elems = 42;
    train->label_elems = 4;
    add_tensor(train, "labels", BUF_L, 0, 1, l, INIT_AUTO);
    add_tensor(train, "loss", BUF_A, 48, 1, l, INIT_AUTO);
    add_launch(train, "k0_update", 1, (uint64_t[]){21}, (uint64_t[]){0}, "", 0, 420);
    train->kernels = 1;
}

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
    if (graph_fuse(g, f, &err))
        fail_msg("%s", err.message);
    assert_int_equal(f->n_groups, 2);
}

/* dir/name (static storage rotated over 4 slots); dir is at most 1300 bytes. */
static const char *path_in(const char *dir, const char *name)
{
    static char buf[4][1400];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, sizeof buf[0], "%.1300s/%.64s", dir, name);
    return p;
}

static const char *bundle_dir(const char *name)
{
    static char buf[4][1200];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, 1200, "%s/%s", ts_tmpdir(), name);
    return p;
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

/* The valid single-plan plan.yaml the malformed variants start from. */
static char *valid_yaml(int n_plans)
{
    plan infer, train;
    make_plans(&infer, &train, 4);
    const plan *ps[2] = {&infer, &train};
    strbuf sb;
    sb_init(&sb);
    qsdc_error err = {{0}};
    assert_int_equal(plan_yaml_write(&sb, ps, n_plans, &err), 0);
    plan_free(&infer);
    plan_free(&train);
    return sb.data;
}

static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at) {
        fail_msg("'%s' not in the base plan.yaml:\n%s", from, text);
        return NULL; /* not reached: fail_msg ends the test */
    }
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

/* Reads text as dir/plan.yaml (beside both sources) and expects failure;
 * returns the message. */
static const char *read_bad(const char *text, size_t len)
{
    static qsdc_error err;
    const char *dir = bundle_dir("bad");
    mkdir(dir, 0755);
    ts_write("bad/kernels.cl", infer_source, strlen(infer_source));
    ts_write("bad/train.cl", train_source, strlen(train_source));
    const char *path = ts_write("bad/plan.yaml", text, len);
    plan *plans = NULL;
    int n = -1;
    memset(&err, 0, sizeof err);
    if (plan_yaml_read(path, &plans, &n, &err) == 0) {
        plan_yaml_free(plans, n);
        return NULL;
    }
    assert_null(plans);
    assert_int_equal(n, 0);
    if (strncmp(err.message, path, strlen(path)) != 0)
        fail_msg("error does not start with the path %s: %s", path, err.message);
    return err.message;
}

/* path:line:col of the first occurrence of at in text. */
static void location_of(const char *text, const char *at, char *buf, size_t n)
{
    const char *p = strstr(text, at);
    assert_non_null(p);
    int line = 1, col = 1;
    for (const char *c = text; c < p; c++, col++)
        if (*c == '\n') {
            line++;
            col = 0;
        }
    snprintf(buf, n, "%s:%d:%d: error: ", path_in(bundle_dir("bad"), "plan.yaml"), line,
             col);
}

typedef struct variant {
    const char *from, *to; /* an edit of the valid file; from NULL: to is the file */
    const char *at;        /* the error's location: first occurrence of this, if set */
    const char *says;      /* a substring of the message */
} variant;

static const variant variants[] = {
    /* bad YAML */
    {"plans:", "plans: [", NULL, "flow"},
    {"format: 1", "format: 1\n  oops: [", NULL, "error: "},
    {"  batch: 4", "\tbatch: 4", NULL, "error: "},
    {NULL, "", NULL, "empty file"},
    {NULL, "# only a comment\n", NULL, "empty file"},
    {NULL, "format: 1\n---\nplans: 1\n", "---", "second YAML document"},
    {NULL, "format: 1\nplans: [\xff\xfe]\n", NULL, "invalid"},
    {NULL, "- 1\n- 2\n", "- 1", "expected a mapping"},
    {NULL, "format: &f 1\nplans: []\n", "&f", "anchors are not supported"},
    {NULL, "format: 1\nplans: []\n", "[]", "'plans' is empty"},
    /* missing keys */
    {"  loss_offset: -1\n", "", "name: 'mlp", "missing required key 'loss_offset' in plan"},
    {"format: 1\n", "", "plans", "missing required key 'format'"},
    {"P: {elems: 21, bytes: 84}", "P: {elems: 21}", "{elems: 21}", "missing required key 'bytes' in buffer P"},
    {"  batch: 4", "  batch:", NULL, "expected integer for 'batch', found null"},
    {"{name: d1.weight, buffer: P, offset: 0, dims: [6, 3], init: he, ",
     "{name: d1.weight, buffer: P, offset: 0, dims: [6, 3], ", "{name: d1.weight",
     "'init' is required"},
    /* unknown and repeated keys */
    {"  batch: 4", "  batch: 4\n  bogus: 1", "bogus", "unknown key 'bogus'"},
    {"  batch: 4", "  batch: 4\n  batch: 5", "batch: 5", "duplicate key 'batch'"},
    /* wrong types */
    {"  batch: 4", "  batch: [4]", "[4]", "expected integer for 'batch', found list"},
    {"  batch: 4", "  batch: four", "four", "found string 'four'"},
    {"  batch: 4", "  batch: '4'", "'4'", "found string '4'"},
    {"  batch: 4", "  batch: 4.5", "4.5", "found float 4.5"},
    {"dims: [6, 3]", "dims: 7", "7,", "expected a list"},
    {"input: {offset: 0, elems: 24}", "input: [0, 24]", "[0, 24]", "expected a mapping"},
    {"format: 1", "format: 2", "2", "plan format 2"},
    {NULL, "format: 1\nplans: 3\n", "3", "expected a list"},
    {"buffer: P, offset: 18", "buffer: Q, offset: 18", "Q,", "unknown buffer 'Q'"},
    {"init: he", "init: [he]", "[he]", "for 'init', found list"},
    {"flops: 144", "flops: nan", "nan", "must be a finite number"},
    {"flops: 144", "flops: .inf", ".inf", "must be a finite number"},
    {"kernel: k0_matmul", "kernel: k0 matmul", "k0 matmul", "identifier"},
    {"name: x,", "name: [x],", "[x]", "expected a string for 'name', found list"},
    /* negative and out-of-range sizes */
    {"  batch: 4", "  batch: -4", "-4", "'batch' must be >= 1"},
    {"  batch: 4", "  batch: 0", "0\n", "'batch' must be >= 1"},
    {"P: {elems: 21, bytes: 84}", "P: {elems: -21, bytes: -84}", "-21", "'elems' must be in [0,"},
    {"P: {elems: 21, bytes: 84}", "P: {elems: 21, bytes: 85}", "85", "not 4 x 21"},
    {"  batch: 4", "  batch: 99999999999999999999", "999", "does not fit in 64 bits"},
    {"name: x, buffer: A, offset: 0", "name: x, buffer: A, offset: -1", "-1,",
     "'offset' must be >= 0"},
    {"name: x, buffer: A, offset: 0", "name: x, buffer: A, offset: 50", "{name: x,",
     "tensor x: elements [50, 74) lie outside buffer A"},
    {"dims: [6, 3]", "dims: [6, 0]", "0]", "'dims' must be >= 1"},
    {"dims: [6, 3]", "dims: [6, 3, 1, 1, 1]", "[6, 3, 1", "at most 4 entries"},
    {"dims: [6, 3]", "dims: [4611686018427387904, 4]", "[4611", "more than 2^63 elements"},
    {"output: {offset: 36, elems: 12}", "output: {offset: 56, elems: 12}",
     "{offset: 56", "outside buffer A"},
    {"  loss_offset: -1", "  loss_offset: -2", "-2", "'loss_offset' must be >= -1"},
    {"work_dim: 2", "work_dim: 4", "4, global", "'work_dim' must be in [1, 3]"},
    {"global: [3, 4]", "global: [3]", "[3], local", "'global' needs 2 entries"},
    {"local: [2]", "local: [3]", "[3], nodes", "divide 'global'"},
    {"{name: x, buffer: A, offset: 0, dims: [4, 6]}",
     "{name: x, buffer: A, offset: 0, dims: [4, 6], init: he}", "he}", "only"},
    {"name: x,", "name: d1.weight,", "d1.weight, buffer: P", "a second tensor"},
    {"name: x,", "name: '',", "'',", "empty"},
    {"kernels: 2", "kernels: 2147483648", "2147483648", "'kernels' must be in [0, 2147483647]"},
    /* the source file */
    {"source: kernels.cl", "source: missing.cl", "missing.cl", "cannot open"},
    {"source: kernels.cl", "source: ../kernels.cl", "../", "must name a file in the bundle"},
    {"source: kernels.cl", "source: sub/kernels.cl", "sub/", "must name a file in the bundle"},
};

static void test_malformed(void **state)
{
    (void)state;
    char *base = valid_yaml(1);
    assert_null(read_bad(base, strlen(base))); /* the base itself is fine */
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const variant *v = &variants[i];
        char *text = v->from ? replace(base, v->from, v->to) : strdup(v->to);
        const char *msg = read_bad(text, strlen(text));
        if (!msg)
            fail_msg("variant %zu (%s) was accepted:\n%s", i, v->to, text);
        if (!strstr(msg, ": error: ") || !strstr(msg, v->says))
            fail_msg("variant %zu: expected '%s' in: %s", i, v->says, msg);
        if (v->at) {
            char where[1300];
            location_of(text, v->at, where, sizeof where);
            if (strncmp(msg, where, strlen(where)) != 0)
                fail_msg("variant %zu: expected the error at %s, got: %s", i, where, msg);
        }
        free(text);
    }
    free(base);
}

/* Every prefix of a valid two-plan file: an error naming the path, or
 * success only when nothing but trailing whitespace was cut. */
static void test_truncated(void **state)
{
    (void)state;
    char *base = valid_yaml(2);
    size_t len = strlen(base);
    for (size_t k = 0; k < len; k += 37) {
        if (read_bad(base, k))
            continue;
        for (size_t j = k; j < len; j++)
            if (base[j] != '\n' && base[j] != ' ')
                fail_msg("truncated at byte %zu of %zu but accepted", k, len);
    }
    free(base);
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

static void test_compiled_bundle(void **state)
{
    (void)state;
    qsdc_error err = {{0}};
    model m;
    if (model_load_string("<tiny>", tiny_model, strlen(tiny_model), &m, &err))
        fail_msg("%s", err.message);
    codegen_target target;
    codegen_target_default(&target);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_graph_dot),
        cmocka_unit_test(test_overwrite),
        cmocka_unit_test(test_refuses_foreign_paths),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_compiled_bundle),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ts_cleanup();
    return failed;
}
