/* Experiment files, the settings they resolve to, QSD.md's analytic mask
 * moments and matched settings, the model each setting trains, and the
 * result.json round trip.
 *
 * Tolerances: QSD.md's table is printed to 4 decimals (5e-5); closed forms
 * computed two ways agree to 1e-12; the bisection for matched silence with
 * a beta-distributed release probability stops at an interval of 1e-15 in
 * p (1e-9 leaves room for Pr[m = 0]'s rounding near the root); result.json
 * keeps 9 significant digits (relative 5e-9, checked at 1e-8). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "experiment.h"
#include "report.h"
#include "session.h"
#include "support.h"

/* QSD.md, "Worked values". */
static const struct {
    double p;
    int n;
    double v, c, var, pr_zero;
} table[] = {
    {0.5, 1, 0, 0, 1.0000, 0.5000},
    {0.25, 4, 0.5, 0, 1.0000, 0.3164},
    {0.5, 4, 0.5, 4, 0.5250, 0.1429},
    {0.3, 8, 0.3, 2, 1.0097, 0.2976},
};
#define N_TABLE (sizeof table / sizeof table[0])

static void test_analytic_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TABLE; i++) {
        qsdc_qsd_params q = {.p = table[i].p, .sites = table[i].n, .q_cv = table[i].v,
                        .p_concentration = table[i].c};
        double var = qsd_mask_variance(&q), pz = qsd_mask_pr_zero(&q);
        if (fabs(var - table[i].var) > 5e-5 || fabs(pz - table[i].pr_zero) > 5e-5)
            fail_msg("row %zu: Var %.5f Pr0 %.5f, QSD.md %.4f %.4f", i, var, pz, table[i].var,
                     table[i].pr_zero);
    }
}

/* Dropout at p0 as QSD's special case, and the two matched settings of
 * QSD.md: p = 0.25, n = 4, v = 0.5 matches p0 = 0.5 in variance. */
static void test_matched_closed_forms(void **state)
{
    (void)state;
    double p;
    const qsdc_qsd_params n4 = {.sites = 4, .q_cv = 0.5}, n1 = {.sites = 1},
                          v2 = {.sites = 1, .q_cv = 2};
    assert_int_equal(qsd_match_variance(0.5, &n4, &p), 0);
    assert_true(fabs(p - 0.25) < 1e-12);
    assert_int_equal(qsd_match_silence(0.5, &n4, &p), 0);
    assert_true(fabs(p - (1 - pow(0.5, 0.25))) < 1e-12);
    qsdc_qsd_params q = {.p = p, .sites = 4, .q_cv = 0.5};
    assert_true(fabs(qsd_mask_pr_zero(&q) - 0.5) < 1e-12);
    /* one site, no quantal noise: dropout itself, both ways */
    assert_int_equal(qsd_match_variance(0.7, &n1, &p), 0);
    assert_true(fabs(p - 0.7) < 1e-12);
    assert_int_equal(qsd_match_silence(0.7, &n1, &p), 0);
    assert_true(fabs(p - 0.7) < 1e-12);
    /* (1 + 4) / (1 + 1) > 1: no p gives one site with v = 2 dropout's variance */
    assert_int_equal(qsd_match_variance(0.5, &v2, &p), -1);
    assert_int_equal(qsd_match_variance(0, &n4, &p), -1);
}

/* Each table row is the matched setting of the dropout with its Pr[m=0]
 * (silence) and with its variance. */
static void test_matched_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TABLE; i++) {
        qsdc_qsd_params q = {.p = table[i].p, .sites = table[i].n, .q_cv = table[i].v,
                        .p_concentration = table[i].c};
        double p;
        assert_int_equal(qsd_match_silence(1 - qsd_mask_pr_zero(&q), &q, &p), 0);
        if (fabs(p - q.p) > 1e-9)
            fail_msg("row %zu: matched silence p %.12f, want %g", i, p, q.p);
        assert_int_equal(qsd_match_variance(1 / (1 + qsd_mask_variance(&q)), &q, &p), 0);
        if (fabs(p - q.p) > 1e-12)
            fail_msg("row %zu: matched variance p %.15f, want %g", i, p, q.p);
    }
}

/* QSD.md's table for hetero: unit: its variance and Pr[m = 0], and each row
 * the matched setting of the dropout with its silence and its variance. */
