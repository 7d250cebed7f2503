/* Every kernel the compiler generates for the example models (and for small
 * models that reach the ops and optimisers the examples do not use), run
 * under oclgrind with its data-race and uninitialised-value checks: one
 * training step and one inference pass per model at batch 2, with the
 * kernels specialised for oclgrind's device (conv2d as im2col + GEMM) and for
 * the default CPU target (conv2d as direct convolutions).
 * The examples' dense, lstm and embedding layers are narrowed to MAX_UNITS. Any message oclgrind
 * logs (out-of-bounds access, uninitialised read, data race, API error)
 * fails the test.
 *
 * Then the GEMM shapes for devices that run work-items in lanes, which no
 * example takes on oclgrind's device: the tiled family staged through
 * local memory and direct, at tiles that divide nothing, and products
 * split along K for a GPU, with every transpose, a batch, a reduction
 * and the epilogue, each checked against the C reference too.
 *
 * The test re-runs this program under oclgrind as
 * `test_oclgrind --workload MODEL.yaml MAX_UNITS TARGET` and
 * `test_oclgrind --gemm-families`, which do the device work; without
 * oclgrind on PATH the whole program is skipped (exit 77). */
#include <glob.h>
#include <math.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "check_finite.h"
#include "compile.h"
#include "executor.h"
#include "gemm_case.h"
#include "init.h"
#include "support.h"

#define BATCH 2
/* The examples' 1024-wide layers take oclgrind a quarter of an hour per
 * model; 40 units keep every code path (partial GEMM tiles and panels, the
 * input's 784 columns over two K blocks of the CPU tuning) in seconds. */
#define MAX_UNITS 40
/* The CNN examples' 32 and 64 filters likewise: 5 still leaves partial GEMM
 * row tiles, and the 28x28 maps keep every window-kernel path. */
#define MAX_FILTERS 5
/* The recurrent models' kernels once more, shaped for a device that cuts a
 * work-item's loops short (loop_guard.h) after this many iterations:
 * llvmpipe's 65,535 scaled down to MAX_UNITS and MAX_STEPS, so that every
 * step of the recurrences is a time slice, a launch, of its own. */
#define SLICED_LOOP_LIMIT 160
/* The recurrent examples' lstm and embedding widths go to MAX_UNITS too,
 * their vocabularies to MAX_VOCAB rows and their sequences to MAX_STEPS:
 * every lstm path stays (several pairs per work-item, steps after the
 * first, the carried state of stateful layers). */
#define MAX_VOCAB 50
#define MAX_STEPS 4
#define SKIP_STATUS 77

/* The ops, losses and optimisers the examples (dense, relu, qsd, dropout,
 * softmax + cross-entropy, SGD with Nesterov momentum, cosine schedule)
 * leave out, and hetero: unit QSD. */
static const char *const extra_models[][2] = {
    {"graph_adamw_mse",
     "name: graph_adamw_mse\n"
     "input: {shape: [2, 3]}\n"
     "nodes:\n"
     "  - {name: f, op: flatten, inputs: input}\n"
     "  - {name: fc1, op: dense, inputs: f, units: 5, init: glorot}\n"
     "  - {name: h, op: tanh, inputs: fc1}\n"
     "  - {name: q, op: qsd, inputs: h, p: 0.6, sites: 3, q_cv: 0.4,"
     " p_concentration: 2.0}\n"
     "  - {name: fc2, op: dense, inputs: q, units: 5, bias: false}\n"
     "  - {name: sum, op: add, inputs: [fc2, fc1]}\n"
     "  - {name: s, op: sigmoid, inputs: sum}\n"
     "  - {name: out, op: dense, inputs: s, units: 3, init: zeros}\n"
     "output: out\n"
     "train:\n"
     "  loss: mse\n"
     "  clip_norm: 1.0\n"
     "  optimizer: {type: adamw, lr: 0.01, weight_decay: 0.1}\n"},
    {"chain_adam",
     "name: chain_adam\n"
     "input: {shape: [7]}\n"
     "layers:\n"
     "  - {op: dense, units: 9}\n"
     "  - relu\n"
     "  - {op: dropout, p: 0.7}\n"
     "  - {op: dense, units: 4}\n"
     "  - softmax\n"
     "train:\n"
     "  optimizer: {type: adam, weight_decay: 0.01}\n"
     "  schedule: {type: step, warmup_epochs: 1}\n"},
    /* hetero: unit's per-unit kernels, read by a GEMM's epilogue */
    {"unit_qsd",
     "name: unit_qsd\n"
     "input: {shape: [6]}\n"
     "layers:\n"
     "  - {op: dense, units: 8}\n"
     "  - relu\n"
     "  - {op: qsd, p: 0.5, sites: 3, q_cv: 0.5, p_concentration: 4, hetero: unit,"
     " anneal: 0.1}\n"
     "  - {op: dense, units: 3}\n"
     "  - softmax\n"},
};

