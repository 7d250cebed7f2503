/* qsdc predict and the data-file options of eval and infer, end to end on
 * the fixture's task saved as .npy, .npz and as a numeric CSV: models
 * trained on each predict files of probabilities whose accuracy is eval's,
 * as .npy and as CSV; a channels-last file against a channels-first model is an
 * error naming both shapes unless --layout nhwc; eval's confusion matrix
 * and per-class scores are those of predict's classes; and each option's
 * misuse is a usage error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "cli_fixture.h"
#include "init.h"
#include "npy.h"
#include "support.h"

#define IDX_HEADER 16  /* an idx3 file's magic and three dimensions */

/* A .npy file of descr with the dims and the bytes of data. */
static void write_npy(const char *name, const char *descr, const char *dims,
                      const void *data, size_t len, char out[CLI_PATH_MAX])
{
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, "
                     "'shape': (%s), }", descr, dims);
    size_t total = ((size_t)n + 10 + 1 + 63) / 64 * 64;
    uint8_t *b = malloc(total + len);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (uint8_t)(total - 10);
    b[9] = 0;
    memcpy(b + 10, dict, (size_t)n);
    memset(b + 10 + n, ' ', total - 11 - (size_t)n);
    b[total - 1] = '\n';
    memcpy(b + total, data, len);
    cli_write_file(name, b, total + len, 0, out);
    free(b);
}

/* The task's n images as float32 [n, 1, 8, 8] in [0, 1] (channels_last:
 * [n, 8, 8, 2], each pixel twice) and labels as int64. */
static void write_npy_task(const char *prefix, int n, uint32_t seed, bool channels_last,
                           char x[CLI_PATH_MAX], char y[CLI_PATH_MAX])
{
    size_t len;
    uint8_t *img = cli_idx_images(n, CLI_SIDE, CLI_SIDE, seed, &len);
    int copies = channels_last ? 2 : 1, px = CLI_SIDE * CLI_SIDE;
    float *f = malloc((size_t)(n * px * copies) * sizeof *f);
    int64_t *labels = malloc((size_t)n * sizeof *labels);
    for (int i = 0; i < n * px; i++)
        for (int k = 0; k < copies; k++)
            f[i * copies + k] = img[IDX_HEADER + i] / 255.0f;
    for (int i = 0; i < n; i++)
        labels[i] = i % CLI_CLASSES;
    char name[64], dims[64];
    snprintf(name, sizeof name, "%s-x.npy", prefix);
    if (channels_last)
        snprintf(dims, sizeof dims, "%d, %d, %d, 2", n, CLI_SIDE, CLI_SIDE);
    else
        snprintf(dims, sizeof dims, "%d, 1, %d, %d", n, CLI_SIDE, CLI_SIDE);
    write_npy(name, "<f4", dims, f, (size_t)(n * px * copies) * sizeof *f, x);
    snprintf(name, sizeof name, "%s-y.npy", prefix);
    snprintf(dims, sizeof dims, "%d,", n);
    write_npy(name, "<i8", dims, labels, (size_t)n * sizeof *labels, y);
    free(img);
    free(f);
    free(labels);
}

/* The task as a CSV: a header f0..f63 with the label column "digit" after
 * f1, pixels as decimal fractions of 255 (the reader keeps them unscaled). */
static void write_csv_task(const char *name, int n, uint32_t seed, char out[CLI_PATH_MAX])
{
    size_t len;
    uint8_t *img = cli_idx_images(n, CLI_SIDE, CLI_SIDE, seed, &len);
    int px = CLI_SIDE * CLI_SIDE;
    size_t cap = (size_t)(n + 1) * (size_t)px * 12 + 64, used = 0;
    char *text = malloc(cap);
    for (int c = 0; c < px; c++)
        used += (size_t)snprintf(text + used, cap - used, "%sf%d%s", c ? "," : "", c,
                                 c == 1 ? ",digit" : "");
    for (int i = 0; i < n; i++) {
        text[used++] = '\n';
        for (int c = 0; c < px; c++) {
            used += (size_t)snprintf(text + used, cap - used, "%s%.6g", c ? "," : "",
                                     img[IDX_HEADER + i * px + c] / 255.0);
            if (c == 1)
                used += (size_t)snprintf(text + used, cap - used, ",%d", i % CLI_CLASSES);
        }
    }
    text[used++] = '\n';
    cli_write_file(name, (const uint8_t *)text, used, 0, out);
    free(text);
    free(img);
}

