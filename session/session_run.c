/* Sessions (include/qsdc.h): predict, evaluate and train on caller arrays,
 * and data files. Every pass runs a compiled plan on the session's device
 * (eval_batch for the inference plan, exec_run for a training step); the
 * host only gathers batches and scores the outputs it reads back. */
#include "session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "evaluate.h"
#include "init.h"
#include "progress.h"
#include "train_lm.h"

static int64_t sample_size(const qsdc_session *s)
{
    return s->ep.input_elems / s->ep.batch;
}

static int64_t output_size(const qsdc_session *s)
{
    return s->ep.output_elems / s->ep.batch;
}

/* Checks a caller's n samples: x of x_len floats holds them, and labels,
 * when want_labels, are classes of the model; then wraps them as a data set
 * (read only: gather_batch never writes a data set). */
static int wrap_arrays(const qsdc_session *s, const char *call, const float *x, size_t x_len,
                       const int32_t *labels, bool want_labels, int64_t n, dataset *d,
                       qsdc_error *e)
{
    int64_t elems = sample_size(s), classes = output_size(s);
    if (!x)
        return qsdc_fail(e, "%s: x is NULL", call);
    if (want_labels && !labels)
        return qsdc_fail(e, "%s: labels is NULL", call);
    if (n < 1)
        return qsdc_fail(e, "%s: n is %lld; give at least 1 sample", call, (long long)n);
    if ((uint64_t)n > SIZE_MAX / sizeof(float) / (uint64_t)elems ||
        x_len < (size_t)n * (size_t)elems)
        return qsdc_fail(e, "%s: x holds %zu floats; %lld samples of %lld floats (the "
                         "model's input) need %lld", call, x_len, (long long)n,
                         (long long)elems, (long long)n * (long long)elems);
    for (int64_t i = 0; want_labels && i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return qsdc_fail(e, "%s: labels[%lld] is %d, outside the model's %lld classes "
                             "[0, %lld)", call, (long long)i, (int)labels[i],
                             (long long)classes, (long long)classes);
    memset(d, 0, sizeof *d);
    d->count = n;
    d->rank = 1;
    d->dims[0] = elems;
    d->sample_elems = elems;
    d->x = (float *)x;
    d->y = want_labels ? (int32_t *)labels : NULL;
    return 0;
}

/* The inference plan over d in batches: outputs to out when not NULL,
 * accuracy and loss to r when d has labels. */
static int forward(qsdc_session *s, const dataset *d, float *out, qsdc_eval_result *r,
                   qsdc_error *e)
{
    int64_t batch = s->ep.batch, classes = output_size(s);
    float *x = malloc((size_t)s->ep.input_elems * sizeof *x);
    float *o = malloc((size_t)s->ep.output_elems * sizeof *o);
    int32_t *y = malloc((size_t)batch * sizeof *y);
    int rc = x && o && y ? session_ensure_inference(s, e) : qsdc_fail(e, "out of memory");
    bool probs = session_ends_in_softmax(s);
    double t0 = now_seconds(), loss = 0;
    int64_t correct = 0;
    for (int64_t i0 = 0; rc == 0 && i0 < d->count; i0 += batch) {
        int64_t count = d->count - i0 < batch ? d->count - i0 : batch;
        rc = eval_batch(&s->ex, d, NULL, i0, count, x, o, y, &correct, e);
        if (rc == 0 && out)
            memcpy(out + i0 * classes, o, (size_t)(count * classes) * sizeof *o);
        for (int64_t b = 0; rc == 0 && d->y && b < count; b++)
            loss += eval_sample_loss(o + b * classes, classes, y[b], probs);
    }
    free(x);
    free(o);
    free(y);
    if (rc == 0 && r) {
        memset(r, 0, sizeof *r);
        r->count = d->count;
        r->correct = correct;
        r->accuracy = 100.0 * (double)correct / (double)d->count;
        r->loss = loss / (double)d->count;
        r->seconds = now_seconds() - t0;
    }
    return rc;
}

int qsdc_session_predict(qsdc_session *s, const float *x, size_t x_len, int64_t n, float *out,
                         size_t out_len, qsdc_error *err)
{
    qsdc_error e = {""};
    dataset d;
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = wrap_arrays(s, "qsdc_session_predict", x, x_len, NULL, false, n, &d, &e);
    int64_t need = rc == 0 ? n * output_size(s) : 0;
    if (rc == 0 && !out)
        rc = qsdc_fail(&e, "qsdc_session_predict: out is NULL");
    if (rc == 0 && out_len < (size_t)need)
        rc = qsdc_fail(&e, "qsdc_session_predict: out holds %zu floats; %lld samples of "
                       "%lld outputs need %lld", out_len, (long long)n,
                       (long long)output_size(s), (long long)need);
    if (rc == 0)
        rc = session_need_weights(s, &e);
    if (rc == 0)
        rc = forward(s, &d, out, NULL, &e);
    return session_finish(s, rc, &e, err);
}

int qsdc_session_evaluate_arrays(qsdc_session *s, const float *x, size_t x_len,
                                 const int32_t *labels, int64_t n, qsdc_eval_result *out,
                                 qsdc_error *err)
{
    qsdc_error e = {""};
    dataset d;
    qsdc_eval_result r;
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = wrap_arrays(s, "qsdc_session_evaluate_arrays", x, x_len, labels, true, n, &d,
                         &e);
    if (rc == 0)
        rc = session_need_weights(s, &e);
    if (rc == 0)
        rc = forward(s, &d, NULL, &r, &e);
    if (rc == 0 && out)
        *out = r;
    return session_finish(s, rc, &e, err);
}

static int evaluate_idx(qsdc_session *s, const char *images, const char *labels,
                        qsdc_eval_result *r, qsdc_error *e)
{
    if (!images)
        return qsdc_fail(e, "qsdc_session_evaluate_idx: images is NULL");
    if (session_need_weights(s, e) < 0)
        return -1;
    dataset d;
    qsdc_data_options o = {.labels = labels};
    memset(&d, 0, sizeof d);
    int rc = session_load_data(s, images, &o, &d, e);
    if (rc == 0)
        rc = forward(s, &d, NULL, r, e);
    dataset_free(&d);
    return rc;
}

int qsdc_session_evaluate_idx(qsdc_session *s, const char *images, const char *labels,
                              qsdc_eval_result *out, qsdc_error *err)
{
    qsdc_error e = {""};
    qsdc_eval_result r;
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = evaluate_idx(s, images, labels, &r, &e);
    if (rc == 0 && out)
        *out = r;
    return session_finish(s, rc, &e, err);
}

/* A language model: the perplexity of its corpus's test split. */
static int evaluate_corpus(qsdc_session *s, qsdc_eval_result *r, qsdc_error *e)
{
    lm_source lm;
    memset(&lm, 0, sizeof lm);
    double t0 = now_seconds(), ppl = NAN;
    int rc = lm_source_open(&lm, &s->m, &s->ep, e);
    if (rc == 0)
        rc = lm_split_check(&lm, s->m.train.text_path, TEXT_TEST, "no perplexity to report", e);
    if (rc == 0)
        rc = session_ensure_inference(s, e);
    if (rc == 0)
        rc = lm_perplexity(&lm, &s->ex, &s->ms, TEXT_TEST, &ppl, e);
    if (rc == 0) {
        memset(r, 0, sizeof *r);
        r->count = lm_source_batches(&lm, TEXT_TEST) * lm.batch * lm.steps;
        r->perplexity = ppl;
        r->loss = log(ppl);
        r->seconds = now_seconds() - t0;
    }
    lm_source_free(&lm);
    return rc;
}

static int evaluate_test(qsdc_session *s, qsdc_eval_result *r, qsdc_error *e)
{
    if (session_need_weights(s, e) < 0)
        return -1;
    if (s->m.train.format == DATA_TEXT && data_has_test(&s->m.train))
        return evaluate_corpus(s, r, e);
    dataset d;
    int rc = session_load_test_data(s, &d, e);
    if (rc == 0)
        rc = forward(s, &d, NULL, r, e);
    dataset_free(&d);
    return rc;
}

int qsdc_session_evaluate(qsdc_session *s, qsdc_eval_result *out, qsdc_error *err)
{
    qsdc_error e = {""};
    qsdc_eval_result r;
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = evaluate_test(s, &r, &e);
    if (rc == 0 && out)
        *out = r;
    return session_finish(s, rc, &e, err);
}

/* Steps over caller samples: per epoch a shuffle keyed by (seed, step),
 * then n / batch steps of the training plan. */
typedef struct fit {
    qsdc_session *s;
    const dataset *d;
    lr_schedule sched;     /* the training plan's, with the options' epochs and lr */
    uint64_t seed;
    int64_t steps_per_epoch, max_steps, done;
    const qsdc_fit_options *o;  /* for its progress callback; may be NULL */
    int64_t *order;
    float *x, *loss;
    int32_t *y;
} fit;

static int fit_step(fit *f, int64_t b, double *loss_sum, qsdc_error *e)
{
    qsdc_session *s = f->s;
    int64_t batch = s->tp.batch;
    gather_batch(f->d, f->order, b * batch, batch, batch, f->x, f->y);
    float lr = (float)train_lr_at(&f->sched, f->done, f->steps_per_epoch);
    if (exec_set_batch(&s->tx, f->x, f->y, e) < 0 ||
        exec_run(&s->tx, (uint32_t)f->seed, (uint32_t)s->step, lr, e) < 0 ||
        exec_read_arena(&s->tx, s->tp.loss_offset, s->tp.label_elems, f->loss, e) < 0)
        return -1;
    double sum = 0;
    for (int64_t i = 0; i < s->tp.label_elems; i++)
        sum += f->loss[i];
    if (!isfinite(sum))
        return qsdc_fail(e, "training diverged: the loss is not finite at step %llu; try a "
                         "smaller lr", (unsigned long long)s->step);
    *loss_sum += sum / (double)s->tp.label_elems;
    s->step++;
    f->done++;
    return 0;
}

static int fit_epochs(fit *f, qsdc_train_result *r, qsdc_error *e)
{
    qsdc_session *s = f->s;
    double t0 = now_seconds();
    int rc = 0;
    for (int64_t ep = 0; rc == 0 && ep < f->sched.epochs && !r->interrupted; ep++) {
        if (f->max_steps > 0 && f->done >= f->max_steps)
            break;
        /* keyed by the step reached, which a checkpoint keeps: a session
         * reopened from one shuffles as the saved one would have */
        philox_permutation(f->seed, 0x80000000u | (uint32_t)(s->step & 0x7fffffffu), f->order,
                           f->d->count);
        double loss = 0;
        int64_t b = 0;
        for (; rc == 0 && b < f->steps_per_epoch && !r->interrupted; b++) {
            if (f->max_steps > 0 && f->done >= f->max_steps)
                break;
            rc = fit_step(f, b, &loss, e);
            if (rc == 0 && f->o && f->o->progress)
                r->interrupted = f->o->progress(f->o->progress_ctx, ep, b + 1,
                                                f->steps_per_epoch, loss / (double)(b + 1)) != 0;
        }
        if (rc == 0 && b > 0)
            r->train_loss = loss / (double)b;
        if (rc == 0 && b == f->steps_per_epoch) {
            r->epochs_done++;
            s->epoch++;
        }
    }
    r->steps = f->done;
    r->seconds = now_seconds() - t0;
    r->samples_per_s = r->seconds > 0 ? (double)(f->done * s->tp.batch) / r->seconds : 0;
    return rc;
}

static int check_fit_options(const qsdc_fit_options *o, qsdc_error *e)
{
    if (o && o->epochs < 0)
        return qsdc_fail(e, "qsdc_session_train_arrays: epochs is %lld (0: one)",
                         (long long)o->epochs);
    if (o && (!isfinite(o->lr) || o->lr < 0))
        return qsdc_fail(e, "qsdc_session_train_arrays: lr %g is not a finite rate >= 0 "
                         "(0: the model's)", o->lr);
    if (o && o->max_steps < 0)
        return qsdc_fail(e, "qsdc_session_train_arrays: max_steps is %lld (0: no limit)",
                         (long long)o->max_steps);
    return 0;
}

static int train_arrays(qsdc_session *s, const float *x, size_t x_len, const int32_t *labels,
                        int64_t n, const qsdc_fit_options *o, qsdc_train_result *r,
                        qsdc_error *e)
{
    dataset d;
    if (check_fit_options(o, e) < 0 ||
        wrap_arrays(s, "qsdc_session_train_arrays", x, x_len, labels, true, n, &d, e) < 0)
        return -1;
    if (n < s->ep.batch)
        return qsdc_fail(e, "qsdc_session_train_arrays: %lld samples, fewer than one batch "
                         "of %lld", (long long)n, (long long)s->ep.batch);
    if (session_ensure_training(s, e) < 0 ||
        (!s->has_weights && session_init_weights(s, s->m.train.seed, e) < 0))
        return -1;
    fit f = {.s = s, .d = &d, .sched = s->tp.schedule, .seed = s->m.train.seed,
             .steps_per_epoch = n / s->tp.batch, .max_steps = o ? o->max_steps : 0, .o = o};
    f.sched.epochs = o && o->epochs > 0 ? o->epochs : 1;
    if (o && o->lr > 0)
        f.sched.lr = o->lr;
    if (o && o->seed_set)
        f.seed = o->seed;
    f.order = malloc((size_t)n * sizeof *f.order);
    f.x = malloc((size_t)s->tp.input_elems * sizeof *f.x);
    f.y = malloc((size_t)s->tp.label_elems * sizeof *f.y);
    f.loss = malloc((size_t)s->tp.label_elems * sizeof *f.loss);
    memset(r, 0, sizeof *r);
    int rc = f.order && f.x && f.y && f.loss ? fit_epochs(&f, r, e)
                                             : qsdc_fail(e, "out of memory");
    free(f.order);
    free(f.x);
    free(f.y);
    free(f.loss);
    return rc;
}

int qsdc_session_train_arrays(qsdc_session *s, const float *x, size_t x_len,
                              const int32_t *labels, int64_t n, const qsdc_fit_options *o,
                              qsdc_train_result *out, qsdc_error *err)
{
    qsdc_error e = {""};
    qsdc_train_result r;
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = train_arrays(s, x, x_len, labels, n, o, &r, &e);
    if (rc == 0 && out)
        *out = r;
    return session_finish(s, rc, &e, err);
}

int qsdc_data_load_idx(const char *images, const char *labels, qsdc_data *out,
                       qsdc_error *err)
{
    qsdc_error e = {""};
    if (!out || !images)
        return session_finish(NULL, qsdc_fail(&e, "qsdc_data_load_idx: %s is NULL",
                                              out ? "images" : "out"), &e, err);
    memset(out, 0, sizeof *out);
    dataset d;
    int rc = idx_load(images, labels, 0, &d, &e);
    if (rc == 0) {
        *out = (qsdc_data){.count = d.count, .sample_size = d.sample_elems, .x = d.x,
                           .labels = d.y};
    }
    return session_finish(NULL, rc, &e, err);
}

void qsdc_data_free(qsdc_data *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->labels);
    memset(d, 0, sizeof *d);
}