/* ---- the workload, run under oclgrind ---- */

static int workload_fail(const char *what, const qsdc_error *err)
{
    fprintf(stderr, "workload: %s: %s\n", what, err->message);
    return 1;
}

/* A NaN no computation makes (payload 0xdead): what a pass reads of memory
 * that no kernel and no host write filled. */
#define POISON_BITS 0x7fc0deadu

/* Writes buf (n floats) back whole with every element outside [keep,
 * keep + kept) replaced by the poison NaN. Whole: oclgrind 21.10's
 * uninitialised-value tracking mishandles partial host writes (a
 * clEnqueueWriteBuffer of part of a buffer, as exec_set_batch does into the
 * arena, leaves even the written range marked uninitialised) and does not
 * count clEnqueueFillBuffer (the executor's zeroing) as initialising. The
 * poison makes a read of memory nothing wrote show up as a non-finite
 * loss, output or --check-finite scan, where the executor's zeros would
 * have hidden it. */
static int poison_whole(cl_env *env, cl_mem buf, int64_t n, int64_t keep, int64_t kept,
                        qsdc_error *err)
{
    if (n <= 0)
        return 0;
    uint32_t *host = malloc((size_t)n * sizeof *host);
    if (!host)
        return qsdc_fail(err, "out of memory");
    cl_int rc = clEnqueueReadBuffer(env->queue, buf, CL_TRUE, 0, (size_t)n * sizeof *host,
                                    host, 0, NULL, NULL);
    for (int64_t i = 0; i < n; i++)
        if (i < keep || i >= keep + kept)
            host[i] = POISON_BITS;
    if (rc == CL_SUCCESS)
        rc = clEnqueueWriteBuffer(env->queue, buf, CL_TRUE, 0, (size_t)n * sizeof *host,
                                  host, 0, NULL, NULL);
    free(host);
    return cl_check(rc, "poisoning a buffer", err);
}

/* Every parameter tensor's gradient, which each step's backward must write
 * before anything reads it. G's gaps between tensors stay zero: the update
 * and the gradient-norm clip run over them, and model_state_create zeroes
 * them for good. */
static int poison_gradients(cl_env *env, const plan *p, model_state *ms, qsdc_error *err)
{
    if (ms->n_params <= 0)
        return 0;
    uint32_t *host = calloc((size_t)ms->n_params, sizeof *host);
    if (!host)
        return qsdc_fail(err, "out of memory");
    for (int i = 0; i < p->n_tensors; i++) {
        const plan_tensor *t = &p->tensors[i];
        if (t->buffer == BUF_P && t->offset + t->nelem <= p->grad_elems)
            for (int64_t k = t->offset; k < t->offset + t->nelem; k++)
                host[k] = POISON_BITS;
    }
    cl_int rc = clEnqueueWriteBuffer(env->queue, ms->G, CL_TRUE, 0,
                                     (size_t)ms->n_params * sizeof *host, host, 0, NULL, NULL);
    free(host);
    return cl_check(rc, "poisoning the gradients", err);
}

