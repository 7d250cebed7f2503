/* Models (include/qsdc.h): loading, what they hold, their train: settings
 * overridden from another file, copies with other regularisers, and the
 * text of what training them depends on. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "model_parse.h"
#include "session.h"
#include "strbuf.h"

int qsdc_model_load(const char *path, qsdc_model **out, qsdc_error *err)
{
    if (!path || !out)
        return qsdc_fail(err, "qsdc_model_load: %s is NULL", path ? "out" : "path");
    qsdc_model *q = calloc(1, sizeof *q);
    if (!q)
        return qsdc_fail(err, "out of memory");
    char model_path[QSDC_PATH_MAX];
    bool is_bundle;
    if (session_model_path(path, model_path, &is_bundle, err) < 0 ||
        model_load(model_path, &q->m, err) < 0) {
        free(q);
        return -1;
    }
    if (is_bundle)
        snprintf(q->bundle, sizeof q->bundle, "%s", path);
    *out = q;
    return 0;
}

void qsdc_model_free(qsdc_model *m)
{
    if (m) {
        model_free(&m->m);
        free(m);
    }
}

int qsdc_model_get_info(const qsdc_model *q, qsdc_model_info *out, qsdc_error *err)
{
    if (!q || !out)
        return qsdc_fail(err, "qsdc_model_get_info: %s is NULL", q ? "out" : "m");
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", q->m.name);
    out->n_layers = q->m.n_layers;
    out->language_model = q->m.train.format == DATA_TEXT;
    out->has_test_data = data_has_test(&q->m.train);
    out->batch = q->m.train.batch;
    out->epochs = q->m.train.epochs;
    out->seed = q->m.train.seed;
    out->has_validation = q->m.train.val_split > 0 || q->m.train.format == DATA_TEXT;
    return 0;
}

static qsdc_qsd_params public_qsd(const qsd_params *p)
{
    return (qsdc_qsd_params){.p = p->p, .sites = p->sites, .q_cv = p->q_cv,
                             .p_concentration = p->p_concentration, .share = (int)p->share,
                             .hetero = (int)p->hetero, .anneal = p->anneal};
}

int qsdc_model_layers(const qsdc_model *q, qsdc_layer_info *out, int cap, qsdc_error *err)
{
    if (!q || (cap > 0 && !out))
        return qsdc_fail(err, "qsdc_model_layers: %s is NULL", q ? "out" : "m");
    for (int i = 0; i < q->m.n_layers && i < cap; i++) {
        const layer *l = &q->m.layers[i];
        memset(&out[i], 0, sizeof out[i]);
        snprintf(out[i].name, sizeof out[i].name, "%s", l->name);
        snprintf(out[i].op, sizeof out[i].op, "%s", layer_kind_name(l->kind));
        snprintf(out[i].input, sizeof out[i].input, "%s", l->n_inputs > 0 ? l->inputs[0] : "");
        out[i].qsd = public_qsd(&l->qsd);
    }
    return q->m.n_layers;
}

int qsdc_model_override_train(qsdc_model *q, const char *path, const char *key,
                              qsdc_error *err)
{
    if (!q || !path || !key)
        return qsdc_fail(err, "qsdc_model_override_train: %s is NULL",
                         !q ? "m" : !path ? "path" : "key");
    ydoc d;
    if (ydoc_load_file(&d, path, err) < 0)
        return -1;
    int rc = 0;
    yaml_node_t *root = ydoc_root(&d);
    yaml_node_t *n = root && root->type == YAML_MAPPING_NODE ? ydoc_get(&d, root, key) : NULL;
    if (n)
        rc = model_parse_train(&d, n, path, &q->m.train);
    ydoc_free(&d);
    return rc;
}

static bool regularising(const layer *l)
{
    return l->kind == LAYER_DROPOUT || l->kind == LAYER_QSD;
}

/* Removes layer i, reconnecting whatever read it to what it read. */
static void remove_layer(model *m, int i)
{
    const layer *x = &m->layers[i];
    for (int j = 0; j < m->n_layers; j++)
        for (int k = 0; k < m->layers[j].n_inputs; k++)
            if (strcmp(m->layers[j].inputs[k], x->name) == 0)
                memcpy(m->layers[j].inputs[k], x->inputs[0], QSDC_NAME_MAX);
    if (strcmp(m->output, x->name) == 0)
        memcpy(m->output, x->inputs[0], QSDC_NAME_MAX);
    memmove(&m->layers[i], &m->layers[i + 1],
            (size_t)(m->n_layers - i - 1) * sizeof m->layers[0]);
    m->n_layers--;
}

static void regularise(model *m, int kind, const qsdc_qsd_params *q)
{
    for (int i = 0; i < m->n_layers;) {
        layer *l = &m->layers[i];
        if (!regularising(l)) {
            i++;
            continue;
        }
        if (kind == QSDC_REG_NONE) {
            remove_layer(m, i);
            continue;
        }
        l->kind = kind == QSDC_REG_DROPOUT ? LAYER_DROPOUT : LAYER_QSD;
        l->qsd.p = q->p;
        l->qsd.sites = q->sites;
        l->qsd.q_cv = q->q_cv;
        l->qsd.p_concentration = q->p_concentration;
        l->qsd.hetero = kind == QSDC_REG_DROPOUT ? HETERO_ELEMENT : (qsd_hetero)q->hetero;
        l->qsd.anneal = kind == QSDC_REG_DROPOUT ? 0 : q->anneal;
        i++;
    }
}

