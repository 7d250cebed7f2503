#include "train.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "augment.h"
#include "bundle_load.h"
#include "check_finite.h"
#include "checkpoint.h"
#include "compile.h"
#include "data.h"
#include "device_check.h"
#include "device_lost.h"
#include "evaluate.h"
#include "device_tuner.h"
#include "init.h"
#include "progress.h"
#include "replicas.h"
#include "step_pipe.h"
#include "train_lm.h"

void train_apply_overrides(model *m, const train_options *o)
{
    train_config *t = &m->train;
    if (o->epochs > 0)
        t->epochs = o->epochs;
    if (o->batch > 0)
        t->batch = o->batch;
    if (o->seed_set)
        t->seed = o->seed;
    if (o->lr > 0)
        t->lr = o->lr;
}

typedef struct trainer {
    model *m;
    const train_options *o;
    cl_env env;
    plan tp, ep;
    model_state ms;
    executor tx, ex;
    finite_check fc;    /* with --check-finite */
    replicas rep;       /* this process's shard of every batch, over its devices */
    dataset train, test;
    lm_source *lm;      /* a text corpus (language modelling), else NULL */
    int64_t *perm, n_val, n_train, steps;
    step_pipe pipe;
    float *host_params, *host_state;
    FILE *metrics;
    int checkpoint_lock; /* checkpoint_claim_dir's, -1 when none is held */
    double t_entry;     /* train_model's start, for the time to the first step */
    bool first_done;
} trainer;

/* A language model's corpus: steps whole batches of contiguous streams. */
static int load_corpus(trainer *t, qsdc_error *err)
{
    t->lm = malloc(sizeof *t->lm);
    if (!t->lm)
        return qsdc_fail(err, "out of memory");
    if (lm_source_open(t->lm, t->m, &t->tp, err) < 0)
        return -1;
    if (t->o->train_subset > 0)
        return qsdc_fail(err, "%s: a training subset draws samples, and a language model's "
                              "corpus is streams of tokens: limit it to its first sequences "
                              "instead (train_samples)",
                         t->m->train.text_path);
    lm_source_limit(t->lm, t->o->train_samples, t->o->test_samples);
    t->steps = lm_source_batches(t->lm, TEXT_TRAIN);
    t->n_train = t->steps * t->lm->batch; /* sequences of `steps` tokens */
    const char *path = t->m->train.text_path;
    if (lm_split_check(t->lm, path, TEXT_TRAIN, "nothing to train on", err) < 0)
        return -1;
    /* a split without a whole batch has no perplexity: said once here, and
     * the epoch lines leave it out rather than print nan */
    qsdc_error note;
    if (lm_split_check(t->lm, path, TEXT_VALID, "no validation perplexity", &note) < 0)
        fprintf(stderr, "qsdc: note: %s\n", note.message);
    if (lm_split_check(t->lm, path, TEXT_TEST, "no test perplexity", &note) < 0)
        fprintf(stderr, "qsdc: note: %s\n", note.message);
    return 0;
}

/* Keeps n of d's samples, drawn by the seed (their order in d kept): the
 * small-data regime from a larger file, the same samples for every run of
 * one seed. */
static int keep_subset(dataset *d, uint64_t seed, int64_t n, qsdc_error *err)
{
    int64_t *perm = malloc((size_t)d->count * sizeof *perm);
    bool *kept = calloc((size_t)d->count, sizeof *kept);
    if (!perm || !kept) {
        free(perm);
        free(kept);
        return qsdc_fail(err, "out of memory");
    }
    philox_permutation(seed, 0x5b5e7u, perm, d->count);
    for (int64_t i = 0; i < n; i++)
        kept[perm[i]] = true;
    int64_t to = 0;
    size_t elems = (size_t)d->sample_elems;
    for (int64_t from = 0; from < d->count; from++) {
        if (!kept[from])
            continue;
        /* to <= from: moving down in place never overwrites a sample to keep */
        memmove(d->x + (size_t)to * elems, d->x + (size_t)from * elems,
                elems * sizeof *d->x);
        if (d->y)
            d->y[to] = d->y[from];
        to++;
    }
    d->count = n;
    free(perm);
    free(kept);
    return 0;
}

