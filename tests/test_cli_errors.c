/* What the qsdc command says about bad input: data files (through qsdc
 * train, each message naming the path and the byte offset or sample
 * index), model files (path:line:col), checkpoints that do not fit, and
 * usage errors. Exit status 1 for errors, 2 for usage. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "cli_fixture.h"
#include "support.h"

static cli_files task;

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    cli_write_task("e", &task);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_cleanup();
    return 0;
}

/* Trains a model reading the given training files (the task's test files)
 * and expects exit status 1 with each of the wanted texts and no epoch. */
static void expect_train_error(const char *name, const char *images, const char *labels,
                               const char *want1, const char *want2)
{
    char model[CLI_PATH_MAX], yaml[256];
    snprintf(yaml, sizeof yaml, "%s.yaml", name);
    cli_write_model(yaml, images, labels, task.test_images, task.test_labels, model);
    char *out;
    out = cli_run_expect(1, "train '%s'", model);
    cli_expect(out, want1);
    if (want2)
        cli_expect(out, want2);
    cli_expect_not(out, "train loss");
    free(out);
}

static void test_missing_data_file(void **state)
{
    (void)state;
    char missing[CLI_PATH_MAX], want[CLI_PATH_MAX + 64];
    snprintf(missing, sizeof missing, "%s/no-such-images.idx", ts_tmpdir());
    snprintf(want, sizeof want, "qsdc: %s: cannot open: No such file or directory", missing);
    expect_train_error("missing", missing, task.train_labels, want, NULL);
}

/* A file cut 10 bytes into sample 100: the reader reaches the end at the
 * file's length. Gzip-compressed, the offset is still the one in the
 * uncompressed stream. */
static void test_truncated_images(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = cli_idx_images(CLI_TRAIN_N, CLI_SIDE, CLI_SIDE, 1, &len);
    size_t cut = 16 + 100 * CLI_SIDE * CLI_SIDE + 10;
    char want[CLI_PATH_MAX + 64];
    for (int gz = 0; gz < 2; gz++) {
        char path[CLI_PATH_MAX];
        cli_write_file(gz ? "cut.idx.gz" : "cut.idx", b, cut, gz, path);
        snprintf(want, sizeof want, "%s: offset %zu: unexpected end of file", path, cut);
        expect_train_error(gz ? "cut-gz" : "cut", path, task.train_labels, want, NULL);
    }
    free(b);
}

/* The magic written little-endian, a common writer's mistake. */
static void test_bad_magic(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = cli_idx_images(CLI_TRAIN_N, CLI_SIDE, CLI_SIDE, 1, &len);
    b[0] = 0x03;
    b[1] = 0x08;
    b[2] = 0x00;
    b[3] = 0x00;
    char path[CLI_PATH_MAX], want[CLI_PATH_MAX + 64];
    cli_write_file("swapped.idx", b, len, 0, path);
    snprintf(want, sizeof want, "%s: offset 0: bad magic 0x03080000", path);
    expect_train_error("magic", path, task.train_labels, want, NULL);
    free(b);
}

static void test_count_mismatch(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = cli_idx_labels(CLI_TRAIN_N - 1, &len);
    char path[CLI_PATH_MAX], want[2 * CLI_PATH_MAX + 64];
    cli_write_file("short-labels.idx", b, len, 0, path);
    snprintf(want, sizeof want, "%s: %d images but %s: %d labels", task.train_images,
             CLI_TRAIN_N, path, CLI_TRAIN_N - 1);
    expect_train_error("count", task.train_images, path, want, NULL);
    free(b);
}

/* Label 7 for a 3-class model at sample 100: offset 8 (the idx1 header)
 * + 100. The test labels are checked as well as the training labels. */
static void test_label_outside_classes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = cli_idx_labels(CLI_TRAIN_N, &len);
    b[8 + 100] = 7;
    char path[CLI_PATH_MAX], want[CLI_PATH_MAX + 64];
    cli_write_file("label7.idx", b, len, 0, path);
    snprintf(want, sizeof want, "%s: label 7 at index 100 (offset 108)", path);
    expect_train_error("label", task.train_images, path, want,
                       "outside the model's 3 classes");
    free(b);

    b = cli_idx_labels(CLI_TEST_N, &len);
    b[8 + CLI_TEST_N - 1] = 3;
    cli_write_file("test-label3.idx", b, len, 0, path);
    free(b);
    char model[CLI_PATH_MAX];
    cli_write_model("test-label.yaml", task.train_images, task.train_labels, task.test_images,
                    path, model);
    snprintf(want, sizeof want, "%s: label 3 at index %d (offset %d)", path, CLI_TEST_N - 1,
             8 + CLI_TEST_N - 1);
    char *out;
    out = cli_run_expect(1, "train '%s'", model);
    cli_expect(out, want);
    free(out);
}

