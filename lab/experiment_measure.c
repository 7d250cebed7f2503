/* What an experiment records of a trained model before train_model lets it
 * go: test accuracy and hidden-layer activity on the test set (through an
 * inference plan that keeps the activations), parameter distributions, and
 * masks drawn on the device for each regularised layer. A language model
 * records the test perplexity train_model measured after the last epoch,
 * and no activity (its test set is streams of tokens, not samples). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "evaluate.h"
#include "experiment.h"
#include "train_lm.h"

static bool hidden(const layer *l)
{
    return l->kind == LAYER_RELU || l->kind == LAYER_TANH || l->kind == LAYER_SIGMOID;
}

/* The activity records' layers: plan tensor index per hidden layer. */
static int find_hidden(const model *m, const plan *p, run_result *r, int *tensor,
                       qsdc_error *err)
{
    r->activity = calloc((size_t)m->n_layers + 1, sizeof *r->activity);
    if (!r->activity)
        return qsdc_fail(err, "out of memory");
    for (int i = 0; i < m->n_layers; i++) {
        int t = hidden(&m->layers[i]) ? plan_find_tensor(p, m->layers[i].name) : -1;
        if (t < 0 || p->tensors[t].buffer != BUF_A)
            continue;
        activity_record *a = &r->activity[r->n_activity];
        snprintf(a->layer, sizeof a->layer, "%s", m->layers[i].name);
        a->units = p->tensors[t].nelem / p->batch;
        tensor[r->n_activity++] = t;
    }
    return 0;
}

/* Per sample of one batch (count samples of x [batch, units]): the zero
 * fraction into zero[], the Hoyer sparsity (NaN where undefined) into
 * hoyer[]. */
static void sample_activity(activity_record *a, const float *x, int64_t count, double *zero,
                            double *hoyer)
{
    for (int64_t b = 0; b < count; b++) {
        const float *v = x + b * a->units;
        zero[b] = stats_zero_fraction(v, a->units);
        if (!stats_hoyer(v, a->units, &hoyer[b]))
            hoyer[b] = NAN;
    }
}

/* Mean and histogram (over the values' own range) of the n values of v
 * that are not NaN; their number goes to *defined. */