static int load_data(trainer *t, qsdc_error *err)
{
    const train_config *c = &t->m->train;
    if (c->format == DATA_TEXT)
        return load_corpus(t, err);
    if (!c->train_images[0] && !c->n_train_files && c->format != DATA_SENTIMENT)
        return qsdc_fail_at(err, t->m->path, c->data_loc.line ? c->data_loc.line : 1,
                            c->data_loc.col ? c->data_loc.col : 1,
                            "train: has no data: (train_images, train_labels)");
    /* per-step targets (a sequence output) need a text corpus */
    if (t->tp.label_elems != t->tp.batch)
        return qsdc_fail_at(err, t->m->path, c->data_loc.line ? c->data_loc.line : 1,
                            c->data_loc.col ? c->data_loc.col : 1,
                            "the model's output is a sequence (%lld targets per batch of "
                            "%lld); training it needs data: {format: text, ...}",
                            (long long)t->tp.label_elems, (long long)c->batch);
    int64_t classes = t->ep.output_elems / t->ep.batch;
    const model *m = t->m;
    if (data_load(c, false, classes, m->input_shape, m->input_rank, &t->train, err) < 0)
        return -1;
    if (t->o->train_samples > 0 && t->o->train_samples < t->train.count)
        t->train.count = t->o->train_samples;
    if (t->o->train_subset > 0 && t->o->train_subset < t->train.count &&
        keep_subset(&t->train, c->seed, t->o->train_subset, err) < 0)
        return -1;
    if (data_has_test(c) &&
        data_load(c, true, classes, m->input_shape, m->input_rank, &t->test, err) < 0)
        return -1;
    if (t->o->test_samples > 0 && t->o->test_samples < t->test.count)
        t->test.count = t->o->test_samples;
    /* a fixed, seeded validation split: the first n_val of one permutation */
    t->perm = malloc((size_t)t->train.count * sizeof *t->perm);
    if (!t->perm)
        return qsdc_fail(err, "out of memory");
    philox_permutation(c->seed, 0x7a11u, t->perm, t->train.count);
    t->n_val = (int64_t)(c->val_split * (double)t->train.count);
    t->n_train = t->train.count - t->n_val;
    t->steps = t->n_train / c->batch;
    if (t->n_train < c->batch)
        return qsdc_fail(err, "%s: %lld training samples, fewer than one batch of %lld",
                         c->format == DATA_SENTIMENT ? c->text_path : c->train_images,
                         (long long)t->n_train, (long long)c->batch);
    return 0;
}

