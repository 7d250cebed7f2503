/* qsdc train, eval and infer end to end on the tiny task of cli_fixture.h:
 * the loss falls, metrics are written (per epoch and every N steps), a seed
 * reproduces a run bit for bit, a resumed run ends where an uninterrupted
 * one does, and eval/infer agree with what training printed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli_fixture.h"
#include "support.h"

/* checkpoint.bin: magic, version, then u64 hash, epoch, step, seed, batch
 * and i64 n_params, n_state (docs in runtime/checkpoint.h), the floats, a
 * crc32. */
#define CKPT_EPOCH 20
#define CKPT_STEP 28
#define CKPT_SEED 36
#define CKPT_N_PARAMS 52
#define CKPT_N_STATE 60
#define CKPT_DATA 68

static cli_files task;
/* The uninterrupted reference run: 3 epochs, seed 7, checkpoint in ckpt_a. */
static char *base_out;
static char ckpt_a[CLI_PATH_MAX], metrics_a[CLI_PATH_MAX];

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    cli_write_task("t", &task);
    snprintf(ckpt_a, sizeof ckpt_a, "%s/ckpt-a", ts_tmpdir());
    snprintf(metrics_a, sizeof metrics_a, "%s/metrics-a.jsonl", ts_tmpdir());
    int status = cli_run(&base_out, "train '%s' --checkpoint '%s' --metrics '%s'", task.model,
                         ckpt_a, metrics_a);
    if (status != 0) {
        fprintf(stderr, "reference training run failed (%d):\n%s", status, base_out);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(base_out);
    ts_cleanup();
    return 0;
}

static uint64_t le64(const char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | (uint8_t)p[i];
    return v;
}

