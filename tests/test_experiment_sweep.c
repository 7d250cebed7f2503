/* The decisive comparison's harness end to end on the CLI fixture's tiny
 * task: a quick grid with strengths swept and chosen on validation per
 * seed, a training subset drawn by the seed, and primary contrasts stated
 * in plan.json before the runs; the report's primary contrasts and chosen
 * strengths checked by tests/report_oracle.py (which chooses again from the
 * candidates' own result.json files), and a changed plan refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_fixture.h"
#include "experiment.h"
#include "support.h"

static cli_files task;
static char exp_path[CLI_PATH_MAX], results[CLI_PATH_MAX];

/* The experiment file with primary contrasts primary and the quick grid's
 * seeds quick_seeds (a YAML list's items). */
static const char *write_experiment(const char *name, const char *primary,
                                    const char *quick_seeds)
{
    char text[4096];
    int n = snprintf(text, sizeof text,
                     "name: sweep\n"
                     "model: %s\n"
                     "dropout_p: 0.5\n"
                     "settings:\n"
                     "  - none\n"
                     "  - {op: dropout, p: [0.5, 0.9]}\n"
                     "  - {name: qv, match: variance, sites: 2, q_cv: 0.3, "
                     "dropout_p: [0.5, 0.9]}\n"
                     "seeds: 3\n"
                     "train_subset: 48\n"
                     "mask_draws: 20000\n"
                     "primary: [%s]\n"
                     "equivalence_margin: 5\n"
                     "quick: {epochs: 1, seeds: [%s], train_samples: 300, "
                     "test_samples: 96}\n",
                     task.model, primary, quick_seeds);
    return ts_write(name, text, (size_t)n);
}

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    cli_write_task("sweep", &task);
    snprintf(exp_path, sizeof exp_path, "%s",
             write_experiment("sweep.yaml", "qv vs dropout, dropout vs none", "1, 2, 3"));
    snprintf(results, sizeof results, "%s/results", ts_tmpdir());
    return 0;
}

static void read_run(const char *run, run_result *r)
{
    qsdc_error err = {""};
    if (result_read(ts_fmt("%s/%s/result.json", results, run), r, &err) < 0)
        fail_msg("%s", err.message);
}

