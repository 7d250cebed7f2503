/* Sessions (include/qsdc.h): open, close, info and the weights. */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "bundle_load.h"
#include "checkpoint.h"
#include "compile.h"
#include "device_check.h"
#include "init.h"
#include "onnx_import.h"

int session_finish(qsdc_session *s, int rc, const qsdc_error *e, qsdc_error *err)
{
    if (s)
        snprintf(s->last.message, sizeof s->last.message, "%s", rc < 0 ? e->message : "");
    if (err)
        *err = rc < 0 ? *e : (qsdc_error){""};
    return rc < 0 ? -1 : 0;
}

int session_usable(const qsdc_session *s, qsdc_error *e)
{
    if (!s)
        return qsdc_fail(e, "the session is NULL (qsdc_session_open failed?)");
    if (s->broken)
        return qsdc_fail(e, "the session is unusable after an earlier failure (%s): close "
                         "it and open another", s->broken_why.message);
    return 0;
}

int session_need_weights(const qsdc_session *s, qsdc_error *e)
{
    if (s->has_weights)
        return 0;
    return qsdc_fail(e, "%s: the session has no weights yet: open it with a checkpoint, "
                     "or call qsdc_session_load, qsdc_session_init_weights or a training "
                     "call first", s->m.path);
}

/* Drops any pending optimiser state, then keeps *state pending (taking it)
 * when the session's state has no room of its size; *zeros gets n_state
 * zeros for the session's state when *state is not written to it (NULL
 * when the session's state is empty). */
static int set_state(qsdc_session *s, float **state, int64_t n_state, float **zeros,
                     qsdc_error *e)
{
    free(s->pending_state);
    s->pending_state = NULL;
    s->pending_n = 0;
    if (state && *state && n_state > 0 && n_state != s->ms.n_state) {
        /* no room for it yet: the training plan's state will take it */
        s->pending_state = *state;
        s->pending_n = n_state;
        *state = NULL;
    }
    *zeros = NULL;
    if (s->ms.n_state > 0 && !(state && *state && n_state == s->ms.n_state)) {
        *zeros = calloc((size_t)s->ms.n_state, sizeof **zeros);
        if (!*zeros)
            return qsdc_fail(e, "out of memory");
    }
    return 0;
}

int session_set_weights(qsdc_session *s, const float *params, float **state, int64_t n_state,
                        qsdc_error *e)
{
    float *zeros;
    if (set_state(s, state, n_state, &zeros, e) < 0)
        return -1;
    const float *st = zeros ? zeros : state && *state && n_state == s->ms.n_state ? *state
                                                                                   : NULL;
    int rc = model_state_write(&s->env, &s->ms, params, st, e);
    free(zeros);
    if (rc == 0)
        s->has_weights = true;
    return rc;
}

/* The default initialisation from seed, with the weights of an ONNX file
 * (w, or NULL) over it, as the session's weights. */
static int set_initial_weights(qsdc_session *s, uint64_t seed, const onnx_params *w,
                               qsdc_error *e)
{
    float *params = malloc((size_t)s->ep.param_elems * sizeof *params);
    if (!params)
        return qsdc_fail(e, "out of memory");
    params_init(&s->ep, seed, params);
    int rc = w ? onnx_params_place(w, &s->ep, s->m.path, params, e) : 0;
    if (rc == 0)
        rc = session_set_weights(s, params, NULL, 0, e);
    free(params);
    return rc;
}

int session_init_weights(qsdc_session *s, uint64_t seed, qsdc_error *e)
{
    int rc = set_initial_weights(s, seed, NULL, e);
    if (rc == 0)
        s->epoch = s->step = 0;
    return rc;
}

bool session_ends_in_softmax(const qsdc_session *s)
{
    return model_ends_in_softmax(&s->m);
}

/* Marks the session unusable with e's message; returns -1. */
static int session_break(qsdc_session *s, qsdc_error *e)
{
    s->broken = true;
    s->broken_why = *e;
    return -1;
}