/* DIR/checkpoint.bin, checked to be as long as its header says. */
static char *read_checkpoint(const char *dir, size_t *len)
{
    char path[CLI_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    char *b = cli_read_file(path, len);
    if (!b)
        fail_msg("%s was not written", path);
    assert_true(*len >= CKPT_DATA + 4);
    uint64_t floats = le64(b + CKPT_N_PARAMS) + le64(b + CKPT_N_STATE);
    assert_int_equal(*len, CKPT_DATA + 4 * floats + 4);
    return b;
}

static void expect_same_file(const char *dir_a, const char *dir_b)
{
    size_t la, lb;
    char *a = read_checkpoint(dir_a, &la), *b = read_checkpoint(dir_b, &lb);
    assert_int_equal(la, lb);
    for (size_t i = 0; i < la; i++)
        if (a[i] != b[i])
            fail_msg("%s and %s differ first at byte %zu", dir_a, dir_b, i);
    free(a);
    free(b);
}

/* Chance level is a loss of ln 3 = 1.099 and 33% accuracy. The classes are
 * linearly separable with a wide margin (see cli_fixture.h), so 81 steps of
 * SGD at lr 0.1 take the loss far below half of ln 3 (a mean probability of
 * about 0.58 on the right class) and the test accuracy above 90%; a model
 * whose gradients are wrong or never applied stays near ln 3 and 33%. The
 * first epoch's mean includes the untrained start, so it is above the last. */
static void expect_learned(const char *out)
{
    cli_expect(out, "432 samples (48 held out), batch 16, 27 steps/epoch");
    cli_epoch e[8];
    int n = cli_epochs(out, e, 8);
    if (n != CLI_EPOCHS)
        fail_msg("expected %d epoch lines, found %d:\n%s", CLI_EPOCHS, n, out);
    for (int i = 0; i < n; i++) {
        assert_int_equal(e[i].epoch, i + 1);
        assert_int_equal(e[i].of, CLI_EPOCHS);
        assert_true(e[i].test_accuracy >= 0);
    }
    double last = e[n - 1].loss;
    if (!(last < 0.5 * log(3.0) && last < e[0].loss && e[n - 1].test_accuracy > 90.0))
        fail_msg("training did not learn the task:\n%s", out);
    cli_expect(out, "train: 81 steps, 1296 samples");
}

static void test_loss_falls(void **state)
{
    (void)state;
    expect_learned(base_out);
}

/* The run above with the GEMM backend and conv2d form qsdc measures and
 * picks (the suites pin its generated GEMMs): it learns as well, and its
 * epochs' losses stay within rounding of the pinned run's. */
static void test_measured_backends_learn(void **state)
{
    (void)state;
    ts_setenv("QSDC_GEMM", NULL);
    ts_setenv("QSDC_CONV", NULL);
    char *out = cli_run_expect(0, "train '%s'", task.model);
    expect_learned(out);
    cli_epoch want[8], got[8];
    int n = cli_epochs(base_out, want, 8);
    assert_int_equal(cli_epochs(out, got, 8), n);
    for (int i = 0; i < n; i++)
        if (!(fabs(got[i].loss - want[i].loss) <= 2e-3)) /* printed to 3 decimals */
            fail_msg("epoch %d: loss %.6g with the measured backends, %.6g pinned:\n%s",
                     i + 1, got[i].loss, want[i].loss, out);
    free(out);
}

/* The value of "key": in a JSON line, or NAN when it is missing. */
static double json_number(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    return p ? strtod(p + strlen(pat), NULL) : NAN;
}

static void test_metrics_file(void **state)
{
    (void)state;
    char *text = cli_read_file(metrics_a, NULL);
    assert_non_null(text);
    cli_epoch e[8];
    int n = cli_epochs(base_out, e, 8);
    assert_int_equal(n, CLI_EPOCHS);
    static const char *keys[] = {"epoch", "train_loss", "val_loss", "val_accuracy",
                                 "test_accuracy", "lr", "seconds", "samples_per_s"};
    int lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        assert_true(lines < n);
        if (line[0] != '{' || line[strlen(line) - 1] != '}')
            fail_msg("not a JSON object: %s", line);
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            if (isnan(json_number(line, keys[k])))
                fail_msg("no \"%s\" in %s", keys[k], line);
        assert_true(json_number(line, "epoch") == lines + 1);
        assert_true(json_number(line, "lr") > 0);
        /* the printed values are the same numbers rounded to 4 and 2 places */
        assert_true(fabs(json_number(line, "train_loss") - e[lines].loss) <= 0.5e-4 + 1e-9);
        assert_true(fabs(json_number(line, "test_accuracy") - e[lines].test_accuracy) <=
                    0.5e-2 + 1e-9);
    }
    assert_int_equal(lines, CLI_EPOCHS);
    free(text);
}

/* --metrics-every N over 2 epochs: a line for steps N, 2N, ... of the run,
 * naming its epoch and batch, before its epoch's line; with N = 1 the step
 * lines' losses average to the epoch's. Without --metrics it is a usage
 * error. */
static void test_metrics_every(void **state)
{
    (void)state;
    static const int every[2] = {5, 1};
    for (int k = 0; k < 2; k++) {
        const char *metrics = ts_fmt("%s/metrics-every-%d.jsonl", ts_tmpdir(), every[k]);
        free(cli_run_expect(0, "train '%s' --epochs 2 --metrics '%s' --metrics-every %d",
                            task.model, metrics, every[k]));
        char *text = cli_read_file(metrics, NULL);
        assert_non_null(text);
        int steps = 0, epochs = 0;
        double loss_sum = 0;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            if (isnan(json_number(line, "step"))) {
                /* an epoch's line, after its steps' */
                assert_true(json_number(line, "epoch") == ++epochs);
                assert_int_equal(steps, epochs * CLI_STEPS_PER_EPOCH / every[k]);
                if (every[k] == 1)
                    assert_true(fabs(loss_sum / CLI_STEPS_PER_EPOCH -
                                     json_number(line, "train_loss")) < 1e-5);
                loss_sum = 0;
                continue;
            }
            int step = ++steps * every[k];
            assert_true(json_number(line, "step") == step);
            assert_true(json_number(line, "epoch") == (step - 1) / CLI_STEPS_PER_EPOCH + 1);
            assert_true(json_number(line, "batch") == (step - 1) % CLI_STEPS_PER_EPOCH + 1);
            assert_true(json_number(line, "lr") > 0 && json_number(line, "train_loss") > 0);
            loss_sum += json_number(line, "train_loss");
        }
        assert_int_equal(epochs, 2);
        assert_int_equal(steps, 2 * CLI_STEPS_PER_EPOCH / every[k]);
        free(text);
    }
    char *out = cli_run_expect(2, "train '%s' --metrics-every 3", task.model);
    cli_expect(out, "--metrics-every needs --metrics FILE");
    free(out);
    out = cli_run_expect(2, "train '%s' --metrics m.jsonl --metrics-every 0", task.model);
    cli_expect(out, "--metrics-every");
    free(out);
}

