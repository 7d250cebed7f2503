/* The qsdc command's help against its manual page, qsdc devices and the
 * --device forms, and compiling a model to a bundle. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_fixture.h"
#include "qsdc.h"
#include "support.h"

static cli_files task;

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    cli_write_task("c", &task);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_cleanup();
    return 0;
}

/* One SYNOPSIS entry of docs/qsdc.1 (".SY qsdc" ... ".YS"): the command
 * ("compile" for the MODEL.yaml form, "qsdc" for the bare one) and every
 * option it shows. */
typedef struct synopsis {
    char command[32];
    char options[16][32];
    int n;
} synopsis;

/* Copies line without roff's "\-" escapes. */
static void unescape(const char *line, char *out, size_t cap)
{
    size_t n = 0;
    for (; *line && *line != '\n' && n + 1 < cap; line++)
        if (!(line[0] == '\\' && line[1] == '-'))
            out[n++] = *line;
    out[n] = '\0';
}

static int read_synopses(synopsis *syn, int max)
{
    char path[CLI_PATH_MAX];
    snprintf(path, sizeof path, "%s/docs/qsdc.1", ts_source_root());
    char *text = cli_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    int n = 0;
    synopsis *cur = NULL;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            next++;
        char l[256];
        unescape(line, l, sizeof l);
        if (!strncmp(l, ".SY qsdc", 8)) {
            assert_true(n < max);
            cur = &syn[n++];
            memset(cur, 0, sizeof *cur);
            continue;
        }
        if (!cur)
            continue;
        if (!strncmp(l, ".YS", 3)) {
            cur = NULL;
            continue;
        }
        if (!cur->command[0]) {
            if (!strncmp(l, ".I MODEL.yaml", 13))
                strcpy(cur->command, "compile");
            else if (!strncmp(l, ".RB [", 5))
                strcpy(cur->command, "qsdc");
            else
                sscanf(l, ".%*s %31s", cur->command);
        }
        /* options: words starting with '-' on .OP, .B and .RB lines */
        if (strncmp(l, ".OP ", 4) && strncmp(l, ".B ", 3) && strncmp(l, ".RB ", 4))
            continue;
        for (char *w = strtok(l + 3, " []|"); w; w = strtok(NULL, " []|"))
            if (w[0] == '-' && cur->n < 16)
                snprintf(cur->options[cur->n++], 32, "%s", w);
    }
    free(text);
    return n;
}

/* Every command's --help exits 0 and names each option its SYNOPSIS in the
 * manual page shows. */
static void test_help_matches_manual(void **state)
{
    (void)state;
    synopsis syn[16];
    int n = read_synopses(syn, 16);
    static const char *const expected[] = {"compile", "devices", "train", "eval", "infer",
                                           "predict", "profile", "tune", "experiment",
                                           "report", "summary", "qsdc"};
    for (size_t e = 0; e < sizeof expected / sizeof expected[0]; e++) {
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= !strcmp(syn[i].command, expected[e]);
        if (!found)
            fail_msg("no SYNOPSIS entry for %s in docs/qsdc.1", expected[e]);
    }
    for (int i = 0; i < n; i++) {
        if (!strcmp(syn[i].command, "COMMAND"))
            continue;
        char args[64];
        snprintf(args, sizeof args, "%.31s --help",
                 strcmp(syn[i].command, "qsdc") ? syn[i].command : "");
        char *out;
        out = cli_run_expect(0, "%s", args);
        cli_expect(out, "usage: qsdc");
        for (int k = 0; k < syn[i].n; k++)
            if (!strstr(out, syn[i].options[k]))
                fail_msg("qsdc %s does not mention %s:\n%s", args, syn[i].options[k], out);
        if (!strcmp(syn[i].command, "train"))
            assert_true(syn[i].n >= 9);
        free(out);
    }
    /* the top-level help also lists the commands */
    char *out;
    out = cli_run_expect(0, "-h");
    static const char *const commands[] = {"devices", "train", "eval", "infer", "predict",
                                           "profile", "summary",
                                           "experiment", "report", "MODEL.yaml",
                                           "QSDC_CACHE_DIR"};
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        cli_expect(out, commands[k]);
    free(out);
}

