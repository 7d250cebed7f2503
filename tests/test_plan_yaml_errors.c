/* Malformed plan.yaml files: each fails with the file's path and, where the
 * fault has a place, path:line:col; truncated files fail unless only
 * trailing whitespace was cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "bundle.h"
#include "bundle_fixture.h"
#include "support.h"

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
    ts_write("bad/kernels.cl", bundle_infer_source, strlen(bundle_infer_source));
    ts_write("bad/train.cl", bundle_train_source, strlen(bundle_train_source));
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
    {"format: 3", "format: 3\n  oops: [", NULL, "error: "},
    {"  batch: 4", "\tbatch: 4", NULL, "error: "},
    {NULL, "", NULL, "empty file"},
    {NULL, "# only a comment\n", NULL, "empty file"},
    {NULL, "format: 3\n---\nplans: 1\n", "---", "second YAML document"},
    {NULL, "format: 3\nplans: [\xff\xfe]\n", NULL, "invalid"},
    {NULL, "- 1\n- 2\n", "- 1", "expected a mapping"},
    {NULL, "format: &f 1\nplans: []\n", "&f", "anchors are not supported"},
    {NULL, "format: 3\nplans: []\n", "[]", "'plans' is empty"},
    /* missing keys */
    {"  loss_offset: -1\n", "", "name: 'mlp", "missing required key 'loss_offset' in plan"},
    {"format: 3\n", "", "plans", "missing required key 'format'"},
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
    {"format: 3", "format: 4", "4\nplans", "plan format 4"},
    {NULL, "format: 3\nplans: 5\n", "5", "expected a list"},
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
    {"name: x, buffer: A, offset: 0", "name: x, buffer: A, offset: 9223372036854775807",
     "{name: x,", "elements [9223372036854775807, 9223372036854775831) lie outside"},
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
    {"source: kernels.cl", "source: missing.cl", "missing.cl",
     "'source' must name the bundle's kernels.cl, found 'missing.cl'"},
    {"source: kernels.cl", "source: ../kernels.cl", "../", "must name the bundle's kernels.cl"},
    {"source: kernels.cl", "source: sub/kernels.cl", "sub/", "must name the bundle's kernels.cl"},
    {"source: kernels.cl", "source: train.cl", "train.cl", "must name the bundle's kernels.cl"},
    {"source_checksum: \"", "source_checksum: \"x", "\"x", "must be 16 hex digits"},
    /* the binary file */
    {"  batch: 4", "  batch: 4\n  binary: kernels.bin", "name: 'mlp", "go together"},
    {"  batch: 4", "  batch: 4\n  binary: train.bin\n  binary_checksum: \"0000000000000000\"",
     "train.bin", "must name the bundle's kernels.bin"},
    /* the target */
    {"target: {cpu: true, vector_width: 8}", "target: {cpu: yes, vector_width: 8}", "yes",
     "cpu"},
    {"target: {cpu: true, vector_width: 8}", "target: {cpu: true, vector_width: 0}", "0}",
     "'vector_width' must be in [1, 16]"},
    {"target: {cpu: true, vector_width: 8}",
     "target: {cpu: true, vector_width: 8, gemm_tiles: [8, 8, 8, 8]}", "[8, 8, 8, 8]",
     "'gemm_tiles' needs 5 entries, found 4"},
    {"target: {cpu: true, vector_width: 8}",
     "target: {cpu: true, vector_width: 8, gemm_tiles: [2048, 8, 8, 8, 16]}", "[2048",
     "'gemm_tiles' entries must be at most 1024"},
    {"target: {cpu: true, vector_width: 8}",
     "target: {cpu: true, vector_width: 8, gemm_direct: true}", "true}",
     "'gemm_direct' needs 'gemm_tiles'"},
    {"target: {cpu: true, vector_width: 8}",
     "target: {cpu: true, vector_width: 8, gemm_tiles: [8, 8, 8, 8, 4], gemm_direct: 1}",
     "1}", "gemm_direct"},
    /* the schedule: a training plan's alone */
    {"  loss_offset: -1", "  loss_offset: -1\n  schedule: {type: constant}", "{type",
     "an inference plan has no 'schedule'"},
};

/* Edits of the training plan (the second of a two-plan file). */
static const variant train_variants[] = {
    {"  schedule: {type: step, lr: 0.1, warmup_epochs: 0.3, step_epochs: 2, gamma: 0.7, "
     "min_lr: 1e-05, epochs: 7}\n",
     "", "name: 'mlp: v2 # \"test\"'\n  source: train.cl",
     "a training plan needs 'schedule'"},
    {"type: step", "type: linear", "linear", "unknown type 'linear'"},
    {"lr: 0.1", "lr: 0", "0, warmup", "'lr' must be in"},
    {"step_epochs: 2", "step_epochs: -1", "-1, gamma", "'step_epochs' must be in [0,"},
    {"gamma: 0.7", "gamma: 0", "0, min_lr", "'gamma' must be in (0, 1]"},
    {"epochs: 7}", "epochs: 0}", "0}\n  tensors", "'epochs' must be in [1,"},
    {"epochs: 7}", "epochs: 7, bogus: 1}", "bogus", "unknown key 'bogus'"},
};

/* Each of the n variants of the valid file of n_plans plans fails as it says. */
static void expect_malformed(const variant *variants, size_t n, int n_plans)
{
    char *base = valid_yaml(n_plans);
    assert_null(read_bad(base, strlen(base))); /* the base itself is fine */
    for (size_t i = 0; i < n; i++) {
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

static void test_malformed(void **state)
{
    (void)state;
    expect_malformed(variants, sizeof variants / sizeof variants[0], 1);
}

static void test_malformed_training(void **state)
{
    (void)state;
    expect_malformed(train_variants, sizeof train_variants / sizeof train_variants[0], 2);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_malformed_training),
        cmocka_unit_test(test_truncated),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ts_cleanup();
    return failed;
}
