/* The experiment file (docs/experiments.md): the task's model, the
 * regulariser settings, seeds, epochs, train: overrides and the quick grid. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "file_io.h"
#include "yaml_doc.h"

#define QSD_MAX_SITES (1 << 20)

const char *setting_kind_name(setting_kind k)
{
    static const char *const names[] = {"none", "dropout", "qsd"};
    return (unsigned)k < 3 ? names[k] : "unknown";
}

const char *match_kind_name(match_kind k)
{
    static const char *const names[] = {"explicit", "silence", "variance"};
    return (unsigned)k < 3 ? names[k] : "unknown";
}

static bool regularised(const qsdc_layer_info *l)
{
    return !strcmp(l->op, "dropout") || !strcmp(l->op, "qsd");
}

/* Relative paths resolve against the experiment file's folder. */
static int resolve(ydoc *d, yaml_node_t *n, const char *key, char out[QSDC_PATH_MAX])
{
    const char *s;
    if (ydoc_string(d, n, key, &s) < 0)
        return -1;
    const char *slash = strrchr(d->path, '/');
    int dir = s[0] == '/' || !slash ? 0 : (int)(slash - d->path + 1);
    int len = snprintf(out, QSDC_PATH_MAX, "%.*s%s", dir, d->path, s);
    if (len < 0 || len >= QSDC_PATH_MAX)
        return ydoc_fail(d, n, "path for '%s' is too long", key);
    return 0;
}

/* seeds: N (meaning 1..N) or a list of distinct integers. */
static int parse_seeds(ydoc *d, yaml_node_t *n, const char *key, exp_grid *g)
{
    int64_t v;
    if (n->type == YAML_SCALAR_NODE) {
        if (ydoc_int(d, n, key, 1, EXP_MAX_SEEDS, &v) < 0)
            return -1;
        g->n_seeds = (int)v;
        for (int i = 0; i < g->n_seeds; i++)
            g->seeds[i] = (uint64_t)i + 1;
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE)
        return ydoc_fail_found(d, n, "a count or a list of integers for 'seeds'");
    g->n_seeds = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         it < n->data.sequence.items.top; it++) {
        yaml_node_t *s = ydoc_node(d, *it);
        if (g->n_seeds == EXP_MAX_SEEDS)
            return ydoc_fail(d, s, "at most %d seeds", EXP_MAX_SEEDS);
        if (ydoc_int(d, s, "seed", 0, UINT32_MAX, &v) < 0)
            return -1;
        for (int i = 0; i < g->n_seeds; i++)
            if (g->seeds[i] == (uint64_t)v)
                return ydoc_fail(d, s, "seed %lld is listed twice", (long long)v);
        g->seeds[g->n_seeds++] = (uint64_t)v;
    }
    if (g->n_seeds == 0)
        return ydoc_fail(d, n, "'%s' lists no seed", key);
    return 0;
}

static int opt_int(ydoc *d, yaml_node_t *map, const char *key, int64_t lo, int64_t hi,
                   int64_t *out)
{
    yaml_node_t *v = ydoc_get(d, map, key);
    return v ? ydoc_int(d, v, key, lo, hi, out) : 0;
}

static int opt_float(ydoc *d, yaml_node_t *map, const char *key, double lo, double hi,
                     unsigned open, double *out)
{
    yaml_node_t *v = ydoc_get(d, map, key);
    return v ? ydoc_float(d, v, key, lo, hi, open, out) : 0;
}

/* key's value (v, NULL: absent, *n = 0): one number in [QSDC_QSD_MIN_P, 1]
 * (*n = 1), or a list of 2 to EXP_MAX_STRENGTHS distinct ones to sweep;
 * their nodes into at[] for messages. */
