/* qsdc train --check-finite on the tiny task of cli_fixture.h:
 *
 * - a healthy run (the MLP, and a CNN with batchnorm and pooling) reports
 *   nothing and ends on the same loss as a run without the check (keeping
 *   every tensor changes no value);
 * - a NaN or Inf planted in a checkpoint (a parameter, the optimiser's
 *   momentum) is reported at the resumed step, naming the first node that
 *   produced one: the forward op reading the parameter, or the update;
 * - a learning rate of 1e30 is stopped by the check, before the loss
 *   check, at the first step whose values overflow, which a --max-steps run
 *   to that step shows finite. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "checkpoint.h"
#include "cli_fixture.h"
#include "compile.h"
#include "model.h"
#include "support.h"

static cli_files task;

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    cli_write_task("finite", &task);
    return 0;
}

static void expect_healthy(const char *model_path)
{
    char *plain = cli_run_expect(0, "train %s --epochs 1", model_path);
    char *checked = cli_run_expect(0, "train %s --epochs 1 --check-finite", model_path);
    cli_expect_not(checked, "NaN");
    cli_epoch a[2], b[2];
    assert_int_equal(cli_epochs(plain, a, 2), 1);
    assert_int_equal(cli_epochs(checked, b, 2), 1);
    assert_true(a[0].loss == b[0].loss);
    free(plain);
    free(checked);
}

static void test_healthy_run_reports_nothing(void **state)
{
    (void)state;
    expect_healthy(task.model);
}

/* window (im2col, pooling), per-channel (batchnorm) and direct-convolution
 * kernels */
static void test_healthy_cnn_run_reports_nothing(void **state)
{
    (void)state;
    char path[CLI_PATH_MAX];
    cli_model_variant(task.model, "cnn.yaml", "  - flatten\n",
                      "  - {op: conv2d, filters: 4, kernel: 3, padding: same}\n"
                      "  - batchnorm\n  - relu\n  - {op: maxpool, kernel: 2}\n"
                      "  - flatten\n", path);
    expect_healthy(path);
    /* and with conv2d as a direct convolution (its epilogue split off) */
    ts_setenv("QSDC_CONV", "direct");
    expect_healthy(path);
}

/* Trains one epoch into dir, then sets params[name][0] (or state[0] when
 * name is NULL) to v in its checkpoint. */
static void plant(const char *dir, const char *name, float v)
{
    free(cli_run_expect(0, "train %s --epochs 1 --checkpoint %s", task.model, dir));
    model m;
    qsdc_error err = {""};
    assert_int_equal(model_load(task.model, &m, &err), 0);
    codegen_target target;
    codegen_target_default(&target);
    plan p;
    assert_int_equal(compile_plan(&m, MODE_TRAIN, m.train.batch, &target, &p, NULL, NULL,
                                  &err), 0);
    checkpoint ck;
    assert_int_equal(checkpoint_load(dir, &ck, &err), 0);
    assert_int_equal(ck.step, CLI_STEPS_PER_EPOCH);
    if (name) {
        int t = plan_find_tensor(&p, name);
        assert_true(t >= 0);
        ck.params[p.tensors[t].offset] = v;
    } else {
        assert_true(ck.n_state > 0);
        ck.state[0] = v;
    }
    assert_int_equal(checkpoint_save(dir, &ck, &err), 0);
    checkpoint_free(&ck);
    plan_free(&p);
    model_free(&m);
}

/* A value planted in a checkpoint after epoch 1 and the report of the
 * resumed run. */
typedef struct planted {
    const char *dir;
    const char *tensor;   /* NULL: the optimiser state's first element */
    float value;
    const char *report;
} planted;

static const planted planted_cases[] = {
    {"bias", "dense4.bias", NAN,
     "--check-finite: step 27 (epoch 2): first NaN or Inf in the forward output dense4 "
     "(op bias_add, layer dense4); training stopped"},
    {"weight", "dense1.weight", INFINITY,
     "step 27 (epoch 2): first NaN or Inf in the forward output dense1.matmul (op matmul, "
     "layer dense1)"},
    /* the momentum of one parameter: only the update reads it */
    {"momentum", NULL, NAN, "step 27 (epoch 2): first NaN or Inf in the optimizer update, in "},
};

static void test_planted_value_is_reported(void **state)
{
    const planted *c = *state;
    char dir[CLI_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/%s", ts_tmpdir(), c->dir);
    plant(dir, c->tensor, c->value);
    char *out;
    int rc = cli_run(&out, "train %s --epochs 2 --checkpoint %s --resume --check-finite",
                     task.model, dir);
    cli_expect_status(rc, 1, out);
    cli_expect(out, c->report);
    if (c->tensor)   /* a parameter, not optimiser state */
        cli_expect(out, "the saved model is unusable; training from it will diverge");
    cli_expect_not(out, "epoch 2/2  train loss");
    free(out);
}

static void test_divergence_is_stopped_at_its_step(void **state)
{
    (void)state;
    char model_path[CLI_PATH_MAX];
    cli_model_variant(task.model, "diverge.yaml", "lr: 0.1", "lr: 1e30", model_path);
    char *out;
    int rc = cli_run(&out, "train %s --check-finite", model_path);
    cli_expect_status(rc, 1, out);
    cli_expect(out, "--check-finite: step ");
    cli_expect_not(out, "training diverged");
    int step = -1;
    sscanf(strstr(out, "step "), "step %d", &step);
    assert_true(step >= 1);
    free(out);
    /* steps 0 .. step-1 leave every loss finite */
    out = cli_run_expect(0, "train %s --max-steps %d", model_path, step);
    cli_expect_not(out, "nan");
    cli_expect_not(out, "inf");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthy_run_reports_nothing),
        cmocka_unit_test_teardown(test_healthy_cnn_run_reports_nothing, ts_restore_env),
        cmocka_unit_test_prestate(test_planted_value_is_reported, (void *)&planted_cases[0]),
        cmocka_unit_test_prestate(test_planted_value_is_reported, (void *)&planted_cases[1]),
        cmocka_unit_test_prestate(test_planted_value_is_reported, (void *)&planted_cases[2]),
        cmocka_unit_test(test_divergence_is_stopped_at_its_step),
    };
    return cmocka_run_group_tests(tests, setup, ts_teardown);
}
