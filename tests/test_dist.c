/* Data parallelism on the tiny task of cli_fixture.h (whose model has a QSD
 * layer): mpirun -np 2 on localhost, and --devices over two pocl devices in
 * one process, reach the weights one device reaches from the same seed and
 * global batch; a resumed 2-rank run ends where an uninterrupted one does;
 * batch norm's running statistics are the average of the shards' updates;
 * shard counts that do not divide the batch, and a language model on
 * several devices or ranks, are refused. The MPI tests are skipped in
 * builds without MPI or without mpirun; a build without MPI checks instead
 * that it refuses to run under mpirun. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_fixture.h"
#include "compile.h"
#include "dist.h"
#include "replicas.h"
#include "support.h"

#define CKPT_N_PARAMS 52    /* checkpoint.bin layout, as in test_cli_train.c */
#define CKPT_DATA 68
#define STEPS 20
/* Summing the batch's gradient in two halves rounds differently from one
 * sum, so the weights may differ in the last bits: after 20 steps of SGD
 * with momentum they stay within 1.2e-7 here. With rank 1 drawing rank 0's
 * masks (its samples keyed by their index in the shard, not in the global
 * batch) they end 0.2 apart, so this bound also checks that the masks match
 * exactly. */
#define WEIGHT_TOL 1e-5

static cli_files task;
static char one[CLI_PATH_MAX]; /* checkpoint of the 1-device run */

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    cli_write_task("d", &task);
    snprintf(one, sizeof one, "%s/one", ts_tmpdir());
    return cli_setup_run(NULL, "train '%s' --checkpoint '%s' --max-steps %d", task.model, one,
                         STEPS);
}

static bool have_mpirun(void)
{
    return system("command -v mpirun > /dev/null 2>&1") == 0;
}

static void skip_without_mpi(void)
{
    if (!dist_mpi_available() || !have_mpirun())
        skip();
}

/* "qsdc ARGS" as ranks processes on this host, one pocl thread each so that
 * two ranks fit two cores; returns the exit status, output in *out. Under
 * the sanitizers the ranks do not check for leaks: Open MPI leaves what its
 * unloaded components allocated, in frames no suppression can name, and
 * qsdc's own code is leak-checked by the single-process runs. */
