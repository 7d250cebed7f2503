/* The numbers of every committed experiment report (results/NAME/report.md)
 * and of the report qsdc report writes now from the same result.json
 * files, checked by tests/report_oracle.py, which recomputes each mean, sd,
 * paired difference, interval, t, p and verdict without qsdc's code (its
 * docstring says how). A report compared with a copy of itself would lock in
 * a wrong statistic; this one is compared with the runs. Then the oracle
 * itself must notice a wrong number or verdict. No device. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_fixture.h"
#include "support.h"

#define MAX_DIRS 32

static char *names[MAX_DIRS];
static int n_names;

/* The results/ folders with a report.md. */
static int setup(void **state)
{
    (void)state;
    char root[CLI_PATH_MAX], path[2 * CLI_PATH_MAX];
    snprintf(root, sizeof root, "%s/results", ts_source_root());
    DIR *d = opendir(root);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) && n_names < MAX_DIRS;) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s/report.md", root, e->d_name);
        if (e->d_name[0] != '.' && stat(path, &st) == 0 && (names[n_names] = strdup(e->d_name)))
            n_names++;
    }
    closedir(d);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < n_names; i++)
        free(names[i]);
    ts_cleanup();
    return 0;
}

/* Runs the oracle on report against the runs it names in args (a quoted
 * results directory, or --family and several); its output (the caller
 * frees) and exit status. */
static int oracle(const char *args, const char *report, char **out)
{
    char cmd[6 * CLI_PATH_MAX];
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/report_oracle.py' %s '%s'", ts_source_root(),
             args, report);
    return ts_run(cmd, out);
}

static void expect_agrees(const char *args, const char *report)
{
    char *out = NULL;
    if (oracle(args, report, &out) != 0)
        fail_msg("%s", out ? out : "the oracle did not run");
    cli_expect(out, "every number agrees");
    free(out);
}

static void test_committed_reports(void **state)
{
    (void)state;
    assert_true(n_names >= 1);
    for (int i = 0; i < n_names; i++) {
        char dir[CLI_PATH_MAX], report[2 * CLI_PATH_MAX];
        snprintf(dir, sizeof dir, "%s/results/%s", ts_source_root(), names[i]);
        snprintf(report, sizeof report, "%s/report.md", dir);
        expect_agrees(ts_fmt("'%s'", dir), report);
    }
}

/* qsdc report on dir, saying `said`, then the oracle on its report.md:
 * that report's text (the caller frees). */
static char *report_agrees(const char *dir, const char *said)
{
    char *md = cli_report(dir, said);
    char report[2 * CLI_PATH_MAX];
    snprintf(report, sizeof report, "%s/report.md", dir);
    expect_agrees(ts_fmt("'%s'", dir), report);
    return md;
}