static int parse_strengths(ydoc *d, yaml_node_t *v, const char *key, double *out,
                           yaml_node_t **at, int *n)
{
    *n = 0;
    if (!v)
        return 0;
    if (v->type != YAML_SEQUENCE_NODE) {
        at[0] = v;
        *n = 1;
        return ydoc_float(d, v, key, QSDC_QSD_MIN_P, 1, 0, &out[0]);
    }
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
        yaml_node_t *item = ydoc_node(d, *it);
        if (*n == EXP_MAX_STRENGTHS)
            return ydoc_fail(d, item, "at most %d strengths to sweep", EXP_MAX_STRENGTHS);
        if (ydoc_float(d, item, key, QSDC_QSD_MIN_P, 1, 0, &out[*n]) < 0)
            return -1;
        for (int i = 0; i < *n; i++)
            if (out[i] == out[*n])
                return ydoc_fail(d, item, "%s %g is listed twice", key, out[i]);
        at[(*n)++] = item;
    }
    if (*n < 2)
        return ydoc_fail(d, v, "a sweep of '%s' lists at least two strengths (or give one "
                               "number)",
                         key);
    return 0;
}

/* The setting's candidates from the strengths parsed: a sweep when there
 * are several, else the one strength as the setting's own. */
static void set_strengths(exp_setting *s, const double *v, int n, bool p0)
{
    s->qsd = s->candidates[0];
    if (n < 2)
        return;
    s->n_strengths = n;
    s->swept_p0 = p0;
    memcpy(s->strengths, v, (size_t)n * sizeof *v);
}

/* A QSD setting: match: silence|variance with sites, q_cv,
 * p_concentration, hetero and anneal (matched to dropout at p0, or at
 * each of dropout_p's), or p given (one, or several to sweep). */
static int parse_qsd(ydoc *d, yaml_node_t *n, double p0, exp_setting *s)
{
    static const char *const matches[] = {"silence", "variance", NULL};
    static const char *const heteros[] = {"element", "unit", NULL};
    qsdc_qsd_params *q = &s->qsd;
    int64_t sites = 1;
    yaml_node_t *h = ydoc_get(d, n, "hetero"), *a = ydoc_get(d, n, "anneal");
    if (opt_int(d, n, "sites", 1, QSD_MAX_SITES, &sites) < 0 ||
        opt_float(d, n, "q_cv", 0, INFINITY, 0, &q->q_cv) < 0 ||
        opt_float(d, n, "p_concentration", 0, INFINITY, YDOC_LO_OPEN,
                  &q->p_concentration) < 0 ||
        (h && ydoc_choice(d, h, "hetero", heteros, &q->hetero) < 0) ||
        opt_float(d, n, "anneal", 0, INFINITY, 0, &q->anneal) < 0)
        return -1;
    if (a && (q->hetero != QSDC_HETERO_UNIT || !(q->p_concentration > 0)))
        return ydoc_fail(d, a, "'anneal' needs hetero: unit and a p_concentration");
    q->sites = (int)sites;
    yaml_node_t *p = ydoc_get(d, n, "p"), *m = ydoc_get(d, n, "match");
    yaml_node_t *p0s = ydoc_get(d, n, "dropout_p"), *at[EXP_MAX_STRENGTHS];
    double v[EXP_MAX_STRENGTHS];
    int k;
    if (!p == !m)
        return ydoc_fail(d, n, "a qsd setting takes either 'p' or 'match' "
                               "(silence or variance)");
    if (p && p0s)
        return ydoc_fail(d, p0s, "'dropout_p' is the dropout a 'match' is matched to; this "
                                 "setting gives 'p'");
    if (p) {
        s->match = MATCH_EXPLICIT;
        if (parse_strengths(d, p, "p", v, at, &k) < 0)
            return -1;
        for (int i = 0; i < k; i++) {
            s->candidates[i] = *q;
            s->candidates[i].p = v[i];
        }
        set_strengths(s, v, k, false);
        return 0;
    }
    int which;
    if (ydoc_choice(d, m, "match", matches, &which) < 0 ||
        parse_strengths(d, p0s, "dropout_p", v, at, &k) < 0)
        return -1;
    if (k == 0) {
        v[0] = p0;
        at[0] = m;
        k = 1;
    }
    s->match = which == 0 ? MATCH_SILENCE : MATCH_VARIANCE;
    for (int i = 0; i < k; i++) {
        qsdc_qsd_params *c = &s->candidates[i];
        *c = *q;
        int rc = which == 0 ? qsd_match_silence(v[i], q, &c->p)
                            : qsd_match_variance(v[i], q, &c->p);
        if (rc < 0)
            return ydoc_fail(d, at[i],
                             "no release probability in (0, 1] gives QSD with sites %d, "
                             "q_cv %g the %s of dropout at p %g",
                             q->sites, q->q_cv, which == 0 ? "Pr[m = 0]" : "variance", v[i]);
    }
    set_strengths(s, v, k, true);
    return 0;
}