/* Trains model into ckpt; returns eval's count of correct test samples,
 * which must be most of them. */
static long long train_and_eval(const char *model, const char *ckpt)
{
    free(cli_run_expect(0, "train '%s' --checkpoint '%s'", model, ckpt));
    char *out = cli_run_expect(0, "eval '%s' --checkpoint '%s'", model, ckpt);
    long long correct = cli_printed_correct(out);
    free(out);
    assert_true(correct > CLI_TEST_N / 2);
    return correct;
}

/* Reads a predictions CSV: checks its header and rows, returns the rows
 * whose class is label i % 3. */
static long long csv_correct(const char *path, int n)
{
    char *text = cli_read_file(path, NULL);
    assert_non_null(text);
    assert_int_equal(strncmp(text, "class,p0,p1,p2\n", 15), 0);
    long long correct = 0;
    const char *line = strchr(text, '\n') + 1;
    for (int i = 0; i < n; i++) {
        int cls;
        double p[3];
        assert_int_equal(sscanf(line, "%d,%lf,%lf,%lf", &cls, &p[0], &p[1], &p[2]), 4);
        assert_true(p[cls] >= p[0] && p[cls] >= p[1] && p[cls] >= p[2]);
        assert_true(p[0] + p[1] + p[2] > 0.999 && p[0] + p[1] + p[2] < 1.001);
        correct += cls == i % CLI_CLASSES;
        line = strchr(line, '\n') + 1;
    }
    assert_int_equal(*line, '\0');
    free(text);
    return correct;
}

/* A predictions .npy: a float32 [n, 3] array whose rows' largest outputs
 * are the CSV's classes. */
static long long npy_correct(const char *path, int n)
{
    size_t len;
    char *b = cli_read_file(path, &len);
    assert_non_null(b);
    npy_array a;
    qsdc_error err = {""};
    if (npy_parse(path, (const unsigned char *)b, len, &a, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(a.rank, 2);
    assert_int_equal(a.dims[0], n);
    assert_int_equal(a.dims[1], CLI_CLASSES);
    assert_true(a.kind == 'f' && a.size == 4);
    long long correct = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < CLI_CLASSES; c++)
            if (npy_element(&a, (uint64_t)(i * 3 + c)) > npy_element(&a, (uint64_t)(i * 3 + best)))
                best = c;
        correct += best == i % CLI_CLASSES;
    }
    free(b);
    return correct;
}

/* The confusion matrix of a predictions CSV's class column against labels
 * i % 3, counted here, as eval prints it: its rows, then per class and
 * macro-averaged precision, recall, F1 and support. */
static void count_matrix(const char *csv, int n, long long m[CLI_CLASSES][CLI_CLASSES])
{
    char *text = cli_read_file(csv, NULL);
    assert_non_null(text);
    memset(m, 0, sizeof(long long[CLI_CLASSES][CLI_CLASSES]));
    const char *line = strchr(text, '\n') + 1;
    for (int i = 0; i < n; i++, line = strchr(line, '\n') + 1)
        m[i % CLI_CLASSES][atoi(line)]++;
    free(text);
}

/* eval's --metrics JSON holds the matrix counted here row by row, and its
 * --figure SVG a cell with its count for each of them. */
static void expect_score_files(const char *json, const char *svg, const char *csv, int n)
{
    long long m[CLI_CLASSES][CLI_CLASSES];
    count_matrix(csv, n, m);
    char *text = cli_read_file(json, NULL), *figure = cli_read_file(svg, NULL);
    assert_non_null(text);
    assert_non_null(figure);
    /* not ts_fmt's buffers: the caller holds paths in them */
    char want[256];
    snprintf(want, sizeof want, "{\"samples\": %d, \"accuracy\": ", n);
    cli_expect(text, want);
    snprintf(want, sizeof want, "\"classes\": %d,", CLI_CLASSES);
    cli_expect(text, want);
    assert_int_equal(strncmp(figure, "<svg ", 5), 0);
    int cells = 0;
    for (const char *f = figure; (f = strstr(f, "fill=\"rgb(")); f++)
        cells++;
    assert_int_equal(cells, CLI_CLASSES * CLI_CLASSES);
    for (int i = 0; i < CLI_CLASSES; i++) {
        char row[256] = "[";
        for (int j = 0; j < CLI_CLASSES; j++) {
            snprintf(row + strlen(row), sizeof row - strlen(row), "%s%lld", j ? ", " : "",
                     m[i][j]);
            snprintf(want, sizeof want, ">%lld</text>", m[i][j]);
            cli_expect(figure, want);
        }
        snprintf(want, sizeof want, "%s]", row);
        cli_expect(text, want);
    }
    free(text);
    free(figure);
}