/* 6x6 images for a model whose input is 1x8x8; infer checks the same. */
static void test_image_shape_mismatch(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = cli_idx_images(CLI_TRAIN_N, 6, 6, 1, &len);
    char path[CLI_PATH_MAX], want[CLI_PATH_MAX + 96];
    cli_write_file("six.idx", b, len, 0, path);
    free(b);
    snprintf(want, sizeof want,
             "%s: samples are 6x6 (36 elements) but the model expects 64 elements", path);
    expect_train_error("shape", path, task.train_labels, want, NULL);
    char *out;
    out = cli_run_expect(1, "infer '%s' --data '%s'", task.model, path);
    cli_expect(out, want);
    free(out);
}

/* Writes a copy of the task's model with one substring replaced. */
static void write_model_variant(const char *name, const char *from, const char *to,
                                char out[CLI_PATH_MAX])
{
    char *text = cli_read_file(task.model, NULL);
    assert_non_null(text);
    char *at = strstr(text, from);
    assert_non_null(at);
    char buf[8192];
    int n = snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - text), text, to,
                     at + strlen(from));
    assert_true(n > 0 && (size_t)n < sizeof buf);
    snprintf(out, CLI_PATH_MAX, "%s", ts_write(name, buf, (size_t)n));
    free(text);
}

/* Line 5 is "  - {op: dense, units: 32}"; the unknown key sits at column 17
 * and the dense layer, which a missing flatten leaves with a 4-d input, at
 * column 5. Both the compiler and train report them the same way. */
static void test_model_errors(void **state)
{
    (void)state;
    char bad_key[CLI_PATH_MAX], bad_shape[CLI_PATH_MAX], want[CLI_PATH_MAX + 64];
    write_model_variant("bad-key.yaml", "units: 32", "unit: 32", bad_key);
    write_model_variant("bad-shape.yaml", "  - flatten\n", "  - relu\n", bad_shape);
    char *out;
    snprintf(want, sizeof want, "qsdc: %s:5:17: error: unknown parameter 'unit'", bad_key);
    out = cli_run_expect(1, "train '%s'", bad_key);
    cli_expect(out, want);
    free(out);
    out = cli_run_expect(1, "'%s' -o '%s/never'", bad_key, ts_tmpdir());
    cli_expect(out, want);
    free(out);
    snprintf(want, sizeof want, "qsdc: %s:5:5: error: dense 'dense1'", bad_shape);
    out = cli_run_expect(1, "train '%s'", bad_shape);
    cli_expect(out, want);
    cli_expect(out, "flatten");
    free(out);

    char missing[CLI_PATH_MAX];
    snprintf(missing, sizeof missing, "%s/no-such-model.yaml", ts_tmpdir());
    snprintf(want, sizeof want, "%s: cannot open", missing);
    static const char *const commands[] = {"train '%s'", "eval '%s' --checkpoint x",
                                           "infer '%s' --data x", "'%s'"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char args[CLI_PATH_MAX + 64];
        snprintf(args, sizeof args, commands[i], missing);
        out = cli_run_expect(1, "%s", args);
        cli_expect(out, want);
        free(out);
    }
}

/* Resuming without a checkpoint, with another seed, or with a checkpoint of
 * a different architecture are errors, not silent restarts. */
