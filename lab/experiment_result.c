/* result.json's reading side (experiment_result_write.c writes it): the
 * YAML reader (JSON is YAML's flow style), so a damaged file is reported at
 * its line and column; and a run's metrics lines. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment_result.h"
#include "file_io.h"
#include "yaml_doc.h"

const char *result_metric_name(result_metric m)
{
    return m == RESULT_PERPLEXITY ? "perplexity" : "accuracy";
}

void result_metric_key(char out[32], const char *split, result_metric m)
{
    snprintf(out, 32, "%s_%s", split, result_metric_name(m));
}

int result_path(char out[QSDC_PATH_MAX], qsdc_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, QSDC_PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= QSDC_PATH_MAX)
        return qsdc_fail(err, "%.60s...: path longer than %d bytes", out, QSDC_PATH_MAX - 1);
    return 0;
}

void result_free(run_result *r)
{
    free(r->epochs);
    free(r->activity);
    free(r->params);
    free(r->masks);
    memset(r, 0, sizeof *r);
}

/* The reading side: every access checks the node's type and names the
 * missing key or the wrong value at its line and column. */
static yaml_node_t *field(ydoc *d, yaml_node_t *map, const char *key)
{
    if (map->type != YAML_MAPPING_NODE) {
        ydoc_fail_found(d, map, "a mapping");
        return NULL;
    }
    yaml_node_t *v = ydoc_get(d, map, key);
    if (!v)
        ydoc_fail(d, map, "missing key '%s'", key);
    return v;
}

/* A number in [lo, hi], or null: NaN (a value not measured, or one not
 * finite when written). */
static int num_node(ydoc *d, yaml_node_t *v, const char *key, double lo, double hi,
                    double *out)
{
    if (v->type == YAML_SCALAR_NODE && strcmp(ydoc_kind(v), "null") == 0) {
        *out = NAN;
        return 0;
    }
    return ydoc_float(d, v, key, lo, hi, 0, out);
}

static int num_in(ydoc *d, yaml_node_t *map, const char *key, double lo, double hi,
                  double *out)
{
    yaml_node_t *v = field(d, map, key);
    return v ? num_node(d, v, key, lo, hi, out) : -1;
}

static int num(ydoc *d, yaml_node_t *map, const char *key, double *out)
{
    return num_in(d, map, key, -HUGE_VAL, HUGE_VAL, out);
}

/* Losses, times, mask moments: never negative. */
static int non_negative(ydoc *d, yaml_node_t *map, const char *key, double *out)
{
    return num_in(d, map, key, 0, HUGE_VAL, out);
}

/* Fractions: zero fraction, Hoyer sparsity, Pr[m = 0]. */
static int fraction(ydoc *d, yaml_node_t *map, const char *key, double *out)
{
    return num_in(d, map, key, 0, 1, out);
}

/* A score in metric m: accuracy in percent, or perplexity, which is 1 for a
 * model certain of every token and more for any other. */
static int score(ydoc *d, yaml_node_t *map, const char *key, result_metric m, double *out)
{
    return m == RESULT_PERPLEXITY ? num_in(d, map, key, 1, HUGE_VAL, out)
                                  : num_in(d, map, key, 0, 100, out);
}

static int count(ydoc *d, yaml_node_t *map, const char *key, int64_t *out)
{
    yaml_node_t *v = field(d, map, key);
    return v ? ydoc_int(d, v, key, 0, INT64_MAX, out) : -1;
}