static int parse_setting(ydoc *d, yaml_node_t *n, double p0, exp_setting *s)
{
    static const char *const ops[] = {"none", "dropout", "qsd", NULL};
    static const char *const none_keys[] = {"op", "name", NULL};
    static const char *const dropout_keys[] = {"op", "name", "p", NULL};
    static const char *const qsd_keys[] = {"op",     "name",   "p",    "match",
                                           "sites",  "q_cv",   "p_concentration",
                                           "hetero", "anneal", "dropout_p", NULL};
    static const char *const *const keys[] = {none_keys, dropout_keys, qsd_keys};
    memset(s, 0, sizeof *s);
    int op = SETTING_QSD;
    yaml_node_t *v;
    if (n->type == YAML_SCALAR_NODE) {
        if (ydoc_choice(d, n, "setting", ops, &op) < 0)
            return -1;
        if (op == SETTING_QSD)
            return ydoc_fail(d, n, "a qsd setting is a mapping: {match: variance, "
                                   "sites: 4, q_cv: 0.5} or {p: 0.25, sites: 4, ...}");
    } else if (n->type != YAML_MAPPING_NODE) {
        return ydoc_fail_found(d, n, "a setting name or a mapping");
    } else if ((v = ydoc_get(d, n, "op")) && ydoc_choice(d, v, "op", ops, &op) < 0) {
        return -1;
    }
    char suffix[48];
    snprintf(suffix, sizeof suffix, " for a %s setting", ops[op]);
    if (n->type == YAML_MAPPING_NODE && ydoc_check_keys(d, n, keys[op], "key", suffix) < 0)
        return -1;
    s->kind = (setting_kind)op;
    s->qsd.p = 1;
    s->qsd.sites = 1;
    if (op == SETTING_DROPOUT) {
        yaml_node_t *at[EXP_MAX_STRENGTHS];
        double v[EXP_MAX_STRENGTHS] = {p0};
        int k = 0;
        if (n->type == YAML_MAPPING_NODE &&
            parse_strengths(d, ydoc_get(d, n, "p"), "p", v, at, &k) < 0)
            return -1;
        for (int i = 0; i < (k ? k : 1); i++)
            s->candidates[i] = (qsdc_qsd_params){.p = v[i], .sites = 1};
        set_strengths(s, v, k, false);
    } else if (op == SETTING_QSD && parse_qsd(d, n, p0, s) < 0) {
        return -1;
    }
    if (n->type == YAML_MAPPING_NODE && (v = ydoc_get(d, n, "name")))
        return ydoc_ident(d, v, "name", s->name);
    snprintf(s->name, sizeof s->name, "%s%s%s", ops[op], s->match ? "_" : "",
             s->match ? match_kind_name(s->match) : "");
    return 0;
}

static int parse_settings(ydoc *d, yaml_node_t *n, experiment *e)
{
    if (ydoc_expect(d, n, "settings", YAML_SEQUENCE_NODE) < 0)
        return -1;
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         it < n->data.sequence.items.top; it++) {
        yaml_node_t *item = ydoc_node(d, *it);
        if (e->n_settings == EXP_MAX_SETTINGS)
            return ydoc_fail(d, item, "at most %d settings", EXP_MAX_SETTINGS);
        exp_setting *s = &e->settings[e->n_settings];
        if (parse_setting(d, item, e->dropout_p, s) < 0)
            return -1;
        if (s->n_strengths > 0 && !e->has_validation)
            return ydoc_fail(d, item, "setting '%s' sweeps strengths, chosen on validation, "
                                      "and the model has no validation split: give it one "
                                      "(train: {val_split: 0.1})",
                             s->name);
        for (int i = 0; i < e->n_settings; i++)
            if (strcmp(e->settings[i].name, s->name) == 0)
                return ydoc_fail(d, item,
                                 "two settings are called '%s': give one a name: key",
                                 s->name);
        e->n_settings++;
    }
    if (e->n_settings == 0)
        return ydoc_fail(d, n, "'settings' lists no setting");
    return 0;
}

