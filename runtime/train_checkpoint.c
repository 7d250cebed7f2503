#include "train_int.h"

#include <inttypes.h>
#include <string.h>

#include "checkpoint.h"
#include "init.h"

int train_claim_dirs(trainer *t, qsdc_error *err)
{
    const train_options *o = t->o;
    if (!o->checkpoint_dir || !dist_is_root(&t->rep.ranks))
        return 0;
    if ((t->checkpoint_lock = checkpoint_claim_dir(o->checkpoint_dir, err)) < 0 ||
        (!o->resume && (checkpoint_start_fresh(o->checkpoint_dir, o->keep_existing, err) < 0 ||
                        best_epoch_forget(o->checkpoint_dir, err) < 0)))
        return -1;
    if (!o->keep_best)
        return 0;
    if (best_epoch_dir(o->checkpoint_dir, t->best_dir, sizeof t->best_dir, err) < 0)
        return -1;
    t->best_lock = checkpoint_claim_dir(t->best_dir, err);
    return t->best_lock < 0 ? -1 : 0;
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

int train_init_state(trainer *t, uint64_t *epoch, uint64_t *step, qsdc_error *err)
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
            rc = model_state_write(t->env, &t->ms, ck.params, ck.state, err);
        if (rc == 0 && (t->o->early_stop || t->o->keep_best))
            rc = best_epoch_load(t->o->checkpoint_dir, &t->best, err);
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
    return model_state_write(t->env, &t->ms, t->host_params, NULL, err);
}

int train_save(trainer *t, const char *dir, uint64_t epoch, uint64_t step,
                           qsdc_error *err)
{
    if (model_state_read(t->env, &t->ms, t->host_params, t->host_state, err) < 0)
        return -1;
    checkpoint ck = {.model_hash = train_model_hash(t->m, &t->tp),
                     .epoch = epoch, .step = step, .seed = t->m->train.seed,
                     .batch = (uint64_t)t->m->train.batch,
                     .n_params = t->tp.param_elems, .params = t->host_params,
                     .n_state = t->tp.state_elems, .state = t->host_state};
    return checkpoint_save(dir, &ck, err);
}

int train_track_best(trainer *t, uint64_t epoch, uint64_t step, const epoch_report *r,
                      bool *stop, qsdc_error *err)
{
    const char *dir = t->o->checkpoint_dir;
    double score = t->lm ? r->val_perplexity : r->val_accuracy;
    if (best_epoch_improves(&t->best, epoch, score) && dir && dist_is_root(&t->rep.ranks) &&
        ((t->o->keep_best && train_save(t, t->best_dir, epoch, step, err) < 0) ||
         best_epoch_save(dir, &t->best, err) < 0))
        return -1;
    *stop = best_epoch_patience_out(&t->best, epoch, t->o->early_stop);
    return 0;
}

void train_print_best(const trainer *t, bool stopped)
{
    const char *what = t->lm ? "perplexity" : "accuracy", *unit = t->lm ? "" : "%";
    if (stopped)
        printf("early stop: no better validation %s in %lld epoch%s than epoch %" PRIu64
               "'s %.2f%s\n", what, (long long)t->o->early_stop,
               t->o->early_stop == 1 ? "" : "s", t->best.epoch, t->best.score, unit);
    if (t->o->keep_best && t->best.known)
        printf("best: epoch %" PRIu64 ", validation %s %.2f%s, in %s\n", t->best.epoch, what,
               t->best.score, unit, t->best_dir);
}

bool train_already_done(const trainer *t, uint64_t epoch, uint64_t step)
{
    const train_options *o = t->o;
    if (!o->resume)
        return false;
    if ((int64_t)epoch >= t->m->train.epochs)
        printf("%s: the run already finished: %" PRIu64 " epochs, %" PRIu64 " steps (more "
               "with --epochs)\n", o->checkpoint_dir, epoch, step);
    else if (o->max_steps > 0 && (int64_t)step >= o->max_steps)
        printf("%s: the run is already at step %" PRIu64 " of --max-steps %lld\n",
               o->checkpoint_dir, step, (long long)o->max_steps);
    else if (best_epoch_patience_out(&t->best, epoch, o->early_stop))
        printf("%s: the run already stopped early: no better validation score in %lld "
               "epoch%s after epoch %" PRIu64 "\n", o->checkpoint_dir,
               (long long)o->early_stop, o->early_stop == 1 ? "" : "s", t->best.epoch);
    else
        return false;
    return true;
}