static int setup(trainer *t, qsdc_error *err)
{
    const train_config *c = &t->m->train;
    const char *dbg = getenv("QSDC_DEBUG"), *bundle = t->o->bundle;
    if (replicas_open(&t->rep, c->batch, t->o->devices, err) < 0 ||
        replicas_check_model(&t->rep, t->m, err) < 0 ||
        (t->o->checkpoint_dir && dist_is_root(&t->rep.ranks) &&
         (t->checkpoint_lock = checkpoint_claim_dir(t->o->checkpoint_dir, err)) < 0) ||
        cl_env_open(t->o->devices ? t->rep.specs[0] : t->o->device,
                    dbg && strstr(dbg, "kernels"), &t->env, err) < 0 ||
        device_self_check(&t->env, err) < 0 ||
        (t->o->check_finite
             ? compile_observed_for_device(&t->env, t->m, MODE_TRAIN, t->rep.batch, &t->tp,
                                           err)
             : plan_for_device(&t->env, t->m, bundle, MODE_TRAIN, t->rep.batch, &t->tp,
                               err)) < 0 ||
        plan_for_device(&t->env, t->m, bundle, MODE_INFER, c->batch, &t->ep, err) < 0 ||
        exec_check_memory(&t->env.dev, (const plan *[]){&t->tp, &t->ep}, 2, err) < 0)
        return -1;
    if (load_data(t, err) < 0)
        return -1;
    /* raw text is tokenised later with the vocabulary training used */
    bool text = c->format == DATA_TEXT || c->format == DATA_SENTIMENT;
    if (text && t->o->checkpoint_dir && dist_is_root(&t->rep.ranks) &&
        vocab_file_save_for(c, t->ep.input_elems / t->ep.batch, t->o->checkpoint_dir,
                            err) < 0)
        return -1;
    if (model_state_create(&t->env, t->tp.param_elems, t->tp.state_elems, &t->ms, err) < 0 ||
        exec_create(&t->env, &t->tp, &t->ms, &t->tx, err) < 0 ||
        exec_create(&t->env, &t->ep, &t->ms, &t->ex, err) < 0 ||
        replicas_attach(&t->rep, t->m, bundle, &t->tx, &t->ms, err) < 0 ||
        (t->o->check_finite && finite_check_create(&t->tx, &t->fc, err) < 0))
        return -1;
    /* this process's samples (and their targets) of a step: its devices'
       shards, one after another */
    if (step_pipe_init(&t->pipe, t->tp.input_elems * t->rep.n, t->tp.label_elems * t->rep.n,
                       t->tp.label_elems * t->rep.n, err) < 0)
        return -1;
    t->host_params = malloc((size_t)t->tp.param_elems * sizeof *t->host_params);
    t->host_state = calloc((size_t)(t->tp.state_elems > 0 ? t->tp.state_elems : 1),
                           sizeof *t->host_state);
    if (!t->host_params || !t->host_state)
        return qsdc_fail(err, "out of memory");
    if (t->o->metrics_path) {
        t->metrics = fopen(t->o->metrics_path, t->o->resume ? "a" : "w");
        if (!t->metrics)
            return qsdc_fail(err, "%s: cannot open for writing: %s", t->o->metrics_path,
                             strerror(errno));
    }
    return 0;
}

static void teardown(trainer *t)
{
    finite_check_free(&t->fc);
    exec_destroy(&t->tx);
    exec_destroy(&t->ex);
    model_state_free(&t->ms);
    plan_free(&t->tp);
    plan_free(&t->ep);
    cl_env_close(&t->env);
    dataset_free(&t->train);
    dataset_free(&t->test);
    if (t->lm)
        lm_source_free(t->lm);
    free(t->lm);
    free(t->perm);
    step_pipe_free(&t->pipe);
    free(t->host_params);
    free(t->host_state);
    if (t->metrics)
        fclose(t->metrics);
    if (t->checkpoint_lock >= 0)
        close(t->checkpoint_lock);
}

/* A resumed run continues exactly: the same samples in the same batches,
 * from a position inside this run's epochs. */
static int check_resume_position(const trainer *t, const checkpoint *ck, qsdc_error *err)
{
    const train_config *c = &t->m->train;
    const char *dir = t->o->checkpoint_dir;
    if (ck->batch != (uint64_t)c->batch)
        return qsdc_fail(err, "%s: checkpoint was trained with batch %" PRIu64 ", this run "
                         "has batch %" PRId64 ": its step count would skip or repeat "
                         "samples; resume with --batch %" PRIu64, dir, ck->batch, c->batch,
                         ck->batch);
    uint64_t steps = (uint64_t)t->steps;
    /* a saved step lies in the saved epoch, or ends the run at its last */
    if (ck->epoch > (uint64_t)c->epochs || ck->step / steps != ck->epoch)
        return qsdc_fail(err, "%s: checkpoint at step %" PRIu64 " after %" PRIu64 " epochs "
                         "is outside this run's plan of %" PRId64 " epochs of %" PRIu64
                         " steps", dir, ck->step, ck->epoch, c->epochs, steps);
    return 0;
}