/* The committed result.json files reported again by this build. */
static void test_reports_written_now(void **state)
{
    (void)state;
    for (int i = 0; i < n_names; i++) {
        char dir[CLI_PATH_MAX], cmd[3 * CLI_PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", ts_tmpdir(), names[i]);
        snprintf(cmd, sizeof cmd, "mkdir '%s' && cp -r '%s/results/%s'/*-seed* '%s'", dir,
                 ts_source_root(), names[i], dir);
        char *out = NULL;
        if (ts_run(cmd, &out) != 0)
            fail_msg("%s: %s", cmd, out);
        free(out);
        free(report_agrees(dir, "report.md: "));
    }
}

/* The report md of the runs args names (as for oracle) with its text
 * `from` changed to `to`: the oracle must fail, saying `said`. */
static void expect_noticed(const char *args, const char *md, const char *from, const char *to,
                           const char *said)
{
    const char *at = strstr(md, from);
    if (!at)
        fail_msg("the report no longer holds '%s': update this test", from);
    size_t head = (size_t)(at - md), from_len = strlen(from), to_len = strlen(to);
    char *edited = malloc(strlen(md) - from_len + to_len + 1);
    assert_non_null(edited);
    memcpy(edited, md, head);
    memcpy(edited + head, to, to_len);
    strcpy(edited + head + to_len, at + from_len);
    const char *report = ts_write("edited.md", edited, strlen(edited));
    free(edited);
    char *out = NULL;
    int rc = oracle(args, report, &out);
    if (rc != 1)
        fail_msg("the oracle exits %d on '%s' edited to '%s': %s", rc, from, to, out);
    cli_expect(out, said);
    free(out);
}

/* The MLP grid's report with one thing changed: the oracle must say what. */
static void test_oracle_notices_errors(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *said;
    } edits[] = {
        {"| 0.19 | 4 | 0.861 |", "| 0.19 | 4 | 0.871 |",
         "qsd_variance − dropout p: report says 0.871, recomputed 0.861"},
        {"90.01 ± 0.08", "90.01 ± 0.07", "Test accuracy, none sd: report says 0.07"},
        {"| -1.03 | -1.25 to -0.81 |", "| -1.03 | -1.21 to -0.85 |",
         "qsd_silence − dropout interval low: report says -1.21, recomputed -1.249"},
        {"**qsd_hetero did worse than none**", "**qsd_hetero beat none**",
         "0 sentences begin '- **qsd_hetero did worse than none**"},
        {"| 0.8416 ± 0.0091 | 0.7264 ± 0.0089 |", "| 0.8416 ± 0.0091 | 0.7264 ± 0.0090 |",
         "dropout relu2 hoyer sd: report says 0.0090"},
    };
    char dir[CLI_PATH_MAX], path[2 * CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/results/mlp_fashion", ts_source_root());
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = cli_read_file(path, NULL);
    assert_non_null(md);
    char quoted[CLI_PATH_MAX + 2];
    snprintf(quoted, sizeof quoted, "'%s'", dir);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++)
        expect_noticed(quoted, md, edits[i].from, edits[i].to, edits[i].said);
    free(md);
}

/* The MLP grid's runs with a plan stated beside them: the primary
 * contrasts' table must agree with the oracle's Holm and TOST, and the
 * oracle must notice a wrong adjusted p, TOST p or verdict. */
/* A copy into dir (under the test's temporary folder) of the runs of the
 * committed grid results/grid, with a plan.json stating primary (a JSON
 * list), margin and the plan's other keys (JSON members: seeds, and
 * sparsity_margin when stated). */
static void copy_with_plan(char *dir, const char *name, const char *grid, const char *primary,
                           double margin, const char *rest)
{
    char cmd[3 * CLI_PATH_MAX];
    snprintf(dir, CLI_PATH_MAX, "%s/%s", ts_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && cp -r '%s/results/%s'/*-seed* '%s'", dir,
             ts_source_root(), grid, dir);
    char *out = NULL;
    if (ts_run(cmd, &out) != 0)
        fail_msg("%s: %s", cmd, out);
    free(out);
    FILE *f = fopen(ts_fmt("%s/plan.json", dir), "w");
    assert_non_null(f);
    fprintf(f,
            "{\"format\": \"qsdc-experiment-plan-2\", \"experiment\": \"%s\", "
            "\"primary\": %s, \"equivalence_margin\": %g, %s}\n",
            grid, primary, margin, rest);
    fclose(f);
}

static void test_primary_contrasts(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX];
    copy_with_plan(dir, "primary", "mlp_fashion",
                   "[\"qsd_variance vs dropout\", \"qsd_silence vs dropout\", "
                   "\"dropout vs none\"]", 0.5, "\"seeds\": 5");
    char *md = report_agrees(dir, "report.md: ");
    /* first in the task, before the exploratory sections */
    char *primary = strstr(md, "### Primary contrasts");
    assert_non_null(primary);
    assert_true(primary < strstr(md, "### Test accuracy"));
    static const struct {
        const char *from, *to, *said;
    } edits[] = {
        /* Holm: 0.861 is the largest of three, adjusted to itself */
        {"| 0.861 | 0.861 | < 0.001 | **equivalent** within ±0.50 |",
         "| 0.861 | 0.900 | < 0.001 | **equivalent** within ±0.50 |",
         "qsd_variance − dropout Holm p: report says 0.900, recomputed 0.861"},
        {"| < 0.001 | < 0.001 | 0.137 |", "| < 0.001 | < 0.001 | 0.037 |",
         "dropout − none TOST p: report says 0.037"},
        {"| **equivalent** within ±0.50 |", "| **undetermined** |",
         "qsd_variance − dropout verdict: report has **undetermined**"},
        /* an exploratory difference not shown, tested for equivalence too */
        {"5 seeds); TOST within ±0.50: p = 0.001, so **equivalent**.",
         "5 seeds); TOST within ±0.50: p = 0.001, so **undetermined**.",
         "qsd_hetero − dropout TOST verdict: report has undetermined, want equivalent"},
        {"5 seeds); TOST within ±0.50: p = 0.001,", "5 seeds); TOST within ±0.50: p = 0.011,",
         "qsd_hetero − dropout TOST p: report says 0.011"},
    };
    char quoted[CLI_PATH_MAX + 2];
    snprintf(quoted, sizeof quoted, "'%s'", dir);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++)
        expect_noticed(quoted, md, edits[i].from, edits[i].to, edits[i].said);
    free(md);
    /* a damaged plan is refused, naming it */
    FILE *f = fopen(ts_fmt("%s/plan.json", dir), "w");
    assert_non_null(f);
    fputs("{\"format\": \"qsdc-experiment-plan-2\", \"experiment\": \"mlp_fashion\", "
          "\"primary\": [\"qsd_variance against dropout\"], \"equivalence_margin\": 0.5, "
          "\"seeds\": 5}\n",
          f);
    fclose(f);
    char *out = cli_run_expect(1, "report '%s'", dir);
    cli_expect(out, "plan.json:1:");
    cli_expect(out, "SETTING vs SETTING");
    free(out);
}

