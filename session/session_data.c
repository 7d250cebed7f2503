/* Data files for a session's model (qsdc_session_load_data) and the
 * predictions file (qsdc_predictions_write). */
#include "session.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"
#include "evaluate.h"
#include "feature_stats.h"
#include "file_io.h"
#include "npy.h"
#include "strbuf.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int64_t first_vocab(const model *m)
{
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].kind == LAYER_EMBEDDING)
            return m->layers[i].vocab;
    return 0;
}

/* Token ids must be ids of the model's embedding, or QSDC_PAD_ID. */
static int check_token_ids(const qsdc_session *s, const dataset *d, const char *path,
                           qsdc_error *e)
{
    int64_t vocab = first_vocab(&s->m), n = d->count * d->sample_elems;
    for (int64_t i = 0; i < n; i++)
        if (!(d->x[i] >= QSDC_PAD_ID && d->x[i] < (float)vocab))
            return qsdc_fail(e, "%s: token id %.0f of sample %" PRId64 " is outside the "
                             "model's vocabulary of %" PRId64 " (or %d for padding)", path,
                             (double)d->x[i], i / d->sample_elems, vocab, QSDC_PAD_ID);
    return 0;
}

/* A model trained on standardised features reads every input so, with the
 * statistics its checkpoint holds. */
static int standardize(const qsdc_session *s, const char *path, dataset *d, qsdc_error *e)
{
    if (!s->m.train.standardize)
        return 0;
    if (!s->checkpoint[0])
        return qsdc_fail(e, "%s: %s standardises its features with statistics saved with a "
                         "checkpoint; open the session with one", path, s->m.path);
    return feature_stats_apply_saved(s->checkpoint, path, d, e);
}

static int read_file(qsdc_session *s, const char *path, const qsdc_data_options *o,
                     dataset *d, qsdc_error *e)
{
    bool text = s->m.dtype == DTYPE_INT32;
    if (ends_with(path, ".txt")) {
        if (!text)
            return qsdc_fail(e, "%s: raw text is input for a text model; %s takes numbers",
                             path, s->m.path);
        if (!s->checkpoint[0])
            return qsdc_fail(e, "%s: raw text is tokenised with the vocabulary saved with a "
                             "checkpoint; open the session with one", path);
        if (o->labels)
            return qsdc_fail(e, "%s: raw text takes no labels", path);
        return text_lines_load(path, s->checkpoint, s->ep.input_elems / s->ep.batch, d, e);
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (o->labels)
            return qsdc_fail(e, "%s: an image folder's labels are its class folders, not "
                             "another file", path);
        /* a model trained on a folder names its classes by the training folder's */
        const char *classes = s->m.train.format == DATA_IMAGES ? s->m.train.train_images : path;
        return images_load(path, classes, s->m.input_shape, s->m.input_rank, d, e);
    }
    if (ends_with(path, ".csv") && o->labels)
        return qsdc_fail(e, "%s: a CSV's labels are its label column, not another file",
                         path);
    if (ends_with(path, ".npz") && o->labels)
        return qsdc_fail(e, "%s: an .npz's labels are its array y, not another file", path);
    int rc = ends_with(path, ".npy") ? npy_load(path, o->labels, d, e)
           : ends_with(path, ".npz") ? npz_load(path, false, d, e)
           : ends_with(path, ".csv")
               ? table_load(path, o->label_column ? o->label_column : "label", false, d, e)
               : idx_load(path, o->labels, s->ep.input_elems / s->ep.batch, d, e);
    if (rc == 0 && text && !d->integers) {
        dataset_free(d);
        return qsdc_fail(e, "%s: %s is a text model: it takes token ids (an int32 or int64 "
                         ".npy) or raw text (.txt, one text per line), not %s", path,
                         s->m.path, ends_with(path, ".npy") ? "floats or bytes" : "numbers");
    }
    return rc;
}

int session_load_data(qsdc_session *s, const char *path, const qsdc_data_options *o,
                      dataset *d, qsdc_error *e)
{
    if (!path)
        return qsdc_fail(e, "qsdc_session_load_data: path is NULL");
    if (o->layout < QSDC_LAYOUT_AUTO || o->layout > QSDC_LAYOUT_NHWC)
        return qsdc_fail(e, "qsdc_session_load_data: layout %d is none of QSDC_LAYOUT_AUTO, "
                         "QSDC_LAYOUT_NCHW and QSDC_LAYOUT_NHWC", o->layout);
    if (read_file(s, path, o, d, e) < 0)
        return -1;
    int64_t classes = s->ep.output_elems / s->ep.batch;
    const char *labels = o->labels ? o->labels : path;
    bool idx_labels = d->y && o->labels && !ends_with(o->labels, ".npy");
    /* files laid out as the model's training data need no option */
    data_layout layout = o->layout == QSDC_LAYOUT_AUTO ? s->m.train.layout
                                                       : (data_layout)o->layout;
    int rc = dataset_fit_input(d, path, s->m.input_shape, s->m.input_rank, layout, e);
    if (rc == 0 && d->y)
        rc = idx_labels ? dataset_check(d, labels, classes, path, d->sample_elems, e)
                        : dataset_check_labels(d, labels, classes, e);
    if (rc == 0 && s->m.dtype == DTYPE_INT32)
        rc = check_token_ids(s, d, path, e);
    if (rc == 0)
        rc = standardize(s, path, d, e);
    if (rc < 0)
        dataset_free(d);
    return rc;
}

