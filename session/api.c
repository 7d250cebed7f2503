/* The public API (include/qsdc.h) over the compiler and runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cl_runtime.h"
#include "compile.h"
#include "session.h"
#include "train.h"

struct qsdc_model {
    model m;
};

int qsdc_model_load(const char *path, qsdc_model **out, qsdc_error *err)
{
    qsdc_model *q = malloc(sizeof *q);
    if (!q)
        return qsdc_fail(err, "out of memory");
    if (model_load(path, &q->m, err) < 0) {
        free(q);
        return -1;
    }
    *out = q;
    return 0;
}

void qsdc_model_free(qsdc_model *m)
{
    if (m) {
        model_free(&m->m);
        free(m);
    }
}

int qsdc_compile(const qsdc_model *q, const char *dir, int64_t batch, int training,
                 qsdc_error *err)
{
    codegen_target target;
    codegen_target_default(&target);
    if (batch <= 0)
        batch = q->m.train.batch;
    plan plans[2];
    graph g;
    fusion f;
    int n = 0, rc = compile_plan(&q->m, MODE_INFER, batch, &target, &plans[0],
                                 training ? NULL : &g, training ? NULL : &f, err);
    if (rc == 0)
        n = 1;
    if (rc == 0 && training && (rc = compile_plan(&q->m, MODE_TRAIN, batch, &target,
                                                  &plans[1], &g, &f, err)) == 0)
        n = 2;
    const plan *pp[2] = {&plans[0], &plans[1]};
    if (rc == 0)
        rc = bundle_write(dir, pp, n, &g, &f, err);
    if (n > 0 && (n == 2 || !training)) {
        graph_free(&g);
        fusion_free(&f);
    }
    for (int i = 0; i < n; i++)
        plan_free(&plans[i]);
    return rc;
}

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

int qsdc_train(qsdc_model *q, const qsdc_train_options *o, qsdc_train_result *out,
               qsdc_error *err)
{
    train_options t;
    session_train_options(o, &t);
    train_summary s;
    int rc = train_model(&q->m, &t, &s, err);
    if (rc == 0 && out)
        session_train_result(&s, out);
    return rc;
}