/* A plan of ten seeds over the MLP grid's five: every primary verdict is
 * interim, whatever its p (dropout − none's is < 0.001), and the oracle
 * must notice a verdict stated early; with a sparsity margin stated, the
 * Hoyer comparisons without a difference end in their TOST, which the
 * oracle recomputes. */
static void test_interim_and_sparsity_margin(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX];
    copy_with_plan(dir, "interim", "mlp_fashion",
                   "[\"qsd_variance vs dropout\", \"dropout vs none\"]", 0.5,
                   "\"seeds\": 10, \"sparsity_margin\": 0.05");
    char *md = report_agrees(dir, "report.md: ");
    cli_expect(md, "| **interim**: 5 of 10 planned seeds |\n| dropout − none | 5 |");
    cli_expect(md, "interim while fewer than the plan's 10 seeds are paired");
    cli_expect(md, "seeds); TOST within ±0.0500: p ");
    char quoted[CLI_PATH_MAX + 2];
    snprintf(quoted, sizeof quoted, "'%s'", dir);
    expect_noticed(quoted, md, "| < 0.001 | 0.068 | **interim**: 5 of 10 planned seeds |",
                   "| < 0.001 | 0.068 | **dropout beat none** |",
                   "dropout − none verdict: report has **dropout beat none**");
    free(md);
}

/* Twelve seeds (the MLP grid's five, each again as seeds +5 and +10 with
 * its accuracy shifted, up to seed 12) and a plan: the report's tables,
 * figures and primary contrasts over them, checked by the oracle. */
