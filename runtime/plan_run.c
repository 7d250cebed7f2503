#include "plan_run.h"

#include <string.h>

int plan_run_open(cl_env *env, plan *p, plan_run *r, qsdc_error *err)
{
    memset(r, 0, sizeof *r);
    r->p = *p;
    memset(p, 0, sizeof *p);
    if (model_state_create(env, r->p.param_elems, r->p.state_elems, &r->ms, err) < 0 ||
        exec_create(env, &r->p, &r->ms, &r->ex, err) < 0) {
        plan_run_close(r);
        return -1;
    }
    return 0;
}

void plan_run_close(plan_run *r)
{
    exec_destroy(&r->ex);
    model_state_free(&r->ms);
    plan_free(&r->p);
}

int plan_run_time(cl_env *env, plan *p, const int *launch, int n, int reps, double *ms,
                  qsdc_error *err)
{
    plan_run r;
    int rc = plan_run_open(env, p, &r, err);
    if (rc == 0)
        rc = exec_run(&r.ex, 0, 0, 0, err);
    for (int i = 0; i < n && rc == 0; i++)
        if ((ms[i] = exec_launch_ms(&r.ex, launch[i], reps, err)) < 0)
            rc = -1;
    plan_run_close(&r);
    return rc;
}
