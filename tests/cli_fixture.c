#include "cli_fixture.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "support.h"

void cli_env_init(void)
{
    const char *build = getenv("QSDC_BUILD_ROOT");
    char dir[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/test-cl-cache", build ? build : ts_tmpdir());
    setenv("QSDC_CACHE_DIR", dir, 1);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

uint8_t *cli_idx_images(int n, int rows, int cols, uint32_t seed, size_t *len)
{
    size_t data = (size_t)n * (size_t)rows * (size_t)cols;
    uint8_t *b = malloc(16 + data);
    assert_non_null(b);
    put_be32(b, 0x00000803);
    put_be32(b + 4, (uint32_t)n);
    put_be32(b + 8, (uint32_t)rows);
    put_be32(b + 12, (uint32_t)cols);
    uint64_t s = seed;
    uint8_t *px = b + 16;
    for (int i = 0; i < n; i++) {
        int band = 3 * (i % CLI_CLASSES);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                uint32_t u = lcg(&s);
                *px++ = (uint8_t)(r == band || r == band + 1 ? 160 + u % 96 : u % 64);
            }
    }
    *len = 16 + data;
    return b;
}

uint8_t *cli_idx_labels(int n, size_t *len)
{
    uint8_t *b = malloc(8 + (size_t)n);
    assert_non_null(b);
    put_be32(b, 0x00000801);
    put_be32(b + 4, (uint32_t)n);
    for (int i = 0; i < n; i++)
        b[8 + i] = (uint8_t)(i % CLI_CLASSES);
    *len = 8 + (size_t)n;
    return b;
}

void cli_write_file(const char *name, const uint8_t *data, size_t len, int gz,
                    char out[CLI_PATH_MAX])
{
    snprintf(out, CLI_PATH_MAX, "%s/%s", ts_tmpdir(), name);
    if (!gz) {
        ts_write(name, data, len);
        return;
    }
    gzFile f = gzopen(out, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(f), Z_OK);
}

void cli_write_model(const char *name, const char *train_images, const char *train_labels,
                     const char *test_images, const char *test_labels,
                     char out[CLI_PATH_MAX])
{
    char text[8192];
    int n = snprintf(text, sizeof text,
                     "name: tiny\n"
                     "input: {shape: [1, %d, %d]}\n"
                     "layers:\n"
                     "  - flatten\n"
                     "  - {op: dense, units: 32}\n"
                     "  - relu\n"
                     "  - {op: qsd, p: 0.5, sites: 2, q_cv: 0.3}\n"
                     "  - {op: dense, units: %d}\n"
                     "  - softmax\n"
                     "train:\n"
                     "  data:\n"
                     "    train_images: %s\n"
                     "    train_labels: %s\n",
                     CLI_SIDE, CLI_SIDE, CLI_CLASSES, train_images, train_labels);
    if (test_images)
        n += snprintf(text + n, sizeof text - (size_t)n,
                      "    test_images: %s\n"
                      "    test_labels: %s\n",
                      test_images, test_labels);
    n += snprintf(text + n, sizeof text - (size_t)n,
                  "  batch: %d\n"
                  "  epochs: %d\n"
                  "  seed: %d\n"
                  "  val_split: 0.1\n"
                  "  optimizer: {type: sgd, lr: 0.1, momentum: 0.9}\n",
                  CLI_BATCH, CLI_EPOCHS, CLI_SEED);
    assert_true(n > 0 && (size_t)n < sizeof text);
    snprintf(out, CLI_PATH_MAX, "%s", ts_write(name, text, (size_t)n));
}

void cli_write_task(const char *prefix, cli_files *f)
{
    char name[256];
    size_t len;
    uint8_t *b = cli_idx_images(CLI_TRAIN_N, CLI_SIDE, CLI_SIDE, 1, &len);
    snprintf(name, sizeof name, "%s-train-images.idx.gz", prefix);
    cli_write_file(name, b, len, 1, f->train_images);
    free(b);
    b = cli_idx_labels(CLI_TRAIN_N, &len);
    snprintf(name, sizeof name, "%s-train-labels.idx", prefix);
    cli_write_file(name, b, len, 0, f->train_labels);
    free(b);
    b = cli_idx_images(CLI_TEST_N, CLI_SIDE, CLI_SIDE, 2, &len);
    snprintf(name, sizeof name, "%s-test-images.idx", prefix);
    cli_write_file(name, b, len, 0, f->test_images);
    free(b);
    b = cli_idx_labels(CLI_TEST_N, &len);
    snprintf(name, sizeof name, "%s-test-labels.idx", prefix);
    cli_write_file(name, b, len, 0, f->test_labels);
    free(b);
    snprintf(name, sizeof name, "%s-model.yaml", prefix);
    cli_write_model(name, f->train_images, f->train_labels, f->test_images, f->test_labels,
                    f->model);
}

static int run_v(char **out, const char *fmt, va_list ap)
{
    char args[6000], cmd[8000];
    int n = vsnprintf(args, sizeof args, fmt, ap);
    assert_true(n >= 0 && (size_t)n < sizeof args);
    snprintf(cmd, sizeof cmd, "'%s' %s", ts_qsdc(), args);
    int status = ts_run(cmd, out);
    assert_non_null(*out);
    return status;
}

int cli_run(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int status = run_v(out, fmt, ap);
    va_end(ap);
    return status;
}

int cli_setup_run(const char *want, const char *fmt, ...)
{
    char *out;
    va_list ap;
    va_start(ap, fmt);
    int status = run_v(&out, fmt, ap);
    va_end(ap);
    int ok = status == 0 && (!want || strstr(out, want));
    if (!ok)
        fprintf(stderr, "group setup: qsdc exited with %d%s%s:\n%s", status,
                want ? ", expected output with " : "", want ? want : "", out);
    free(out);
    return ok ? 0 : -1;
}

char *cli_run_expect(int want, const char *fmt, ...)
{
    char *out;
    va_list ap;
    va_start(ap, fmt);
    int status = run_v(&out, fmt, ap);
    va_end(ap);
    cli_expect_status(status, want, out);
    return out;
}

/* The output's end, where a run's error is, then the whole output, on
 * stderr; then the failure: cmocka cuts a failure message at 1,024 bytes,
 * and a CI log shown in part may keep only the first lines of stderr. */
static void fail_with_output(const char *out, const char *why)
{
    size_t len = out ? strlen(out) : 0;
    const char *tail = len > 600 ? out + len - 600 : out;
    fprintf(stderr, "qsdc's output ends:\n%s\n--\nqsdc's whole output:\n%s\n",
            tail ? tail : "(none)", out ? out : "(none)");
    fail_msg("%s", why);
}

void cli_expect(const char *out, const char *want)
{
    if (!strstr(out, want))
        fail_with_output(out, ts_fmt("expected \"%.200s\" in the output above", want));
}

void cli_expect_not(const char *out, const char *unwanted)
{
    if (strstr(out, unwanted))
        fail_with_output(out, ts_fmt("did not expect \"%.200s\" in the output above", unwanted));
}

void cli_expect_status(int status, int want, const char *out)
{
    if (status != want)
        fail_with_output(out, ts_fmt("exit status %d, expected %d (output above)", status, want));
}

int cli_epochs(const char *out, cli_epoch *e, int max)
{
    int n = 0;
    for (const char *line = out; line && *line && n < max;) {
        cli_epoch x = {.test_accuracy = -1, .val_accuracy = -1};
        if (sscanf(line, "epoch %d/%d  train loss %lf", &x.epoch, &x.of, &x.loss) == 3) {
            const char *eol = strchr(line, '\n');
            const char *val = strstr(line, "val accuracy ");
            if (val && (!eol || val < eol))
                sscanf(val, "val accuracy %lf", &x.val_accuracy);
            const char *acc = strstr(line, "test accuracy ");
            if (acc && (!eol || acc < eol) &&
                sscanf(acc, "test accuracy %15[0-9.]", x.test_accuracy_text) == 1)
                x.test_accuracy = atof(x.test_accuracy_text);
            e[n++] = x;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return n;
}

char *cli_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = ts_read_stream(f, len);
    fclose(f);
    return buf;
}

void cli_model_variant(const char *path, const char *name, const char *from, const char *to,
                       char out[CLI_PATH_MAX])
{
    char *orig = cli_read_file(path, NULL), text[8192];
    assert_non_null(orig);
    char *at = strstr(orig, from);
    assert_non_null(at);
    int n = snprintf(text, sizeof text, "%.*s%s%s", (int)(at - orig), orig, to,
                     at + strlen(from));
    free(orig);
    assert_true(n > 0 && (size_t)n < sizeof text);
    snprintf(out, CLI_PATH_MAX, "%s", ts_write(name, text, (size_t)n));
}

char *cli_report(const char *dir, const char *said)
{
    char *out = cli_run_expect(0, "report '%s'", dir);
    cli_expect(out, said);
    free(out);
    char path[2 * CLI_PATH_MAX];
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = cli_read_file(path, NULL);
    assert_non_null(md);
    return md;
}

void cli_write_mlp(const char *name, const char *shape, const char *data, char out[CLI_PATH_MAX])
{
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "name: tiny\n"
                     "input: {shape: %s}\n"
                     "layers:\n"
                     "  - flatten\n"
                     "  - {op: dense, units: 32}\n"
                     "  - relu\n"
                     "  - {op: dense, units: %d}\n"
                     "  - softmax\n"
                     "train:\n"
                     "  data: %s\n"
                     "  batch: %d\n"
                     "  epochs: 2\n"
                     "  seed: %d\n"
                     "  optimizer: {type: sgd, lr: 0.05, momentum: 0.9}\n",
                     shape, CLI_CLASSES, data, CLI_BATCH, CLI_SEED);
    cli_write_file(name, (const uint8_t *)text, (size_t)n, 0, out);
}

long long cli_printed_correct(const char *out)
{
    const char *a = strstr(out, "accuracy: ");
    double pct;
    long long correct, n;
    if (!a || sscanf(a, "accuracy: %lf%% (%lld/%lld)", &pct, &correct, &n) != 3)
        fail_msg("no accuracy in:\n%s", out);
    return correct;
}