/* Starts from the checkpoint when resuming, else from seeded parameters. */
static int init_state(trainer *t, uint64_t *epoch, uint64_t *step, qsdc_error *err)
{
    const train_config *c = &t->m->train;
    *epoch = *step = 0;
    if (t->o->resume && t->o->checkpoint_dir) {
        checkpoint ck;
        if (checkpoint_load(t->o->checkpoint_dir, &ck, err) < 0)
            return -1;
        int rc = checkpoint_check(&ck, train_model_hash(t->m, &t->tp), t->tp.param_elems,
                                  t->tp.state_elems, t->o->checkpoint_dir, err);
        if (rc == 0 && ck.seed != c->seed)
            rc = qsdc_fail(err, "%s: checkpoint was trained with seed %" PRIu64
                           ", this run has seed %" PRIu64, t->o->checkpoint_dir, ck.seed,
                           c->seed);
        if (rc == 0)
            rc = check_resume_position(t, &ck, err);
        /* a warning, not a refusal: --check-finite then names the first op
         * the value reaches */
        qsdc_error why = {{0}};
        if (rc == 0 && checkpoint_check_finite(&ck, t->o->checkpoint_dir, &why) < 0)
            fprintf(stderr, "qsdc: warning: %s; training from it will diverge\n",
                    why.message);
        if (rc == 0)
            rc = model_state_write(&t->env, &t->ms, ck.params, ck.state, err);
        *epoch = ck.epoch;
        *step = ck.step;
        checkpoint_free(&ck);
        return rc;
    }
    if (t->o->init_params)
        memcpy(t->host_params, t->o->init_params,
               (size_t)t->tp.param_elems * sizeof *t->host_params);
    else
        params_init(&t->tp, c->seed, t->host_params);
    return model_state_write(&t->env, &t->ms, t->host_params, NULL, err);
}

static int save_checkpoint(trainer *t, uint64_t epoch, uint64_t step, qsdc_error *err)
{
    if (model_state_read(&t->env, &t->ms, t->host_params, t->host_state, err) < 0)
        return -1;
    checkpoint ck = {.model_hash = train_model_hash(t->m, &t->tp),
                     .epoch = epoch, .step = step, .seed = t->m->train.seed,
                     .batch = (uint64_t)t->m->train.batch,
                     .n_params = t->tp.param_elems, .params = t->host_params,
                     .n_state = t->tp.state_elems, .state = t->host_state};
    return checkpoint_save(t->o->checkpoint_dir, &ck, err);
}

/* Training batch s of the epoch into the slot: contiguous streams from a
 * corpus (carries zeroed when the epoch starts), else this rank's shard
 * [first, first + n) of global batch s of shuffled samples. */
static int next_batch(trainer *t, uint64_t epoch, const int64_t *order, int64_t s,
                      step_slot *slot, qsdc_error *err)
{
    const train_config *c = &t->m->train;
    if (t->lm) {
        if (s == 0 && lm_carry_reset(t->lm, &t->env, &t->ms, err) < 0)
            return -1;
        return lm_source_batch(t->lm, TEXT_TRAIN, s, slot->x, slot->y, err);
    }
    int64_t n = t->rep.batch * t->rep.n, at = s * c->batch + t->rep.ranks.rank * n;
    gather_batch(&t->train, order, at, n, n, slot->x, slot->y);
    const int64_t *chw = t->m->input_shape; /* rank 3 when augmenting */
    return augment_batch(c, epoch, order + at, n, chw[0], chw[1], chw[2], slot->x, err);
}

/* Agreed by every rank, so that all stop at the same step. */
static bool stop_requested(const trainer *t)
{
    return dist_any(&t->rep.ranks, t->o->stop && *t->o->stop);
}

/* Batches [first, steps) of one epoch, fewer when --max-steps is reached
 * or a stop is requested;
 * the mean training loss goes to *loss_out, the batches run to *done_out. */