/* quick: {epochs, seeds, train_samples, test_samples, expected_minutes}:
 * defaults 1 epoch, the first two seeds, 6000 and 2000 samples. */
static int parse_quick(ydoc *d, yaml_node_t *n, experiment *e)
{
    static const char *const keys[] = {"epochs", "seeds", "train_samples", "test_samples",
                                       "expected_minutes", NULL};
    exp_grid *q = &e->quick;
    *q = e->full;
    q->epochs = 1;
    q->n_seeds = e->full.n_seeds < 2 ? e->full.n_seeds : 2;
    q->train_samples = 6000;
    q->test_samples = 2000;
    q->expected_minutes = 0;
    if (!n)
        return 0;
    yaml_node_t *v;
    if (ydoc_expect(d, n, "quick", YAML_MAPPING_NODE) < 0 ||
        ydoc_check_keys(d, n, keys, "key", " in 'quick'") < 0 ||
        opt_int(d, n, "epochs", 1, INT32_MAX, &q->epochs) < 0 ||
        opt_int(d, n, "train_samples", 1, INT64_MAX, &q->train_samples) < 0 ||
        opt_int(d, n, "test_samples", 1, INT64_MAX, &q->test_samples) < 0 ||
        opt_float(d, n, "expected_minutes", 0, INFINITY, YDOC_LO_OPEN,
                  &q->expected_minutes) < 0)
        return -1;
    return (v = ydoc_get(d, n, "seeds")) ? parse_seeds(d, v, "seeds", q) : 0;
}

/* The first dropout or qsd layer of m into *first (-1: none). */
static int first_regularised(const qsdc_model *m, qsdc_layer_info *first, int *index,
                             qsdc_error *err)
{
    int n = qsdc_model_layers(m, NULL, 0, err);
    qsdc_layer_info *layers = n < 0 ? NULL : calloc((size_t)n + 1, sizeof *layers);
    if (n >= 0 && !layers)
        return qsdc_fail(err, "out of memory");
    if (n < 0 || qsdc_model_layers(m, layers, n, err) < 0) {
        free(layers);
        return -1;
    }
    *index = -1;
    for (int i = 0; i < n && *index < 0; i++)
        if (regularised(&layers[i])) {
            *index = i;
            *first = layers[i];
        }
    free(layers);
    return 0;
}

/* The model file, with the experiment's train: overrides on top of its own
 * train: section; it must have a regularised layer and training data. */
static int load_base(ydoc *d, yaml_node_t *root, experiment *e)
{
    yaml_node_t *mn = ydoc_get(d, root, "model");
    char path[QSDC_PATH_MAX];
    if (resolve(d, mn, "model", path) < 0 || qsdc_model_load(path, &e->base, d->err) < 0 ||
        qsdc_model_override_train(e->base, d->path, "train", d->err) < 0)
        return -1;
    qsdc_model_info info;
    qsdc_layer_info first;
    int index;
    if (qsdc_model_get_info(e->base, &info, d->err) < 0 ||
        first_regularised(e->base, &first, &index, d->err) < 0)
        return -1;
    if (index < 0)
        return ydoc_fail(d, mn, "model %s has no dropout or qsd layer to regularise", path);
    e->metric = info.language_model ? RESULT_PERPLEXITY : RESULT_ACCURACY;
    e->has_validation = info.has_validation != 0;
    if (!info.has_test_data)
        return ydoc_fail(d, mn, "model %s needs training and test data (train: data:)",
                         path);
    e->dropout_p = !strcmp(first.op, "dropout") ? first.qsd.p : 0;
    e->full.epochs = info.epochs;
    return 0;
}