static void train_into(const char *dir, const char *extra)
{
    char *out;
    out = cli_run_expect(0, "train '%s' --checkpoint '%s' %s", task.model, dir, extra);
    free(out);
}

/* Initialisation, shuffles and QSD masks all derive from the seed, so two
 * runs with one seed must write the same bytes; another seed must change
 * the parameters, not only the seed field of the header. */
static void test_seed_reproduces_run(void **state)
{
    (void)state;
    char d1[CLI_PATH_MAX], d2[CLI_PATH_MAX], d3[CLI_PATH_MAX];
    snprintf(d1, sizeof d1, "%s/ckpt-seed11-a", ts_tmpdir());
    snprintf(d2, sizeof d2, "%s/ckpt-seed11-b", ts_tmpdir());
    snprintf(d3, sizeof d3, "%s/ckpt-seed12", ts_tmpdir());
    train_into(d1, "--seed 11");
    train_into(d2, "--seed 11");
    train_into(d3, "--seed 12");
    expect_same_file(d1, d2);

    size_t l1, l3;
    char *a = read_checkpoint(d1, &l1), *c = read_checkpoint(d3, &l3);
    assert_int_equal(le64(a + CKPT_SEED), 11);
    assert_int_equal(le64(c + CKPT_SEED), 12);
    assert_int_equal(l1, l3);
    size_t params = 4 * le64(a + CKPT_N_PARAMS);
    assert_memory_not_equal(a + CKPT_DATA, c + CKPT_DATA, params);
    free(a);
    free(c);
}

/* Stopping after exactly one epoch's steps saves a checkpoint of epoch 1;
 * resuming it for the remaining epochs must end on the reference run's
 * bytes, and print the reference run's epoch 2 and 3 lines. */
static void test_resume_matches_uninterrupted_run(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX], metrics[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/ckpt-b", ts_tmpdir());
    snprintf(metrics, sizeof metrics, "%s/metrics-b.jsonl", ts_tmpdir());
    char *out;
    out = cli_run_expect(0, "train '%s' --epochs 3 --max-steps %d --checkpoint '%s' "
                         "--metrics '%s'", task.model, CLI_STEPS_PER_EPOCH, dir, metrics);
    cli_epoch e[8];
    assert_int_equal(cli_epochs(out, e, 8), 1);
    free(out);
    size_t len;
    char *ck = read_checkpoint(dir, &len);
    assert_int_equal(le64(ck + CKPT_EPOCH), 1);
    assert_int_equal(le64(ck + CKPT_STEP), CLI_STEPS_PER_EPOCH);
    free(ck);

    out = cli_run_expect(0, "train '%s' --epochs 3 --checkpoint '%s' --resume --metrics '%s'",
                         task.model, dir, metrics);
    cli_epoch r[8], ref[8];
    int n = cli_epochs(out, r, 8);
    assert_int_equal(cli_epochs(base_out, ref, 8), CLI_EPOCHS);
    if (n != 2 || r[0].epoch != 2 || r[1].epoch != 3)
        fail_msg("expected epochs 2 and 3 after resuming:\n%s", out);
    for (int i = 0; i < 2; i++) {
        assert_true(r[i].loss == ref[i + 1].loss);
        assert_string_equal(r[i].test_accuracy_text, ref[i + 1].test_accuracy_text);
    }
    free(out);
    expect_same_file(ckpt_a, dir);

    /* --resume appends to the metrics file: one line per epoch overall */
    char *text = cli_read_file(metrics, NULL);
    assert_non_null(text);
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, CLI_EPOCHS);
    assert_non_null(strstr(text, "{\"epoch\": 3,"));
    free(text);
}

