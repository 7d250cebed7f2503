/* qsdc train|infer BUNDLE on the tiny task of cli_fixture.h: a bundle
 * compiled with --train --emit-binary trains from its program binary (no
 * kernel compilation) to the weights training from the model file reaches,
 * infers from its binary with the accuracy the model file gives, and
 * refuses a batch its plans were not compiled for, and a bundle whose plan,
 * kernels or binary were changed after compiling (which made the kernels
 * write outside their buffers). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cli_fixture.h"
#include "support.h"

#define STEPS 10

static cli_files task;
static char bundle[CLI_PATH_MAX], plain[CLI_PATH_MAX]; /* plain: no binaries */

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    cli_write_task("b", &task);
    snprintf(bundle, sizeof bundle, "%s/tiny.qsdc", ts_tmpdir());
    snprintf(plain, sizeof plain, "%s/plain.qsdc", ts_tmpdir());
    return cli_setup_run("train.bin", "'%s' -o '%s' --train --emit-binary --device 0",
                         task.model, bundle) ||
           cli_setup_run(NULL, "'%s' -o '%s' --train", task.model, plain);
}

static void expect_same_checkpoint(const char *dir_a, const char *dir_b)
{
    char pa[CLI_PATH_MAX + 32], pb[CLI_PATH_MAX + 32];
    snprintf(pa, sizeof pa, "%s/checkpoint.bin", dir_a);
    snprintf(pb, sizeof pb, "%s/checkpoint.bin", dir_b);
    size_t la, lb;
    char *a = cli_read_file(pa, &la), *b = cli_read_file(pb, &lb);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(la, lb);
    if (memcmp(a, b, la) != 0)
        fail_msg("%s and %s differ", pa, pb);
    free(a);
    free(b);
}

static void test_train_from_bundle_binary(void **state)
{
    (void)state;
    char from_yaml[CLI_PATH_MAX], from_bundle[CLI_PATH_MAX];
    snprintf(from_yaml, sizeof from_yaml, "%s/ck-yaml", ts_tmpdir());
    snprintf(from_bundle, sizeof from_bundle, "%s/ck-bundle", ts_tmpdir());
    char *out = cli_run_expect(0, "train '%s' --device 0 --checkpoint '%s' --max-steps %d",
                               task.model, from_yaml, STEPS);
    free(out);
    out = cli_run_expect(0, "train '%s' --device 0 --checkpoint '%s' --max-steps %d", bundle,
                         from_bundle, STEPS);
    cli_expect(out, "(kernels from the bundle's binary)");
    free(out);
    expect_same_checkpoint(from_yaml, from_bundle);
}

/* The accuracy line of infer, "accuracy: 97.92% (94/96)". */
static char *accuracy_of(char *out)
{
    char *a = strstr(out, "accuracy: ");
    if (!a)
        fail_msg("no accuracy in:\n%s", out);
    a[strcspn(a, "\n")] = '\0';
    return a;
}

static void test_infer_from_bundle_binary(void **state)
{
    (void)state;
    char ckpt[CLI_PATH_MAX];
    snprintf(ckpt, sizeof ckpt, "%s/ck-infer", ts_tmpdir());
    char *out = cli_run_expect(0, "train '%s' --checkpoint '%s' --max-steps %d", bundle, ckpt,
                               STEPS);
    free(out);
    char *yaml = cli_run_expect(0, "infer '%s' --data '%s' --labels '%s' --checkpoint '%s'",
                                task.model, task.test_images, task.test_labels, ckpt);
    out = cli_run_expect(0, "infer '%s' --data '%s' --labels '%s' --checkpoint '%s'", bundle,
                         task.test_images, task.test_labels, ckpt);
    cli_expect(out, "program from binary");
    assert_string_equal(accuracy_of(out), accuracy_of(yaml));
    free(out);
    free(yaml);
}

static void test_bundle_batch_is_fixed(void **state)
{
    (void)state;
    char *out = cli_run_expect(1, "train '%s' --batch 8 --max-steps 1", bundle);
    cli_expect(out, "the bundle's training plan is for batch 16, this run needs 8");
    free(out);
}

