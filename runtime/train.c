#include "train.h"
#include "train_int.h"

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
#include "feature_stats.h"
#include "device_tuner.h"
#include "init.h"
#include "progress.h"
#include "replicas.h"
#include "step_pipe.h"
#include "train_lm.h"
#include "train_report.h"

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
    int64_t classes = t->ep->output_elems / t->ep->batch;
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

/* Early stopping and the best checkpoint score the validation split. */
static int check_validation(trainer *t, qsdc_error *err)
{
    const train_options *o = t->o;
    if (o->early_stop < 0)
        return qsdc_fail(err, "early_stop is %lld: give the epochs of patience, or 0 for "
                         "none", (long long)o->early_stop);
    if (!o->early_stop && !o->keep_best)
        return 0;
    const char *what = o->early_stop ? "--early-stop" : "--keep-best";
    if (o->keep_best && !o->checkpoint_dir)
        return qsdc_fail(err, "--keep-best saves the best epoch's checkpoint under "
                         "--checkpoint DIR: give one");
    t->best.lower_better = t->lm != NULL;
    if (t->lm)
        return lm_split_check(t->lm, t->m->train.text_path, TEXT_VALID,
                              "nothing to score --early-stop and --keep-best on", err);
    if (t->n_val < 1)
        return qsdc_fail(err, "%s scores each epoch on the validation split, and %s holds "
                         "none out: set train: val_split (a fraction of the training data)",
                         what, t->m->path);
    return 0;
}

/* standardize: true: the training split's statistics (validation and test
 * samples left out), applied to all of the data and saved with the
 * checkpoint for eval, infer and predict. */
static int standardize_data(trainer *t, qsdc_error *err)
{
    feature_stats fs;
    if (feature_stats_fit(&t->train, t->perm + t->n_val, t->n_train, &fs, err) < 0)
        return -1;
    feature_stats_apply(&fs, &t->train);
    if (t->test.x)
        feature_stats_apply(&fs, &t->test);
    const char *dirs[2] = {t->o->checkpoint_dir, t->best_dir[0] ? t->best_dir : NULL};
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++)
        if (dirs[i] && dist_is_root(&t->rep.ranks))
            rc = feature_stats_write(dirs[i], &fs, err);
    feature_stats_free(&fs);
    return rc;
}

/* The run's device context: the caller's (train_options.env), else one
 * opened and checked for the run. */
static int open_device(trainer *t, qsdc_error *err)
{
    const train_options *o = t->o;
    if (o->env && o->devices)
        return qsdc_fail(err, "train_options: env is one device's context, and devices is "
                         "\"%s\": data parallel training opens its devices itself",
                         o->devices);
    t->env = o->env ? o->env : &t->own_env;
    t->measure0 = t->env->measure_s;
    if (o->env)
        return 0; /* its owner checked it when opening it */
    const char *dbg = getenv("QSDC_DEBUG");
    if (cl_env_open(o->devices ? t->rep.specs[0] : o->device, dbg && strstr(dbg, "kernels"),
                    t->env, err) < 0)
        return -1;
    return device_self_check(t->env, err);
}

/* The evaluation plan at the run's batch: the caller's
 * (train_options.infer_plan) when it has that batch, else compiled. */
static int inference_plan(trainer *t, qsdc_error *err)
{
    const plan *p = t->o->infer_plan;
    int64_t batch = t->m->train.batch;
    if (p && p->batch == batch) {
        t->ep = p;
        return 0;
    }
    t->ep = &t->own_ep;
    return plan_for_device(t->env, t->m, t->o->bundle, MODE_INFER, batch, &t->own_ep, err);
}

