/* The session API of include/qsdc.h, used as a program linking the
 * installed library would use it (nothing but the public header), on the
 * tiny task of tests/cli_fixture.h: 8x8 images in 3 separable classes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "qsdc.h"
#include "cli_fixture.h"
#include "support.h"

#define ELEMS (CLI_SIDE * CLI_SIDE)

static cli_files task;
static qsdc_data train, test;
static const char *device; /* QSDC_TEST_DEVICE, else the default */

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    device = getenv("QSDC_TEST_DEVICE");
    cli_write_task("session", &task);
    qsdc_error err = {""};
    if (qsdc_data_load_idx(task.train_images, task.train_labels, &train, &err) < 0 ||
        qsdc_data_load_idx(task.test_images, task.test_labels, &test, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    qsdc_data_free(&train);
    qsdc_data_free(&test);
    return ts_teardown(state);
}

static qsdc_session *open_session(const char *model, const char *checkpoint)
{
    qsdc_open_options o = {.device = device, .checkpoint = checkpoint};
    qsdc_session *s = NULL;
    qsdc_error err = {""};
    if (qsdc_session_open(model, &o, &s, &err) < 0)
        fail_msg("qsdc_session_open(%s): %s", model, err.message);
    assert_non_null(s);
    assert_string_equal(qsdc_session_last_error(s), "");
    return s;
}

static const char *tmp_path(const char *name)
{
    return ts_fmt("%s/%s", ts_tmpdir(), name);
}

/* Fails unless the call failed with a message containing want, in err and
 * as the session's last error. */
static void expect_error(qsdc_session *s, int rc, const qsdc_error *err, const char *want)
{
    if (rc != -1 || !strstr(err->message, want))
        fail_msg("rc %d, message \"%s\"; want -1 and \"%s\"", rc, err->message, want);
    if (s)
        assert_string_equal(qsdc_session_last_error(s), err->message);
}

static void test_data_files(void **state)
{
    (void)state;
    assert_int_equal(train.count, CLI_TRAIN_N);
    assert_int_equal(train.sample_size, ELEMS);
    assert_non_null(train.labels);
    for (int64_t i = 0; i < train.count * ELEMS; i++)
        assert_true(train.x[i] >= 0.0f && train.x[i] <= 1.0f);
    qsdc_data d;
    qsdc_error err = {""};
    expect_error(NULL, qsdc_data_load_idx("/nonexistent/images.idx", NULL, &d, &err), &err,
                 "/nonexistent/images.idx");
    assert_null(d.x);
    expect_error(NULL, qsdc_data_load_idx(NULL, NULL, &d, &err), &err,
                 "qsdc_data_load_idx: images is NULL");
    qsdc_data_free(NULL);
}

/* qsdc_session_load_data reads the task's IDX files for the model as
 * qsdc_data_load_idx does, refuses bad arguments; qsdc_predictions_write
 * writes what its name says. */
static void test_load_data_and_write_predictions(void **state)
{
    (void)state;
    qsdc_session *s = open_session(task.model, NULL);
    qsdc_data d;
    qsdc_error err = {""};
    qsdc_data_options o = {.labels = task.test_labels};
    assert_int_equal(qsdc_session_load_data(s, task.test_images, &o, &d, &err), 0);
    assert_int_equal(d.count, test.count);
    assert_int_equal(d.sample_size, ELEMS);
    assert_memory_equal(d.x, test.x, (size_t)(test.count * ELEMS) * sizeof *d.x);
    assert_memory_equal(d.labels, test.labels, (size_t)test.count * sizeof *d.labels);
    qsdc_data_free(&d);
    assert_int_equal(qsdc_session_load_data(s, task.test_images, NULL, &d, &err), 0);
    assert_null(d.labels);
    qsdc_data_free(&d);
    o.layout = 7;
    expect_error(s, qsdc_session_load_data(s, task.test_images, &o, &d, &err), &err,
                 "layout 7 is none of QSDC_LAYOUT_AUTO");
    expect_error(s, qsdc_session_load_data(s, NULL, NULL, &d, &err), &err, "path is NULL");
    expect_error(s, qsdc_session_load_data(s, task.test_images, NULL, NULL, &err), &err,
                 "out is NULL");
    o = (qsdc_data_options){.labels = task.test_labels};
    expect_error(s, qsdc_session_load_data(s, "d.npz", &o, &d, &err), &err,
                 "d.npz: an .npz's labels are its array y, not another file");
    o = (qsdc_data_options){.layout = QSDC_LAYOUT_NHWC};
    expect_error(s, qsdc_session_load_data(s, task.test_images, &o, &d, &err), &err,
                 "samples are 8x8 but layout nhwc needs");
    qsdc_session_close(s);

    static const float out[6] = {0.25f, 0.75f, 0, 2, -1, 0.5f};
    assert_int_equal(qsdc_predictions_write(tmp_path("p.csv"), out, 2, 3, 0, &err), 0);
    char *csv = cli_read_file(tmp_path("p.csv"), NULL);
    assert_string_equal(csv, "class,y0,y1,y2\n1,0.25,0.75,0\n0,2,-1,0.5\n");
    free(csv);
    assert_int_equal(qsdc_predictions_write(tmp_path("p.npy"), out, 2, 3, 1, &err), 0);
    size_t len;
    char *npy = cli_read_file(tmp_path("p.npy"), &len);
    assert_int_equal(len, 128 + sizeof out);
    assert_memory_equal(npy + 128, out, sizeof out);  /* little-endian, as on this host */
    free(npy);
    expect_error(NULL, qsdc_predictions_write(tmp_path("p.txt"), out, 2, 3, 1, &err), &err,
                 "predictions are written as .npy or .csv");
    expect_error(NULL, qsdc_predictions_write(tmp_path("p.csv"), out, 0, 3, 1, &err), &err,
                 "0 rows of 3 outputs");
    expect_error(NULL, qsdc_predictions_write(NULL, out, 2, 3, 1, &err), &err,
                 "path is NULL");
    /* a sequence: 1 row of 2 steps of 3 classes, a class per step */
    assert_int_equal(qsdc_predictions_write_steps(tmp_path("s.csv"), out, 1, 2, 3, 0, &err), 0);
    csv = cli_read_file(tmp_path("s.csv"), NULL);
    assert_string_equal(csv, "class,y0,y1,y2,y3,y4,y5\n1 0,0.25,0.75,0,2,-1,0.5\n");
    free(csv);
    expect_error(NULL, qsdc_predictions_write_steps(tmp_path("s.csv"), out, 1, 0, 3, 0, &err),
                 &err, "1 rows of 0 steps x 3 outputs");
}

static void test_open_errors(void **state)
{
    (void)state;
    qsdc_error err = {""};
    qsdc_session *s = (qsdc_session *)&err; /* overwritten with NULL on failure */
    qsdc_open_options bad_device = {.device = "no-such-device-xyz"};
    expect_error(NULL, qsdc_session_open(task.model, &bad_device, &s, &err), &err,
                 "no-such-device-xyz");
    assert_null(s);
    expect_error(NULL, qsdc_session_open("/nonexistent/model.yaml", NULL, &s, &err), &err,
                 "/nonexistent/model.yaml");
    expect_error(NULL, qsdc_session_open(NULL, NULL, &s, &err), &err, "no model path given");
    expect_error(NULL, qsdc_session_open(task.model, NULL, NULL, &err), &err, "out is NULL");
    qsdc_open_options neg = {.device = device, .batch = -1};
    expect_error(NULL, qsdc_session_open(task.model, &neg, &s, &err), &err,
                 "batch -1 is negative");
    qsdc_open_options no_ckpt = {.device = device, .checkpoint = tmp_path("nothing-here")};
    expect_error(NULL, qsdc_session_open(task.model, &no_ckpt, &s, &err), &err,
                 "nothing-here");
    assert_null(s);
    /* a NULL session is an error value too */
    expect_error(NULL, qsdc_session_evaluate(NULL, NULL, &err), &err, "the session is NULL");
    assert_non_null(strstr(qsdc_session_last_error(NULL), "NULL"));
    qsdc_session_close(NULL);
}

static void test_calls_before_weights_and_bad_buffers(void **state)
{
    (void)state;
    qsdc_session *s = open_session(task.model, NULL);
    qsdc_session_info info;
    qsdc_error err = {""};
    assert_int_equal(qsdc_session_get_info(s, &info, &err), 0);
    assert_string_equal(info.model, "tiny");
    assert_int_equal(info.input_rank, 3);
    assert_int_equal(info.input_shape[1], CLI_SIDE);
    assert_int_equal(info.input_size, ELEMS);
    assert_int_equal(info.output_size, CLI_CLASSES);
    assert_int_equal(info.batch, CLI_BATCH);
    assert_int_equal(info.output_is_probabilities, 1);
    assert_int_equal(info.has_weights, 0);
    assert_int_equal(info.seed, CLI_SEED);
    assert_true(info.device[0] != '\0');

    float out[4 * CLI_CLASSES];
    qsdc_eval_result r;
    expect_error(s, qsdc_session_predict(s, test.x, ELEMS, 1, out, CLI_CLASSES, &err), &err,
                 "the session has no weights yet");
    expect_error(s, qsdc_session_evaluate(s, &r, &err), &err, "no weights yet");
    expect_error(s, qsdc_session_save(s, tmp_path("never"), &err), &err, "no weights yet");
    assert_int_equal(qsdc_session_init_weights(s, CLI_SEED, &err), 0);
    assert_string_equal(qsdc_session_last_error(s), "");

    expect_error(s, qsdc_session_predict(s, test.x, ELEMS - 1, 1, out, CLI_CLASSES, &err), &err,
                 "qsdc_session_predict: x holds 63 floats; 1 samples of 64 floats (the "
                 "model's input) need 64");
    expect_error(s, qsdc_session_predict(s, test.x, 4 * ELEMS, 4, out, 4 * CLI_CLASSES - 1,
                                         &err), &err,
                 "qsdc_session_predict: out holds 11 floats; 4 samples of 3 outputs need 12");
    expect_error(s, qsdc_session_predict(s, test.x, ELEMS, 0, out, CLI_CLASSES, &err), &err,
                 "n is 0; give at least 1 sample");
    expect_error(s, qsdc_session_predict(s, test.x, ELEMS, -5, out, CLI_CLASSES, &err), &err,
                 "n is -5");
    expect_error(s, qsdc_session_predict(s, NULL, ELEMS, 1, out, CLI_CLASSES, &err), &err,
                 "x is NULL");
    expect_error(s, qsdc_session_predict(s, test.x, ELEMS, 1, NULL, CLI_CLASSES, &err), &err,
                 "out is NULL");
    int32_t labels[2] = {1, CLI_CLASSES};
    expect_error(s, qsdc_session_evaluate_arrays(s, test.x, 2 * ELEMS, labels, 2, &r, &err),
                 &err, "labels[1] is 3, outside the model's 3 classes [0, 3)");
    labels[1] = -1;
    expect_error(s, qsdc_session_train_arrays(s, test.x, 2 * ELEMS, labels, 2, NULL, NULL,
                                              &err), &err, "labels[1] is -1");
    expect_error(s, qsdc_session_evaluate_arrays(s, test.x, ELEMS, NULL, 1, &r, &err), &err,
                 "labels is NULL");
    expect_error(s, qsdc_session_train_arrays(s, train.x, 8 * ELEMS, train.labels, 8, NULL,
                                              NULL, &err), &err,
                 "8 samples, fewer than one batch of 16");
    qsdc_fit_options neg_lr = {.lr = -1};
    expect_error(s, qsdc_session_train_arrays(s, train.x, 16 * ELEMS, train.labels, 16,
                                              &neg_lr, NULL, &err), &err,
                 "lr -1 is not a finite rate");
    qsdc_train_options other = {.device = "some-other-device"};
    expect_error(s, qsdc_session_train(s, &other, NULL, &err), &err,
                 "options.device is \"some-other-device\"");
    expect_error(s, qsdc_session_load(s, tmp_path("no-checkpoint"), &err), &err,
                 "no-checkpoint");
    expect_error(s, qsdc_session_load(s, NULL, &err), &err, "no checkpoint folder given");
    expect_error(s, qsdc_session_get_info(s, NULL, &err), &err, "out is NULL");
    /* the session is still whole after all of that */
    assert_int_equal(qsdc_session_predict(s, test.x, ELEMS, 1, out, CLI_CLASSES, NULL), 0);
    assert_string_equal(qsdc_session_last_error(s), "");
    qsdc_session_close(s);
}

/* The class with the largest output, the first one on ties. */
static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static float *predict_test(qsdc_session *s)
{
    size_t n = (size_t)test.count * CLI_CLASSES;
    float *out = malloc(n * sizeof *out);
    assert_non_null(out);
    qsdc_error err = {""};
    if (qsdc_session_predict(s, test.x, (size_t)test.count * ELEMS, test.count, out, n, &err) < 0)
        fail_msg("predict: %s", err.message);
    return out;
}

static void test_train_arrays_predict_save_reload(void **state)
{
    (void)state;
    qsdc_session *s = open_session(task.model, NULL);
    qsdc_error err = {""};
    qsdc_fit_options fo = {.epochs = 2};
    qsdc_train_result tr;
    if (qsdc_session_train_arrays(s, train.x, (size_t)train.count * ELEMS, train.labels,
                                  train.count, &fo, &tr, &err) < 0)
        fail_msg("train_arrays: %s", err.message);
    int64_t per_epoch = CLI_TRAIN_N / CLI_BATCH;
    assert_int_equal(tr.epochs_done, 2);
    assert_int_equal(tr.steps, 2 * per_epoch);
    assert_true(tr.train_loss > 0 && tr.train_loss < 0.5);

    qsdc_eval_result ev;
    if (qsdc_session_evaluate_arrays(s, test.x, (size_t)test.count * ELEMS, test.labels,
                                     test.count, &ev, &err) < 0)
        fail_msg("evaluate_arrays: %s", err.message);
    assert_int_equal(ev.count, CLI_TEST_N);
    assert_true(ev.accuracy > 90.0);
    assert_true(ev.loss > 0 && ev.loss < 0.5);

    /* the model's own test data are the same samples */
    qsdc_eval_result ev_model;
    if (qsdc_session_evaluate(s, &ev_model, &err) < 0)
        fail_msg("evaluate: %s", err.message);
    assert_int_equal(ev_model.correct, ev.correct);
    assert_true(ev_model.loss == ev.loss);

    float *p = predict_test(s);
    int64_t correct = 0;
    for (int64_t i = 0; i < test.count; i++) {
        double sum = 0;
        for (int c = 0; c < CLI_CLASSES; c++) {
            assert_true(p[i * CLI_CLASSES + c] >= 0.0f);
            sum += p[i * CLI_CLASSES + c];
        }
        assert_float_equal(sum, 1.0, 1e-5);
        correct += argmax(p + i * CLI_CLASSES, CLI_CLASSES) == test.labels[i];
    }
    assert_int_equal(correct, ev.correct);

    /* a checkpoint of the weights gives a new session the same outputs, bit
     * for bit, and qsdc eval reads it */
    const char *dir = tmp_path("arrays-ckpt");
    if (qsdc_session_save(s, dir, &err) < 0)
        fail_msg("save: %s", err.message);
    qsdc_session *s2 = open_session(task.model, dir);
    qsdc_session_info info;
    assert_int_equal(qsdc_session_get_info(s2, &info, NULL), 0);
    assert_int_equal(info.has_weights, 1);
    assert_int_equal(info.steps, 2 * per_epoch);
    float *p2 = predict_test(s2);
    assert_memory_equal(p, p2, (size_t)test.count * CLI_CLASSES * sizeof *p);
    char *out = cli_run_expect(0, "eval '%s' --checkpoint '%s'%s%s", task.model, dir,
                               device ? " --device " : "", device ? device : "");
    cli_expect(out, ts_fmt("accuracy: %.2f%% (%lld/%lld)", ev.accuracy, (long long)ev.correct,
                           (long long)ev.count));
    free(out);

    /* training goes on from the weights, the optimiser state and the step
     * (masks and shuffles are keyed by it): the saved session and the
     * reopened one take the same steps */
    qsdc_fit_options more = {.epochs = 1, .max_steps = 5, .seed_set = 1, .seed = 99};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(qsdc_session_train_arrays(i ? s2 : s, train.x,
                                                   (size_t)train.count * ELEMS, train.labels,
                                                   train.count, &more, &tr, NULL), 0);
        assert_int_equal(tr.steps, 5);
        assert_int_equal(tr.epochs_done, 0);
    }
    free(p);
    p = predict_test(s);
    float *p3 = predict_test(s2);
    assert_memory_not_equal(p, p2, (size_t)test.count * CLI_CLASSES * sizeof *p);
    assert_memory_equal(p, p3, (size_t)test.count * CLI_CLASSES * sizeof *p);
    free(p);
    free(p2);
    free(p3);
    qsdc_session_close(s);
    qsdc_session_close(s2);
}