/* A copy of the bundle at from in ts_tmpdir()/name. */
static const char *copy_bundle(const char *from, const char *name)
{
    static char dir[CLI_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/%s", ts_tmpdir(), name);
    char *out = NULL;
    if (ts_run(ts_fmt("cp -r '%s' '%s'", from, dir), &out) != 0)
        fail_msg("cp: %s", out);
    free(out);
    return dir;
}

/* Rewrites dir/plan.yaml and the sources after edit changed the inference
 * plan: every checksum plan.yaml records then matches its file. */
static void rewrite_bundle(const char *dir, void (*edit)(plan *))
{
    char path[CLI_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/plan.yaml", dir);
    plan *plans;
    int n;
    qsdc_error err = {{0}};
    if (plan_yaml_read(path, &plans, &n, &err) < 0)
        fail_msg("%s", err.message);
    const plan *ptrs[2];
    for (int i = 0; i < n; i++) {
        if (plans[i].loss_offset < 0)
            edit(&plans[i]);
        ptrs[i] = &plans[i];
        const char *src = bundle_source_name(&plans[i]);
        ts_write(ts_fmt("%s/%s", strrchr(dir, '/') + 1, src), plans[i].source,
                 strlen(plans[i].source));
    }
    strbuf sb;
    sb_init(&sb);
    assert_int_equal(plan_yaml_write(&sb, ptrs, n, &err), 0);
    ts_write(ts_fmt("%s/plan.yaml", strrchr(dir, '/') + 1), sb.data, sb.len);
    sb_free(&sb);
    plan_yaml_free(plans, n);
}

/* The arena grows to hold span elements from offset 0. */
static void fit(int64_t *arena, int64_t *offset, int64_t span)
{
    *offset = 0;
    if (span > *arena)
        *arena = span;
}

/* The smallest arena plan_yaml_read accepts, with every offset the plan
 * states moved into it; the kernels keep theirs. */
static void shrink_arena(plan *p)
{
    p->arena_elems = p->input_elems + p->output_elems;
    p->input_offset = 0;
    p->output_offset = p->input_elems;
    for (int i = 0; i < p->n_tensors; i++)
        if (p->tensors[i].buffer == BUF_A)
            fit(&p->arena_elems, &p->tensors[i].offset, p->tensors[i].nelem);
    for (int i = 0; i < p->n_launches; i++) {
        plan_gemm *g = &p->launches[i].gemm;
        int64_t a_rows = g->trans_a ? g->k : g->m, b_rows = g->trans_b ? g->n : g->k;
        if (g->m > 0 && g->c_buf == BUF_A)
            fit(&p->arena_elems, &g->c_off, g->m * g->ldc);
        if (g->m > 0 && g->a_buf == BUF_A)
            fit(&p->arena_elems, &g->a_off, a_rows * g->lda);
        if (g->m > 0 && g->b_buf == BUF_A)
            fit(&p->arena_elems, &g->b_off, b_rows * g->ldb);
    }
}

static char *infer_bundle(int status, const char *dir)
{
    return cli_run_expect(status, "infer '%s' --data '%s' --labels '%s'", dir,
                          task.test_images, task.test_labels);
}

static void test_shrunk_arena_refused(void **state)
{
    (void)state;
    const char *dir = copy_bundle(bundle, "shrunk.qsdc");
    rewrite_bundle(dir, shrink_arena);
    char *out = infer_bundle(1, dir);
    cli_expect(out, "plan.yaml: the inference plan is not the one");
    cli_expect(out, "A: {elems: ");
    cli_expect(out, "model.yaml compiles to at batch 16");
    free(out);
}

/* A first statement for k0 that writes far below the arena. */
static void write_below(plan *p)
{
    const char *k0 = strstr(p->source, "void k0_");
    assert_non_null(k0);
    const char *body = strchr(k0, '{') + 1;
    size_t at = (size_t)(body - p->source), n = strlen(p->source) + 64;
    char *edited = malloc(n);
    assert_non_null(edited);
    snprintf(edited, n, "%.*s\n    A[-(1L << 28)] = 0.0f;%s", (int)at, p->source, body);
    free(p->source);
    p->source = edited;
}

static void test_edited_kernels_refused(void **state)
{
    (void)state;
    char *out = infer_bundle(0, plain);
    free(out);
    /* kernels.cl alone: it no longer matches its checksum */
    const char *dir = copy_bundle(plain, "edited.qsdc");
    char *src = cli_read_file(ts_fmt("%s/kernels.cl", dir), &(size_t){0});
    assert_non_null(src);
    plan p = {.source = src};
    write_below(&p);
    ts_write("edited.qsdc/kernels.cl", p.source, strlen(p.source));
    free(p.source);
    out = infer_bundle(1, dir);
    cli_expect(out, "edited.qsdc/kernels.cl does not match the checksum plan.yaml records");
    free(out);
    /* and with plan.yaml's checksum made to match */
    dir = copy_bundle(plain, "edited2.qsdc");
    rewrite_bundle(dir, write_below);
    out = infer_bundle(1, dir);
    cli_expect(out, "edited2.qsdc/kernels.cl: the inference plan is not the one");
    cli_expect(out, "its source's checksum is");
    free(out);
}

static void test_garbled_binary_refused(void **state)
{
    (void)state;
    const char *dir = copy_bundle(bundle, "garbled.qsdc");
    char path[CLI_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/kernels.bin", dir);
    size_t len;
    char *bin = cli_read_file(path, &len);
    assert_non_null(bin);
    for (size_t i = len / 8; i < len; i += 97)
        bin[i] = (char)(bin[i] ^ 0x5a);
    ts_write("garbled.qsdc/kernels.bin", bin, len);
    free(bin);
    char *out = infer_bundle(1, dir);
    cli_expect(out, "garbled.qsdc/kernels.bin does not match the checksum plan.yaml records");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_from_bundle_binary),
        cmocka_unit_test(test_infer_from_bundle_binary),
        cmocka_unit_test(test_bundle_batch_is_fixed),
        cmocka_unit_test(test_shrunk_arena_refused),
        cmocka_unit_test(test_edited_kernels_refused),
        cmocka_unit_test(test_garbled_binary_refused),
    };
    return cmocka_run_group_tests(tests, setup, ts_teardown);
}
