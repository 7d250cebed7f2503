#include "bundle_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"
#include "device_tuner.h"

static bool is_file(const char *path, bool dir)
{
    struct stat st;
    return stat(path, &st) == 0 && (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
}

bool bundle_is_dir(const char *path)
{
    char yaml[QSDC_PATH_MAX + 16];
    snprintf(yaml, sizeof yaml, "%s/plan.yaml", path);
    return is_file(path, true) && is_file(yaml, false);
}

void bundle_model_path(const char *dir, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, BUNDLE_MODEL);
}

/* Moves the plan of mode's role out of dir/plan.yaml into out. */
static int read_plan_of_role(const char *dir, graph_mode mode, plan *out, qsdc_error *err)
{
    char path[QSDC_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/plan.yaml", dir);
    plan *plans;
    int n, found = -1;
    if (plan_yaml_read(path, &plans, &n, err) < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if ((plans[i].loss_offset >= 0) == (mode == MODE_TRAIN))
            found = i;
    if (found >= 0) {
        *out = plans[found];
        memset(&plans[found], 0, sizeof plans[found]);
    }
    plan_yaml_free(plans, n);
    if (found < 0)
        return qsdc_fail(err, "%s: the bundle holds no %s plan (compile it with%s -o %s)",
                         dir, mode == MODE_TRAIN ? "training" : "inference",
                         mode == MODE_TRAIN ? " --train" : "", dir);
    return 0;
}

int plan_for_device(cl_env *env, const model *m, const char *dir, graph_mode mode,
                    int64_t batch, plan *out, qsdc_error *err)
{
    if (!dir)
        return compile_for_device(env, m, mode, batch, false, NULL, out, err);
    if (read_plan_of_role(dir, mode, out, err) < 0)
        return -1;
    if (out->batch != batch) {
        qsdc_fail(err, "%s: the bundle's %s plan is for batch %lld, this run needs %lld "
                  "(recompile with --batch %lld)", dir, mode == MODE_TRAIN ? "training"
                  : "inference", (long long)out->batch, (long long)batch, (long long)batch);
        plan_free(out);
        return -1;
    }
    if (bundle_verify_plan(dir, m, out, err) < 0) {
        plan_free(out);
        return -1;
    }
    return 0;
}