typedef struct progress_log {
    int64_t calls, last_epoch, last_step, steps_per_epoch, stop_at;
    double last_loss;
} progress_log;

static int log_progress(void *ctx, int64_t epoch, int64_t step, int64_t steps_per_epoch,
                        double loss)
{
    progress_log *l = ctx;
    l->calls++;
    l->last_epoch = epoch;
    l->last_step = step;
    l->steps_per_epoch = steps_per_epoch;
    l->last_loss = loss;
    return l->calls == l->stop_at;
}

/* The progress callback sees every step, and its non-zero return stops
 * training after that step. */
static void test_fit_progress_and_stop(void **state)
{
    (void)state;
    qsdc_session *s = open_session(task.model, NULL);
    int64_t per_epoch = CLI_TRAIN_N / CLI_BATCH;
    progress_log log = {.stop_at = per_epoch + 3};
    qsdc_fit_options fo = {.epochs = 3, .progress = log_progress, .progress_ctx = &log};
    qsdc_train_result tr;
    qsdc_error err = {""};
    if (qsdc_session_train_arrays(s, train.x, (size_t)train.count * ELEMS, train.labels,
                                  train.count, &fo, &tr, &err) < 0)
        fail_msg("train_arrays: %s", err.message);
    assert_int_equal(log.calls, per_epoch + 3);
    assert_int_equal(log.last_epoch, 1);
    assert_int_equal(log.last_step, 3);
    assert_int_equal(log.steps_per_epoch, per_epoch);
    assert_true(log.last_loss > 0 && log.last_loss == tr.train_loss);
    assert_int_equal(tr.interrupted, 1);
    assert_int_equal(tr.steps, per_epoch + 3);
    assert_int_equal(tr.epochs_done, 1);
    qsdc_session_info info;
    assert_int_equal(qsdc_session_get_info(s, &info, NULL), 0);
    assert_int_equal(info.steps, per_epoch + 3);
    qsdc_session_close(s);
}