int session_ensure_training(qsdc_session *s, qsdc_error *e)
{
    if (s->train_ready)
        return 0;
    const char *bundle = s->bundle[0] ? s->bundle : NULL;
    if (plan_for_device(&s->env, &s->m, bundle, MODE_TRAIN, s->ep.batch, &s->tp, e) < 0)
        return -1;
    int rc = s->tp.label_elems == s->tp.batch
                 ? exec_check_memory(&s->env.dev, (const plan *[]){&s->tp, &s->ep}, 2, e)
                 : qsdc_fail(e, "%s: the model's output is a sequence (%lld targets per "
                             "batch of %lld): the session trains classifiers only "
                             "(qsdc_session_train trains it on its corpus)", s->m.path,
                             (long long)s->tp.label_elems, (long long)s->tp.batch);
    float *params = NULL;
    if (rc == 0 && s->has_weights) {
        params = malloc((size_t)s->ep.param_elems * sizeof *params);
        rc = params ? model_state_read(&s->env, &s->ms, params, NULL, e)
                    : qsdc_fail(e, "out of memory");
    }
    if (rc < 0) {
        free(params);
        plan_free(&s->tp);
        return -1;
    }
    /* from here a failure leaves no working executor behind */
    exec_destroy(&s->ex);
    model_state_free(&s->ms);
    s->train_ready = true; /* tp and tx are freed with the session */
    rc = model_state_create(&s->env, s->tp.param_elems, s->tp.state_elems, &s->ms, e);
    if (rc == 0 && params) {
        float *state = s->pending_state;
        s->pending_state = NULL;
        rc = session_set_weights(s, params, &state, s->pending_n, e);
        free(state);
    }
    free(params);
    bool inference = s->ex_ready;
    s->ex_ready = false;
    if (rc == 0 && inference)
        rc = session_ensure_inference(s, e);
    if (rc == 0)
        rc = exec_create(&s->env, &s->tp, &s->ms, &s->tx, e);
    return rc < 0 ? session_break(s, e) : 0;
}

int session_ensure_inference(qsdc_session *s, qsdc_error *e)
{
    if (s->ex_ready)
        return 0;
    if (exec_create_from(&s->env, &s->ep, &s->ms, s->binary[0] ? s->binary : NULL, &s->ex,
                         e) < 0)
        return -1;
    s->ex_ready = true;
    return 0;
}

static int load_weights(qsdc_session *s, const char *dir, qsdc_error *e)
{
    if (!dir || !dir[0])
        return qsdc_fail(e, "no checkpoint folder given");
    checkpoint ck;
    if (checkpoint_load_weights(dir, train_model_hash(&s->m, &s->ep), s->ep.param_elems, &ck,
                                e) < 0)
        return -1;
    int rc = session_set_weights(s, ck.params, &ck.state, ck.n_state, e);
    if (rc == 0) {
        s->epoch = ck.epoch;
        s->step = ck.step;
        snprintf(s->checkpoint, sizeof s->checkpoint, "%s", dir);
    }
    checkpoint_free(&ck);
    return rc;
}

int session_model_path(const char *path, char out[QSDC_PATH_MAX], bool *is_bundle,
                       qsdc_error *e)
{
    if (strlen(path) + sizeof "/" BUNDLE_MODEL > QSDC_PATH_MAX)
        return qsdc_fail(e, "%.64s...: path too long", path);
    *is_bundle = bundle_is_dir(path);
    if (*is_bundle)
        bundle_model_path(path, out, QSDC_PATH_MAX);
    else
        snprintf(out, QSDC_PATH_MAX, "%s", path);
    return 0;
}

/* The model file of path (itself, or a bundle's model.yaml) into s. */
static int load_model(qsdc_session *s, const char *path, qsdc_error *e)
{
    char model_path[QSDC_PATH_MAX];
    bool is_bundle;
    if (session_model_path(path, model_path, &is_bundle, e) < 0)
        return -1;
    if (is_bundle)
        snprintf(s->bundle, sizeof s->bundle, "%s", path);
    return model_load(model_path, &s->m, e);
}

/* The inference plan at batch: the bundle's, or compiled for the device. A
 * program binary (without a bundle) holds the generated GEMM kernels, as
 * --emit-binary compiles them: no CLBlast launches then. */