static void test_checkpoint_errors(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX], other[CLI_PATH_MAX], want[CLI_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/ckpt", ts_tmpdir());
    char *out;
    out = cli_run_expect(1, "train '%s' --resume --checkpoint '%s'", task.model, dir);
    snprintf(want, sizeof want, "no checkpoint in %s", dir);
    cli_expect(out, want);
    free(out);

    out = cli_run_expect(0, "train '%s' --max-steps 1 --checkpoint '%s'", task.model, dir);
    free(out);
    out = cli_run_expect(1, "train '%s' --resume --checkpoint '%s' --seed 8", task.model, dir);
    cli_expect(out, "trained with seed 7, this run has seed 8");
    free(out);

    /* another width, activation or regulariser setting is another model */
    static const char *const variants[][2] = {
        {"units: 32", "units: 16"}, {"  - relu\n", "  - tanh\n"}, {"p: 0.5", "p: 0.6"}};
    snprintf(want, sizeof want, "%s/checkpoint.bin: saved for a different model", dir);
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        write_model_variant("variant.yaml", variants[i][0], variants[i][1], other);
        out = cli_run_expect(1, "eval '%s' --checkpoint '%s'", other, dir);
        cli_expect(out, want);
        free(out);
        out = cli_run_expect(1, "train '%s' --resume --checkpoint '%s'", other, dir);
        cli_expect(out, want);
        free(out);
    }

    /* another batch would resume at a batch index that skips samples; eval,
     * where the batch changes nothing, still loads it */
    out = cli_run_expect(1, "train '%s' --resume --checkpoint '%s' --batch 32", task.model,
                         dir);
    cli_expect(out, "checkpoint was trained with batch 16, this run has batch 32");
    free(out);
    out = cli_run_expect(0, "eval '%s' --checkpoint '%s' --batch 32", task.model, dir);
    free(out);
}

/* A copy of dir's checkpoint in DIR/name with n bytes at offset replaced
 * and the checksum made valid again: damage only a reader's checks catch. */