static void test_version(void **state)
{
    (void)state;
    char *out;
    out = cli_run_expect(0, "--version");
    assert_string_equal(out, "qsdc " QSDC_VERSION "\n");
    free(out);
}

/* A mistyped command is a usage error; a missing .yaml file is not. */
static void test_unknown_command(void **state)
{
    (void)state;
    char *out;
    out = cli_run_expect(2, "trian");
    cli_expect(out, "unknown command 'trian'");
    free(out);
}

typedef struct device_row {
    int index;
    char name[64], type[8];
    int is_default;
} device_row;

static void column(const char *line, size_t from, size_t to, char *out, size_t cap)
{
    size_t len = strlen(line), n = 0;
    for (size_t i = from; i < to && i < len && n + 1 < cap; i++)
        out[n++] = line[i];
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

/* Parses `qsdc devices`: columns start where the header's titles do. */
static int list_devices(device_row *rows, int max)
{
    char *out;
    out = cli_run_expect(0, "devices");
    const char *h_name = strstr(out, "device"), *h_vendor = strstr(out, "vendor"),
               *h_type = strstr(out, "type"), *h_cus = strstr(out, "CUs");
    if (!h_name || !h_vendor || !h_type || !h_cus || strchr(out, '\n') < h_cus)
        fail_msg("no header line in:\n%s", out);
    size_t c_name = (size_t)(h_name - out), c_vendor = (size_t)(h_vendor - out),
           c_type = (size_t)(h_type - out), c_cus = (size_t)(h_cus - out);
    int n = 0;
    for (char *line = strchr(out, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        char *l = line + 1, *eol = strchr(l, '\n');
        if (eol)
            *eol = '\0';
        device_row r = {0};
        if (n < max && sscanf(l, "%d", &r.index) == 1) {
            column(l, c_name, c_vendor - 1, r.name, sizeof r.name);
            column(l, c_type, c_cus - 1, r.type, sizeof r.type);
            r.is_default = strstr(l, "(default)") != NULL;
            rows[n++] = r;
        }
        if (eol)
            *eol = '\n';
    }
    free(out);
    return n;
}

static void test_devices_lists_default(void **state)
{
    (void)state;
    device_row rows[32];
    int n = list_devices(rows, 32), defaults = 0;
    assert_true(n >= 1);
    for (int i = 0; i < n; i++) {
        assert_int_equal(rows[i].index, i);
        assert_true(rows[i].name[0] != '\0');
        defaults += rows[i].is_default;
    }
    assert_int_equal(defaults, 1);
}

/* Runs infer on the test images with --device spec, expecting exit status
 * want; the "NAME (PLATFORM)" of its "device: " line in device. */
static char *infer_on(const char *spec, int want, char *device, size_t cap)
{
    char *out = cli_run_expect(want, "infer '%s' --data '%s' --device '%s'", task.model,
                               task.test_images, spec);
    device[0] = '\0';
    const char *d = strstr(out, "device: ");
    if (d)
        column(d, 8, strcspn(d, "\n"), device, cap);
    return out;
}

static int contains_nocase(const char *hay, const char *needle)
{
    for (size_t n = strlen(needle); *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return 1;
    return 0;
}

static void test_device_forms(void **state)
{
    (void)state;
    device_row rows[32];
    int n = list_devices(rows, 32);
    assert_true(n >= 1);
    char device[512], *out;

    /* the list shows names cut to their column, so compare that prefix */
    out = infer_on("0", 0, device, sizeof device);
    assert_int_equal(strncmp(device, rows[0].name, strlen(rows[0].name)), 0);
    free(out);

    int cpu = -1;
    for (int i = n - 1; i >= 0; i--)
        if (!strcmp(rows[i].type, "cpu"))
            cpu = i;
    out = infer_on("cpu", cpu >= 0 ? 0 : 1, device, sizeof device);
    if (cpu >= 0)
        assert_int_equal(strncmp(device, rows[cpu].name, strlen(rows[cpu].name)), 0);
    else
        cli_expect(out, "no OpenCL cpu device");
    free(out);

    /* the first word of device 0's name, in upper case: matching ignores case */
    char word[64];
    snprintf(word, sizeof word, "%.*s", (int)strcspn(rows[0].name, " "), rows[0].name);
    for (char *c = word; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    out = infer_on(word, 0, device, sizeof device);
    if (!contains_nocase(device, word))
        fail_msg("--device %s chose \"%s\"", word, device);
    free(out);

    out = infer_on("nosuchdevice", 1, device, sizeof device);
    cli_expect(out, "no OpenCL device or platform name contains \"nosuchdevice\"");
    cli_expect(out, "available: 0: ");
    free(out);
    out = infer_on("99", 1, device, sizeof device);
    cli_expect(out, "OpenCL device index 99 is out of range");
    free(out);
    static const char *const others[] = {"train '%s' --device nosuchdevice",
                                         "'%s' --emit-binary --device nosuchdevice -o never"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        char args[CLI_PATH_MAX + 64];
        snprintf(args, sizeof args, others[i], task.model);
        out = cli_run_expect(1, "%s", args);
        cli_expect(out, "\"nosuchdevice\"");
        free(out);
    }
}

static int count(const char *text, const char *word)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, word)); p += strlen(word))
        n++;
    return n;
}