/* Collects finished steps until at most in_flight remain: the first
 * completed step is announced, a non-finite loss ends training. */
static int collect_losses(trainer *t, step_pipe *sp, int64_t in_flight, uint64_t epoch,
                          qsdc_error *err)
{
    if (step_pipe_collect(sp, in_flight, err) < 0)
        return -1;
    if (sp->collected > 0 && !t->first_done) {
        t->first_done = true;
        printf("first step done %.2f s after start (kernels %s)\n",
               now_seconds() - t->t_entry,
               t->tx.from_binary ? "from the bundle's binary"
               : t->tx.cache_hit ? "from the program cache" : "compiled");
    }
    if (sp->nonfinite)
        return qsdc_fail(err, "training diverged: the loss is not finite at step %" PRIu64
                         " (epoch %" PRIu64 "); try a smaller --lr", sp->nonfinite_step,
                         epoch + 1);
    return 0;
}

static int run_epoch(trainer *t, uint64_t epoch, int64_t first, uint64_t *step, int64_t steps,
                     double *loss_out, int64_t *done_out, qsdc_error *err)
{
    const train_config *c = &t->m->train;
    int64_t b = c->batch;
    /* per-epoch shuffle of the training part, keyed by (seed, epoch); a
     * corpus's batches keep their order */
    int64_t *order = t->lm ? NULL : malloc((size_t)t->n_train * sizeof *order);
    if (!t->lm && !order)
        return qsdc_fail(err, "out of memory");
    if (order) {
        philox_permutation(c->seed, 0x100000u + (uint32_t)epoch, order, t->n_train);
        for (int64_t i = 0; i < t->n_train; i++)
            order[i] = t->perm[t->n_val + order[i]];
    }
    char label[64];
    snprintf(label, sizeof label, "epoch %" PRIu64 "/%lld", epoch + 1, (long long)c->epochs);
    progress pr;
    progress_start(&pr, stderr, label, steps, b);
    step_pipe *sp = &t->pipe;
    sp->loss_sum = 0;
    sp->loss_count = 0;
    int64_t s = first;
    int rc = 0;
    for (; s < steps && rc == 0; s++) {
        if ((t->o->max_steps > 0 && (int64_t)*step >= t->o->max_steps) ||
            stop_requested(t))
            break;
        step_slot *slot;
        rc = step_pipe_next(sp, &slot, err);
        if (rc == 0)
            rc = next_batch(t, epoch, order, s, slot, err);
        float lr = (float)train_lr_at(c, (int64_t)*step, steps);
        if (rc == 0)
            rc = step_pipe_issue(sp, &t->rep, (uint32_t)c->seed, *step, lr, err);
        if (rc == 0 && t->o->check_finite)
            rc = finite_check_step(&t->fc, *step, epoch, err);
        /* the previous step's loss arrives while this one runs */
        if (rc == 0)
            rc = collect_losses(t, sp, 1, epoch, err);
        /* a fault shows when a step is enqueued, or when its loss is awaited */
        if (rc < 0 && (t->tx.fault || sp->fault))
            rc = train_device_lost(t->m->path, t->o->checkpoint_dir, *step, epoch, err);
        (*step)++;
        if (!t->o->quiet && sp->loss_count > 0)
            progress_update(&pr, s + 1, sp->loss_sum / (double)sp->loss_count);
    }
    if (rc == 0)
        rc = collect_losses(t, sp, 0, epoch, err);
    if (!t->o->quiet)
        progress_end(&pr);
    free(order);
    *loss_out = sp->loss_count ? sp->loss_sum / (double)sp->loss_count : 0;
    *done_out = s - first;
    return rc;
}

/* Validation and test scores after an epoch: accuracy, or a language
 * model's perplexity. */