/* Stopping in the middle of an epoch saves the step reached; resuming runs
 * the rest of that epoch's batches (same shuffle, learning rates and masks)
 * and must again end on the reference run's bytes. */
static void test_resume_mid_epoch_matches_uninterrupted_run(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/ckpt-mid", ts_tmpdir());
    const int stop = CLI_STEPS_PER_EPOCH + 10;
    char *out = cli_run_expect(0, "train '%s' --epochs 3 --max-steps %d --checkpoint '%s'",
                               task.model, stop, dir);
    cli_expect(out, "stopped after batch 10 of");
    free(out);
    size_t len;
    char *ck = read_checkpoint(dir, &len);
    assert_int_equal(le64(ck + CKPT_EPOCH), 1);
    assert_int_equal(le64(ck + CKPT_STEP), stop);
    free(ck);
    out = cli_run_expect(0, "train '%s' --epochs 3 --checkpoint '%s' --resume", task.model,
                         dir);
    cli_epoch r[8];
    if (cli_epochs(out, r, 8) != 2 || r[0].epoch != 2 || r[1].epoch != 3)
        fail_msg("expected the rest of epoch 2, then epoch 3:\n%s", out);
    free(out);
    expect_same_file(ckpt_a, dir);
}

/* eval reads the test data named by the model; infer over the same files
 * must agree. After one step the accuracy is still between chance and
 * perfect in general, which is what makes equality informative; the
 * trained checkpoint is compared as well. */
static void test_eval_and_infer_agree_with_training(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/ckpt-one-step", ts_tmpdir());
    char *out;
    out = cli_run_expect(0, "train '%s' --max-steps 1 --checkpoint '%s'", task.model, dir);
    cli_epoch one[8], ref[8];
    assert_int_equal(cli_epochs(out, one, 8), 1);
    free(out);
    assert_int_equal(cli_epochs(base_out, ref, 8), CLI_EPOCHS);

    const char *dirs[2] = {dir, ckpt_a};
    const char *printed[2] = {one[0].test_accuracy_text,
                              ref[CLI_EPOCHS - 1].test_accuracy_text};
    for (int i = 0; i < 2; i++) {
        char want[64];
        snprintf(want, sizeof want, "accuracy: %s%%", printed[i]);
        out = cli_run_expect(0, "eval '%s' --checkpoint '%s'", task.model, dirs[i]);
        cli_expect(out, want);
        cli_expect(out, "/96)");
        free(out);
        out = cli_run_expect(0, "infer '%s' --data '%s' --labels '%s' --checkpoint '%s'",
                             task.model, task.test_images, task.test_labels, dirs[i]);
        cli_expect(out, want);
        cli_expect(out, "96 samples in ");
        cli_expect(out, "samples/s");
        free(out);
    }
}

/* Losses are collected a step late (the queue never drains), yet a run
 * whose loss stops being finite still ends with an error naming the step. */
