/* The public API (include/qsdc.h) over the compiler and runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_runtime.h"
#include "compile.h"
#include "dist.h"
#include "device_tuner.h"
#include "session.h"
#include "train.h"

int qsdc_list_devices(char *buf, size_t cap, qsdc_error *err)
{
    cl_device_info_rec *devs = NULL;
    int n = 0;
    if (cl_list_devices(&devs, &n, err) < 0)
        return -1;
    size_t len = 0;
    if (cap > 0)
        buf[0] = '\0';
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%d: %s [%s, %s, %s]\n", devs[i].index,
                                devs[i].name, cl_device_type_name(devs[i].type),
                                devs[i].platform_name, devs[i].version);
    free(devs);
    return n;
}

int qsdc_get_devices(qsdc_device_info *out, int cap, qsdc_error *err)
{
    if (cap > 0 && !out)
        return qsdc_fail(err, "qsdc_get_devices: out is NULL");
    cl_device_info_rec *devs = NULL, def;
    int n = 0;
    if (cl_list_devices(&devs, &n, err) < 0)
        return -1;
    if (n == 0) {
        free(devs);
        return cl_fail_no_device(err);
    }
    qsdc_error ignored;
    int def_index = cl_select_device(NULL, &def, &ignored) == 0 ? def.index : -1;
    for (int i = 0; i < n && i < cap; i++) {
        qsdc_device_info *d = &out[i];
        memset(d, 0, sizeof *d);
        d->index = devs[i].index;
        snprintf(d->name, sizeof d->name, "%s", devs[i].name);
        snprintf(d->vendor, sizeof d->vendor, "%s", devs[i].vendor);
        snprintf(d->version, sizeof d->version, "%s", devs[i].version);
        snprintf(d->platform, sizeof d->platform, "%s", devs[i].platform_name);
        snprintf(d->type, sizeof d->type, "%s", cl_device_type_name(devs[i].type));
        d->compute_units = devs[i].compute_units;
        d->memory_bytes = devs[i].global_mem;
        d->is_default = devs[i].index == def_index;
    }
    free(devs);
    return n;
}

int qsdc_tune(const qsdc_model *q, const char *device, int64_t batch, FILE *report,
              qsdc_error *err)
{
    if (!q)
        return qsdc_fail(err, "qsdc_tune: m is NULL");
    cl_env env;
    memset(&env, 0, sizeof env);
    plan p;
    int rc = cl_env_open(device, false, &env, err);
    if (rc == 0 && report)
        fprintf(report, "conv2d, lstm, GEMM and window choices for %s on %s:\n", q->m.name,
                env.dev.name);
    for (int mode = MODE_TRAIN; rc == 0 && mode >= MODE_INFER; mode--) {
        rc = compile_for_device(&env, &q->m, (graph_mode)mode,
                                batch > 0 ? batch : q->m.train.batch, true, report, &p, err);
        if (rc == 0)
            plan_free(&p);
    }
    cl_env_close(&env);
    return rc;
}

int qsdc_train(qsdc_model *q, const qsdc_train_options *o, qsdc_train_result *out,
               qsdc_error *err)
{
    train_options t;
    session_train_options(o, &t);
    t.bundle = q->bundle[0] ? q->bundle : NULL;
    train_summary s;
    int rc = train_model(&q->m, &t, &s, err);
    if (rc == 0 && out)
        session_train_result(&s, out);
    return rc;
}

int qsdc_launch_rank(void)
{
    return dist_launch_rank();
}
