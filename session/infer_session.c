#include "infer_session.h"

#include <stdlib.h>
#include <string.h>

#include "bundle_load.h"
#include "checkpoint.h"
#include "compile.h"
#include "device_check.h"
#include "init.h"
#include "train.h"

int infer_session_open(infer_session *s, const model *m, int64_t batch, const char *device,
                       const char *ckpt_dir, const char *binary, const char *bundle,
                       qsdc_error *err)
{
    memset(s, 0, sizeof *s);
    if (cl_env_open(device, false, &s->env, err) < 0 || device_self_check(&s->env, err) < 0)
        return -1;
    /* a prebuilt binary holds the generated GEMM kernels, as --emit-binary
     * compiles them: no CLBlast launches then */
    codegen_target target;
    exec_target(&s->env.dev, &target);
    if ((binary && !bundle
             ? compile_plan(m, MODE_INFER, batch, &target, &s->p, NULL, NULL, err)
             : plan_for_device(&s->env, m, bundle, MODE_INFER, batch, &s->p, err)) < 0 ||
        model_state_create(&s->env, s->p.param_elems, 0, &s->ms, err) < 0)
        return -1;
    float *params = malloc((size_t)s->p.param_elems * sizeof *params);
    if (!params)
        return qsdc_fail(err, "out of memory");
    int rc = 0;
    if (ckpt_dir) {
        checkpoint ck;
        rc = checkpoint_load_weights(ckpt_dir, train_model_hash(m, &s->p), s->p.param_elems,
                                     &ck, err);
        if (rc == 0) {
            memcpy(params, ck.params, (size_t)s->p.param_elems * sizeof *params);
            checkpoint_free(&ck);
        }
    } else {
        params_init(&s->p, m->train.seed, params);
    }
    if (rc == 0)
        rc = model_state_write(&s->env, &s->ms, params, NULL, err);
    free(params);
    return rc < 0 ? -1 : exec_create_from(&s->env, &s->p, &s->ms, binary, &s->ex, err);
}

void infer_session_close(infer_session *s)
{
    exec_destroy(&s->ex);
    model_state_free(&s->ms);
    plan_free(&s->p);
    cl_env_close(&s->env);
}