static int inference_plan(qsdc_session *s, int64_t batch, qsdc_error *e)
{
    const char *bundle = s->bundle[0] ? s->bundle : NULL;
    if (!s->binary[0] || bundle)
        return plan_for_device(&s->env, &s->m, bundle, MODE_INFER, batch, &s->ep, e);
    codegen_target target;
    exec_target(&s->env.dev, &target);
    return compile_plan(&s->m, MODE_INFER, batch, &target, &s->ep, NULL, NULL, e);
}

/* path, or else (NULL) a copy of q, as the session's model. */
static int session_setup(qsdc_session *s, const char *path, const qsdc_model *q,
                         const qsdc_open_options *o, qsdc_error *e)
{
    if (!q && (!path || !path[0]))
        return qsdc_fail(e, "qsdc_session_open: no model path given");
    if (o && o->batch < 0)
        return qsdc_fail(e, "qsdc_session_open: batch %lld is negative (0: the model's)",
                         (long long)o->batch);
    const char *device = o && o->device && o->device[0] ? o->device : NULL;
    if (device && strlen(device) >= sizeof s->device)
        return qsdc_fail(e, "device spec too long: %.64s...", device);
    snprintf(s->device, sizeof s->device, "%s", device ? device : "");
    const char *binary = o && o->program_binary && o->program_binary[0] ? o->program_binary
                                                                          : NULL;
    if (binary && strlen(binary) >= sizeof s->binary)
        return qsdc_fail(e, "%.64s...: path too long", binary);
    snprintf(s->binary, sizeof s->binary, "%s", binary ? binary : "");
    /* an ONNX file brings its weights, placed once the plan is made */
    size_t len = path ? strlen(path) : 0;
    bool onnx = !q && len > 5 && strcmp(path + len - 5, ".onnx") == 0;
    onnx_params w = {0};
    if ((q ? model_copy(&q->m, &s->m, e) : onnx ? onnx_import(path, &s->m, &w, e)
                                               : load_model(s, path, e)) < 0)
        return -1;
    s->model_loaded = true;
    int64_t batch = o && o->batch > 0 ? o->batch : s->m.train.batch;
    s->profiling = o && o->profiling;
    int rc = 0;
    if (cl_env_open(device, s->profiling, &s->env, e) < 0 || device_self_check(&s->env, e) < 0 ||
        inference_plan(s, batch, e) < 0 ||
        model_state_create(&s->env, s->ep.param_elems, 0, &s->ms, e) < 0 ||
        (binary && session_ensure_inference(s, e) < 0)) /* a bad binary fails here */
        rc = -1;
    else if (onnx)
        rc = set_initial_weights(s, s->m.train.seed, &w, e);
    onnx_params_free(&w);
    if (rc == 0 && o && o->checkpoint)
        rc = load_weights(s, o->checkpoint, e);
    return rc;
}

static int session_open(const char *path, const qsdc_model *q, const qsdc_open_options *o,
                        qsdc_session **out, qsdc_error *err)
{
    qsdc_error e = {""};
    if (!out)
        return session_finish(NULL, qsdc_fail(&e, "qsdc_session_open: out is NULL"), &e, err);
    *out = NULL;
    qsdc_session *s = calloc(1, sizeof *s);
    if (!s)
        return session_finish(NULL, qsdc_fail(&e, "out of memory"), &e, err);
    if (session_setup(s, path, q, o, &e) < 0) {
        qsdc_session_close(s);
        return session_finish(NULL, -1, &e, err);
    }
    *out = s;
    return session_finish(s, 0, &e, err);
}

int qsdc_session_open(const char *path, const qsdc_open_options *o, qsdc_session **out,
                      qsdc_error *err)
{
    return session_open(path, NULL, o, out, err);
}

int qsdc_session_open_model(const qsdc_model *m, const qsdc_open_options *o,
                            qsdc_session **out, qsdc_error *err)
{
    if (!m) {
        qsdc_error e = {""};
        return session_finish(NULL, qsdc_fail(&e, "qsdc_session_open_model: m is NULL"), &e,
                              err);
    }
    return session_open(NULL, m, o, out, err);
}