static void test_load_mismatched_checkpoint(void **state)
{
    (void)state;
    char other[CLI_PATH_MAX];
    cli_model_variant(task.model, "session-wide.yaml", "units: 32", "units: 24", other);
    qsdc_session *w = open_session(other, NULL);
    qsdc_error err = {""};
    assert_int_equal(qsdc_session_init_weights(w, 1, &err), 0);
    const char *dir = tmp_path("wide-ckpt");
    assert_int_equal(qsdc_session_save(w, dir, &err), 0);
    qsdc_session_close(w);
    qsdc_session *s = open_session(task.model, NULL);
    expect_error(s, qsdc_session_load(s, dir, &err), &err, "saved for a different model");
    qsdc_session_info info;
    assert_int_equal(qsdc_session_get_info(s, &info, NULL), 0);
    assert_int_equal(info.has_weights, 0);
    qsdc_session_close(s);
}

static void test_train_on_model_data(void **state)
{
    (void)state;
    qsdc_session *s = open_session(task.model, NULL);
    qsdc_error err = {""};
    const char *run_dir = tmp_path("train-run");
    qsdc_train_options o = {.epochs = 2, .quiet = 1, .checkpoint_dir = run_dir};
    qsdc_train_result tr;
    if (qsdc_session_train(s, &o, &tr, &err) < 0)
        fail_msg("train: %s", err.message);
    assert_int_equal(tr.epochs_done, 2);
    assert_int_equal(tr.steps, 2 * CLI_STEPS_PER_EPOCH);
    assert_true(tr.test_accuracy > 90.0);
    /* the session holds what the run trained: its test accuracy, and the
     * checkpoint the run wrote, byte for byte */
    qsdc_eval_result ev;
    assert_int_equal(qsdc_session_evaluate(s, &ev, &err), 0);
    assert_true(ev.accuracy == tr.test_accuracy);
    const char *mine = tmp_path("train-session");
    assert_int_equal(qsdc_session_save(s, mine, &err), 0);
    size_t la, lb;
    char *a = cli_read_file(ts_fmt("%s/checkpoint.bin", run_dir), &la);
    char *b = cli_read_file(ts_fmt("%s/checkpoint.bin", mine), &lb);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
    /* a second run starts from the session's weights: at a rate too small
     * to move them it scores as they do, not as the seeded initialisation
     * (a third of the samples) would */
    qsdc_train_options again = {.quiet = 1, .max_steps = 3, .lr = 1e-12};
    assert_int_equal(qsdc_session_train(s, &again, &tr, &err), 0);
    assert_int_equal(tr.steps, 3);
    assert_true(tr.test_accuracy > 90.0);
    qsdc_session_close(s);

    /* a resumed run leaves the session at the step it reached in all */
    s = open_session(task.model, NULL);
    qsdc_train_options resume = {.epochs = 3, .quiet = 1, .checkpoint_dir = run_dir,
                                 .resume = 1, .max_steps = 2 * CLI_STEPS_PER_EPOCH + 4};
    if (qsdc_session_train(s, &resume, &tr, &err) < 0)
        fail_msg("resume: %s", err.message);
    assert_int_equal(tr.steps, 4);
    qsdc_session_info info;
    assert_int_equal(qsdc_session_get_info(s, &info, NULL), 0);
    assert_int_equal(info.steps, 2 * CLI_STEPS_PER_EPOCH + 4);
    qsdc_session_close(s);
}

