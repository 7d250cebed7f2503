/* Sessions (include/qsdc.h): training on the model's data. The run is
 * train_model's, as qsdc_train and `qsdc train` make it (data, schedule,
 * validation and checkpoints), on the session's device context and, at the
 * session's batch, with its inference plan; the training plan, its model
 * state (with the optimiser's moments) and executors are the run's. The
 * session gives it its weights to start from and takes the trained ones
 * back into its own state. */
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

void session_train_options(const qsdc_train_options *o, train_options *t)
{
    memset(t, 0, sizeof *t);
    if (!o)
        return;
    t->device = o->device;
    t->epochs = o->epochs;
    t->batch = o->batch;
    t->seed_set = o->seed_set != 0;
    t->seed = o->seed;
    t->lr = o->lr;
    t->checkpoint_dir = o->checkpoint_dir;
    t->resume = o->resume != 0;
    t->metrics_path = o->metrics_path;
    t->max_steps = o->max_steps;
    t->quiet = o->quiet != 0;
    t->check_finite = o->check_finite != 0;
    t->devices = o->devices;
    t->stop = o->stop;
    t->train_samples = o->train_samples;
    t->test_samples = o->test_samples;
    t->train_subset = o->train_subset;
    t->keep_existing = o->keep_existing != 0;
    t->early_stop = o->early_stop;
    t->keep_best = o->keep_best != 0;
    t->metrics_every = o->metrics_every;
}

void session_train_result(const train_summary *s, qsdc_train_result *out)
{
    *out = (qsdc_train_result){s->epochs_done, s->steps, s->train_loss, s->val_accuracy,
                               s->test_accuracy, s->seconds, s->samples_per_s,
                               s->interrupted, s->train_samples, s->test_samples,
                               s->test_perplexity};
}

/* What the after_train hook copies out of the finished run. */
typedef struct trained {
    float *params, *state;
    int64_t n_params, n_state;
} trained;

static int take_trained(void *ctx, const train_context *tc, qsdc_error *err)
{
    trained *w = ctx;
    w->n_params = tc->train_plan->param_elems;
    w->n_state = tc->train_plan->state_elems;
    w->params = malloc((size_t)w->n_params * sizeof *w->params);
    w->state = w->n_state > 0 ? malloc((size_t)w->n_state * sizeof *w->state) : NULL;
    if (!w->params || (w->n_state > 0 && !w->state))
        return qsdc_fail(err, "out of memory");
    return model_state_read(tc->env, tc->state, w->params, w->state, err);
}

static int saved_position(qsdc_session *s, const char *dir, qsdc_error *e)
{
    checkpoint ck;
    if (checkpoint_load(dir, &ck, e) < 0)
        return -1;
    s->epoch = ck.epoch;
    s->step = ck.step;
    checkpoint_free(&ck);
    return 0;
}

static int check_device(const qsdc_session *s, const qsdc_train_options *o, qsdc_error *e)
{
    if (o && o->devices)
        return qsdc_fail(e, "qsdc_session_train: options.devices is \"%s\": a session "
                         "trains on its own device (qsdc_train trains on several)",
                         o->devices);
    if (!o || !o->device || strcmp(o->device, s->device) == 0)
        return 0;
    return qsdc_fail(e, "qsdc_session_train: options.device is \"%s\" but the session runs "
                     "on %s (\"%s\"): leave it NULL, the session trains on its own device",
                     o->device, s->env.dev.name, s->device);
}

static int session_train(qsdc_session *s, const qsdc_train_options *o, qsdc_train_result *out,
                         qsdc_error *e)
{
    if (check_device(s, o, e) < 0)
        return -1;
    train_options t;
    session_train_options(o, &t);
    t.env = &s->env;
    t.bundle = s->bundle[0] ? s->bundle : NULL;
    /* a plan compiled for a program binary leaves out the device's tuning
     * (session.c's inference_plan): the run compiles its own then */
    if (!s->binary[0] || s->bundle[0])
        t.infer_plan = &s->ep;
    trained w = {0};
    t.after_train = take_trained;
    t.hook_ctx = &w;
    float *start = NULL;
    if (s->has_weights && !t.resume) {
        start = malloc((size_t)s->ep.param_elems * sizeof *start);
        if (!start)
            return qsdc_fail(e, "out of memory");
        if (model_state_read(&s->env, &s->ms, start, NULL, e) < 0) {
            free(start);
            return -1;
        }
        t.init_params = start;
    }
    /* the options override the model's train: section for this run only */
    train_config saved = s->m.train;
    train_summary sum;
    int rc = train_model(&s->m, &t, &sum, e);
    s->m.train = saved;
    free(start);
    if (rc == 0 && sum.interrupted) {
        /* no trained weights come back: the session keeps its own */
        if (out)
            session_train_result(&sum, out);
        return 0;
    }
    if (rc == 0 && !w.params)
        rc = qsdc_fail(e, "qsdc_session_train: the run ended without trained weights");
    if (rc == 0 && w.n_params != s->ep.param_elems)
        rc = qsdc_fail(e, "qsdc_session_train: the run trained %lld parameters, the "
                       "session holds %lld", (long long)w.n_params,
                       (long long)s->ep.param_elems);
    if (rc == 0)
        rc = session_set_weights(s, w.params, &w.state, w.n_state, e);
    if (rc == 0) {
        s->epoch = (uint64_t)sum.epochs_done;
        s->step = (uint64_t)sum.steps;
        /* the weights belong to the run's seed: it drew the data's splits
         * (a sentiment task's test rows and vocabulary), so evaluation,
         * prediction and the checkpoint's header follow it */
        if (t.seed_set)
            s->m.train.seed = t.seed;
        /* a resumed run counted its steps from the checkpoint's: the one it
         * saved last holds the total */
        if (t.resume)
            rc = saved_position(s, t.checkpoint_dir, e);
    }
    if (rc == 0) {
        if (out)
            session_train_result(&sum, out);
    }
    free(w.params);
    free(w.state);
    return rc;
}

int qsdc_session_train(qsdc_session *s, const qsdc_train_options *o, qsdc_train_result *out,
                       qsdc_error *err)
{
    qsdc_error e = {""};
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = session_train(s, o, out, &e);
    return session_finish(s, rc, &e, err);
}
