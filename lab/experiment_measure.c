/* What an experiment records of a trained model, through its session: test
 * accuracy and hidden-layer activity on the test set, parameter
 * distributions, and masks drawn on the device for each regularised layer.
 * A language model records the test perplexity its training measured after
 * the last epoch, and no activity (its test set is streams of tokens, not
 * samples). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "experiment.h"

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

/* The activity records being filled: per hidden layer and test sample the
 * zero fraction, then the Hoyer sparsity (vals[layer][2 * total]). */
typedef struct activity {
    run_result *r;
    int cap;
    double **vals;
} activity;

static int take_activations(void *ctx, const qsdc_activations *a, qsdc_error *err)
{
    activity *act = ctx;
    run_result *r = act->r;
    if (a->layer >= act->cap)
        return qsdc_fail(err, "hidden layer %d of a model of %d layers", a->layer, act->cap);
    if (a->layer == r->n_activity) { /* first met */
        activity_record *rec = &r->activity[r->n_activity++];
        snprintf(rec->layer, sizeof rec->layer, "%s", a->name);
        rec->units = a->units;
        act->vals[a->layer] = malloc(((size_t)a->total * 2 + 1) * sizeof **act->vals);
        if (!act->vals[a->layer])
            return qsdc_fail(err, "out of memory");
    }
    double *zero = act->vals[a->layer];
    sample_activity(&r->activity[a->layer], a->x, a->count, zero + a->first,
                    zero + a->total + a->first);
    return 0;
}

/* The test set through an observing plan: accuracy and activity. */
static int measure_activity(qsdc_session *s, int64_t test_samples, int n_layers, run_result *r,
                            qsdc_error *err)
{
    activity act = {.r = r, .cap = n_layers};
    r->activity = calloc((size_t)n_layers + 1, sizeof *r->activity);
    act.vals = calloc((size_t)n_layers + 1, sizeof *act.vals);
    qsdc_eval_result ev;
    int rc = r->activity && act.vals ? 0 : qsdc_fail(err, "out of memory");
    if (rc == 0)
        rc = qsdc_session_observe(s, test_samples, take_activations, &act, &ev, err);
    for (int i = 0; rc == 0 && i < r->n_activity; i++) {
        activity_record *a = &r->activity[i];
        const double *zero = act.vals[i];
        int64_t defined;
        summarise_values(zero, ev.count, &a->zero_mean, &a->zero_hist, &a->samples);
        summarise_values(zero + ev.count, ev.count, &a->hoyer_mean, &a->hoyer_hist, &defined);
        a->all_zero = a->samples - defined;
    }
    if (rc == 0) {
        r->test_samples = ev.count;
        r->test = ev.count ? 100.0 * (double)ev.correct / (double)ev.count : 0;
    }
    for (int i = 0; act.vals && i < n_layers; i++)
        free(act.vals[i]);
    free(act.vals);
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

static int take_tensor(void *ctx, const char *name, const float *values, int64_t n,
                       qsdc_error *err)
{
    run_result *r = ctx;
    param_record *more = realloc(r->params, ((size_t)r->n_params + 1) * sizeof *more);
    float *v = malloc((size_t)n * sizeof *v);
    if (more)
        r->params = more;
    if (!more || !v) {
        free(v);
        return qsdc_fail(err, "out of memory");
    }
    param_record *rec = &r->params[r->n_params++];
    memset(rec, 0, sizeof *rec);
    snprintf(rec->tensor, sizeof rec->tensor, "%s", name);
    memcpy(v, values, (size_t)n * sizeof *v);
    stats_summarise(v, n, &rec->s);
    hist_sorted(v, n, 0.001, 0.999, &rec->hist);
    free(v);
    return 0;
}

static void mask_moments(mask_record *k, float *v)
{
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

static int measure_masks(qsdc_session *s, const qsdc_layer_info *layers, int n_layers,
                         int64_t draws, run_result *r, qsdc_error *err)
{
    float *v = malloc((size_t)draws * sizeof *v);
    r->masks = calloc((size_t)n_layers + 1, sizeof *r->masks);
    int rc = v && r->masks ? 0 : qsdc_fail(err, "out of memory");
    for (int i = 0; rc == 0 && i < n_layers; i++) {
        const qsdc_layer_info *l = &layers[i];
        if (strcmp(l->op, "qsd") != 0 && strcmp(l->op, "dropout") != 0)
            continue;
        rc = qsdc_session_sample_masks(s, l->name, r->seed, draws, v, err);
        if (rc < 0)
            break;
        mask_record *k = &r->masks[r->n_masks++];
        snprintf(k->layer, sizeof k->layer, "%s", l->name);
        k->draws = draws;
        k->want_mean = 1;
        k->want_var = qsd_mask_variance(&l->qsd);
        k->want_pr_zero = qsd_mask_pr_zero(&l->qsd);
        mask_moments(k, v);
    }
    free(v);
    return rc;
}

/* A language model's test perplexity, and its sequences as samples. */
static int measure_perplexity(const exp_measure *mc, const qsdc_session_info *info,
                              run_result *r, qsdc_error *err)
{
    r->test_samples = mc->trained->test_samples;
    r->test = mc->trained->test_perplexity;
    if (!isfinite(r->test))
        return qsdc_fail(err, "%s: an experiment needs a test split of at least one batch "
                              "(%lld streams of %lld tokens)", info->model,
                         (long long)info->batch, (long long)info->input_shape[0] + 1);
    return 0;
}

static int measure(const exp_measure *mc, const qsdc_layer_info *layers, int n_layers,
                   run_result *r, qsdc_error *err)
{
    qsdc_session_info info;
    qsdc_model_info mi;
    if (qsdc_session_get_info(mc->s, &info, err) < 0 ||
        qsdc_model_get_info(mc->m, &mi, err) < 0)
        return -1;
    snprintf(r->device, sizeof r->device, "%s", info.device);
    r->train_samples = mc->trained->train_samples;
    if (mi.language_model ? measure_perplexity(mc, &info, r, err) < 0
                          : measure_activity(mc->s, mc->test_samples, n_layers, r, err) < 0)
        return -1;
    if (!mi.language_model && r->test_samples < 1)
        return qsdc_fail(err, "%s: an experiment needs test data (train: data: test_images, "
                              "test_labels)", info.model);
    return qsdc_session_weights(mc->s, take_tensor, r, err) < 0 ||
                   measure_masks(mc->s, layers, n_layers, mc->mask_draws, r, err) < 0
               ? -1
               : 0;
}

int experiment_measure(const exp_measure *mc, run_result *r, qsdc_error *err)
{
    int n = qsdc_model_layers(mc->m, NULL, 0, err);
    qsdc_layer_info *layers = n < 0 ? NULL : calloc((size_t)n + 1, sizeof *layers);
    int rc = n < 0 ? -1 : layers ? qsdc_model_layers(mc->m, layers, n, err)
                                 : qsdc_fail(err, "out of memory");
    if (rc >= 0)
        rc = measure(mc, layers, n, r, err);
    free(layers);
    return rc < 0 ? qsdc_error_wrap(err, "measuring the trained model") : 0;
}