static void test_sweep_grid(void **state)
{
    (void)state;
    char *out = cli_run_expect(0, "experiment '%s' -o '%s' --quick", exp_path, results);
    /* per seed: none, two dropout strengths, two matched QSD strengths */
    cli_expect(out, "grid done: 15 runs (15 trained, 0 skipped)");
    cli_expect(out, "dropout-seed3: p 0.");
    cli_expect(out, "qv-seed3: dropout_p 0.");
    cli_expect(out, " chosen on validation");
    free(out);
    char *plan = cli_read_file(ts_fmt("%s/plan.json", results), NULL);
    assert_non_null(plan);
    cli_expect(plan, "\"primary\": [\"qv vs dropout\", \"dropout vs none\"]");
    cli_expect(plan, "\"seeds\": 3");
    free(plan);
    for (int seed = 1; seed <= 3; seed++) {
        run_result r, c;
        read_run(ts_fmt("dropout-seed%d", seed), &r);
        assert_int_equal(r.selection.n, 2);
        assert_false(r.selection.swept_p0);
        assert_true(r.selection.strength[0] == 0.5 && r.selection.strength[1] == 0.9);
        /* the setting's run is its chosen candidate's, the best on validation */
        int k = r.selection.chosen, other = 1 - k;
        assert_true(r.selection.val[k] >= r.selection.val[other]);
        read_run(ts_fmt("dropout-seed%d/p%g", seed, r.selection.strength[k]), &c);
        assert_true(c.test == r.test && c.qsd.p == r.qsd.p && c.selection.n == 0);
        assert_true(c.epochs[c.n_epochs - 1].val == r.selection.val[k]);
        /* the training subset: 48 samples of the first 300, too few to learn the
           task whole, so that seeds differ */
        assert_int_equal(c.train_samples, 48);
        result_free(&c);
        result_free(&r);
        read_run(ts_fmt("qv-seed%d", seed), &r);
        assert_true(r.selection.n == 2 && r.selection.swept_p0);
        /* matched in variance to dropout at the chosen dropout_p */
        double p0 = r.selection.strength[r.selection.chosen];
        assert_true(fabs(r.qsd.p - 1.09 / (1 + 2 * (1 - p0) / p0)) < 1e-6);
        result_free(&r);
        char *text = cli_read_file(ts_fmt("%s/none-seed%d/run.txt", results, seed), NULL);
        assert_non_null(text);
        cli_expect(text, "train_subset 48");
        free(text);
    }

    /* done: nothing trains, the choices are the same */
    out = cli_run_expect(0, "experiment '%s' -o '%s' --quick", exp_path, results);
    cli_expect(out, "grid done: 15 runs (0 trained, 15 skipped)");
    free(out);

    char *md = cli_report(results, "report.md: 9 runs of 1 task");
    cli_expect(md, "### Primary contrasts");
    cli_expect(md, "### Strengths chosen on validation");
    cli_expect(md, "| dropout | dropout, p chosen on validation |");
    cli_expect(md, "| qv | QSD n=2 v=0.3 (matched variance), dropout_p chosen on validation |");
    char *oracle = NULL;
    int rc = ts_run(ts_fmt("python3 '%s/tests/report_oracle.py' '%s' '%s/report.md'",
                           ts_source_root(), results, results),
                    &oracle);
    if (rc != 0)
        fail_msg("%s", oracle ? oracle : "the oracle did not run");
    cli_expect(oracle, "every number agrees");
    free(oracle);
    /* the oracle chooses again from the candidates: another choice is noticed */
    char *row = strstr(md, "| dropout | 1 | p | ");
    assert_non_null(row);
    row += strlen("| dropout | 1 | p | ");
    bool first = strncmp(row, "0.5 |", 5) == 0;
    memcpy(row, first ? "0.9" : "0.5", 3);
    const char *edited = ts_write("edited.md", md, strlen(md));
    rc = ts_run(ts_fmt("python3 '%s/tests/report_oracle.py' '%s' '%s'", ts_source_root(),
                       results, edited),
                &oracle);
    if (rc != 1)
        fail_msg("the oracle exits %d on a changed choice: %s", rc, oracle);
    cli_expect(oracle, "Strengths chosen on validation, dropout seed 1 chosen: report has");
    free(oracle);
    free(md);
}

/* Primary contrasts and the number of seeds are stated before the runs:
 * another plan for the same results directory, or a seed added after a
 * look at the results, is refused, and nothing trains. */
static void test_changed_plan_refused(void **state)
{
    (void)state;
    const char *changed[] = {write_experiment("other.yaml", "qv vs none", "1, 2, 3"),
                             write_experiment("more.yaml", "qv vs dropout, dropout vs none",
                                              "1, 2, 3, 4")};
    for (int i = 0; i < 2; i++) {
        char *out = cli_run_expect(1, "experiment '%s' -o '%s' --quick", changed[i], results);
        cli_expect(out, "plan.json states other primary contrasts, margins or number of seeds");
        cli_expect_not(out, "[run 1/");
        free(out);
    }
}

/* An experiment of the fixture's model with these settings (from line 5). */
static int load_settings(const char *settings, experiment *e, qsdc_error *err)
{
    char text[2048];
    snprintf(text, sizeof text, "name: s\nmodel: %s\ndropout_p: 0.5\nseeds: 2\nsettings:\n%s",
             task.model, settings);
    return experiment_load(ts_write("settings.yaml", text, strlen(text)), e, err);
}

/* Sweeps in the experiment file: each candidate resolved, matched ones
 * matched to each dropout_p; a single strength is no sweep; errors at
 * file:line:col. */