static const char *crafted_checkpoint(const char *dir, const char *name, size_t offset,
                                      const void *bytes, size_t n)
{
    size_t len;
    uint8_t *b = (uint8_t *)cli_read_file(ts_fmt("%s/checkpoint.bin", dir), &len);
    assert_non_null(b);
    assert_true(offset + n + 4 <= len);
    memcpy(b + offset, bytes, n);
    uint32_t crc = (uint32_t)crc32(0, b, (uInt)(len - 4));
    for (int i = 0; i < 4; i++)
        b[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    static char out[CLI_PATH_MAX];
    snprintf(out, sizeof out, "%s/%s", ts_tmpdir(), name);
    assert_int_equal(mkdir(out, 0700), 0);
    ts_write(ts_fmt("%s/checkpoint.bin", name), b, len);
    free(b);
    return out;
}

/* Counters past any plan and NaN parameters are refused even with a valid
 * checksum. */
static void test_crafted_checkpoints(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/to-craft", ts_tmpdir());
    char *out = cli_run_expect(0, "train '%s' --max-steps 2 --checkpoint '%s'", task.model,
                               dir);
    free(out);
    /* epoch and step (offsets 20 and 28) both 2^64-1 */
    uint8_t ones[16];
    memset(ones, 0xff, sizeof ones);
    const char *far = crafted_checkpoint(dir, "far", 20, ones, sizeof ones);
    out = cli_run_expect(1, "train '%s' --resume --checkpoint '%s'", task.model, far);
    cli_expect(out, "checkpoint at step 18446744073709551615 after 18446744073709551615 "
                    "epochs is outside this run's plan of 3 epochs of 27 steps");
    free(out);
    /* the first parameter (offset 68) */
    const uint8_t le[4] = {0x00, 0x00, 0xc0, 0x7f}; /* a quiet NaN */
    const char *nan_dir = crafted_checkpoint(dir, "nan", 68, le, sizeof le);
    out = cli_run_expect(1, "eval '%s' --checkpoint '%s'", task.model, nan_dir);
    cli_expect(out, "checkpoint.bin: parameter 0 of");
    cli_expect(out, "is nan: the saved model is unusable");
    free(out);
}

/* A validation or test split too short for one batch has no perplexity:
 * train says so once at the start and leaves it out of the epoch lines,
 * eval fails saying so, instead of printing nan (for 0 test tokens, exit 0). */
static void test_lm_splits_without_a_batch(void **state)
{
    (void)state;
    char text[100 * 26], *p = text;
    for (int i = 0; i < 100; i++)
        p += sprintf(p, "the cat sat on the mat .\n");
    ts_write("few.txt", text, (size_t)(p - text));
    static const char yaml[] =
        "name: lm\ninput: {shape: [2], dtype: int32}\n"
        "layers:\n  - {op: embedding, vocab: 10, dim: 8}\n  - {op: lstm, units: 16}\n"
        "  - {op: dense, units: 10}\n"
        "train:\n  data: {format: text, corpus: few.txt, vocab: 8, split: [0.99, 0]}\n"
        "  batch: 8\n  epochs: 1\n";
    const char *model = ts_write("few.yaml", yaml, sizeof yaml - 1);
    char dir[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/few-ckpt", ts_tmpdir());
    char *out = cli_run_expect(0, "train '%s' --checkpoint '%s'", model, dir);
    cli_expect(out, "qsdc: note: ");
    cli_expect(out, "few.txt: the validation split holds 0 tokens, too few for one batch of 8 "
                    "streams of 2 steps (at least 24 needed): no validation perplexity\n");
    cli_expect(out, "few.txt: the test split holds 8 tokens, too few for one batch of 8 "
                    "streams of 2 steps (at least 24 needed): no test perplexity\n");
    cli_expect(out, "epoch 1/1");
    cli_expect_not(out, "perplexity nan");
    free(out);
    out = cli_run_expect(1, "eval '%s' --checkpoint '%s'", model, dir);
    cli_expect(out, "few.txt: the test split holds 8 tokens, too few for one batch of 8 "
                    "streams of 2 steps (at least 24 needed): no perplexity to report");
    free(out);
}

/* A FIFO given as a program binary or a result is refused at once: no run
 * waits for a writer that never comes. */
static void test_fifo_inputs(void **state)
{
    (void)state;
    char want[CLI_PATH_MAX + 64], results[CLI_PATH_MAX];
    const char *fifo = ts_fifo("kernels.fifo");
    snprintf(want, sizeof want, "%s: cannot open: not a regular file (a FIFO)", fifo);
    char *out = cli_run_expect(1, "infer '%s' --data '%s' --program-binary '%s'", task.model,
                               task.test_images, fifo);
    cli_expect(out, want);
    free(out);

    snprintf(results, sizeof results, "%s/results", ts_tmpdir());
    assert_int_equal(mkdir(results, 0700), 0);
    assert_int_equal(mkdir(ts_fmt("%s/run1", results), 0700), 0);
    fifo = ts_fifo("results/run1/result.json");
    snprintf(want, sizeof want, "qsdc: %s: cannot open: not a regular file (a FIFO)", fifo);
    out = cli_run_expect(1, "report '%s'", results);
    cli_expect(out, want);
    free(out);
}

static void expect_usage_error(const char *args, const char *want)
{
    char *out;
    int status = cli_run(&out, "%s", args);
    if (status != 2)
        fail_msg("qsdc %s: exit status %d, expected 2:\n%s", args, status, out);
    cli_expect(out, want);
    free(out);
}

/* Output lost to a full disk fails the command, with the reason. */
static void test_stdout_write_failure(void **state)
{
    (void)state;
    char *out = NULL;
    int status = ts_run(ts_fmt("{ '%s' --version >/dev/full; }", ts_qsdc()), &out);
    cli_expect_status(status, 1, out);
    cli_expect(out, "qsdc: cannot write the output: No space left on device");
    free(out);
    status = ts_run(ts_fmt("{ '%s' infer '%s' --data '%s' >/dev/full; }", ts_qsdc(), task.model,
                           task.test_images), &out);
    cli_expect_status(status, 1, out);
    cli_expect(out, "qsdc: cannot write the output: No space left on device");
    free(out);
}

static void test_usage_errors(void **state)
{
    (void)state;
    char args[CLI_PATH_MAX + 64];
    const char *m = task.model;
    expect_usage_error("", "usage: qsdc");
    expect_usage_error("--bogus", "unknown option '--bogus'");
    expect_usage_error("train", "usage: qsdc train");
#define USAGE(want, fmt) \
    (snprintf(args, sizeof args, fmt, m), expect_usage_error(args, want))
    USAGE("usage: qsdc train", "train '%s' --bogus");
    USAGE("usage: qsdc train", "train '%s' --epochs");
    USAGE("--resume needs --checkpoint DIR", "train '%s' --resume");
    USAGE("--epochs expects an integer >= 1, got '0'", "train '%s' --epochs 0");
    USAGE("--epochs expects an integer >= 1, got 'abc'", "train '%s' --epochs abc");
    USAGE("--epochs expects an integer >= 1, got '3x'", "train '%s' --epochs 3x");
    USAGE("--epochs expects an integer >= 1, got '-1'", "train '%s' --epochs -1");
    USAGE("--epochs expects an integer >= 1, got '99999999999999999999'",
          "train '%s' --epochs 99999999999999999999");
    USAGE("--lr expects a positive number, got '-0.1'", "train '%s' --lr -0.1");
    /* positive, but 0 in float32 on the device */
    USAGE("--lr 1e-50 is below the smallest normal float32 (1.17549e-38) and would round "
          "to 0 or lose precision on the device", "train '%s' --lr 1e-50");
    USAGE("--batch expects an integer >= 1, got '0'", "'%s' --batch 0");
    USAGE("usage: qsdc infer", "eval '%s'");
    USAGE("usage: qsdc infer", "infer '%s'");
    USAGE("usage: qsdc infer", "infer '%s' --checkpoint");
#undef USAGE
    expect_usage_error("devices extra", "devices takes no arguments");
}

/* Runs "qsdc ARGS", expecting exit status 1 and want in the output. */
static void expect_refusal(const char *want, const char *args)
{
    char *out = cli_run_expect(1, "%s", args);
    cli_expect(out, want);
    cli_expect_not(out, "train loss");
    free(out);
}

/* The documented refusals: malformed --devices lists, training data
 * smaller than one batch, a bundle compiled without --train, sentiment data
 * for a model that does not output two classes, a language model under
 * --devices, an experiment on a model without test data. */
static void test_documented_refusals(void **state)
{
    (void)state;
    const char *m = task.model;
    expect_refusal("--devices ,: expected device specs separated by commas",
                   ts_fmt("train '%s' --devices ,", m));
    expect_refusal("--devices 0,,1: expected device specs separated by commas",
                   ts_fmt("train '%s' --devices 0,,1", m));
    expect_refusal("--devices: no device given", ts_fmt("train '%s' --devices ''", m));
    expect_refusal("432 training samples, fewer than one batch of 500",
                   ts_fmt("train '%s' --batch 500", m));

    char bundle[CLI_PATH_MAX];
    snprintf(bundle, sizeof bundle, "%s/infer-only", ts_tmpdir());
    free(cli_run_expect(0, "'%s' -o '%s'", m, bundle));
    expect_refusal("the bundle holds no training plan", ts_fmt("train '%s'", bundle));

    /* a token model reading its data file, the two written under name */
#define TOKEN_MODEL(STEPS, OUT, DATA)                                                  \
    "name: t\ninput: {shape: [" STEPS "], dtype: int32}\n"                              \
    "layers: [{op: embedding, vocab: 20, dim: 3}, {op: lstm, units: 3}, " OUT "]\n"    \
    "train: {data: " DATA ", batch: 2}\n"
    const char csv[] = "1,a good film\n-1,a bad film\n1,good\n-1,bad\n1,fine good\n";
    const char sent[] = TOKEN_MODEL("4", "{op: pool_sequence, mode: last}, {op: dense, units: 1}",
                                    "{format: sentiment, csv: refusal.csv, vocab: 10}");
    ts_write("refusal.csv", csv, strlen(csv));
    expect_refusal("refusal.csv: sentiment data have 2 classes but the model's output has 1",
                   ts_fmt("train '%s'", ts_write("refusal-sent.yaml", sent, strlen(sent))));
    const char corpus[] = "in the beginning\nand the earth\nand god said\nlet there be\n";
    const char lm[] = TOKEN_MODEL("3", "{op: dense, units: 20}",
                                  "{format: text, corpus: refusal.txt, vocab: 10}");
    ts_write("refusal.txt", corpus, strlen(corpus));
#undef TOKEN_MODEL
    expect_refusal("a language model (data format text) trains on one device in one "
                   "process, not data parallel",
                   ts_fmt("train '%s' --devices 0,0",
                          ts_write("refusal-lm.yaml", lm, strlen(lm))));

    char no_test[CLI_PATH_MAX];
    cli_write_model("refusal-no-test.yaml", task.train_images, task.train_labels, NULL, NULL,
                    no_test);
    char exp[CLI_PATH_MAX + 100];
    int n = snprintf(exp, sizeof exp, "name: e\nmodel: %s\nsettings: [none]\nseeds: 1\n",
                     no_test);
    expect_refusal("needs training and test data",
                   ts_fmt("experiment '%s' -o '%s/refusal-results'",
                          ts_write("refusal-exp.yaml", exp, (size_t)n), ts_tmpdir()));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_refusals),
        cmocka_unit_test(test_missing_data_file),
        cmocka_unit_test(test_truncated_images),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_count_mismatch),
        cmocka_unit_test(test_label_outside_classes),
        cmocka_unit_test(test_image_shape_mismatch),
        cmocka_unit_test(test_model_errors),
        cmocka_unit_test(test_checkpoint_errors),
        cmocka_unit_test(test_crafted_checkpoints),
        cmocka_unit_test(test_fifo_inputs),
        cmocka_unit_test(test_lm_splits_without_a_batch),
        cmocka_unit_test(test_stdout_write_failure),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