static int text(ydoc *d, yaml_node_t *map, const char *key, char *out, size_t cap)
{
    yaml_node_t *v = field(d, map, key);
    const char *s;
    if (!v || ydoc_string(d, v, key, &s) < 0)
        return -1;
    if (strlen(s) >= cap)
        return ydoc_fail(d, v, "'%s' is longer than %zu characters", key, cap - 1);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int choice(ydoc *d, yaml_node_t *map, const char *key, const char *const *names,
                  int *out)
{
    yaml_node_t *v = field(d, map, key);
    return v ? ydoc_choice(d, v, key, names, out) : -1;
}

/* The list under key: its items and their number. */
static yaml_node_item_t *list(ydoc *d, yaml_node_t *map, const char *key, int *n)
{
    yaml_node_t *v = field(d, map, key);
    if (!v || ydoc_expect(d, v, key, YAML_SEQUENCE_NODE) < 0)
        return NULL;
    *n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
    return v->data.sequence.items.start;
}

static int read_hist(ydoc *d, yaml_node_t *map, const char *key, histogram *h)
{
    yaml_node_t *v = field(d, map, key);
    int n;
    yaml_node_item_t *it;
    if (!v || num(d, v, "lo", &h->lo) < 0 || num(d, v, "hi", &h->hi) < 0 ||
        count(d, v, "outside", &h->outside) < 0 || !(it = list(d, v, "counts", &n)))
        return -1;
    if (n < 1 || n > STATS_MAX_BINS)
        return ydoc_fail(d, v, "'counts' must have 1 to %d bins, found %d", STATS_MAX_BINS,
                         n);
    h->bins = n;
    for (int i = 0; i < n; i++)
        if (ydoc_int(d, ydoc_node(d, it[i]), "counts", 0, INT64_MAX, &h->counts[i]) < 0)
            return -1;
    return 0;
}

/* Allocates *items for the list under key and calls one per element. */
static int read_list(ydoc *d, yaml_node_t *root, const char *key, size_t size,
                     void **items, int *n,
                     int (*one)(ydoc *, yaml_node_t *, void *, const void *), const void *ctx)
{
    yaml_node_item_t *it = list(d, root, key, n);
    if (!it)
        return -1;
    *items = calloc((size_t)*n + 1, size);
    if (!*items)
        return qsdc_fail(d->err, "out of memory");
    for (int i = 0; i < *n; i++)
        if (one(d, ydoc_node(d, it[i]), (char *)*items + (size_t)i * size, ctx) < 0)
            return -1;
    return 0;
}

/* An epoch scored in the metric *(result_metric *)metric. */
static int read_epoch(ydoc *d, yaml_node_t *n, void *out, const void *metric)
{
    epoch_record *e = out;
    result_metric m = *(const result_metric *)metric;
    char val[32], test[32];
    result_metric_key(val, "val", m);
    result_metric_key(test, "test", m);
    return count(d, n, "epoch", &e->epoch) < 0 ||
                   non_negative(d, n, "train_loss", &e->train_loss) < 0 ||
                   score(d, n, val, m, &e->val) < 0 || score(d, n, test, m, &e->test) < 0 ||
                   non_negative(d, n, "seconds", &e->seconds) < 0
               ? -1
               : 0;
}

static int read_activity(ydoc *d, yaml_node_t *n, void *out, const void *unused)
{
    (void)unused;
    activity_record *a = out;
    return text(d, n, "layer", a->layer, sizeof a->layer) < 0 ||
                   count(d, n, "units", &a->units) < 0 ||
                   count(d, n, "samples", &a->samples) < 0 ||
                   count(d, n, "all_zero", &a->all_zero) < 0 ||
                   fraction(d, n, "zero_fraction", &a->zero_mean) < 0 ||
                   fraction(d, n, "hoyer", &a->hoyer_mean) < 0 ||
                   read_hist(d, n, "zero_hist", &a->zero_hist) < 0 ||
                   read_hist(d, n, "hoyer_hist", &a->hoyer_hist) < 0
               ? -1
               : 0;
}

static int read_param(ydoc *d, yaml_node_t *n, void *out, const void *unused)
{
    (void)unused;
    param_record *p = out;
    int nq;
    yaml_node_item_t *q;
    if (text(d, n, "tensor", p->tensor, sizeof p->tensor) < 0 ||
        count(d, n, "count", &p->s.n) < 0 || num(d, n, "mean", &p->s.mean) < 0 ||
        num(d, n, "sd", &p->s.sd) < 0 || num(d, n, "min", &p->s.min) < 0 ||
        num(d, n, "max", &p->s.max) < 0 || !(q = list(d, n, "quantiles", &nq)) ||
        read_hist(d, n, "hist", &p->hist) < 0)
        return -1;
    if (nq != STATS_N_QUANTILES)
        return ydoc_fail(d, n, "'quantiles' must have %d values, found %d",
                         STATS_N_QUANTILES, nq);
    for (int i = 0; i < nq; i++)
        if (num_node(d, ydoc_node(d, q[i]), "quantiles", -HUGE_VAL, HUGE_VAL, &p->s.q[i]) < 0)
            return -1;
    return 0;
}

static int read_mask(ydoc *d, yaml_node_t *n, void *out, const void *unused)
{
    (void)unused;
    mask_record *m = out;
    yaml_node_t *want;
    return text(d, n, "layer", m->layer, sizeof m->layer) < 0 ||
                   count(d, n, "draws", &m->draws) < 0 ||
                   non_negative(d, n, "mean", &m->mean) < 0 ||
                   non_negative(d, n, "var", &m->var) < 0 ||
                   fraction(d, n, "pr_zero", &m->pr_zero) < 0 ||
                   !(want = field(d, n, "expected")) ||
                   non_negative(d, want, "mean", &m->want_mean) < 0 ||
                   non_negative(d, want, "var", &m->want_var) < 0 ||
                   fraction(d, want, "pr_zero", &m->want_pr_zero) < 0 ||
                   read_hist(d, n, "hist", &m->hist) < 0
               ? -1
               : 0;
}

static int read_qsd(ydoc *d, yaml_node_t *root, qsdc_qsd_params *q)
{
    static const char *const shares[] = {"element", "channel", "time", NULL};
    yaml_node_t *n = field(d, root, "qsd");
    int64_t sites;
    int share;
    if (!n || num(d, n, "p", &q->p) < 0 || count(d, n, "sites", &sites) < 0 ||
        num(d, n, "q_cv", &q->q_cv) < 0 ||
        num(d, n, "p_concentration", &q->p_concentration) < 0 ||
        choice(d, n, "share", shares, &share) < 0)
        return -1;
    q->sites = (int)sites;
    q->share = share;
    if (!ydoc_get(d, n, "hetero"))
        return 0;
    static const char *const heteros[] = {"element", "unit", NULL};
    return choice(d, n, "hetero", heteros, &q->hetero) < 0 ||
                   num_in(d, n, "anneal", 0, HUGE_VAL, &q->anneal) < 0
               ? -1
               : 0;
}

/* "metric": accuracy or perplexity; files written before language models
 * had no such key and are accuracy. */
static int read_metric(ydoc *d, yaml_node_t *root, result_metric *m)
{
    static const char *const metrics[] = {"accuracy", "perplexity", NULL};
    int which = 0;
    *m = RESULT_ACCURACY;
    if (ydoc_get(d, root, "metric") && choice(d, root, "metric", metrics, &which) < 0)
        return -1;
    *m = (result_metric)which;
    return 0;
}

/* A strength sweep's record: 1 to RESULT_MAX_CANDIDATES candidates,
 * strengths in (0, 1], and the chosen one among them. */
static int read_selection(ydoc *d, yaml_node_t *n, run_result *r)
{
    static const char *const swept[] = {"p", "dropout_p", NULL};
    selection_record *s = &r->selection;
    char val[32];
    int which, k;
    int64_t chosen;
    result_metric_key(val, "val", r->metric);
    yaml_node_item_t *c;
    if (choice(d, n, "swept", swept, &which) < 0 || count(d, n, "chosen", &chosen) < 0 ||
        !(c = list(d, n, "candidates", &k)))
        return -1;
    if (k < 1 || k > RESULT_MAX_CANDIDATES)
        return ydoc_fail(d, n, "a selection has 1 to %d candidates, not %d",
                         RESULT_MAX_CANDIDATES, k);
    if (chosen >= k)
        return ydoc_fail(d, ydoc_get(d, n, "chosen"), "'chosen' is %lld of %d candidates",
                         (long long)chosen, k);
    s->swept_p0 = which == 1;
    s->n = k;
    s->chosen = (int)chosen;
    for (int i = 0; i < k; i++) {
        yaml_node_t *e = ydoc_node(d, c[i]);
        if (num_in(d, e, "strength", 1e-300, 1, &s->strength[i]) < 0 ||
            score(d, e, val, r->metric, &s->val[i]) < 0)
            return -1;
        if (!isfinite(s->strength[i]))
            return ydoc_fail(d, e, "a candidate's strength is a number in (0, 1]");
    }
    return 0;
}

static int read_result(ydoc *d, run_result *r)
{
    static const char *const kinds[] = {"none", "dropout", "qsd", NULL};
    static const char *const matches[] = {"explicit", "silence", "variance", NULL};
    yaml_node_t *root = ydoc_root(d), *v;
    char format[64], test[32];
    int64_t index, seed;
    int kind, match;
    if (text(d, root, "format", format, sizeof format) < 0)
        return -1;
    if (strcmp(format, RESULT_FORMAT) != 0)
        return ydoc_fail(d, ydoc_get(d, root, "format"), "unknown format '%s' (expected %s)",
                         format, RESULT_FORMAT);
    /* the experiment's name names the report's figure files */
    if (!(v = field(d, root, "experiment")) ||
        ydoc_ident(d, v, "experiment", r->experiment) < 0 ||
        text(d, root, "setting", r->setting, sizeof r->setting) < 0 ||
        count(d, root, "setting_index", &index) < 0 ||
        choice(d, root, "kind", kinds, &kind) < 0 ||
        choice(d, root, "match", matches, &match) < 0 || read_qsd(d, root, &r->qsd) < 0 ||
        count(d, root, "seed", &seed) < 0 || !(v = field(d, root, "quick")) ||
        ydoc_bool(d, v, "quick", &r->quick) < 0 ||
        text(d, root, "fingerprint", r->fingerprint, sizeof r->fingerprint) < 0 ||
        text(d, root, "device", r->device, sizeof r->device) < 0 ||
        count(d, root, "train_samples", &r->train_samples) < 0 ||
        count(d, root, "test_samples", &r->test_samples) < 0 ||
        non_negative(d, root, "train_seconds", &r->train_seconds) < 0 ||
        read_metric(d, root, &r->metric) < 0)
        return -1;
    result_metric_key(test, "test", r->metric);
    if (score(d, root, test, r->metric, &r->test) < 0 ||
        ((v = ydoc_get(d, root, "selection")) && read_selection(d, v, r) < 0))
        return -1;
    r->setting_index = (int)index;
    r->kind = (setting_kind)kind;
    r->match = (match_kind)match;
    r->seed = (uint64_t)seed;
    return read_list(d, root, "epochs", sizeof *r->epochs, (void **)&r->epochs, &r->n_epochs,
                     read_epoch, &r->metric) < 0 ||
                   read_list(d, root, "activity", sizeof *r->activity,
                             (void **)&r->activity, &r->n_activity, read_activity, NULL) < 0 ||
                   read_list(d, root, "parameters", sizeof *r->params, (void **)&r->params,
                             &r->n_params, read_param, NULL) < 0 ||
                   read_list(d, root, "masks", sizeof *r->masks, (void **)&r->masks,
                             &r->n_masks, read_mask, NULL) < 0
               ? -1
               : 0;
}

int result_read(const char *path, run_result *r, qsdc_error *err)
{
    memset(r, 0, sizeof *r);
    ydoc d;
    int rc = ydoc_load_file(&d, path, err);
    if (rc == 0) {
        rc = read_result(&d, r);
        ydoc_free(&d);
    }
    if (rc < 0)
        result_free(r);
    return rc;
}

/* One metrics line: where is "FILE (line N)" so messages point at it. */
static int read_metrics_line(const char *where, const char *line, size_t len,
                             result_metric metric, epoch_record *e, qsdc_error *err)
{
    ydoc d;
    if (ydoc_load(&d, where, line, len, err) < 0)
        return -1;
    memset(e, 0, sizeof *e);
    yaml_node_t *root = ydoc_root(&d);
    int rc = read_epoch(&d, root, e, &metric);
    /* lines written before a line said which batches it covers lack these */
    if (rc == 0 && ydoc_get(&d, root, "batches"))
        rc = count(&d, root, "first_batch", &e->first_batch) < 0 ||
                     count(&d, root, "batches", &e->batches) < 0
                 ? -1
                 : 0;
    ydoc_free(&d);
    return rc;
}

/* The epoch of lines[last] whole: a run stopped inside an epoch and resumed
 * wrote a line for each stretch, so the stretches before lines[last]'s are
 * joined back to batch 0 (the latest line ending where the next begins;
 * a rerun stretch's line comes after the one it replaces), the loss
 * weighted by batches and the seconds summed. A line that does not say
 * its batches stands alone. */
static epoch_record join_epoch(const epoch_record *lines, int last)
{
    epoch_record e = lines[last];
    double loss_sum = e.train_loss * (double)e.batches;
    for (int i = last - 1; i >= 0 && e.batches > 0 && e.first_batch > 0; i--) {
        const epoch_record *l = &lines[i];
        if (l->epoch != e.epoch || l->batches <= 0 || l->first_batch + l->batches != e.first_batch)
            continue;
        loss_sum += l->train_loss * (double)l->batches;
        e.seconds += l->seconds;
        e.batches += l->batches;
        e.first_batch = l->first_batch;
    }
    if (e.batches > 0)
        e.train_loss = loss_sum / (double)e.batches;
    return e;
}

int result_read_metrics(const char *path, run_result *r, qsdc_error *err)
{
    unsigned char *data;
    size_t len;
    /* result.json holds the same epochs, in about as many bytes each */
    if (fs_read_file_max(path, YDOC_MAX_BYTES, &data, &len, err) < 0)
        return -1;
    free(r->epochs);
    r->epochs = NULL;
    r->n_epochs = 0;
    epoch_record *lines = NULL;
    int n = 0, cap = 0, rc = 0, line_no = 0;
    char *text_ = (char *)data;
    for (char *line = text_; rc == 0 && line < text_ + len;) {
        char *eol = strchr(line, '\n');
        size_t n_chars = eol ? (size_t)(eol - line) : strlen(line);
        line_no++;
        if (n_chars > 0 && n == cap) {
            cap = cap ? 2 * cap : 16;
            epoch_record *grown = realloc(lines, (size_t)cap * sizeof *grown);
            if (!grown)
                rc = qsdc_fail(err, "out of memory");
            else
                lines = grown;
        }
        if (rc == 0 && n_chars > 0) {
            char where[QSDC_PATH_MAX + 32];
            snprintf(where, sizeof where, "%s (line %d)", path, line_no);
            rc = read_metrics_line(where, line, n_chars, r->metric, &lines[n], err);
            n += rc == 0;
        }
        line += n_chars + 1;
    }
    free(data);
    /* each epoch once, in order of first appearance, from its last line */
    r->epochs = rc == 0 ? calloc((size_t)n + 1, sizeof *r->epochs) : NULL;
    if (rc == 0 && !r->epochs)
        rc = qsdc_fail(err, "out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        int at = r->n_epochs, last = i;
        for (int k = 0; k < r->n_epochs; k++)
            if (r->epochs[k].epoch == lines[i].epoch)
                at = k;
        if (at < r->n_epochs)
            continue;
        for (int j = i + 1; j < n; j++)
            if (lines[j].epoch == lines[i].epoch)
                last = j;
        r->epochs[r->n_epochs++] = join_epoch(lines, last);
    }
    free(lines);
    return rc;
}
