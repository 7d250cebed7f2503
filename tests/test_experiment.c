/* qsdc experiment and qsdc report end to end, on the CLI fixture's tiny
 * task: a quick grid of 2 settings x 2 seeds x 2 epochs, finished runs
 * skipped on a second call, a lost run trained again to the same result,
 * a grid of a different size or a second grid at once refused, two
 * processes sharing one grid, and
 * report.md checked against the result.json files (mean and sd over seeds
 * and the paired difference, computed here from the files). Then a tiny
 * language model's quick grid, scored by perplexity on a subset of a
 * corpus written here, and the verdict sentences with known numbers: lower
 * perplexity beats, lower accuracy loses. */
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
#include "report.h"
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

static char *run_file(const char *dir, const char *setting, int seed, const char *name)
{
    static char path[2 * CLI_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s-seed%d/%s", dir, setting, seed, name);
    return path;
}

/* The number after "\n  \"key\": " (a top-level key) in a result.json. */
static double top_number(const char *dir, const char *setting, int seed, const char *key)
{
    char *text = cli_read_file(run_file(dir, setting, seed, "result.json"), NULL);
    if (!text)
        fail_msg("cannot read %s", run_file(dir, setting, seed, "result.json"));
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
static double any_number(const char *dir, const char *setting, int seed, const char *key)
{
    char *text = cli_read_file(run_file(dir, setting, seed, "result.json"), NULL);
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

/* The table row "| name | desc | 2 | mean ± sd |" of each of n settings,
 * from key in its two seeds' result.json (the values into v), and the row
 * of setting a − b paired by seed. */
static void expect_two_seed_rows(const char *md, const char *dir, int n,
                                 const char *const *names, const char *const *desc,
                                 const char *key, int a, int b)
{
    char want[512], ms[128];
    double v[3][2];
    for (int s = 0; s < n; s++) {
        for (int seed = 1; seed <= 2; seed++)
            v[s][seed - 1] = top_number(dir, names[s], seed, key);
        mean_sd_text(v[s][0], v[s][1], 2, ms, sizeof ms);
        snprintf(want, sizeof want, "| %s | %s | 2 | %s |", names[s], desc[s], ms);
        cli_expect(md, want);
    }
    snprintf(want, sizeof want, "| %s − %s | 2 | %+.2f |", names[a], names[b],
             (v[a][0] - v[b][0] + v[a][1] - v[b][1]) / 2);
    cli_expect(md, want);
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
            assert_true(exists(run_file(results, settings[s], seed, "result.json")));
            assert_int_equal(
                count_lines(run_file(results, settings[s], seed, "metrics.jsonl")), 2);
            assert_false(exists(run_file(results, settings[s], seed, "checkpoint.bin")));
            /* 240 samples, 96 test, matched p = (1 + 0.09) / (1 + 2) */
            assert_true(top_number(results, settings[s], seed, "train_samples") == 240);
            assert_true(top_number(results, settings[s], seed, "test_samples") == 96);
        }
    assert_true(fabs(any_number(results, "qsd_variance", 1, "p") - 1.09 / 3) < 1e-8);
    assert_false(exists(run_file(results, "dropout", 3, "result.json")));

    /* everything finished: nothing trains */
    out = cli_run_expect(0, "experiment '%s' -o '%s' --quick", exp_path, results);
    cli_expect(out, "grid done: 4 runs (0 trained, 4 skipped)");
    cli_expect_not(out, "train loss");
    free(out);

    /* a lost run is trained again, to the same numbers (same seed, same device) */
    double acc = top_number(results, "qsd_variance", 2, "test_accuracy");
    assert_int_equal(unlink(run_file(results, "qsd_variance", 2, "result.json")), 0);
    out = cli_run_expect(0, "experiment '%s' -o '%s' --quick", exp_path, results);
    cli_expect(out, "grid done: 4 runs (1 trained, 3 skipped)");
    free(out);
    assert_true(top_number(results, "qsd_variance", 2, "test_accuracy") == acc);
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

/* "(N trained" of a grid's last line in the file at path. */
static int trained_in(const char *path)
{
    char *text = cli_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    const char *at = strstr(text, "grid done: ");
    if (!at)
        at = strstr(text, "grid pass done: ");
    if (!at)
        fail_msg("no grid summary in %s:\n%s", path, text);
    int n = -1;
    at = strchr(at, '(');
    if (!at || sscanf(at, "(%d trained", &n) != 1)
        fail_msg("no trained count in %s", path);
    free(text);
    return n;
}

/* flock(how) on dir/.lock, with text (when not NULL) written in it. */
static int hold_lock(const char *dir, int how, const char *text)
{
    char path[2 * CLI_PATH_MAX];
    snprintf(path, sizeof path, "%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, how | LOCK_NB), 0);
    if (text) {
        assert_int_equal(ftruncate(fd, 0), 0);
        assert_int_equal(pwrite(fd, text, strlen(text), 0), (ssize_t)strlen(text));
    }
    return fd;
}

/* Two processes started at once on one grid share it: together they train
 * each run once, to the numbers one process alone got. A run whose lock
 * another process holds is left to it, and a different grid is refused
 * while one runs in the directory. */
static void test_grid_shared(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX], a[CLI_PATH_MAX + 8], b[CLI_PATH_MAX + 8], cmd[12 * CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/shared", ts_tmpdir());
    snprintf(a, sizeof a, "%s/a.txt", ts_tmpdir());
    snprintf(b, sizeof b, "%s/b.txt", ts_tmpdir());
    snprintf(cmd, sizeof cmd,
             "'%s' experiment '%s' -o '%s' --quick > '%s' 2>&1 & "
             "'%s' experiment '%s' -o '%s' --quick > '%s' 2>&1; s=$?; wait $! && exit $s",
             ts_qsdc(), exp_path, dir, a, ts_qsdc(), exp_path, dir, b);
    char *out;
    int status = ts_run(cmd, &out);
    free(out);
    if (status != 0)
        fail_msg("exit %d:\n%s\n%s", status, cli_read_file(a, NULL), cli_read_file(b, NULL));
    assert_int_equal(trained_in(a) + trained_in(b), 4);
    for (int s = 0; s < 2; s++)
        for (int seed = 1; seed <= 2; seed++)
            assert_true(top_number(dir, settings[s], seed, "test_accuracy") ==
                        top_number(results, settings[s], seed, "test_accuracy"));

    assert_int_equal(unlink(run_file(dir, "dropout", 2, "result.json")), 0);
    char run_dir[2 * CLI_PATH_MAX];
    snprintf(run_dir, sizeof run_dir, "%s/dropout-seed2", dir);
    int fd = hold_lock(run_dir, LOCK_EX, NULL);
    out = cli_run_expect(0, "experiment '%s' -o '%s' --quick", exp_path, dir);
    cli_expect(out, "dropout-seed2: being trained by another qsdc experiment, left to it");
    cli_expect(out, "grid pass done: 4 runs (0 trained, 3 skipped, 1 being trained by other "
                    "processes)");
    free(out);
    assert_false(exists(run_file(dir, "dropout", 2, "result.json")));
    close(fd);
    out = cli_run_expect(0, "experiment '%s' -o '%s' --quick", exp_path, dir);
    cli_expect(out, "grid done: 4 runs (1 trained, 3 skipped)");
    free(out);

    fd = hold_lock(dir, LOCK_SH, "0123456789abcdef");
    out = cli_run_expect(1, "experiment '%s' -o '%s' --quick", exp_path, dir);
    cli_expect(out, "another qsdc experiment is running a different grid there (grid "
                    "0123456789abcdef");
    cli_expect_not(out, "train loss");
    free(out);
    close(fd);
}

static void test_report(void **state)
{
    (void)state;
    char *md = cli_report(results, "report.md: 4 runs of 1 task");
    char path[2 * CLI_PATH_MAX], want[512], ms[128];
    /* every setting's test accuracy, mean ± sd over the two seeds, and QSD
     * minus dropout paired by seed */
    const char *const desc[] = {"dropout p=0.5", "QSD p=0.3633 n=2 v=0.3 (matched variance)"};
    expect_two_seed_rows(md, results, 2, settings, desc, "test_accuracy", 1, 0);
    cli_expect(md, "between qsd_variance and dropout on tiny");
    /* the hidden layer's zero fraction */
    mean_sd_text(any_number(results, "dropout", 1, "zero_fraction"),
                 any_number(results, "dropout", 2, "zero_fraction"), 4, ms, sizeof ms);
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

/* ---- a language model ---------------------------------------------------- */

static char lm_results[CLI_PATH_MAX];
static const char *const lm_settings[] = {"none", "dropout", "qsd_variance"};

/* 600 lines of "w1 w2 w3 ." with w2 and w3 set by w1: 2400 tokens, so the
 * training split (80%) has 1920 and the test split (10%) 240. */
static void write_lm_experiment(char *path, size_t n)
{
    static const char *const words[] = {"red", "green", "blue", "cat", "dog"};
    char *text = malloc(600 * 32), *p = text;
    uint32_t state = 7;
    for (int i = 0; i < 600; i++) {
        state = state * 1103515245u + 12345u;
        int w = (int)(state >> 16) % 5;
        p += sprintf(p, "%s %s %s .\n", words[w], words[(w + 1) % 5], words[(w + 3) % 5]);
    }
    ts_write("lm.txt", text, (size_t)(p - text));
    free(text);
    const char model[] = "name: lm\n"
                         "input: {shape: [4], dtype: int32}\n"
                         "layers:\n"
                         "  - {op: embedding, vocab: 8, dim: 8}\n"
                         "  - {op: dropout, p: 0.5}\n"
                         "  - {op: lstm, units: 8, stateful: true}\n"
                         "  - {op: dropout, p: 0.5}\n"
                         "  - {op: dense, units: 8}\n"
                         "train:\n"
                         "  data: {format: text, corpus: lm.txt, vocab: 6, split: [0.8, 0.1]}\n"
                         "  batch: 4\n"
                         "  epochs: 3\n"
                         "  optimizer: {type: adam, lr: 0.01}\n";
    ts_write("lm.yaml", model, strlen(model));
    /* quick: 48 of the 480 training sequences (12 batches), 8 of the 60
     * test ones (2 batches) */
    const char exp[] = "name: lm\n"
                       "model: lm.yaml\n"
                       "settings:\n"
                       "  - none\n"
                       "  - dropout\n"
                       "  - {name: qsd_variance, match: variance, sites: 2, q_cv: 0.3}\n"
                       "seeds: 3\n"
                       "mask_draws: 2000\n"
                       "quick: {epochs: 2, seeds: [1, 2], train_samples: 48, test_samples: 8}\n";
    snprintf(path, n, "%s", ts_write("lm_exp.yaml", exp, strlen(exp)));
    snprintf(lm_results, sizeof lm_results, "%s/lm_results", ts_tmpdir());
}

static void test_language_model_grid(void **state)
{
    (void)state;
    char path[CLI_PATH_MAX];
    write_lm_experiment(path, sizeof path);
    char *out = cli_run_expect(0, "experiment '%s' -o '%s' --quick", path, lm_results);
    cli_expect(out, "experiment lm (quick): 3 settings x 2 seeds, 2 epochs each");
    cli_expect(out, "12 steps/epoch");
    cli_expect(out, "grid done: 6 runs (6 trained, 0 skipped)");
    free(out);
    for (int s = 0; s < 3; s++)
        for (int seed = 1; seed <= 2; seed++) {
            char *json = cli_read_file(run_file(lm_results, lm_settings[s], seed, "result.json"),
                                       NULL);
            assert_non_null(json);
            cli_expect(json, "\n  \"metric\": \"perplexity\",\n  \"test_perplexity\": ");
            cli_expect(json, "\"val_perplexity\": ");
            /* no accuracy, no activity, and the carried state is no parameter */
            cli_expect_not(json, "accuracy");
            cli_expect(json, "\"activity\": [\n  ]");
            cli_expect(json, "\"tensor\": \"lstm");
            cli_expect_not(json, ".carry");
            free(json);
            assert_true(top_number(lm_results, lm_settings[s], seed, "train_samples") == 48);
            assert_true(top_number(lm_results, lm_settings[s], seed, "test_samples") == 8);
            /* a perplexity: above 1, below the 8 scores' uniform guess */
            double ppl = top_number(lm_results, lm_settings[s], seed, "test_perplexity");
            assert_true(ppl > 1 && ppl < 8);
            assert_int_equal(
                count_lines(run_file(lm_results, lm_settings[s], seed, "metrics.jsonl")), 2);
            /* the record names the corpus without this machine's folder */
            char *run = cli_read_file(run_file(lm_results, lm_settings[s], seed, "run.txt"),
                                      NULL);
            assert_non_null(run);
            cli_expect(run, "\ntext lm.txt chars 0 vocab 6 ");
            cli_expect_not(run, ts_tmpdir());
            free(run);
        }
    /* the regularised layers' masks were drawn */
    char *json = cli_read_file(run_file(lm_results, "qsd_variance", 1, "result.json"), NULL);
    cli_expect(json, "\"masks\": [\n    {\"layer\": \"dropout1\", \"draws\": 2000");
    free(json);
}

static void test_language_model_report(void **state)
{
    (void)state;
    char *md = cli_report(lm_results, "report.md: 6 runs of 1 task");
    cli_expect(md, "48 training sequences, 8 test sequences");
    cli_expect(md, "### Test perplexity\n\nLower is better.");
    cli_expect(md, "| test perplexity (mean ± sd) |");
    cli_expect_not(md, "accuracy");
    const char *const desc[] = {"none", "dropout p=0.5",
                                "QSD p=0.3633 n=2 v=0.3 (matched variance)"};
    expect_two_seed_rows(md, lm_results, 3, lm_settings, desc, "test_perplexity", 2, 1);
    cli_expect(md, "differences in test perplexity (lower is better");
    cli_expect(md, "qsd_variance and dropout on lm: test perplexity differs by");
    cli_expect(md, "Not measured: a language model's test set");
    cli_expect(md, "| lstm");
    cli_expect(md, "### Masks sampled on the device");
    free(md);
}

/* The sentence of a comparison with known numbers: QSD's perplexity 10
 * below dropout's on every seed beats it, the same numbers as accuracy
 * lose, and a difference within the noise is no verdict. */
static void test_verdict_direction(void **state)
{
    (void)state;
    const double qsd[] = {100, 101, 102, 103}, dropout[] = {110.5, 111, 111.5, 113};
    paired_test t;
    assert_int_equal(stats_paired_t(qsd, dropout, 4, &t), 0);
    rep_comparison c = {.task = "lm", .a = "qsd", .b = "dropout", .measure = MEASURE_SCORE,
                        .metric = RESULT_PERPLEXITY};
    strbuf sb;
    sb_init(&sb);
    report_verdict(&sb, &c, &t);
    cli_expect(sb_str(&sb), "- **qsd beat dropout** on lm: test perplexity lower by 10.00 ");
    cli_expect(sb_str(&sb), ", df = 3, p < 0.001, 4 seeds).");
    sb_free(&sb);
    c.metric = RESULT_ACCURACY;
    c.task = "mlp";
    sb_init(&sb);
    report_verdict(&sb, &c, &t);
    cli_expect(sb_str(&sb),
               "- **qsd did worse than dropout** on mlp: test accuracy lower by 10.00 points ");
    sb_free(&sb);
    /* the other way round: higher perplexity loses */
    assert_int_equal(stats_paired_t(dropout, qsd, 4, &t), 0);
    c.metric = RESULT_PERPLEXITY;
    sb_init(&sb);
    report_verdict(&sb, &c, &t);
    cli_expect(sb_str(&sb), "- **qsd did worse than dropout** on mlp: test perplexity higher "
                            "by 10.00 (95% interval +");
    sb_free(&sb);
    const double noisy[] = {120, 100, 118, 101};
    assert_int_equal(stats_paired_t(noisy, dropout, 4, &t), 0);
    sb_init(&sb);
    report_verdict(&sb, &c, &t);
    cli_expect(sb_str(&sb), "- **No significant difference** between qsd and dropout on mlp: "
                            "test perplexity differs by ");
    cli_expect(sb_str(&sb), ", df = 3, p = 0.");
    sb_free(&sb);
    /* the LM grid's first 3 seeds: p = 0.04998 and an interval ending at
     * -0.00026 must not read as p = 0.050 and -0.00 */
    const double diff[] = {-1.412427, -0.655959, -0.854851}, zero[] = {0, 0, 0};
    assert_int_equal(stats_paired_t(diff, zero, 3, &t), 0);
    c.metric = RESULT_PERPLEXITY;
    sb_init(&sb);
    report_verdict(&sb, &c, &t);
    cli_expect(sb_str(&sb), "- **qsd beat dropout** on mlp: test perplexity lower by 0.97 "
                            "(95% interval -1.95 to -0.00026, paired t = -4.30, df = 2, "
                            "p = 0.04998, 3 seeds).");
    sb_free(&sb);
}

/* Two seeds whose differences happen to be equal are no verdict: not "beat"
 * with t = -inf and p < 0.001, but undetermined, in the sentence and the
 * table row alike. */
static void test_verdict_zero_spread(void **state)
{
    (void)state;
    const double qsd[] = {89.60, 89.61}, none[] = {89.93, 89.94};
    paired_test t;
    assert_int_equal(stats_paired_t(qsd, none, 2, &t), 0);
    rep_comparison c = {.task = "mlp", .a = "qsd", .b = "none", .measure = MEASURE_SCORE,
                        .metric = RESULT_ACCURACY};
    strbuf sb;
    sb_init(&sb);
    report_verdict(&sb, &c, &t);
    cli_expect(sb_str(&sb), "- **Undetermined** between qsd and none on mlp: test accuracy "
                            "differs by -0.33 points on each of the 2 seeds; the differences "
                            "have zero spread, so the paired t-test is undefined.\n");
    cli_expect_not(sb_str(&sb), "beat");
    cli_expect_not(sb_str(&sb), "inf");
    sb_free(&sb);

    run_result runs[4] = {{.seed = 1, .test = 89.60}, {.seed = 2, .test = 89.61},
                          {.seed = 1, .test = 89.93}, {.seed = 2, .test = 89.94}};
    snprintf(runs[0].setting, sizeof runs[0].setting, "qsd");
    snprintf(runs[2].setting, sizeof runs[2].setting, "none");
    const run_result *a_runs[] = {&runs[0], &runs[1]}, *b_runs[] = {&runs[2], &runs[3]};
    rep_setting a = {.first = &runs[0], .n = 2, .runs = a_runs};
    rep_setting b = {.first = &runs[2], .n = 2, .runs = b_runs};
    rep_task task = {.name = "mlp", .metric = RESULT_ACCURACY, .n_settings = 2};
    strbuf verdict;
    sb_init(&sb);
    sb_init(&verdict);
    report_compare_row(&sb, &verdict, &task, &a, &b, MEASURE_SCORE, NULL);
    cli_expect(sb_str(&sb), "| qsd − none | 2 | -0.33 | n/a | n/a | 1 | n/a |\n");
    cli_expect(sb_str(&verdict), "- **Undetermined** between qsd and none on mlp");
    sb_free(&sb);
    sb_free(&verdict);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quick_grid),
        cmocka_unit_test(test_other_grid_refused),
        cmocka_unit_test(test_grid_shared),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_usage_and_errors),
        cmocka_unit_test(test_language_model_grid),
        cmocka_unit_test(test_language_model_report),
        cmocka_unit_test(test_verdict_direction),
        cmocka_unit_test(test_verdict_zero_spread),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