/* --check-finite's scan of an observed plan's tensors after its pass. */
static int scan_for_nonfinite(executor *ex, qsdc_error *err)
{
    finite_check fc;
    if (finite_check_create(ex, &fc, err) < 0)
        return -1;
    int rc = finite_check_step(&fc, 3, 0, err);
    finite_check_free(&fc);
    return rc;
}

/* One pass of plan p over a seeded batch (and with probes, the scan); *out gets the loss (training) or
 * the first output, which must be finite. */
static int run_plan(cl_env *env, const plan *p, model_state *ms, float *out,
                    qsdc_error *err)
{
    executor ex;
    float *x = malloc((size_t)p->input_elems * sizeof *x);
    /* one label (and loss) per sample, or per sample and step */
    int64_t rows = p->label_elems > 0 ? p->label_elems : p->batch;
    int64_t n = p->loss_offset >= 0 ? rows : p->output_elems;
    float *y = malloc((size_t)n * sizeof *y);
    int32_t *labels = malloc((size_t)rows * sizeof *labels);
    int64_t classes = p->output_elems / rows;
    for (int64_t i = 0; i < rows; i++)
        labels[i] = (int32_t)((3 * i + 1) % classes);
    ts_fill_uniform(x, (size_t)p->input_elems, 5, 0.0f, 1.0f);
    for (int64_t i = 2; i < p->input_elems; i += 3) /* the token models' padding */
        x[i] = (float)QSDC_PAD_ID;
    int rc = exec_create(env, p, ms, &ex, err);
    if (rc == 0) {
        rc = exec_set_batch(&ex, x, p->loss_offset >= 0 ? labels : NULL, err);
        if (rc == 0)
            rc = poison_whole(env, ex.A, p->arena_elems, p->input_offset, p->input_elems,
                              err);
        if (rc == 0)
            rc = exec_run(&ex, 7, 3, 0.01f, err);
        if (rc == 0 && p->n_probes > 0)
            rc = scan_for_nonfinite(&ex, err);
        if (rc == 0)
            rc = exec_read_arena(&ex, p->loss_offset >= 0 ? p->loss_offset : p->output_offset,
                                 n, y, err);
        exec_destroy(&ex);
    }
    for (int64_t i = 0; rc == 0 && i < n; i++)
        if (!isfinite(y[i]))
            rc = qsdc_fail(err, "%s plan: value %lld is not finite",
                           p->loss_offset >= 0 ? "training" : "inference", (long long)i);
    if (rc == 0)
        *out = y[0];
    free(x);
    free(y);
    free(labels);
    return rc;
}

/* Both plans of m for target, one pass each on fresh parameters; then, when
 * checked (the CPU target: direct conv2d and the CPU GEMM tuning), the
 * training plan as --check-finite compiles it (every node's output kept,
 * GEMM and convolution epilogues split off) and the scan. */
static int run_target(cl_env *env, const model *m, const codegen_target *target,
                      bool checked, const char *what, qsdc_error *err)
{
    plan tp, ep, op;
    codegen_target observed = *target;
    observed.observe_all = true;
    memset(&op, 0, sizeof op);
    if (compile_plan(m, MODE_TRAIN, BATCH, target, &tp, NULL, NULL, err) < 0)
        return -1;
    if (compile_plan(m, MODE_INFER, BATCH, target, &ep, NULL, NULL, err) < 0 ||
        (checked && compile_plan(m, MODE_TRAIN, BATCH, &observed, &op, NULL, NULL,
                                         err) < 0)) {
        plan_free(&tp);
        plan_free(&ep);
        return -1;
    }
    model_state ms = {0};
    float *params = malloc((size_t)tp.param_elems * sizeof *params);
    params_init(&tp, 1, params);
    float loss = 0, out = 0;
    int rc = model_state_create(env, tp.param_elems, tp.state_elems, &ms, err);
    if (rc == 0)
        rc = model_state_write(env, &ms, params, NULL, err);
    if (rc == 0)
        rc = poison_gradients(env, &tp, &ms, err);
    /* the optimiser state starts at zero by definition */
    if (rc == 0)
        rc = poison_whole(env, ms.S, ms.n_state, 0, ms.n_state, err);
    if (rc == 0)
        rc = run_plan(env, &tp, &ms, &loss, err);
    if (rc == 0)
        rc = run_plan(env, &ep, &ms, &out, err);
    if (rc == 0 && op.n_probes > 0)
        rc = run_plan(env, &op, &ms, &loss, err);
    if (rc == 0)
        printf("workload ok: %s, %s kernels: %d + %d launches, loss %g, output %g\n",
               m->name, what, tp.n_launches, ep.n_launches, loss, out);
    model_state_free(&ms);
    free(params);
    plan_free(&tp);
    plan_free(&ep);
    plan_free(&op);
    return rc;
}

