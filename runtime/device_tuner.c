#include "device_tuner.h"

#include "compile_tuner.h"
#include "conv_select.h"
#include "executor.h"
#include "gemm_select.h"
#include "lstm_select.h"
#include "window_select.h"

typedef struct device_tuner {
    cl_env *env;
    const codegen_target *target;
    bool remeasure;
    FILE *report;
} device_tuner;

static int tune_convs(void *ctx, graph_mode mode, int64_t batch, const conv_shape *shapes,
                      int n, bool *direct, qsdc_error *err)
{
    device_tuner *t = ctx;
    return conv_select(t->env, t->target, mode, batch, shapes, n, t->remeasure, t->report,
                       direct, err);
}

static int tune_lstms(void *ctx, const recur_shape *shapes, int n, bool *scalar,
                      qsdc_error *err)
{
    device_tuner *t = ctx;
    return lstm_select(t->env, t->target, shapes, n, t->remeasure, t->report, scalar, err);
}

static int tune_gemms(void *ctx, const plan *sizes, const plan_gemm *shapes, int n,
                      gemm_pick *picks, qsdc_error *err)
{
    device_tuner *t = ctx;
    if (exec_check_memory(&t->env->dev, (const plan *[]){sizes}, 1, err) < 0)
        return -1;
    return gemm_select(t->env, t->target, shapes, n, t->remeasure, t->report, picks, err);
}

static int tune_windows(void *ctx, const window_shape *shapes, int n, bool *rows,
                        qsdc_error *err)
{
    device_tuner *t = ctx;
    return window_select(t->env, t->target, shapes, n, t->remeasure, t->report, rows, err);
}

int compile_tuned(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                  codegen_target *target, bool remeasure, FILE *report, plan *out, graph *g,
                  fusion *f, qsdc_error *err)
{
    device_tuner t = {.env = env, .target = target, .remeasure = remeasure,
                      .report = report};
    const compile_tuner tuner = {.ctx = &t, .convs = tune_convs, .lstms = tune_lstms,
                                 .gemms = tune_gemms, .windows = tune_windows};
    target->tuner = &tuner;
    int rc = compile_plan(m, mode, batch, target, out, g, f, err);
    target->tuner = NULL;
    return rc;
}

static int compile_with(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                        bool remeasure, FILE *report, bool observe_all, plan *out,
                        qsdc_error *err)
{
    codegen_target target;
    exec_target(&env->dev, &target);
    target.observe_all = observe_all;
    return compile_tuned(env, m, mode, batch, &target, remeasure, report, out, NULL, NULL,
                         err);
}

int compile_for_device(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                       bool remeasure, FILE *report, plan *out, qsdc_error *err)
{
    return compile_with(env, m, mode, batch, remeasure, report, false, out, err);
}

int compile_observed_for_device(cl_env *env, const model *m, graph_mode mode, int64_t batch,
                                plan *out, qsdc_error *err)
{
    return compile_with(env, m, mode, batch, false, NULL, true, out, err);
}
