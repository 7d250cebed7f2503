/* qsdc report on result.json files it cannot trust (docs/testing.md):
 * names that would run commands in gnuplot's script or break report.md's
 * tables, names that result.json must carry back unchanged, an experiment
 * name that would lead its figures out of the results directory, a copied
 * run folder that would count a seed twice, and numbers outside their
 * range. No device: the runs are written here with result_write. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_fixture.h"
#include "report.h"
#include "report_escape.h"
#include "support.h"

#define DIR_MAX 600
#define PATH_MAX_TEST 1400

/* The payload: gnuplot's `.` joins strings, system() runs a shell. */
static const char payload[] = "dropout' . system('id > pwned.txt') . '";

/* A complete run of a classifier with two epochs, one hidden layer, one
 * weight tensor and one regularised layer's masks, so that every table and
 * figure of the report names its setting. */
typedef struct test_run {
    run_result r;
    epoch_record epochs[2];
    activity_record act;
    param_record par;
    mask_record mask;
} test_run;

static void make_run(test_run *t, const char *setting, setting_kind kind, uint64_t seed,
                     double test)
{
    memset(t, 0, sizeof *t);
    t->epochs[0] = (epoch_record){.epoch = 1, .train_loss = 0.9, .val = 60, .test = test - 5,
                                  .seconds = 1};
    t->epochs[1] = (epoch_record){.epoch = 2, .train_loss = 0.5, .val = 70, .test = test,
                                  .seconds = 1};
    t->act = (activity_record){.units = 8, .samples = 10, .zero_mean = 0.25, .hoyer_mean = 0.5};
    snprintf(t->act.layer, sizeof t->act.layer, "relu|1");
    hist_init(&t->act.zero_hist, 0, 1, 4);
    hist_init(&t->act.hoyer_hist, 0, 1, 4);
    t->act.zero_hist.counts[1] = 10;
    t->act.hoyer_hist.counts[2] = 10;
    snprintf(t->par.tensor, sizeof t->par.tensor, "dense'1.weight");
    float w[4] = {-1, 0.5f, 1, 2};
    stats_summarise(w, 4, &t->par.s);
    hist_init(&t->par.hist, -1, 2, 3);
    t->par.hist.counts[0] = t->par.hist.counts[1] = t->par.hist.counts[2] = 1;
    t->mask = (mask_record){.draws = 100, .mean = 1, .var = 1, .pr_zero = 0.5, .want_mean = 1,
                            .want_var = 1, .want_pr_zero = 0.5};
    snprintf(t->mask.layer, sizeof t->mask.layer, "qsd\n1");
    hist_init(&t->mask.hist, 0, 2, 4);
    t->mask.hist.counts[3] = 50;
    t->r = (run_result){.experiment = "exp", .kind = kind, .seed = seed,
                        .qsd = {0.5, 1, 0, 0, QSDC_SHARE_ELEMENT}, .fingerprint = "f",
                        .device = "dev | with\na newline", .train_samples = 100,
                        .test_samples = 10, .train_seconds = 2, .test = test, .n_epochs = 2,
                        .n_activity = 1, .n_params = 1, .n_masks = 1, .epochs = t->epochs,
                        .activity = &t->act, .params = &t->par, .masks = &t->mask};
    snprintf(t->r.setting, sizeof t->r.setting, "%s", setting);
}

/* Writes t as dir/run/result.json, dir and dir/run made when missing. */
static void write_run(const char *dir, const char *run, const test_run *t)
{
    char path[PATH_MAX_TEST];
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/%s", dir, run);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%s/result.json", dir, run);
    qsdc_error err = {""};
    if (result_write(path, &t->r, &err) < 0)
        fail_msg("%s", err.message);
}

static const char *fresh_dir(const char *name)
{
    static char dir[DIR_MAX];
    snprintf(dir, sizeof dir, "%s/%s", ts_tmpdir(), name);
    return dir;
}