int qsdc_model_regularised(const qsdc_model *m, int kind, const qsdc_qsd_params *q,
                           qsdc_model **out, qsdc_error *err)
{
    if (!m || !out)
        return qsdc_fail(err, "qsdc_model_regularised: %s is NULL", m ? "out" : "m");
    if (kind != QSDC_REG_NONE && kind != QSDC_REG_DROPOUT && kind != QSDC_REG_QSD)
        return qsdc_fail(err, "qsdc_model_regularised: kind %d is none of QSDC_REG_NONE, "
                         "_DROPOUT or _QSD", kind);
    if (kind != QSDC_REG_NONE && !q)
        return qsdc_fail(err, "qsdc_model_regularised: q is NULL");
    if (kind == QSDC_REG_QSD &&
        ((q->hetero != QSDC_HETERO_ELEMENT && q->hetero != QSDC_HETERO_UNIT) ||
         !(q->anneal >= 0 && q->anneal < INFINITY) ||
         (q->anneal > 0 && (q->hetero != QSDC_HETERO_UNIT || !(q->p_concentration > 0)))))
        return qsdc_fail(err, "qsdc_model_regularised: hetero %d with anneal %g (anneal needs "
                         "QSDC_HETERO_UNIT and a p_concentration)", q->hetero, q->anneal);
    qsdc_model *c = calloc(1, sizeof *c);
    if (!c)
        return qsdc_fail(err, "out of memory");
    if (model_copy(&m->m, &c->m, err) < 0) {
        free(c);
        return -1;
    }
    regularise(&c->m, kind, q);
    *out = c;
    return 0;
}

static void describe_layers(const model *m, strbuf *sb)
{
    sb_append(sb, "input");
    for (int i = 0; i < m->input_rank; i++)
        sb_printf(sb, " %lld", (long long)m->input_shape[i]);
    sb_printf(sb, "\noutput %s\n", m->output);
    for (int i = 0; i < m->n_layers; i++) {
        const layer *l = &m->layers[i];
        sb_printf(sb, "layer %s %s units %lld bias %d init %d", l->name,
                  layer_kind_name(l->kind), (long long)l->units, l->bias, l->init);
        if (regularising(l))
            sb_printf(sb, " p %.17g sites %d q_cv %.17g c %.17g share %d", l->qsd.p,
                      l->qsd.sites, l->qsd.q_cv, l->qsd.p_concentration, l->qsd.share);
        /* only when set: earlier runs' descriptions, and so fingerprints, stay */
        if (regularising(l) && l->qsd.hetero == HETERO_UNIT)
            sb_printf(sb, " hetero unit anneal %.17g", l->qsd.anneal);
        for (int k = 0; k < l->n_inputs; k++)
            sb_printf(sb, " <- %s", l->inputs[k]);
        sb_append(sb, "\n");
    }
}

static void describe_training(const train_config *t, strbuf *sb)
{
    sb_printf(sb, "data %s %s %s %s\n", t->train_images, t->train_labels, t->test_images,
              t->test_labels);
    if (t->format == DATA_NPY || t->format == DATA_TABLE || t->format == DATA_NPZ ||
        t->format == DATA_IMAGES || t->layout != LAYOUT_AUTO)
        sb_printf(sb, "format %d label %s layout %d\n", t->format, t->label_column, t->layout);
    if (t->standardize)
        sb_append(sb, "standardize\n");
    /* the text's file name only: the data cache's folder differs between
     * machines, and a grid's record should resume on another */
    const char *slash = strrchr(t->text_path, '/'), *text = slash ? slash + 1 : t->text_path;
    if (t->format == DATA_TEXT)
        sb_printf(sb, "text %s chars %d vocab %lld split %.17g %.17g\n", text, t->text_chars,
                  (long long)t->vocab, t->text_split[0], t->text_split[1]);
    if (t->format == DATA_SENTIMENT)
        sb_printf(sb, "sentiment %s vocab %lld test_split %.17g keep_last %d\n", text,
                  (long long)t->vocab, t->test_split, t->keep_last);
    sb_printf(sb, "train batch %lld val_split %.17g loss %d optimizer %d lr %.17g "
                  "momentum %.17g nesterov %d betas %.17g %.17g eps %.17g wd %.17g "
                  "clip %.17g schedule %d warmup %.17g step %lld gamma %.17g min_lr %.17g\n",
              (long long)t->batch, t->val_split, t->loss, t->optimizer, t->lr, t->momentum,
              t->nesterov, t->beta1, t->beta2, t->eps, t->weight_decay, t->clip_norm,
              t->schedule, t->warmup_epochs, (long long)t->step_epochs, t->step_gamma,
              t->min_lr);
}

int qsdc_model_describe(const qsdc_model *q, char **out, qsdc_error *err)
{
    if (!q || !out)
        return qsdc_fail(err, "qsdc_model_describe: %s is NULL", q ? "out" : "m");
    strbuf sb;
    sb_init(&sb);
    describe_layers(&q->m, &sb);
    describe_training(&q->m.train, &sb);
    int rc = sb_check(&sb, err);
    *out = rc == 0 ? strdup(sb_str(&sb)) : NULL;
    if (rc == 0 && !*out)
        rc = qsdc_fail(err, "out of memory");
    sb_free(&sb);
    return rc;
}