static void test_twelve_seeds(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/seeds12", ts_tmpdir());
    static const char make[] =
        "import glob, json, os, sys\n"
        "src, out = sys.argv[1:]\n"
        "for d in glob.glob(src + '/*-seed*'):\n"
        "    setting, seed = os.path.basename(d).rsplit('-seed', 1)\n"
        "    r = json.load(open(d + '/result.json'))\n"
        "    for k in range(3):\n"
        "        s = int(seed) + 5 * k\n"
        "        if s <= 12:\n"
        "            os.makedirs(f'{out}/{setting}-seed{s}')\n"
        "            r2 = dict(r, seed=s, test_accuracy=r['test_accuracy'] + 0.013 * k * s)\n"
        "            json.dump(r2, open(f'{out}/{setting}-seed{s}/result.json', 'w'))\n"
        "json.dump({'format': 'qsdc-experiment-plan-2', 'experiment': 'mlp_fashion',\n"
        "           'primary': ['qsd_variance vs dropout', 'dropout vs none'],\n"
        "           'equivalence_margin': 0.5, 'seeds': 12}, open(out + '/plan.json', 'w'))\n";
    const char *script = ts_write("seeds12.py", make, strlen(make));
    char *out = NULL;
    if (ts_run(ts_fmt("python3 '%s' '%s/results/mlp_fashion' '%s'", script, ts_source_root(),
                      dir),
               &out) != 0)
        fail_msg("%s", out);
    free(out);
    char *md = report_agrees(dir, "60 runs of 1 task");
    cli_expect(md, "| qsd_variance − dropout | 12 |");
    cli_expect(md, "| dropout | dropout p=0.8 | 12 |");
    free(md);
}

/* Two grids' plans as one family: the MLP's two contrasts and the
 * sentence classifier's one, Holm-adjusted together (so more strictly
 * than in each report), checked by the oracle, which must notice a Holm p
 * adjusted within one task only; a grid without a plan, or one given
 * twice, is refused. */
static void test_family_across_tasks(void **state)
{
    (void)state;
    char mlp[CLI_PATH_MAX], lstm[CLI_PATH_MAX], args[3 * CLI_PATH_MAX];
    copy_with_plan(mlp, "family_mlp", "mlp_fashion",
                   "[\"qsd_variance vs dropout\", \"dropout vs none\"]", 0.5, "\"seeds\": 5");
    copy_with_plan(lstm, "family_lstm", "lstm_polarity", "[\"qsd_silence vs dropout\"]", 1.0,
                   "\"seeds\": 5");
    const char *family = ts_fmt("%s/family.md", ts_tmpdir());
    char *out = cli_run_expect(0, "report '%s' '%s' --family '%s'", mlp, lstm, family);
    cli_expect(out, "primary contrasts of 2 experiments as one family");
    free(out);
    snprintf(args, sizeof args, "--family '%s' '%s'", mlp, lstm);
    expect_agrees(args, family);
    char *md = cli_read_file(family, NULL);
    assert_non_null(md);
    cli_expect(md, "| lstm_polarity | qsd_silence − dropout | 5 | +0.30 |");
    /* adjusted over the MLP's two contrasts alone, as in its own report:
     * 0.861 (Holm keeps the largest of two) and TOST 0.068; over the three,
     * 1 and 0.137 */
    expect_noticed(args, md, "| 0.861 | 1.000 | < 0.001 |", "| 0.861 | 0.861 | < 0.001 |",
                   "mlp_fashion: qsd_variance − dropout Holm p: report says 0.861, "
                   "recomputed 1");
    expect_noticed(args, md, "| < 0.001 | 0.137 |", "| < 0.001 | 0.068 |",
                   "mlp_fashion: dropout − none TOST p: report says 0.068");
    free(md);
    out = cli_run_expect(1, "report '%s' '%s' --family '%s'", mlp, mlp, family);
    cli_expect(out, "both hold experiment mlp_fashion");
    free(out);
    char plain[CLI_PATH_MAX];
    snprintf(plain, sizeof plain, "%s/family_plain", ts_tmpdir());
    out = NULL;
    if (ts_run(ts_fmt("mkdir '%s' && cp -r '%s/results/lstm_polarity'/*-seed* '%s'", plain,
                      ts_source_root(), plain),
               &out) != 0)
        fail_msg("%s", out);
    free(out);
    out = cli_run_expect(1, "report '%s' '%s' --family '%s'", mlp, plain, family);
    cli_expect(out, "no plan.json");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_committed_reports),
        cmocka_unit_test(test_reports_written_now),
        cmocka_unit_test(test_oracle_notices_errors),
        cmocka_unit_test(test_primary_contrasts),
        cmocka_unit_test(test_interim_and_sparsity_margin),
        cmocka_unit_test(test_twelve_seeds),
        cmocka_unit_test(test_family_across_tasks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
