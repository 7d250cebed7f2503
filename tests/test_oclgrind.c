/* Every kernel the compiler generates for the example models (and for small
 * models that reach the ops and optimisers the examples do not use), run
 * under oclgrind with its data-race and uninitialised-value checks: one
 * training step and one inference pass per model at batch 2, with the
 * kernels specialised for oclgrind's device and for the default CPU target.
 * The examples' dense layers are narrowed to MAX_UNITS and their
 * convolutions to MAX_FILTERS filters. Any message oclgrind
 * logs (out-of-bounds access, uninitialised read, data race, API error)
 * fails the test.
 *
 * The test re-runs this program under oclgrind as
 * `test_oclgrind --workload MODEL.yaml MAX_UNITS TARGET`, which does the
 * device work; without oclgrind on PATH the whole program is skipped
 * (exit 77). */
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

#include "compile.h"
#include "executor.h"
#include "init.h"
#include "support.h"

#define BATCH 2
/* The examples' 1024-wide layers take oclgrind a quarter of an hour per
 * model; 40 units keep every code path (partial GEMM tiles and panels, the
 * input's 784 columns over two K blocks of the CPU tuning) in seconds. */
#define MAX_UNITS 40
/* Convolutions keep their windows, strides and maps; fewer filters keep
 * oclgrind's interpretation of them to seconds. */
#define MAX_FILTERS 4
#define SKIP_STATUS 77

/* The ops, losses and optimisers the examples (dense, relu, qsd, dropout,
 * softmax + cross-entropy, SGD with Nesterov momentum, cosine schedule)
 * leave out, recurrent layers among them. */
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
    {"lstm_lm",
     "name: lstm_lm\n"
     "input: {shape: [4], dtype: int32}\n"
     "layers:\n"
     "  - {op: embedding, vocab: 7, dim: 5}\n"
     "  - {op: qsd, p: 0.7, sites: 4, q_cv: 0.5, share: time}\n"
     "  - {op: lstm, units: 6}\n"
     "  - {op: dropout, p: 0.5, share: time}\n"
     "  - {op: dense, units: 7}\n"
     "train: {optimizer: {type: sgd, lr: 0.1, momentum: 0.9}}\n"},
    {"lstm_stacked_pooled",
     "name: lstm_stacked_pooled\n"
     "input: {shape: [4, 3]}\n"
     "nodes:\n"
     "  - {name: d, op: dense, inputs: input, units: 4, bias: false}\n"
     "  - {name: h, op: tanh, inputs: d}\n"
     "  - {name: l1, op: lstm, inputs: h, units: 5}\n"
     "  - {name: mean, op: pool_sequence, inputs: l1, mode: mean}\n"
     "  - {name: l2, op: lstm, inputs: l1, units: 5, return: last}\n"
     "  - {name: sum, op: add, inputs: [mean, l2]}\n"
     "  - {name: out, op: dense, inputs: sum, units: 3}\n"
     "output: out\n"
     "train: {optimizer: {type: adam, eps: 0.001}}\n"},
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
};

/* ---- the workload, run under oclgrind ---- */

static int workload_fail(const char *what, const qsdc_error *err)
{
    fprintf(stderr, "workload: %s: %s\n", what, err->message);
    return 1;
}

/* Reads the n floats of buf and writes them back whole. oclgrind 21.10's
 * uninitialised-value tracking mishandles partial host writes (a
 * clEnqueueWriteBuffer of part of a buffer, as exec_set_batch does into the
 * arena, leaves even the written range marked uninitialised) and does not
 * count clEnqueueFillBuffer (the executor's zeroing) as initialising; a
 * whole-buffer write of the same contents is tracked correctly. So the check
 * covers private and local memory, and a read of arena memory no kernel
 * wrote sees the executor's zeros. */