/* "WHAT  N nodes ->  K kernels" from the compile summary. */
static void summary_counts(const char *out, const char *what, int *nodes, int *kernels)
{
    const char *p = strstr(out, what);
    if (!p || sscanf(p + strlen(what), " %d nodes -> %d kernels", nodes, kernels) != 2)
        fail_msg("no \"%s N nodes -> K kernels\" in:\n%s", what, out);
}

/* dir/name must exist and contain want. */
static void expect_file(const char *dir, const char *name, const char *want, char **text)
{
    char path[CLI_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *text = cli_read_file(path, NULL);
    if (!*text)
        fail_msg("%s was not written", path);
    if (!strstr(*text, want))
        fail_msg("%s does not contain \"%s\"", path, want);
}

/* The model has 64*32 + 32 + 32*3 + 3 = 2179 parameters. The kernels a
 * summary counts are the __kernel functions in the bundle's source; its
 * node count is the one --dump-graph prints for the same graph. */
static void test_compile_bundle(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX], want[CLI_PATH_MAX + 64], *out, *text;
    snprintf(dir, sizeof dir, "%s/tiny-infer", ts_tmpdir());
    out = cli_run_expect(0, "'%s' -o '%s' --dump-graph", task.model, dir);
    cli_expect(out, "tiny: 6 layers, 2179 parameters");
    cli_expect(out, ", batch 16");
    snprintf(want, sizeof want, "wrote %s/ (kernels.cl, plan.yaml, graph.dot, model.yaml)\n",
             dir);
    cli_expect(out, want);
    int nodes, kernels, dumped_nodes;
    summary_counts(out, "inference", &nodes, &kernels);
    const char *g = strstr(out, "graph (infer, batch 16): ");
    if (!g || sscanf(g, "graph (infer, batch 16): %*d tensors, %d nodes", &dumped_nodes) != 1)
        fail_msg("no graph header in:\n%s", out);
    assert_int_equal(nodes, dumped_nodes);
    assert_true(kernels >= 1 && kernels <= nodes);
    /* the dump shows the input, a weight and the output with their shapes */
    cli_expect(out, "input");
    cli_expect(out, "[16,1,8,8]");
    cli_expect(out, "dense1.weight");
    cli_expect(out, "[64,32]");
    cli_expect(out, "softmax5");
    cli_expect(out, "[16,3]");
    free(out);
    expect_file(dir, "kernels.cl", "__kernel", &text);
    assert_int_equal(count(text, "__kernel"), kernels);
    free(text);
    expect_file(dir, "plan.yaml", "kernels.cl", &text);
    free(text);
    expect_file(dir, "graph.dot", "digraph", &text);
    free(text);
    snprintf(want, sizeof want, "%s/train.cl", dir);
    assert_null(cli_read_file(want, NULL));

    snprintf(dir, sizeof dir, "%s/tiny-train", ts_tmpdir());
    out = cli_run_expect(0, "compile '%s' --train --batch 4 -o '%s'", task.model, dir);
    cli_expect(out, ", batch 4\n");
    cli_expect(out, "graph.dot, model.yaml, train.cl)");
    int train_nodes, train_kernels;
    summary_counts(out, "training", &train_nodes, &train_kernels);
    assert_true(train_nodes > nodes && train_kernels > kernels);
    free(out);
    expect_file(dir, "train.cl", "__kernel", &text);
    assert_int_equal(count(text, "__kernel"), train_kernels);
    free(text);
    expect_file(dir, "plan.yaml", "train.cl", &text);
    free(text);
}