/* A run at a batch other than the session's evaluates with an inference
 * plan of its own, on the session's device, and leaves the session's plan
 * and the trained weights usable at the session's batch. */
static void test_train_at_another_batch(void **state)
{
    (void)state;
    qsdc_session *s = open_session(task.model, NULL);
    qsdc_error err = {""};
    qsdc_train_options o = {.epochs = 2, .batch = 24, .quiet = 1};
    qsdc_train_result tr;
    if (qsdc_session_train(s, &o, &tr, &err) < 0)
        fail_msg("train: %s", err.message);
    assert_int_equal(tr.steps, 2 * (CLI_TRAIN_N - CLI_TRAIN_N / 10) / 24);
    qsdc_eval_result ev;
    assert_int_equal(qsdc_session_evaluate(s, &ev, &err), 0);
    assert_true(ev.accuracy == tr.test_accuracy);
    qsdc_session_info info;
    assert_int_equal(qsdc_session_get_info(s, &info, NULL), 0);
    assert_int_equal(info.batch, 16);
    qsdc_session_close(s);
}

/* A run with the options' seed is scored on that seed's split: a
 * sentiment task's test rows and vocabulary are drawn by the seed, so the
 * session that took the run's weights must evaluate with the run's seed,
 * not the model file's (the words outnumber the vocabulary, so another
 * split ranks them otherwise and the weights read other words). */