static void expect_scores(const char *eval_out, const char *csv, int n)
{
    long long m[CLI_CLASSES][CLI_CLASSES];
    count_matrix(csv, n, m);
    char want[512];
    int used = snprintf(want, sizeof want, "confusion matrix (rows: true class, columns: "
                        "predicted class):\n%6s", "");
    for (int j = 0; j < CLI_CLASSES; j++)
        used += snprintf(want + used, sizeof want - (size_t)used, " %7d", j);
    for (int i = 0; i < CLI_CLASSES; i++) {
        used += snprintf(want + used, sizeof want - (size_t)used, "\n%6d", i);
        for (int j = 0; j < CLI_CLASSES; j++)
            used += snprintf(want + used, sizeof want - (size_t)used, " %7lld", m[i][j]);
    }
    cli_expect(eval_out, want);
    double sum_p = 0, sum_r = 0, sum_f = 0;
    for (int c = 0; c < CLI_CLASSES; c++) {
        long long support = 0, predicted = 0;
        for (int j = 0; j < CLI_CLASSES; j++) {
            support += m[c][j];
            predicted += m[j][c];
        }
        double p = predicted ? (double)m[c][c] / (double)predicted : 0;
        double r = support ? (double)m[c][c] / (double)support : 0;
        double f = p + r > 0 ? 2 * p * r / (p + r) : 0;
        sum_p += p;
        sum_r += r;
        sum_f += f;
        snprintf(want, sizeof want, "\n%-6d %9.4f %9.4f %9.4f %9lld\n", c, p, r, f, support);
        cli_expect(eval_out, want);
    }
    snprintf(want, sizeof want, "\nmacro  %9.4f %9.4f %9.4f %9d\n", sum_p / CLI_CLASSES,
             sum_r / CLI_CLASSES, sum_f / CLI_CLASSES, n);
    cli_expect(eval_out, want);
}

/* qsdc predict with extra options on the labelled test file data to
 * ts_tmpdir()/name, a CSV: its accuracy, printed and counted, is eval's.
 * Returns its path. */
static const char *expect_predict_csv(const char *model, const char *ckpt, const char *data,
                                      const char *extra, const char *name, long long eval)
{
    const char *csv = ts_fmt("%s/%s", ts_tmpdir(), name);
    char *out = cli_run_expect(0, "predict '%s' --checkpoint '%s' --data '%s' %s -o '%s'",
                               model, ckpt, data, extra, csv);
    assert_int_equal(cli_printed_correct(out), eval);
    free(out);
    assert_int_equal(csv_correct(csv, CLI_TEST_N), eval);
    return csv;
}

/* ts_tmpdir()/name: an .npz of the .npy files x and y (unless NULL), as
 * numpy.savez(x=, y=). */
static const char *write_npz(const char *name, const char *x, const char *y)
{
    static char path[CLI_PATH_MAX];  /* not ts_fmt's: the caller holds its paths */
    snprintf(path, sizeof path, "%s/%s", ts_tmpdir(), name);
    int code;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
    assert_non_null(z);
    const char *files[2] = {x, y}, *members[2] = {"x.npy", "y.npy"};
    for (int i = 0; i < (y ? 2 : 1); i++) {
        zip_source_t *src = zip_source_file(z, files[i], 0, -1);
        assert_non_null(src);
        assert_true(zip_file_add(z, members[i], src, 0) >= 0);
    }
    assert_int_equal(zip_close(z), 0);
    return path;
}