static void summarise_values(const double *v, int64_t n, double *mean, histogram *h,
                             int64_t *defined)
{
    double lo = HUGE_VAL, hi = -HUGE_VAL, sum = 0;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (!isnan(v[i])) {
            lo = fmin(lo, v[i]);
            hi = fmax(hi, v[i]);
            sum += v[i];
            k++;
        }
    hist_init(h, k ? lo : 0, k ? hi : 1, RESULT_BINS);
    for (int64_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            hist_add(h, v[i]);
    *mean = k ? sum / (double)k : 0;
    *defined = k;
}

/* The test set through plan p (observing the hidden layers). */
static int measure_test(const train_context *tc, executor *ex, run_result *r,
                        const int *tensor, qsdc_error *err)
{
    const plan *p = ex->p;
    const dataset *d = tc->test;
    int64_t batch = p->batch, correct = 0, biggest = 0;
    for (int i = 0; i < r->n_activity; i++)
        if (p->tensors[tensor[i]].nelem > biggest)
            biggest = p->tensors[tensor[i]].nelem;
    float *x = malloc((size_t)p->input_elems * sizeof *x);
    float *out = malloc((size_t)p->output_elems * sizeof *out);
    float *h = malloc((size_t)(biggest > 0 ? biggest : 1) * sizeof *h);
    int32_t *y = malloc((size_t)batch * sizeof *y);
    /* per layer, per test sample: zero fraction, then Hoyer sparsity */
    size_t n_vals = (size_t)d->count * 2;
    double *vals = malloc(((size_t)r->n_activity * n_vals + 1) * sizeof *vals);
    int rc = x && out && h && y && vals ? 0 : qsdc_fail(err, "out of memory");
    for (int64_t i0 = 0; rc == 0 && i0 < d->count; i0 += batch) {
        int64_t count = d->count - i0 < batch ? d->count - i0 : batch;
        rc = eval_batch(ex, d, NULL, i0, count, x, out, y, &correct, err);
        for (int i = 0; rc == 0 && i < r->n_activity; i++) {
            const plan_tensor *pt = &p->tensors[tensor[i]];
            rc = exec_read_arena(ex, pt->offset, pt->nelem, h, err);
            double *zero = vals + (size_t)i * n_vals;
            if (rc == 0)
                sample_activity(&r->activity[i], h, count, zero + i0, zero + d->count + i0);
        }
    }
    for (int i = 0; rc == 0 && i < r->n_activity; i++) {
        activity_record *a = &r->activity[i];
        const double *zero = vals + (size_t)i * n_vals;
        int64_t defined;
        summarise_values(zero, d->count, &a->zero_mean, &a->zero_hist, &a->samples);
        summarise_values(zero + d->count, d->count, &a->hoyer_mean, &a->hoyer_hist, &defined);
        a->all_zero = a->samples - defined;
    }
    r->test_samples = d->count;
    r->test = d->count ? 100.0 * (double)correct / (double)d->count : 0;
    free(x);
    free(out);
    free(h);
    free(y);
    free(vals);
    return rc;
}

static int measure_activity(const train_context *tc, run_result *r, qsdc_error *err)
{
    codegen_target target;
    exec_target(&tc->env->dev, &target);
    target.observe = true;
    plan p;
    executor ex;
    memset(&ex, 0, sizeof ex);
    int *tensor = calloc((size_t)tc->m->n_layers + 1, sizeof *tensor);
    if (!tensor)
        return qsdc_fail(err, "out of memory");
    int rc = compile_plan(tc->m, MODE_INFER, tc->infer_plan->batch, &target, &p, NULL, NULL,
                          err);
    if (rc == 0) {
        rc = find_hidden(tc->m, &p, r, tensor, err);
        if (rc == 0)
            rc = exec_create(tc->env, &p, tc->state, &ex, err);
        if (rc == 0)
            rc = measure_test(tc, &ex, r, tensor, err);
        exec_destroy(&ex);
        plan_free(&p);
    }
    free(tensor);
    return rc;
}

/* Histogram bins over [lo, hi] of n sorted values, lo and hi the given
 * quantiles (so a few outliers do not squeeze the rest into one bin). */
static void hist_sorted(const float *sorted, int64_t n, double qlo, double qhi,
                        histogram *h)
{
    hist_init(h, qlo > 0 ? stats_quantile_sorted(sorted, n, qlo) : 0,
              stats_quantile_sorted(sorted, n, qhi), RESULT_BINS);
    for (int64_t i = 0; i < n; i++)
        hist_add(h, sorted[i]);
}

/* A stateful lstm's carried state: in the parameter buffer, not a parameter. */
static bool is_carry(const train_context *tc, const plan_tensor *pt)
{
    for (int i = 0; tc->lm && i < tc->lm->n_carries; i++)
        if (pt->offset == tc->lm->carry_offset[i])
            return true;
    return false;
}

static int measure_params(const train_context *tc, run_result *r, qsdc_error *err)
{
    const plan *p = tc->train_plan;
    float *all = malloc((size_t)p->param_elems * sizeof *all);
    float *v = malloc((size_t)p->param_elems * sizeof *v);
    r->params = calloc((size_t)p->n_tensors + 1, sizeof *r->params);
    int rc = all && v && r->params ? 0 : qsdc_fail(err, "out of memory");
    if (rc == 0)
        rc = model_state_read(tc->env, tc->state, all, NULL, err);
    for (int t = 0; rc == 0 && t < p->n_tensors; t++) {
        const plan_tensor *pt = &p->tensors[t];
        if (pt->buffer != BUF_P || pt->nelem < 1 || is_carry(tc, pt))
            continue;
        param_record *pr = &r->params[r->n_params++];
        snprintf(pr->tensor, sizeof pr->tensor, "%s", pt->name);
        memcpy(v, all + pt->offset, (size_t)pt->nelem * sizeof *v);
        stats_summarise(v, pt->nelem, &pr->s);
        hist_sorted(v, pt->nelem, 0.001, 0.999, &pr->hist);
    }
    free(all);
    free(v);
    return rc;
}

static int measure_masks(const train_context *tc, const exp_measure *mc, qsdc_error *err)
{
    run_result *r = mc->r;
    const model *m = tc->m;
    float *v = malloc((size_t)mc->mask_draws * sizeof *v);
    r->masks = calloc((size_t)m->n_layers + 1, sizeof *r->masks);
    int rc = v && r->masks ? 0 : qsdc_fail(err, "out of memory");
    for (int i = 0; rc == 0 && i < m->n_layers; i++) {
        const layer *l = &m->layers[i];
        if (l->kind != LAYER_QSD && l->kind != LAYER_DROPOUT)
            continue;
        /* the generated kernels key layer i's masks by rng_id i + 1 */
        rc = qsd_sample_masks(tc->env, &l->qsd, (uint32_t)r->seed, (uint32_t)i + 1,
                              mc->mask_draws, v, err);
        if (rc < 0)
            break;
        mask_record *k = &r->masks[r->n_masks++];
        snprintf(k->layer, sizeof k->layer, "%s", l->name);
        k->draws = mc->mask_draws;
        k->want_mean = 1;
        k->want_var = qsd_mask_variance(&l->qsd);
        k->want_pr_zero = qsd_mask_pr_zero(&l->qsd);
        double sum = 0, ss = 0;
        int64_t zeros = 0, nz = 0;
        for (int64_t j = 0; j < k->draws; j++) {
            sum += v[j];
            zeros += v[j] == 0.0f;
        }
        k->mean = sum / (double)k->draws;
        for (int64_t j = 0; j < k->draws; j++)
            ss += (v[j] - k->mean) * (v[j] - k->mean);
        k->var = ss / (double)(k->draws - 1);
        k->pr_zero = (double)zeros / (double)k->draws;
        for (int64_t j = 0; j < k->draws; j++)
            if (v[j] != 0.0f)
                v[nz++] = v[j];
        stats_sort(v, nz);
        if (nz > 0)
            hist_sorted(v, nz, 0, 0.999, &k->hist);
        else
            hist_init(&k->hist, 0, 1, RESULT_BINS);
    }
    free(v);
    return rc;
}

/* A language model's test perplexity, and its sequences of `steps` tokens
 * as samples. */
static int measure_perplexity(const train_context *tc, run_result *r, qsdc_error *err)
{
    const lm_source *lm = tc->lm;
    r->train_samples = lm_source_batches(lm, TEXT_TRAIN) * lm->batch;
    r->test_samples = lm_source_batches(lm, TEXT_TEST) * lm->batch;
    r->test = tc->summary->test_perplexity;
    if (!isfinite(r->test))
        return qsdc_fail(err, "%s: an experiment needs a test split of at least one batch "
                              "(%lld streams of %lld tokens)", tc->m->train.text_path,
                         (long long)lm->batch, (long long)lm->steps + 1);
    return 0;
}

int experiment_measure(void *ctx, const train_context *tc, qsdc_error *err)
{
    exp_measure *mc = ctx;
    snprintf(mc->r->device, sizeof mc->r->device, "%s", tc->env->dev.name);
    mc->r->train_samples = tc->train->count;
    if (!tc->lm && tc->test->count < 1)
        return qsdc_fail(err, "%s: an experiment needs test data (train: data: "
                              "test_images, test_labels)", tc->m->path);
    if ((tc->lm ? measure_perplexity(tc, mc->r, err) : measure_activity(tc, mc->r, err)) < 0 ||
        measure_params(tc, mc->r, err) < 0 || measure_masks(tc, mc, err) < 0)
        return qsdc_error_wrap(err, "measuring the trained model");
    return 0;
}