static void test_seeded_run_scores_its_own_split(void **state)
{
    (void)state;
    char *csv = malloc(600 * 96), *p = csv;
    uint32_t r = 12345;
    for (int i = 0; i < 600; i++) {
        r = r * 1103515245u + 12345u;
        bool pos = (r >> 16) % 2 == 0;
        p += sprintf(p, "%s,\"", pos ? "1" : "-1");
        for (int w = 0; w < 6; w++) {
            r = r * 1103515245u + 12345u;
            unsigned word = (r >> 16) % 40;
            p += sprintf(p, "%sw%u", w ? " " : "", word < 4 ? (pos ? word : word + 4) : word);
        }
        p += sprintf(p, "\"\n");
    }
    const char *data = ts_write("seeded.csv", csv, (size_t)(p - csv));
    free(csv);
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "name: seeded\ninput: {shape: [6], dtype: int32}\n"
             "layers:\n  - {op: embedding, vocab: 14, dim: 8}\n"
             "  - {op: lstm, units: 8, return: last}\n  - {op: dense, units: 2}\n"
             "train:\n  data: {format: sentiment, csv: %s, vocab: 12, test_split: 0.3}\n"
             "  batch: 20\n  epochs: 2\n  seed: 1\n  optimizer: {type: adam, lr: 0.02}\n",
             data);
    qsdc_session *s = open_session(ts_write("seeded.yaml", yaml, strlen(yaml)), NULL);
    qsdc_error err = {""};
    qsdc_train_options o = {.quiet = 1, .seed_set = 1, .seed = 7};
    qsdc_train_result tr;
    if (qsdc_session_train(s, &o, &tr, &err) < 0)
        fail_msg("train: %s", err.message);
    qsdc_eval_result ev;
    assert_int_equal(qsdc_session_evaluate(s, &ev, &err), 0);
    assert_true(ev.accuracy == tr.test_accuracy);
    assert_int_equal(qsdc_session_observe(s, 0, NULL, NULL, &ev, &err), 0);
    assert_true(ev.accuracy == tr.test_accuracy);
    qsdc_session_info info;
    assert_int_equal(qsdc_session_get_info(s, &info, NULL), 0);
    assert_int_equal(info.seed, 7);
    qsdc_session_close(s);
}