static int run_ranks(int ranks, char **out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int run_ranks(int ranks, char **out, const char *fmt, ...)
{
    char args[4000], cmd[6000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd,
             "POCL_MAX_PTHREAD_COUNT=1 ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}"
             "detect_leaks=0\" mpirun -np %d --oversubscribe %s '%s' %s", ranks,
             geteuid() == 0 ? "--allow-run-as-root" : "", ts_qsdc(), args);
    return ts_run(cmd, out);
}

static float *read_params(const char *dir, int64_t *n)
{
    char path[CLI_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    size_t len;
    char *b = cli_read_file(path, &len);
    if (!b)
        fail_msg("%s was not written", path);
    assert_true(len >= CKPT_DATA + 4);
    memcpy(n, b + CKPT_N_PARAMS, sizeof *n);
    assert_true(*n > 0 && len >= CKPT_DATA + 4 * (size_t)*n);
    float *p = malloc((size_t)*n * sizeof *p);
    assert_non_null(p);
    memcpy(p, b + CKPT_DATA, (size_t)*n * sizeof *p);
    free(b);
    return p;
}

/* The largest |a - b| over the parameters of two checkpoints. */
static double max_param_diff(const char *dir_a, const char *dir_b)
{
    int64_t na, nb;
    float *a = read_params(dir_a, &na), *b = read_params(dir_b, &nb);
    assert_int_equal(na, nb);
    double worst = 0;
    for (int64_t i = 0; i < na; i++)
        worst = fmax(worst, fabs((double)a[i] - (double)b[i]));
    free(a);
    free(b);
    return worst;
}

static void expect_close_to_one_device(const char *dir, const char *what)
{
    double d = max_param_diff(one, dir);
    if (!(d <= WEIGHT_TOL))
        fail_msg("%s end %g from 1 device's weights (tolerance %g)", what, d, WEIGHT_TOL);
    print_message("%s vs 1 device after %d steps: max |dw| = %.3g\n", what, STEPS, d);
}

static void train_ranks(int ranks, const char *ckpt, const char *extra)
{
    char *out;
    int status = run_ranks(ranks, &out, "train '%s' --checkpoint '%s' %s", task.model, ckpt,
                           extra);
    cli_expect_status(status, 0, out);
    free(out);
}

static void test_two_ranks_match_one(void **state)
{
    (void)state;
    skip_without_mpi();
    char two[CLI_PATH_MAX];
    snprintf(two, sizeof two, "%s/two-ranks", ts_tmpdir());
    char extra[64];
    snprintf(extra, sizeof extra, "--max-steps %d", STEPS);
    train_ranks(2, two, extra);
    expect_close_to_one_device(two, "2 ranks");
}

/* A build without MPI started by mpirun says so instead of training N
 * separate copies. */
static void test_ranks_need_mpi_build(void **state)
{
    (void)state;
    if (dist_mpi_available() || !have_mpirun())
        skip();
    char *out;
    int status = run_ranks(2, &out, "train '%s' --max-steps 1", task.model);
    assert_int_not_equal(status, 0);
    cli_expect(out, "started as one of 2 MPI ranks, but this qsdc was built without MPI");
    free(out);
}

/* pocl lists one CPU device per entry of POCL_DEVICES; one thread each
 * keeps the two on two cores. Until ts_restore_env. */
static void two_pocl_devices(void)
{
    ts_setenv("POCL_DEVICES", "pthread pthread");
    ts_setenv("POCL_MAX_PTHREAD_COUNT", "1");
}

static void test_two_devices_match_one(void **state)
{
    (void)state;
    two_pocl_devices();
    char two[CLI_PATH_MAX];
    snprintf(two, sizeof two, "%s/two-devices", ts_tmpdir());
    char *out = cli_run_expect(0, "devices");
    cli_expect(out, "\n1   pthread");
    free(out);
    out = cli_run_expect(0, "train '%s' --devices 0,1 --checkpoint '%s' --max-steps %d",
                         task.model, two, STEPS);
    cli_expect(out, "data parallel: 1 ranks x 2 devices, 8 samples each per step");
    free(out);
    ts_restore_env(NULL);
    expect_close_to_one_device(two, "2 devices");
}

/* A conv net (the qsd layer given, element-wise dropout) with extra
 * train: keys, STEPS steps on one device and on two: each side's
 * parameters within WEIGHT_TOL of the other's. */
static void check_conv_net_on_two_devices(const char *name, const char *qsd,
                                          const char *extra)
{
    char text[2048], one_conv[CLI_PATH_MAX], two_conv[CLI_PATH_MAX];
    int n = snprintf(text, sizeof text,
                     "name: tinyconv\n"
                     "input: {shape: [1, %d, %d]}\n"
                     "layers:\n"
                     "  - {op: conv2d, filters: 4, kernel: 3, padding: same}\n"
                     "  - relu\n"
                     "  - %s\n"
                     "  - flatten\n"
                     "  - {op: dropout, p: 0.3}\n"
                     "  - {op: dense, units: %d}\n"
                     "  - softmax\n"
                     "train:\n"
                     "  data: {train_images: %s, train_labels: %s}\n"
                     "  batch: %d\n"
                     "  seed: %d\n"
                     "  optimizer: {type: sgd, lr: 0.1, momentum: 0.9}\n%s",
                     CLI_SIDE, CLI_SIDE, qsd, CLI_CLASSES, task.train_images,
                     task.train_labels, CLI_BATCH, CLI_SEED, extra);
    assert_true(n > 0 && (size_t)n < sizeof text);
    const char *model = ts_write(ts_fmt("%s.yaml", name), text, (size_t)n);
    snprintf(one_conv, sizeof one_conv, "%s/one-%s", ts_tmpdir(), name);
    snprintf(two_conv, sizeof two_conv, "%s/two-%s", ts_tmpdir(), name);
    char *out = cli_run_expect(0, "train '%s' --checkpoint '%s' --max-steps %d", model,
                               one_conv, STEPS);
    free(out);
    two_pocl_devices();
    out = cli_run_expect(0, "train '%s' --devices 0,1 --checkpoint '%s' --max-steps %d", model,
                         two_conv, STEPS);
    free(out);
    ts_restore_env(NULL);
    double d = max_param_diff(one_conv, two_conv);
    if (!(d <= WEIGHT_TOL))
        fail_msg("%s on 2 devices ends %g from 1 device (tolerance %g)", name, d, WEIGHT_TOL);
    print_message("%s, 2 devices vs 1 after %d steps: max |dw| = %.3g\n", name, STEPS, d);
}

static const char shared_qsd[] = "{op: qsd, p: 0.5, sites: 2, q_cv: 0.3, share: channel}";

/* the mask counters of both are offset by the shard's first sample */
static void test_two_devices_conv_masks(void **state)
{
    (void)state;
    check_conv_net_on_two_devices("conv", shared_qsd, "");
}

/* hetero: unit's per-unit draws are the same on every shard */
static void test_two_devices_unit_masks(void **state)
{
    (void)state;
    check_conv_net_on_two_devices("unit",
                                  "{op: qsd, p: 0.5, sites: 1, q_cv: 0.5, p_concentration: 2, "
                                  "hetero: unit, anneal: 0.1}", "");
}

/* each sample's crop and flip are drawn from its index in the data set,
 * whichever device gathers it */
static void test_two_devices_augmented(void **state)
{
    (void)state;
    check_conv_net_on_two_devices("augmented", shared_qsd,
                                  "  augment: {crop_pad: 2, flip: true}\n");
}

/* Where the model's training plan places parameter name in P. */
static int64_t param_offset(const char *text, size_t len, const char *name)
{
    qsdc_error err = {{0}};
    model m;
    codegen_target target;
    codegen_target_default(&target);
    plan p;
    if (model_load_string("<model>", text, len, &m, &err) < 0 ||
        compile_plan(&m, MODE_TRAIN, 1, &target, &p, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    int i = plan_find_tensor(&p, name);
    if (i < 0 || p.tensors[i].buffer != BUF_P)
        fail_msg("the plan has no parameter %s", name);
    int64_t offset = p.tensors[i].offset;
    plan_free(&p);
    model_free(&m);
    return offset;
}

/* The running mean and variance of batchnorm0 in dir's checkpoint (at
 * offset at of the parameters) against want. */
static void expect_running(const char *dir, int64_t at, const double want[2], const char *what)
{
    int64_t count;
    float *p = read_params(dir, &count);
    assert_true(at + 2 <= count);
    for (int k = 0; k < 2; k++)
        if (!(fabs(p[at + k] - want[k]) <= 1e-5))
            fail_msg("%s: running %s %.7f, want %.7f", what, k ? "variance" : "mean",
                     p[at + k], want[k]);
    free(p);
}

/* Each shard normalises with its own statistics, and the running
 * statistics are averaged over the shards with the gradient
 * (docs/scaling.md). One step of a batch norm on the input image, with a
 * batch of the only 2 training images: one device updates the running
 * mean and variance from both images; two devices, or two ranks, from one
 * image each and then average, whichever order the shuffle puts the images
 * in. Both are computed here from the pixels. */
static void test_batch_norm_shards(void **state)
{
    (void)state;
    enum { N = CLI_SIDE * CLI_SIDE };
    size_t len;
    uint8_t *images = cli_idx_images(2, CLI_SIDE, CLI_SIDE, 1, &len), *px = images + 16;
    /* spread over 0..255 and a bright narrow band: means and variances apart */
    for (int k = 0; k < N; k++) {
        px[k] = (uint8_t)(k * 37 % 256);
        px[N + k] = (uint8_t)(192 + k % 32);
    }
    char image_path[CLI_PATH_MAX], label_path[CLI_PATH_MAX], text[2048];
    cli_write_file("bn-images", images, len, 0, image_path);
    uint8_t *labels = cli_idx_labels(2, &len);
    cli_write_file("bn-labels", labels, len, 0, label_path);
    free(labels);
    const double momentum = 0.25;
    int n = snprintf(text, sizeof text,
                     "name: tinybn\n"
                     "input: {shape: [1, %d, %d]}\n"
                     "layers:\n"
                     "  - {op: batchnorm, momentum: %g}\n"
                     "  - flatten\n"
                     "  - {op: dense, units: %d}\n"
                     "  - softmax\n"
                     "train:\n"
                     "  data: {train_images: %s, train_labels: %s}\n"
                     "  batch: 2\n"
                     "  optimizer: {type: sgd, lr: 0.1}\n",
                     CLI_SIDE, CLI_SIDE, momentum, CLI_CLASSES, image_path, label_path);
    assert_true(n > 0 && (size_t)n < sizeof text);
    const char *model = ts_write("bn.yaml", text, (size_t)n);
    int64_t at = param_offset(text, (size_t)n, "batchnorm0.running");

    /* each image's mean and unbiased variance, and both images' together */
    double mean[3] = {0}, var[3] = {0};
    for (int i = 0; i < 3; i++) {
        const uint8_t *from = px + (i == 1 ? N : 0);
        int count = i == 2 ? 2 * N : N;
        for (int k = 0; k < count; k++)
            mean[i] += from[k] / 255.0 / count;
        for (int k = 0; k < count; k++)
            var[i] += (from[k] / 255.0 - mean[i]) * (from[k] / 255.0 - mean[i]) / (count - 1);
    }
    free(images);
    /* running = (1 - momentum) * running + momentum * batch value, from 0 and 1 */
    const double whole[2] = {momentum * mean[2], 1 - momentum + momentum * var[2]};
    const double shards[2] = {momentum * (mean[0] + mean[1]) / 2,
                              1 - momentum + momentum * (var[0] + var[1]) / 2};
    print_message("running variance: %.6f from the whole batch, %.6f averaged over shards\n",
                  whole[1], shards[1]);

    char dir[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/bn-one", ts_tmpdir());
    char *out = cli_run_expect(0, "train '%s' --checkpoint '%s' --max-steps 1", model, dir);
    free(out);
    expect_running(dir, at, whole, "1 device");

    snprintf(dir, sizeof dir, "%s/bn-devices", ts_tmpdir());
    two_pocl_devices();
    out = cli_run_expect(0, "train '%s' --devices 0,1 --checkpoint '%s' --max-steps 1", model,
                         dir);
    free(out);
    ts_restore_env(NULL);
    expect_running(dir, at, shards, "2 devices");

    if (dist_mpi_available() && have_mpirun()) {
        snprintf(dir, sizeof dir, "%s/bn-ranks", ts_tmpdir());
        int status = run_ranks(2, &out, "train '%s' --checkpoint '%s' --max-steps 1", model,
                               dir);
        cli_expect_status(status, 0, out);
        free(out);
        expect_running(dir, at, shards, "2 ranks");
    }
}

/* A language model's streams and carried lstm states are not sharded, so
 * it is refused across MPI ranks as across devices. A build without MPI
 * refuses every multi-rank run before this check (test_ranks_need_mpi_build),
 * so it is called here with the ranks a 2-rank dist_open gives. */
static void test_language_model_refused_on_ranks(void **state)
{
    (void)state;
    const char lm[] = "name: lm\n"
                      "input: {shape: [3], dtype: int32}\n"
                      "layers: [{op: embedding, vocab: 20, dim: 3}, "
                      "{op: lstm, units: 3, stateful: true}, {op: dense, units: 20}]\n"
                      "train: {data: {format: text, corpus: lm.txt, vocab: 10}, batch: 2}\n";
    qsdc_error err = {{0}};
    model m, classifier;
    if (model_load_string("lm.yaml", lm, strlen(lm), &m, &err) < 0 ||
        model_load(task.model, &classifier, &err) < 0)
        fail_msg("%s", err.message);
    const char *said = "lm.yaml: a language model (data format text) trains on one device in "
                       "one process, not data parallel";
    /* {devices, ranks} and whether the language model is refused on them */
    static const struct {
        int devices, ranks;
        bool refused;
    } cases[] = {{1, 2, true}, {2, 1, true}, {2, 2, true}, {1, 1, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        replicas r = {.n = cases[i].devices, .ranks = {.rank = 0, .size = cases[i].ranks}};
        err.message[0] = '\0';
        int rc = replicas_check_model(&r, &m, &err);
        if (rc != (cases[i].refused ? -1 : 0))
            fail_msg("a language model on %d device(s) x %d rank(s): %s", cases[i].devices,
                     cases[i].ranks, rc ? err.message : "accepted");
        if (cases[i].refused)
            cli_expect(err.message, said);
        if (replicas_check_model(&r, &classifier, &err) != 0)
            fail_msg("a classifier on %d device(s) x %d rank(s): %s", cases[i].devices,
                     cases[i].ranks, err.message);
    }
    model_free(&m);
    model_free(&classifier);
}

static void test_devices_must_divide_batch(void **state)
{
    (void)state;
    char *out = cli_run_expect(1, "train '%s' --devices 0,1,0 --max-steps 1", task.model);
    cli_expect(out, "the global batch of 16 does not divide among 1 ranks x 3 devices");
    free(out);
}

/* Every rank loads the checkpoint rank 0 wrote and continues it. */
static void test_two_ranks_resume(void **state)
{
    (void)state;
    skip_without_mpi();
    char whole[CLI_PATH_MAX], parts[CLI_PATH_MAX];
    snprintf(whole, sizeof whole, "%s/whole", ts_tmpdir());
    snprintf(parts, sizeof parts, "%s/parts", ts_tmpdir());
    train_ranks(2, whole, "--max-steps 12");
    train_ranks(2, parts, "--max-steps 5");
    train_ranks(2, parts, "--max-steps 12 --resume");
    double d = max_param_diff(whole, parts);
    if (d != 0)
        fail_msg("a resumed 2-rank run ends %g from an uninterrupted one", d);
}

static void test_ranks_must_divide_batch(void **state)
{
    (void)state;
    skip_without_mpi();
    char *out;
    int status = run_ranks(3, &out, "train '%s' --max-steps 1", task.model);
    assert_int_not_equal(status, 0);
    cli_expect(out, "the global batch of 16 does not divide among 3 ranks");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_ranks_match_one),
        cmocka_unit_test(test_two_ranks_resume),
        cmocka_unit_test(test_ranks_must_divide_batch),
        cmocka_unit_test(test_ranks_need_mpi_build),
        cmocka_unit_test_teardown(test_batch_norm_shards, ts_restore_env),
        cmocka_unit_test_teardown(test_two_devices_match_one, ts_restore_env),
        cmocka_unit_test_teardown(test_two_devices_conv_masks, ts_restore_env),
        cmocka_unit_test_teardown(test_two_devices_unit_masks, ts_restore_env),
        cmocka_unit_test_teardown(test_two_devices_augmented, ts_restore_env),
        cmocka_unit_test(test_devices_must_divide_batch),
        cmocka_unit_test(test_language_model_refused_on_ranks),
    };
    return cmocka_run_group_tests(tests, setup, ts_teardown);
}
