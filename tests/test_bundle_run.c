/* qsdc train|infer BUNDLE on the tiny task of cli_fixture.h: a bundle
 * compiled with --train --emit-binary trains from its program binary (no
 * kernel compilation) to the weights training from the model file reaches,
 * infers from its binary with the accuracy the model file gives, and
 * trains with the learning-rate schedule its plan.yaml holds (--lr
 * overriding it as it does a model's), and refuses a batch its plans were
 * not compiled for, and a bundle whose plan, kernels or binary were changed
 * after compiling (which made the kernels write outside their buffers). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cli_fixture.h"
#include "hostile_bundle.h"
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

/* The training plan's lr in ts_tmpdir()/name/plan.yaml, a bundle folder. */
static void set_bundle_lr(const char *name, double lr)
{
    plan *plans;
    int n;
    qsdc_error err = {{0}};
    if (plan_yaml_read(ts_fmt("%s/%s/plan.yaml", ts_tmpdir(), name), &plans, &n, &err) < 0)
        fail_msg("%s", err.message);
    const plan *ptrs[2];
    for (int i = 0; i < n && i < 2; i++) {
        if (plans[i].loss_offset >= 0)
            plans[i].schedule.lr = lr;
        ptrs[i] = &plans[i];
    }
    strbuf sb;
    sb_init(&sb);
    assert_int_equal(plan_yaml_write(&sb, ptrs, n, &err), 0);
    ts_write(ts_fmt("%s/plan.yaml", name), sb.data, sb.len);
    sb_free(&sb);
    plan_yaml_free(plans, n);
}

static void test_schedule_from_the_plan(void **state)
{
    (void)state;
    const char *runs[3] = {task.model, plain, hostile_copy(plain, "lr.qsdc")};
    const char *options[3] = {" --lr 0.03", " --lr 0.03", ""};
    set_bundle_lr("lr.qsdc", 0.03);
    char dirs[3][CLI_PATH_MAX];
    for (int i = 0; i < 3; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/ck-lr%d", ts_tmpdir(), i);
        free(cli_run_expect(0, "train '%s' --checkpoint '%s' --max-steps %d%s", runs[i],
                            dirs[i], STEPS, options[i]));
    }
    expect_same_checkpoint(dirs[0], dirs[1]);
    expect_same_checkpoint(dirs[0], dirs[2]);
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

static char *infer_bundle(int status, const char *dir)
{
    return cli_run_expect(status, "infer '%s' --data '%s' --labels '%s'", dir,
                          task.test_images, task.test_labels);
}

static void test_shrunk_arena_refused(void **state)
{
    (void)state;
    const char *dir = hostile_copy(bundle, "shrunk.qsdc");
    hostile_shrink_arena(dir);
    char *out = infer_bundle(1, dir);
    cli_expect(out, "plan.yaml: the inference plan is not the one");
    cli_expect(out, "A: {elems: ");
    cli_expect(out, "model.yaml compiles to at batch 16");
    free(out);
}

static void test_edited_kernels_refused(void **state)
{
    (void)state;
    char *out = infer_bundle(0, plain);
    free(out);
    /* kernels.cl alone: it no longer matches its checksum */
    const char *dir = hostile_copy(plain, "edited.qsdc");
    hostile_write_below(dir, false);
    out = infer_bundle(1, dir);
    cli_expect(out, "edited.qsdc/kernels.cl does not match the checksum plan.yaml records");
    free(out);
    /* and with plan.yaml's checksum made to match */
    dir = hostile_copy(plain, "edited2.qsdc");
    hostile_write_below(dir, true);
    out = infer_bundle(1, dir);
    cli_expect(out, "edited2.qsdc/kernels.cl: the inference plan is not the one");
    cli_expect(out, "its source's checksum is");
    free(out);
}

static void test_garbled_binary_refused(void **state)
{
    (void)state;
    const char *dir = hostile_copy(bundle, "garbled.qsdc");
    hostile_garble_binary(dir);
    char *out = infer_bundle(1, dir);
    cli_expect(out, "garbled.qsdc/kernels.bin does not match the checksum plan.yaml records");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_from_bundle_binary),
        cmocka_unit_test(test_infer_from_bundle_binary),
        cmocka_unit_test(test_schedule_from_the_plan),
        cmocka_unit_test(test_bundle_batch_is_fixed),
        cmocka_unit_test(test_shrunk_arena_refused),
        cmocka_unit_test(test_edited_kernels_refused),
        cmocka_unit_test(test_garbled_binary_refused),
    };
    return cmocka_run_group_tests(tests, setup, ts_teardown);
}