static bool exists(const char *dir, const char *name)
{
    char path[PATH_MAX_TEST];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static char *read_file(const char *dir, const char *name)
{
    char path[PATH_MAX_TEST];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = cli_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    return text;
}

/* Two settings of two seeds, one named by s, one by the payload. */
static const char *write_hostile_grid(const char *name, const char *s)
{
    const char *dir = fresh_dir(name);
    test_run t;
    for (int seed = 1; seed <= 2; seed++) {
        char run[96];
        make_run(&t, payload, SETTING_DROPOUT, (uint64_t)seed, 80 + seed);
        snprintf(run, sizeof run, "payload-seed%d", seed);
        write_run(dir, run, &t);
        make_run(&t, s, SETTING_NONE, (uint64_t)seed, 70 + 3 * seed);
        snprintf(run, sizeof run, "other-seed%d", seed);
        write_run(dir, run, &t);
    }
    return dir;
}

/* report_write, failing the test with gnuplot's log when it fails. */
static void write_report(const char *dir)
{
    qsdc_error err = {""};
    if (report_write(dir, NULL, &err) < 0) {
        char log[DIR_MAX + 32];
        snprintf(log, sizeof log, "%s/figures/gnuplot.log", dir);
        char *text = cli_read_file(log, NULL);
        fail_msg("%s\n%s", err.message, text ? text : "");
    }
}

/* The report of write_hostile_grid(name, s): its figures' folder into
 * figdir, gnuplot's script returned (malloc'd). */
static char *hostile_script(const char *name, const char *s, char figdir[DIR_MAX + 8])
{
    const char *dir = write_hostile_grid(name, s);
    write_report(dir);
    snprintf(figdir, DIR_MAX + 8, "%s/figures", dir);
    return read_file(figdir, "report.gp");
}

static bool have_gnuplot(void)
{
    char *where = NULL;
    bool found = ts_run("command -v gnuplot", &where) == 0;
    free(where);
    return found;
}

/* The payload and a name of every character gnuplot or a shell could act
 * on: gnuplot draws every figure, runs nothing, and its script holds each
 * name as single-quoted strings, each quote a string "'" of its own. */
static void test_gnuplot_runs_no_name(void **state)
{
    (void)state;
    char figdir[DIR_MAX + 8];
    char *gp = hostile_script("gnuplot", "a'b\nset output 'x'\n`touch bq` @x \\ \"c\"", figdir);
    assert_false(exists(figdir, "pwned.txt"));
    assert_false(exists(figdir, "../pwned.txt"));
    assert_false(exists(figdir, "bq"));
    assert_false(exists(figdir, "x"));
    assert_null(strstr(gp, "system('id"));
    assert_non_null(strstr(gp, " title 'dropout' . \"'\" . ' . system(' . \"'\" . 'id > "
                               "pwned.txt' . \"'\" . ') . ' . \"'\" . ''"));
    assert_non_null(strstr(gp, " title 'a' . \"'\" . 'b?set output ' . \"'\" . 'x' . \"'\" . "
                               "'?`touch bq` @x \\ \"c\"'"));
    /* a tensor's name is a panel's title */
    assert_non_null(strstr(gp, "set title 'dense' . \"'\" . '1.weight'"));
    free(gp);
    if (have_gnuplot()) {
        assert_true(exists(figdir, "curves-exp.svg"));
        assert_true(exists(figdir, "masks-exp.png"));
    }
}

/* Every single quote of the script's lines pairs up, and gnuplot reads a
 * name of quotes alone (doubled quotes would give it 'unexpected token'). */
static void test_gnuplot_quotes_pair(void **state)
{
    (void)state;
    char figdir[DIR_MAX + 8];
    char *gp = hostile_script("quotes", "'''", figdir);
    /* outside double-quoted strings, the quotes of each line are even */
    int quotes = 0;
    bool in_double = false;
    for (const char *c = gp; *c; c++) {
        if (*c == '"' && !(quotes & 1))
            in_double = !in_double;
        else if (*c == '\'' && !in_double)
            quotes++;
        else if (*c == '\n' && (quotes & 1))
            fail_msg("an unpaired quote on the line ending at byte %td of report.gp",
                     c - gp);
    }
    free(gp);
}

/* A name with '|' or a newline stays in its cell of report.md's tables and
 * its verdict sentence stays one list item. */
static void test_markdown_cells(void **state)
{
    (void)state;
    const char *dir = write_hostile_grid("markdown", "none|x\n| injected |");
    write_report(dir);
    char *md = read_file(dir, "report.md");
    if (!strstr(md, "\n| none\\|x \\| injected \\| | none | 2 | "))
        fail_msg("no escaped setting row in:\n%s", md);
    assert_null(strstr(md, "\n| injected |"));
    assert_null(strstr(md, "none|x"));
    /* the layer and tensor names in their cells, the device on its line */
    assert_non_null(strstr(md, "| relu\\|1 | "));
    assert_non_null(strstr(md, "| dense'1.weight | "));
    assert_non_null(strstr(md, "| qsd 1 | 200 |"));
    assert_non_null(strstr(md, "on dev \\| with a newline."));
    free(md);
    char out[16];
    assert_string_equal(report_markdown("a|b\\c\r", out, sizeof out), "a\\|b\\\\c ");
    /* truncated before an escape that does not fit */
    assert_string_equal(report_markdown("abc|", out, 5), "abc");
}

/* Names result.json must carry back as they were written: JSON escapes for
 * what YAML will not read raw (controls, DEL, C1 controls, U+2028, U+FFFE),
 * U+FFFD for a byte that is not UTF-8. */
static void test_json_names_round_trip(void **state)
{
    (void)state;
    static const char *const names[] = {
        "quote \" backslash \\ tab \t newline \n",
        "del \x7f nel \xc2\x85 c1 \xc2\x80 ls \xe2\x80\xa8 ps \xe2\x80\xa9 fffe \xef\xbf\xbe",
        "utf-8 \xc3\xa9 \xe2\x88\x92 \xf0\x9f\x98\x80",
    };
    test_run t;
    const char *dir = fresh_dir("json");
    qsdc_error err = {""};
    char path[PATH_MAX_TEST];
    snprintf(path, sizeof path, "%s/r/result.json", dir);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        make_run(&t, names[i], SETTING_NONE, 1, 50);
        snprintf(t.r.device, sizeof t.r.device, "%s", names[i]);
        write_run(dir, "r", &t);
        run_result back;
        if (result_read(path, &back, &err) < 0)
            fail_msg("name %zu: %s", i, err.message);
        assert_string_equal(back.setting, names[i]);
        assert_string_equal(back.device, names[i]);
        assert_string_equal(back.masks[0].layer, "qsd\n1");
        result_free(&back);
    }
    make_run(&t, "stray \xff byte, cut \xe2\x88, overlong \xc0\xaf", SETTING_NONE, 1, 50);
    write_run(dir, "r", &t);
    run_result back;
    if (result_read(path, &back, &err) < 0)
        fail_msg("%s", err.message);
    assert_string_equal(back.setting, "stray \xef\xbf\xbd byte, cut \xef\xbf\xbd\xef\xbf\xbd, "
                                      "overlong \xef\xbf\xbd\xef\xbf\xbd");
    result_free(&back);
}