static void test_divergence_is_reported(void **state)
{
    (void)state;
    /* the task's model without softmax, trained on squared error: lr 1e6
     * makes the logits grow without bound until the loss overflows */
    char *text = cli_read_file(task.model, NULL);
    assert_non_null(text);
    char *softmax = strstr(text, "  - softmax\n"), *split = strstr(text, "  val_split");
    assert_non_null(softmax);
    assert_non_null(split);
    char yaml[8192];
    snprintf(yaml, sizeof yaml, "%.*s%.*s  loss: mse\n%s", (int)(softmax - text), text,
             (int)(split - softmax - 12), softmax + 12, split);
    free(text);
    const char *model = ts_write("diverges.yaml", yaml, strlen(yaml));
    char *out;
    int status = cli_run(&out, "train '%s' --lr 1000000", model);
    cli_expect_status(status, 1, out);
    cli_expect(out, "training diverged: the loss is not finite at step ");
    free(out);
}

static void test_infer_without_labels(void **state)
{
    (void)state;
    char *out;
    out = cli_run_expect(0, "infer '%s' --data '%s' --checkpoint '%s'", task.model,
                         task.train_images, ckpt_a);
    cli_expect(out, "480 samples in ");
    cli_expect(out, "samples/s");
    cli_expect_not(out, "accuracy");
    free(out);
    /* without a checkpoint the parameters are the seeded initialisation */
    out = cli_run_expect(0, "infer '%s' --data '%s'", task.model, task.test_images);
    cli_expect(out, "untrained, initialised from seed 7");
    cli_expect(out, "96 samples in ");
    free(out);
}

/* A second run on a checkpoint directory in use fails at once, naming the
 * first run's pid (this process holds the lock here). */
static void test_checkpoint_dir_in_use(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/ckpt-busy", ts_tmpdir());
    qsdc_error err = {{0}};
    int fd = checkpoint_claim_dir(dir, &err);
    if (fd < 0)
        fail_msg("%s", err.message);
    char *out = cli_run_expect(1, "train '%s' --checkpoint '%s' --max-steps 2", task.model,
                               dir);
    cli_expect(out, ts_fmt("in use by another qsdc train (pid %ld", (long)getpid()));
    cli_expect_not(out, "epoch 1/");
    free(out);
    close(fd);
}

/* An unwritable checkpoint directory fails before the first step, not at
 * the first save an epoch later (/proc/1: unwritable even to root). */
static void test_checkpoint_dir_read_only(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX] = "/proc/1";
    if (geteuid() != 0) {
        snprintf(dir, sizeof dir, "%s/ckpt-ro", ts_tmpdir());
        mkdir(dir, 0555);
    }
    char *out = cli_run_expect(1, "train '%s' --checkpoint '%s'", task.model, dir);
    cli_expect(out, ts_fmt("checkpoint directory %s is not writable", dir));
    cli_expect_not(out, "epoch 1/");
    free(out);
}

/* Metrics that cannot be written stop the run with an error, after the
 * epoch's checkpoint is saved. */
static void test_metrics_write_failure(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/ckpt-full", ts_tmpdir());
    char *out = cli_run_expect(1, "train '%s' --checkpoint '%s' --metrics /dev/full",
                               task.model, dir);
    cli_expect(out, "/dev/full: cannot write the metrics: No space left on device");
    cli_expect(out, "epoch 1/");
    cli_expect_not(out, "epoch 2/");
    free(out);
    out = cli_run_expect(0, "eval '%s' --checkpoint '%s'", task.model, dir);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_falls),
        cmocka_unit_test_teardown(test_measured_backends_learn, ts_restore_env),
        cmocka_unit_test(test_metrics_file),
        cmocka_unit_test(test_metrics_every),
        cmocka_unit_test(test_seed_reproduces_run),
        cmocka_unit_test(test_resume_matches_uninterrupted_run),
        cmocka_unit_test(test_resume_mid_epoch_matches_uninterrupted_run),
        cmocka_unit_test(test_eval_and_infer_agree_with_training),
        cmocka_unit_test(test_infer_without_labels),
        cmocka_unit_test(test_divergence_is_reported),
        cmocka_unit_test(test_checkpoint_dir_in_use),
        cmocka_unit_test(test_checkpoint_dir_read_only),
        cmocka_unit_test(test_metrics_write_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