static int rewrite_whole(cl_env *env, cl_mem buf, int64_t n, qsdc_error *err)
{
    if (n <= 0)
        return 0;
    float *host = malloc((size_t)n * sizeof *host);
    if (!host)
        return qsdc_fail(err, "out of memory");
    cl_int rc = clEnqueueReadBuffer(env->queue, buf, CL_TRUE, 0, (size_t)n * sizeof *host,
                                    host, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
        rc = clEnqueueWriteBuffer(env->queue, buf, CL_TRUE, 0, (size_t)n * sizeof *host,
                                  host, 0, NULL, NULL);
    free(host);
    return cl_check(rc, "rewriting a buffer", err);
}

/* One pass of plan p over a seeded batch (token ids below 7 when the input
 * is int32); *out gets the loss (training) or the first output, which must
 * be finite. */
static int run_plan(cl_env *env, const plan *p, bool token_ids, model_state *ms, float *out,
                    qsdc_error *err)
{
    executor ex;
    float *x = malloc((size_t)p->input_elems * sizeof *x);
    int64_t n = p->loss_offset >= 0 ? p->batch : p->output_elems;
    float *y = malloc((size_t)n * sizeof *y);
    /* one label per sample, or per sample and step for a sequence output */
    int64_t n_labels = p->label_elems > 0 ? p->label_elems : 1;
    int32_t *labels = malloc((size_t)n_labels * sizeof *labels);
    int64_t classes = p->output_elems / n_labels;
    for (int64_t i = 0; i < n_labels; i++)
        labels[i] = (int32_t)((3 * i + 1) % classes);
    if (token_ids)
        for (int64_t i = 0; i < p->input_elems; i++)
            x[i] = (float)((i * 5 + i / 3) % 7);
    else
        ts_fill_uniform(x, (size_t)p->input_elems, 5, 0.0f, 1.0f);
    int rc = exec_create(env, p, ms, &ex, err);
    if (rc == 0) {
        rc = exec_set_batch(&ex, x, p->label_elems > 0 ? labels : NULL, err);
        if (rc == 0)
            rc = rewrite_whole(env, ex.A, p->arena_elems, err);
        if (rc == 0)
            rc = exec_run(&ex, 7, 3, 0.01f, err);
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

/* Both plans of m for target, one pass each on fresh parameters. */
static int run_target(cl_env *env, const model *m, const codegen_target *target,
                      const char *what, qsdc_error *err)
{
    plan tp, ep;
    if (compile_plan(m, MODE_TRAIN, BATCH, target, &tp, NULL, NULL, err) < 0)
        return -1;
    if (compile_plan(m, MODE_INFER, BATCH, target, &ep, NULL, NULL, err) < 0) {
        plan_free(&tp);
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
        rc = rewrite_whole(env, ms.G, ms.n_params, err);
    if (rc == 0)
        rc = rewrite_whole(env, ms.S, ms.n_state, err);
    if (rc == 0)
        rc = run_plan(env, &tp, m->dtype == DTYPE_INT32, &ms, &loss, err);
    if (rc == 0)
        rc = run_plan(env, &ep, m->dtype == DTYPE_INT32, &ms, &out, err);
    if (rc == 0)
        printf("workload ok: %s, %s kernels: %d + %d launches, loss %g, output %g\n",
               m->name, what, tp.n_launches, ep.n_launches, loss, out);
    model_state_free(&ms);
    free(params);
    plan_free(&tp);
    plan_free(&ep);
    return rc;
}

/* Runs the model's kernels as specialised for the device (target "device":
 * what qsdc train runs there) or for the default CPU target ("cpu": what
 * runs on pocl), dense layers narrowed to at most max_units. */
static int workload(const char *path, long max_units, const char *which)
{
    model m;
    qsdc_error err = {{0}};
    if (model_load(path, &m, &err) < 0)
        return workload_fail("load", &err);
    for (int i = 0; i < m.n_layers; i++) {
        if (m.layers[i].kind == LAYER_DENSE && m.layers[i].units > max_units)
            m.layers[i].units = max_units;
        if (m.layers[i].kind == LAYER_CONV2D && m.layers[i].filters > MAX_FILTERS)
            m.layers[i].filters = MAX_FILTERS;
    }
    cl_env env;
    if (cl_env_open(NULL, false, &env, &err) < 0)
        return workload_fail("device", &err);
    codegen_target target;
    bool cpu = strcmp(which, "cpu") == 0;
    if (cpu)
        codegen_target_default(&target);
    else
        exec_target(&env.dev, &target);
    int rc = run_target(&env, &m, &target, cpu ? "CPU-tuned" : env.dev.name, &err) < 0;
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

#define CHECKS "--data-races --check-api"
#define UNINITIALIZED " --uninitialized"

/* Runs the workload for target under oclgrind with options; *log_text gets
 * oclgrind's log and *out the workload's output (both malloc'd). */
static int run_oclgrind(const char *model_path, const char *target, const char *options,
                        char **out, char **log_text)
{
    char log[1200], cmd[8192], cat[1300];
    snprintf(log, sizeof log, "%s/oclgrind.log", ts_tmpdir());
    remove(log);
    snprintf(cmd, sizeof cmd,
             /* oclgrind preloads its OpenCL runtime ahead of ASan's */
             "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0\" "
             "QSDC_CACHE_DIR=off oclgrind %s --max-errors 20 --log '%s' '%s' "
             "--workload '%s' %d %s",
             options, log, self, model_path, MAX_UNITS, target);
    int status = ts_run(cmd, out);
    snprintf(cat, sizeof cat, "cat '%s' 2>/dev/null", log);
    ts_run(cat, log_text);
    return status;
}

/* Runs the workload on model_path under oclgrind for each target; fails on
 * any oclgrind message or a workload failure. Out-of-bounds accesses are
 * always checked, uninitialised values where oclgrind 21.10 can track them:
 * - not in the CPU-tuned kernels: its --uninitialized mis-tracks vectors
 *   built from the components of several vectors, (float8)(x0.s0, x1.s0,
 *   ...), with a false report for two sources and a crash for three or
 *   more, and the CPU tuning's transposing pack of B is made of those;
 * - not where clang emits LLVM's freeze instruction (integer division in
 *   the recurrent kernels), which it stops at as unsupported: such a model
 *   is checked again without it. */
static void check_model(const char *model_path)
{
    static const char *const targets[][2] = {
        {"device", CHECKS UNINITIALIZED},
        {"cpu", CHECKS},
    };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        const char *options = targets[i][1];
        char *out = NULL, *errors = NULL;
        int status = run_oclgrind(model_path, targets[i][0], options, &out, &errors);
        if (strstr(options, UNINITIALIZED) && strstr(errors, "Unsupported instruction: freeze")) {
            printf("%s: oclgrind cannot follow uninitialised values through LLVM's freeze; "
                   "checked without --uninitialized\n", model_path);
            free(out);
            free(errors);
            options = CHECKS;
            status = run_oclgrind(model_path, targets[i][0], options, &out, &errors);
        }
        if (status != 0 || !strstr(out, "workload ok") || errors[0])
            fail_msg("%s under oclgrind %s: status %d\n%s\noclgrind log:\n%s", model_path,
                     options, status, out, errors[0] ? errors : "(empty)");
        printf("%s", out);
        free(out);
        free(errors);
    }
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
        check_model(g.gl_pathv[i]);
    globfree(&g);
}

static void test_other_ops_and_optimisers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof extra_models / sizeof extra_models[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s.yaml", extra_models[i][0]);
        check_model(ts_write(name, extra_models[i][1], strlen(extra_models[i][1])));
    }
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
        cmocka_unit_test(test_example_models),
        cmocka_unit_test(test_other_ops_and_optimisers),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