static void test_unit_table(void **state)
{
    (void)state;
    static const struct { double p, n, v, c, var, pr_zero; } unit_table[] = {
        {0.5, 1, 0, 0, 1.0000, 0.5000},   {0.5, 1, 0.5, 4, 1.5000, 0.5000},
        {0.8, 1, 0.3, 2, 0.3625, 0.2000}, {0.25, 4, 0.5, 0, 1.1875, 0.3164},
        {0.5, 4, 0.5, 4, 0.7500, 0.1429}, {0.3, 8, 0.3, 2, 1.1497, 0.2976},
    };
    for (size_t i = 0; i < sizeof unit_table / sizeof unit_table[0]; i++) {
        qsdc_qsd_params q = {.p = unit_table[i].p, .sites = (int)unit_table[i].n,
                             .q_cv = unit_table[i].v, .p_concentration = unit_table[i].c,
                             .hetero = QSDC_HETERO_UNIT};
        double var = qsd_mask_variance(&q), pz = qsd_mask_pr_zero(&q), p;
        if (fabs(var - unit_table[i].var) > 5e-5 || fabs(pz - unit_table[i].pr_zero) > 5e-5)
            fail_msg("unit row %zu: Var %.5f Pr0 %.5f, QSD.md %.4f %.4f", i, var, pz,
                     unit_table[i].var, unit_table[i].pr_zero);
        assert_int_equal(qsd_match_silence(1 - pz, &q, &p), 0);
        if (fabs(p - q.p) > 1e-9)
            fail_msg("unit row %zu: matched silence p %.12f, want %g", i, p, q.p);
        assert_int_equal(qsd_match_variance(1 / (1 + var), &q, &p), 0);
        if (fabs(p - q.p) > 1e-12)
            fail_msg("unit row %zu: matched variance p %.15f, want %g", i, p, q.p);
    }
}

static const char base_model[] =
    "name: base\n"
    "input: {shape: [4]}\n"
    "layers:\n"
    "  - {op: dense, units: 8}\n"
    "  - relu\n"
    "  - {op: dropout, p: 0.8, share: element}\n"
    "  - {op: dense, units: 3}\n"
    "  - softmax\n"
    "train:\n"
    "  data: {train_images: tr.idx, train_labels: trl.idx, test_images: te.idx,\n"
    "         test_labels: tel.idx}\n"
    "  epochs: 7\n";

/* A model without dropout or qsd, for the error it must give. */
static const char plain_model[] =
    "name: plain\n"
    "input: {shape: [4]}\n"
    "layers:\n"
    "  - {op: dense, units: 3}\n"
    "train: {data: {train_images: a, train_labels: b, test_images: c, test_labels: d}}\n";

/* A language model: its experiments compare perplexity. */
static const char lm_model[] =
    "name: lm\n"
    "input: {shape: [6], dtype: int32}\n"
    "layers:\n"
    "  - {op: embedding, vocab: 12, dim: 4}\n"
    "  - {op: dropout, p: 0.5}\n"
    "  - {op: lstm, units: 4}\n"
    "  - {op: dense, units: 12}\n"
    "train: {data: {format: text, corpus: c.txt, vocab: 10}}\n";

static void write_base(void)
{
    ts_write("plain.yaml", plain_model, strlen(plain_model));
    ts_write("lm.yaml", lm_model, strlen(lm_model));
    ts_write("base.yaml", base_model, strlen(base_model));
}

static const char good[] = "name: exp\n"
                           "model: base.yaml\n"
                           "settings:\n"
                           "  - none\n"
                           "  - dropout\n"
                           "  - {name: qs, match: silence, sites: 4, q_cv: 0.5}\n"
                           "  - {match: variance, sites: 4, q_cv: 0.5}\n"
                           "  - {p: 0.3, sites: 8, q_cv: 0.3, p_concentration: 2}\n"
                           "  - {name: unit, match: silence, q_cv: 0.5, p_concentration: 4,"
                           " hetero: unit, anneal: 0.1}\n"
                           "seeds: 3\n"
                           "train: {batch: 32}\n"
                           "quick: {seeds: [5]}\n";

