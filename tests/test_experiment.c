/* qsdc experiment and qsdc report end to end, on the CLI fixture's tiny
 * task: a quick grid of 2 settings x 2 seeds x 2 epochs, finished runs
 * skipped on a second call, a lost run trained again to the same result,
 * a grid of a different size or a second grid at once refused, and
 * report.md checked against the result.json files (mean and sd over seeds
 * and the paired difference, computed here from the files). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_fixture.h"
#include "support.h"

static cli_files task;
static char exp_path[CLI_PATH_MAX], results[CLI_PATH_MAX];
static const char *const settings[] = {"dropout", "qsd_variance"};

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    cli_write_task("x", &task);
    char text[4096];
    int n = snprintf(text, sizeof text,
                     "name: tiny\n"
                     "model: %s\n"
                     "dropout_p: 0.5\n"
                     "settings:\n"
                     "  - dropout\n"
                     "  - {name: qsd_variance, match: variance, sites: 2, q_cv: 0.3}\n"
                     "seeds: [1, 2, 3]\n"
                     "epochs: 3\n"
                     "mask_draws: 20000\n"
                     "quick: {epochs: 2, seeds: [1, 2], train_samples: 240, "
                     "test_samples: 96}\n",
                     task.model);
    snprintf(exp_path, sizeof exp_path, "%s", ts_write("tiny.yaml", text, (size_t)n));
    snprintf(results, sizeof results, "%s/results", ts_tmpdir());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_cleanup();
    return 0;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

static char *run_file(const char *setting, int seed, const char *name)
{
    static char path[2 * CLI_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s-seed%d/%s", results, setting, seed, name);
    return path;
}

/* The number after "\n  \"key\": " (a top-level key) in a result.json. */
static double top_number(const char *setting, int seed, const char *key)
{
    char *text = cli_read_file(run_file(setting, seed, "result.json"), NULL);
    if (!text)
        fail_msg("cannot read %s", run_file(setting, seed, "result.json"));
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\n  \"%s\": ", key);
    const char *at = strstr(text, pattern);
    if (!at)
        fail_msg("no %s in %s-seed%d/result.json", key, setting, seed);
    double v = strtod(at + strlen(pattern), NULL);
    free(text);
    return v;
}

/* The first "key": number anywhere in a result.json. */
static double any_number(const char *setting, int seed, const char *key)
{
    char *text = cli_read_file(run_file(setting, seed, "result.json"), NULL);
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *at = text ? strstr(text, pattern) : NULL;
    if (!at)
        fail_msg("no %s in %s-seed%d/result.json", key, setting, seed);
    double v = strtod(at + strlen(pattern), NULL);
    free(text);
    return v;
}

static int count_lines(const char *path)
{
    char *text = cli_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    int n = 0;
    for (const char *c = text; *c; c++)
        n += *c == '\n';
    free(text);
    return n;
}

/* "m ± s" as report.md writes a mean and sample sd over two seeds. */
static void mean_sd_text(double a, double b, int digits, char *buf, size_t n)
{
    double m = (a + b) / 2, sd = sqrt((a - m) * (a - m) + (b - m) * (b - m));
    snprintf(buf, n, "%.*f ± %.*f", digits, m, digits, sd);
}

static void test_quick_grid(void **state)
{
    (void)state;
    char *out = cli_run_expect(0, "experiment '%s' -o '%s' --quick", exp_path, results);
    cli_expect(out, "experiment tiny (quick): 2 settings x 2 seeds, 2 epochs each");
    cli_expect(out, "[run 1/4]");
    cli_expect(out, "[run 4/4]");
    cli_expect(out, "ETA");
    cli_expect(out, "grid done: 4 runs (4 trained, 0 skipped)");
    free(out);
    for (int s = 0; s < 2; s++)
        for (int seed = 1; seed <= 2; seed++) {
            assert_true(exists(run_file(settings[s], seed, "result.json")));
            assert_int_equal(count_lines(run_file(settings[s], seed, "metrics.jsonl")), 2);
            assert_false(exists(run_file(settings[s], seed, "checkpoint.bin")));
            /* 240 samples, 96 test, matched p = (1 + 0.09) / (1 + 2) */
            assert_true(top_number(settings[s], seed, "train_samples") == 240);
            assert_true(top_number(settings[s], seed, "test_samples") == 96);
        }
    assert_true(fabs(any_number("qsd_variance", 1, "p") - 1.09 / 3) < 1e-8);
    assert_false(exists(run_file("dropout", 3, "result.json")));

    /* everything finished: nothing trains */
    out = cli_run_expect(0, "experiment '%s' -o '%s' --quick", exp_path, results);
    cli_expect(out, "grid done: 4 runs (0 trained, 4 skipped)");
    cli_expect_not(out, "train loss");
    free(out);

    /* a lost run is trained again, to the same numbers (same seed, same device) */
    double acc = top_number("qsd_variance", 2, "test_accuracy");
    assert_int_equal(unlink(run_file("qsd_variance", 2, "result.json")), 0);
    out = cli_run_expect(0, "experiment '%s' -o '%s' --quick", exp_path, results);
    cli_expect(out, "grid done: 4 runs (1 trained, 3 skipped)");
    free(out);
    assert_true(top_number("qsd_variance", 2, "test_accuracy") == acc);
}

