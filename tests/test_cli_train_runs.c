/* qsdc train's handling of a run's checkpoint folder and of its epochs,
 * end to end on the fixture's task: a folder that holds a run is refused
 * without --resume or --overwrite, and --overwrite starts over exactly as a
 * fresh folder does; --resume of a finished run says so and trains
 * nothing; --early-stop stops where its rule says on the printed
 * validation accuracies, --keep-best keeps that epoch's checkpoint in
 * DIR/best, and a run cut short and resumed ends on the same bytes in both;
 * the epoch line gives the validation loss and the learning rate, the
 * progress counts the batches --max-steps leaves, and the time spent
 * measuring kernels is said when there was some. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_fixture.h"
#include "support.h"

#define CKPT_EPOCH 20  /* checkpoint.bin's u64 epoch (runtime/checkpoint.h) */
#define MAX_EPOCHS 8
#define PATIENCE 2

static cli_files task;

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    cli_write_task("runs", &task);
    return 0;
}

static const char *dir_in(const char *name)
{
    return ts_fmt("%s/%s", ts_tmpdir(), name);
}

/* The bytes of DIR/checkpoint.bin (the caller frees). */
static char *checkpoint_bytes(const char *dir, size_t *len)
{
    char path[CLI_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    char *b = cli_read_file(path, len);
    if (!b || *len < CKPT_EPOCH + 8)
        fail_msg("%s was not written", path);
    return b;
}

static uint64_t checkpoint_epoch(const char *dir)
{
    size_t len;
    char *b = checkpoint_bytes(dir, &len);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | (uint8_t)b[CKPT_EPOCH + i];
    free(b);
    return v;
}

static void expect_same_checkpoint(const char *a_dir, const char *b_dir)
{
    size_t la, lb;
    char *a = checkpoint_bytes(a_dir, &la), *b = checkpoint_bytes(b_dir, &lb);
    assert_int_equal(la, lb);
    if (memcmp(a, b, la) != 0)
        fail_msg("%s and %s hold different checkpoints", a_dir, b_dir);
    free(a);
    free(b);
}

static void test_reused_folder(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX], fresh[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", dir_in("reused"));
    snprintf(fresh, sizeof fresh, "%s", dir_in("fresh"));
    free(cli_run_expect(0, "train '%s' --max-steps 2 --checkpoint '%s'", task.model, dir));
    char *out = cli_run_expect(1, "train '%s' --max-steps 5 --checkpoint '%s'", task.model,
                               dir);
    cli_expect(out, ts_fmt("qsdc: %s already holds a run (checkpoint after 0 epochs, step 2): "
                           "continue it with --resume, or start over with --overwrite", dir));
    cli_expect_not(out, "train loss");
    free(out);
    free(cli_run_expect(0, "train '%s' --max-steps 5 --checkpoint '%s' --overwrite",
                        task.model, dir));
    free(cli_run_expect(0, "train '%s' --max-steps 5 --checkpoint '%s'", task.model, fresh));
    expect_same_checkpoint(dir, fresh);
}

static void test_resume_finished_run(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX], before[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", dir_in("finished"));
    snprintf(before, sizeof before, "%s", dir_in("finished-copy"));
    free(cli_run_expect(0, "train '%s' --checkpoint '%s'", task.model, dir));
    free(cli_run_expect(0, "train '%s' --checkpoint '%s'", task.model, before));
    char *out = cli_run_expect(0, "train '%s' --checkpoint '%s' --resume", task.model, dir);
    cli_expect(out, ts_fmt("%s: the run already finished: %d epochs, %d steps (more with "
                           "--epochs)", dir, CLI_EPOCHS, CLI_EPOCHS * CLI_STEPS_PER_EPOCH));
    cli_epoch e[4];
    assert_int_equal(cli_epochs(out, e, 4), 0);
    free(out);
    expect_same_checkpoint(dir, before);

    snprintf(dir, sizeof dir, "%s", dir_in("at-max-steps"));
    free(cli_run_expect(0, "train '%s' --max-steps 10 --checkpoint '%s'", task.model, dir));
    out = cli_run_expect(0, "train '%s' --max-steps 10 --checkpoint '%s' --resume", task.model,
                         dir);
    cli_expect(out, ts_fmt("%s: the run is already at step 10 of --max-steps 10", dir));
    assert_int_equal(cli_epochs(out, e, 4), 0);
    free(out);
}

/* The rule on the printed validation accuracies: the best is the first
 * epoch with the highest so far, and the run stops once PATIENCE epochs
 * have passed without a higher one. Returns the epoch it stops after. */
static int expected_stop(const cli_epoch *e, int n, int *best)
{
    *best = 0;
    double top = -1;
    for (int i = 0; i < n; i++) {
        assert_true(e[i].val_accuracy >= 0);
        if (e[i].val_accuracy > top) {
            top = e[i].val_accuracy;
            *best = i + 1;
        } else if (i + 1 - *best >= PATIENCE) {
            return i + 1;
        }
    }
    return MAX_EPOCHS;
}

/* An uninterrupted run with --early-stop and --keep-best, and the same
 * cut short inside its third epoch and resumed. */
static void test_early_stop_and_best(void **state)
{
    (void)state;
    char whole[CLI_PATH_MAX], cut[CLI_PATH_MAX], best[CLI_PATH_MAX + 8];
    snprintf(whole, sizeof whole, "%s", dir_in("early"));
    snprintf(cut, sizeof cut, "%s", dir_in("early-cut"));
    char opts[64];
    snprintf(opts, sizeof opts, "--epochs %d --early-stop %d --keep-best", MAX_EPOCHS,
             PATIENCE);
    char *out = cli_run_expect(0, "train '%s' --checkpoint '%s' %s", task.model, whole, opts);
    cli_epoch e[MAX_EPOCHS + 1];
    int n = cli_epochs(out, e, MAX_EPOCHS + 1), best_epoch;
    int stop = expected_stop(e, n, &best_epoch);
    if (n != stop)
        fail_msg("expected the run to stop after epoch %d:\n%s", stop, out);
    if (stop < MAX_EPOCHS)
        cli_expect(out, ts_fmt("early stop: no better validation accuracy in %d epochs than "
                               "epoch %d's %.2f%%", PATIENCE, best_epoch,
                               e[best_epoch - 1].val_accuracy));
    cli_expect(out, ts_fmt("best: epoch %d, validation accuracy %.2f%%, in %s/best",
                           best_epoch, e[best_epoch - 1].val_accuracy, whole));
    free(out);
    snprintf(best, sizeof best, "%s/best", whole);
    assert_int_equal(checkpoint_epoch(best), best_epoch);
    assert_int_equal(checkpoint_epoch(whole), stop);
    free(cli_run_expect(0, "eval '%s' --checkpoint '%s'", task.model, best));

    /* stopped inside epoch 3, resumed: the same checkpoints */
    int cut_at = 2 * CLI_STEPS_PER_EPOCH + 5;
    free(cli_run_expect(0, "train '%s' --checkpoint '%s' %s --max-steps %d", task.model, cut,
                        opts, cut_at));
    out = cli_run_expect(0, "train '%s' --checkpoint '%s' %s --resume", task.model, cut, opts);
    cli_epoch r[MAX_EPOCHS + 1];
    int resumed = cli_epochs(out, r, MAX_EPOCHS + 1);
    if (resumed != stop - 2 || r[0].epoch != 3)
        fail_msg("expected epochs 3 to %d after resuming:\n%s", stop, out);
    free(out);
    expect_same_checkpoint(whole, cut);
    char cut_best[CLI_PATH_MAX + 8];
    snprintf(cut_best, sizeof cut_best, "%s/best", cut);
    expect_same_checkpoint(best, cut_best);
    if (stop < MAX_EPOCHS) {
        out = cli_run_expect(0, "train '%s' --checkpoint '%s' %s --resume", task.model, cut,
                             opts);
        cli_expect(out, ts_fmt("%s: the run already stopped early: no better validation "
                               "score in %d epochs after epoch %d", cut, PATIENCE,
                               best_epoch));
        free(out);
    }
    /* a fresh run in the folder forgets the earlier best */
    out = cli_run_expect(0, "train '%s' --checkpoint '%s' --overwrite --max-steps 3", task.model,
                         cut);
    free(out);
    size_t len;
    char *gone = cli_read_file(ts_fmt("%s/checkpoint.bin", cut_best), &len);
    assert_null(gone);
}

static void test_refusals(void **state)
{
    (void)state;
    char no_val[CLI_PATH_MAX];
    cli_model_variant(task.model, "no-val.yaml", "val_split: 0.1", "val_split: 0", no_val);
    char *out = cli_run_expect(1, "train '%s' --early-stop 2", no_val);
    cli_expect(out, ts_fmt("--early-stop scores each epoch on the validation split, and %s "
                           "holds none out", no_val));
    free(out);
    out = cli_run_expect(1, "train '%s' --keep-best --checkpoint '%s'", no_val,
                         dir_in("no-val"));
    cli_expect(out, "--keep-best scores each epoch on the validation split");
    free(out);
    static const struct {
        const char *args, *want;
    } usage[] = {
        {"--overwrite", "--overwrite needs --checkpoint DIR"},
        {"--keep-best", "--keep-best needs --checkpoint DIR"},
        {"--checkpoint d --resume --overwrite", "give --resume or --overwrite, not both"},
        {"--early-stop 0", "--early-stop"},
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        out = cli_run_expect(2, "train '%s' %s", task.model, usage[i].args);
        cli_expect(out, usage[i].want);
        free(out);
    }
}

/* Non-terminal progress lines: "epoch 1/3 100%  5/5 batches ..." under
 * --max-steps 5, with the run's ETA while epochs are to follow. */
static void test_epoch_line_and_progress(void **state)
{
    (void)state;
    char *out = cli_run_expect(0, "train '%s' --max-steps 5", task.model);
    cli_expect(out, "epoch 1/3 100%  5/5 batches");
    cli_expect_not(out, ts_fmt("/%d batches", CLI_STEPS_PER_EPOCH));
    cli_expect(out, "val loss ");
    cli_expect(out, "lr 0.1  (");
    free(out);
    out = cli_run_expect(0, "train '%s' --epochs 2", task.model);
    cli_expect(out, ts_fmt("epoch 1/2 100%%  %d/%d batches", CLI_STEPS_PER_EPOCH,
                           CLI_STEPS_PER_EPOCH));
    cli_expect(out, " s (run ");
    free(out);
}

/* With an empty kernel cache and no QSDC_GEMM the GEMMs are measured
 * before the first step, and the line that announces it says for how
 * long; with the choices cached, nothing is measured. */
static void test_measuring_is_reported(void **state)
{
    (void)state;
    char cache[CLI_PATH_MAX], *was = getenv("QSDC_CACHE_DIR"), *gemm = getenv("QSDC_GEMM");
    char saved_cache[CLI_PATH_MAX] = "", saved_gemm[64] = "";
    snprintf(saved_cache, sizeof saved_cache, "%s", was ? was : "");
    snprintf(saved_gemm, sizeof saved_gemm, "%s", gemm ? gemm : "");
    snprintf(cache, sizeof cache, "%s", dir_in("fresh-cache"));
    setenv("QSDC_CACHE_DIR", cache, 1);
    unsetenv("QSDC_GEMM");
    char *first = cli_run_expect(0, "train '%s' --max-steps 2", task.model);
    char *second = cli_run_expect(0, "train '%s' --max-steps 2", task.model);
    if (was)
        setenv("QSDC_CACHE_DIR", saved_cache, 1);
    else
        unsetenv("QSDC_CACHE_DIR");
    if (gemm)
        setenv("QSDC_GEMM", saved_gemm, 1);
    cli_expect(first, "measuring GEMM kernels for this device");
    cli_expect(first, "s of it measuring GEMM and conv2d kernels, once per device)");
    cli_expect_not(second, "measuring");
    free(first);
    free(second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reused_folder),
        cmocka_unit_test(test_resume_finished_run),
        cmocka_unit_test(test_early_stop_and_best),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_epoch_line_and_progress),
        cmocka_unit_test(test_measuring_is_reported),
    };
    return cmocka_run_group_tests(tests, setup, ts_teardown);
}