static int setup(trainer *t, qsdc_error *err)
{
    const train_config *c = &t->m->train;
    const char *bundle = t->o->bundle;
    if (replicas_open(&t->rep, c->batch, t->o->devices, err) < 0 ||
        replicas_check_model(&t->rep, t->m, err) < 0 || train_claim_dirs(t, err) < 0 ||
        open_device(t, err) < 0 ||
        (t->o->check_finite
             ? compile_observed_for_device(t->env, t->m, MODE_TRAIN, t->rep.batch, &t->tp,
                                           err)
             : plan_for_device(t->env, t->m, bundle, MODE_TRAIN, t->rep.batch, &t->tp,
                               err)) < 0 ||
        inference_plan(t, err) < 0 ||
        exec_check_memory(&t->env->dev, (const plan *[]){&t->tp, t->ep}, 2, err) < 0)
        return -1;
    /* a bundle's plan holds the schedule it was compiled with */
    t->sched = t->tp.schedule;
    if (t->o->epochs > 0)
        t->sched.epochs = t->o->epochs;
    if (t->o->lr > 0)
        t->sched.lr = t->o->lr;
    if (load_data(t, err) < 0 || check_validation(t, err) < 0 ||
        (c->standardize && standardize_data(t, err) < 0))
        return -1;
    /* raw text is tokenised later with the vocabulary training used */
    bool text = c->format == DATA_TEXT || c->format == DATA_SENTIMENT;
    int64_t seq = t->ep->input_elems / t->ep->batch;
    if (text && t->o->checkpoint_dir && dist_is_root(&t->rep.ranks) &&
        (vocab_file_save_for(c, seq, t->o->checkpoint_dir, err) < 0 ||
         (t->best_dir[0] && vocab_file_save_for(c, seq, t->best_dir, err) < 0)))
        return -1;
    if (model_state_create(t->env, t->tp.param_elems, t->tp.state_elems, &t->ms, err) < 0 ||
        exec_create(t->env, &t->tp, &t->ms, &t->tx, err) < 0 ||
        exec_create(t->env, t->ep, &t->ms, &t->ex, err) < 0 ||
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
    if (t->o->metrics_every < 0)
        return qsdc_fail(err, "metrics_every is %lld: give a number of steps, or 0 for "
                         "none", (long long)t->o->metrics_every);
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
    /* what was borrowed stays with its owner */
    plan_free(&t->own_ep);
    cl_env_close(&t->own_env);
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
    if (t->best_lock >= 0)
        close(t->best_lock);
}

/* Training batch s of the epoch into the slot: contiguous streams from a
 * corpus (carries zeroed when the epoch starts), else this rank's shard
 * [first, first + n) of global batch s of shuffled samples. */
static int next_batch(trainer *t, uint64_t epoch, const int64_t *order, int64_t s,
                      step_slot *slot, qsdc_error *err)
{
    const train_config *c = &t->m->train;
    if (t->lm) {
        if (s == 0 && lm_carry_reset(t->lm, t->env, &t->ms, err) < 0)
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

/* The steps this run will take from step, in all and in the epoch at
 * first: --max-steps may end it early. */
static int64_t steps_to_run(const trainer *t, uint64_t step)
{
    int64_t end = t->m->train.epochs * t->steps;
    if (t->o->max_steps > 0 && t->o->max_steps < end)
        end = t->o->max_steps;
    return end > (int64_t)step ? end - (int64_t)step : 0;
}

/* Batches [first, steps) of one epoch, fewer when --max-steps is reached
 * or a stop is requested;
 * the mean training loss goes to *loss_out, the batches run to *done_out. */
/* --metrics-every N: a line once the loss of every N-th step of the run
 * has arrived (the pipe collects one step at a time, so it is that step). */
static int report_step(trainer *t, const step_pipe *sp, uint64_t epoch, qsdc_error *err)
{
    int64_t every = t->o->metrics_every, in = sp->collected - t->epoch_collected0;
    int64_t done = (int64_t)t->epoch_step0 + in;
    if (!t->metrics || every <= 0 || in == t->mark_steps ||
        done / every == ((int64_t)t->epoch_step0 + t->mark_steps) / every)
        return 0;
    step_report r = {.step = (uint64_t)done, .epoch = epoch + 1, .batch = t->epoch_batch0 + in,
                     .train_loss = (sp->loss_sum - t->mark_sum) /
                                   (double)(sp->loss_count - t->mark_count),
                     .lr = train_lr_at(&t->sched, done - 1, t->steps)};
    t->mark_steps = in;
    t->mark_sum = sp->loss_sum;
    t->mark_count = sp->loss_count;
    return step_report_write(t->metrics, t->o->metrics_path, &r, err);
}

/* Collects finished steps until at most in_flight remain: the first
 * completed step is announced, a non-finite loss ends training. */
static int collect_losses(trainer *t, step_pipe *sp, int64_t in_flight, uint64_t epoch,
                          qsdc_error *err)
{
    if (step_pipe_collect(sp, in_flight, err) < 0)
        return -1;
    if (sp->collected > 0 && !t->first_done) {
        t->first_done = true;
        t->first_step_s = now_seconds() - t->first_issued;
        printf("first step done %.2f s after start (kernels %s", now_seconds() - t->t_entry,
               t->tx.from_binary ? "from the bundle's binary"
               : t->tx.cache_hit ? "from the program cache" : "compiled");
        double measure_s = t->env->measure_s - t->measure0;
        if (measure_s > 0)
            printf("; %.2f s of it measuring GEMM and conv2d kernels, once per device",
                   measure_s);
        printf(")\n");
    }
    if (sp->nonfinite)
        return qsdc_fail(err, "training diverged: the loss is not finite at step %" PRIu64
                         " (epoch %" PRIu64 "); try a smaller --lr", sp->nonfinite_step,
                         epoch + 1);
    return report_step(t, sp, epoch, err);
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
    /* --max-steps may end the epoch early; the run's ETA adds the
     * evaluations to come, at the last one's time */
    int64_t left = steps_to_run(t, *step), last = first + left < steps ? first + left : steps;
    int64_t after = left - (last - first), evals = 1 + (after + steps - 1) / steps;
    progress pr;
    progress_start(&pr, stderr, label, first, last, b);
    progress_set_run(&pr, after, (double)evals * t->eval_s);
    step_pipe *sp = &t->pipe;
    sp->loss_sum = 0;
    sp->loss_count = 0;
    t->epoch_step0 = *step;
    t->epoch_batch0 = first;
    t->epoch_collected0 = sp->collected;
    t->mark_steps = t->mark_count = 0;
    t->mark_sum = 0;
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
        float lr = (float)train_lr_at(&t->sched, (int64_t)*step, steps);
        if (!t->first_issued)
            t->first_issued = now_seconds();
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

/* Validation and test scores after an epoch: accuracy (and validation
 * loss), or a language model's perplexity. */
static int evaluate_epoch(trainer *t, epoch_report *r, qsdc_error *err)
{
    double t0 = now_seconds();
    int rc = 0;
    if (t->lm) {
        rc = lm_perplexity(t->lm, &t->ex, &t->ms, TEXT_VALID, &r->val_perplexity, err);
        if (rc == 0)
            rc = lm_perplexity(t->lm, &t->ex, &t->ms, TEXT_TEST, &r->test_perplexity, err);
    } else {
        bool probs = model_ends_in_softmax(t->m);
        eval_result val = {0}, test = {0};
        if (t->n_val > 0)
            rc = evaluate(&t->ex, &t->train, t->perm, t->n_val, probs, &val, err);
        if (rc == 0 && t->test.count > 0)
            rc = evaluate(&t->ex, &t->test, NULL, 0, probs, &test, err);
        r->val_accuracy = eval_accuracy(&val);
        r->val_loss = val.loss;
        r->test_accuracy = eval_accuracy(&test);
    }
    t->eval_s = now_seconds() - t0;
    return rc;
}

/* After an epoch's batches: its scores, line, metrics and checkpoint (an
 * epoch cut short by --max-steps is reported and saved as such, and a
 * resumed run continues it from the next batch); *epoch counts it when
 * complete; *stop when early stopping ends the run. */
static int finish_epoch(trainer *t, uint64_t *epoch, uint64_t step, int64_t first,
                        int64_t done, double loss, double secs, train_summary *out, bool *stop,
                        qsdc_error *err)
{
    const train_config *c = &t->m->train;
    epoch_report r = {.epochs = c->epochs, .first = first, .done = done, .steps = t->steps,
                      .train_loss = loss, .has_val = !t->lm && t->n_val > 0,
                      .has_test = !t->lm && t->test.count > 0, .language_model = t->lm != NULL,
                      .lr = train_lr_at(&t->sched, step > 0 ? (int64_t)step - 1 : 0, t->steps),
                      .seconds = secs,
                      .samples_per_s = (double)(done * c->batch) / secs,
                      .tokens_per_sample = t->lm ? t->lm->steps : 0};
    if (evaluate_epoch(t, &r, err) < 0)
        return -1;
    if (t->first_done && !t->first_reported) {
        r.first_step_s = t->first_step_s;
        t->first_reported = true;
    }
    bool complete = first + done == t->steps;
    if (complete)
        (*epoch)++;
    r.epoch = complete ? *epoch : *epoch + 1;
    out->steps += done;
    out->seconds += secs;
    out->train_loss = loss;
    out->val_accuracy = r.val_accuracy;
    out->test_accuracy = r.test_accuracy;
    out->val_perplexity = r.val_perplexity;
    out->test_perplexity = r.test_perplexity;
    epoch_report_print(&r);
    /* a failed metrics write stops the run, once the epoch is saved */
    qsdc_error metrics_err = {{0}};
    int metrics_rc = epoch_report_write(t->metrics, t->o->metrics_path, &r, &metrics_err);
    int rc = complete && (t->o->early_stop || t->o->keep_best)
                 ? train_track_best(t, *epoch, step, &r, stop, err)
                 : 0;
    if (rc == 0 && t->o->checkpoint_dir && dist_is_root(&t->rep.ranks))
        rc = train_save(t, t->o->checkpoint_dir, *epoch, step, err);
    if (rc == 0 && metrics_rc < 0) {
        *err = metrics_err;
        rc = -1;
    }
    return rc;
}

int train_model(model *m, const train_options *o, train_summary *out, qsdc_error *err)
{
    train_apply_overrides(m, o);
    trainer t;
    memset(&t, 0, sizeof t);
    t.checkpoint_lock = t.best_lock = -1;
    t.t_entry = now_seconds();
    t.m = m;
    t.o = o;
    memset(out, 0, sizeof *out);
    uint64_t epoch = 0, step = 0;
    int rc = setup(&t, err);
    if (rc == 0)
        rc = train_init_state(&t, &epoch, &step, err);
    if (rc == 0)
        rc = replicas_sync_state(&t.rep, err);
    const train_config *c = &m->train;
    int64_t steps = rc == 0 ? t.steps : 0;
    if (rc == 0)
        printf("training %s on %s: %lld samples (%lld held out), batch %lld, %lld steps/epoch\n",
               m->name, t.env->dev.name, (long long)t.n_train, (long long)t.n_val,
               (long long)c->batch, (long long)steps);
    if (rc == 0 && t.rep.n * t.rep.ranks.size > 1)
        printf("data parallel: %d ranks x %d devices, %lld samples each per step\n",
               t.rep.ranks.size, t.rep.n, (long long)t.rep.batch);
    bool stopped_early = false;
    if (rc == 0 && train_already_done(&t, epoch, step))
        stopped_early = best_epoch_patience_out(&t.best, epoch, o->early_stop);
    double t_all = now_seconds();
    while (rc == 0 && !stopped_early && (int64_t)epoch < c->epochs &&
           !(o->max_steps > 0 && (int64_t)step >= o->max_steps) && !stop_requested(&t)) {
        double t0 = now_seconds(), loss = 0;
        int64_t done = 0, first = (int64_t)step - (int64_t)epoch * steps;
        rc = run_epoch(&t, epoch, first, &step, steps, &loss, &done, err);
        if (rc == 0)
            rc = finish_epoch(&t, &epoch, step, first, done, dist_mean(&t.rep.ranks, loss),
                              now_seconds() - t0, out, &stopped_early, err);
    }
    if (rc == 0 && (o->early_stop || o->keep_best))
        train_print_best(&t, stopped_early);
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
        train_context tc = {.env = t.env, .m = m, .train_plan = &t.tp, .infer_plan = t.ep,
                            .state = &t.ms, .train = &t.train, .test = &t.test,
                            .lm = t.lm, .summary = out};
        rc = o->after_train(o->hook_ctx, &tc, err);
    }
    if (t.metrics) {
        errno = 0;
        if (fclose(t.metrics) != 0 && rc == 0)
            rc = epoch_report_failed(o->metrics_path, err);
        t.metrics = NULL;
    }
    teardown(&t);
    replicas_close(&t.rep, rc, err);
    return rc;
}