static void test_sweep_config(void **state)
{
    (void)state;
    experiment e;
    qsdc_error err = {""};
    if (load_settings("  - {op: dropout, p: [0.5, 0.7, 0.9]}\n"
                      "  - {name: v, match: variance, sites: 2, q_cv: 0.3, "
                      "dropout_p: [0.5, 0.8]}\n"
                      "  - {name: g, p: [0.3, 0.6], sites: 4}\n"
                      "  - {name: one, op: dropout, p: 0.7}\n"
                      "  - {name: m, match: silence, sites: 2, dropout_p: 0.75}\n",
                      &e, &err) < 0)
        fail_msg("%s", err.message);
    const exp_setting *s = e.settings;
    assert_true(s[0].n_strengths == 3 && !s[0].swept_p0);
    for (int c = 0; c < 3; c++)
        assert_true(s[0].candidates[c].p == s[0].strengths[c] && s[0].candidates[c].sites == 1);
    assert_true(s[0].strengths[1] == 0.7 && s[0].qsd.p == 0.5);
    /* (1 + v^2) / (1 + n (1 - p0) / p0): 1.09 / 3 and 1.09 / 1.5 */
    assert_true(s[1].n_strengths == 2 && s[1].swept_p0 && s[1].match == MATCH_VARIANCE);
    assert_true(fabs(s[1].candidates[0].p - 1.09 / 3) < 1e-12);
    assert_true(fabs(s[1].candidates[1].p - 1.09 / 1.5) < 1e-12);
    assert_true(s[1].candidates[1].sites == 2 && s[1].candidates[1].q_cv == 0.3);
    assert_true(s[2].n_strengths == 2 && s[2].candidates[1].p == 0.6 &&
                s[2].candidates[1].sites == 4);
    assert_true(s[3].n_strengths == 0 && s[3].qsd.p == 0.7);
    /* silence at 2 sites: 1 - (1 - p0)^(1/2) */
    assert_true(s[4].n_strengths == 0 && fabs(s[4].qsd.p - 0.5) < 1e-12);
    experiment_free(&e);
    static const struct {
        const char *settings;
        int line, col;
        const char *want;
    } bad[] = {
        {"  - {op: dropout, p: [0.5]}\n", 6, 22, "at least two strengths"},
        {"  - {op: dropout, p: [0.5, 0.5]}\n", 6, 28, "p 0.5 is listed twice"},
        {"  - {op: dropout, p: [0.5, 1.5]}\n", 6, 28, "'p'"},
        {"  - {p: [0.2, 0.4], dropout_p: [0.5, 0.6]}\n", 6, 32, "this setting gives 'p'"},
        /* p = 1.25 p0 at one site with q_cv 0.5: over 1 for p0 0.9 */
        {"  - {match: variance, q_cv: 0.5, dropout_p: [0.5, 0.9]}\n", 6, 51,
         "the variance of dropout at p 0.9"},
        {"  - {op: dropout, dropout_p: [0.5, 0.6]}\n", 6, 19, "unknown key 'dropout_p'"},
        {"  - {op: dropout, p: [0.5, 0.9]}\ntrain: {val_split: 0}\n", 6, 5,
         "has no validation split"},
        {"  - {op: dropout, p: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]}\n", 6, 63,
         "at most 8 strengths"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(load_settings(bad[i].settings, &e, &err), -1);
        char where[64];
        snprintf(where, sizeof where, "settings.yaml:%d:%d: error: ", bad[i].line, bad[i].col);
        if (!strstr(err.message, where) || !strstr(err.message, bad[i].want))
            fail_msg("%s: expected \"%s...%s\", got: %s", bad[i].settings, where, bad[i].want,
                     err.message);
    }
}

/* A candidate's result.json under dir/<candidate>/ with the validation
 * score val (NaN: none) after its one epoch, and test score test. */
static void write_candidate(const exp_setting *s, int c, const char *dir, result_metric m,
                            double val, double test)
{
    char sub[48], at[2 * CLI_PATH_MAX];
    experiment_candidate_dir(s, c, sub);
    snprintf(at, sizeof at, "%s/%s", dir, sub);
    assert_int_equal(system(ts_fmt("mkdir -p '%s'", at)), 0);
    epoch_record e = {.epoch = 1, .train_loss = 1, .val = val, .test = test, .seconds = 1};
    run_result r = {.experiment = "x", .setting = "dropout", .kind = SETTING_DROPOUT,
                    .qsd = s->candidates[c], .seed = 4, .fingerprint = "0123456789abcdef",
                    .metric = m, .test = test,
                    .n_epochs = 1, .epochs = &e};
    qsdc_error err = {""};
    if (result_write(ts_fmt("%s/result.json", at), &r, &err) < 0)
        fail_msg("%s", err.message);
}

/* The choice on known scores: the best on validation whatever its test
 * score, the first listed on a tie, the lowest perplexity; a candidate not
 * finished leaves the choice for later, one without a validation score is
 * an error. */
static void test_select(void **state)
{
    (void)state;
    exp_setting s = {.name = "dropout", .kind = SETTING_DROPOUT, .n_strengths = 3,
                     .strengths = {0.5, 0.7, 0.9}};
    for (int c = 0; c < 3; c++)
        s.candidates[c] = (qsdc_qsd_params){.p = s.strengths[c], .sites = 1};
    static const struct {
        result_metric m;
        double val[3];
        int chosen;
    } cases[] = {
        {RESULT_ACCURACY, {80, 85, 84}, 1},
        {RESULT_ACCURACY, {80, 85, 85}, 1},
        {RESULT_ACCURACY, {90, 85, 89}, 0},
        {RESULT_PERPLEXITY, {120, 110, 100}, 2},
    };
    qsdc_error err = {""};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char dir[CLI_PATH_MAX];
        snprintf(dir, sizeof dir, "%s/select%zu", ts_tmpdir(), k);
        for (int c = 0; c < 3; c++)
            /* test scores ranked against validation: the choice must not see them */
            write_candidate(&s, c, dir, cases[k].m, cases[k].val[c],
                            cases[k].m == RESULT_ACCURACY ? 100 - c : 2 + c);
        double chosen;
        if (experiment_select(&s, 2, dir, &chosen, &err) != 0)
            fail_msg("case %zu: %s", k, err.message);
        assert_true(chosen == s.strengths[cases[k].chosen]);
        run_result r;
        if (result_read(ts_fmt("%s/result.json", dir), &r, &err) < 0)
            fail_msg("%s", err.message);
        int want = cases[k].chosen;
        if (r.selection.chosen != want)
            fail_msg("case %zu: chose %d, want %d", k, r.selection.chosen, want);
        assert_int_equal(r.selection.n, 3);
        assert_int_equal(r.setting_index, 2);
        assert_true(r.qsd.p == s.strengths[want]);
        assert_true(r.test == (cases[k].m == RESULT_ACCURACY ? 100 - want : 2 + want));
        for (int c = 0; c < 3; c++)
            assert_true(r.selection.val[c] == cases[k].val[c] &&
                        r.selection.strength[c] == s.strengths[c]);
        result_free(&r);
    }
    char dir[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/unfinished", ts_tmpdir());
    write_candidate(&s, 0, dir, RESULT_ACCURACY, 80, 80);
    write_candidate(&s, 2, dir, RESULT_ACCURACY, 80, 80);
    double chosen;
    assert_int_equal(experiment_select(&s, 0, dir, &chosen, &err), 1);
    write_candidate(&s, 1, dir, RESULT_ACCURACY, NAN, 80);
    assert_int_equal(experiment_select(&s, 0, dir, &chosen, &err), -1);
    cli_expect(err.message, "p0.7/result.json: no validation score");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_config),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_sweep_grid),
        cmocka_unit_test(test_changed_plan_refused),
    };
    return cmocka_run_group_tests(tests, setup, ts_teardown);
}