static void test_npy_model_predicts(void **state)
{
    (void)state;
    char tx[CLI_PATH_MAX], ty[CLI_PATH_MAX], sx[CLI_PATH_MAX], sy[CLI_PATH_MAX];
    char model[CLI_PATH_MAX], data[4 * CLI_PATH_MAX + 128];
    write_npy_task("npy-train", CLI_TRAIN_N, 1, false, tx, ty);
    write_npy_task("npy-test", CLI_TEST_N, 2, false, sx, sy);
    snprintf(data, sizeof data, "{format: npy, layout: nchw, train_images: %s, "
             "train_labels: %s, test_images: %s, test_labels: %s}", tx, ty, sx, sy);
    cli_write_mlp("npy.yaml", "[1, 8, 8]", data, model);
    const char *ckpt = ts_fmt("%s/npy-ckpt", ts_tmpdir());
    long long eval = train_and_eval(model, ckpt);
    const char *csv = ts_fmt("%s/npy-pred.csv", ts_tmpdir());
    char *out = cli_run_expect(0, "predict '%s' --checkpoint '%s' --data '%s' --labels '%s' "
                               "-o '%s'", model, ckpt, sx, sy, csv);
    cli_expect(out, ts_fmt("%d samples: class probabilities to %s", CLI_TEST_N, csv));
    assert_int_equal(cli_printed_correct(out), eval);
    free(out);
    assert_int_equal(csv_correct(csv, CLI_TEST_N), eval);
    char json[CLI_PATH_MAX], svg[CLI_PATH_MAX];
    snprintf(json, sizeof json, "%s/npy-scores.json", ts_tmpdir());
    snprintf(svg, sizeof svg, "%s/npy-matrix.svg", ts_tmpdir());
    out = cli_run_expect(0, "eval '%s' --checkpoint '%s' --metrics '%s' --figure '%s'", model,
                         ckpt, json, svg);
    expect_scores(out, csv, CLI_TEST_N);
    free(out);
    expect_score_files(json, svg, csv, CLI_TEST_N);
    const char *npy = ts_fmt("%s/npy-pred.npy", ts_tmpdir());
    free(cli_run_expect(0, "predict '%s' --checkpoint '%s' --data '%s' -o '%s' --batch 7",
                        model, ckpt, sx, npy));
    assert_int_equal(npy_correct(npy, CLI_TEST_N), eval);
    /* eval --data scores a file as eval scores the model's test data */
    out = cli_run_expect(0, "eval '%s' --checkpoint '%s' --data '%s' --labels '%s'", model,
                         ckpt, sx, sy);
    assert_int_equal(cli_printed_correct(out), eval);
    expect_scores(out, csv, CLI_TEST_N);
    free(out);
    /* the same arrays in an .npz */
    const char *npz = write_npz("npy-test.npz", sx, sy);
    out = cli_run_expect(0, "eval '%s' --checkpoint '%s' --data '%s'", model, ckpt, npz);
    assert_int_equal(cli_printed_correct(out), eval);
    free(out);
    out = cli_run_expect(1, "eval '%s' --checkpoint '%s' --data '%s'", model, ckpt, sx);
    cli_expect(out, ts_fmt("%s: no labels to score", sx));
    free(out);
}

/* format: npz trains as format: npy on the same arrays does, and predicts
 * eval's accuracy; an archive without labels is an error naming it. */
static void test_npz_model_trains(void **state)
{
    (void)state;
    char tx[CLI_PATH_MAX], ty[CLI_PATH_MAX], sx[CLI_PATH_MAX], sy[CLI_PATH_MAX];
    char train[CLI_PATH_MAX], test[CLI_PATH_MAX], model[CLI_PATH_MAX];
    char data[2 * CLI_PATH_MAX + 128];
    write_npy_task("npz-train", CLI_TRAIN_N, 1, false, tx, ty);
    write_npy_task("npz-test", CLI_TEST_N, 2, false, sx, sy);
    snprintf(train, sizeof train, "%s", write_npz("train.npz", tx, ty));
    snprintf(test, sizeof test, "%s", write_npz("test.npz", sx, sy));
    snprintf(data, sizeof data, "{format: npz, layout: nchw, train: %s, test: %s}", train,
             test);
    cli_write_mlp("npz.yaml", "[1, 8, 8]", data, model);
    const char *ckpt = ts_fmt("%s/npz-ckpt", ts_tmpdir());
    long long eval = train_and_eval(model, ckpt);
    expect_predict_csv(model, ckpt, test, "", "npz-pred.csv", eval);
    const char *unlabelled = write_npz("unlabelled.npz", tx, NULL);
    snprintf(data, sizeof data, "{format: npz, train: %s}", unlabelled);
    cli_write_mlp("npz-unlabelled.yaml", "[1, 8, 8]", data, model);
    char *out = cli_run_expect(1, "train '%s' --max-steps 1", model);
    cli_expect(out, ts_fmt("%s: the archive holds no labels: no array y (y.npy) or arr_1",
                           unlabelled));
    free(out);
}

/* The task as prefix-train.csv and prefix-test.csv, and the model
 * prefix.yaml on them with more data keys (", key: value") and train:
 * keys ("\n  key: value"). */