void qsdc_session_close(qsdc_session *s)
{
    if (!s)
        return;
    exec_destroy(&s->tx);
    exec_destroy(&s->ex);
    model_state_free(&s->ms);
    plan_free(&s->tp);
    plan_free(&s->ep);
    cl_env_close(&s->env);
    if (s->model_loaded)
        model_free(&s->m);
    free(s->pending_state);
    free(s);
}

const char *qsdc_session_last_error(const qsdc_session *s)
{
    return s ? s->last.message : "the session is NULL (qsdc_session_open failed?)";
}

int qsdc_session_get_info(qsdc_session *s, qsdc_session_info *out, qsdc_error *err)
{
    qsdc_error e = {""};
    if (session_usable(s, &e) < 0 || (!out && qsdc_fail(&e, "qsdc_session_get_info: out "
                                                       "is NULL") < 0))
        return session_finish(s, -1, &e, err);
    memset(out, 0, sizeof *out);
    snprintf(out->model, sizeof out->model, "%s", s->m.name);
    snprintf(out->device, sizeof out->device, "%s", s->env.dev.name);
    snprintf(out->platform, sizeof out->platform, "%s", s->env.dev.platform_name);
    out->input_rank = s->m.input_rank;
    for (int i = 0; i < s->m.input_rank && i < 4; i++)
        out->input_shape[i] = s->m.input_shape[i];
    out->batch = s->ep.batch;
    out->input_size = s->ep.input_elems / s->ep.batch;
    out->output_size = s->ep.output_elems / s->ep.batch;
    out->output_is_probabilities = session_ends_in_softmax(s);
    out->n_params = s->ep.param_elems;
    out->has_weights = s->has_weights;
    out->steps = (int64_t)s->step;
    out->seed = s->m.train.seed;
    if (session_ensure_inference(s, &e) < 0)
        return session_finish(s, -1, &e, err);
    snprintf(out->program, sizeof out->program, "%s", s->ex.from_binary ? "from binary"
                                                      : s->ex.cache_hit ? "from cache"
                                                                        : "built");
    return session_finish(s, 0, &e, err);
}

int qsdc_session_init_weights(qsdc_session *s, uint64_t seed, qsdc_error *err)
{
    qsdc_error e = {""};
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = session_init_weights(s, seed, &e);
    return session_finish(s, rc, &e, err);
}

int qsdc_session_load(qsdc_session *s, const char *dir, qsdc_error *err)
{
    qsdc_error e = {""};
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = load_weights(s, dir, &e);
    return session_finish(s, rc, &e, err);
}

static int save_weights(qsdc_session *s, const char *dir, qsdc_error *e)
{
    if (!dir || !dir[0])
        return qsdc_fail(e, "no checkpoint folder given");
    if (session_need_weights(s, e) < 0)
        return -1;
    int64_t n_state = s->ms.n_state > 0 ? s->ms.n_state : s->pending_n;
    float *params = malloc((size_t)s->ep.param_elems * sizeof *params);
    float *state = s->ms.n_state > 0 ? malloc((size_t)n_state * sizeof *state) : NULL;
    int rc = !params || (s->ms.n_state > 0 && !state) ? qsdc_fail(e, "out of memory")
             : model_state_read(&s->env, &s->ms, params, state, e);
    checkpoint ck = {.model_hash = train_model_hash(&s->m, &s->ep), .epoch = s->epoch,
                     .step = s->step, .seed = s->m.train.seed,
                     .batch = (uint64_t)s->m.train.batch, .n_params = s->ep.param_elems,
                     .params = params, .n_state = n_state,
                     .state = state ? state : s->pending_state};
    if (rc == 0)
        rc = checkpoint_save(dir, &ck, e);
    free(params);
    free(state);
    return rc;
}

int qsdc_session_save(qsdc_session *s, const char *dir, qsdc_error *err)
{
    qsdc_error e = {""};
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = save_weights(s, dir, &e);
    return session_finish(s, rc, &e, err);
}