static void test_load(void **state)
{
    (void)state;
    write_base();
    const char *path = ts_write("good.yaml", good, strlen(good));
    experiment e;
    qsdc_error err = {""};
    if (experiment_load(path, &e, &err) < 0)
        fail_msg("%s", err.message);
    assert_string_equal(e.name, "exp");
    assert_int_equal(e.metric, RESULT_ACCURACY);
    assert_true(e.dropout_p == 0.8); /* from the model's dropout layer */
    assert_int_equal(e.n_settings, 6);
    static const char *const names[] = {"none", "dropout", "qs", "qsd_variance", "qsd", "unit"};
    for (int i = 0; i < 6; i++)
        assert_string_equal(e.settings[i].name, names[i]);
    assert_int_equal(e.settings[0].kind, SETTING_NONE);
    assert_int_equal(e.settings[1].kind, SETTING_DROPOUT);
    assert_true(e.settings[1].qsd.p == 0.8 && e.settings[1].qsd.sites == 1);
    assert_int_equal(e.settings[2].match, MATCH_SILENCE);
    assert_true(fabs(e.settings[2].qsd.p - (1 - pow(0.2, 0.25))) < 1e-12);
    /* (1 + v^2) / (1 + n (1 - p0) / p0) = 1.25 / 2 */
    assert_int_equal(e.settings[3].match, MATCH_VARIANCE);
    assert_true(fabs(e.settings[3].qsd.p - 0.625) < 1e-12);
    assert_true(e.settings[4].qsd.p == 0.3 && e.settings[4].qsd.sites == 8 &&
                e.settings[4].qsd.p_concentration == 2);
    assert_int_equal(e.full.n_seeds, 3);
    assert_true(e.full.seeds[0] == 1 && e.full.seeds[2] == 3);
    assert_int_equal(e.full.epochs, 7);
    assert_int_equal(e.base->m.train.batch, 32);
    assert_int_equal(e.quick.epochs, 1);
    assert_int_equal(e.quick.n_seeds, 1);
    assert_true(e.quick.seeds[0] == 5);
    assert_int_equal(e.mask_draws, 100000);
    char want[1200];
    snprintf(want, sizeof want, "%s/te.idx", ts_tmpdir());
    assert_string_equal(e.base->m.train.test_images, want);

    /* none: the dropout layer gone, the dense after it reading the relu */
    qsdc_model *m;
    assert_int_equal(experiment_model(&e, &e.settings[0], &m, &err), 0);
    assert_int_equal(m->m.n_layers, 4);
    assert_string_equal(m->m.layers[2].name, "dense3");
    assert_string_equal(m->m.layers[2].inputs[0], "relu1");
    qsdc_model_free(m);
    /* qsd: the layer's kind and parameters, its sharing kept */
    assert_int_equal(experiment_model(&e, &e.settings[4], &m, &err), 0);
    assert_int_equal(m->m.n_layers, 5);
    assert_int_equal(m->m.layers[2].kind, LAYER_QSD);
    assert_true(m->m.layers[2].qsd.p == 0.3 && m->m.layers[2].qsd.sites == 8 &&
                m->m.layers[2].qsd.q_cv == 0.3 && m->m.layers[2].qsd.share == SHARE_ELEMENT);
    assert_int_equal(m->m.layers[2].qsd.hetero, HETERO_ELEMENT);
    qsdc_model_free(m);
    /* hetero: unit at one site: dropout's silence at dropout's p, whatever c */
    assert_true(fabs(e.settings[5].qsd.p - 0.8) < 1e-12);
    assert_int_equal(experiment_model(&e, &e.settings[5], &m, &err), 0);
    assert_true(m->m.layers[2].qsd.hetero == HETERO_UNIT && m->m.layers[2].qsd.anneal == 0.1 &&
                m->m.layers[2].qsd.p_concentration == 4);
    qsdc_model_free(m);
    assert_int_equal(e.base->m.n_layers, 5); /* the base is untouched */
    experiment_free(&e);
}