static int parse_plan(ydoc *d, yaml_node_t *root, experiment *e)
{
    char names[EXP_MAX_SETTINGS][QSDC_NAME_MAX];
    for (int i = 0; i < e->n_settings; i++)
        memcpy(names[i], e->settings[i].name, QSDC_NAME_MAX);
    snprintf(e->plan.experiment, sizeof e->plan.experiment, "%s", e->name);
    return plan_parse(d, root, names, e->n_settings, &e->plan);
}

static int parse_experiment(ydoc *d, experiment *e)
{
    static const char *const keys[] = {"name",       "model",  "settings", "seeds",
                                       "epochs",     "train",  "dropout_p", "mask_draws",
                                       "quick",      "expected_minutes", "train_subset",
                                       "primary",    "equivalence_margin", "sparsity_margin",
                                       NULL};
    yaml_node_t *root = ydoc_root(d), *v;
    if (root->type != YAML_MAPPING_NODE)
        return ydoc_fail_found(d, root, "a mapping at the top level");
    if (ydoc_check_keys(d, root, keys, "top-level key", "") < 0)
        return -1;
    static const char *const required[] = {"name", "model", "settings", "seeds", NULL};
    for (const char *const *k = required; *k; k++)
        if (!ydoc_get(d, root, *k))
            return ydoc_fail(d, root, "missing required key '%s'", *k);
    if (ydoc_ident(d, ydoc_get(d, root, "name"), "name", e->name) < 0 ||
        load_base(d, root, e) < 0 ||
        opt_float(d, root, "dropout_p", 0, 1, YDOC_LO_OPEN, &e->dropout_p) < 0)
        return -1;
    if (e->dropout_p == 0)
        return ydoc_fail(d, root, "missing key 'dropout_p': the model has no dropout "
                                  "layer to take dropout's keep probability from");
    e->mask_draws = 100000;
    if (parse_settings(d, ydoc_get(d, root, "settings"), e) < 0 ||
        parse_seeds(d, ydoc_get(d, root, "seeds"), "seeds", &e->full) < 0 ||
        opt_int(d, root, "epochs", 1, INT32_MAX, &e->full.epochs) < 0 ||
        opt_int(d, root, "mask_draws", 1000, 100000000, &e->mask_draws) < 0 ||
        opt_int(d, root, "train_subset", 1, INT64_MAX, &e->full.train_subset) < 0 ||
        opt_float(d, root, "expected_minutes", 0, INFINITY, YDOC_LO_OPEN,
                  &e->full.expected_minutes) < 0 ||
        parse_plan(d, root, e) < 0)
        return -1;
    v = ydoc_get(d, root, "quick");
    return parse_quick(d, v, e);
}

int experiment_load(const char *path, experiment *out, qsdc_error *err)
{
    unsigned char *text;
    size_t len;
    if (fs_read_file_max(path, YDOC_MAX_BYTES, &text, &len, err) < 0)
        return -1;
    experiment *e = calloc(1, sizeof *e);
    if (!e) {
        free(text);
        return qsdc_fail(err, "out of memory");
    }
    snprintf(e->path, sizeof e->path, "%s", path);
    ydoc d;
    int rc = ydoc_load(&d, e->path, (const char *)text, len, err);
    free(text);
    if (rc == 0) {
        rc = parse_experiment(&d, e);
        ydoc_free(&d);
    }
    if (rc == 0)
        *out = *e;
    else
        qsdc_model_free(e->base);
    free(e);
    return rc;
}

void experiment_free(experiment *e)
{
    qsdc_model_free(e->base);
    e->base = NULL;
}

int experiment_model(const experiment *e, const exp_setting *s, qsdc_model **out,
                     qsdc_error *err)
{
    int kind = s->kind == SETTING_NONE      ? QSDC_REG_NONE
               : s->kind == SETTING_DROPOUT ? QSDC_REG_DROPOUT
                                            : QSDC_REG_QSD;
    return qsdc_model_regularised(e->base, kind, &s->qsd, out, err);
}