static void write_csv_model(const char *prefix, const char *more, char test[CLI_PATH_MAX],
                            char model[CLI_PATH_MAX])
{
    char train[CLI_PATH_MAX], data[2 * CLI_PATH_MAX + 256];
    write_csv_task(ts_fmt("%s-train.csv", prefix), CLI_TRAIN_N, 1, train);
    write_csv_task(ts_fmt("%s-test.csv", prefix), CLI_TEST_N, 2, test);
    snprintf(data, sizeof data, "{format: csv, train: %s, test: %s, label: digit%s", train,
             test, more);
    cli_write_mlp(ts_fmt("%s.yaml", prefix), "[64]", data, model);
}

static void test_csv_model_predicts(void **state)
{
    (void)state;
    char test[CLI_PATH_MAX], model[CLI_PATH_MAX];
    write_csv_model("csv", "}", test, model);
    const char *ckpt = ts_fmt("%s/csv-ckpt", ts_tmpdir());
    long long eval = train_and_eval(model, ckpt);
    const char *csv = expect_predict_csv(model, ckpt, test, "--label-column digit",
                                         "csv-pred.csv", eval);
    /* without --label-column, "digit" is a feature: 65 of them, not the model's 64 */
    char *out = cli_run_expect(1, "predict '%s' --checkpoint '%s' --data '%s' -o '%s'", model, ckpt,
                         test, csv);
    cli_expect(out, ts_fmt("%s: samples are 65 but the model's input is 64", test));
    free(out);
    out = cli_run_expect(1, "predict '%s' --checkpoint '%s' --data '%s' --labels x.npy -o '%s'",
                         model, ckpt, test, csv);
    cli_expect(out, "a CSV's labels are its label column");
    free(out);
    out = cli_run_expect(1, "predict '%s' --checkpoint '%s' --data '%s' --label-column digit "
                         "-o '%s/p.txt'", model, ckpt, test, ts_tmpdir());
    cli_expect(out, "predictions are written as .npy or .csv");
    free(out);
}

/* The mean of CSV feature 0 over the training rows of write_csv_task's
 * n samples: training's seeded permutation less its first n_val, which
 * val_split holds out. */
static double training_mean(int n, uint32_t seed, double val_split)
{
    size_t len;
    uint8_t *img = cli_idx_images(n, CLI_SIDE, CLI_SIDE, seed, &len);
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    philox_permutation(CLI_SEED, 0x7a11u, perm, n);
    int64_t n_val = (int64_t)(val_split * n);
    double sum = 0;
    for (int64_t i = n_val; i < n; i++) {
        char text[32];
        snprintf(text, sizeof text, "%.6g", img[IDX_HEADER + perm[i] * CLI_SIDE * CLI_SIDE] /
                                            255.0);
        sum += (float)strtod(text, NULL);
    }
    free(perm);
    free(img);
    return sum / (double)(n - n_val);
}

/* standardize: true: predictions match eval's, the statistics saved with
 * the checkpoint are the training split's, and eval without them, or with
 * them damaged, is an error naming the file. */
static void test_csv_standardized(void **state)
{
    (void)state;
    char test[CLI_PATH_MAX], model[CLI_PATH_MAX];
    write_csv_model("std", ", standardize: true}\n  val_split: 0.25", test, model);
    char ckpt[CLI_PATH_MAX];
    snprintf(ckpt, sizeof ckpt, "%s/std-ckpt", ts_tmpdir());
    long long eval = train_and_eval(model, ckpt);
    expect_predict_csv(model, ckpt, test, "--label-column digit", "std-pred.csv", eval);
    char stats[CLI_PATH_MAX + 32];
    snprintf(stats, sizeof stats, "%s/standardize.txt", ckpt);
    size_t len;
    char *text = cli_read_file(stats, &len);
    assert_non_null(text);
    const char *line = strstr(text, "checksum ");
    assert_non_null(line);
    double mean = strtod(strchr(line, '\n') + 1, NULL);
    double want = training_mean(CLI_TRAIN_N, 1, 0.25);
    if (fabs(mean - want) > 1e-6)
        fail_msg("feature 0's mean %.9g; the training split's is %.9g", mean, want);
    assert_true(fabs(mean - training_mean(CLI_TRAIN_N, 1, 0)) > 1e-6);
    /* a damaged file, then none */
    text[len - 2] = text[len - 2] == '1' ? '2' : '1';
    cli_write_file("std-ckpt/standardize.txt", (const uint8_t *)text, len, 0, stats);
    char *out = cli_run_expect(1, "eval '%s' --checkpoint '%s'", model, ckpt);
    cli_expect(out, ts_fmt("%s: offset", stats));
    cli_expect(out, "do not match the checksum: the file is damaged");
    free(out);
    remove(stats);
    out = cli_run_expect(1, "predict '%s' --checkpoint '%s' --data '%s' --label-column digit "
                         "-o '%s/p.csv'", model, ckpt, test, ts_tmpdir());
    cli_expect(out, ts_fmt("%s holds no standardisation statistics", ckpt));
    free(out);
    out = cli_run_expect(1, "infer '%s' --data '%s' --label-column digit", model, test);
    cli_expect(out, ts_fmt("%s: %s standardises its features with statistics saved with a "
                           "checkpoint", test, model));
    free(out);
    free(text);
}