/* The training loss of one epoch on the tiny task under o's data options. */
static double one_epoch_loss(qsdc_train_options o, int64_t want_samples)
{
    qsdc_session *s = open_session(task.model, NULL);
    qsdc_error err = {""};
    qsdc_train_result tr;
    o.epochs = 1;
    o.quiet = 1;
    if (qsdc_session_train(s, &o, &tr, &err) < 0)
        fail_msg("train: %s", err.message);
    qsdc_session_close(s);
    assert_int_equal(tr.train_samples, want_samples);
    /* 10% of them held out for validation, whole batches of 16 of the rest */
    assert_int_equal(tr.steps, (want_samples - want_samples / 10) / 16);
    return tr.train_loss;
}

/* train_subset: N samples drawn by the seed, not the file's first N; the
 * same ones again for the same seed, others for another. */
static void test_train_subset(void **state)
{
    (void)state;
    double first = one_epoch_loss((qsdc_train_options){.train_samples = 200}, 200);
    double drawn = one_epoch_loss((qsdc_train_options){.train_subset = 200}, 200);
    double again = one_epoch_loss((qsdc_train_options){.train_subset = 200}, 200);
    double other = one_epoch_loss(
        (qsdc_train_options){.train_subset = 200, .seed_set = 1, .seed = 99}, 200);
    double other_first = one_epoch_loss(
        (qsdc_train_options){.train_samples = 200, .seed_set = 1, .seed = 99}, 200);
    assert_true(drawn == again);
    assert_true(drawn != first);
    assert_true(other != drawn && other != other_first);
    /* drawn from the first train_samples; a subset of all of them is all */
    one_epoch_loss((qsdc_train_options){.train_samples = 300, .train_subset = 200}, 200);
    double all = one_epoch_loss((qsdc_train_options){0}, CLI_TRAIN_N);
    assert_true(one_epoch_loss((qsdc_train_options){.train_subset = CLI_TRAIN_N}, CLI_TRAIN_N) ==
                all);
}