/* Runs the model's kernels as specialised for the device (target "device":
 * what qsdc train runs there), for the default CPU target ("cpu": what
 * runs on pocl) or for it with SLICED_LOOP_LIMIT ("sliced"), dense layers narrowed to at most max_units, conv2d layers
 * to at most MAX_FILTERS filters. */
static int workload(const char *path, long max_units, const char *which)
{
    model m;
    qsdc_error err = {{0}};
    if (model_load(path, &m, &err) < 0)
        return workload_fail("load", &err);
    for (int i = 0; i < m.n_layers; i++) {
        layer *l = &m.layers[i];
        bool wide = l->kind == LAYER_DENSE || l->kind == LAYER_LSTM ||
                    l->kind == LAYER_EMBEDDING;
        if (wide && l->units > max_units)
            l->units = max_units;
        else if (l->kind == LAYER_CONV2D && l->filters > MAX_FILTERS)
            l->filters = MAX_FILTERS;
        if (l->kind == LAYER_EMBEDDING && l->vocab > MAX_VOCAB)
            l->vocab = MAX_VOCAB;
    }
    if (m.dtype == DTYPE_INT32 && m.input_shape[0] > MAX_STEPS)
        m.input_shape[0] = MAX_STEPS;
    cl_env env;
    if (cl_env_open(NULL, false, &env, &err) < 0)
        return workload_fail("device", &err);
    codegen_target target;
    bool cpu = strcmp(which, "cpu") == 0, sliced = strcmp(which, "sliced") == 0;
    if (cpu || sliced)
        codegen_target_default(&target);
    else
        exec_target(&env.dev, &target);
    if (sliced)
        target.loop_limit = SLICED_LOOP_LIMIT;
    /* conv2d both ways: im2col + GEMM for the device, direct for the CPU */
    target.direct_conv_all = cpu;
    int rc = run_target(&env, &m, &target, cpu,
                        cpu      ? "CPU-tuned, direct conv2d"
                        : sliced ? "CPU-tuned, sliced for a loop limit"
                                 : env.dev.name,
                        &err) < 0;
    if (rc)
        workload_fail(path, &err);
    cl_env_close(&env);
    model_free(&m);
    return rc;
}

/* ---- the tests, run outside oclgrind ---- */

static char self[4096];

static int oclgrind_found(void)
{
    return ts_run("command -v oclgrind", NULL) == 0;
}

/* oclgrind's checks for each target: out-of-bounds accesses always, data
 * races, API misuse and uninitialised values for both tunings. The CPU
 * tuning used to run without --uninitialized: oclgrind 21.10 was reported
 * to mis-track the vectors its transposing pack of B builds from several
 * vectors' components. With the poisoned whole-buffer writes above it runs
 * clean under --uninitialized (mlp_fashion_dropout, cnn_fashion_qsd_bn_aug
 * and lstm_kjv_qsd checked by hand); a report there is worth reading. */
