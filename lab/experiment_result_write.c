/* result.json's writing side: a string buffer written atomically.
 * Numbers have 9 significant digits (%.9g), which the reader
 * (experiment_result.c) gets back to within 1 part in 10^9; counts exactly. */
#include <math.h>
#include <stdio.h>

#include "experiment_result.h"
#include "file_io.h"
#include "json_string.h"
#include "strbuf.h"

/* A finite number, or null (read back as NaN). */
static void put_num(strbuf *sb, double x)
{
    if (isfinite(x))
        sb_printf(sb, "%.9g", x);
    else
        sb_append(sb, "null");
}

static void put_hist(strbuf *sb, const char *key, const histogram *h)
{
    sb_printf(sb, "\"%s\": {\"lo\": ", key);
    put_num(sb, h->lo);
    sb_append(sb, ", \"hi\": ");
    put_num(sb, h->hi);
    sb_printf(sb, ", \"outside\": %lld, \"counts\": [", (long long)h->outside);
    for (int i = 0; i < h->bins; i++)
        sb_printf(sb, "%s%lld", i ? ", " : "", (long long)h->counts[i]);
    sb_append(sb, "]}");
}

/* , "key": x */
static void put_field(strbuf *sb, const char *key, double x)
{
    sb_printf(sb, ", \"%s\": ", key);
    put_num(sb, x);
}

static void put_epochs(strbuf *sb, const run_result *r)
{
    char val[32], test[32];
    result_metric_key(val, "val", r->metric);
    result_metric_key(test, "test", r->metric);
    sb_append(sb, "  \"epochs\": [");
    for (int i = 0; i < r->n_epochs; i++) {
        const epoch_record *e = &r->epochs[i];
        sb_printf(sb, "%s\n    {\"epoch\": %lld", i ? "," : "", (long long)e->epoch);
        put_field(sb, "train_loss", e->train_loss);
        put_field(sb, val, e->val);
        put_field(sb, test, e->test);
        put_field(sb, "seconds", e->seconds);
        sb_append(sb, "}");
    }
    sb_append(sb, "\n  ],\n");
}

static void put_activity(strbuf *sb, const run_result *r)
{
    sb_append(sb, "  \"activity\": [");
    for (int i = 0; i < r->n_activity; i++) {
        const activity_record *a = &r->activity[i];
        sb_printf(sb, "%s\n    {\"layer\": ", i ? "," : "");
        json_put_string(sb, a->layer);
        sb_printf(sb, ", \"units\": %lld, \"samples\": %lld, \"all_zero\": %lld",
                  (long long)a->units, (long long)a->samples, (long long)a->all_zero);
        put_field(sb, "zero_fraction", a->zero_mean);
        put_field(sb, "hoyer", a->hoyer_mean);
        sb_append(sb, ",\n     ");
        put_hist(sb, "zero_hist", &a->zero_hist);
        sb_append(sb, ",\n     ");
        put_hist(sb, "hoyer_hist", &a->hoyer_hist);
        sb_append(sb, "}");
    }
    sb_append(sb, "\n  ],\n");
}

static void put_params(strbuf *sb, const run_result *r)
{
    sb_append(sb, "  \"parameters\": [");
    for (int i = 0; i < r->n_params; i++) {
        const param_record *p = &r->params[i];
        sb_printf(sb, "%s\n    {\"tensor\": ", i ? "," : "");
        json_put_string(sb, p->tensor);
        sb_printf(sb, ", \"count\": %lld", (long long)p->s.n);
        put_field(sb, "mean", p->s.mean);
        put_field(sb, "sd", p->s.sd);
        put_field(sb, "min", p->s.min);
        put_field(sb, "max", p->s.max);
        sb_append(sb, ", \"quantiles\": [");
        for (int q = 0; q < STATS_N_QUANTILES; q++) {
            sb_append(sb, q ? ", " : "");
            put_num(sb, p->s.q[q]);
        }
        sb_append(sb, "],\n     ");
        put_hist(sb, "hist", &p->hist);
        sb_append(sb, "}");
    }
    sb_append(sb, "\n  ],\n");
}

