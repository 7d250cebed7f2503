/* A plan on one device with model state of its sizes and its executor:
 * what each further device of data parallelism runs (replicas.c), what a
 * kernel profile times (session_kernels.c), and what the GEMM, conv2d and
 * lstm choices measure their candidates with. Training and a session
 * instead share one model state between the executors of their training
 * and inference plans, so they hold those parts themselves. */
#ifndef QSDC_PLAN_RUN_H
#define QSDC_PLAN_RUN_H

#include "executor.h"

typedef struct plan_run {
    plan p;
    model_state ms;
    executor ex;
} plan_run;

/* Takes *p (left empty; plan_run_close frees it, also on failure), then
 * allocates its parameters and optimiser state on env's device and builds
 * its program. */
int plan_run_open(cl_env *env, plan *p, plan_run *r, qsdc_error *err);
void plan_run_close(plan_run *r);
/* Takes *p, runs it once on fresh state, then times launch[i] (of n) as
 * exec_launch_ms does, over reps launches: ms[i]. */
int plan_run_time(cl_env *env, plan *p, const int *launch, int n, int reps, double *ms,
                  qsdc_error *err);

#endif
