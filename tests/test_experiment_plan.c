/* An experiment's analysis plan: primary contrasts, equivalence margin and
 * training subset in the experiment file (errors at file:line:col), and
 * plan.json's round trip and refusals. No device. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cli_fixture.h"
#include "experiment.h"
#include "support.h"

static cli_files task;

/* The experiment file: its first 8 lines, then tail. */
static int load(const char *tail, experiment *e, qsdc_error *err)
{
    if (!task.model[0])
        cli_write_task("plan", &task);
    char text[4096];
    snprintf(text, sizeof text,
             "name: gate\n"
             "model: %s\n"
             "dropout_p: 0.5\n"
             "seeds: 12\n"
             "settings:\n"
             "  - none\n"
             "  - dropout\n"
             "  - {name: unit, match: silence, q_cv: 0.5, p_concentration: 4, hetero: unit}\n"
             "%s",
             task.model, tail);
    return experiment_load(ts_write("gate.yaml", text, strlen(text)), e, err);
}

static void test_plan_in_experiment(void **state)
{
    (void)state;
    experiment e;
    qsdc_error err = {""};
    if (load("primary: [unit vs dropout, dropout vs none]\nequivalence_margin: 0.5\n"
             "sparsity_margin: 0.02\ntrain_subset: 10000\n",
             &e, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(e.plan.n_primary, 2);
    assert_string_equal(e.plan.experiment, "gate");
    assert_string_equal(e.plan.primary[0].a, "unit");
    assert_string_equal(e.plan.primary[0].b, "dropout");
    assert_string_equal(e.plan.primary[1].a, "dropout");
    assert_string_equal(e.plan.primary[1].b, "none");
    assert_true(e.plan.margin == 0.5);
    assert_true(e.plan.sparsity_margin == 0.02);
    assert_int_equal(e.full.train_subset, 10000);
    assert_int_equal(e.quick.train_subset, 10000);
    assert_int_equal(e.full.n_seeds, 12);
    experiment_free(&e);
    /* no plan: none stated */
    assert_int_equal(load("", &e, &err), 0);
    assert_int_equal(e.plan.n_primary, 0);
    assert_true(e.plan.sparsity_margin == 0);
    assert_int_equal(e.full.train_subset, 0);
    experiment_free(&e);
}

static void expect_error(const char *tail, int line, int col, const char *want)
{
    experiment e;
    qsdc_error err = {""};
    assert_int_equal(load(tail, &e, &err), -1);
    char where[1200];
    snprintf(where, sizeof where, "%s/gate.yaml:%d:%d: error: ", ts_tmpdir(), line, col);
    if (!strstr(err.message, where) || !strstr(err.message, want))
        fail_msg("expected \"%s...%s\", got: %s", where, want, err.message);
}

static void test_plan_errors(void **state)
{
    (void)state;
    expect_error("primary: [unit vs dropout]\n", 9, 10, "needs 'equivalence_margin'");
    expect_error("equivalence_margin: 1\n", 9, 21, "there is no 'primary'");
    expect_error("sparsity_margin: 0.01\n", 9, 18, "there is no 'primary'");
    expect_error("primary: [unit vs none]\nequivalence_margin: 1\nsparsity_margin: 2\n", 11, 18,
                 "'sparsity_margin'");
    expect_error("primary: [unit vs qsd]\nequivalence_margin: 1\n", 9, 11,
                 "names 'qsd', which is not a setting");
    expect_error("primary: [unit against dropout]\nequivalence_margin: 1\n", 9, 11,
                 "SETTING vs SETTING");
    expect_error("primary: [unit vs unit]\nequivalence_margin: 1\n", 9, 11,
                 "compares a setting with itself");
    expect_error("primary: [unit vs none, unit vs none]\nequivalence_margin: 1\n", 9, 25,
                 "listed twice");
    expect_error("primary: [unit vs none]\nequivalence_margin: 0\n", 10, 21,
                 "'equivalence_margin'");
    expect_error("primary: []\nequivalence_margin: 1\n", 9, 10, "lists no contrast");
    expect_error("primary: unit vs none\nequivalence_margin: 1\n", 9, 10, "'primary'");
    expect_error("train_subset: 0\n", 9, 15, "'train_subset'");
}

static void test_plan_file(void **state)
{
    (void)state;
    exp_plan p = {.experiment = "gate", .n_primary = 2, .margin = 0.1 + 0.2, .seeds = 10};
    snprintf(p.primary[0].a, QSDC_NAME_MAX, "unit");
    snprintf(p.primary[0].b, QSDC_NAME_MAX, "dropout");
    snprintf(p.primary[1].a, QSDC_NAME_MAX, "dropout");
    snprintf(p.primary[1].b, QSDC_NAME_MAX, "none");
    qsdc_error err = {""};
    const char *path = ts_fmt("%s/plan.json", ts_tmpdir());
    assert_int_equal(plan_write(path, &p, &err), 0);
    exp_plan back;
    if (plan_read(path, &back, &err) < 0)
        fail_msg("%s", err.message);
    assert_true(plan_equal(&p, &back)); /* the margin to the last bit */
    back.margin = 0.3;
    assert_false(plan_equal(&p, &back));
    back = p;
    back.seeds = 12; /* seeds added after a look at the results */
    assert_false(plan_equal(&p, &back));
    /* a sparsity margin: written only when stated, read back */
    p.sparsity_margin = 0.02;
    assert_int_equal(plan_write(path, &p, &err), 0);
    if (plan_read(path, &back, &err) < 0)
        fail_msg("%s", err.message);
    assert_true(plan_equal(&p, &back));
    back.sparsity_margin = 0.03;
    assert_false(plan_equal(&p, &back));
    back = p;
    snprintf(back.primary[1].b, QSDC_NAME_MAX, "unit");
    assert_false(plan_equal(&p, &back));
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[1]\n", "expected a JSON object"},
        {"{\"format\": \"other\", \"experiment\": \"e\", \"primary\": [\"a vs b\"], "
         "\"equivalence_margin\": 1}\n",
         "not a plan of this qsdc"},
        {"{\"format\": \"qsdc-experiment-plan-2\", \"experiment\": \"e\"}\n",
         "needs 'format', 'experiment', 'primary' and 'seeds'"},
        {"{\"format\": \"qsdc-experiment-plan-2\", \"experiment\": \"e\", \"primary\": "
         "[\"a vs b\"], \"equivalence_margin\": 1}\n",
         "and 'seeds'"},
        {"{\"format\": \"qsdc-experiment-plan-1\", \"experiment\": \"e\", \"primary\": "
         "[\"a vs b\"], \"equivalence_margin\": 1, \"seeds\": 10}\n",
         "not a plan of this qsdc (format 'qsdc-experiment-plan-1'"},
        {"{\"format\": \"qsdc-experiment-plan-2\", \"experiment\": \"e\", \"primary\": "
         "[\"a vs b\"], \"equivalence_margin\": 1, \"seeds\": 0}\n",
         "'seeds'"},
        {"{\"format\": \"qsdc-experiment-plan-2\", \"experiment\": \"e\", \"primary\": "
         "[\"a vs b\"], \"equivalence_margin\": -1, \"seeds\": 1}\n",
         "'equivalence_margin'"},
        {"{\"format\": \"qsdc-experiment-plan-2\", \"experiment\": \"e\", \"primary\": "
         "[\"a vs b\"], \"equivalence_margin\": 1, \"seeds\": 1, \"x\": 2}\n",
         "unknown key 'x' in a plan"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *at = ts_write("bad-plan.json", bad[i].text, strlen(bad[i].text));
        assert_int_equal(plan_read(at, &back, &err), -1);
        if (!strstr(err.message, at) || !strstr(err.message, bad[i].want))
            fail_msg("%s: expected \"%s\", got: %s", bad[i].text, bad[i].want, err.message);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_in_experiment),
        cmocka_unit_test(test_plan_errors),
        cmocka_unit_test(test_plan_file),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