/* --emit-binary stores each plan's program built for the device; infer
 * runs the inference one in place of kernels.cl with the same result, and
 * refuses a file that is not a program binary. */
static void test_emit_and_run_binary(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX], want[CLI_PATH_MAX + 64], *out;
    snprintf(dir, sizeof dir, "%s/tiny-bin", ts_tmpdir());
    out = cli_run_expect(0, "'%s' --train --emit-binary -o '%s'", task.model, dir);
    snprintf(want, sizeof want, "wrote %s/kernels.bin for ", dir);
    cli_expect(out, want);
    snprintf(want, sizeof want, "wrote %s/train.bin for ", dir);
    cli_expect(out, want);
    free(out);

    out = cli_run_expect(0, "infer '%s' --data '%s' --labels '%s'", task.model,
                         task.test_images, task.test_labels);
    const char *acc = strstr(out, "accuracy: ");
    assert_non_null(acc);
    snprintf(want, sizeof want, "%.*s", (int)strcspn(acc, "\n"), acc);
    free(out);
    out = cli_run_expect(0, "infer '%s' --data '%s' --labels '%s' "
                         "--program-binary '%s/kernels.bin'",
                         task.model, task.test_images, task.test_labels, dir);
    cli_expect(out, "program from binary");
    cli_expect(out, want);
    free(out);

    out = cli_run_expect(1, "infer '%s' --data '%s' --program-binary '%s/kernels.cl'",
                         task.model, task.test_images, dir);
    snprintf(want, sizeof want, "loading program binary %s/kernels.cl", dir);
    cli_expect(out, want);
    free(out);
}