/* The experiment's name names the figures' files: it must be an
 * identifier, as in an experiment file. */
static void test_experiment_name_refused(void **state)
{
    (void)state;
    const char *dir = fresh_dir("traversal");
    test_run t;
    make_run(&t, "none", SETTING_NONE, 1, 50);
    snprintf(t.r.experiment, sizeof t.r.experiment, "../../escaped");
    write_run(dir, "none-seed1", &t);
    qsdc_error err = {""};
    assert_int_equal(report_write(dir, NULL, &err), -1);
    if (!strstr(err.message, "none-seed1/result.json:3:") ||
        !strstr(err.message, "'experiment' must be an identifier"))
        fail_msg("%s", err.message);
    assert_false(exists(dir, "figures"));
    assert_false(exists(dir, "report.md"));
}

/* A copied run folder holds a seed already counted: refused, both files
 * named, rather than a paired test with a degree of freedom too many. */
static void test_duplicate_seed_refused(void **state)
{
    (void)state;
    const char *dir = fresh_dir("duplicate");
    test_run t;
    for (int seed = 1; seed <= 3; seed++)
        for (int k = 0; k < 2; k++) {
            char run[96];
            make_run(&t, k ? "dropout" : "none", k ? SETTING_DROPOUT : SETTING_NONE,
                     (uint64_t)seed, 70 + seed + k);
            snprintf(run, sizeof run, "%s-seed%d", t.r.setting, seed);
            write_run(dir, run, &t);
        }
    make_run(&t, "dropout", SETTING_DROPOUT, 1, 99);
    write_run(dir, "dropout-seed1.bak", &t);
    qsdc_error err = {""};
    report rep;
    assert_int_equal(report_load(dir, &rep, &err), -1);
    if (!strstr(err.message, "dropout-seed1/result.json and ") ||
        !strstr(err.message, "dropout-seed1.bak/result.json both hold seed 1 of setting "
                             "dropout of experiment exp"))
        fail_msg("%s", err.message);
    /* the same seed in another setting or experiment is no duplicate */
    make_run(&t, "dropout", SETTING_DROPOUT, 1, 99);
    snprintf(t.r.experiment, sizeof t.r.experiment, "other");
    write_run(dir, "dropout-seed1.bak", &t);
    if (report_load(dir, &rep, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(rep.n_runs, 7);
    report_free(&rep);
}

/* One run whose field was set by change; the error must name the file and
 * say want. */
static void expect_out_of_range(const char *name, void (*change)(test_run *),
                                const char *want)
{
    const char *dir = fresh_dir(name);
    test_run t;
    make_run(&t, "none", SETTING_NONE, 1, 50);
    change(&t);
    write_run(dir, "none-seed1", &t);
    qsdc_error err = {""};
    report rep;
    assert_int_equal(report_load(dir, &rep, &err), -1);
    if (!strstr(err.message, "none-seed1/result.json:") || !strstr(err.message, want))
        fail_msg("%s: %s", name, err.message);
}

static void huge_accuracy(test_run *t) { t->r.test = 1e300; }
static void negative_accuracy(test_run *t) { t->epochs[1].val = -1; }
static void small_perplexity(test_run *t)
{
    t->r.metric = RESULT_PERPLEXITY;
    t->r.test = 0.5;
}
static void epoch_perplexity(test_run *t)
{
    t->r.metric = RESULT_PERPLEXITY;
    t->r.test = 20;
    t->epochs[0].test = 0;
    t->epochs[0].val = 30;
    t->epochs[1].val = 30;
    t->epochs[1].test = 25;
}
static void negative_loss(test_run *t) { t->epochs[0].train_loss = -0.5; }
static void zero_fraction(test_run *t) { t->act.zero_mean = 1.5; }
static void hoyer(test_run *t) { t->act.hoyer_mean = -0.25; }
static void pr_zero(test_run *t) { t->mask.pr_zero = 2; }
static void seconds(test_run *t) { t->r.train_seconds = -3; }

static void test_values_out_of_range(void **state)
{
    (void)state;
    expect_out_of_range("acc", huge_accuracy, "'test_accuracy' must be in [0, 100], found 1e+300");
    expect_out_of_range("val", negative_accuracy, "'val_accuracy' must be in [0, 100], found -1");
    expect_out_of_range("ppl", small_perplexity, "'test_perplexity' must be >= 1, found 0.5");
    expect_out_of_range("eppl", epoch_perplexity, "'test_perplexity' must be >= 1, found 0");
    expect_out_of_range("loss", negative_loss, "'train_loss' must be >= 0, found -0.5");
    expect_out_of_range("zero", zero_fraction, "'zero_fraction' must be in [0, 1], found 1.5");
    expect_out_of_range("hoyer", hoyer, "'hoyer' must be in [0, 1], found -0.25");
    expect_out_of_range("prz", pr_zero, "'pr_zero' must be in [0, 1], found 2");
    expect_out_of_range("secs", seconds, "'train_seconds' must be >= 0, found -3");
    /* null, as a value not measured is written, stays allowed */
    const char *dir = fresh_dir("null");
    test_run t;
    make_run(&t, "none", SETTING_NONE, 1, 50);
    t.act.hoyer_mean = NAN;
    t.epochs[0].val = NAN;
    write_run(dir, "none-seed1", &t);
    qsdc_error err = {""};
    report rep;
    if (report_load(dir, &rep, &err) < 0)
        fail_msg("%s", err.message);
    report_free(&rep);
}

/* A report that cannot be written fails naming the file, not exit 0. */
static void test_report_write_failure(void **state)
{
    (void)state;
    const char *dir = write_hostile_grid("unwritable", "none");
    char path[PATH_MAX_TEST];
    snprintf(path, sizeof path, "%s/report.md", dir);
    assert_int_equal(mkdir(path, 0777), 0);
    qsdc_error err = {""};
    assert_int_equal(report_write(dir, NULL, &err), -1);
    if (!strstr(err.message, "report.md: cannot write: Is a directory"))
        fail_msg("%s", err.message);
}

/* A metrics file is read whole only within the bound of result.json, which
 * holds the same epochs: a huge one is refused by its size, unread. */
static void test_metrics_file_bounded(void **state)
{
    (void)state;
    const char *path = ts_write("huge.jsonl", "", 0);
    assert_int_equal(truncate(path, (off_t)17 << 20), 0);
    run_result r = {0};
    qsdc_error err = {""};
    assert_int_equal(result_read_metrics(path, &r, &err), -1);
    if (!strstr(err.message, "huge.jsonl: file too large (17825792 bytes, limit 16 MiB)"))
        fail_msg("%s", err.message);
    result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gnuplot_runs_no_name),
        cmocka_unit_test(test_gnuplot_quotes_pair),
        cmocka_unit_test(test_markdown_cells),
        cmocka_unit_test(test_json_names_round_trip),
        cmocka_unit_test(test_experiment_name_refused),
        cmocka_unit_test(test_duplicate_seed_refused),
        cmocka_unit_test(test_values_out_of_range),
        cmocka_unit_test(test_report_write_failure),
        cmocka_unit_test(test_metrics_file_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