static int evaluate_epoch(trainer *t, train_summary *out, qsdc_error *err)
{
    if (t->lm)
        return lm_perplexity(t->lm, &t->ex, &t->ms, TEXT_VALID, &out->val_perplexity, err) < 0
                   ? -1
                   : lm_perplexity(t->lm, &t->ex, &t->ms, TEXT_TEST, &out->test_perplexity,
                                   err);
    eval_result val = {0}, test = {0};
    if (t->n_val > 0 && evaluate(&t->ex, &t->train, t->perm, t->n_val, &val, err) < 0)
        return -1;
    if (t->test.count > 0 && evaluate(&t->ex, &t->test, NULL, 0, &test, err) < 0)
        return -1;
    out->val_accuracy = eval_accuracy(&val);
    out->test_accuracy = eval_accuracy(&test);
    return 0;
}

static void print_scores(const trainer *t, const train_summary *out)
{
    if (t->lm && isfinite(out->val_perplexity))
        printf("  val perplexity %.2f", out->val_perplexity);
    if (t->lm && isfinite(out->test_perplexity))
        printf("  test perplexity %.2f", out->test_perplexity);
    if (t->n_val > 0)
        printf("  val accuracy %.2f%%", out->val_accuracy);
    if (t->test.count > 0)
        printf("  test accuracy %.2f%%", out->test_accuracy);
}

/* A JSON number, or null for NAN (an empty split's perplexity). */
static void json_number(FILE *f, const char *key, double v)
{
    if (isfinite(v))
        fprintf(f, ", \"%s\": %.4f", key, v);
    else
        fprintf(f, ", \"%s\": null", key);
}

static int metrics_failed(const trainer *t, qsdc_error *err)
{
    return qsdc_fail(err, "%s: cannot write the metrics: %s", t->o->metrics_path,
                     strerror(errno ? errno : EIO));
}

/* One line of --metrics for batches [first, first + done) of an epoch: a
 * run stopped inside an epoch and resumed writes two lines for it, which
 * result_read_metrics joins. Flushed, so a full disk shows here. */
static int write_metrics(trainer *t, uint64_t epoch, int64_t first, int64_t done, double loss,
                         const train_summary *out, double secs, double rate, qsdc_error *err)
{
    if (!t->metrics)
        return 0;
    errno = 0;
    fprintf(t->metrics,
            "{\"epoch\": %" PRIu64 ", \"first_batch\": %lld, \"batches\": %lld, "
            "\"train_loss\": %.6f",
            epoch, (long long)first, (long long)done, loss);
    if (t->lm) {
        json_number(t->metrics, "val_perplexity", out->val_perplexity);
        json_number(t->metrics, "test_perplexity", out->test_perplexity);
    } else {
        json_number(t->metrics, "val_accuracy", out->val_accuracy);
        json_number(t->metrics, "test_accuracy", out->test_accuracy);
    }
    fprintf(t->metrics, ", \"seconds\": %.3f, \"samples_per_s\": %.1f", secs, rate);
    if (t->lm)
        fprintf(t->metrics, ", \"tokens_per_s\": %.1f", rate * (double)t->lm->steps);
    fprintf(t->metrics, "}\n");
    if (fflush(t->metrics) != 0 || ferror(t->metrics))
        return metrics_failed(t, err);
    return 0;
}