/* Without -o the bundle is NAME.qsdc in the current directory. */
static void test_compile_default_dir(void **state)
{
    (void)state;
    char cmd[3 * CLI_PATH_MAX], *out, *text;
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' '%s'", ts_tmpdir(), ts_qsdc(), task.model);
    int status = ts_run(cmd, &out);
    cli_expect_status(status, 0, out);
    cli_expect(out, "wrote tiny.qsdc/");
    free(out);
    char dir[CLI_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/tiny.qsdc", ts_tmpdir());
    expect_file(dir, "kernels.cl", "__kernel", &text);
    free(text);
}

/* profile's table: a row per kernel with a rate, and with --alone each
 * kernel's best time in a step, its best by itself and their ratio
 * (numbers, not judged: tests never time anything); tune rejects --alone. */
static void test_profile_alone(void **state)
{
    (void)state;
    char *out = cli_run_expect(0, "profile '%s' --steps 2 --alone", task.model);
    cli_expect(out, "(2 steps timed)");
    cli_expect(out, "best ms   alone ms best/alone");
    int rows = 0;
    for (const char *l = strchr(out, '\n'); l; l = strchr(l + 1, '\n')) {
        char kernel[64];
        long long launches;
        double total, per_step, share, best, alone, ratio;
        const char *rate = strstr(l, "/s ");
        if (sscanf(l + 1, "%63s %*s %lld %lf %lf %lf%%", kernel, &launches, &total, &per_step,
                   &share) != 5 || !rate)
            continue;
        if (sscanf(rate + 3, "%lf %lf %lf", &best, &alone, &ratio) != 3)
            fail_msg("no best and alone columns in '%.*s'", (int)strcspn(l + 1, "\n"), l + 1);
        assert_int_equal(launches, 2);
        /* a few microseconds print as 0.000 */
        if (!(best >= 0 && best <= per_step + 0.0005 && alone >= 0 && ratio >= 0))
            fail_msg("best %g, alone %g, best/alone %g in:\n%s", best, alone, ratio, out);
        rows++;
    }
    assert_true(rows >= 3);
    free(out);
    out = cli_run_expect(0, "profile '%s' --steps 1", task.model);
    assert_null(strstr(out, "alone"));
    free(out);
    out = cli_run_expect(2, "tune '%s' --alone", task.model);
    cli_expect(out, "usage: qsdc tune");
    free(out);
}

/* Lines of out that begin with prefix and hold want. */
static int lines_with(const char *out, const char *prefix, const char *want)
{
    int n = 0;
    for (const char *l = out; l; l = strchr(l, '\n')) {
        l += *l == '\n';
        const char *eol = strchr(l, '\n'), *w = strstr(l, want);
        n += strncmp(l, prefix, strlen(prefix)) == 0 && w && (!eol || w < eol);
    }
    return n;
}

/* tune measures the conv2d layer both ways and each GEMM shape of both
 * passes with both backends, prints each choice, and caches them: a
 * training run after it measures nothing. The inference pass asks about
 * shapes the training pass measured, and measures none again. GEMMs are
 * measured twice over, each time shapes of their own: the conv2d layer's
 * product while its im2col + GEMM way is timed (with the GEMM the tuner
 * picks), then the model's products. */
static void test_tune(void **state)
{
    (void)state;
    ts_setenv("QSDC_GEMM", NULL);
    ts_setenv("QSDC_CONV", NULL);
    ts_setenv("QSDC_CACHE_DIR", ts_fmt("%s/tune-cache", ts_tmpdir()));
    char model[CLI_PATH_MAX];
    cli_model_variant(task.model, "tune.yaml", "  - flatten\n",
                      "  - {op: conv2d, filters: 2, kernel: 3}\n  - flatten\n", model);
    char *out = cli_run_expect(0, "tune '%s'", model);
    cli_expect(out, "conv2d, lstm, GEMM and window choices for tiny on ");
    assert_int_equal(lines_with(out, "qsdc: measuring conv2d kernels", ""), 1);
    assert_int_equal(lines_with(out, "qsdc: measuring GEMM kernels", ""), 2);
    /* the conv2d layer in training and in inference */
    assert_int_equal(lines_with(out, "conv 1x8x8 -> 2, 3x3 stride 1x1: direct", " ms"), 2);
    /* each product's choice: one of qsdc's two GEMM families or CLBlast */
    int chosen = lines_with(out, "gemm ", "-> panel") + lines_with(out, "gemm ", "-> tiled") +
                 lines_with(out, "gemm ", "-> clblast");
    /* training: 2 forward, 3 backward products of the dense layers at least */
    if (chosen < 5)
        fail_msg("%d GEMM choices printed:\n%s", chosen, out);
    /* the conv2d layer's per-sample products, measured over several samples
     * side by side ("64x196 x 288 NN x 8"), as the batch runs them */
    if (lines_with(out, "gemm ", "N x ") + lines_with(out, "gemm ", "T x ") < 1)
        fail_msg("no per-sample product measured over its samples:\n%s", out);
    free(out);
    out = cli_run_expect(0, "train '%s' --max-steps 2", model);
    cli_expect_not(out, "measuring");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_matches_manual),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_unknown_command),
        cmocka_unit_test(test_devices_lists_default),
        cmocka_unit_test(test_device_forms),
        cmocka_unit_test(test_compile_bundle),
        cmocka_unit_test(test_emit_and_run_binary),
        cmocka_unit_test(test_compile_default_dir),
        cmocka_unit_test(test_profile_alone),
        cmocka_unit_test_teardown(test_tune, ts_restore_env),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