static void test_bundle(void **state)
{
    (void)state;
    qsdc_error err = {""};
    const char *dir = tmp_path("session.qsdc");
    free(cli_run_expect(0, "'%s' -o '%s'", task.model, dir)); /* inference plan only */
    qsdc_open_options o = {.device = device, .batch = 8};
    qsdc_session *s = NULL;
    expect_error(NULL, qsdc_session_open(dir, &o, &s, &err), &err, "recompile with --batch 8");
    s = open_session(dir, NULL);
    assert_int_equal(qsdc_session_init_weights(s, CLI_SEED, &err), 0);
    /* the bundle holds no training plan */
    expect_error(s, qsdc_session_train_arrays(s, train.x, (size_t)train.count * ELEMS,
                                              train.labels, train.count, NULL, NULL, &err),
                 &err, "the bundle holds no training plan");
    float *p = predict_test(s);
    free(p);
    qsdc_session_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_files),
        cmocka_unit_test(test_load_data_and_write_predictions),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_calls_before_weights_and_bad_buffers),
        cmocka_unit_test(test_train_arrays_predict_save_reload),
        cmocka_unit_test(test_fit_progress_and_stop),
        cmocka_unit_test(test_load_mismatched_checkpoint),
        cmocka_unit_test(test_train_on_model_data),
        cmocka_unit_test(test_train_at_another_batch),
        cmocka_unit_test(test_train_subset),
        cmocka_unit_test(test_seeded_run_scores_its_own_split),
        cmocka_unit_test(test_bundle),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
