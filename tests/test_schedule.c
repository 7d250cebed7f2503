/* Learning-rate schedules against their closed forms, written out here from
 * docs/model-format.md ("schedule") rather than from runtime/schedule.c,
 * and the rate the update kernel of a real `qsdc train` run receives at
 * each step, resumed or not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli_fixture.h"
#include "compile.h"
#include "support.h"
#include "train.h"

/* The documented rate at step s (0-based) of a run with spe steps per
 * epoch: epoch e = s / spe. A warm-up of W epochs rises linearly from 0 and
 * reaches lr with its last step: lr min(1, (s + 1) / (W spe)). After it,
 * constant: lr; step: lr gamma^floor(e / step_epochs), epochs counted from
 * the start; cosine: min_lr + (lr - min_lr) (1 + cos(pi f)) / 2 with
 * f = min(1, (e - W) / (epochs - W)). */
static double documented_lr(const lr_schedule *t, int64_t s, int64_t spe)
{
    double e = (double)s / (double)spe, w = t->warmup_epochs;
    if (w > 0 && e < w)
        return t->lr * fmin(1.0, (double)(s + 1) / (w * (double)spe));
    switch (t->kind) {
    case SCHED_STEP:
        return t->lr * pow(t->step_gamma, (double)(s / (lr_schedule_step_epochs(t) * spe)));
    case SCHED_COSINE: {
        double f = fmin(1.0, (e - w) / ((double)t->epochs - w));
        return t->min_lr + (t->lr - t->min_lr) * (1 + cos(M_PI * f)) / 2;
    }
    default:
        return t->lr;
    }
}

static lr_schedule config(sched_kind kind, int64_t epochs, double lr, double warmup)
{
    train_config t;
    train_config_defaults(&t);
    t.schedule = kind;
    t.epochs = epochs;
    t.lr = lr;
    t.warmup_epochs = warmup;
    return train_schedule(&t);
}

/* train_lr_at against documented_lr at every step of the run. */
static void expect_documented(const lr_schedule *t, int64_t spe)
{
    for (int64_t s = 0; s < t->epochs * spe; s++) {
        double want = documented_lr(t, s, spe), got = train_lr_at(t, s, spe);
        if (!(fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want))))
            fail_msg("step %lld at %lld steps per epoch: lr %.15g, documented %.15g", (long long)s,
                     (long long)spe, got, want);
    }
}

static void expect_lr(const lr_schedule *t, int64_t s, int64_t spe, double want)
{
    double got = train_lr_at(t, s, spe);
    if (!(fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want))))
        fail_msg("step %lld: lr %.15g, want %.15g", (long long)s, got, want);
}

static void test_constant(void **state)
{
    (void)state;
    lr_schedule t = config(SCHED_CONSTANT, 4, 0.05, 0);
    expect_documented(&t, 7);
    expect_lr(&t, 0, 7, 0.05);
    expect_lr(&t, 27, 7, 0.05);
}

/* Drops at exactly the first step of epochs 3 and 6 (step_epochs 3 of 8
 * epochs: ceil(8 / 3)), also after a warm-up. */
static void test_step(void **state)
{
    (void)state;
    lr_schedule t = config(SCHED_STEP, 8, 0.4, 0);
    t.step_gamma = 0.5;
    expect_documented(&t, 5);
    expect_lr(&t, 14, 5, 0.4);
    expect_lr(&t, 15, 5, 0.2);
    expect_lr(&t, 29, 5, 0.2);
    expect_lr(&t, 30, 5, 0.1);
    expect_lr(&t, 39, 5, 0.1);
    t.step_epochs = 2;
    t.warmup_epochs = 1;
    expect_documented(&t, 3);
    expect_lr(&t, 0, 3, 0.4 / 3);
    expect_lr(&t, 2, 3, 0.4);
    expect_lr(&t, 5, 3, 0.4);
    expect_lr(&t, 6, 3, 0.2);
}

/* Half a cosine from lr to min_lr over the epochs after the warm-up: lr at
 * its first step, the midpoint half way, min_lr never passed. */
static void test_cosine(void **state)
{
    (void)state;
    lr_schedule t = config(SCHED_COSINE, 10, 0.1, 0);
    expect_documented(&t, 4);
    expect_lr(&t, 0, 4, 0.1);
    expect_lr(&t, 20, 4, 0.05);
    expect_lr(&t, 39, 4, 0.05 * (1 + cos(M_PI * 39 / 40)));
    t.min_lr = 0.01;
    expect_documented(&t, 4);
    expect_lr(&t, 20, 4, 0.055);
    expect_lr(&t, 40, 4, 0.01);
    expect_lr(&t, 400, 4, 0.01);
    t.warmup_epochs = 2;
    expect_documented(&t, 4);
    expect_lr(&t, 7, 4, 0.1);
    expect_lr(&t, 8, 4, 0.1);
    expect_lr(&t, 24, 4, 0.055); /* epoch 6, half way through epochs 2 to 10 */
}

/* A warm-up of a fraction of an epoch, and of a length that is not a whole
 * number of steps: linear from its first step, never above lr. */
static void test_fractional_warmup(void **state)
{
    (void)state;
    lr_schedule t = config(SCHED_CONSTANT, 2, 0.3, 0.5);
    expect_documented(&t, 10);
    for (int s = 0; s < 5; s++)
        expect_lr(&t, s, 10, 0.3 * (s + 1) / 5.0);
    expect_lr(&t, 5, 10, 0.3);
    t.warmup_epochs = 0.25; /* 2.5 steps */
    expect_documented(&t, 10);
    expect_lr(&t, 0, 10, 0.3 / 2.5);
    expect_lr(&t, 1, 10, 0.3 * 2 / 2.5);
    expect_lr(&t, 2, 10, 0.3);
    t.kind = SCHED_COSINE;
    t.warmup_epochs = 1.5;
    t.epochs = 3;
    for (int64_t spe = 1; spe <= 9; spe++)
        expect_documented(&t, spe);
}