/* The full grid has other epochs: its runs are not the quick grid's. And
 * while a grid runs (here: while this test holds its lock) no other grid
 * may write the same directory. */
static void test_other_grid_refused(void **state)
{
    (void)state;
    char *out = cli_run_expect(1, "experiment '%s' -o '%s'", exp_path, results);
    cli_expect(out, "dropout-seed1 holds a run of a different experiment grid");
    cli_expect_not(out, "train loss");
    free(out);
    char lock[2 * CLI_PATH_MAX];
    snprintf(lock, sizeof lock, "%s/.lock", results);
    int fd = open(lock, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    out = cli_run_expect(1, "experiment '%s' -o '%s' --quick", exp_path, results);
    cli_expect(out, "another qsdc experiment is running there");
    free(out);
    close(fd);
}

static void test_report(void **state)
{
    (void)state;
    char *out = cli_run_expect(0, "report '%s'", results);
    cli_expect(out, "report.md: 4 runs of 1 task");
    free(out);
    char path[2 * CLI_PATH_MAX];
    snprintf(path, sizeof path, "%s/report.md", results);
    char *md = cli_read_file(path, NULL);
    assert_non_null(md);
    char want[512], ms[128];
    /* every setting's test accuracy, mean ± sd over the two seeds */
    const char *desc[] = {"dropout p=0.5", "QSD p=0.3633 n=2 v=0.3 (matched variance)"};
    double acc[2][2];
    for (int s = 0; s < 2; s++) {
        for (int seed = 1; seed <= 2; seed++)
            acc[s][seed - 1] = top_number(settings[s], seed, "test_accuracy");
        mean_sd_text(acc[s][0], acc[s][1], 2, ms, sizeof ms);
        snprintf(want, sizeof want, "| %s | %s | 2 | %s |", settings[s], desc[s], ms);
        cli_expect(md, want);
    }
    /* QSD minus dropout, paired by seed */
    snprintf(want, sizeof want, "| qsd_variance − dropout | 2 | %+.2f |",
             (acc[1][0] - acc[0][0] + acc[1][1] - acc[0][1]) / 2);
    cli_expect(md, want);
    cli_expect(md, "between qsd_variance and dropout on tiny");
    /* the hidden layer's zero fraction */
    mean_sd_text(any_number("dropout", 1, "zero_fraction"),
                 any_number("dropout", 2, "zero_fraction"), 4, ms, sizeof ms);
    snprintf(want, sizeof want, "| dropout | relu2 | %s |", ms);
    cli_expect(md, want);
    /* masks: both seeds' draws pooled, dropout's analytic values */
    cli_expect(md, "| dropout | qsd3 | 40000 |");
    cli_expect(md, "| 1.0000 | 1.0000 |");
    cli_expect(md, "### Trained weights and biases");
    cli_expect(md, "| dense1.weight | qsd_variance |");

    char *where = NULL;
    bool gnuplot = ts_run("command -v gnuplot", &where) == 0;
    free(where);
    if (!gnuplot) {
        cli_expect(md, "No figures: gnuplot is not installed");
    } else {
        static const char *const figs[] = {"curves", "sparsity", "weights", "biases", "masks"};
        for (size_t f = 0; f < sizeof figs / sizeof figs[0]; f++)
            for (int k = 0; k < 2; k++) {
                snprintf(path, sizeof path, "%s/figures/%s-tiny.%s", results, figs[f],
                         k ? "png" : "svg");
                if (!exists(path))
                    fail_msg("missing figure %s", path);
                snprintf(want, sizeof want, "figures/%s-tiny.%s", figs[f], k ? "png" : "svg");
                cli_expect(md, want);
            }
    }
    free(md);
}

static void test_usage_and_errors(void **state)
{
    (void)state;
    char *out = cli_run_expect(2, "experiment");
    cli_expect(out, "usage: qsdc experiment");
    free(out);
    out = cli_run_expect(2, "experiment '%s' --epochs 3", exp_path);
    free(out);
    out = cli_run_expect(2, "report");
    cli_expect(out, "usage: qsdc report");
    free(out);
    const char bad[] = "name: tiny\nmodel: nowhere.yaml\nseeds: 1\nsettings: [none]\n";
    const char *path = ts_write("bad.yaml", bad, strlen(bad));
    out = cli_run_expect(1, "experiment '%s'", path);
    cli_expect(out, "nowhere.yaml: cannot open");
    free(out);
    char empty[CLI_PATH_MAX];
    snprintf(empty, sizeof empty, "%s/empty", ts_tmpdir());
    assert_int_equal(mkdir(empty, 0777), 0);
    out = cli_run_expect(1, "report '%s'", empty);
    cli_expect(out, "no finished runs");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quick_grid),
        cmocka_unit_test(test_other_grid_refused),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_usage_and_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