int train_model(model *m, const train_options *o, train_summary *out, qsdc_error *err)
{
    train_apply_overrides(m, o);
    trainer t;
    memset(&t, 0, sizeof t);
    t.checkpoint_lock = -1;
    t.t_entry = now_seconds();
    t.m = m;
    t.o = o;
    memset(out, 0, sizeof *out);
    uint64_t epoch = 0, step = 0;
    int rc = setup(&t, err);
    if (rc == 0)
        rc = init_state(&t, &epoch, &step, err);
    if (rc == 0)
        rc = replicas_sync_state(&t.rep, err);
    const train_config *c = &m->train;
    int64_t steps = rc == 0 ? t.steps : 0;
    if (rc == 0)
        printf("training %s on %s: %lld samples (%lld held out), batch %lld, %lld steps/epoch\n",
               m->name, t.env.dev.name, (long long)t.n_train, (long long)t.n_val,
               (long long)c->batch, (long long)steps);
    if (rc == 0 && t.rep.n * t.rep.ranks.size > 1)
        printf("data parallel: %d ranks x %d devices, %lld samples each per step\n",
               t.rep.ranks.size, t.rep.n, (long long)t.rep.batch);
    double t_all = now_seconds();
    while (rc == 0 && (int64_t)epoch < c->epochs &&
           !(o->max_steps > 0 && (int64_t)step >= o->max_steps) && !stop_requested(&t)) {
        double t0 = now_seconds(), loss = 0;
        int64_t done = 0, first = (int64_t)step - (int64_t)epoch * steps;
        rc = run_epoch(&t, epoch, first, &step, steps, &loss, &done, err);
        if (rc < 0)
            break;
        loss = dist_mean(&t.rep.ranks, loss);
        /* an epoch cut short by --max-steps is reported and saved as such, and
         * a resumed run continues it from the next batch */
        bool complete = first + done == steps;
        double secs = now_seconds() - t0, rate = (double)(done * c->batch) / secs;
        if (evaluate_epoch(&t, out, err) < 0) {
            rc = -1;
            break;
        }
        if (complete)
            epoch++;
        out->steps += done;
        out->seconds += secs;
        out->train_loss = loss;
        printf("epoch %" PRIu64 "/%lld  train loss %.4f", complete ? epoch : epoch + 1,
               (long long)c->epochs, loss);
        print_scores(&t, out);
        printf("  (%.1f s, %.0f samples/s", secs, rate);
        if (t.lm)
            printf(", %.0f tokens/s", rate * (double)t.lm->steps);
        if (!complete)
            printf("; stopped after batch %lld of %lld", (long long)(first + done),
                   (long long)steps);
        printf(")\n");
        fflush(stdout);
        /* a failed metrics write stops the run, once the epoch is saved */
        qsdc_error metrics_err = {{0}};
        int metrics_rc = write_metrics(&t, complete ? epoch : epoch + 1, first, done, loss,
                                       out, secs, rate, &metrics_err);
        if (o->checkpoint_dir && dist_is_root(&t.rep.ranks))
            rc = save_checkpoint(&t, epoch, step, err);
        if (rc == 0 && metrics_rc < 0) {
            *err = metrics_err;
            rc = -1;
        }
    }
    out->epochs_done = (int64_t)epoch;
    out->interrupted = rc == 0 && stop_requested(&t) && (int64_t)epoch < c->epochs;
    if (rc == 0) {
        out->train_samples = t.lm ? lm_source_batches(t.lm, TEXT_TRAIN) * t.lm->batch
                                  : t.train.count;
        out->test_samples = t.lm ? lm_source_batches(t.lm, TEXT_TEST) * t.lm->batch
                                 : t.test.count;
    }
    if (rc == 0 && out->seconds > 0) {
        out->samples_per_s = (double)(out->steps * c->batch) / out->seconds;
        printf("train: %lld steps, %lld samples, %.2f s, %.0f samples/s (total %.1f s)\n",
               (long long)out->steps, (long long)(out->steps * c->batch), out->seconds,
               out->samples_per_s, now_seconds() - t_all);
    }
    if (rc == 0 && o->after_train && !out->interrupted) {
        train_context tc = {.env = &t.env, .m = m, .train_plan = &t.tp, .infer_plan = &t.ep,
                            .state = &t.ms, .train = &t.train, .test = &t.test,
                            .lm = t.lm, .summary = out};
        rc = o->after_train(o->hook_ctx, &tc, err);
    }
    if (t.metrics) {
        errno = 0;
        if (fclose(t.metrics) != 0 && rc == 0)
            rc = metrics_failed(&t, err);
        t.metrics = NULL;
    }
    teardown(&t);
    replicas_close(&t.rep, rc, err);
    return rc;
}