/* The end-to-end task: zero images all of class 1, so a dense layer's
 * weights get no gradient and its bias b gets exactly
 * softmax(b) - onehot(1) from each step (the mean over identical samples):
 * the rate a step used is -db . g / |g|^2, from the checkpoints before and
 * after it, each step a run resumed from the step before. 8 samples in batches of 4: 2 steps an epoch, 3 epochs, a
 * warm-up of 1.5 steps. */
#define E2E_N 8
#define E2E_SPE 2
#define E2E_STEPS 6
#define E2E_CLASSES 3
#define E2E_LABEL 1

static void write_e2e_model(char path[CLI_PATH_MAX])
{
    uint8_t images[16 + E2E_N * 4] = {0, 0, 8, 3, 0, 0, 0, E2E_N, 0, 0, 0, 2, 0, 0, 0, 2};
    uint8_t labels[8 + E2E_N] = {0, 0, 8, 1, 0, 0, 0, E2E_N};
    memset(labels + 8, E2E_LABEL, E2E_N);
    char im[CLI_PATH_MAX], lb[CLI_PATH_MAX];
    cli_write_file("zeros-images.idx", images, sizeof images, 0, im);
    cli_write_file("zeros-labels.idx", labels, sizeof labels, 0, lb);
    const char *text = ts_fmt("name: sched\n"
                              "input: {shape: [1, 2, 2]}\n"
                              "layers: [flatten, {op: dense, units: %d}, softmax]\n"
                              "train:\n"
                              "  data: {train_images: %s, train_labels: %s}\n"
                              "  batch: 4\n  epochs: 3\n  seed: 3\n  val_split: 0\n"
                              "  optimizer: {type: sgd, lr: 0.5, momentum: 0}\n"
                              "  schedule: {type: cosine, warmup_epochs: 0.75, min_lr: 0.05}\n",
                              E2E_CLASSES, im, lb);
    snprintf(path, CLI_PATH_MAX, "%s", ts_write("sched.yaml", text, strlen(text)));
}

static checkpoint load_checkpoint(const char *dir)
{
    checkpoint c;
    qsdc_error err = {""};
    if (checkpoint_load(dir, &c, &err) < 0)
        fail_msg("%s", err.message);
    return c;
}

/* The rate that moved bias b to after: b' = b - lr (softmax(b) - onehot). */
static double applied_lr(const float *b, const float *after)
{
    double mx = b[0], z = 0, g[E2E_CLASSES], dot = 0, norm = 0;
    for (int j = 1; j < E2E_CLASSES; j++)
        mx = fmax(mx, b[j]);
    for (int j = 0; j < E2E_CLASSES; j++)
        z += exp(b[j] - mx);
    for (int j = 0; j < E2E_CLASSES; j++) {
        g[j] = exp(b[j] - mx) / z - (j == E2E_LABEL);
        dot += ((double)after[j] - b[j]) * g[j];
        norm += g[j] * g[j];
    }
    return -dot / norm;
}

static void test_kernel_receives_the_schedule(void **state)
{
    (void)state;
    cli_env_init();
    char path[CLI_PATH_MAX];
    write_e2e_model(path);
    model m;
    plan p;
    qsdc_error err = {""};
    codegen_target target;
    codegen_target_default(&target);
    if (model_load(path, &m, &err) < 0 ||
        compile_plan(&m, MODE_TRAIN, 4, &target, &p, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    int bias = plan_find_tensor(&p, "dense1.bias");
    assert_true(bias >= 0);
    int64_t at = p.tensors[bias].offset;
    assert_int_equal(p.tensors[bias].init, INIT_ZEROS);

    const char *whole = ts_fmt("%s/whole", ts_tmpdir()), *parts = ts_fmt("%s/parts", ts_tmpdir());
    free(cli_run_expect(0, "train '%s' --checkpoint '%s'", path, whole));
    float before[E2E_CLASSES] = {0};
    for (int s = 0; s < E2E_STEPS; s++) {
        free(cli_run_expect(0, "train '%s' --checkpoint '%s' --max-steps %d%s", path, parts,
                            s + 1, s > 0 ? " --resume" : ""));
        checkpoint c = load_checkpoint(parts);
        assert_int_equal(c.step, s + 1);
        double got = applied_lr(before, c.params + at);
        double want = train_lr_at(&p.schedule, s, E2E_SPE);
        double documented = documented_lr(&p.schedule, s, E2E_SPE);
        printf("  step %d: the kernel's lr %.7f, train_lr_at %.7f, documented %.7f\n", s, got,
               want, documented);
        if (!(fabs(got - want) <= 1e-4 * want && fabs(want - documented) <= 1e-12))
            fail_msg("step %d: the update used lr %.7g, train_lr_at gives %.7g, the "
                     "documented rate is %.7g", s, got, want, documented);
        memcpy(before, c.params + at, sizeof before);
        checkpoint_free(&c);
    }
    /* resumed at every step, the run ends where the uninterrupted one does */
    checkpoint a = load_checkpoint(whole), b = load_checkpoint(parts);
    assert_int_equal(a.n_params, b.n_params);
    assert_memory_equal(a.params, b.params, (size_t)a.n_params * sizeof *a.params);
    checkpoint_free(&a);
    checkpoint_free(&b);
    plan_free(&p);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_step),
        cmocka_unit_test(test_cosine),
        cmocka_unit_test(test_fractional_warmup),
        cmocka_unit_test(test_kernel_receives_the_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