static void put_masks(strbuf *sb, const run_result *r)
{
    sb_append(sb, "  \"masks\": [");
    for (int i = 0; i < r->n_masks; i++) {
        const mask_record *m = &r->masks[i];
        sb_printf(sb, "%s\n    {\"layer\": ", i ? "," : "");
        json_put_string(sb, m->layer);
        sb_printf(sb, ", \"draws\": %lld", (long long)m->draws);
        put_field(sb, "mean", m->mean);
        put_field(sb, "var", m->var);
        put_field(sb, "pr_zero", m->pr_zero);
        sb_append(sb, ",\n     \"expected\": {\"mean\": ");
        put_num(sb, m->want_mean);
        put_field(sb, "var", m->want_var);
        put_field(sb, "pr_zero", m->want_pr_zero);
        sb_append(sb, "},\n     ");
        put_hist(sb, "hist", &m->hist);
        sb_append(sb, "}");
    }
    sb_append(sb, "\n  ]\n");
}

/* Only when the setting swept strengths: other files stay as they were. */
static void put_selection(strbuf *sb, const run_result *r)
{
    const selection_record *s = &r->selection;
    if (s->n == 0)
        return;
    char val[32];
    result_metric_key(val, "val", r->metric);
    sb_printf(sb, "  \"selection\": {\"swept\": \"%s\", \"by\": \"%s\", \"chosen\": %d, "
                  "\"candidates\": [",
              s->swept_p0 ? "dropout_p" : "p", val, s->chosen);
    for (int i = 0; i < s->n; i++) {
        sb_append(sb, i ? ", {\"strength\": " : "{\"strength\": ");
        put_num(sb, s->strength[i]);
        put_field(sb, val, s->val[i]);
        sb_append(sb, "}");
    }
    sb_append(sb, "]},\n");
}

int result_write(const char *path, const run_result *r, qsdc_error *err)
{
    static const char *const shares[] = {"element", "channel", "time"};
    strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "{\n  \"format\": \"%s\",\n  \"experiment\": ", RESULT_FORMAT);
    json_put_string(&sb, r->experiment);
    sb_append(&sb, ",\n  \"setting\": ");
    json_put_string(&sb, r->setting);
    sb_printf(&sb, ",\n  \"setting_index\": %d,\n  \"kind\": \"%s\",\n  \"match\": \"%s\",\n",
              r->setting_index, setting_kind_name(r->kind), match_kind_name(r->match));
    sb_append(&sb, "  \"qsd\": {\"p\": ");
    put_num(&sb, r->qsd.p);
    sb_printf(&sb, ", \"sites\": %d", r->qsd.sites);
    put_field(&sb, "q_cv", r->qsd.q_cv);
    put_field(&sb, "p_concentration", r->qsd.p_concentration);
    sb_printf(&sb, ", \"share\": \"%s\"", shares[r->qsd.share]);
    if (r->qsd.hetero == QSDC_HETERO_UNIT) { /* absent: element, as before it existed */
        sb_append(&sb, ", \"hetero\": \"unit\"");
        put_field(&sb, "anneal", r->qsd.anneal);
    }
    sb_append(&sb, "},\n");
    sb_printf(&sb, "  \"seed\": %llu,\n  \"quick\": %s,\n  \"fingerprint\": ",
              (unsigned long long)r->seed, r->quick ? "true" : "false");
    json_put_string(&sb, r->fingerprint);
    sb_append(&sb, ",\n  \"device\": ");
    json_put_string(&sb, r->device[0] ? r->device : "unknown");
    sb_printf(&sb, ",\n  \"train_samples\": %lld,\n  \"test_samples\": %lld,\n",
              (long long)r->train_samples, (long long)r->test_samples);
    sb_append(&sb, "  \"train_seconds\": ");
    put_num(&sb, r->train_seconds);
    char test[32];
    result_metric_key(test, "test", r->metric);
    sb_printf(&sb, ",\n  \"metric\": \"%s\",\n  \"%s\": ", result_metric_name(r->metric),
              test);
    put_num(&sb, r->test);
    sb_append(&sb, ",\n");
    put_selection(&sb, r);
    put_epochs(&sb, r);
    put_activity(&sb, r);
    put_params(&sb, r);
    put_masks(&sb, r);
    sb_append(&sb, "}\n");
    int rc = sb_check(&sb, err);
    if (rc == 0)
        rc = fs_write_atomic(path, NULL, 0, sb_str(&sb), sb.len, err);
    sb_free(&sb);
    return rc;
}