int qsdc_session_load_data(qsdc_session *s, const char *path, const qsdc_data_options *o,
                           qsdc_data *out, qsdc_error *err)
{
    qsdc_error e = {""};
    qsdc_data_options none = {0};
    dataset d;
    memset(&d, 0, sizeof d);
    int rc = session_usable(s, &e);
    if (rc == 0 && !out)
        rc = qsdc_fail(&e, "qsdc_session_load_data: out is NULL");
    if (rc == 0)
        rc = session_load_data(s, path, o ? o : &none, &d, &e);
    if (rc == 0)
        *out = (qsdc_data){.count = d.count, .sample_size = d.sample_elems, .x = d.x,
                           .labels = d.y};
    return session_finish(s, rc, &e, err);
}

int session_load_test_data(qsdc_session *s, dataset *d, qsdc_error *e)
{
    memset(d, 0, sizeof *d);
    if (!data_has_test(&s->m.train))
        return qsdc_fail(e, "%s: the model's train: section names no test data", s->m.path);
    if (s->m.train.format == DATA_TEXT)
        return qsdc_fail(e, "%s: a language model's test data is its corpus's test split, "
                         "not samples; qsdc_session_evaluate scores its perplexity",
                         s->m.path);
    int rc = data_load(&s->m.train, true, s->ep.output_elems / s->ep.batch, s->m.input_shape,
                       s->m.input_rank, d, e);
    if (rc == 0 && d->count < 1)
        rc = qsdc_fail(e, "%s: the model's test data hold no samples", s->m.path);
    if (rc == 0)
        rc = standardize(s, s->m.train.test_images, d, e);
    if (rc < 0)
        dataset_free(d);
    return rc;
}

int qsdc_session_load_test_data(qsdc_session *s, qsdc_data *out, qsdc_error *err)
{
    qsdc_error e = {""};
    dataset d;
    int rc = session_usable(s, &e);
    if (rc == 0 && !out)
        rc = qsdc_fail(&e, "qsdc_session_load_test_data: out is NULL");
    if (rc == 0)
        rc = session_load_test_data(s, &d, &e);
    if (rc == 0)
        *out = (qsdc_data){.count = d.count, .sample_size = d.sample_elems, .x = d.x,
                           .labels = d.y};
    return session_finish(s, rc, &e, err);
}

static int write_csv(const char *path, const float *out, int64_t n, int64_t steps,
                     int64_t classes, bool probabilities, qsdc_error *e)
{
    int64_t outputs = steps * classes;
    strbuf sb;
    sb_init(&sb);
    sb_append(&sb, "class");
    for (int64_t c = 0; c < outputs; c++)
        sb_printf(&sb, ",%c%" PRId64, probabilities ? 'p' : 'y', c);
    sb_append(&sb, "\n");
    for (int64_t i = 0; i < n; i++) {
        const float *row = out + i * outputs;
        for (int64_t t = 0; t < steps; t++)
            sb_printf(&sb, "%s%" PRId64, t ? " " : "", eval_argmax(row + t * classes, classes));
        for (int64_t c = 0; c < outputs; c++)
            sb_printf(&sb, ",%.9g", (double)row[c]);
        sb_append(&sb, "\n");
    }
    int rc = sb_check(&sb, e);
    if (rc == 0)
        rc = fs_write_atomic(path, NULL, 0, sb_str(&sb), strlen(sb_str(&sb)), e);
    sb_free(&sb);
    return rc;
}

int qsdc_predictions_write_steps(const char *path, const float *out, int64_t n,
                                 int64_t steps, int64_t classes, int probabilities,
                                 qsdc_error *err)
{
    qsdc_error e = {""};
    char row[64];
    if (steps == 1)
        snprintf(row, sizeof row, "%" PRId64, classes);
    else
        snprintf(row, sizeof row, "%" PRId64 " steps x %" PRId64, steps, classes);
    int rc = 0;
    if (!path || !out)
        rc = qsdc_fail(&e, "qsdc_predictions_write: %s is NULL", path ? "out" : "path");
    else if (n < 1 || steps < 1 || classes < 1 || classes > INT64_MAX / steps)
        rc = qsdc_fail(&e, "qsdc_predictions_write: %" PRId64 " rows of %s outputs; give at "
                       "least one of each", n, row);
    else if (ends_with(path, ".npy"))
        rc = npy_write_f32(path, out, n, steps * classes, &e);
    else if (ends_with(path, ".csv"))
        rc = write_csv(path, out, n, steps, classes, probabilities != 0, &e);
    else
        rc = qsdc_fail(&e, "%s: predictions are written as .npy or .csv; name the file so",
                       path);
    return session_finish(NULL, rc, &e, err);
}

int qsdc_predictions_write(const char *path, const float *out, int64_t n, int64_t outputs,
                           int probabilities, qsdc_error *err)
{
    return qsdc_predictions_write_steps(path, out, n, 1, outputs, probabilities, err);
}
