/* End-to-end runs of the qsdc command on tiny data written by the tests.
 *
 * The task: 8x8 uint8 images in 3 classes; class k lights rows 3k and 3k+1
 * (pixels 160..255) over a background of 0..63, so the mean of a class's
 * band separates it from the others by at least 97/255 and a small MLP
 * learns it within an epoch. Label of sample i is i % 3. Every byte comes
 * from a fixed LCG, so the files are the same on every run.
 *
 * Call only from inside cmocka tests (or group setups): failures end the
 * current test with the command's output. */
#ifndef QSDC_CLI_FIXTURE_H
#define QSDC_CLI_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#define CLI_SIDE 8
#define CLI_CLASSES 3
#define CLI_TRAIN_N 480     /* 48 held out (val_split 0.1), 432 = 27 batches of 16 */
#define CLI_TEST_N 96
#define CLI_BATCH 16
#define CLI_STEPS_PER_EPOCH 27
#define CLI_EPOCHS 3
#define CLI_SEED 7

#define CLI_PATH_MAX 1200

/* The data files and a model that trains on them (absolute paths). */
typedef struct cli_files {
    char train_images[CLI_PATH_MAX];  /* gzip-compressed */
    char train_labels[CLI_PATH_MAX];
    char test_images[CLI_PATH_MAX];
    char test_labels[CLI_PATH_MAX];
    char model[CLI_PATH_MAX];
} cli_files;

/* Points QSDC_CACHE_DIR (inherited by every qsdc run) at a folder in the
 * build tree, so program binaries are built once per build, not per run. */
void cli_env_init(void);

/* IDX bytes (malloc'd, *len set): n images of rows x cols with the class
 * rule above (rows beyond the image are left out), and n labels i % 3. */
uint8_t *cli_idx_images(int n, int rows, int cols, uint32_t seed, size_t *len);
uint8_t *cli_idx_labels(int n, size_t *len);
/* Writes bytes to ts_tmpdir()/name, gzip-compressed when gz; path in out. */
void cli_write_file(const char *name, const uint8_t *data, size_t len, int gz,
                    char out[CLI_PATH_MAX]);
/* Writes the standard data set and model under ts_tmpdir()/prefix-*. */
void cli_write_task(const char *prefix, cli_files *f);
/* Writes ts_tmpdir()/name: the task's model (input [1,8,8], flatten, dense
 * 32, relu, qsd, dense 3, softmax; batch 16, 3 epochs, seed 7, val_split
 * 0.1, sgd) training on the given files; test paths may be NULL. */
void cli_write_model(const char *name, const char *train_images, const char *train_labels,
                     const char *test_images, const char *test_labels,
                     char out[CLI_PATH_MAX]);

/* Writes ts_tmpdir()/name: an MLP for the task (input shape, flatten, dense
 * 32, relu, dense 3, softmax; batch 16, 2 epochs, seed 7, sgd) whose
 * train: data: is the YAML text data; path in out. */
void cli_write_mlp(const char *name, const char *shape, const char *data,
                   char out[CLI_PATH_MAX]);
/* The correct count of the "accuracy: P% (C/N)" line of eval or predict's
 * output; fails the test without one. */
long long cli_printed_correct(const char *out);

/* Writes ts_tmpdir()/name: the model file at path with its first `from`
 * replaced by `to`; path in out. */
void cli_model_variant(const char *path, const char *name, const char *from, const char *to,
                       char out[CLI_PATH_MAX]);

/* Runs "qsdc ARGS" (ARGS printf-formatted), stdout and stderr together in
 * *out (malloc'd; the caller frees); returns the exit status. */
int cli_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_run for a cmocka group setup: 0 when qsdc exits 0 and its output
 * contains want (NULL: anything), else -1 with the output printed. */
int cli_setup_run(const char *want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_run, failing the test unless the exit status is want; returns the
 * output (the caller frees). */
char *cli_run_expect(int want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fails the test, printing the output, unless out contains want. */
void cli_expect(const char *out, const char *want);
void cli_expect_not(const char *out, const char *unwanted);
/* Fails the test, printing the output, unless status == want. */
void cli_expect_status(int status, int want, const char *out);

/* One "epoch E/N  train loss L ... val accuracy V% test accuracy A% ..." line. */
typedef struct cli_epoch {
    int epoch, of;
    double loss, test_accuracy;   /* test_accuracy -1 when not printed */
    double val_accuracy;          /* -1 when not printed */
    char test_accuracy_text[16];  /* as printed, "97.92" */
} cli_epoch;
/* Parses every epoch summary line of a train run (progress lines are
 * skipped); returns how many. */
int cli_epochs(const char *out, cli_epoch *e, int max);

/* The whole file (malloc'd, NUL-terminated), or NULL when unreadable. */
char *cli_read_file(const char *path, size_t *len);
/* Runs "qsdc report DIR", failing unless it exits 0 saying `said`; returns
 * DIR/report.md's text (the caller frees). */
char *cli_report(const char *dir, const char *said);

#endif