/* [N, 8, 8, 2] against a [2, 8, 8] model: an error naming both shapes in
 * training and in infer, unless the layout says nhwc. */
static void test_layout(void **state)
{
    (void)state;
    char x[CLI_PATH_MAX], y[CLI_PATH_MAX], model[CLI_PATH_MAX], data[2 * CLI_PATH_MAX + 64];
    write_npy_task("hwc", CLI_TRAIN_N, 1, true, x, y);
    snprintf(data, sizeof data, "{format: npy, train_images: %s, train_labels: %s}", x, y);
    cli_write_mlp("chw.yaml", "[2, 8, 8]", data, model);
    const char *want = ts_fmt("%s: samples are 8x8x2 but the model's input is 2x8x8 (channels "
                              "first); samples stored height-width-channel need layout nhwc",
                              x);
    char *out = cli_run_expect(1, "train '%s' --max-steps 1", model);
    cli_expect(out, want);
    free(out);
    out = cli_run_expect(1, "infer '%s' --data '%s'", model, x);
    cli_expect(out, want);
    free(out);
    out = cli_run_expect(0, "infer '%s' --data '%s' --labels '%s' --layout nhwc", model, x, y);
    cli_expect(out, ts_fmt("%d samples in", CLI_TRAIN_N));
    free(out);
    out = cli_run_expect(1, "infer '%s' --data '%s' --layout nchw", model, x);
    cli_expect(out, ts_fmt("%s: samples are 8x8x2 but the model's input is 2x8x8", x));
    free(out);
    char nhwc[CLI_PATH_MAX];
    snprintf(data, sizeof data, "{format: npy, layout: nhwc, train_images: %s, "
             "train_labels: %s}", x, y);
    cli_write_mlp("nhwc.yaml", "[2, 8, 8]", data, nhwc);
    free(cli_run_expect(0, "train '%s' --max-steps 2", nhwc));
    /* files laid out as the model's training data need no --layout */
    out = cli_run_expect(0, "infer '%s' --data '%s'", nhwc, x);
    cli_expect(out, ts_fmt("%d samples in", CLI_TRAIN_N));
    free(out);
    out = cli_run_expect(1, "infer '%s' --data '%s' --layout nchw", nhwc, x);
    cli_expect(out, ts_fmt("%s: samples are 8x8x2 but the model's input is 2x8x8", x));
    free(out);
}

static void test_usage(void **state)
{
    (void)state;
    static const struct {
        const char *args, *want;
    } cases[] = {
        {"predict m.yaml --checkpoint c --data d.npy", "usage: qsdc predict"},
        {"predict m.yaml --checkpoint c -o p.csv", "usage: qsdc predict"},
        {"predict m.yaml --data d.npy -o p.csv", "usage: qsdc predict"},
        {"predict m.yaml --checkpoint c --data d.npy -o p.csv --layout hwc",
         "--layout expects nchw or nhwc, got 'hwc'"},
        {"predict m.yaml --checkpoint c --data d.npy -o p.csv --program-binary b",
         "usage: qsdc predict"},
        {"eval m.yaml --checkpoint c --layout nhwc", "usage: qsdc infer"},
        {"eval m.yaml --checkpoint c -o p.csv", "usage: qsdc infer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = cli_run_expect(2, "%s", cases[i].args);
        cli_expect(out, cases[i].want);
        free(out);
    }
    char *out = cli_run_expect(0, "predict --help");
    cli_expect(out, "--label-column");
    free(out);
}

int main(void)
{
    cli_env_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_model_predicts),
        cmocka_unit_test(test_npz_model_trains),
        cmocka_unit_test(test_csv_model_predicts),
        cmocka_unit_test(test_csv_standardized),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