static const char *const checks[][2] = {
    {"device", "--data-races --uninitialized --check-api"},
    {"cpu", "--data-races --uninitialized --check-api"},
    {"sliced", "--data-races --uninitialized --check-api"},
};
/* The checks without --uninitialized, for kernels where clang emits LLVM's
 * freeze instruction (integer division and remainder together, as the
 * recurrent kernels' flat indexing does), which oclgrind 21.10's
 * uninitialised-value plugin cannot follow. Still so for both tunings of
 * the lstm and embedding kernels: "OCLGRIND FATAL ERROR
 * (./src/plugins/Uninitialized.cpp:1805) Unsupported instruction: freeze,
 * Kernel: k0_embed, %div.lhs.trunc.frozen = freeze i16 %div.lhs.trunc"
 * (and k3_lstm_ut's %rem.lhs.trunc.frozen). Their reads of memory nothing
 * wrote still show through the poison. */
static const char no_uninitialized[] = "--data-races --check-api";

/* Runs this program under oclgrind with options and the workload's
 * arguments; returns its output and oclgrind's log (both malloc'd) and the
 * exit status. */
static int run_under(const char *options, const char *args, char **out, char **errors)
{
    char log[1200], cmd[8192], cat[1300];
    snprintf(log, sizeof log, "%s/oclgrind.log", ts_tmpdir());
    remove(log);
    snprintf(cmd, sizeof cmd,
             /* oclgrind preloads its OpenCL runtime ahead of ASan's */
             "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0\" "
             "QSDC_CACHE_DIR=off oclgrind %s --max-errors 20 --log '%s' '%s' %s",
             options, log, self, args);
    int status = ts_run(cmd, out);
    snprintf(cat, sizeof cat, "cat '%s' 2>/dev/null", log);
    ts_run(cat, errors);
    return status;
}

/* Runs the workload on model_path under oclgrind for each target ("sliced"
 * for recurrent models only); fails on any oclgrind message or a workload
 * failure. */
static void check_model(const char *model_path, bool recurrent)
{
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (!recurrent && strcmp(checks[i][0], "sliced") == 0)
            continue;
        const char *options = checks[i][1];
        char *out = NULL, *errors = NULL, args[1200];
        snprintf(args, sizeof args, "--workload '%s' %d %s", model_path, MAX_UNITS,
                 checks[i][0]);
        int status = run_under(options, args, &out, &errors);
        if (errors && strstr(errors, "Unsupported instruction: freeze")) {
            printf("%s: oclgrind cannot follow uninitialised values through LLVM's freeze; "
                   "checked without --uninitialized\n", model_path);
            free(out);
            free(errors);
            options = no_uninitialized;
            status = run_under(options, args, &out, &errors);
        }
        if (status != 0 || !out || !strstr(out, "workload ok") || (errors && errors[0]))
            fail_msg("%s under oclgrind %s: status %d\n%s\noclgrind log:\n%s", model_path,
                     options, status, out ? out : "", errors && errors[0] ? errors : "(empty)");
        printf("%s", out);
        free(out);
        free(errors);
    }
}

static bool is_recurrent(const char *path)
{
    const char *name = strrchr(path, '/');
    return strncmp(name ? name + 1 : path, "lstm_", 5) == 0;
}

/* The recurrent examples' dropout and unregularised variants, and the
 * review-set classifiers (the sentence-set ones once narrowed to MAX_STEPS),
 * generate no kernel their QSD sentence-set and KJV models and the
 * dropout MLP do not: at about two minutes each under oclgrind, they are
 * left out. */
static bool same_kernels_as_checked(const char *path)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    return is_recurrent(path) &&
           (strstr(name, "_reviews_") || strstr(name, "_dropout.") || strstr(name, "_none."));
}

static void test_example_models(void **state)
{
    (void)state;
    char pattern[1100];
    snprintf(pattern, sizeof pattern, "%s/models/*.yaml", ts_source_root());
    glob_t g;
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    assert_true(g.gl_pathc > 0);
    for (size_t i = 0; i < g.gl_pathc; i++)
        if (!same_kernels_as_checked(g.gl_pathv[i]))
            check_model(g.gl_pathv[i], is_recurrent(g.gl_pathv[i]));
    globfree(&g);
}