/* A language model's experiment is scored by perplexity. */
static void test_load_language_model(void **state)
{
    (void)state;
    write_base();
    const char text[] = "name: lm\nmodel: lm.yaml\nseeds: 2\nsettings: [none, dropout]\n";
    const char *path = ts_write("lm_exp.yaml", text, strlen(text));
    experiment e;
    qsdc_error err = {""};
    if (experiment_load(path, &e, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(e.metric, RESULT_PERPLEXITY);
    assert_true(e.dropout_p == 0.5);
    assert_int_equal(e.n_settings, 2);
    experiment_free(&e);
}

/* A bad experiment file: the error names file:line:col and says what. */
static void expect_error(const char *text, int line, int col, const char *want)
{
    write_base();
    const char *path = ts_write("bad.yaml", text, strlen(text));
    experiment e;
    qsdc_error err = {""};
    assert_int_equal(experiment_load(path, &e, &err), -1);
    char where[1200];
    snprintf(where, sizeof where, "%s:%d:%d: error: ", path, line, col);
    if (!strstr(err.message, where) || !strstr(err.message, want))
        fail_msg("expected \"%s...%s\", got: %s", where, want, err.message);
}

static void test_errors(void **state)
{
    (void)state;
    const char *head = "name: exp\nmodel: base.yaml\nseeds: 2\n";
    char text[1024];
    snprintf(text, sizeof text, "%ssettings: [dropout]\nfoo: 1\n", head);
    expect_error(text, 5, 1, "unknown top-level key 'foo'");
    snprintf(text, sizeof text, "%ssettings:\n  - {p: 0.3, match: silence}\n", head);
    expect_error(text, 5, 5, "either 'p' or 'match'");
    snprintf(text, sizeof text, "%ssettings:\n  - dropout\n  - dropout\n", head);
    expect_error(text, 6, 5, "two settings are called 'dropout'");
    snprintf(text, sizeof text, "%ssettings:\n  - {match: variance, sites: 1, q_cv: 2}\n",
             head);
    expect_error(text, 5, 13, "no release probability in (0, 1]");
    snprintf(text, sizeof text, "%ssettings:\n  - qsd\n", head);
    expect_error(text, 5, 5, "a qsd setting is a mapping");
    snprintf(text, sizeof text, "%ssettings:\n  - {op: none, p: 0.5}\n", head);
    expect_error(text, 5, 16, "unknown key 'p' for a none setting");
    snprintf(text, sizeof text, "name: exp\nmodel: base.yaml\nseeds: [1, 1]\nsettings: [none]\n");
    expect_error(text, 3, 12, "seed 1 is listed twice");
    snprintf(text, sizeof text, "name: exp\nmodel: plain.yaml\nseeds: 1\nsettings: [none]\n");
    expect_error(text, 2, 8, "has no dropout or qsd layer");
    snprintf(text, sizeof text, "name: exp\nmodel: base.yaml\nseeds: 1\n");
    expect_error(text, 1, 1, "missing required key 'settings'");
    snprintf(text, sizeof text, "%ssettings: [none]\nquick: {epochs: 0}\n", head);
    expect_error(text, 5, 17, "'epochs' must be");
    snprintf(text, sizeof text, "%ssettings:\n  - {p: 0.5, q_cv: 0.5, anneal: 0.1}\n", head);
    expect_error(text, 5, 33, "'anneal' needs hetero: unit and a p_concentration");
    snprintf(text, sizeof text, "%ssettings:\n  - {p: 0.5, hetero: cell}\n", head);
    expect_error(text, 5, 22, "unknown hetero 'cell'");
}

static void check_close(double got, double want)
{
    if (!(fabs(got - want) <= 1e-8 * fabs(want)) && !(isnan(got) && isnan(want)))
        fail_msg("read back %.17g, wrote %.17g", got, want);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *text = ts_read_stream(f, NULL);
    fclose(f);
    return text;
}

static void test_result_round_trip(void **state)
{
    (void)state;
    epoch_record epochs[2] = {
        {.epoch = 1, .train_loss = 0.5, .val = 80.25, .test = 79.5, .seconds = 1.5},
        {.epoch = 2, .train_loss = 0.25, .val = 85, .test = 84.125, .seconds = 1.25}};
    activity_record act = {.layer = "relu1", .units = 8, .samples = 10, .all_zero = 1,
                           .zero_mean = 0.4375, .hoyer_mean = 1.0 / 3};
    hist_init(&act.zero_hist, 0, 1, 4);
    hist_init(&act.hoyer_hist, 0.1, 0.9, 3);
    act.zero_hist.counts[1] = 7;
    act.hoyer_hist.counts[2] = 9;
    act.hoyer_hist.outside = 2;
    param_record par = {.tensor = "dense0.weight"};
    float w[5] = {-1.5f, 0.25f, 3, 1e-7f, -2e-3f};
    stats_summarise(w, 5, &par.s);
    hist_init(&par.hist, -1.5, 3, 5);
    par.hist.counts[0] = 1;
    mask_record mask = {.layer = "dropout2", .draws = 1000, .mean = 1.01, .var = 0.98,
                        .pr_zero = 0.3, .want_mean = 1, .want_var = 1, .want_pr_zero = NAN};
    hist_init(&mask.hist, 0, 6, 2);
    run_result r = {.experiment = "exp", .setting = "qsd_variance", .setting_index = 3,
                    .kind = SETTING_QSD, .match = MATCH_VARIANCE,
                    .qsd = {0.625, 4, 0.5, 0, SHARE_TIME}, .seed = 4000000000u, .quick = true,
                    .fingerprint = "0123456789abcdef", .device = "dev \"x\"\tÿ",
                    .train_samples = 6000, .test_samples = 2000, .train_seconds = 2.75,
                    .test = 84.125, .n_epochs = 2, .n_activity = 1, .n_params = 1,
                    .n_masks = 1, .epochs = epochs, .activity = &act, .params = &par,
                    .masks = &mask};
    char path[1200];
    snprintf(path, sizeof path, "%s/result.json", ts_tmpdir());
    qsdc_error err = {""};
    if (result_write(path, &r, &err) < 0)
        fail_msg("%s", err.message);
    run_result b;
    if (result_read(path, &b, &err) < 0)
        fail_msg("%s", err.message);
    assert_string_equal(b.experiment, "exp");
    assert_string_equal(b.setting, "qsd_variance");
    assert_string_equal(b.fingerprint, r.fingerprint);
    assert_string_equal(b.device, r.device);
    assert_int_equal(b.setting_index, 3);
    assert_int_equal(b.kind, SETTING_QSD);
    assert_int_equal(b.match, MATCH_VARIANCE);
    assert_true(b.qsd.sites == 4 && b.qsd.share == SHARE_TIME);
    assert_true(b.qsd.hetero == QSDC_HETERO_ELEMENT && b.qsd.anneal == 0);
    check_close(b.qsd.p, 0.625);
    assert_true(b.seed == 4000000000u && b.quick);
    assert_int_equal(b.train_samples, 6000);
    assert_int_equal(b.metric, RESULT_ACCURACY);
    check_close(b.test, 84.125);
    assert_int_equal(b.n_epochs, 2);
    check_close(b.epochs[1].test, 84.125);
    check_close(b.epochs[0].val, 80.25);
    assert_int_equal(b.n_activity, 1);
    assert_string_equal(b.activity[0].layer, "relu1");
    check_close(b.activity[0].hoyer_mean, 1.0 / 3);
    assert_int_equal(b.activity[0].hoyer_hist.bins, 3);
    assert_int_equal(b.activity[0].hoyer_hist.counts[2], 9);
    assert_int_equal(b.activity[0].hoyer_hist.outside, 2);
    check_close(b.activity[0].hoyer_hist.lo, 0.1);
    assert_int_equal(b.n_params, 1);
    assert_int_equal(b.params[0].s.n, 5);
    check_close(b.params[0].s.sd, par.s.sd);
    for (int q = 0; q < STATS_N_QUANTILES; q++)
        check_close(b.params[0].s.q[q], par.s.q[q]);
    assert_int_equal(b.n_masks, 1);
    check_close(b.masks[0].var, 0.98);
    assert_true(isnan(b.masks[0].want_pr_zero)); /* written as null */
    result_free(&b);

    /* hetero: unit and its annealing, written only when set */
    char *element_json = read_text(path);
    assert_null(strstr(element_json, "hetero"));
    free(element_json);
    r.qsd.hetero = QSDC_HETERO_UNIT;
    r.qsd.p_concentration = 4;
    r.qsd.anneal = 0.125;
    if (result_write(path, &r, &err) < 0 || result_read(path, &b, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(b.qsd.hetero, QSDC_HETERO_UNIT);
    check_close(b.qsd.anneal, 0.125);
    result_free(&b);
    r.qsd.hetero = QSDC_HETERO_ELEMENT;
    r.qsd.p_concentration = 0;
    r.qsd.anneal = 0;

    /* a language model's: perplexity under its own keys, read back as such */
    r.metric = RESULT_PERPLEXITY;
    r.test = 123.5;
    if (result_write(path, &r, &err) < 0 || result_read(path, &b, &err) < 0)
        fail_msg("%s", err.message);
    char *json = read_text(path);
    assert_non_null(
        strstr(json, "\n  \"metric\": \"perplexity\",\n  \"test_perplexity\": 123.5,"));
    assert_non_null(strstr(json, "\"val_perplexity\": 80.25, \"test_perplexity\": 79.5"));
    assert_null(strstr(json, "accuracy"));
    assert_int_equal(b.metric, RESULT_PERPLEXITY);
    check_close(b.test, 123.5);
    check_close(b.epochs[0].test, 79.5);
    result_free(&b);
    free(json);

    /* written before there were metrics: no "metric" key, accuracy */
    r.metric = RESULT_ACCURACY;
    r.test = 84.125;
    if (result_write(path, &r, &err) < 0)
        fail_msg("%s", err.message);
    json = read_text(path);
    const char line[] = "  \"metric\": \"accuracy\",\n";
    const char *key = strstr(json, line);
    assert_non_null(key);
    char older[8192];
    assert_true(snprintf(older, sizeof older, "%.*s%s", (int)(key - json), json,
                         key + strlen(line)) < (int)sizeof older);
    const char *old = ts_write("old.json", older, strlen(older));
    free(json);
    if (result_read(old, &b, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(b.metric, RESULT_ACCURACY);
    check_close(b.test, 84.125);
    result_free(&b);

    /* damaged: the missing key named with its place */
    const char damaged[] = "{\"format\": \"qsdc-experiment-result-1\"}\n";
    const char *bad = ts_write("bad.json", damaged, strlen(damaged));
    assert_int_equal(result_read(bad, &b, &err), -1);
    if (!strstr(err.message, ":1:1: error: missing key 'experiment'"))
        fail_msg("%s", err.message);
}

/* A resumed run's metrics file repeats the epoch it was cut in: the last
 * line of each epoch counts, joined with the lines of the stretches before
 * it where the lines say which batches they cover. */
static void test_metrics_resume(void **state)
{
    (void)state;
    const char text[] =
        "{\"epoch\": 1, \"train_loss\": 0.9, \"val_accuracy\": 70, \"test_accuracy\": 71, "
        "\"seconds\": 2, \"samples_per_s\": 5}\n"
        "{\"epoch\": 2, \"train_loss\": 0.8, \"val_accuracy\": 72, \"test_accuracy\": 73, "
        "\"seconds\": 2, \"samples_per_s\": 5}\n"
        "{\"epoch\": 2, \"train_loss\": 0.7, \"val_accuracy\": 74, \"test_accuracy\": 75, "
        "\"seconds\": 3, \"samples_per_s\": 5}\n"
        "{\"epoch\": 3, \"train_loss\": 0.6, \"val_accuracy\": 76, \"test_accuracy\": 77, "
        "\"seconds\": 3, \"samples_per_s\": 5}\n";
    const char *path = ts_write("metrics.jsonl", text, strlen(text));
    run_result r;
    memset(&r, 0, sizeof r);
    qsdc_error err = {""};
    if (result_read_metrics(path, &r, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(r.n_epochs, 3);
    assert_true(r.epochs[1].epoch == 2 && r.epochs[1].train_loss == 0.7 &&
                r.epochs[1].test == 75);
    assert_true(r.epochs[2].epoch == 3);
    result_free(&r);
    /* an epoch stopped after batch 4 of 10 and resumed, epoch 2 stopped twice
     * with the stretch 3-5 rerun (killed before its checkpoint): stretches
     * join back to batch 0, loss weighted by batches, seconds summed */
    const char joined[] =
        "{\"epoch\": 1, \"first_batch\": 0, \"batches\": 4, \"train_loss\": 1.0, "
        "\"val_accuracy\": 60, \"test_accuracy\": 61, \"seconds\": 2, \"samples_per_s\": 5}\n"
        "{\"epoch\": 1, \"first_batch\": 4, \"batches\": 6, \"train_loss\": 0.5, "
        "\"val_accuracy\": 70, \"test_accuracy\": 71, \"seconds\": 3, \"samples_per_s\": 5}\n"
        "{\"epoch\": 2, \"first_batch\": 0, \"batches\": 3, \"train_loss\": 0.4, "
        "\"val_accuracy\": 72, \"test_accuracy\": 73, \"seconds\": 1, \"samples_per_s\": 5}\n"
        "{\"epoch\": 2, \"first_batch\": 3, \"batches\": 2, \"train_loss\": 9.0, "
        "\"val_accuracy\": 1, \"test_accuracy\": 1, \"seconds\": 50, \"samples_per_s\": 5}\n"
        "{\"epoch\": 2, \"first_batch\": 3, \"batches\": 2, \"train_loss\": 0.3, "
        "\"val_accuracy\": 74, \"test_accuracy\": 75, \"seconds\": 1, \"samples_per_s\": 5}\n"
        "{\"epoch\": 2, \"first_batch\": 5, \"batches\": 5, \"train_loss\": 0.2, "
        "\"val_accuracy\": 76, \"test_accuracy\": 77, \"seconds\": 2, \"samples_per_s\": 5}\n";
    path = ts_write("joined.jsonl", joined, strlen(joined));
    if (result_read_metrics(path, &r, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(r.n_epochs, 2);
    assert_true(r.epochs[0].epoch == 1 && r.epochs[0].batches == 10 &&
                r.epochs[0].first_batch == 0);
    assert_true(fabs(r.epochs[0].train_loss - 0.7) < 1e-12 && r.epochs[0].seconds == 5 &&
                r.epochs[0].test == 71);
    assert_true(r.epochs[1].batches == 10 && r.epochs[1].seconds == 4 &&
                r.epochs[1].test == 77);
    assert_true(fabs(r.epochs[1].train_loss - (3 * 0.4 + 2 * 0.3 + 5 * 0.2) / 10) < 1e-12);
    result_free(&r);
    /* a language model's lines, read with its metric */
    const char lm[] = "{\"epoch\": 1, \"train_loss\": 5.5, \"val_perplexity\": 240.5, "
                      "\"test_perplexity\": 250.25, \"seconds\": 2, \"samples_per_s\": 5, "
                      "\"tokens_per_s\": 175}\n";
    path = ts_write("lm.jsonl", lm, strlen(lm));
    r.metric = RESULT_PERPLEXITY;
    if (result_read_metrics(path, &r, &err) < 0)
        fail_msg("%s", err.message);
    assert_true(r.n_epochs == 1 && r.epochs[0].val == 240.5 && r.epochs[0].test == 250.25);
    result_free(&r);
    path = ts_write("broken.jsonl", "{\"epoch\": 1}\n", 13);
    assert_int_equal(result_read_metrics(path, &r, &err), -1);
    assert_non_null(strstr(err.message, "(line 1)"));
    assert_non_null(strstr(err.message, "missing key 'train_loss'"));
    result_free(&r);
}

/* Runs of one experiment scored by different metrics are not one task. */
static void test_report_mixed_metrics(void **state)
{
    (void)state;
    char dir[1200], path[1300];
    snprintf(dir, sizeof dir, "%s/mixed", ts_tmpdir());
    assert_int_equal(mkdir(dir, 0777), 0);
    qsdc_error err = {""};
    for (int i = 0; i < 2; i++) {
        run_result r = {.experiment = "exp", .setting = "none", .fingerprint = "f",
                        .seed = (uint64_t)i + 1,
                        .qsd = {1, 1, 0, 0, SHARE_ELEMENT},
                        .metric = i ? RESULT_PERPLEXITY : RESULT_ACCURACY, .test = 50};
        snprintf(path, sizeof path, "%s/run%d", dir, i);
        assert_int_equal(mkdir(path, 0777), 0);
        snprintf(path, sizeof path, "%s/run%d/result.json", dir, i);
        if (result_write(path, &r, &err) < 0)
            fail_msg("%s", err.message);
    }
    report rep;
    assert_int_equal(report_load(dir, &rep, &err), -1);
    if (!strstr(err.message, "the runs of exp record different metrics (accuracy and "
                             "perplexity)"))
        fail_msg("%s", err.message);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_analytic_table),     cmocka_unit_test(test_matched_closed_forms),
        cmocka_unit_test(test_matched_round_trip), cmocka_unit_test(test_unit_table),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_errors),             cmocka_unit_test(test_result_round_trip),
        cmocka_unit_test(test_metrics_resume),     cmocka_unit_test(test_load_language_model),
        cmocka_unit_test(test_report_mixed_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