static void test_other_ops_and_optimisers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof extra_models / sizeof extra_models[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s.yaml", extra_models[i][0]);
        check_model(ts_write(name, extra_models[i][1], strlen(extra_models[i][1])), false);
    }
}

/* Under oclgrind: the lane shapes' GEMM cases, each against the C
 * reference (gemm_case.h). */
static void gemm_families_cases(void **state)
{
    (void)state;
    static const gemm_tiles tiles[] = {
        {3, 5, 2, 4, 7, false}, {4, 8, 8, 1, 5, false}, {3, 5, 2, 4, 8, true},
        {2, 4, 4, 2, 4, true},
    };
    static const gemm_case cases[] = {
        {.M = 17, .N = 33, .K = 29, .bias_relu = true},
        {.M = 17, .N = 33, .K = 29, .ta = true, .accumulate = true, .pad = 1},
        {.M = 12, .N = 10, .K = 30, .tb = true, .bias_relu = true, .tiled = true},
        {.M = 13, .N = 21, .K = 30, .ta = true, .tb = true, .bias_relu = true},
        {.M = 7, .N = 18, .K = 20, .tb = true, .batch = 3, .shared_a = true},
        {.M = 12, .N = 16, .K = 18, .ta = true, .batch = 3, .reduce = true},
    };
    for (size_t i = 0; i < sizeof tiles / sizeof *tiles; i++) {
        gemm_tuning t = gemm_device_tuning();
        t.tiles = tiles[i];
        for (size_t j = 0; j < sizeof cases / sizeof *cases; j++)
            gemm_case_run(&cases[j], &t);
        /* a GPU of 64 compute units splits the plain products along K */
        t.lane_groups = 128;
        gemm_case split = {.M = 20, .N = 10, .K = 4 * tiles[i].k, .ta = true,
                           .accumulate = true, .bias_relu = true};
        if (gemm_case_run(&split, &t) < 2)
            fail_msg("tiles %zu: the product was not split along K", i);
        /* in three chunks of k + 1, each ending in the tiles' remainder loop */
        gemm_case ragged = {.M = 20, .N = 10, .K = 3 * (tiles[i].k + 1), .tb = true,
                            .bias_relu = true};
        if (gemm_case_run(&ragged, &t) < 2)
            fail_msg("tiles %zu: the ragged product was not split along K", i);
    }
}

static int gemm_families_workload(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(gemm_families_cases)};
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed == 0)
        printf("workload ok: the lane shapes' GEMMs\n");
    return failed != 0;
}

static void test_gemm_families(void **state)
{
    (void)state;
    /* the test's own reference kernels hold LLVM's freeze (no_uninitialized) */
    const char *options = no_uninitialized;
    char *out = NULL, *errors = NULL;
    int status = run_under(options, "--gemm-families", &out, &errors);
    if (status != 0 || !out || !strstr(out, "workload ok") || (errors && errors[0]))
        fail_msg("the lane shapes' GEMMs under oclgrind %s: status %d\n%s\noclgrind log:\n%s",
                 options, status, out ? out : "", errors && errors[0] ? errors : "(empty)");
    printf("%s", strstr(out, "workload ok"));
    free(out);
    free(errors);
}

static int teardown(void **state)
{
    (void)state;
    ts_cleanup();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--workload") == 0)
        return workload(argv[2], atol(argv[3]), argv[4]);
    if (argc == 2 && strcmp(argv[1], "--gemm-families") == 0)
        return gemm_families_workload();
    if (!oclgrind_found()) {
        fprintf(stderr, "oclgrind is not installed (apt-get install oclgrind): skipped\n");
        return SKIP_STATUS;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        perror("/proc/self/exe");
        return 1;
    }
    self[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_families),
        cmocka_unit_test(test_example_models),
        cmocka_unit_test(test_other_ops_and_optimisers),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
